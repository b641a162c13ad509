// Checkout: one Idempotency-Key per checkout attempt, kept (in session
// storage) until the order succeeds, so a double click, a retry after a
// timeout or a reload mid-request orders once. A changed cart is another
// attempt with another key (the API answers 422 to a key reused with other
// items). Then the payment is initiated, retrying while the saga has not
// yet created the payment row.

import type { KeyValueStore } from './auth';
import { ApiError } from './errors';
import type { Initiated, InitiateRequest, OrderLineInput } from './types';

export const CHECKOUT_KEY = 'storefront.checkout.v1';

export function fingerprint(items: OrderLineInput[]): string {
  return [...items]
    .sort((a, b) => a.product_id - b.product_id)
    .map((i) => `${i.product_id}x${i.quantity}`)
    .join(',');
}

function randomKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The key of this cart's checkout attempt: the stored one if the cart is the same. */
export function idempotencyKey(storage: KeyValueStore, items: OrderLineInput[], makeKey = randomKey): string {
  const fp = fingerprint(items);
  try {
    const saved = JSON.parse(storage.getItem(CHECKOUT_KEY) ?? 'null') as { fp?: string; key?: string } | null;
    if (saved && saved.fp === fp && typeof saved.key === 'string' && saved.key) return saved.key;
  } catch {
    // Unreadable: start a new attempt.
  }
  const key = makeKey();
  try {
    storage.setItem(CHECKOUT_KEY, JSON.stringify({ fp, key }));
  } catch {
    // Without storage the key still covers this page's clicks.
  }
  return key;
}

/** The order succeeded: the next checkout is a new attempt. */
export function forgetIdempotencyKey(storage: KeyValueStore): void {
  try {
    storage.removeItem(CHECKOUT_KEY);
  } catch {
    // Nothing to forget.
  }
}

export interface RetryOptions {
  attempts?: number;
  delayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (attempt: number, error: ApiError) => void;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * POST /payment/initiate, retried while the payment is not there yet: the
 * saga creates it a moment after the order (404, or 409 before it is
 * payable). Other errors are final at once.
 */
export async function initiateWithRetry(
  initiate: (body: InitiateRequest) => Promise<Initiated>,
  body: InitiateRequest,
  { attempts = 8, delayMs = 1000, sleep = sleepMs, onRetry }: RetryOptions = {},
): Promise<Initiated> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await initiate(body);
    } catch (error) {
      const retryable = error instanceof ApiError && (error.status === 404 || error.status === 409);
      if (!retryable || attempt >= attempts) throw error;
      onRetry?.(attempt, error);
      await sleep(delayMs);
    }
  }
}
