// @vitest-environment happy-dom
// Login CSRF through OAuth (issue 23, item 2): "Sign in with …" remembers
// the authorize URL's `state` in this tab's sessionStorage, and the callback
// page calls the API only for that state (fresh, once). A callback link made
// by someone else — their own flow, stopped at the provider's redirect —
// never reaches the API, so the visitor is not signed into their account.
// The pages run with the app's real session and API client over a fake fetch.

import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { REFRESH_KEY } from '../src/lib/auth';
import { OAUTH_STATE_TTL_MS, oauthStateKey, rememberOAuthState, takeOAuthState } from '../src/lib/oauthState';
import type { User } from '../src/lib/types';
import { json, jwt, MemoryStorage, refreshToken } from './helpers';

const USER: User = { id: 7, full_name: 'Octo Shopper', email: 'octo@example.com', role: 'customer', email_verified: true };
const STATE = 'st8-of-this-tab_0123456789abcdefghijklmnopqrstu';
const AUTHORIZE = `https://github.example/login/oauth/authorize?client_id=storefront&redirect_uri=${encodeURIComponent(
  'https://shop.example/app/oauth/github/callback',
)}&response_type=code&state=${STATE}&code_challenge=x&code_challenge_method=S256`;
const NOT_STARTED_HERE = 'This sign-in link was not started in this browser tab. Please sign in again.';

type Call = { method: string; url: string };

