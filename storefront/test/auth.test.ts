import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../src/lib/api';
import { Auth, REFRESH_KEY, refreshDelay, tokenExpiry } from '../src/lib/auth';
import { ApiError } from '../src/lib/errors';
import type { User } from '../src/lib/types';
import { deferred, json, jwt, MemoryStorage, refreshToken } from './helpers';

const USER: User = { id: 7, full_name: 'Ayu', email: 'ayu@example.com', role: 'customer', email_verified: true };
const nowSecs = () => Math.floor(Date.now() / 1000);

type Call = { url: string; init?: RequestInit };

function bodyOf(call: Call): Record<string, unknown> {
  return JSON.parse(String(call.init?.body));
}

describe('token helpers', () => {
  it('reads exp from a JWT', () => {
    expect(tokenExpiry(jwt(1_700_000_000))).toBe(1_700_000_000_000);
    expect(tokenExpiry('not-a-jwt')).toBeNull();
    expect(tokenExpiry('a.!!!.c')).toBeNull();
  });

  it('refreshes a minute early, or at half time for short tokens', () => {
    expect(refreshDelay(900_000, 0, 60_000)).toBe(840_000);
    expect(refreshDelay(60_000, 0, 60_000)).toBe(30_000);
    expect(refreshDelay(1_000, 5_000, 60_000)).toBe(0);
  });
});

