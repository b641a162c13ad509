// The back office's pure logic (src/lib/admin.ts): the order timeline merged
// and sorted by time, the filters kept in the address and sent to the API,
// and what an order or a payment still allows.

import { describe, expect, it } from 'vitest';
import {
  auditFiltersFrom,
  auditFiltersHref,
  auditQuery,
  canCancel,
  canRefund,
  describeChange,
  eventState,
  hrefWith,
  localDayStart,
  orderFiltersFrom,
  orderFiltersHref,
  orderFiltersProblem,
  orderQuery,
  parseDay,
  parseId,
  refundInFlight,
  timeline,
} from '../src/lib/admin';
import type { AdminAttempt, AdminEvent, AdminNotification, AdminOrderDetail, AdminPayment } from '../src/lib/types';

const attempt = (over: Partial<AdminAttempt> = {}): AdminAttempt => ({
  attempt: 1,
  gateway_order_id: 'order-42-1-aaaa',
  token: 'valid',
  expires_at: '2024-05-02T08:30:00Z',
  transaction_status: null,
  fraud_status: null,
  payment_type: null,
  refund: 'none',
  created_at: '2024-05-01T08:30:01Z',
  ...over,
});

const notification = (over: Partial<AdminNotification> = {}): AdminNotification => ({
  id: 1,
  received_at: '2024-05-01T08:31:00Z',
  source: 'webhook',
  verdict: 'applied',
  confirmed_status: 'settlement',
  ...over,
});

const event = (over: Partial<AdminEvent> = {}): AdminEvent => ({
  event_id: '00000000-0000-4000-8000-000000000001',
  type: 'order.created',
  created_at: '2024-05-01T08:30:00Z',
  relayed_at: null,
  consumed_at: null,
  publish_attempts: 0,
  relay_error: null,
  ...over,
});

const payment = (over: Partial<AdminPayment> = {}): AdminPayment => ({
  id: 40,
  status: 'paid',
  amount: 65_000,
  gateway_order_id: 'order-42-1-aaaa',
  created_at: '2024-05-01T08:30:01Z',
  updated_at: '2024-05-01T08:31:00Z',
  attempts: [attempt({ transaction_status: 'settlement' })],
  notifications: [],
  ...over,
});

const detail = (over: Partial<AdminOrderDetail> = {}): AdminOrderDetail => ({
  order: {
    id: 42,
    user_id: 7,
    total_price: 65_000,
    status: 'paid',
    order_items: [
      { id: 1, product_id: 1, quantity: 2, price: 25_000 },
      { id: 2, product_id: 2, quantity: 1, price: 15_000 },
    ],
    created_at: '2024-05-01T08:30:00Z',
    updated_at: '2024-05-01T08:31:01Z',
  },
  payment: payment(),
  events: [],
  ...over,
});