describe('OAuth sign-in is finished only in the tab that started it', () => {
  let calls: Call[];
  let assign: MockInstance<(url: string | URL) => void>;
  let container: HTMLElement;
  let signOut: () => Promise<void> = async () => {};

  beforeEach(() => {
    calls = [];
    localStorage.clear();
    sessionStorage.clear();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        const method = init?.method ?? 'GET';
        calls.push({ method, url });
        if (url === '/oauth/github') return json(200, { url: AUTHORIZE });
        if (url === `/oauth/github/callback?code=C1&state=${STATE}`) {
          return json(200, { token: jwt(Math.floor(Date.now() / 1000) + 900), refresh_token: refreshToken(1), user: USER });
        }
        if (url.startsWith('/oauth/github/callback')) return json(401, { error: 'Sign-in expired or already used; try again' });
        if (url === '/logout') return new Response(null, { status: 204 });
        return json(404, { error: `unexpected ${method} ${url}` });
      }),
    );
    assign = vi.spyOn(window.location, 'assign').mockImplementation(() => {}); // the provider's page
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

  /** A page load at `url` (fresh modules, as main.tsx starts them), rendering the page for it. */
  async function load(url: string) {
    history.replaceState(null, '', url);
    vi.resetModules();
    const { auth } = await import('../src/state');
    const { LoginPage, OAuthCallbackPage } = await import('../src/pages/Login');
    signOut = () => auth.signOut();
    auth.init();
    const loc = { path: location.pathname, query: new URLSearchParams(location.search), key: 1 };
    const provider = location.pathname.match(/^\/app\/oauth\/([^/]+)\/callback$/)?.[1];
    await act(() => render(provider ? <OAuthCallbackPage provider={provider} loc={loc} /> : <LoginPage loc={loc} />, container));
    return { auth };
  }

  const alert = () => container.querySelector('[role="alert"]')?.textContent;
  const backLink = () => [...container.querySelectorAll('a')].find((a) => a.textContent === 'Back to sign in');
  const callbackCalls = () => calls.filter((c) => c.url.startsWith('/oauth/github/callback'));

  async function clickGitHub() {
    await load(`/app/login?next=${encodeURIComponent('/app/orders')}`);
    const button = [...container.querySelectorAll('button')].find((b) => b.textContent === 'Sign in with GitHub')!;
    expect(button).toBeTruthy();
    await act(() => button.click());
    await vi.waitFor(() => expect(assign).toHaveBeenCalledTimes(1));
  }

  it('"Sign in with GitHub" remembers the state of the authorize URL in this tab, then goes there', async () => {
    const before = Date.now();
    await clickGitHub();
    expect(assign).toHaveBeenCalledWith(AUTHORIZE);
    expect(calls).toEqual([{ method: 'GET', url: '/oauth/github' }]);
    const stored = JSON.parse(sessionStorage.getItem(oauthStateKey('github'))!);
    expect(stored.state).toBe(STATE);
    expect(stored.started).toBeGreaterThanOrEqual(before);
    expect(stored.started).toBeLessThanOrEqual(Date.now());
    expect(localStorage.getItem(oauthStateKey('github'))).toBeNull(); // per tab, not shared
    expect(sessionStorage.getItem(oauthStateKey('google'))).toBeNull(); // per provider
  });

  it('the callback with the remembered state calls the API once, signs in, and uses the state up', async () => {
    await clickGitHub();
    const { auth } = await load(`/app/oauth/github/callback?code=C1&state=${STATE}`); // back from the provider

    await vi.waitFor(() => expect(location.pathname).toBe('/app/orders')); // the `next` of the sign-in page
    expect(callbackCalls()).toEqual([{ method: 'GET', url: `/oauth/github/callback?code=C1&state=${STATE}` }]);
    expect(auth.user).toEqual(USER);
    expect(localStorage.getItem(REFRESH_KEY)).toBe(refreshToken(1));
    expect(sessionStorage.getItem(oauthStateKey('github'))).toBeNull();
  });

  it('the same callback URL replayed after a successful sign-in is refused without calling the API', async () => {
    await clickGitHub();
    await load(`/app/oauth/github/callback?code=C1&state=${STATE}`);
    await vi.waitFor(() => expect(location.pathname).toBe('/app/orders'));
    render(null, container);
    await signOut();
    localStorage.clear();

    await load(`/app/oauth/github/callback?code=C1&state=${STATE}`); // e.g. the link again, in this tab
    await vi.waitFor(() => expect(alert()).toBe(NOT_STARTED_HERE));
    expect(callbackCalls()).toHaveLength(1); // only the first
    expect(localStorage.getItem(REFRESH_KEY)).toBeNull();
  });

  it("an attacker's callback link (no sign-in started in this tab) never reaches the API", async () => {
    const { auth } = await load('/app/oauth/github/callback?code=ATTACKER&state=attackers-state');
    await vi.waitFor(() => expect(alert()).toBe(NOT_STARTED_HERE));
    expect(calls).toEqual([]); // no fetch at all
    expect(auth.user).toBeNull();
    expect(backLink()?.getAttribute('href')).toBe('/app/login');
  });

  it("an attacker's callback link in a tab that started its own sign-in is refused, and that sign-in is used up", async () => {
    await clickGitHub();
    await load('/app/oauth/github/callback?code=ATTACKER&state=attackers-state');
    await vi.waitFor(() => expect(alert()).toBe(NOT_STARTED_HERE));
    expect(callbackCalls()).toEqual([]);
    expect(sessionStorage.getItem(oauthStateKey('github'))).toBeNull();
    // Back to sign in keeps where the visitor was going.
    expect(backLink()?.getAttribute('href')).toBe(`/app/login?next=${encodeURIComponent('/app/orders')}`);
  });

  it('a callback without any state is refused', async () => {
    await clickGitHub();
    await load('/app/oauth/github/callback?code=C1');
    await vi.waitFor(() => expect(alert()).toBe(NOT_STARTED_HERE));
    expect(callbackCalls()).toEqual([]);
  });

  it('a state remembered for another provider does not count', async () => {
    await clickGitHub();
    await load(`/app/oauth/google/callback?code=C1&state=${STATE}`);
    await vi.waitFor(() => expect(alert()).toBe(NOT_STARTED_HERE));
    expect(calls.filter((c) => c.url.startsWith('/oauth/google'))).toEqual([]);
  });

  it('a sign-in started 10 minutes ago or more is refused (the server has forgotten its state)', async () => {
    sessionStorage.setItem(oauthStateKey('github'), JSON.stringify({ state: STATE, started: Date.now() - OAUTH_STATE_TTL_MS - 1 }));
    await load(`/app/oauth/github/callback?code=C1&state=${STATE}`);
    await vi.waitFor(() => expect(alert()).toBe(NOT_STARTED_HERE));
    expect(calls).toEqual([]);
    expect(sessionStorage.getItem(oauthStateKey('github'))).toBeNull();
  });

  it('"access_denied" from the provider says the sign-in was cancelled, calls nothing and uses the state up', async () => {
    await clickGitHub();
    await load(`/app/oauth/github/callback?error=access_denied&error_description=${encodeURIComponent('Call +1 555 now')}&state=${STATE}`);
    await vi.waitFor(() => expect(alert()).toBe('Sign-in with GitHub was cancelled.'));
    expect(container.textContent).not.toContain('555'); // the link's own text is not shown
    expect(callbackCalls()).toEqual([]);
    expect(sessionStorage.getItem(oauthStateKey('github'))).toBeNull();
    expect(backLink()).toBeTruthy();
  });

  it('another provider error is named by its code only', async () => {
    await load('/app/oauth/github/callback?error=server_error&state=whatever');
    await vi.waitFor(() => expect(alert()).toBe('GitHub did not complete the sign-in (server_error). Please try again.'));
    expect(calls).toEqual([]);
  });

  it('the API refusing a matching callback shows its message; the state is used up all the same', async () => {
    await clickGitHub();
    await load(`/app/oauth/github/callback?code=STALE&state=${STATE}`);
    await vi.waitFor(() => expect(alert()).toBe('Sign-in expired or already used; try again'));
    expect(callbackCalls()).toHaveLength(1);
    expect(sessionStorage.getItem(oauthStateKey('github'))).toBeNull();
  });

  it('an authorize URL without a state is not followed', async () => {
    vi.mocked(fetch).mockImplementationOnce(async () => json(200, { url: 'https://github.example/login/oauth/authorize?client_id=x' }));
    await load('/app/login');
    const button = [...container.querySelectorAll('button')].find((b) => b.textContent === 'Sign in with GitHub')!;
    await act(() => button.click());
    await vi.waitFor(() => expect(alert()).toContain('has no state'));
    expect(assign).not.toHaveBeenCalled();
    expect(sessionStorage.getItem(oauthStateKey('github'))).toBeNull();
    expect(button.disabled).toBe(false);
  });
});

