// The app's singletons: the session, the API client and the cart.

import { useEffect, useState } from 'preact/hooks';
import { Auth, REFRESH_KEY } from './lib/auth';
import { createClient } from './lib/api';
import { CART_KEY, CartStore } from './lib/cart';
import { here, navigate } from './lib/router';

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

/** Sends the user to sign in, then back here. */
export function toSignIn(): void {
  if (location.pathname === '/app/login') return;
  navigate(`/app/login?next=${encodeURIComponent(here())}`, { replace: true });
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
