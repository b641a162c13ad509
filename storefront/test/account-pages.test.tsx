// @vitest-environment happy-dom
// The account pages of docs/decisions/0005 (issue 23) in a DOM: the whole
// app (routes, header, banner) with its real session and API client over a
// fake fetch. A mailed link's token is read from the address's fragment and
// gone from the address bar before it is POSTed, and never logged; the
// forgot page shows only the API's neutral message; a reset ends at "sign
// in"; a password change stores the new session like a sign-in; the banner
// asks an unverified user to verify and resends the link.

import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { REFRESH_KEY } from '../src/lib/auth';
import type { User } from '../src/lib/types';
import { json, jwt, refreshToken } from './helpers';

const TOKEN = 'q7Zr0vY3bX9kL2mN8pQ4sT6uV1wA5cE0gI3jK7oR2tU'; // 43 characters of base64url
const INVALID_LINK = 'This link is invalid, expired or already used';
const NEUTRAL = 'If an account uses this address, a reset link is on its way';
const UNVERIFIED: User = { id: 7, full_name: 'Ayu', email: 'ayu@example.com', role: 'customer', email_verified: false };

type Call = { method: string; url: string; body?: unknown; authorization?: string; href: string };
type Reply = Response | Promise<Response>;

describe('account pages', () => {
  let calls: Call[];
  /** The API's answers by `METHOD path`, each used once (the last one stays). */
  let replies: Map<string, Reply[]>;
  /** What GET /me answers (the session restore and later reads). */
  let me: User;
  let accessToken: string;
  let container: HTMLElement;
  let logged: MockInstance[];
  let signOut: () => Promise<void> = async () => {};

  const reply = (key: string, ...answers: Reply[]) => replies.set(key, answers);

  beforeEach(() => {
    calls = [];
    replies = new Map();
    me = UNVERIFIED;
    accessToken = jwt(Math.floor(Date.now() / 1000) + 900, 7);
    localStorage.clear();
    sessionStorage.clear();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        const method = init?.method ?? 'GET';
        const headers = (init?.headers ?? {}) as Record<string, string>;
        const body = init?.body === undefined || init.body === null ? undefined : JSON.parse(String(init.body));
        // `href`: the address bar at the moment of the request.
        calls.push({ method, url, body, authorization: headers.authorization, href: location.href });
        const queued = replies.get(`${method} ${url}`);
        if (queued && queued.length > 0) {
          const answer = queued.length > 1 ? queued.shift()! : queued[0];
          return answer instanceof Response ? answer.clone() : answer; // the last one may answer again
        }
        if (url === '/refresh') return json(200, { token: accessToken, refresh_token: refreshToken(1) });
        if (url === '/me') return json(200, me);
        if (url === '/logout') return new Response(null, { status: 204 });
        if (url.startsWith('/product?')) return json(200, { products: [], total: 0, page: 1, page_size: 12 }); // the home page
        return json(404, { error: `unexpected ${method} ${url}` });
      }),
    );
    logged = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m));
    container = document.createElement('div');
    document.body.append(container);
  });

  afterEach(async () => {
    render(null, container);
    container.remove();
    await signOut(); // clears the refresh timer
    vi.useRealTimers();
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });

  /** A page load at `url` (fresh modules, the session restored as main.tsx does), rendering the app. */
  async function load(url: string, { signedIn = false } = {}) {
    if (signedIn) localStorage.setItem(REFRESH_KEY, refreshToken(0));
    history.replaceState(null, '', url);
    vi.resetModules();
    const { auth } = await import('../src/state');
    const { App } = await import('../src/App');
    signOut = () => auth.signOut();
    auth.init();
    await act(() => render(<App />, container));
    if (signedIn) await vi.waitFor(() => expect(auth.user).not.toBeNull());
    await act(async () => {}); // the header and banner re-render for the user
    return { auth };
  }

  const text = () => container.textContent ?? '';
  const alertText = () => [...container.querySelectorAll('[role="alert"]')].map((e) => e.textContent?.trim()).join(' | ');
  const statusText = () => [...container.querySelectorAll('[role="status"]')].map((e) => e.textContent?.trim()).join(' | ');
  const button = (name: string) => [...container.querySelectorAll('button')].find((b) => b.textContent?.trim() === name);
  const link = (name: string, within = '') => [...container.querySelectorAll<HTMLAnchorElement>(`${within} a`)].find((a) => a.textContent?.trim() === name);
  const banner = () => container.querySelector('[data-testid="verify-banner"]');
  const posts = (url: string) => calls.filter((c) => c.url === url && c.method !== 'GET');
  const type = async (selector: string, value: string) => {
    const input = container.querySelector<HTMLInputElement>(selector)!;
    expect(input).toBeTruthy();
    await act(() => {
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
  };
  const submit = async (selector = 'main form') => {
    const form = container.querySelector<HTMLFormElement>(selector)!;
    await act(() => {
      form.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
  };
  const noTokenLogged = () => {
    for (const spy of logged) for (const args of spy.mock.calls) expect(JSON.stringify(args)).not.toContain(TOKEN);
  };

  describe('verify-email', () => {
    it('takes the token from the fragment, removes it from the address before POSTing it, and says the email is verified', async () => {
      reply('POST /verify-email', new Response(null, { status: 204 }));
      const before = history.length;
      await load(`/app/verify-email#token=${TOKEN}`);

      await vi.waitFor(() => expect(statusText()).toContain('Your email is verified'));
      expect(posts('/verify-email')).toHaveLength(1);
      const post = posts('/verify-email')[0];
      expect(post.body).toEqual({ token: TOKEN });
      expect(post.href).not.toContain(TOKEN); // gone from the address bar before the request
      expect(post.href).toBe(`${location.origin}/app/verify-email`);
      expect(location.hash).toBe('');
      expect(location.href).not.toContain('#');
      expect(history.length).toBe(before); // replaced, not pushed: no history entry keeps it
      expect(post.authorization).toBeUndefined(); // the link needs no session
      expect(container.innerHTML).not.toContain(TOKEN);
      expect(JSON.stringify([...Object.entries(localStorage), ...Object.entries(sessionStorage)])).not.toContain(TOKEN);
      noTokenLogged();
    });

    it("signed in: refreshes the cached user's email_verified, so the banner goes", async () => {
      reply('POST /verify-email', new Response(null, { status: 204 }));
      // The restore answers unverified; the read after the verification, verified.
      reply('GET /me', json(200, UNVERIFIED), json(200, { ...UNVERIFIED, email_verified: true }));
      const { auth } = await load(`/app/verify-email#token=${TOKEN}`, { signedIn: true });
      expect(banner()).toBeNull(); // not over the page that is verifying

      await vi.waitFor(() => expect(auth.user?.email_verified).toBe(true));
      expect(statusText()).toContain('Your email is verified');
      expect(calls.filter((c) => c.url === '/me')).toHaveLength(2);
      expect(calls.filter((c) => c.url === '/me')[1].authorization).toBe(`Bearer ${accessToken}`);

      await act(() => link('Continue shopping')!.click());
      expect(location.pathname).toBe('/');
      expect(banner()).toBeNull();
      noTokenLogged();
    });

    it("400 shows the API's error and, signed in, a send-a-new-link action", async () => {
      reply('POST /verify-email', json(400, { error: INVALID_LINK }));
      reply('POST /verify-email/resend', json(202, { message: 'A new link is on its way to ayu@example.com' }));
      await load(`/app/verify-email#token=${TOKEN}`, { signedIn: true });

      await vi.waitFor(() => expect(alertText()).toBe(INVALID_LINK));
      expect(button('Try again')).toBeUndefined(); // a refused link stays refused
      await act(() => button('Send a new link')!.click());
      await vi.waitFor(() => expect(statusText()).toContain('A new link is on its way to ayu@example.com'));
      const resend = posts('/verify-email/resend');
      expect(resend).toHaveLength(1);
      expect(resend[0].authorization).toBe(`Bearer ${accessToken}`);
      expect(posts('/verify-email')).toHaveLength(1);
      noTokenLogged();
    });

    it('400 signed out: the error and a way to sign in for a new link, no resend', async () => {
      reply('POST /verify-email', json(400, { error: INVALID_LINK }));
      await load(`/app/verify-email#token=${TOKEN}`);

      await vi.waitFor(() => expect(alertText()).toBe(INVALID_LINK));
      expect(button('Send a new link')).toBeUndefined();
      expect(link('Sign in', 'main')?.getAttribute('href')).toBe(`/app/login?next=${encodeURIComponent('/app/account')}`);
    });

    it('429 shows the wait, then the same token may be tried again', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
      reply(
        'POST /verify-email',
        json(429, { error: 'Rate limit exceeded. Please try again later.' }, { 'retry-after': '2' }),
        new Response(null, { status: 204 }),
      );
      await load(`/app/verify-email#token=${TOKEN}`);

      await vi.waitFor(() => expect(alertText()).toBe('Rate limit exceeded. Please try again later. Please wait 2 seconds before trying again.'));
      expect(button('Try again')?.disabled).toBe(true);
      await act(async () => {
        await vi.advanceTimersByTimeAsync(2_000);
      });
      expect(button('Try again')?.disabled).toBe(false);
      await act(() => button('Try again')!.click());
      await vi.waitFor(() => expect(statusText()).toContain('Your email is verified'));
      expect(posts('/verify-email').map((c) => c.body)).toEqual([{ token: TOKEN }, { token: TOKEN }]);
    });

    it('503 (the limiter cannot count) shows the wait from Retry-After', async () => {
      reply('POST /verify-email', json(503, { error: 'Service unavailable' }, { 'retry-after': '5' }));
      await load(`/app/verify-email#token=${TOKEN}`);
      await vi.waitFor(() => expect(alertText()).toBe('Service unavailable Please wait 5 seconds before trying again.'));
      expect(button('Try again')?.disabled).toBe(true);
    });

    it('without a token: says the link is incomplete and calls nothing', async () => {
      await load('/app/verify-email');
      await vi.waitFor(() => expect(alertText()).toContain('This link is incomplete'));
      expect(calls).toEqual([]);
    });
  });

  describe('forgot-password', () => {
    it('is linked from the sign-in page', async () => {
      await load('/app/login');
      await act(() => link('Forgot your password?')!.click());
      expect(location.pathname).toBe('/app/forgot-password');
      expect(text()).toContain('Forgot your password?');
    });

    it("sends the email and shows the API's neutral message, whoever the address belongs to", async () => {
      reply('POST /password/forgot', json(202, { message: NEUTRAL }));
      for (const email of ['ayu@example.com', 'nobody@example.com']) {
        render(null, container);
        await load('/app/forgot-password');
        await type('#forgot-email', `  ${email} `);
        await submit();
        await vi.waitFor(() => expect(statusText()).toBe(NEUTRAL));
        expect(container.querySelector('#forgot-email')).toBeNull();
        expect(alertText()).toBe('');
      }
      expect(posts('/password/forgot').map((c) => c.body)).toEqual([{ email: 'ayu@example.com' }, { email: 'nobody@example.com' }]);
      expect(posts('/password/forgot')[0].authorization).toBeUndefined();
    });

    it('429 shows the wait and keeps the form', async () => {
      reply('POST /password/forgot', json(429, { error: 'Rate limit exceeded. Please try again later.' }, { 'retry-after': '30' }));
      await load('/app/forgot-password');
      await type('#forgot-email', 'ayu@example.com');
      await submit();
      await vi.waitFor(() => expect(alertText()).toContain('Please wait 30 seconds'));
      expect(button('Send reset link')?.disabled).toBe(true);
    });
  });

  describe('reset-password', () => {
    it('takes the token from the fragment and clears the address at once; a mismatch sends nothing; success says sign in', async () => {
      reply('POST /password/reset', new Response(null, { status: 204 }));
      await load(`/app/reset-password#token=${TOKEN}`);
      expect(location.href).toBe(`${location.origin}/app/reset-password`); // before anything is typed

      await type('#reset-new', 'correct horse battery');
      await type('#reset-again', 'correct horse batterY');
      await submit();
      expect(alertText()).toBe('The two new passwords are not the same.');
      expect(posts('/password/reset')).toHaveLength(0);

      await type('#reset-again', 'correct horse battery');
      await submit();
      await vi.waitFor(() => expect(text()).toContain('Password changed'));
      expect(posts('/password/reset').map((c) => c.body)).toEqual([{ token: TOKEN, password: 'correct horse battery' }]);
      expect(posts('/password/reset')[0].href).not.toContain(TOKEN);
      expect(link('Sign in with your new password')?.getAttribute('href')).toBe('/app/login');
      expect(localStorage.getItem(REFRESH_KEY)).toBeNull(); // a reset signs nobody in
      expect(container.innerHTML).not.toContain(TOKEN);
      noTokenLogged();
    });

    it("400 shows the API's error and a link to ask for a new one; the form stays for a password the API refused", async () => {
      reply(
        'POST /password/reset',
        json(400, { error: 'Password must be 8 to 128 characters' }),
        json(400, { error: INVALID_LINK }),
      );
      await load(`/app/reset-password#token=${TOKEN}`);
      await type('#reset-new', 'short-ish');
      await type('#reset-again', 'short-ish');
      await submit();
      await vi.waitFor(() => expect(alertText()).toBe('Password must be 8 to 128 characters'));
      expect(link('Ask for a new link')?.getAttribute('href')).toBe('/app/forgot-password');
      expect(button('Change password')?.disabled).toBe(false);

      await submit();
      await vi.waitFor(() => expect(alertText()).toBe(INVALID_LINK));
      expect(posts('/password/reset').map((c) => (c.body as { token: string }).token)).toEqual([TOKEN, TOKEN]);
      expect(text()).not.toContain('Password changed');
    });

    it('without a token: says the link is incomplete, links to forgot-password, shows no form', async () => {
      await load('/app/reset-password');
      expect(alertText()).toContain('This link is incomplete');
      expect(link('Ask for a new link')?.getAttribute('href')).toBe('/app/forgot-password');
      expect(container.querySelector('#reset-new')).toBeNull();
      expect(calls).toEqual([]);
    });
  });

  describe('change password on the account page', () => {
    async function openAccount() {
      me = { ...UNVERIFIED, email_verified: true };
      const loaded = await load('/', { signedIn: true });
      await act(() => link('Account')!.click()); // in the header
      expect(location.pathname).toBe('/app/account');
      await vi.waitFor(() => expect(container.querySelector('#change-current')).not.toBeNull());
      expect(container.querySelector('[data-testid="account-email"]')?.textContent).toBe('ayu@example.com verified');
      await type('#change-current', 'old password 1');
      await type('#change-new', 'new password 22');
      await type('#change-again', 'new password 22');
      return loaded;
    }

    it('200: sends both passwords with the bearer token and stores the new session as the sign-in does', async () => {
      const fresh = jwt(Math.floor(Date.now() / 1000) + 900, 7);
      reply('PUT /me/password', json(200, { token: fresh, refresh_token: refreshToken(9) }));
      const { auth } = await openAccount();
      await submit();

      await vi.waitFor(() => expect(statusText()).toContain('Your password was changed'));
      const put = calls.filter((c) => c.method === 'PUT' && c.url === '/me/password');
      expect(put).toHaveLength(1);
      expect(put[0].body).toEqual({ current_password: 'old password 1', new_password: 'new password 22' });
      expect(put[0].authorization).toBe(`Bearer ${accessToken}`);
      expect(auth.accessToken).toBe(fresh);
      expect(localStorage.getItem(REFRESH_KEY)).toBe(refreshToken(9));
      expect(auth.user?.id).toBe(7); // still signed in, as the same user
      expect(container.querySelector<HTMLInputElement>('#change-current')!.value).toBe('');
      expect(container.querySelector<HTMLInputElement>('#change-new')!.value).toBe('');
    });

    it('403: the current password is wrong; the session is unchanged', async () => {
      reply('PUT /me/password', json(403, { error: 'Current password is incorrect' }));
      const { auth } = await openAccount();
      await submit();
      await vi.waitFor(() => expect(alertText()).toBe('Your current password is wrong.'));
      expect(auth.accessToken).toBe(accessToken);
      expect(localStorage.getItem(REFRESH_KEY)).toBe(refreshToken(1));
      expect(location.pathname).toBe('/app/account');
    });

    it('409: the account has no password, so it explains to use forgot password', async () => {
      reply('PUT /me/password', json(409, { error: 'This account has no password; use forgot password' }));
      await openAccount();
      await submit();
      await vi.waitFor(() => expect(alertText()).toContain('This account has no password'));
      expect(link('Forgot password')?.getAttribute('href')).toBe('/app/forgot-password');
      expect(localStorage.getItem(REFRESH_KEY)).toBe(refreshToken(1));
    });

    it('new passwords that differ are not sent', async () => {
      await openAccount();
      await type('#change-again', 'new password 23');
      await submit();
      expect(alertText()).toBe('The two new passwords are not the same.');
      expect(calls.filter((c) => c.url === '/me/password')).toHaveLength(0);
    });

    it('signed out: the account page sends to sign in', async () => {
      await load('/app/account');
      await vi.waitFor(() => expect(location.pathname).toBe('/app/login'));
      expect(location.search).toBe(`?next=${encodeURIComponent('/app/account')}`);
    });
  });

  describe('the verify-your-email banner', () => {
    it('shows for a signed-in user whose email is not verified, naming the address', async () => {
      await load('/', { signedIn: true });
      expect(banner()?.textContent).toContain('Please verify your email — we sent a link to ayu@example.com.');
      expect(button('Resend')?.disabled).toBe(false);
    });

    it('does not show when verified, when the field is missing (unknown), or when signed out', async () => {
      me = { ...UNVERIFIED, email_verified: true };
      await load('/', { signedIn: true });
      expect(text()).toContain('Ayu');
      expect(banner()).toBeNull();

      render(null, container);
      await signOut();
      const { email_verified: _, ...older } = UNVERIFIED;
      me = older as User;
      await load('/', { signedIn: true });
      expect(text()).toContain('Ayu');
      expect(banner()).toBeNull();

      render(null, container);
      await signOut();
      await load('/');
      expect(banner()).toBeNull();
    });

    it("Resend: 202 shows the API's message", async () => {
      reply('POST /verify-email/resend', json(202, { message: 'A new link is on its way' }));
      await load('/', { signedIn: true });
      await act(() => button('Resend')!.click());
      await vi.waitFor(() => expect(banner()?.textContent).toContain('A new link is on its way'));
      expect(posts('/verify-email/resend')).toHaveLength(1);
      expect(posts('/verify-email/resend')[0].authorization).toBe(`Bearer ${accessToken}`);
      expect(banner()).not.toBeNull();
    });

    it('Resend: 409 (already verified) hides the banner', async () => {
      reply('POST /verify-email/resend', json(409, { error: 'Email already verified' }));
      const { auth } = await load('/', { signedIn: true });
      await act(() => button('Resend')!.click());
      await vi.waitFor(() => expect(banner()).toBeNull());
      expect(auth.user?.email_verified).toBe(true);
    });

    it('Resend: 429 shows the wait and disables the button meanwhile', async () => {
      reply('POST /verify-email/resend', json(429, { error: 'Rate limit exceeded. Please try again later.' }, { 'retry-after': '120' }));
      await load('/', { signedIn: true });
      await act(() => button('Resend')!.click());
      await vi.waitFor(() =>
        expect(alertText()).toBe('Rate limit exceeded. Please try again later. Please wait 120 seconds before trying again.'),
      );
      expect(button('Resend')?.disabled).toBe(true);
      expect(banner()?.textContent).toContain('You can try again in 120 s.');
    });
  });
});
