// @vitest-environment happy-dom
// The back office's pages in a DOM, with the app's real session and API
// client over a fake fetch: the order detail's timeline and its refund
// (asks first, one POST with the bearer token, then reads the order until
// the payment is refunded), the orders filter (kept in the address, sent to
// the API), the role select (409 for your own account is shown and the
// select goes back), and an anomaly's action (POST to its path, then reload).

import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REFRESH_KEY } from '../src/lib/auth';
import type { AdminOrderDetail, AdminUser, Anomaly, User } from '../src/lib/types';
import { json, jwt, refreshToken } from './helpers';

const ADMIN: User = { id: 1, full_name: 'Boss', email: 'boss@example.com', role: 'admin', email_verified: true };
const POLL_MS = 1500; // AdminOrder's ADMIN_POLL_MS (checked below)

type Call = { method: string; url: string; authorization?: string; body?: string };
type Handler = (call: Call) => Response | Promise<Response> | undefined;

let calls: Call[];
let token: string;
let handler: Handler;
let container: HTMLElement;
let signOut: () => Promise<void> = async () => {};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  calls = [];
  handler = () => undefined;
  token = jwt(Math.floor(Date.now() / 1000) + 900, ADMIN.id);
  localStorage.clear();
  sessionStorage.clear();
  localStorage.setItem(REFRESH_KEY, refreshToken(1));
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      const authorization = (init?.headers as Record<string, string> | undefined)?.authorization;
      const call = { method, url, authorization, body: init?.body as string | undefined };
      calls.push(call);
      if (url === '/refresh') return json(200, { token, refresh_token: refreshToken(2) });
      if (url === '/me') return json(200, ADMIN);
      if (url === '/logout') return new Response(null, { status: 204 });
      const reply = await handler(call);
      return reply ?? json(404, { error: `unexpected ${method} ${url}` });
    }),
  );
  container = document.createElement('div');
  document.body.append(container);
});

afterEach(async () => {
  render(null, container);
  container.remove();
  await signOut();
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

/** Loads the app's modules afresh (a page load) and restores the session, as main.tsx does. */
async function boot(path: string) {
  history.replaceState(null, '', path);
  vi.resetModules();
  const { auth } = await import('../src/state');
  signOut = () => auth.signOut();
  auth.init();
  await auth.ready;
}

const loc = () => ({ path: location.pathname, query: new URLSearchParams(location.search), key: Math.random() });
const button = (name: string) => [...container.querySelectorAll('button')].find((b) => b.textContent?.trim() === name);
const alertText = () => container.querySelector('[role="alert"]')?.textContent?.trim();
const advance = (ms: number) =>
  act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });

