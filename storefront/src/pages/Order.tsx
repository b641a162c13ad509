import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorMessage, Link, Loading, Notice, PageTitle } from '../components/ui';
import { takeFlash } from '../lib/flash';
import { dateTime, rupiah, STATUS_TEXT } from '../lib/format';
import type { Loc } from '../lib/router';
import type { Order } from '../lib/types';
import { api, session, useAuth } from '../state';
import { payOrder } from './Cart';

export const POLL_MS = 1500;

const OUTCOME: Record<string, string> = {
  pending: 'Waiting for the payment. This page updates by itself.',
  paid: 'Thank you! Your payment was received.',
  failed: 'The payment failed. Your items were released; you can order again.',
  expired: 'The payment window expired. Your items were released.',
  cancelled: 'This order was cancelled.',
};

/** Product names for order lines (the order only carries ids). */
function useProductNames(order: Order | null): Record<number, string> {
  const [names, setNames] = useState<Record<number, string>>({});
  const ids = order ? order.order_items.map((i) => i.product_id).join(',') : '';
  useEffect(() => {
    if (!order) return;
    let live = true;
    Promise.all(
      order.order_items.map((i) =>
        api.getProduct(i.product_id).then(
          (r) => [i.product_id, r.product.name] as const,
          () => [i.product_id, `Product #${i.product_id}`] as const,
        ),
      ),
    ).then((pairs) => live && setNames(Object.fromEntries(pairs)));
    return () => {
      live = false;
    };
  }, [ids]);
  return names;
}

export function OrderPage({ id, loc }: { id: number; loc: Loc }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [payError, setPayError] = useState<unknown>(null);
  const [paying, setPaying] = useState<string | null>(null);
  const [flash] = useState(() => takeFlash(session));
  const names = useProductNames(order);
  const payInFlight = useRef(false);
  const { user } = useAuth();
  const [email, setEmail] = useState('');
  const returned = loc.query.get('transaction_status');

  // Load, then poll every POLL_MS while the order is pending.
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const { order: fresh } = await api.getOrder(id);
        if (!live) return;
        setOrder(fresh);
        setError(null);
        // A hidden tab checks less often; it catches up when shown again.
        if (fresh.status === 'pending') timer = setTimeout(tick, document.hidden ? POLL_MS * 8 : POLL_MS);
      } catch (err) {
        if (!live) return;
        setError(err);
        // Keep trying through passing failures (not for 404 / 401).
        const status = (err as { status?: number }).status ?? 0;
        if (status === 0 || status === 429 || status >= 500) timer = setTimeout(tick, POLL_MS * 2);
      }
    };
    tick();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [id]);

  const pay = async (e: Event) => {
    e.preventDefault();
    if (payInFlight.current || !order) return;
    payInFlight.current = true;
    setPayError(null);
    try {
      await payOrder(order.id, user?.email ?? email.trim(), setPaying);
    } catch (err) {
      setPayError(err);
      setPaying(null);
      payInFlight.current = false;
    }
  };

  return (
    <section>
      <p class="crumbs">
        <Link href="/app/orders">← My orders</Link>
      </p>
      <PageTitle title={`Order #${id}`}>Order #{id}</PageTitle>
      {flash && <p class="alert error" role="alert">{flash}</p>}
      {!order && !error && <Loading label="Loading order…" />}
      <ErrorMessage error={error} />
      {order && (
        <>
          <p class={`status status-${order.status}`}>
            Status:{' '}
            <strong data-testid="order-status" data-status={order.status}>
              {order.status}
            </strong>{' '}
            <span class="muted">({STATUS_TEXT[order.status] ?? order.status})</span>
          </p>
          <p role="status" aria-live="polite">
            {OUTCOME[order.status]}
            {order.status === 'pending' && returned && (
              <> The payment page reported “{returned}”; waiting for confirmation…</>
            )}
          </p>
          {order.status === 'pending' && (
            <form class="pay stack" onSubmit={pay}>
              {user && !user.email && (
                <>
                  <label for="receipt-email">Email for the payment receipt</label>
                  <input id="receipt-email" type="email" required autoComplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
                </>
              )}
              <ErrorMessage error={payError} />
              {paying && <Notice>{paying}</Notice>}
              <button type="submit" class="primary" disabled={!!paying}>
                Pay now
              </button>
            </form>
          )}
          <table class="items">
            <caption>Items</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">Quantity</th>
                <th scope="col" class="num">Price</th>
                <th scope="col" class="num">Subtotal</th>
              </tr>
            </thead>
            <tbody>
              {order.order_items.map((i) => (
                <tr key={i.id}>
                  <td>
                    <Link href={`/app/products/${i.product_id}`}>{names[i.product_id] ?? `Product #${i.product_id}`}</Link>
                  </td>
                  <td class="num">{i.quantity}</td>
                  <td class="num">{rupiah(i.price)}</td>
                  <td class="num">{rupiah(i.price * i.quantity)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={3}>
                  Total
                </th>
                <td class="num">
                  <strong>{rupiah(order.total_price)}</strong>
                </td>
              </tr>
            </tfoot>
          </table>
          <p class="muted">Placed {dateTime(order.created_at)}</p>
        </>
      )}
    </section>
  );
}
