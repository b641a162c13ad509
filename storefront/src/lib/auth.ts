// The session: the access token lives in memory only; the refresh token is
// kept in (local) storage so a reload, or the round trip through a payment
// page, keeps the user signed in. The access token is refreshed shortly
// before it expires; concurrent callers share one refresh; a refused
// refresh signs the user out.

import { ApiError, errorFromResponse, networkError } from './errors';
import type { RefreshRequest, Session, Tokens, User } from './types';

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface AuthOptions {
  fetch: FetchLike;
  storage: KeyValueStore;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (id: unknown) => void;
  /** Refresh this long before expiry (at most half the remaining lifetime). */
  leadMs?: number;
  /** After a refresh that failed for a passing reason (network, 5xx). */
  retryMs?: number;
}

export const REFRESH_KEY = 'storefront.refresh_token';
/** Used when a token's `exp` cannot be read: the API's default lifetime. */
export const DEFAULT_LIFETIME_MS = 15 * 60 * 1000;

/** `exp` of a JWT in milliseconds since the epoch, or null. */
export function tokenExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** Milliseconds from now until the refresh should run. */
export function refreshDelay(expiresAt: number, now: number, leadMs: number): number {
  const remaining = expiresAt - now;
  if (remaining <= 0) return 0;
  return remaining - Math.min(leadMs, remaining / 2);
}

/** Refresh answers meaning "this session is over" (not "try again later"). */
function endsSession(status: number): boolean {
  return status === 400 || status === 401 || status === 403 || status === 404;
}

export class Auth {
  private token: string | null = null;
  private currentUser: User | null = null;
  private inflight: Promise<string> | null = null;
  private timer: unknown = null;
  private readonly listeners = new Set<() => void>();
  private readonly opts: Required<AuthOptions>;
  private resolveReady!: () => void;
  /** Settles once the stored session (if any) was restored or dropped. */
  readonly ready: Promise<void>;

  constructor(options: AuthOptions) {
    this.opts = {
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
      leadMs: 60_000,
      retryMs: 30_000,
      ...options,
    };
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
  }

  get accessToken(): string | null {
    return this.token;
  }

  get user(): User | null {
    return this.currentUser;
  }

  get isAdmin(): boolean {
    return this.currentUser?.role === 'admin';
  }

