// The pages behind the mailed links, and the request for a reset link
// (docs/decisions/0005 §1). A link's token is taken from the address's
// fragment and removed from it at once (lib/account.ts), then kept in memory.

import { useEffect, useRef, useState } from 'preact/hooks';
import { NewPasswordFields, ResendVerification } from '../components/account';
import { ErrorMessage, Link, Loading, Notice, PageTitle } from '../components/ui';
import { useCooldown } from '../components/useLoad';
import { INCOMPLETE_LINK, newPasswordProblem, takeLinkToken } from '../lib/account';
import { ApiError, waitSeconds } from '../lib/errors';
import { api, auth, useAuth } from '../state';

/** `/app/verify-email#token=…`: POSTs the token once, on arrival. */
export function VerifyEmailPage() {
  const { ready, user } = useAuth();
  const token = useRef<string | null>(null);
  const started = useRef(false);
  const [busy, setBusy] = useState(true);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [wait, noteError] = useCooldown();

  const send = async () => {
    if (!token.current) return;
    setBusy(true);
    setError(null);
    try {
      await api.verifyEmail({ token: token.current });
      token.current = null; // used up
      setDone(true);
      // The banner and the account page read the cached user: refresh it.
      if (await auth.knownUser()) await auth.reloadUser();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) token.current = null; // final
      setError(err);
      noteError(err);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    token.current = takeLinkToken();
    if (!token.current) {
      setError(new Error(INCOMPLETE_LINK));
      setBusy(false);
      return;
    }
    send();
  }, []);

  // A passing failure (429, 503, network) may be tried again with the same token.
  const retryable = error !== null && token.current !== null && (waitSeconds(error) !== null || (error instanceof ApiError && error.status === 0));

  return (
    <section class="narrow">
      <PageTitle title="Verify your email">Verify your email</PageTitle>
      {done ? (
        <>
          <Notice>Your email is verified. Thank you!</Notice>
          <p>
            <Link href="/">Continue shopping</Link>
          </p>
        </>
      ) : busy ? (
        <Loading label="Verifying your email…" />
      ) : (
        <>
          <ErrorMessage error={error} />
          {retryable && (
            <p>
              <button type="button" class="secondary" disabled={wait > 0} onClick={send}>
                Try again
              </button>
              {wait > 0 && <span class="hint"> You can try again in {wait} s.</span>}
            </p>
          )}
          {!retryable &&
            (user ? (
              user.email_verified === true ? (
                <Notice>Your email address is already verified.</Notice>
              ) : (
                <ResendVerification label="Send a new link" />
              )
            ) : (
              ready && (
                <p>
                  <Link href={`/app/login?next=${encodeURIComponent('/app/account')}`}>Sign in</Link> to get a new link.
                </p>
              )
            ))}
        </>
      )}
    </section>
  );
}

/** `/app/forgot-password`: always answers with the API's neutral message. */
export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [wait, noteError] = useCooldown();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || wait > 0) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await api.forgotPassword({ email: email.trim() });
      setMessage(answer?.message || 'If an account uses this address, a reset link is on its way');
    } catch (err) {
      setError(err);
      noteError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <PageTitle title="Forgot password">Forgot your password?</PageTitle>
      {message ? (
        <>
          <Notice>{message}</Notice>
          <p class="hint">The link works for 30 minutes. No mail? Check the address, and your spam folder.</p>
        </>
      ) : (
        <form onSubmit={submit} class="stack" aria-busy={busy}>
          <p>Enter the email of your account and we will send you a link to choose a new password.</p>
          <label for="forgot-email">Email</label>
          <input
            id="forgot-email"
            type="email"
            autoComplete="email"
            required
            maxLength={254}
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
          <ErrorMessage error={error} />
          <button type="submit" class="primary" disabled={busy || wait > 0}>
            Send reset link
          </button>
          {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
        </form>
      )}
      <p>
        <Link href="/app/login">Back to sign in</Link>
      </p>
    </section>
  );
}

/** `/app/reset-password#token=…`: a new password, typed twice; signs nobody in. */
export function ResetPasswordPage() {
  const token = useRef<string | null>(null);
  const started = useRef(false);
  const [missing, setMissing] = useState(false);
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [wait, noteError] = useCooldown();

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    token.current = takeLinkToken();
    if (!token.current) setMissing(true);
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || wait > 0 || !token.current) return;
    const problem = newPasswordProblem(password, again);
    if (problem) {
      setError(new Error(problem));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.resetPassword({ token: token.current, password });
      token.current = null;
      setPassword('');
      setAgain('');
      setDone(true);
    } catch (err) {
      // A 400 is a bad link or a password the API refuses: the form stays for the second.
      setError(err);
      noteError(err);
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <section class="narrow">
        <PageTitle title="Password changed">Password changed</PageTitle>
        <Notice>Your password was changed, and every device signed in to your account was signed out.</Notice>
        <p>
          <Link href="/app/login">Sign in with your new password</Link>
        </p>
      </section>
    );
  }

  return (
    <section class="narrow">
      <PageTitle title="Choose a new password">Choose a new password</PageTitle>
      {missing ? (
        <>
          <ErrorMessage error={new Error(INCOMPLETE_LINK)} />
          <p>
            <Link href="/app/forgot-password">Ask for a new link</Link>
          </p>
        </>
      ) : (
        <form onSubmit={submit} class="stack" aria-busy={busy}>
          <NewPasswordFields id="reset" password={password} again={again} onPassword={setPassword} onAgain={setAgain} />
          <ErrorMessage error={error} />
          {error instanceof ApiError && error.status === 400 && (
            <p>
              <Link href="/app/forgot-password">Ask for a new link</Link>
            </p>
          )}
          <button type="submit" class="primary" disabled={busy || wait > 0}>
            Change password
          </button>
          {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
        </form>
      )}
    </section>
  );
}
