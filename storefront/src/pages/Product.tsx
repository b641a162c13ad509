import { useState } from 'preact/hooks';
import { ErrorMessage, Link, Loading, Notice, PageTitle } from '../components/ui';
import { useLoad } from '../components/useLoad';
import { maxQuantity } from '../lib/cart';
import { rupiah } from '../lib/format';
import { api, cart, useCart } from '../state';

export function ProductPage({ id }: { id: number }) {
  const loaded = useLoad(() => api.getProduct(id), [id]);
  const lines = useCart();
  const [quantity, setQuantity] = useState('1');
  const [message, setMessage] = useState<string | null>(null);
  const product = loaded.data?.product;
  const inCart = lines.find((l) => l.product_id === id)?.quantity ?? 0;

  const add = (e: Event) => {
    e.preventDefault();
    if (!product) return;
    const result = cart.add(product, Number(quantity));
    setMessage(result.notice ?? `Added ${result.added} × ${product.name} to your cart.`);
  };

  if (!product) {
    return (
      <section>
        <PageTitle title="Product">{loaded.error ? 'Product not available' : 'Product'}</PageTitle>
        <ErrorMessage error={loaded.error} />
        {loaded.loading && <Loading label="Loading product…" />}
        <p>
          <Link href="/">Back to products</Link>
        </p>
      </section>
    );
  }

  const limit = maxQuantity(product.stock);
  const out = product.stock <= 0;
  return (
    <section class="product">
      <p class="crumbs">
        <Link href="/">← All products</Link>
      </p>
      <PageTitle title={product.name}>{product.name}</PageTitle>
      {product.description && <p class="description">{product.description}</p>}
      <p class="price big">{rupiah(product.price)}</p>
      <p>
        Stock: <strong data-testid="stock">{product.stock}</strong>
        {out && <span class="stock out"> — Out of stock</span>}
      </p>
      {inCart > 0 && (
        <p>
          In your cart: {inCart}. <Link href="/app/cart">View cart</Link>
        </p>
      )}
      {message && <Notice>{message}</Notice>}
      <form class="inline-form" onSubmit={add}>
        <label for="qty">Quantity</label>
        <input
          id="qty"
          type="number"
          inputMode="numeric"
          min={1}
          max={Math.max(1, limit)}
          step={1}
          value={quantity}
          disabled={out}
          onInput={(e) => setQuantity(e.currentTarget.value)}
        />
        <button type="submit" disabled={out}>
          Add to cart
        </button>
      </form>
      {out && <p class="hint">This product is out of stock and cannot be added to the cart.</p>}
    </section>
  );
}