describe('timeline', () => {
  it('merges the order, attempts, notifications and events, oldest first', () => {
    const d = detail({
      payment: payment({
        attempts: [
          attempt({ attempt: 2, gateway_order_id: 'order-42-2-bbbb', created_at: '2024-05-02T09:00:00Z', transaction_status: 'settlement' }),
          attempt({ attempt: 1, token: 'expired', created_at: '2024-05-01T08:30:01Z' }),
        ],
        // The API lists notifications newest first.
        notifications: [
          notification({ id: 9, received_at: '2024-05-02T09:05:00Z', verdict: 'applied' }),
          notification({ id: 3, received_at: '2024-05-01T10:00:00Z', verdict: 'bad_signature', confirmed_status: null }),
        ],
      }),
      events: [
        event({ created_at: '2024-05-01T08:30:00Z', relayed_at: '2024-05-01T08:30:00Z', consumed_at: '2024-05-01T08:30:01Z', publish_attempts: 1 }),
        event({ event_id: '00000000-0000-4000-8000-000000000002', type: 'payment.updated', created_at: '2024-05-02T09:05:00Z', relayed_at: '2024-05-02T09:05:01Z', publish_attempts: 1 }),
      ],
    });
    const entries = timeline(d);
    expect(entries.map((e) => e.key)).toEqual([
      'order-42',
      'event-00000000-0000-4000-8000-000000000001',
      'attempt-1',
      'notification-3',
      'attempt-2',
      'notification-9',
      'event-00000000-0000-4000-8000-000000000002',
    ]);
    expect(entries.map((e) => e.kind)).toEqual(['order', 'event', 'attempt', 'notification', 'attempt', 'notification', 'event']);
    // Same instant (one statement): the change before its event, the order before everything.
    expect(entries[5]).toMatchObject({ kind: 'notification', verdict: 'applied', title: 'Midtrans notification: applied', detail: 'Midtrans confirmed settlement' });
    expect(entries[6]).toMatchObject({ kind: 'event', eventType: 'payment.updated', eventState: 'relayed' });
    expect(entries[0]).toMatchObject({ title: 'Order placed', detail: '3 items, 2 products' });
    expect(entries[2].title).toBe('Payment attempt 1 started (order-42-1-aaaa)');
    expect(entries[2].detail).toBe('token expired');
    expect(entries[3]).toMatchObject({ verdict: 'bad_signature', detail: 'nothing confirmed' });
  });

  it('describes how far each event got, with the times formatted by the caller', () => {
    const d = detail({
      payment: null,
      events: [
        event({ relayed_at: '2024-05-01T08:30:00Z', consumed_at: '2024-05-01T08:30:01Z', publish_attempts: 1 }),
        event({ event_id: '00000000-0000-4000-8000-000000000003', created_at: '2024-05-01T08:30:02Z', publish_attempts: 3, relay_error: 'broker unreachable' }),
      ],
    });
    const entries = timeline(d, (iso) => `<${iso.slice(11, 19)}>`);
    expect(entries.map((e) => e.kind)).toEqual(['order', 'event', 'event']);
    expect(entries[1].detail).toBe('relayed <08:30:00>, consumed <08:30:01>, 1 publish attempt');
    expect(entries[1].eventState).toBe('consumed');
    expect(entries[1].reference).toBe('00000000-0000-4000-8000-000000000001');
    expect(entries[2].detail).toBe('not relayed yet, not consumed yet, 3 publish attempts, relay error: broker unreachable');
    expect(entries[2].eventState).toBe('waiting');
  });

  it('orders by the instant, not the text (offsets), keeps ties stable and puts an unreadable time last', () => {
    const d = detail({
      payment: payment({
        attempts: [],
        notifications: [
          notification({ id: 5, received_at: 'garbage' }),
          notification({ id: 4, received_at: '2024-05-01T16:00:00+08:00' }), // 08:00Z: before the order
          notification({ id: 2, received_at: '2024-05-01T09:00:00Z' }),
          notification({ id: 1, received_at: '2024-05-01T09:00:00Z', source: 'status_check' }),
        ],
      }),
    });
    const entries = timeline(d);
    expect(entries.map((e) => e.key)).toEqual(['notification-4', 'order-42', 'notification-1', 'notification-2', 'notification-5']);
    expect(entries[2].title).toBe('Status check with Midtrans: applied');
  });

  it('is only the order when there is no payment and no event yet', () => {
    expect(timeline(detail({ payment: null, events: [] })).map((e) => e.kind)).toEqual(['order']);
  });

  it('eventState: consumed beats relayed beats waiting', () => {
    expect(eventState(event({ consumed_at: '2024-05-01T00:00:00Z' }))).toBe('consumed');
    expect(eventState(event({ relayed_at: '2024-05-01T00:00:00Z' }))).toBe('relayed');
    expect(eventState(event())).toBe('waiting');
  });
});

describe('what an order and a payment allow', () => {
  it('only a pending order can be cancelled', () => {
    expect(canCancel('pending')).toBe(true);
    for (const s of ['paid', 'failed', 'expired', 'cancelled'] as const) expect(canCancel(s)).toBe(false);
  });

  it('a paid payment can be refunded until the refund is asked, refused or done; owed money always can', () => {
    expect(canRefund(null)).toBe(false);
    expect(canRefund(payment())).toBe(true);
    expect(canRefund(payment({ attempts: [attempt({ refund: 'requested' })] }))).toBe(false);
    expect(canRefund(payment({ attempts: [attempt({ refund: 'refused' })] }))).toBe(false);
    expect(canRefund(payment({ status: 'refunded', attempts: [attempt({ refund: 'refunded' })] }))).toBe(false);
    expect(canRefund(payment({ status: 'pending', attempts: [attempt()] }))).toBe(false);
    // Late money on an expired payment, or a refund Midtrans could not be reached for.
    expect(canRefund(payment({ status: 'expired', attempts: [attempt(), attempt({ attempt: 2, refund: 'owed' })] }))).toBe(true);
    expect(canRefund(payment({ attempts: [attempt({ refund: 'owed' })] }))).toBe(true);
  });

  it('a requested refund is in flight until the payment reads refunded', () => {
    expect(refundInFlight(null)).toBe(false);
    expect(refundInFlight(payment())).toBe(false);
    expect(refundInFlight(payment({ attempts: [attempt({ refund: 'requested' })] }))).toBe(true);
    expect(refundInFlight(payment({ status: 'refunded', attempts: [attempt({ refund: 'requested' })] }))).toBe(false);
  });
});

