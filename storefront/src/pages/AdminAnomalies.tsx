import { useRef, useState } from 'preact/hooks';
import { AdminNav } from '../components/admin';
import { ErrorMessage, Link, Loading, Notice, PageTitle } from '../components/ui';
import { useCooldown, useLoad } from '../components/useLoad';
import { dateTime } from '../lib/format';
import type { Anomaly, AnomalyKind } from '../lib/types';
import { api } from '../state';

const KIND_TEXT: Record<AnomalyKind, string> = {
  refund_owed: 'Refund owed',
  refund_refused: 'Refund refused by Midtrans',
  refund_unconfirmed: 'Refund not confirmed',
  status_mismatch: 'Order and payment disagree',
  event_unacknowledged: 'Event not acknowledged',
};

const anomalyKey = (a: Anomaly, i: number) => `${a.kind}-${a.order_id}-${a.payment_id ?? ''}-${a.event_id ?? ''}-${i}`;

/** What needs an administrator: each anomaly with the API call that fixes it, or what to do by hand. */
export function AdminAnomaliesPage() {
  const list = useLoad(() => api.adminListAnomalies(), []);
  const [running, setRunning] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [wait, noteError] = useCooldown();
  const inFlight = useRef(false);

  const run = async (a: Anomaly, key: string) => {
    if (!a.action || inFlight.current) return;
    inFlight.current = true;
    setRunning(key);
    setError(null);
    setMessage(null);
    try {
      await api.adminAction(a.action);
      setMessage(`Done: ${a.action.label} (order #${a.order_id}).`);
      list.reload();
    } catch (err) {
      setError(err);
      noteError(err);
    } finally {
      inFlight.current = false;
      setRunning(null);
    }
  };

  const anomalies = list.data?.anomalies;
  return (
    <section>
      <AdminNav current="anomalies" />
      <PageTitle title="Admin: anomalies">Admin: anomalies</PageTitle>
      <p class="muted">Refunds owed, refused or unconfirmed, orders whose status disagrees with their payment's, and events no consumer acknowledged (for longer than 5 minutes), oldest first within a kind.</p>
      <ErrorMessage error={error} />
      {message && <Notice>{message}</Notice>}
      <ErrorMessage error={list.error} />
      {list.loading && !anomalies && <Loading label="Loading anomalies…" />}
      {anomalies && (
        <p>
          <button type="button" class="secondary" disabled={list.loading} onClick={() => list.reload()}>
            Reload
          </button>
        </p>
      )}
      {anomalies && anomalies.length === 0 && <p data-testid="anomalies-none">Nothing needs you: no anomalies.</p>}
      {anomalies && anomalies.length > 0 && (
        <div class="table-wrap">
          <table class="anomalies" aria-busy={list.loading}>
            <caption class="visually-hidden">Anomalies</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Order</th>
                <th scope="col">Since</th>
                <th scope="col">What to do</th>
              </tr>
            </thead>
            <tbody>
              {anomalies.map((a, i) => {
                const key = anomalyKey(a, i);
                return (
                  <tr key={key} data-testid="anomaly-row" data-kind={a.kind} data-order-id={a.order_id}>
                    <td>{KIND_TEXT[a.kind] ?? a.kind}</td>
                    <th scope="row">
                      <Link href={`/app/admin/orders/${a.order_id}`}>Order #{a.order_id}</Link>
                      {a.payment_id !== null && <div class="muted">payment #{a.payment_id}</div>}
                      {a.event_id !== null && (
                        <div class="muted">
                          event <code>{a.event_id}</code>
                        </div>
                      )}
                    </th>
                    <td>{dateTime(a.since)}</td>
                    <td>
                      <p class="anomaly-detail" data-testid="anomaly-detail">
                        {a.detail}
                      </p>
                      {a.action && (
                        <button
                          type="button"
                          class="secondary"
                          disabled={running !== null || wait > 0}
                          onClick={() => run(a, key)}
                          aria-label={`${a.action.label} (order #${a.order_id})`}
                          data-testid="anomaly-action"
                        >
                          {running === key ? 'Working…' : a.action.label}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
    </section>
  );
}
