import { useEffect, useRef, useState } from 'preact/hooks';
import { AdminNav } from '../components/admin';
import { ErrorMessage, Link, Loading, Notice, PageTitle } from '../components/ui';
import { OrderItemsTable } from '../components/order';
import { useCooldown, useLoad } from '../components/useLoad';
import { canCancel, canRefund, refundInFlight, timeline } from '../lib/admin';
import { dateTime, rupiah } from '../lib/format';
import type { AdminPayment, RefundResult } from '../lib/types';
import { api } from '../state';
import { useProductNames } from './Order';

/** While a refund or a cancel is on its way, the page reads the order again this often… */
export const ADMIN_POLL_MS = 1500;
/** …this many times at most (a minute); "Reload" does it by hand after that. */
const POLL_LIMIT = 40;

type Confirming = 'cancel' | 'refund' | null;

function refundMessage(r: RefundResult): string {
  if (r.refund === 'refunded') return `Payment #${r.payment_id} was refunded already; there is nothing left to refund.`;
  if (r.refund === 'owed') {
    return `Midtrans could not be reached: the refund of payment #${r.payment_id} is owed, and the maintenance sweep asks for it again.`;
  }
  return `Midtrans accepted the refund of payment #${r.payment_id}. The payment becomes refunded when Midtrans's refund notification arrives.`;
}

