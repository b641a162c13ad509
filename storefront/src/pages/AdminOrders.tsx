import { useEffect, useState } from 'preact/hooks';
import { AdminNav, MorePages } from '../components/admin';
import { ErrorMessage, Link, Loading, PageTitle } from '../components/ui';
import { useLoad } from '../components/useLoad';
import {
  ORDER_STATUSES,
  orderFiltersFrom,
  orderFiltersHref,
  orderFiltersProblem,
  orderQuery,
  parseDay,
  parseId,
  type OrderFilters,
} from '../lib/admin';
import { dateTime, rupiah } from '../lib/format';
import { navigate, type Loc } from '../lib/router';
import type { OrderStatus } from '../lib/types';
import { api } from '../state';

/** Every user's orders, newest first, filtered by status, user and dates (kept in the address). */
export function AdminOrdersPage({ loc }: { loc: Loc }) {
  const filters = orderFiltersFrom(loc.query);
  const key = orderFiltersHref(filters);
  const list = useLoad(() => api.adminListOrders(orderQuery(filters)), [key]);
  const [status, setStatus] = useState<string>(filters.status ?? '');
  const [userId, setUserId] = useState(filters.userId === null ? '' : String(filters.userId));
  const [from, setFrom] = useState(filters.from ?? '');
  const [to, setTo] = useState(filters.to ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  // Back and forward change the address, not the page: the form follows it.
  useEffect(() => {
    setStatus(filters.status ?? '');
    setUserId(filters.userId === null ? '' : String(filters.userId));
    setFrom(filters.from ?? '');
    setTo(filters.to ?? '');
    setProblem(null);
  }, [key]);
  const filtered = filters.status !== null || filters.userId !== null || filters.from !== null || filters.to !== null;

  const apply = (e: Event) => {
    e.preventDefault();
    const why = orderFiltersProblem(userId, from, to);
    setProblem(why);
    if (why) return;
    const next: OrderFilters = {
      status: ORDER_STATUSES.includes(status as OrderStatus) ? (status as OrderStatus) : null,
      userId: parseId(userId),
      from: parseDay(from),
      to: parseDay(to),
      page: 1,
    };
    navigate(orderFiltersHref(next));
  };

  const data = list.data;
  return (
    <section>
      <AdminNav current="orders" />
      <PageTitle title="Admin: orders">Admin: orders</PageTitle>
      <form class="filters" onSubmit={apply} aria-label="Filter orders">
        <div>
          <label for="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">Any status</option>
            {ORDER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="filter-user">User id</label>
          <input id="filter-user" inputMode="numeric" pattern="[0-9]*" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
        </div>
        <div>
          <label for="filter-from">From (day)</label>
          <input id="filter-from" type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </div>
        <div>
          <label for="filter-to">To (day, included)</label>
          <input id="filter-to" type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <div class="filter-actions">
          <button type="submit" class="primary">
            Apply filters
          </button>
          {filtered && <Link href="/app/admin/orders">Clear filters</Link>}
        </div>
      </form>
      <ErrorMessage error={problem ? new Error(problem) : null} />
      <ErrorMessage error={list.error} />
      {list.loading && !data && <Loading label="Loading orders…" />}
      {data && data.orders.length === 0 && <p data-testid="admin-orders-empty">{filters.page > 1 ? 'No orders on this page.' : 'No orders match.'}</p>}
      {data && data.orders.length > 0 && (
        <div class="table-wrap">
          <table class="admin-orders" aria-busy={list.loading}>
            <caption class="visually-hidden">Orders, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">User</th>
                <th scope="col">Placed</th>
                <th scope="col" class="num">Total</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {data.orders.map((o) => (
                <tr key={o.id} data-testid="admin-order-row" data-order-id={o.id} data-status={o.status}>
                  <th scope="row">
                    <Link href={`/app/admin/orders/${o.id}`}>Order #{o.id}</Link>
                  </th>
                  <td>
                    <Link href={orderFiltersHref({ ...filters, userId: o.user_id, page: 1 })} aria-label={`Orders of user #${o.user_id}`}>
                      #{o.user_id}
                    </Link>
                  </td>
                  <td>{dateTime(o.created_at)}</td>
                  <td class="num">{rupiah(o.total_price)}</td>
                  <td>
                    <span class={`badge status-${o.status}`}>{o.status}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && (
        <MorePages
          label="Order pages"
          page={filters.page}
          hasMore={data.has_more}
          hrefFor={(page) => orderFiltersHref({ ...filters, page })}
        />
      )}
    </section>
  );
}
