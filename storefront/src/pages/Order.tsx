import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorMessage, Link, Loading, Notice, PageTitle } from '../components/ui';
import { OrderItemsTable } from '../components/order';
import { useCooldown } from '../components/useLoad';
import { takeFlash } from '../lib/flash';
import { dateTime, STATUS_TEXT } from '../lib/format';
import type { Loc } from '../lib/router';
import type { Order, OrderStatus } from '../lib/types';
import { api, session, useAuth } from '../state';
import { payOrder } from './Cart';

export const POLL_MS = 1500;

const OUTCOME: Record<OrderStatus, string> = {
  pending: 'Waiting for the payment. This page updates by itself.',
  paid: 'Thank you! Your payment was received.',
  failed: 'The payment failed. Your items were released; you can order again.',
  expired: 'The payment window expired. Your items were released.',
  cancelled: 'This order was cancelled.',
};

/** Product names for order lines (the order only carries ids). */
export function useProductNames(order: Order | null): Record<number, string> {
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
  // Cancelling: a first click asks, a second one sends.
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<unknown>(null);
  /** The API accepted the cancel; the order itself reads pending until the saga catches up. */
  const [cancelled, setCancelled] = useState(false);
  // Set synchronously on the first click, before the re-render disables the button.
  const cancelInFlight = useRef(false);
  const [wait, noteError] = useCooldown();
  const cancelButton = useRef<HTMLButtonElement>(null);
  const keepButton = useRef<HTMLButtonElement>(null);
  /** The confirm step opened or closed by the user: keep the focus on its buttons. */
  const moveFocus = useRef(false);
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
        // After a cancel this keeps polling until the order reads cancelled.
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

  useEffect(() => {
    if (!moveFocus.current) return;
    moveFocus.current = false;
    (confirmCancel ? keepButton : cancelButton).current?.focus();
  }, [confirmCancel]);

  const askCancel = (open: boolean) => {
    moveFocus.current = true;
    setConfirmCancel(open);
  };

  const pay = async (e: Event) => {
    e.preventDefault();
    if (payInFlight.current || cancelInFlight.current || !order) return;
    payInFlight.current = true;
    setPayError(null);
    setCancelError(null);
    try {
      await payOrder(order.id, user?.email ?? email.trim(), setPaying);
    } catch (err) {
      setPayError(err);
      setPaying(null);
      payInFlight.current = false;
    }
  };

  const cancel = async () => {
    if (cancelInFlight.current || payInFlight.current || !order) return;
    cancelInFlight.current = true;
    setCancelling(true);
    setCancelError(null);
    setPayError(null);
    try {
      await api.cancelOrder(order.id); // 200: the payment is cancelled, the order follows
      // Shown at once; the poll (the order still reads pending) picks up its own status.
      setCancelled(true);
      setConfirmCancel(false);
    } catch (err) {
      // 409 (paid, failed or expired meanwhile: the poll shows which), 503, 429: the API's message.
      setCancelError(err);
      noteError(err);
      askCancel(false);
    } finally {
      cancelInFlight.current = false;
      setCancelling(false);
    }
  };

  // Until the saga catches up the order still reads pending: show the API's answer.
  const status: OrderStatus | null = order && (cancelled && order.status === 'pending' ? 'cancelled' : order.status);

  return (
    <section>
      <p class="crumbs">
        <Link href="/app/orders">← My orders</Link>
      </p>
      <PageTitle title={`Order #${id}`}>Order #{id}</PageTitle>
      {flash && <p class="alert error" role="alert">{flash}</p>}
      {!order && !error && <Loading label="Loading order…" />}
      <ErrorMessage error={error} />
      {order && status && (
        <>
          <p class={`status status-${status}`}>
            Status:{' '}
            <strong data-testid="order-status" data-status={status}>
              {status}
            </strong>{' '}
            <span class="muted">({STATUS_TEXT[status] ?? status})</span>
          </p>
          <p role="status" aria-live="polite">
            {OUTCOME[status]}
            {status === 'pending' && returned && (
              <> The payment page reported “{returned}”; waiting for confirmation…</>
            )}
          </p>
          {status === 'pending' && (
            <form class="pay stack" onSubmit={pay} aria-busy={!!paying || cancelling}>
              {user && !user.email && (
                <>
                  <label for="receipt-email">Email for the payment receipt</label>
                  <input id="receipt-email" type="email" required autoComplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
                </>
              )}
              <ErrorMessage error={payError} />
              <ErrorMessage error={cancelError} />
              {paying && <Notice>{paying}</Notice>}
              {cancelling && <Notice>Cancelling the order…</Notice>}
              <div class="pay-actions">
                <button type="submit" class="primary" disabled={!!paying || cancelling}>
                  Pay now
                </button>
                {confirmCancel ? (
                  <span class="pay-actions" role="group" aria-labelledby="cancel-question">
                    <span id="cancel-question">Cancel this order?</span>
                    <button type="button" class="danger" disabled={!!paying || cancelling || wait > 0} onClick={cancel}>
                      Yes, cancel order
                    </button>
                    <button type="button" class="secondary" ref={keepButton} disabled={cancelling} onClick={() => askCancel(false)}>
                      Keep order
                    </button>
                  </span>
                ) : (
                  <button type="button" class="secondary" ref={cancelButton} disabled={!!paying || cancelling || wait > 0} onClick={() => askCancel(true)}>
                    Cancel order
                  </button>
                )}
              </div>
              {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
            </form>
          )}
          <OrderItemsTable order={order} names={names} />
          <p class="muted">Placed {dateTime(order.created_at)}</p>
        </>
      )}
    </section>
  );
}
