import { describe, expect, it } from 'vitest';
import { createClient } from '../src/lib/api';
import { ApiError, describeError, errorFromResponse, parseRetryAfter } from '../src/lib/errors';
import { matchPath, safeNext } from '../src/lib/router';
import { json } from './helpers';

describe('API errors', () => {
  it("shows the API's own message", async () => {
    const e = await errorFromResponse(json(409, { error: 'Not enough stock for Kopi' }));
    expect(e.status).toBe(409);
    expect(describeError(e)).toBe('Not enough stock for Kopi');
  });

  it('falls back to a readable message for bodies that are not the contract', async () => {
    const e = await errorFromResponse(new Response('<html>Bad gateway</html>', { status: 502 }));
    expect(e.message).toMatch(/unavailable/);
    expect((await errorFromResponse(new Response(null, { status: 404 }))).message).toBe('Not found.');
  });

  it('tells the user how long to wait on 429', async () => {
    const e = await errorFromResponse(json(429, { error: 'Rate limit exceeded. Please try again later.' }, { 'retry-after': '3' }));
    expect(e.retryAfter).toBe(3);
    expect(describeError(e)).toBe('Rate limit exceeded. Please try again later. Please wait 3 seconds before trying again.');
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 0)).toBe(10);
    expect(parseRetryAfter('soon')).toBeNull();
  });

  it('turns a network failure into a message', async () => {
    const api = createClient({
      fetch: async () => {
        throw new TypeError('Failed to fetch');
      },
      auth: { getToken: async () => null, recover: async () => null },
    });
    const error = await api.listProducts(1, 12).catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(0);
    expect(describeError(error)).toMatch(/Could not reach the server/);
  });

  it('sends the Idempotency-Key and JSON body of an order', async () => {
    let seen: RequestInit | undefined;
    const api = createClient({
      fetch: async (_url, init) => {
        seen = init;
        return json(201, { order: { id: 1 } });
      },
      auth: { getToken: async () => 'tok', recover: async () => null },
    });
    await api.createOrder([{ product_id: 1, quantity: 2 }], 'k-1');
    const headers = seen!.headers as Record<string, string>;
    expect(headers['idempotency-key']).toBe('k-1');
    expect(headers.authorization).toBe('Bearer tok');
    expect(JSON.parse(String(seen!.body))).toEqual({ items: [{ product_id: 1, quantity: 2 }] });
  });
});

describe('router', () => {
  it('matches app routes with params', () => {
    expect(matchPath('/app/products/:id', '/app/products/12')).toEqual({ id: '12' });
    expect(matchPath('/app/oauth/:provider/callback', '/app/oauth/github/callback')).toEqual({ provider: 'github' });
    expect(matchPath('/app/orders', '/app/orders/')).toEqual({});
    expect(matchPath('/app/orders/:id', '/app/orders')).toBeNull();
    expect(matchPath('/app/cart', '/app/carts')).toBeNull();
  });

  it('only follows same-app paths after sign-in', () => {
    expect(safeNext('/app/cart')).toBe('/app/cart');
    expect(safeNext('//evil.example')).toBe('/');
    expect(safeNext('https://evil.example')).toBe('/');
    expect(safeNext(null)).toBe('/');
  });
});