describe('Auth', () => {
  let storage: MemoryStorage;
  let calls: Call[];

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    storage = new MemoryStorage();
    calls = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function makeAuth(handler: (call: Call) => Promise<Response> | Response) {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      const call = { url, init };
      calls.push(call);
      return handler(call);
    });
    return { auth: new Auth({ fetch, storage }), fetch };
  }

  it('keeps the access token in memory and only the refresh token in storage', () => {
    const { auth } = makeAuth(() => json(500, {}));
    const token = jwt(nowSecs() + 900);
    auth.setSession({ token, refresh_token: refreshToken(1), user: USER });
    expect(auth.accessToken).toBe(token);
    expect(auth.user).toEqual(USER);
    expect([...storage.map.keys()]).toEqual([REFRESH_KEY]);
    expect(storage.getItem(REFRESH_KEY)).toBe(refreshToken(1));
  });

  it('schedules the refresh before the access token expires and rotates the refresh token', async () => {
    const fresh = jwt(nowSecs() + 1800);
    const { auth } = makeAuth((call) =>
      call.url === '/refresh' ? json(200, { token: fresh, refresh_token: refreshToken(2) }) : json(404, {}),
    );
    auth.setSession({ token: jwt(nowSecs() + 900), refresh_token: refreshToken(1), user: USER });

    await vi.advanceTimersByTimeAsync(839_000);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000); // 14 minutes: one minute before expiry
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe('/refresh');
    expect(calls[0].init?.method).toBe('POST');
    expect(bodyOf(calls[0])).toEqual({ refresh_token: refreshToken(1) });
    expect(auth.accessToken).toBe(fresh);
    expect(storage.getItem(REFRESH_KEY)).toBe(refreshToken(2));
    expect(auth.user).toEqual(USER);

    // The next refresh is scheduled from the new token's expiry (30 min from
    // the start, now 16 min away): one minute before it.
    await vi.advanceTimersByTimeAsync(899_000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(2);
    expect(bodyOf(calls[1])).toEqual({ refresh_token: refreshToken(2) });
  });

  it('signs out when the scheduled refresh is refused', async () => {
    const { auth } = makeAuth(() => json(401, { error: 'Session expired' }));
    const seen = vi.fn();
    auth.setSession({ token: jwt(nowSecs() + 120), refresh_token: refreshToken(1), user: USER });
    auth.subscribe(seen);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    expect(auth.accessToken).toBeNull();
    expect(auth.user).toBeNull();
    expect(storage.getItem(REFRESH_KEY)).toBeNull();
    expect(seen).toHaveBeenCalled();
    // No further timers: nothing more is sent.
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(calls).toHaveLength(1);
  });

  it('keeps the session and retries later when the refresh fails for a passing reason', async () => {
    let fail = true;
    const fresh = jwt(nowSecs() + 1800);
    const { auth } = makeAuth(() => {
      if (fail) throw new TypeError('Failed to fetch');
      return json(200, { token: fresh, refresh_token: refreshToken(2) });
    });
    auth.setSession({ token: jwt(nowSecs() + 900), refresh_token: refreshToken(1), user: USER });
    await vi.advanceTimersByTimeAsync(840_000);
    expect(calls).toHaveLength(1);
    expect(storage.getItem(REFRESH_KEY)).toBe(refreshToken(1));
    expect(auth.user).toEqual(USER);
    fail = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toHaveLength(2);
    expect(auth.accessToken).toBe(fresh);
  });

  it('shares one refresh between concurrent callers', async () => {
    const gate = deferred<Response>();
    const { auth } = makeAuth(() => gate.promise);
    storage.setItem(REFRESH_KEY, refreshToken(1));
    const a = auth.refresh();
    const b = auth.refresh();
    const c = auth.refresh();
    const fresh = jwt(nowSecs() + 900);
    gate.resolve(json(200, { token: fresh, refresh_token: refreshToken(2) }));
    expect(await Promise.all([a, b, c])).toEqual([fresh, fresh, fresh]);
    expect(calls).toHaveLength(1);
  });

  it('restores a stored session at start: refresh, then /me', async () => {
    const fresh = jwt(nowSecs() + 900);
    const { auth } = makeAuth((call) => {
      if (call.url === '/refresh') return json(200, { token: fresh, refresh_token: refreshToken(2) });
      if (call.url === '/me') return json(200, { ...USER, role: 'admin' });
      return json(404, { error: 'no' });
    });
    storage.setItem(REFRESH_KEY, refreshToken(1));
    await auth.init();
    await auth.ready;
    expect(calls.map((c) => c.url)).toEqual(['/refresh', '/me']);
    expect((calls[1].init?.headers as Record<string, string>).authorization).toBe(`Bearer ${fresh}`);
    expect(auth.isAdmin).toBe(true);
    expect(await auth.getToken()).toBe(fresh);
  });

  it('knownUser waits for the restore: null while restoring is not "signed out"', async () => {
    const gate = deferred<Response>();
    const fresh = jwt(nowSecs() + 900);
    const { auth } = makeAuth((call) => (call.url === '/refresh' ? gate.promise : json(200, USER)));
    storage.setItem(REFRESH_KEY, refreshToken(1));
    auth.init();
    const known = auth.knownUser();
    expect(auth.user).toBeNull(); // restoring
    gate.resolve(json(200, { token: fresh, refresh_token: refreshToken(2) }));
    expect(await known).toEqual(USER);
  });

  it('starts signed out when the stored refresh token is refused', async () => {
    const { auth } = makeAuth(() => json(401, { error: 'Refresh token reused' }));
    storage.setItem(REFRESH_KEY, refreshToken(1));
    await auth.init();
    expect(auth.user).toBeNull();
    expect(storage.getItem(REFRESH_KEY)).toBeNull();
    expect(await auth.getToken()).toBeNull();
  });

  it('signs out locally and revokes the family on the server', async () => {
    const { auth } = makeAuth(() => new Response(null, { status: 204 }));
    auth.setSession({ token: jwt(nowSecs() + 900), refresh_token: refreshToken(1), user: USER });
    await auth.signOut();
    expect(auth.user).toBeNull();
    expect(storage.getItem(REFRESH_KEY)).toBeNull();
    expect(calls[0].url).toBe('/logout');
    expect(bodyOf(calls[0])).toEqual({ refresh_token: refreshToken(1) });
  });

  it('a password change replaces the tokens (refresh token stored, timer rescheduled) and keeps the user', async () => {
    const changed = jwt(nowSecs() + 900);
    const { auth } = makeAuth((call) =>
      call.url === '/refresh' ? json(200, { token: jwt(nowSecs() + 1800), refresh_token: refreshToken(3) }) : json(404, {}),
    );
    auth.setSession({ token: jwt(nowSecs() + 60), refresh_token: refreshToken(1), user: USER });
    let emitted = 0;
    auth.subscribe(() => emitted++);
    auth.replaceTokens({ token: changed, refresh_token: refreshToken(2) });
    expect(auth.accessToken).toBe(changed);
    expect(auth.user).toEqual(USER);
    expect(storage.getItem(REFRESH_KEY)).toBe(refreshToken(2));
    expect(emitted).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000); // the old token's refresh time: nothing
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(780_000); // the new token's
    expect(calls.map((c) => c.url)).toEqual(['/refresh']);
    expect(bodyOf(calls[0])).toEqual({ refresh_token: refreshToken(2) });
  });

  it('updateUser takes a fresher copy of the signed-in user only', () => {
    const { auth } = makeAuth(() => json(500, {}));
    auth.updateUser({ ...USER, email_verified: true }); // nobody signed in
    expect(auth.user).toBeNull();
    auth.setSession({ token: jwt(nowSecs() + 900), refresh_token: refreshToken(1), user: { ...USER, email_verified: false } });
    auth.updateUser({ ...USER, id: 8, email_verified: true }); // another account
    expect(auth.user?.email_verified).toBe(false);
    auth.updateUser({ ...USER, email_verified: true });
    expect(auth.user?.email_verified).toBe(true);
  });

  it('reloadUser reads /me with the access token; a failure keeps the user and the session', async () => {
    const token = jwt(nowSecs() + 900);
    let answer: Response | Error = json(503, { error: 'down' });
    const { auth } = makeAuth(() => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
    auth.setSession({ token, refresh_token: refreshToken(1), user: { ...USER, email_verified: false } });
    await auth.reloadUser();
    expect(auth.user?.email_verified).toBe(false);
    answer = json(401, { error: 'expired' });
    await auth.reloadUser();
    expect(auth.user?.email_verified).toBe(false);
    expect(storage.getItem(REFRESH_KEY)).toBe(refreshToken(1)); // not signed out by a best-effort read
    answer = new TypeError('Failed to fetch');
    await auth.reloadUser();
    answer = json(200, { ...USER, email_verified: true });
    await auth.reloadUser();
    expect(auth.user?.email_verified).toBe(true);
    expect(calls.map((c) => c.url)).toEqual(['/me', '/me', '/me', '/me']);
    expect((calls[3].init?.headers as Record<string, string>).authorization).toBe(`Bearer ${token}`);
  });

  it('follows another tab signing out', () => {
    const { auth } = makeAuth(() => json(500, {}));
    auth.setSession({ token: jwt(nowSecs() + 900), refresh_token: refreshToken(1), user: USER });
    auth.storageChanged(REFRESH_KEY, null);
    expect(auth.user).toBeNull();
  });
});

