import { useState } from 'preact/hooks';
import { PASSWORD_HINT, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS } from '../lib/account';
import { ApiError } from '../lib/errors';
import { auth, api, useAuth } from '../state';
import { ErrorMessage, Notice } from './ui';
import { useCooldown } from './useLoad';

/** A new password, typed twice (the page compares them before sending). */
export function NewPasswordFields({
  id,
  password,
  again,
  onPassword,
  onAgain,
  disabled = false,
}: {
  id: string;
  password: string;
  again: string;
  onPassword: (value: string) => void;
  onAgain: (value: string) => void;
  disabled?: boolean;
}) {
  return (
    <>
      <label for={`${id}-new`}>New password</label>
      <input
        id={`${id}-new`}
        type="password"
        autoComplete="new-password"
        required
        minLength={PASSWORD_MIN_CHARS}
        maxLength={PASSWORD_MAX_CHARS}
        aria-describedby={`${id}-new-hint`}
        disabled={disabled}
        value={password}
        onInput={(e) => onPassword(e.currentTarget.value)}
      />
      <p id={`${id}-new-hint`} class="hint">
        {PASSWORD_HINT}
      </p>
      <label for={`${id}-again`}>New password again</label>
      <input
        id={`${id}-again`}
        type="password"
        autoComplete="new-password"
        required
        maxLength={PASSWORD_MAX_CHARS}
        disabled={disabled}
        value={again}
        onInput={(e) => onAgain(e.currentTarget.value)}
      />
    </>
  );
}

export const ALREADY_VERIFIED = 'Your email address is already verified.';
const SENT_FALLBACK = 'A new link is on its way.';

/**
 * "Send a new link" for the signed-in user (`POST /verify-email/resend`):
 * 202 shows the API's message; 409 (already verified) marks the cached user
 * verified, which also hides the banner; 429 shows the wait and disables the
 * button for that long.
 */
export function ResendVerification({ label = 'Resend' }: { label?: string }) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [wait, noteError] = useCooldown();

  const resend = async () => {
    if (busy || wait > 0) return;
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const answer = await api.resendVerification();
      setMessage(answer?.message || SENT_FALLBACK);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setMessage(ALREADY_VERIFIED);
        const user = auth.user;
        if (user) auth.updateUser({ ...user, email_verified: true });
      } else {
        setError(err);
        noteError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="resend" aria-busy={busy}>
      <button type="button" class="secondary" disabled={busy || wait > 0} onClick={resend}>
        {label}
      </button>
      {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
      {message && <Notice>{message}</Notice>}
      <ErrorMessage error={error} />
    </div>
  );
}

/**
 * For a signed-in user whose email is not verified (`email_verified: false`).
 * The contract requires the field; a body without it (a server older than
 * the contract) is taken as unknown and shows nothing.
 */
export function VerifyEmailBanner() {
  const { user } = useAuth();
  if (!user || user.email_verified !== false || !user.email) return null;
  return (
    <aside class="banner" aria-label="Email verification" data-testid="verify-banner">
      <p>
        Please verify your email — we sent a link to <strong>{user.email}</strong>.
      </p>
      <ResendVerification />
    </aside>
  );
}
