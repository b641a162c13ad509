import { useState } from 'preact/hooks';
import { ErrorMessage, Link, Loading, Notice, PageTitle, Pagination, positiveInt } from '../components/ui';
import { useLoad } from '../components/useLoad';
import { rupiah } from '../lib/format';
import type { Loc } from '../lib/router';
import type { ProductSummary } from '../lib/types';
import { api, cart } from '../state';

export const PAGE_SIZE = 12;

export function StockText({ stock }: { stock: number }) {
  return stock > 0 ? <span class="stock in">{stock} in stock</span> : <span class="stock out">Out of stock</span>;
}

export function ProductsPage({ loc }: { loc: Loc }) {
  const page = positiveInt(loc.query.get('page'), 1);
  const list = useLoad(() => api.listProducts(page, PAGE_SIZE), [page]);
  const [message, setMessage] = useState<string | null>(null);

  const add = (p: ProductSummary) => {
    const result = cart.add(p, 1);
    setMessage(result.notice ?? `Added ${p.name} to your cart.`);
  };

  return (
    <section>
      <PageTitle title="Products">Products</PageTitle>
      {message && <Notice>{message} <Link href="/app/cart">View cart</Link></Notice>}
      <ErrorMessage error={list.error} />
      {list.loading && !list.data && <Loading label="Loading products…" />}
      {list.data && list.data.products.length === 0 && (
        <p>{page > 1 ? 'No products on this page.' : 'No products yet.'}</p>
      )}
      {list.data && list.data.products.length > 0 && (
        <ul class="products" aria-label="Products">
          {list.data.products.map((p) => (
            <li key={p.id} class="card">
              <h2>
                <Link href={`/app/products/${p.id}`}>{p.name}</Link>
              </h2>
              {p.description && <p class="description">{p.description}</p>}
              <p class="price">{rupiah(p.price)}</p>
              <p>
                <StockText stock={p.stock} />
              </p>
              <button type="button" onClick={() => add(p)} disabled={p.stock <= 0} aria-label={`Add ${p.name} to cart`}>
                {p.stock > 0 ? 'Add to cart' : 'Out of stock'}
              </button>
            </li>
          ))}
        </ul>
      )}
      {list.data && (
        <Pagination
          label="Product pages"
          page={page}
          pageSize={PAGE_SIZE}
          total={list.data.total}
          hrefFor={(n) => (n === 1 ? '/' : `/?page=${n}`)}
        />
      )}
    </section>
  );
}
