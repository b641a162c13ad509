// @vitest-environment happy-dom
// The cart page in a DOM, with the app's real session and API client over a
// fake fetch: a Checkout pressed while the stored session is still being
// restored (right after a page load) waits for it instead of taking the
// shopper for signed out.

import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { REFRESH_KEY } from '../src/lib/auth';
import { CART_KEY, type CartLine } from '../src/lib/cart';
import type { User } from '../src/lib/types';
import { deferred, json, jwt, refreshToken } from './helpers';

const USER: User = { id: 7, full_name: 'Ayu', email: 'ayu@example.com', role: 'customer', email_verified: true };
const LINES: CartLine[] = [
  { product_id: 1, name: 'Kopi', price: 25_000, stock: 50, quantity: 2 },
  { product_id: 2, name: 'Teh', price: 15_000, stock: 30, quantity: 1 },
];
const PAY_URL = 'https://pay.example/snap/41';

type Call = { method: string; url: string; authorization?: string };

describe('Cart page checkout while the session is being restored', () => {
  let calls: Call[];
  let me: User;
  let refresh: ReturnType<typeof deferred<Response>>;
  let assign: MockInstance<(url: string | URL) => void>;
  let container: HTMLElement;
  let signOut: () => Promise<void> = async () => {};

  beforeEach(() => {
    calls = [];
    me = USER;
    refresh = deferred<Response>();
    // A reload of /app/cart by a shopper with a stored session and a full cart.
    history.replaceState(null, '', '/app/cart');
    localStorage.clear();
    sessionStorage.clear();
    localStorage.setItem(REFRESH_KEY, refreshToken(1));
    localStorage.setItem(CART_KEY, JSON.stringify(LINES));
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        const method = init?.method ?? 'GET';
        const authorization = (init?.headers as Record<string, string> | undefined)?.authorization;
        calls.push({ method, url, authorization });
        if (url === '/refresh') return refresh.promise; // the slow restore
        if (url === '/me') return json(200, me);
        if (method === 'POST' && url === '/order') {
          return json(201, { order: { id: 41, user_id: 7, status: 'pending', total_price: 65_000, order_items: [] } });
        }
        if (method === 'POST' && url === '/payment/initiate') {
          return json(201, { payment_id: 1, gateway_token: 't', gateway_redirect_url: PAY_URL, status: 'pending', expired_at: '' });
        }
        if (url === '/logout') return new Response(null, { status: 204 });
        return json(404, { error: `unexpected ${method} ${url}` });
      }),
    );
    assign = vi.spyOn(window.location, 'assign').mockImplementation(() => {}); // the payment page
    container = document.createElement('div');
    document.body.append(container);
  });

  afterEach(async () => {
    render(null, container);
    container.remove();
    await signOut(); // clears the refresh timer
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  /** Loads the app's modules afresh (a page load), starts the restore as main.tsx does, renders the cart. */
  async function loadCart() {
    vi.resetModules();
    const { auth } = await import('../src/state');
    const { CartPage } = await import('../src/pages/Cart');
    signOut = () => auth.signOut();
    auth.init();
    await act(() => render(<CartPage />, container));
    const button = [...container.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Checkout')!;
    expect(button).toBeTruthy();
    return { auth, button, form: container.querySelector('form')! };
  }

  const orderPosts = () => calls.filter((c) => c.method === 'POST' && c.url === '/order');

  it('waits for the restore (busy button), then places the order for the signed-in shopper', async () => {
    const { button, form } = await loadCart();
    expect(button.disabled).toBe(false); // clickable at once: the click is not lost

    await act(() => button.click());
    await act(() => button.click()); // a double click while waiting orders once too

    // Busy while the session is unknown; not sent to sign in.
    expect(button.disabled).toBe(true);
    expect(form.getAttribute('aria-busy')).toBe('true');
    expect(container.textContent).toContain('Restoring your session…');
    expect(location.pathname).toBe('/app/cart');
    expect(orderPosts()).toHaveLength(0);

    const fresh = jwt(Math.floor(Date.now() / 1000) + 900);
    refresh.resolve(json(200, { token: fresh, refresh_token: refreshToken(2) }));

    await vi.waitFor(() => expect(assign).toHaveBeenCalledWith(PAY_URL));
    expect(location.pathname).toBe('/app/cart');
    expect(orderPosts()).toHaveLength(1);
    expect(orderPosts()[0].authorization).toBe(`Bearer ${fresh}`);
    expect(calls.map((c) => c.url)).toEqual(['/refresh', '/me', '/order', '/payment/initiate']);
    expect(JSON.parse(localStorage.getItem(CART_KEY) ?? '[]')).toEqual([]); // emptied after the order
  });

  it('sends a shopper whose stored session is refused to sign in, once the restore says so', async () => {
    const { auth, button } = await loadCart();
    await act(() => button.click());
    expect(button.disabled).toBe(true);
    expect(location.pathname).toBe('/app/cart');

    refresh.resolve(json(401, { error: 'Refresh token revoked' }));

    await vi.waitFor(() => expect(location.pathname).toBe('/app/login'));
    expect(location.search).toBe(`?next=${encodeURIComponent('/app/cart')}`);
    expect(auth.user).toBeNull();
    expect(orderPosts()).toHaveLength(0);
    expect(assign).not.toHaveBeenCalled();
  });

  it('drops the click when the shopper left the cart while the session was restoring', async () => {
    const { button } = await loadCart();
    await act(() => button.click());
    history.pushState(null, '', '/'); // e.g. the Products link
    refresh.resolve(json(200, { token: jwt(Math.floor(Date.now() / 1000) + 900), refresh_token: refreshToken(2) }));

    await vi.waitFor(() => expect(button.disabled).toBe(false));
    expect(location.pathname).toBe('/');
    expect(orderPosts()).toHaveLength(0);
  });

  it('asks for the receipt email when the restored user has none (the field shows only once the user is known)', async () => {
    me = { ...USER, email: null };
    const { button } = await loadCart();
    expect(container.querySelector('#receipt-email')).toBeNull();
    await act(() => button.click());
    refresh.resolve(json(200, { token: jwt(Math.floor(Date.now() / 1000) + 900), refresh_token: refreshToken(2) }));

    await vi.waitFor(() => expect(container.querySelector('[role="alert"]')?.textContent).toBe('Enter an email for the payment receipt.'));
    expect(container.querySelector('#receipt-email')).not.toBeNull();
    expect(button.disabled).toBe(false);
    expect(orderPosts()).toHaveLength(0);
  });
});
