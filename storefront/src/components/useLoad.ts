import { useEffect, useState } from 'preact/hooks';
import { waitSeconds } from '../lib/errors';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err) => {
        if (!live) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

/**
 * After a 429 (or a 503 with Retry-After), the seconds left before trying
 * again, counting down; forms disable their submit button meanwhile.
 */
export function useCooldown(): [number, (error: unknown) => void] {
  const [until, setUntil] = useState(0);
  const [, setTick] = useState(0);
  const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
  useEffect(() => {
    if (left <= 0) return;
    const id = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(id);
  }, [left > 0]);
  const note = (error: unknown) => {
    const wait = waitSeconds(error);
    if (wait !== null && wait > 0) setUntil(Date.now() + wait * 1000);
  };
  return [left, note];
}