describe('oauthState', () => {
  const T0 = 1_767_225_600_000;

  it('keeps the state per provider and takes it once', () => {
    const s = new MemoryStorage();
    expect(rememberOAuthState(s, 'google', `https://accounts.example/o/oauth2/auth?state=${STATE}&nonce=n`, T0)).toBe(STATE);
    expect(takeOAuthState(s, 'github', STATE, T0)).toBe('missing');
    expect(takeOAuthState(s, 'google', STATE, T0 + 1000)).toBe('ok');
    expect(takeOAuthState(s, 'google', STATE, T0 + 1000)).toBe('missing');
    expect(s.map.size).toBe(0);
  });

  it('refuses another state, none, and one 10 minutes old', () => {
    const s = new MemoryStorage();
    rememberOAuthState(s, 'github', AUTHORIZE, T0);
    expect(takeOAuthState(s, 'github', 'other', T0)).toBe('foreign');
    rememberOAuthState(s, 'github', AUTHORIZE, T0);
    expect(takeOAuthState(s, 'github', null, T0)).toBe('foreign');
    rememberOAuthState(s, 'github', AUTHORIZE, T0);
    expect(takeOAuthState(s, 'github', STATE, T0 + OAUTH_STATE_TTL_MS - 1)).toBe('ok');
    rememberOAuthState(s, 'github', AUTHORIZE, T0);
    expect(takeOAuthState(s, 'github', STATE, T0 + OAUTH_STATE_TTL_MS)).toBe('expired');
    rememberOAuthState(s, 'github', AUTHORIZE, T0);
    expect(takeOAuthState(s, 'github', STATE, T0 - 1)).toBe('expired'); // started "in the future": the clock moved
  });

  it('a newer start replaces the older one; garbage in storage counts as none', () => {
    const s = new MemoryStorage();
    rememberOAuthState(s, 'github', AUTHORIZE, T0);
    rememberOAuthState(s, 'github', 'https://github.example/authorize?state=newer', T0 + 5);
    expect(takeOAuthState(s, 'github', STATE, T0 + 10)).toBe('foreign');
    s.setItem(oauthStateKey('github'), '{not json');
    expect(takeOAuthState(s, 'github', STATE, T0)).toBe('missing');
    s.setItem(oauthStateKey('github'), JSON.stringify({ state: STATE }));
    expect(takeOAuthState(s, 'github', STATE, T0)).toBe('missing');
    expect(() => rememberOAuthState(s, 'github', '/relative?state=x', T0)).toThrow(/no state/);
    expect(() => rememberOAuthState(s, 'github', 'https://github.example/authorize?state=', T0)).toThrow(/no state/);
  });
});
