// Login CSRF through OAuth: the API keeps a flow's `state` only in Redis,
// keyed by itself, so it cannot tell whose browser a callback arrives in.
// An attacker could start a flow, stop at the provider's redirect and send
// the link `/app/oauth/<p>/callback?code=C&state=S` to a victim, whose
// storefront would finish it and sign them into the attacker's account.
// So the tab that clicks "Sign in with …" remembers the `state` of the
// authorize URL (sessionStorage: this tab only; per provider; with the time
// it started), and the callback page goes on only if the URL's `state` is
// that one and younger than the server's state lifetime. Whatever the
// verdict, the remembered state is removed: a link works once per start.

import type { KeyValueStore } from './auth';
import type { Provider } from './types';

/** The server's state lifetime (PENDING_TTL_SECS in components/users/src/oauth.rs). */
export const OAUTH_STATE_TTL_MS = 10 * 60 * 1000;

export const oauthStateKey = (provider: Provider) => `storefront.oauth_state.${provider}`;

interface Pending {
  state: string;
  /** Milliseconds since the epoch when the sign-in was started here. */
  started: number;
}

/** Why a callback may not go on ('ok': it may). */
export type StateVerdict = 'ok' | 'missing' | 'foreign' | 'expired';

/**
 * Reads `state` from the provider's authorize URL and remembers it for
 * `provider`; returns it. Throws (and remembers nothing) when the URL has
 * none: its callback would be refused anyway.
 */
export function rememberOAuthState(storage: KeyValueStore, provider: Provider, authorizeUrl: string, now = Date.now()): string {
  let state: string | null = null;
  try {
    state = new URL(authorizeUrl).searchParams.get('state');
  } catch {
    // Not an absolute URL: no state.
  }
  if (!state) throw new Error('The sign-in could not be started (the provider address has no state). Please try again.');
  const pending: Pending = { state, started: now };
  storage.setItem(oauthStateKey(provider), JSON.stringify(pending));
  return state;
}

function read(storage: KeyValueStore, provider: Provider): Pending | null {
  try {
    const raw = storage.getItem(oauthStateKey(provider));
    if (!raw) return null;
    const p = JSON.parse(raw) as Partial<Pending> | null;
    if (!p || typeof p.state !== 'string' || !p.state || typeof p.started !== 'number' || !Number.isFinite(p.started)) return null;
    return { state: p.state, started: p.started };
  } catch {
    return null;
  }
}

/**
 * The callback's check: takes (removes) the state remembered for `provider`
 * and says whether `state` from the callback URL is it, and still fresh.
 */
export function takeOAuthState(
  storage: KeyValueStore,
  provider: Provider,
  state: string | null,
  now = Date.now(),
): StateVerdict {
  const pending = read(storage, provider);
  try {
    storage.removeItem(oauthStateKey(provider));
  } catch {
    // Nothing to remove, or storage gone: nothing to replay either.
  }
  if (!pending) return 'missing';
  if (!state || state !== pending.state) return 'foreign';
  const age = now - pending.started;
  if (age < 0 || age >= OAUTH_STATE_TTL_MS) return 'expired';
  return 'ok';
}
