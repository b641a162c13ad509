import { useState } from 'preact/hooks';
import { NewPasswordFields } from '../components/account';
import { ErrorMessage, Link, Notice, PageTitle } from '../components/ui';
import { useCooldown } from '../components/useLoad';
import { newPasswordProblem } from '../lib/account';
import { ApiError } from '../lib/errors';
import { api, auth, useAuth } from '../state';

export const WRONG_CURRENT_PASSWORD = 'Your current password is wrong.';

/** `PUT /me/password`: 200 is a new session (every other one is revoked); 403 wrong current; 409 no password. */
function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [noPassword, setNoPassword] = useState(false);
  const [changed, setChanged] = useState(false);
  const [wait, noteError] = useCooldown();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || wait > 0) return;
    setChanged(false);
    setNoPassword(false);
    const problem = newPasswordProblem(password, again);
    if (problem) {
      setError(new Error(problem));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const tokens = await api.changePassword({ current_password: current, new_password: password });
      auth.replaceTokens(tokens); // as the sign-in does: the access token in memory, the refresh token stored
      setCurrent('');
      setPassword('');
      setAgain('');
      setChanged(true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) setError(new Error(WRONG_CURRENT_PASSWORD));
      else if (err instanceof ApiError && err.status === 409) setNoPassword(true);
      else {
        setError(err);
        noteError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} class="stack" aria-busy={busy} aria-labelledby="change-password-title">
      <h2 id="change-password-title">Change password</h2>
      <label for="change-current">Current password</label>
      <input
        id="change-current"
        type="password"
        autoComplete="current-password"
        required
        value={current}
        onInput={(e) => setCurrent(e.currentTarget.value)}
      />
      <NewPasswordFields id="change" password={password} again={again} onPassword={setPassword} onAgain={setAgain} />
      <ErrorMessage error={error} />
      {noPassword && (
        <p class="alert error" role="alert">
          This account has no password: it was made by signing in with Google, GitHub or Facebook. To set one, use{' '}
          <Link href="/app/forgot-password">Forgot password</Link> — we will mail you a link.
        </p>
      )}
      {changed && <Notice>Your password was changed. Every other device signed in to your account was signed out.</Notice>}
      <button type="submit" class="primary" disabled={busy || wait > 0}>
        Change password
      </button>
      {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
    </form>
  );
}

/** `/app/account` (signed in): who you are, your email's state (the banner above offers a new link), your password. */
export function AccountPage() {
  const { user } = useAuth();
  if (!user) return null; // RequireAuth
  return (
    <section class="narrow">
      <PageTitle title="Your account">Your account</PageTitle>
      <dl class="facts">
        <dt>Name</dt>
        <dd>{user.full_name}</dd>
        <dt>Email</dt>
        <dd data-testid="account-email">
          {user.email ?? <span class="muted">none</span>}
          {user.email && user.email_verified === true && (
            <>
              {' '}
              <span class="badge status-paid">verified</span>
            </>
          )}
          {user.email && user.email_verified === false && (
            <>
              {' '}
              <span class="badge status-pending">not verified</span>
            </>
          )}
        </dd>
      </dl>
      <ChangePassword />
    </section>
  );
}
