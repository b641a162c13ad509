// Account links and passwords (docs/decisions/0005 §1).
//
// The mailed links are `/app/verify-email#token=…` and
// `/app/reset-password#token=…`: the token rides in the fragment, so it never
// reaches a server log, a CDN or a `Referer`. The page takes it out of the
// address (history.replaceState: no navigation, and no history entry keeps
// it), holds it in memory only, and POSTs it. It is never logged or stored.

/** The API's password rule (platform_core::account): 8 to 128 characters, kept exactly as typed. */
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_CHARS = 128;
export const PASSWORD_HINT = `${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters.`;

/** Shown when a link page is opened without its token (or reloaded after it was taken). */
export const INCOMPLETE_LINK =
  'This link is incomplete. Open the link from your email again (it works only once), or ask for a new one.';

/**
 * Takes the `token` of the current address's fragment (`#token=…`) and
 * removes the whole fragment from the address bar. Null when there is none.
 */
export function takeLinkToken(loc: Location = window.location, hist: History = window.history): string | null {
  const hash = loc.hash;
  if (!hash) return null;
  let token: string | null = null;
  try {
    token = new URLSearchParams(hash.slice(1)).get('token');
  } catch {
    // Unreadable fragment: no token.
  }
  hist.replaceState(hist.state, '', loc.pathname + loc.search);
  token = token?.trim() ?? null;
  return token ? token : null;
}

/** The client-side check of a new password typed twice; null when it may be sent. */
export function newPasswordProblem(password: string, again: string): string | null {
  if (password !== again) return 'The two new passwords are not the same.';
  return null;
}