  /**
   * The user once the session is known: waits for a restore in progress.
   * `user` alone is null both while restoring and when signed out, so an
   * action that needs the session asks this instead.
   */
  async knownUser(): Promise<User | null> {
    await this.ready;
    return this.currentUser;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Restores a stored session: refresh, then `/me` for the user. */
  async init(): Promise<void> {
    try {
      if (this.opts.storage.getItem(REFRESH_KEY)) {
        await this.refresh();
        if (!this.currentUser) this.currentUser = await this.fetchMe();
        this.emit();
      }
    } catch {
      // A refused refresh already signed out; a network error leaves the
      // refresh token for the next attempt. Either way: not signed in now.
    } finally {
      this.resolveReady();
    }
  }

  /** After `/login`, `/register` + login, or a provider callback. */
  setSession(session: Session): void {
    this.currentUser = session.user;
    this.applyTokens(session);
    this.resolveReady();
  }

  /**
   * A new session for the signed-in user (after `PUT /me/password`, which
   * revokes every other one): the user stays, the tokens are replaced.
   */
  replaceTokens(tokens: Tokens): void {
    this.applyTokens(tokens);
  }

  /**
   * A fresher copy of the signed-in user. Ignored when nobody, or another
   * account, is signed in by now.
   */
  updateUser(user: User): void {
    if (!this.currentUser || this.currentUser.id !== user.id) return;
    this.currentUser = user;
    this.emit();
  }

  /**
   * Reads `/me` again after the account changed elsewhere (an email verified
   * through a link). Best effort: a failure keeps the cached user and never
   * ends the session (the next request deals with that).
   */
  async reloadUser(): Promise<void> {
    const token = await this.getToken();
    if (!token) return;
    try {
      const res = await this.opts.fetch('/me', {
        headers: { accept: 'application/json', authorization: `Bearer ${token}` },
      });
      if (res.ok) this.updateUser((await res.json()) as User);
    } catch {
      // Keep the cached user.
    }
  }

  private applyTokens(tokens: Tokens): void {
    this.token = tokens.token;
    this.opts.storage.setItem(REFRESH_KEY, tokens.refresh_token);
    const expiresAt = tokenExpiry(tokens.token) ?? this.opts.now() + DEFAULT_LIFETIME_MS;
    this.schedule(refreshDelay(expiresAt, this.opts.now(), this.opts.leadMs));
    this.emit();
  }

  private schedule(ms: number): void {
    if (this.timer !== null) this.opts.clearTimer(this.timer);
    this.timer = this.opts.setTimer(() => {
      this.timer = null;
      this.refresh().catch(() => {
        // Signed out (emitted) or retried later (scheduled in doRefresh).
      });
    }, ms);
  }

  /** Rotates the refresh token; concurrent callers share one request. */
  refresh(): Promise<string> {
    if (!this.inflight) {
      this.inflight = this.doRefresh().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async doRefresh(): Promise<string> {
    // Read from storage each time: another tab may have rotated it.
    const refreshToken = this.opts.storage.getItem(REFRESH_KEY);
    if (!refreshToken) {
      this.clear();
      throw new ApiError(401, 'Please sign in.');
    }
    let res: Response;
    try {
      res = await this.opts.fetch('/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken } satisfies RefreshRequest),
      });
    } catch (cause) {
      this.schedule(this.opts.retryMs);
      throw networkError(cause);
    }
    if (!res.ok) {
      const error = await errorFromResponse(res);
      if (endsSession(res.status)) this.clear();
      else this.schedule(this.opts.retryMs);
      throw error;
    }
    const tokens = (await res.json()) as Tokens;
    this.applyTokens(tokens);
    return tokens.token;
  }

  private async fetchMe(): Promise<User> {
    const res = await this.opts.fetch('/me', {
      headers: { accept: 'application/json', authorization: `Bearer ${this.token}` },
    });
    if (!res.ok) {
      const error = await errorFromResponse(res);
      if (res.status === 401) this.clear();
      throw error;
    }
    return (await res.json()) as User;
  }

  /** The token for a request: waits for the restore, refreshes an expired one. */
  async getToken(): Promise<string | null> {
    await this.ready;
    if (!this.token) return null;
    const expiresAt = tokenExpiry(this.token);
    if (expiresAt !== null && expiresAt - this.opts.now() < 5_000) {
      try {
        return await this.refresh();
      } catch {
        return null;
      }
    }
    return this.token;
  }

  /**
   * A request sent with `used` was answered 401. Returns a token to retry
   * with (a newer one if another caller already refreshed, else the result
   * of one shared refresh), or null when the session is over.
   */
  async recover(used: string | null): Promise<string | null> {
    if (this.token && used !== this.token) return this.token;
    if (!this.opts.storage.getItem(REFRESH_KEY)) {
      this.clear();
      return null;
    }
    try {
      return await this.refresh();
    } catch {
      return null;
    }
  }

  /** Ends the session here and (best effort) on the server. */
  async signOut(): Promise<void> {
    const refreshToken = this.opts.storage.getItem(REFRESH_KEY);
    this.clear();
    if (refreshToken) {
      try {
        await this.opts.fetch('/logout', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: refreshToken } satisfies RefreshRequest),
        });
      } catch {
        // Signed out locally; the family expires on its own.
      }
    }
  }

  /** Another tab removed the refresh token (signed out): follow it. */
  storageChanged(key: string | null, newValue: string | null): void {
    if ((key === REFRESH_KEY || key === null) && !newValue && this.token) this.clear();
  }

  private clear(): void {
    const had = this.token !== null || this.currentUser !== null;
    this.token = null;
    this.currentUser = null;
    this.opts.storage.removeItem(REFRESH_KEY);
    if (this.timer !== null) {
      this.opts.clearTimer(this.timer);
      this.timer = null;
    }
    if (had) this.emit();
  }
}
