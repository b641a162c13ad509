import { ErrorMessage, Link, Loading, PageTitle, Pagination, positiveInt } from '../components/ui';
import { useLoad } from '../components/useLoad';
import { dateTime, rupiah } from '../lib/format';
import type { Loc } from '../lib/router';
import { api } from '../state';

export const ORDERS_PAGE_SIZE = 10;

export function OrdersPage({ loc }: { loc: Loc }) {
  const page = positiveInt(loc.query.get('page'), 1);
  const list = useLoad(() => api.listOrders(page, ORDERS_PAGE_SIZE), [page]);
  const data = list.data;
  return (
    <section>
      <PageTitle title="My orders">My orders</PageTitle>
      <ErrorMessage error={list.error} />
      {list.loading && !data && <Loading label="Loading your orders…" />}
      {data && (
        <p class="muted">
          <span data-testid="orders-total">{data.total}</span> order{data.total === 1 ? '' : 's'} in all.
        </p>
      )}
      {data && data.orders.length === 0 && (
        <p>
          {page > 1 ? 'No orders on this page.' : 'You have not ordered anything yet.'} <Link href="/">Browse products</Link>
        </p>
      )}
      {data && data.orders.length > 0 && (
        <div class="table-wrap">
          <table class="orders">
            <caption class="visually-hidden">Your orders, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col" class="num">Items</th>
                <th scope="col" class="num">Total</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {data.orders.map((o) => (
                <tr key={o.id} data-testid="order-row">
                  <th scope="row">
                    <Link href={`/app/orders/${o.id}`}>Order #{o.id}</Link>
                  </th>
                  <td>{dateTime(o.created_at)}</td>
                  <td class="num">{o.order_items.reduce((n, i) => n + i.quantity, 0)}</td>
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
        <Pagination
          label="Order pages"
          page={page}
          pageSize={ORDERS_PAGE_SIZE}
          total={data.total}
          hrefFor={(n) => `/app/orders?page=${n}`}
        />
      )}
    </section>
  );
}