describe('Admin order page', () => {
  const ORDER_ID = 42;
  let paymentStatus: 'paid' | 'refunded';
  let refund: 'none' | 'requested' | 'refunded';

  const detail = (): AdminOrderDetail => ({
    order: {
      id: ORDER_ID,
      user_id: 7,
      total_price: 50_000,
      status: 'paid',
      order_items: [{ id: 1, product_id: 1, quantity: 2, price: 25_000 }],
      created_at: '2025-01-01T00:00:00Z',
      updated_at: '2025-01-01T00:01:00Z',
    },
    payment: {
      id: 40,
      status: paymentStatus,
      amount: 50_000,
      gateway_order_id: 'order-42-1-aaaa',
      created_at: '2025-01-01T00:00:01Z',
      updated_at: '2025-01-01T00:01:00Z',
      attempts: [
        {
          attempt: 1,
          gateway_order_id: 'order-42-1-aaaa',
          token: 'valid',
          expires_at: '2025-01-02T00:00:01Z',
          transaction_status: paymentStatus === 'refunded' ? 'refund' : 'settlement',
          fraud_status: 'accept',
          payment_type: 'bank_transfer',
          refund,
          created_at: '2025-01-01T00:00:01Z',
        },
      ],
      notifications: [
        ...(paymentStatus === 'refunded'
          ? [{ id: 2, received_at: '2025-01-01T00:05:00Z', source: 'webhook' as const, verdict: 'applied' as const, confirmed_status: 'refund' }]
          : []),
        { id: 1, received_at: '2025-01-01T00:01:00Z', source: 'webhook', verdict: 'applied', confirmed_status: 'settlement' },
      ],
    },
    events: [
      {
        event_id: '00000000-0000-4000-8000-000000000001',
        type: 'order.created',
        created_at: '2025-01-01T00:00:00Z',
        relayed_at: '2025-01-01T00:00:00Z',
        consumed_at: '2025-01-01T00:00:01Z',
        publish_attempts: 1,
        relay_error: null,
      },
      {
        event_id: '00000000-0000-4000-8000-000000000002',
        type: 'payment.updated',
        created_at: '2025-01-01T00:01:00Z',
        relayed_at: '2025-01-01T00:01:00Z',
        consumed_at: null,
        publish_attempts: 1,
        relay_error: null,
      },
    ],
  });

  beforeEach(() => {
    paymentStatus = 'paid';
    refund = 'none';
    handler = ({ method, url }) => {
      if (method === 'GET' && url === `/admin/orders/${ORDER_ID}`) return json(200, detail());
      if (method === 'GET' && url === '/product/1') {
        return json(200, { product: { id: 1, name: 'Kopi', description: '', price: 25_000, stock: 10, created_at: '', updated_at: '' } });
      }
      if (method === 'POST' && url === '/admin/payments/40/refund') {
        refund = 'requested';
        return json(202, { payment_id: 40, status: 'paid', refund: 'requested' });
      }
      return undefined;
    };
  });

  async function open() {
    await boot(`/app/admin/orders/${ORDER_ID}`);
    const page = await import('../src/pages/AdminOrder');
    expect(page.ADMIN_POLL_MS).toBe(POLL_MS);
    await act(() => render(<page.AdminOrderPage id={ORDER_ID} />, container));
    await vi.waitFor(() => expect(container.querySelector('[data-testid="payment-status"]')?.textContent).toBe('paid'));
  }

  const gets = () => calls.filter((c) => c.method === 'GET' && c.url === `/admin/orders/${ORDER_ID}`);
  const refunds = () => calls.filter((c) => c.method === 'POST' && c.url === '/admin/payments/40/refund');
  const entries = () =>
    [...container.querySelectorAll<HTMLElement>('[data-testid="timeline-entry"]')].map((li) => ({
      kind: li.dataset.kind,
      verdict: li.dataset.verdict,
      type: li.dataset.eventType,
      state: li.dataset.eventState,
    }));

  it('shows the order, its items and a timeline merged by time', async () => {
    await open();
    expect(container.querySelector('h1')?.textContent).toBe(`Order #${ORDER_ID}`);
    expect(container.querySelector('[data-testid="admin-order-status"]')?.textContent).toBe('paid');
    await vi.waitFor(() => expect(container.querySelector('table.items')?.textContent).toContain('Kopi'));
    expect(entries()).toEqual([
      { kind: 'order', verdict: undefined, type: undefined, state: undefined },
      { kind: 'event', verdict: undefined, type: 'order.created', state: 'consumed' },
      { kind: 'attempt', verdict: undefined, type: undefined, state: undefined },
      { kind: 'notification', verdict: 'applied', type: undefined, state: undefined },
      { kind: 'event', verdict: undefined, type: 'payment.updated', state: 'relayed' },
    ]);
    expect(gets()[0].authorization).toBe(`Bearer ${token}`);
    // A paid order: no cancel; its payment can be refunded.
    expect(button('Cancel order')).toBeUndefined();
    expect(button('Refund payment')).toBeDefined();
  });

  it('refunds after a confirmation, then reads the order until the payment is refunded', async () => {
    await open();
    await act(() => button('Refund payment')!.click());
    expect(refunds()).toHaveLength(0);
    expect(container.textContent).toContain('Refund Rp');
    const yes = button('Yes, refund payment')!;
    await act(() => yes.click());
    await act(() => yes.click()); // a double click sends once
    await vi.waitFor(() => expect(refunds()).toHaveLength(1));
    expect(refunds()[0].authorization).toBe(`Bearer ${token}`);
    await vi.waitFor(() => expect(container.textContent).toContain('Midtrans accepted the refund of payment #40'));
    // Requested, not refunded yet: no second refund offered; the page polls.
    await vi.waitFor(() => expect(container.querySelector('[data-testid="attempt-row"]')?.getAttribute('data-refund')).toBe('requested'));
    expect(button('Refund payment')).toBeUndefined();
    const seen = gets().length;
    await advance(POLL_MS);
    await vi.waitFor(() => expect(gets().length).toBe(seen + 1));
    expect(container.querySelector('[data-testid="payment-status"]')?.textContent).toBe('paid');

    // Midtrans's refund notification arrived: the next read shows it, and the polling stops.
    paymentStatus = 'refunded';
    refund = 'refunded';
    await advance(POLL_MS);
    await vi.waitFor(() => expect(container.querySelector('[data-testid="payment-status"]')?.textContent).toBe('refunded'));
    expect(entries().filter((e) => e.kind === 'notification')).toHaveLength(2);
    const after = gets().length;
    await advance(POLL_MS * 5);
    await advance(100); // a poll's read would have been sent by now
    expect(gets().length).toBe(after);
    expect(refunds()).toHaveLength(1);
  });

  it("shows the API's message when the refund is refused", async () => {
    handler = ((base) => (call: Call) => {
      if (call.method === 'POST' && call.url === '/admin/payments/40/refund') return json(502, { error: 'Midtrans refused the refund' });
      return base(call);
    })(handler);
    await open();
    await act(() => button('Refund payment')!.click());
    await act(() => button('Yes, refund payment')!.click());
    await vi.waitFor(() => expect(alertText()).toBe('Midtrans refused the refund'));
    expect(button('Refund payment')?.disabled).toBe(false);
  });
});