describe('API client with Auth', () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage();
  });

  function setup(refresh: () => Promise<Response>, valid: () => string) {
    const calls: Call[] = [];
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      if (url === '/refresh') return refresh();
      const header = (init?.headers as Record<string, string>)?.authorization;
      if (header !== `Bearer ${valid()}`) return json(401, { error: 'Invalid or expired token' });
      return json(200, { order: { id: Number(url.split('/').pop()) } });
    });
    const auth = new Auth({ fetch, storage });
    const onUnauthorized = vi.fn();
    const api = createClient({ fetch, auth, onUnauthorized });
    return { calls, auth, api, onUnauthorized };
  }

  it('answers concurrent 401s with one refresh and retries each request once', async () => {
    const stale = jwt(Math.floor(Date.now() / 1000) + 600);
    const fresh = jwt(Math.floor(Date.now() / 1000) + 900);
    let current = stale;
    const gate = deferred<Response>();
    const { calls, auth, api, onUnauthorized } = setup(() => gate.promise, () => current);
    auth.setSession({ token: stale, refresh_token: refreshToken(1), user: USER });
    current = fresh; // the server no longer takes the old token (e.g. after a restart with rotated keys)

    const requests = [api.getOrder(1), api.getOrder(2), api.getOrder(3)];
    await vi.waitFor(() => expect(calls.filter((c) => c.url === '/refresh')).toHaveLength(1));
    gate.resolve(json(200, { token: fresh, refresh_token: refreshToken(2) }));
    const results = await Promise.all(requests);

    expect(results.map((r) => r.order.id)).toEqual([1, 2, 3]);
    expect(calls.filter((c) => c.url === '/refresh')).toHaveLength(1);
    expect(calls.filter((c) => c.url.startsWith('/order/'))).toHaveLength(6); // each: 401, then the retry
    expect(onUnauthorized).not.toHaveBeenCalled();
    expect(storage.getItem(REFRESH_KEY)).toBe(refreshToken(2));
    auth.signOut();
  });

  it('a 401 arriving after another request refreshed retries with the new token, without refreshing again', async () => {
    const stale = jwt(Math.floor(Date.now() / 1000) + 600);
    const fresh = jwt(Math.floor(Date.now() / 1000) + 900);
    const { calls, auth } = setup(async () => json(200, { token: fresh, refresh_token: refreshToken(2) }), () => fresh);
    auth.setSession({ token: stale, refresh_token: refreshToken(1), user: USER });
    expect(await auth.recover(stale)).toBe(fresh);
    expect(await auth.recover(stale)).toBe(fresh);
    expect(calls.filter((c) => c.url === '/refresh')).toHaveLength(1);
    auth.signOut();
  });

  it('signs out and reports 401 when the refresh is refused', async () => {
    const stale = jwt(Math.floor(Date.now() / 1000) + 600);
    const { calls, auth, api, onUnauthorized } = setup(async () => json(401, { error: 'Refresh token revoked' }), () => 'nothing valid');
    auth.setSession({ token: stale, refresh_token: refreshToken(1), user: USER });
    const results = await Promise.allSettled([api.getOrder(1), api.getOrder(2)]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const error = (r as PromiseRejectedResult).reason as ApiError;
      expect(error).toBeInstanceOf(ApiError);
      expect(error.status).toBe(401);
      expect(error.message).toBe('Invalid or expired token');
    }
    expect(calls.filter((c) => c.url === '/refresh')).toHaveLength(1);
    expect(onUnauthorized).toHaveBeenCalledTimes(2);
    expect(auth.user).toBeNull();
    expect(auth.accessToken).toBeNull();
    expect(storage.getItem(REFRESH_KEY)).toBeNull();
  });

  it('refreshes an already expired token before sending', async () => {
    const expired = jwt(Math.floor(Date.now() / 1000) - 10);
    const fresh = jwt(Math.floor(Date.now() / 1000) + 900);
    const { calls, auth, api } = setup(async () => json(200, { token: fresh, refresh_token: refreshToken(2) }), () => fresh);
    auth.setSession({ token: expired, refresh_token: refreshToken(1), user: USER });
    await vi.waitFor(() => expect(auth.accessToken).toBe(fresh)); // the timer fired at once
    const r = await api.getOrder(5);
    expect(r.order.id).toBe(5);
    expect(calls.map((c) => c.url)).toEqual(['/refresh', '/order/5']);
    auth.signOut();
  });
});
