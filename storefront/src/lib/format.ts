import type { PaymentStatus } from './types';

const idr = new Intl.NumberFormat('id-ID', { style: 'currency', currency: 'IDR', maximumFractionDigits: 0 });

/** Whole rupiah, e.g. "Rp 25.000". */
export function rupiah(amount: number): string {
  return idr.format(amount).replace(/\u00a0/g, ' ');
}

export function dateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Labels of order and payment statuses. */
export const STATUS_TEXT: Record<PaymentStatus, string> = {
  pending: 'Pending payment',
  paid: 'Paid',
  failed: 'Payment failed',
  expired: 'Payment expired',
  cancelled: 'Cancelled',
  refunded: 'Refunded',
};
