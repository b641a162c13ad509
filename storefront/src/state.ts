// The app's singletons: the session, the API client and the cart.

import { useEffect, useState } from 'preact/hooks';
import { Auth, REFRESH_KEY } from './lib/auth';
import { createClient } from './lib/api';
import { CART_KEY, CartStore } from './lib/cart';
import { here, navigate } from './lib/router';
import type { User } from './lib/types';

function storage(kind: 'localStorage' | 'sessionStorage'): Storage {
  try {
    const s = window[kind];
    s.getItem('probe');
    return s;
  } catch {
    // Storage disabled (privacy mode): keep things for this page's life.
    const map = new Map<string, string>();
    return {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
      clear: () => map.clear(),
      key: (i: number) => [...map.keys()][i] ?? null,
      get length() {
        return map.size;
      },
    } as Storage;
  }
}

export const local = storage('localStorage');
export const session = storage('sessionStorage');

const fetchFn = (input: string, init?: RequestInit) => fetch(input, { credentials: 'same-origin', ...init });

export const auth = new Auth({ fetch: fetchFn, storage: local });

const signInHere = () => `/app/login?next=${encodeURIComponent(here())}`;

/** Sends the user to sign in, then back here. */
export function toSignIn(): void {
  if (location.pathname === '/app/login') return;
  navigate(signInHere(), { replace: true });
}

/**
 * For an action that needs the session (Checkout): the signed-in user, once
 * the session is known. A click right after a page load lands while the
 * stored session is still being restored (user null, not signed out), so
 * this waits for the restore; a visitor who really is signed out is sent to
 * sign in (a push: Back returns here) and gets null. Null too, doing
 * nothing, if the visitor went to another page meanwhile.
 */
export async function requireUser(): Promise<User | null> {
  const from = here();
  const user = await auth.knownUser();
  if (here() !== from) return null;
  if (!user) navigate(signInHere());
  return user;
}

export const api = createClient({ fetch: fetchFn, auth, onUnauthorized: () => toSignIn() });

export const cart = new CartStore(local);

window.addEventListener('storage', (e) => {
  if (e.key === CART_KEY || e.key === null) cart.reload();
  if (e.key === REFRESH_KEY || e.key === null) auth.storageChanged(e.key, e.newValue);
});

function useStore<T>(subscribe: (fn: () => void) => () => void, read: () => T): T {
  const [value, setValue] = useState(read);
  useEffect(() => {
    setValue(read);
    return subscribe(() => setValue(read));
  }, []);
  return value;
}

/**
 * The session for rendering. `user` is null both while a stored session is
 * being restored and when signed out: only `ready && !user` means signed out
 * (actions use `requireUser`).
 */
export function useAuth() {
  const [ready, setReady] = useState(false);
  useEffect(() => {
    let live = true;
    auth.ready.then(() => live && setReady(true));
    return () => {
      live = false;
    };
  }, []);
  const user = useStore((fn) => auth.subscribe(fn), () => auth.user);
  return { ready, user, isAdmin: user?.role === 'admin' };
}

export function useCart() {
  return useStore((fn) => cart.subscribe(fn), () => cart.lines);
}
