// A tiny history router: path patterns with `:params`, pushState
// navigation, and a hook that re-renders on navigation.

import { useEffect, useState } from 'preact/hooks';

export type Params = Record<string, string>;

/** Matches '/app/products/:id' against a path; null when it does not match. */
export function matchPath(pattern: string, path: string): Params | null {
  const strip = (s: string) => (s.length > 1 && s.endsWith('/') ? s.slice(0, -1) : s);
  const want = strip(pattern).split('/');
  const have = strip(path).split('/');
  if (want.length !== have.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) {
      if (!have[i]) return null;
      try {
        params[want[i].slice(1)] = decodeURIComponent(have[i]);
      } catch {
        return null;
      }
    } else if (want[i] !== have[i]) {
      return null;
    }
  }
  return params;
}

const EVENT = 'storefront:navigate';

export function navigate(to: string, { replace = false } = {}): void {
  if (to === location.pathname + location.search) {
    if (!replace) window.dispatchEvent(new Event(EVENT));
    return;
  }
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(EVENT));
}

export interface Loc {
  path: string;
  query: URLSearchParams;
  /** Changes on every navigation (also to the same URL). */
  key: number;
}

let counter = 0;
function read(): Loc {
  return { path: location.pathname, query: new URLSearchParams(location.search), key: ++counter };
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const update = () => setLoc(read());
    window.addEventListener('popstate', update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return loc;
}

/** Where the user is now, to come back to after signing in. */
export function here(): string {
  return location.pathname + location.search;
}

/** Only same-app paths are followed after sign-in (no open redirect). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}