function PaymentFacts({ payment }: { payment: AdminPayment }) {
  return (
    <>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <strong class={`status-${payment.status}`} data-testid="payment-status" data-status={payment.status} data-payment-id={payment.id}>
            {payment.status}
          </strong>
        </dd>
        <dt>Amount</dt>
        <dd>{rupiah(payment.amount)}</dd>
        <dt>Midtrans order id</dt>
        <dd>
          <code>{payment.gateway_order_id}</code>
        </dd>
        <dt>Created</dt>
        <dd>{dateTime(payment.created_at)}</dd>
        <dt>Updated</dt>
        <dd>{dateTime(payment.updated_at)}</dd>
      </dl>
      <div class="table-wrap">
        <table class="attempts">
          <caption>Attempts</caption>
          <thead>
            <tr>
              <th scope="col" class="num">#</th>
              <th scope="col">Midtrans order id</th>
              <th scope="col">Token</th>
              <th scope="col">Expires</th>
              <th scope="col">Midtrans status</th>
              <th scope="col">Refund</th>
            </tr>
          </thead>
          <tbody>
            {payment.attempts.map((a) => (
              <tr key={a.attempt} data-testid="attempt-row" data-refund={a.refund}>
                <td class="num">{a.attempt}</td>
                <td>
                  <code>{a.gateway_order_id}</code>
                </td>
                <td>{a.token}</td>
                <td>{dateTime(a.expires_at)}</td>
                <td>
                  {a.transaction_status ?? '–'}
                  {a.fraud_status && <span class="muted"> (fraud: {a.fraud_status})</span>}
                  {a.payment_type && <span class="muted"> via {a.payment_type}</span>}
                </td>
                <td>{a.refund}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** One order as the back office sees it: items, payment and attempts, the timeline; cancel and refund. */
export function AdminOrderPage({ id }: { id: number }) {
  const detail = useLoad(() => api.adminGetOrder(id), [id]);
  const data = detail.data;
  const names = useProductNames(data?.order ?? null);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  /** The API accepted a cancel: the order follows through the saga, so keep reading it. */
  const [cancelSent, setCancelSent] = useState(false);
  const [wait, noteError] = useCooldown();
  const inFlight = useRef(false);
  const polls = useRef(0);

  const waiting = !!data && (refundInFlight(data.payment) || (cancelSent && data.order.status === 'pending'));
  useEffect(() => {
    if (!waiting || detail.loading || polls.current >= POLL_LIMIT) return;
    const timer = setTimeout(() => {
      polls.current += 1;
      detail.reload();
    }, ADMIN_POLL_MS);
    return () => clearTimeout(timer);
  }, [waiting, data, detail.loading]);

  const perform = async (what: 'cancel' | 'refund') => {
    if (inFlight.current || !data) return;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      if (what === 'cancel') {
        await api.adminCancelOrder(data.order.id);
        setCancelSent(true);
        setMessage(`Order #${data.order.id} is cancelled: its payment is closed; the order and its stock follow in a moment.`);
      } else if (data.payment) {
        setMessage(refundMessage(await api.adminRefundPayment(data.payment.id)));
      }
      polls.current = 0;
      detail.reload();
    } catch (err) {
      setError(err);
      noteError(err);
    } finally {
      inFlight.current = false;
      setBusy(false);
      setConfirming(null);
    }
  };

  const order = data?.order;
  const payment = data?.payment ?? null;
  const entries = data ? timeline(data, dateTime) : [];

  return (
    <section>
      <AdminNav current="orders" />
      <p class="crumbs">
        <Link href="/app/admin/orders">← Orders</Link>
      </p>
      <PageTitle title={`Admin: order #${id}`}>Order #{id}</PageTitle>
      {detail.loading && !data && !detail.error && <Loading label="Loading order…" />}
      <ErrorMessage error={detail.error} />
      {order && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <strong class={`status-${order.status}`} data-testid="admin-order-status" data-status={order.status}>
                {order.status}
              </strong>
            </dd>
            <dt>Customer</dt>
            <dd>
              <Link href={`/app/admin/orders?user_id=${order.user_id}`}>User #{order.user_id}</Link>
            </dd>
            <dt>Total</dt>
            <dd>{rupiah(order.total_price)}</dd>
            <dt>Placed</dt>
            <dd>{dateTime(order.created_at)}</dd>
            <dt>Updated</dt>
            <dd>{dateTime(order.updated_at)}</dd>
          </dl>

          <div class="admin-actions" aria-busy={busy}>
            <ErrorMessage error={error} />
            {message && <Notice>{message}</Notice>}
            {confirming ? (
              <div class="actions" role="group" aria-labelledby="confirm-question">
                <span id="confirm-question">
                  {confirming === 'cancel'
                    ? `Cancel order #${order.id}? Midtrans is told first; the stock comes back.`
                    : `Refund ${payment ? rupiah(payment.amount) : ''} to the customer through Midtrans? The stock does not come back.`}
                </span>
                <button type="button" class="danger" disabled={busy || wait > 0} onClick={() => perform(confirming)}>
                  {confirming === 'cancel' ? 'Yes, cancel order' : 'Yes, refund payment'}
                </button>
                <button type="button" class="secondary" disabled={busy} onClick={() => setConfirming(null)}>
                  Keep it
                </button>
              </div>
            ) : (
              <div class="actions">
                {canCancel(order.status) && (
                  <button type="button" class="danger" disabled={busy || wait > 0} onClick={() => setConfirming('cancel')}>
                    Cancel order
                  </button>
                )}
                {canRefund(payment) && (
                  <button type="button" class="danger" disabled={busy || wait > 0} onClick={() => setConfirming('refund')}>
                    Refund payment
                  </button>
                )}
                <button type="button" class="secondary" disabled={detail.loading} onClick={() => detail.reload()}>
                  Reload
                </button>
              </div>
            )}
            {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
            {waiting && <p class="hint" role="status">Waiting for the change to arrive; this page reads the order again by itself.</p>}
          </div>

          <OrderItemsTable order={order} names={names} />

          <h2>{payment ? `Payment #${payment.id}` : 'Payment'}</h2>
          {payment ? <PaymentFacts payment={payment} /> : <p data-testid="no-payment">No payment yet: the saga creates it moments after the order.</p>}

          <h2 id="timeline-title">Timeline</h2>
          <ol class="timeline" aria-labelledby="timeline-title">
            {entries.map((e) => (
              <li
                key={e.key}
                data-testid="timeline-entry"
                data-kind={e.kind}
                data-verdict={e.verdict}
                data-event-type={e.eventType}
                data-event-state={e.eventState}
              >
                <time dateTime={e.at}>{dateTime(e.at)}</time>
                <strong>{e.title}</strong>
                <span class="muted">{e.detail}</span>
                {e.reference && <code class="muted">{e.reference}</code>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
