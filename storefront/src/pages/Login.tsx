import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorMessage, Link, Loading, Notice, PageTitle } from '../components/ui';
import { useCooldown } from '../components/useLoad';
import { PASSWORD_HINT, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS } from '../lib/account';
import { describeError } from '../lib/errors';
import { setFlash, takeFlash } from '../lib/flash';
import { rememberOAuthState, takeOAuthState } from '../lib/oauthState';
import { navigate, safeNext, type Loc } from '../lib/router';
import type { Provider } from '../lib/types';
import { api, auth, session } from '../state';

const OAUTH_NEXT = 'storefront.oauth_next';
const PROVIDERS: { id: Provider; name: string }[] = [
  { id: 'google', name: 'Google' },
  { id: 'github', name: 'GitHub' },
  { id: 'facebook', name: 'Facebook' },
];

function ProviderButtons({ next }: { next: string }) {
  const [busy, setBusy] = useState<Provider | null>(null);
  const [error, setError] = useState<unknown>(null);
  const start = async (provider: Provider) => {
    setBusy(provider);
    setError(null);
    try {
      const { url } = await api.oauthStart(provider);
      // Only this tab may finish this flow (see lib/oauthState.ts).
      rememberOAuthState(session, provider, url);
      session.setItem(OAUTH_NEXT, next);
      window.location.assign(url);
    } catch (err) {
      setError(err);
      setBusy(null);
    }
  };
  return (
    <div class="providers" role="group" aria-labelledby="providers-title">
      <h2 id="providers-title">Or continue with</h2>
      <ErrorMessage error={error} />
      {PROVIDERS.map((p) => (
        <button key={p.id} type="button" class="secondary provider" disabled={busy !== null} onClick={() => start(p.id)}>
          Sign in with {p.name}
        </button>
      ))}
    </div>
  );
}

export function LoginPage({ loc }: { loc: Loc }) {
  const next = safeNext(loc.query.get('next'));
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [flash] = useState(() => takeFlash(session));
  const [wait, noteError] = useCooldown();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || wait > 0) return;
    setBusy(true);
    setError(null);
    try {
      const s = await api.login(email.trim(), password);
      auth.setSession(s);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
      noteError(err);
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <PageTitle title="Sign in">Sign in</PageTitle>
      {flash && <Notice>{flash}</Notice>}
      <form onSubmit={submit} class="stack">
        <label for="login-email">Email</label>
        <input id="login-email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        <label for="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy || wait > 0}>
          Sign in
        </button>
        {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
      </form>
      <p>
        <Link href="/app/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link href={`/app/register?next=${encodeURIComponent(next)}`}>Create an account</Link>
      </p>
      <ProviderButtons next={next} />
    </section>
  );
}

export function RegisterPage({ loc }: { loc: Loc }) {
  const next = safeNext(loc.query.get('next'));
  const [fullName, setFullName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [wait, noteError] = useCooldown();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || wait > 0) return;
    setBusy(true);
    setError(null);
    try {
      await api.register(fullName.trim(), email.trim(), password);
    } catch (err) {
      setError(err);
      noteError(err);
      setBusy(false);
      return;
    }
    try {
      auth.setSession(await api.login(email.trim(), password));
      navigate(next, { replace: true });
    } catch (err) {
      setFlash(session, `Your account was created. Please sign in. (${describeError(err)})`);
      navigate(`/app/login?next=${encodeURIComponent(next)}`, { replace: true });
    }
  };

  return (
    <section class="narrow">
      <PageTitle title="Register">Create an account</PageTitle>
      <form onSubmit={submit} class="stack">
        <label for="reg-name">Full name</label>
        <input id="reg-name" autoComplete="name" required maxLength={200} value={fullName} onInput={(e) => setFullName(e.currentTarget.value)} />
        <label for="reg-email">Email</label>
        <input id="reg-email" type="email" autoComplete="email" required maxLength={254} value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        <label for="reg-password">Password</label>
        <input
          id="reg-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={PASSWORD_MIN_CHARS}
          maxLength={PASSWORD_MAX_CHARS}
          aria-describedby="reg-password-hint"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <p id="reg-password-hint" class="hint">
          {PASSWORD_HINT}
        </p>
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy || wait > 0}>
          Register
        </button>
        {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
      </form>
      <p>
        Already have an account? <Link href={`/app/login?next=${encodeURIComponent(next)}`}>Sign in instead</Link>
      </p>
      <ProviderButtons next={next} />
    </section>
  );
}

/** Shown for a callback this tab did not start (or started too long ago): never sent to the API. */
export const NOT_STARTED_HERE = 'This sign-in link was not started in this browser tab. Please sign in again.';

/** The provider's own refusal (`error=access_denied` …), in our words: its `error_description` is not shown (anyone can write one into a link). */
function providerRefusal(name: string, error: string): Error {
  if (error === 'access_denied') return new Error(`Sign-in with ${name} was cancelled.`);
  const code = /^[A-Za-z0-9_.-]{1,64}$/.test(error) ? ` (${error})` : '';
  return new Error(`${name} did not complete the sign-in${code}. Please try again.`);
}

/**
 * `/app/oauth/:provider/callback?code=&state=`: finishes a provider sign-in,
 * only if this tab started it (the `state` it remembered; lib/oauthState.ts).
 */
export function OAuthCallbackPage({ provider, loc }: { provider: string; loc: Loc }) {
  const [error, setError] = useState<unknown>(null);
  const [retry, setRetry] = useState('/app/login');
  const started = useRef(false);
  const name = PROVIDERS.find((p) => p.id === provider)?.name ?? provider;
  useEffect(() => {
    if (started.current) return; // the state is single use: call once
    started.current = true;
    if (!PROVIDERS.some((p) => p.id === provider)) {
      setError(new Error(`Unknown sign-in provider “${provider}”.`));
      return;
    }
    // Both are used up by this visit, whatever comes of it: a link cannot be replayed here.
    const verdict = takeOAuthState(session, provider as Provider, loc.query.get('state'));
    const next = safeNext(session.getItem(OAUTH_NEXT));
    session.removeItem(OAUTH_NEXT);
    if (next !== '/') setRetry(`/app/login?next=${encodeURIComponent(next)}`);

    const refused = loc.query.get('error');
    if (refused) {
      setError(providerRefusal(name, refused));
      return;
    }
    if (verdict !== 'ok') {
      setError(new Error(NOT_STARTED_HERE));
      return;
    }
    const code = loc.query.get('code');
    const state = loc.query.get('state')!; // 'ok' means it equals the remembered one
    if (!code) {
      setError(new Error('The sign-in answer is missing its code. Please sign in again.'));
      return;
    }
    api.oauthCallback(provider as Provider, code, state).then(
      (s) => {
        auth.setSession(s);
        navigate(next, { replace: true });
      },
      setError,
    );
  }, []);
  return (
    <section class="narrow">
      <PageTitle title="Signing in">Signing in with {name}</PageTitle>
      {error ? (
        <>
          <ErrorMessage error={error} />
          <p>
            <Link href={retry}>Back to sign in</Link>
          </p>
        </>
      ) : (
        <Loading label="Finishing sign-in…" />
      )}
    </section>
  );
}
