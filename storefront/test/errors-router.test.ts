import { describe, expect, it } from 'vitest';
import { createClient } from '../src/lib/api';
import { ApiError, describeError, errorFromResponse, parseRetryAfter, waitSeconds } from '../src/lib/errors';
import { newPasswordProblem, takeLinkToken } from '../src/lib/account';
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

  it('a 503 with Retry-After (a fail-closed limiter) says how long to wait too; one without does not', async () => {
    const e = await errorFromResponse(json(503, { error: 'Service unavailable' }, { 'retry-after': '5' }));
    expect(waitSeconds(e)).toBe(5);
    expect(describeError(e)).toBe('Service unavailable Please wait 5 seconds before trying again.');
    const plain = await errorFromResponse(json(503, { error: 'Midtrans is unavailable' }));
    expect(waitSeconds(plain)).toBeNull();
    expect(describeError(plain)).toBe('Midtrans is unavailable');
    expect(waitSeconds(new ApiError(429, 'x'))).toBe(1);
    expect(waitSeconds(new ApiError(400, 'x', 9))).toBeNull();
    expect(waitSeconds(null)).toBeNull();
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

describe('account links', () => {
  function fakeLocation(href: string) {
    const url = new URL(href);
    const replaced: string[] = [];
    const loc = { hash: url.hash, pathname: url.pathname, search: url.search } as Location;
    const hist = { state: { kept: 1 }, replaceState: (_s: unknown, _t: string, to: string) => void replaced.push(to) } as unknown as History;
    return { loc, hist, replaced };
  }

  it('takes the token from the fragment and replaces the address without it (the query stays)', () => {
    const { loc, hist, replaced } = fakeLocation('https://shop.example/app/reset-password?x=1#token=abc_DEF-123');
    expect(takeLinkToken(loc, hist)).toBe('abc_DEF-123');
    expect(replaced).toEqual(['/app/reset-password?x=1']);
  });

  it('clears any fragment; no token, an empty one or none at all is null', () => {
    let f = fakeLocation('https://shop.example/app/verify-email#other=1');
    expect(takeLinkToken(f.loc, f.hist)).toBeNull();
    expect(f.replaced).toEqual(['/app/verify-email']);
    f = fakeLocation('https://shop.example/app/verify-email#token=');
    expect(takeLinkToken(f.loc, f.hist)).toBeNull();
    f = fakeLocation('https://shop.example/app/verify-email');
    expect(takeLinkToken(f.loc, f.hist)).toBeNull();
    expect(f.replaced).toEqual([]);
  });

  it('a new password typed twice must match', () => {
    expect(newPasswordProblem('correct horse', 'correct horse')).toBeNull();
    expect(newPasswordProblem('correct horse', 'correct horse ')).toMatch(/not the same/);
  });
});

describe('account API calls', () => {
  it('send the contract bodies, with the bearer token only where the contract says', async () => {
    const seen: Array<{ url: string; method?: string; body: unknown; authorization?: string }> = [];
    const api = createClient({
      fetch: async (url, init) => {
        const headers = init?.headers as Record<string, string>;
        seen.push({ url, method: init?.method, body: init?.body ? JSON.parse(String(init.body)) : undefined, authorization: headers.authorization });
        if (url === '/me/password') return json(200, { token: 't2', refresh_token: 'r2' });
        if (url === '/verify-email/resend' || url === '/password/forgot') return json(202, { message: 'ok' });
        return new Response(null, { status: 204 });
      },
      auth: { getToken: async () => 'tok', recover: async () => null },
    });
    expect(await api.verifyEmail({ token: 'T' })).toBeUndefined();
    expect(await api.resendVerification()).toEqual({ message: 'ok' });
    expect(await api.forgotPassword({ email: 'a@b.example' })).toEqual({ message: 'ok' });
    expect(await api.resetPassword({ token: 'T', password: 'pw-123456' })).toBeUndefined();
    expect(await api.changePassword({ current_password: 'old', new_password: 'new-123456' })).toEqual({ token: 't2', refresh_token: 'r2' });
    expect(seen).toEqual([
      { url: '/verify-email', method: 'POST', body: { token: 'T' }, authorization: undefined },
      { url: '/verify-email/resend', method: 'POST', body: undefined, authorization: 'Bearer tok' },
      { url: '/password/forgot', method: 'POST', body: { email: 'a@b.example' }, authorization: undefined },
      { url: '/password/reset', method: 'POST', body: { token: 'T', password: 'pw-123456' }, authorization: undefined },
      { url: '/me/password', method: 'PUT', body: { current_password: 'old', new_password: 'new-123456' }, authorization: 'Bearer tok' },
    ]);
  });
});