describe('Admin orders page', () => {
  it('sends the filters of the address and keeps new ones in it; has_more gives a next page', async () => {
    const summary = { id: 5, user_id: 7, total_price: 25_000, status: 'paid', created_at: '2025-01-01T00:00:00Z', updated_at: '2025-01-01T00:00:00Z' };
    handler = ({ method, url }) => {
      if (method === 'GET' && url.startsWith('/admin/orders?')) {
        return json(200, { orders: [summary], page: 1, page_size: 20, has_more: true });
      }
      return undefined;
    };
    await boot('/app/admin/orders?user_id=7');
    const { AdminOrdersPage } = await import('../src/pages/AdminOrders');
    await act(() => render(<AdminOrdersPage loc={loc()} />, container));
    await vi.waitFor(() => expect(container.querySelectorAll('[data-testid="admin-order-row"]')).toHaveLength(1));
    expect(calls.find((c) => c.url.startsWith('/admin/orders?'))?.url).toBe('/admin/orders?page=1&page_size=20&user_id=7');
    expect(container.querySelector('a[rel="next"]')?.getAttribute('href')).toBe('/app/admin/orders?user_id=7&page=2');
    expect(container.querySelector('a[href="/app/admin/orders/5"]')?.textContent).toBe('Order #5');

    const select = container.querySelector<HTMLSelectElement>('#filter-status')!;
    await act(() => {
      select.value = 'paid';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await act(() => button('Apply filters')!.click());
    expect(location.pathname + location.search).toBe('/app/admin/orders?status=paid&user_id=7');

    // A "from" after "to" is explained, not sent.
    const from = container.querySelector<HTMLInputElement>('#filter-from')!;
    const to = container.querySelector<HTMLInputElement>('#filter-to')!;
    await act(() => {
      from.value = '2025-02-01';
      from.dispatchEvent(new Event('input', { bubbles: true }));
      to.value = '2025-01-01';
      to.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await act(() => button('Apply filters')!.click());
    expect(alertText()).toMatch(/must not be after/);
    expect(location.search).toBe('?status=paid&user_id=7');
  });
});

describe('Admin users page', () => {
  const users: AdminUser[] = [
    { id: 7, full_name: 'Ayu', email: 'ayu@example.com', role: 'customer', email_verified: true, created_at: '2025-01-02T00:00:00Z' },
    { id: 1, full_name: 'Boss', email: 'boss@example.com', role: 'admin', email_verified: true, created_at: '2025-01-01T00:00:00Z' },
  ];

  it('searches by email prefix, sets a role, and shows the 409 of your own account with the select back', async () => {
    handler = ({ method, url, body }) => {
      if (method === 'GET' && url.startsWith('/admin/users?')) return json(200, { users, page: 1, page_size: 20, has_more: false });
      if (method === 'PUT' && url === '/admin/users/1/role') return json(409, { error: 'An administrator cannot change their own role' });
      if (method === 'PUT' && url === '/admin/users/7/role') {
        return json(200, { user: { ...users[0], role: JSON.parse(body!).role } });
      }
      return undefined;
    };
    await boot('/app/admin/users?email=AYU');
    const { AdminUsersPage } = await import('../src/pages/AdminUsers');
    await act(() => render(<AdminUsersPage loc={loc()} />, container));
    await vi.waitFor(() => expect(container.querySelectorAll('[data-testid="user-row"]')).toHaveLength(2));
    expect(calls.find((c) => c.url.startsWith('/admin/users?'))?.url).toBe('/admin/users?email=AYU&page=1&page_size=20');
    expect(container.querySelector('[data-user-id="1"]')?.textContent).toContain('(you)');

    const roleOf = (email: string) => container.querySelector<HTMLSelectElement>(`select[aria-label="Role of ${email}"]`)!;
    // Your own account: the API refuses (409), the message shows, the select goes back.
    await act(() => {
      roleOf('boss@example.com').value = 'customer';
      roleOf('boss@example.com').dispatchEvent(new Event('change', { bubbles: true }));
    });
    await vi.waitFor(() => expect(alertText()).toBe('An administrator cannot change their own role'));
    expect(roleOf('boss@example.com').value).toBe('admin');

    // Another account: PUT {"role": "admin"} with the token.
    await act(() => {
      roleOf('ayu@example.com').value = 'admin';
      roleOf('ayu@example.com').dispatchEvent(new Event('change', { bubbles: true }));
    });
    await vi.waitFor(() => expect(container.textContent).toContain('is now an administrator'));
    const put = calls.find((c) => c.method === 'PUT' && c.url === '/admin/users/7/role')!;
    expect(JSON.parse(put.body!)).toEqual({ role: 'admin' });
    expect(put.authorization).toBe(`Bearer ${token}`);
    expect(alertText()).toBeUndefined();
  });
});

describe('Admin anomalies page', () => {
  it("runs an anomaly's action (POST to its path) and reads the list again; shows the detail of one without", async () => {
    const owed: Anomaly = {
      kind: 'refund_owed',
      order_id: 38,
      payment_id: 7,
      event_id: null,
      since: '2025-01-01T00:00:00Z',
      detail: 'Midtrans has not accepted the refund yet.',
      action: { label: 'Ask Midtrans for the refund again', method: 'POST', path: '/admin/payments/7/refund' },
    };
    const refused: Anomaly = {
      kind: 'refund_refused',
      order_id: 39,
      payment_id: 8,
      event_id: null,
      since: '2025-01-01T00:00:00Z',
      detail: 'Midtrans refused the refund: return it from the Midtrans dashboard.',
      action: null,
    };
    let fixed = false;
    handler = ({ method, url }) => {
      if (method === 'GET' && url === '/admin/anomalies') return json(200, { anomalies: fixed ? [refused] : [owed, refused] });
      if (method === 'POST' && url === '/admin/payments/7/refund') {
        fixed = true;
        return json(202, { payment_id: 7, status: 'expired', refund: 'requested' });
      }
      return undefined;
    };
    await boot('/app/admin/anomalies');
    const { AdminAnomaliesPage } = await import('../src/pages/AdminAnomalies');
    await act(() => render(<AdminAnomaliesPage />, container));
    await vi.waitFor(() => expect(container.querySelectorAll('[data-testid="anomaly-row"]')).toHaveLength(2));
    const rows = [...container.querySelectorAll('[data-testid="anomaly-row"]')];
    expect(rows[1].querySelector('button')).toBeNull();
    expect(rows[1].textContent).toContain('return it from the Midtrans dashboard');
    expect(rows[0].querySelector('a')?.getAttribute('href')).toBe('/app/admin/orders/38');

    await act(() => container.querySelector<HTMLButtonElement>('[data-testid="anomaly-action"]')!.click());
    await vi.waitFor(() => expect(container.querySelectorAll('[data-testid="anomaly-row"]')).toHaveLength(1));
    const post = calls.find((c) => c.method === 'POST' && c.url.startsWith('/admin/'))!;
    expect(post.url).toBe('/admin/payments/7/refund');
    expect(post.body).toBeUndefined();
    expect(post.authorization).toBe(`Bearer ${token}`);
    expect(container.textContent).toContain('Done: Ask Midtrans for the refund again (order #38).');
  });
});