describe('filters in the address', () => {
  it('hrefWith leaves out empty values', () => {
    expect(hrefWith('/x', { a: 1, b: '', c: null, d: undefined, e: 'p q' })).toBe('/x?a=1&e=p+q');
    expect(hrefWith('/x', {})).toBe('/x');
  });

  it('parseId takes whole numbers from 1, digits only', () => {
    expect(parseId('7')).toBe(7);
    expect(parseId(' 12 ')).toBe(12);
    for (const bad of ['0', '-1', '1.5', '1e3', 'x', '', null, '99999999999999999999']) expect(parseId(bad)).toBeNull();
  });

  it('parseDay takes real calendar days', () => {
    expect(parseDay('2024-02-29')).toBe('2024-02-29');
    for (const bad of ['2023-02-29', '2024-13-01', '2024-5-1', '0000-01-01', 'today', null]) expect(parseDay(bad)).toBeNull();
  });

  it('localDayStart is local midnight as UTC, days later on request', () => {
    expect(localDayStart('2024-05-01')).toBe(new Date(2024, 4, 1).toISOString());
    expect(localDayStart('2024-05-31', 1)).toBe(new Date(2024, 5, 1).toISOString());
    expect(localDayStart('2024-12-31', 1)).toBe(new Date(2025, 0, 1).toISOString());
    // Years below 100 stay themselves (Date's constructor would read 50 as 1950).
    expect(localDayStart('0050-01-01')).toMatch(/^00(50-01-01|49-12-31)T/);
  });

  it('orderFiltersFrom ignores what the API would refuse', () => {
    const f = orderFiltersFrom(new URLSearchParams('status=paid&user_id=7&from=2024-05-01&to=2024-05-31&page=3'));
    expect(f).toEqual({ status: 'paid', userId: 7, from: '2024-05-01', to: '2024-05-31', page: 3 });
    const junk = orderFiltersFrom(new URLSearchParams('status=refunded&user_id=0&from=yesterday&to=2024-02-30&page=-1'));
    expect(junk).toEqual({ status: null, userId: null, from: null, to: null, page: 1 });
  });

  it('orderFiltersHref round-trips and leaves page 1 out', () => {
    const f = { status: 'paid' as const, userId: 7, from: '2024-05-01', to: null, page: 1 };
    expect(orderFiltersHref(f)).toBe('/app/admin/orders?status=paid&user_id=7&from=2024-05-01');
    expect(orderFiltersFrom(new URLSearchParams(orderFiltersHref({ ...f, page: 2 }).split('?')[1]))).toEqual({ ...f, page: 2 });
    expect(orderFiltersHref({ status: null, userId: null, from: null, to: null, page: 1 })).toBe('/app/admin/orders');
  });

  it('orderQuery sends local days as an instant window, the last day included', () => {
    const q = orderQuery({ status: 'paid', userId: 7, from: '2024-05-01', to: '2024-05-31', page: 2 }, 20);
    expect(q).toEqual({
      status: 'paid',
      user_id: 7,
      from: new Date(2024, 4, 1).toISOString(),
      to: new Date(2024, 5, 1).toISOString(),
      page: 2,
      page_size: 20,
    });
    expect(orderQuery({ status: null, userId: null, from: null, to: null, page: 1 })).toEqual({ page: 1, page_size: 20 });
  });

  it('orderFiltersProblem explains what cannot be sent', () => {
    expect(orderFiltersProblem('', '', '')).toBeNull();
    expect(orderFiltersProblem('7', '2024-05-01', '2024-05-01')).toBeNull();
    expect(orderFiltersProblem('x', '', '')).toMatch(/user id/);
    expect(orderFiltersProblem('', '2024-05-02', '2024-05-01')).toMatch(/must not be after/);
    expect(orderFiltersProblem('', '2024-99-01', '')).toMatch(/YYYY-MM-DD/);
  });

  it('audit filters: a target id only with its type', () => {
    expect(auditFiltersFrom(new URLSearchParams('target_type=payment&target_id=40&actor_id=1&page=2'))).toEqual({
      targetType: 'payment',
      targetId: 40,
      actorId: 1,
      page: 2,
    });
    const alone = auditFiltersFrom(new URLSearchParams('target_id=40'));
    expect(alone.targetId).toBeNull();
    expect(auditQuery(alone)).toEqual({ page: 1, page_size: 20 });
    expect(auditQuery({ targetType: 'order', targetId: 5, actorId: null, page: 1 })).toEqual({ target_type: 'order', target_id: 5, page: 1, page_size: 20 });
    expect(auditFiltersHref({ targetType: null, targetId: 5, actorId: 2, page: 1 })).toBe('/app/admin/audit?actor_id=2');
  });

  it('describeChange is compact', () => {
    expect(describeChange(null)).toBe('–');
    expect(describeChange({})).toBe('–');
    expect(describeChange({ role: 'admin' })).toBe('role: admin');
    expect(describeChange({ refund_requested: ['order-1-1-a'], n: 2 })).toBe('refund_requested: ["order-1-1-a"], n: 2');
  });
});
