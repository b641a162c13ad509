import { describe, expect, it, vi } from 'vitest';
import { CHECKOUT_KEY, fingerprint, forgetIdempotencyKey, idempotencyKey, initiateWithRetry } from '../src/lib/checkout';
import { ApiError } from '../src/lib/errors';
import { MemoryStorage } from './helpers';

const items = [
  { product_id: 2, quantity: 1 },
  { product_id: 1, quantity: 3 },
];

describe('Idempotency-Key per checkout attempt', () => {
  it('keeps one key for the same cart until the order succeeds', () => {
    const storage = new MemoryStorage();
    let n = 0;
    const make = () => `key-${++n}`;
    const first = idempotencyKey(storage, items, make);
    expect(idempotencyKey(storage, [...items].reverse(), make)).toBe(first); // a second click, a reload
    forgetIdempotencyKey(storage);
    expect(storage.getItem(CHECKOUT_KEY)).toBeNull();
    expect(idempotencyKey(storage, items, make)).not.toBe(first);
  });

  it('uses a new key when the cart changed (the API refuses a key reused with other items)', () => {
    const storage = new MemoryStorage();
    const a = idempotencyKey(storage, items);
    const b = idempotencyKey(storage, [{ product_id: 1, quantity: 4 }, { product_id: 2, quantity: 1 }]);
    expect(b).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f-]{32,36}$/);
  });

  it('fingerprints independently of line order', () => {
    expect(fingerprint(items)).toBe('1x3,2x1');
  });
});

describe('initiateWithRetry', () => {
  const body = { order_id: 9, customer_name: 'Ayu', customer_email: 'ayu@example.com' };
  const ok = { payment_id: 1, gateway_token: 't', gateway_redirect_url: 'http://sandbox/pay', status: 'pending' as const, expired_at: '' };

  it('retries while the payment is not there yet (404, 409)', async () => {
    const initiate = vi
      .fn()
      .mockRejectedValueOnce(new ApiError(404, 'Payment not found'))
      .mockRejectedValueOnce(new ApiError(409, 'Order is not payable'))
      .mockResolvedValueOnce(ok);
    const sleep = vi.fn(async () => {});
    const onRetry = vi.fn();
    expect(await initiateWithRetry(initiate, body, { sleep, onRetry })).toEqual(ok);
    expect(initiate).toHaveBeenCalledTimes(3);
    expect(initiate).toHaveBeenCalledWith(body);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it('gives up after the last attempt with the API error', async () => {
    const initiate = vi.fn().mockRejectedValue(new ApiError(409, 'Order is not payable'));
    await expect(initiateWithRetry(initiate, body, { attempts: 3, sleep: async () => {} })).rejects.toThrow('Order is not payable');
    expect(initiate).toHaveBeenCalledTimes(3);
  });

  it('does not retry other errors', async () => {
    const initiate = vi.fn().mockRejectedValue(new ApiError(503, 'Midtrans is unavailable'));
    await expect(initiateWithRetry(initiate, body, { sleep: async () => {} })).rejects.toThrow('Midtrans is unavailable');
    expect(initiate).toHaveBeenCalledTimes(1);
  });
});
