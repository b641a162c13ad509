// The back office's pure logic: the filters kept in the address, the order
// timeline (the order, its payment attempts, notifications and events merged
// by time), and what an order or payment still allows.

import type {
  AdminAttempt,
  AdminEvent,
  AdminNotification,
  AdminOrderDetail,
  AdminOrderQuery,
  AdminPayment,
  AuditQuery,
  AuditTargetType,
  OrderStatus,
} from './types';

/** Rows per page of the admin lists (the API allows 1–100). */
export const ADMIN_LIST_PAGE_SIZE = 20;

export const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'paid', 'failed', 'expired', 'cancelled'];
export const AUDIT_TARGET_TYPES: readonly AuditTargetType[] = ['order', 'payment', 'user'];

/** A path with the parameters that have a value as its query (`?a=1&b=x`), in the order given. */
export function hrefWith(path: string, params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/** A whole number ≥ 1 as typed (digits only), else null. */
export function parseId(text: string | null | undefined): number | null {
  const t = (text ?? '').trim();
  if (!/^[0-9]{1,18}$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}

/** A calendar date `YYYY-MM-DD` that exists, else null. */
export function parseDay(text: string | null | undefined): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec((text ?? '').trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return m[0];
}

/** The instant a local calendar day starts, `days` later, as RFC 3339 UTC (`…Z`). */
export function localDayStart(day: string, days = 0): string {
  const [y, m, d] = day.split('-').map(Number);
  const date = new Date(y, m - 1, d + days, 0, 0, 0, 0);
  date.setFullYear(y, m - 1, d + days); // years below 100 are not 19xx
  return date.toISOString();
}

/** The order list's filters as the address keeps them (`/app/admin/orders?status=paid&from=2024-05-01…`). */
export interface OrderFilters {
  status: OrderStatus | null;
  userId: number | null;
  /** First day (local), inclusive. */
  from: string | null;
  /** Last day (local), inclusive. */
  to: string | null;
  page: number;
}

export function pageFrom(query: URLSearchParams): number {
  const n = parseId(query.get('page'));
  return n ?? 1;
}

export function orderFiltersFrom(query: URLSearchParams): OrderFilters {
  const status = query.get('status');
  return {
    status: ORDER_STATUSES.includes(status as OrderStatus) ? (status as OrderStatus) : null,
    userId: parseId(query.get('user_id')),
    from: parseDay(query.get('from')),
    to: parseDay(query.get('to')),
    page: pageFrom(query),
  };
}

/** `/app/admin/orders?…` for these filters (page 1 is left out). */
export function orderFiltersHref(f: OrderFilters): string {
  return hrefWith('/app/admin/orders', {
    status: f.status,
    user_id: f.userId,
    from: f.from,
    to: f.to,
    page: f.page > 1 ? f.page : null,
  });
}

/**
 * The API's query for the filters: the days are local, `to` inclusive, so
 * `from` is the start of its day and `to` the start of the day after it
 * (the API's window is from ≤ created_at < to).
 */
export function orderQuery(f: OrderFilters, pageSize = ADMIN_LIST_PAGE_SIZE): AdminOrderQuery {
  const query: AdminOrderQuery = { page: f.page, page_size: pageSize };
  if (f.status) query.status = f.status;
  if (f.userId !== null) query.user_id = f.userId;
  if (f.from) query.from = localDayStart(f.from);
  if (f.to) query.to = localDayStart(f.to, 1);
  return query;
}

/** Why the typed filters cannot be applied, or null. `from`/`to` as the date inputs give them. */
export function orderFiltersProblem(userId: string, from: string, to: string): string | null {
  if (userId.trim() && parseId(userId) === null) return 'The user id must be a whole number, 1 or more.';
  if (from && !parseDay(from)) return 'Enter the “from” date as YYYY-MM-DD.';
  if (to && !parseDay(to)) return 'Enter the “to” date as YYYY-MM-DD.';
  if (from && to && from > to) return 'The “from” date must not be after the “to” date.';
  return null;
}

export interface AuditFilters {
  targetType: AuditTargetType | null;
  targetId: number | null;
  actorId: number | null;
  page: number;
}

export function auditFiltersFrom(query: URLSearchParams): AuditFilters {
  const type = query.get('target_type');
  const targetType = AUDIT_TARGET_TYPES.includes(type as AuditTargetType) ? (type as AuditTargetType) : null;
  return {
    targetType,
    // The API refuses a target id without its type: ignored alone.
    targetId: targetType ? parseId(query.get('target_id')) : null,
    actorId: parseId(query.get('actor_id')),
    page: pageFrom(query),
  };
}

export function auditFiltersHref(f: AuditFilters): string {
  return hrefWith('/app/admin/audit', {
    target_type: f.targetType,
    target_id: f.targetType ? f.targetId : null,
    actor_id: f.actorId,
    page: f.page > 1 ? f.page : null,
  });
}

export function auditQuery(f: AuditFilters, pageSize = ADMIN_LIST_PAGE_SIZE): AuditQuery {
  const query: AuditQuery = { page: f.page, page_size: pageSize };
  if (f.targetType) {
    query.target_type = f.targetType;
    if (f.targetId !== null) query.target_id = f.targetId;
  }
  if (f.actorId !== null) query.actor_id = f.actorId;
  return query;
}

// ---------------------------------------------------------------- the order

/** Only a pending order can be cancelled (a cancelled one answers 200 again, but there is nothing to do). */
export function canCancel(status: OrderStatus): boolean {
  return status === 'pending';
}

/**
 * Whether "Refund payment" is offered: a paid payment whose refund has not
 * been asked for (or was not accepted), or any attempt whose refund is owed
 * (late money, or a refund Midtrans could not be reached for). A refused
 * refund is not asked again (it is returned from the Midtrans dashboard).
 */
export function canRefund(payment: AdminPayment | null): boolean {
  if (!payment) return false;
  if (payment.attempts.some((a) => a.refund === 'owed')) return true;
  return payment.status === 'paid' && !payment.attempts.some((a) => a.refund === 'requested' || a.refund === 'refused');
}

/** Midtrans accepted a refund and its notification has not come yet: worth polling. */
export function refundInFlight(payment: AdminPayment | null): boolean {
  return !!payment && payment.status !== 'refunded' && payment.attempts.some((a) => a.refund === 'requested');
}

export type TimelineKind = 'order' | 'attempt' | 'notification' | 'event';

export interface TimelineEntry {
  /** Unique within the timeline (a key for rendering). */
  key: string;
  kind: TimelineKind;
  /** RFC 3339, as the API gave it. */
  at: string;
  title: string;
  detail: string;
  /** The event's id (kind `event`), to match it with an anomaly or the relay's logs. */
  reference?: string;
  /** The notification's verdict (kind `notification`). */
  verdict?: AdminNotification['verdict'];
  /** The event's type (kind `event`). */
  eventType?: string;
  /** The event's progress (kind `event`). */
  eventState?: EventState;
}

export type EventState = 'consumed' | 'relayed' | 'waiting';

export function eventState(e: AdminEvent): EventState {
  if (e.consumed_at) return 'consumed';
  if (e.relayed_at) return 'relayed';
  return 'waiting';
}

type Format = (iso: string) => string;

const SOURCE_TEXT: Record<AdminNotification['source'], string> = {
  webhook: 'Midtrans notification',
  status_check: 'Status check with Midtrans',
};

function attemptDetail(a: AdminAttempt): string {
  const parts = [`token ${a.token}`];
  if (a.transaction_status) parts.push(`Midtrans status ${a.transaction_status}`);
  if (a.fraud_status) parts.push(`fraud ${a.fraud_status}`);
  if (a.payment_type) parts.push(`paid by ${a.payment_type}`);
  if (a.refund !== 'none') parts.push(`refund ${a.refund}`);
  return parts.join(', ');
}

function eventDetail(e: AdminEvent, format: Format): string {
  const parts: string[] = [];
  parts.push(e.relayed_at ? `relayed ${format(e.relayed_at)}` : 'not relayed yet');
  parts.push(e.consumed_at ? `consumed ${format(e.consumed_at)}` : 'not consumed yet');
  parts.push(`${e.publish_attempts} publish attempt${e.publish_attempts === 1 ? '' : 's'}`);
  if (e.relay_error) parts.push(`relay error: ${e.relay_error}`);
  return parts.join(', ');
}

const KIND_ORDER: Record<TimelineKind, number> = { order: 0, attempt: 1, notification: 2, event: 3 };

/** Milliseconds since the epoch; an unreadable time sorts last. */
function instant(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/**
 * The order's story, oldest first: the order placed, each payment attempt,
 * each notification with its verdict, each event with how far it got. Ties
 * (one statement writes a change and its event) keep that order: the order,
 * then attempts, notifications, events; within a kind, the API's order
 * (attempts by number, notifications by id, events oldest first).
 */
export function timeline(detail: AdminOrderDetail, format: Format = (iso) => iso): TimelineEntry[] {
  const { order, payment, events } = detail;
  const units = order.order_items.reduce((n, i) => n + i.quantity, 0);
  const products = order.order_items.length;
  // [entry, its rank within its kind]
  const ranked: Array<[TimelineEntry, number]> = [
    [
      {
        key: `order-${order.id}`,
        kind: 'order',
        at: order.created_at,
        title: 'Order placed',
        detail: `${units} item${units === 1 ? '' : 's'}, ${products} product${products === 1 ? '' : 's'}`,
      },
      0,
    ],
  ];
  if (payment) {
    [...payment.attempts]
      .sort((a, b) => a.attempt - b.attempt)
      .forEach((a, i) =>
        ranked.push([
          {
            key: `attempt-${a.attempt}`,
            kind: 'attempt',
            at: a.created_at,
            title: `Payment attempt ${a.attempt} started (${a.gateway_order_id})`,
            detail: attemptDetail(a),
          },
          i,
        ]),
      );
    [...payment.notifications]
      .sort((a, b) => a.id - b.id)
      .forEach((n, i) =>
        ranked.push([
          {
            key: `notification-${n.id}`,
            kind: 'notification',
            at: n.received_at,
            title: `${SOURCE_TEXT[n.source] ?? n.source}: ${n.verdict}`,
            detail: n.confirmed_status ? `Midtrans confirmed ${n.confirmed_status}` : 'nothing confirmed',
            verdict: n.verdict,
          },
          i,
        ]),
      );
  }
  events.forEach((e, i) =>
    ranked.push([
      {
        key: `event-${e.event_id}`,
        kind: 'event',
        at: e.created_at,
        title: `Event ${e.type}`,
        detail: eventDetail(e, format),
        reference: e.event_id,
        eventType: e.type,
        eventState: eventState(e),
      },
      i,
    ]),
  );
  return ranked
    .map(([entry, rank]) => ({ entry, rank, t: instant(entry.at) }))
    .sort((a, b) => a.t - b.t || KIND_ORDER[a.entry.kind] - KIND_ORDER[b.entry.kind] || a.rank - b.rank)
    .map(({ entry }) => entry);
}

/** An audit entry's before/after, compact (`role: customer`), or '–'. */
export function describeChange(value: Record<string, unknown> | null): string {
  if (!value) return '–';
  const parts = Object.entries(value).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(', ') : '–';
}
