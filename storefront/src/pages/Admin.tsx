import { useState } from 'preact/hooks';
import { AdminNav } from '../components/admin';
import { ErrorMessage, Link, Loading, Notice, PageTitle, Pagination, positiveInt } from '../components/ui';
import { useCooldown, useLoad } from '../components/useLoad';
import { rupiah } from '../lib/format';
import type { Loc } from '../lib/router';
import type { ProductInput, ProductSummary } from '../lib/types';
import { api } from '../state';

const ADMIN_PAGE_SIZE = 20;

interface Draft {
  name: string;
  description: string;
  price: string;
  stock: string;
}

const EMPTY: Draft = { name: '', description: '', price: '', stock: '' };

function toInput(d: Draft): ProductInput | string {
  const name = d.name.trim();
  if (!name) return 'Enter a name.';
  const price = Number(d.price);
  if (!Number.isInteger(price) || price < 1) return 'The price must be a whole number of rupiah, at least 1.';
  const stock = Number(d.stock);
  if (!Number.isInteger(stock) || stock < 0) return 'The stock must be a whole number, 0 or more.';
  return { name, description: d.description.trim(), price, stock };
}

export function AdminPage({ loc }: { loc: Loc }) {
  const page = positiveInt(loc.query.get('page'), 1);
  const list = useLoad(() => api.listProducts(page, ADMIN_PAGE_SIZE), [page]);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [editing, setEditing] = useState<number | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [wait, noteError] = useCooldown();

  const field = (key: keyof Draft) => ({
    value: draft[key],
    onInput: (e: { currentTarget: { value: string } }) => setDraft({ ...draft, [key]: e.currentTarget.value }),
  });

  const save = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const input = toInput(draft);
    if (typeof input === 'string') {
      setError(new Error(input));
      return;
    }
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const { product } = editing === null ? await api.createProduct(input) : await api.updateProduct(editing, input);
      setMessage(`${editing === null ? 'Created' : 'Saved'} product #${product.id} “${product.name}”.`);
      setDraft(EMPTY);
      setEditing(null);
      list.reload();
    } catch (err) {
      setError(err);
      noteError(err);
    } finally {
      setBusy(false);
    }
  };

  const edit = (p: ProductSummary) => {
    setEditing(p.id);
    setConfirming(null);
    setDraft({ name: p.name, description: p.description, price: String(p.price), stock: String(p.stock) });
    setMessage(null);
    setError(null);
    document.getElementById('product-name')?.focus();
  };

  const remove = async (p: ProductSummary) => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      await api.deleteProduct(p.id);
      setMessage(`Deleted product #${p.id} “${p.name}”.`);
      setConfirming(null);
      if (editing === p.id) {
        setEditing(null);
        setDraft(EMPTY);
      }
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <AdminNav current="products" />
      <PageTitle title="Admin">Admin: products</PageTitle>
      <form class="stack admin-form" onSubmit={save} aria-labelledby="form-title">
        <h2 id="form-title">{editing === null ? 'New product' : `Edit product #${editing}`}</h2>
        <label for="product-name">Name</label>
        <input id="product-name" required maxLength={200} {...field('name')} />
        <label for="product-description">Description</label>
        <textarea id="product-description" rows={3} maxLength={5000} {...field('description')} />
        <div class="row">
          <div>
            <label for="product-price">Price (IDR)</label>
            <input id="product-price" type="number" inputMode="numeric" min={1} step={1} required {...field('price')} />
          </div>
          <div>
            <label for="product-stock">Stock</label>
            <input id="product-stock" type="number" inputMode="numeric" min={0} step={1} required {...field('stock')} />
          </div>
        </div>
        <ErrorMessage error={error} />
        {message && <Notice>{message}</Notice>}
        <div class="row">
          <button type="submit" class="primary" disabled={busy || wait > 0}>
            {editing === null ? 'Create product' : 'Save changes'}
          </button>
          {editing !== null && (
            <button
              type="button"
              class="secondary"
              onClick={() => {
                setEditing(null);
                setDraft(EMPTY);
              }}
            >
              Cancel editing
            </button>
          )}
        </div>
      </form>

      <h2>Catalog</h2>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data && <Loading label="Loading products…" />}
      {list.data && list.data.products.length === 0 && <p>No products yet.</p>}
      {list.data && list.data.products.length > 0 && (
        <div class="table-wrap">
          <table class="admin-products">
            <caption class="visually-hidden">Products, newest first</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Name</th>
                <th scope="col" class="num">Price</th>
                <th scope="col" class="num">Stock</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.products.map((p) => (
                <tr key={p.id}>
                  <td>{p.id}</td>
                  <th scope="row">
                    <Link href={`/app/products/${p.id}`}>{p.name}</Link>
                  </th>
                  <td class="num">{rupiah(p.price)}</td>
                  <td class="num">{p.stock}</td>
                  <td>
                    <div class="actions">
                    {confirming === p.id ? (
                      <>
                        <span>Delete “{p.name}”?</span>
                        <button type="button" class="danger" disabled={busy} onClick={() => remove(p)} aria-label={`Confirm delete ${p.name}`}>
                          Confirm delete
                        </button>
                        <button type="button" class="secondary" onClick={() => setConfirming(null)} aria-label={`Keep ${p.name}`}>
                          Keep
                        </button>
                      </>
                    ) : (
                      <>
                        <button type="button" class="secondary" disabled={busy} onClick={() => edit(p)} aria-label={`Edit ${p.name}`}>
                          Edit
                        </button>
                        <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(p.id)} aria-label={`Delete ${p.name}`}>
                          Delete
                        </button>
                      </>
                    )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && (
        <Pagination
          label="Catalog pages"
          page={page}
          pageSize={ADMIN_PAGE_SIZE}
          total={list.data.total}
          hrefFor={(n) => `/app/admin?page=${n}`}
        />
      )}
    </section>
  );
}
