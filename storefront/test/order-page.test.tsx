// @vitest-environment happy-dom
// The order page in a DOM, with the app's real session and API client over a
// fake fetch: "Cancel order" on a pending order asks first, sends one
// POST /order/{id}/cancel with the bearer token, shows the order cancelled
// at once (the order itself follows through the saga, picked up by the
// poll), and shows the API's message when the cancel is refused.

import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REFRESH_KEY } from '../src/lib/auth';
import type { OrderStatus, User } from '../src/lib/types';
import { deferred, json, jwt, refreshToken } from './helpers';

const USER: User = { id: 7, full_name: 'Ayu', email: 'ayu@example.com', role: 'customer', email_verified: true };
const ORDER_ID = 41;
const POLL_MS = 1500; // the page's POLL_MS (checked below)

type Call = { method: string; url: string; authorization?: string };

describe('Order page: cancelling a pending order', () => {
  let calls: Call[];
  let token: string;
  /** The order's own status on the server (the saga changes it after a cancel). */
  let serverStatus: OrderStatus;
  /** Answers to POST /order/{id}/cancel, in turn. */
  let cancelReplies: Array<Promise<Response>>;
  let container: HTMLElement;
  let signOut: () => Promise<void> = async () => {};

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    calls = [];
    serverStatus = 'pending';
    cancelReplies = [];
    token = jwt(Math.floor(Date.now() / 1000) + 900);
    history.replaceState(null, '', `/app/orders/${ORDER_ID}`);
    localStorage.clear();
    sessionStorage.clear();
    localStorage.setItem(REFRESH_KEY, refreshToken(1));
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        const method = init?.method ?? 'GET';
        const authorization = (init?.headers as Record<string, string> | undefined)?.authorization;
        calls.push({ method, url, authorization });
        if (url === '/refresh') return json(200, { token, refresh_token: refreshToken(2) });
        if (url === '/me') return json(200, USER);
        if (method === 'GET' && url === `/order/${ORDER_ID}`) {
          return json(200, {
            order: {
              id: ORDER_ID,
              user_id: 7,
              total_price: 50_000,
              status: serverStatus,
              order_items: [{ id: 1, product_id: 1, quantity: 2, price: 25_000 }],
              created_at: '2025-01-01T00:00:00Z',
              updated_at: '2025-01-01T00:00:00Z',
            },
          });
        }
        if (method === 'GET' && url === '/product/1') {
          return json(200, { product: { id: 1, name: 'Kopi', description: '', price: 25_000, stock: 10, created_at: '', updated_at: '' } });
        }
        if (method === 'POST' && url === `/order/${ORDER_ID}/cancel`) {
          const reply = cancelReplies.shift();
          if (reply) return reply;
        }
        if (url === '/logout') return new Response(null, { status: 204 });
        return json(404, { error: `unexpected ${method} ${url}` });
      }),
    );
    container = document.createElement('div');
    document.body.append(container);
  });

  afterEach(async () => {
    render(null, container); // stops the poll
    container.remove();
    await signOut(); // clears the refresh timer
    vi.useRealTimers();
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  /** Loads the app's modules afresh (a page load), restores the session as main.tsx does, renders the order. */
  async function loadOrder() {
    vi.resetModules();
    const { auth } = await import('../src/state');
    const page = await import('../src/pages/Order');
    expect(page.POLL_MS).toBe(POLL_MS);
    signOut = () => auth.signOut();
    auth.init();
    const loc = { path: location.pathname, query: new URLSearchParams(), key: 1 };
    await act(() => render(<page.OrderPage id={ORDER_ID} loc={loc} />, container));
    await vi.waitFor(() => expect(shownStatus()).toBe('pending'));
  }

  const shownStatus = () => container.querySelector('[data-testid="order-status"]')?.textContent?.trim();
  const button = (name: string) => [...container.querySelectorAll('button')].find((b) => b.textContent?.trim() === name);
  const alertText = () => container.querySelector('[role="alert"]')?.textContent?.trim();
  const cancelPosts = () => calls.filter((c) => c.method === 'POST' && c.url === `/order/${ORDER_ID}/cancel`);
  const orderGets = () => calls.filter((c) => c.method === 'GET' && c.url === `/order/${ORDER_ID}`);

  /** Lets `ms` of (fake) time pass: the poll, the 429 countdown. */
  const advance = (ms: number) =>
    act(async () => {
      await vi.advanceTimersByTimeAsync(ms);
    });

  /** Cancel order, then the confirmation. */
  async function cancelAndConfirm() {
    await act(() => button('Cancel order')!.click());
    await act(() => button('Yes, cancel order')!.click());
  }

  it('asks first, sends one cancel with the bearer token, shows cancelled at once and polls until the order is', async () => {
    const reply = deferred<Response>();
    cancelReplies.push(reply.promise);
    await loadOrder();
    expect(button('Pay now')?.disabled).toBe(false);

    // The first click only asks; the focus moves to the safe answer.
    await act(() => button('Cancel order')!.click());
    expect(container.textContent).toContain('Cancel this order?');
    expect(document.activeElement).toBe(button('Keep order'));
    expect(cancelPosts()).toHaveLength(0);

    // Confirmed, double-clicked: one request, everything disabled while it is in flight.
    const yes = button('Yes, cancel order')!;
    await act(() => yes.click());
    await act(() => yes.click());
    expect(cancelPosts()).toHaveLength(1);
    expect(cancelPosts()[0].authorization).toBe(`Bearer ${token}`);
    expect(yes.disabled).toBe(true);
    expect(button('Pay now')?.disabled).toBe(true);
    expect(button('Keep order')?.disabled).toBe(true);
    expect(container.querySelector('form')?.getAttribute('aria-busy')).toBe('true');

    reply.resolve(json(200, { order_id: ORDER_ID, status: 'cancelled' }));
    await vi.waitFor(() => expect(shownStatus()).toBe('cancelled'));
    expect(container.querySelector('[data-testid="order-status"]')?.getAttribute('data-status')).toBe('cancelled');
    expect(container.textContent).toContain('This order was cancelled.');
    expect(button('Pay now')).toBeUndefined();
    expect(button('Cancel order')).toBeUndefined();
    expect(alertText()).toBeUndefined();

    // The saga has not run yet: the order still reads pending, the page keeps showing the cancel.
    const seen = orderGets().length;
    await advance(POLL_MS);
    expect(orderGets()).toHaveLength(seen + 1);
    expect(shownStatus()).toBe('cancelled');
    expect(button('Pay now')).toBeUndefined();

    // The saga ran: the next poll reads the order cancelled, and polling stops.
    serverStatus = 'cancelled';
    await advance(POLL_MS);
    expect(orderGets()).toHaveLength(seen + 2);
    expect(shownStatus()).toBe('cancelled');
    await advance(POLL_MS * 10);
    expect(orderGets()).toHaveLength(seen + 2);
    expect(cancelPosts()).toHaveLength(1);
  });

  it('"Keep order" goes back without a request', async () => {
    await loadOrder();
    await act(() => button('Cancel order')!.click());
    await act(() => button('Keep order')!.click());
    expect(container.textContent).not.toContain('Cancel this order?');
    expect(document.activeElement).toBe(button('Cancel order'));
    expect(button('Cancel order')?.disabled).toBe(false);
    expect(cancelPosts()).toHaveLength(0);
    expect(shownStatus()).toBe('pending');
  });

  it('shows the API message on 409 and keeps the button usable', async () => {
    const message = 'Only a pending order can be cancelled: this one is paid.';
    cancelReplies.push(Promise.resolve(json(409, { error: message })));
    await loadOrder();

    await cancelAndConfirm();
    await vi.waitFor(() => expect(alertText()).toBe(message));
    expect(shownStatus()).toBe('pending');
    const again = button('Cancel order')!;
    expect(again.disabled).toBe(false);
    expect(document.activeElement).toBe(again);
    expect(button('Pay now')?.disabled).toBe(false);

    // Usable: another try asks again and sends again.
    cancelReplies.push(Promise.resolve(json(200, { order_id: ORDER_ID, status: 'cancelled' })));
    await cancelAndConfirm();
    await vi.waitFor(() => expect(shownStatus()).toBe('cancelled'));
    expect(cancelPosts()).toHaveLength(2);
    expect(alertText()).toBeUndefined();
  });

  it('shows the API message on 503 (the payment provider is down)', async () => {
    const message = 'The payment provider is unavailable. Please try again.';
    cancelReplies.push(Promise.resolve(json(503, { error: message })));
    await loadOrder();

    await cancelAndConfirm();
    await vi.waitFor(() => expect(alertText()).toBe(message));
    expect(shownStatus()).toBe('pending');
    expect(button('Cancel order')?.disabled).toBe(false);
  });

  it('on 429 shows the API message and waits Retry-After before another try', async () => {
    cancelReplies.push(Promise.resolve(json(429, { error: 'Too many requests.' }, { 'retry-after': '3' })));
    await loadOrder();

    await cancelAndConfirm();
    await vi.waitFor(() => expect(alertText()).toBe('Too many requests. Please wait 3 seconds before trying again.'));
    expect(button('Cancel order')?.disabled).toBe(true);
    expect(container.textContent).toContain('You can try again in 3 s.');

    await advance(3_000);
    expect(button('Cancel order')?.disabled).toBe(false);
    expect(shownStatus()).toBe('pending');
    expect(cancelPosts()).toHaveLength(1);
  });
});
