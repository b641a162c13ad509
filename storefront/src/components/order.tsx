import { rupiah } from '../lib/format';
import type { Order } from '../lib/types';
import { Link } from './ui';

/** An order's lines with their subtotals and the total: the customer's order page and the back office's show the same table. */
export function OrderItemsTable({ order, names }: { order: Order; names: Record<number, string> }) {
  return (
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
  );
}
