// The API's error contract (API.md): every error is `{"error": "<message>"}`
// with a fitting status; 429 carries `Retry-After` (seconds), and so does a
// 503 of the account routes whose limiter cannot run (they fail closed).

import type { ErrorBody } from './types';

export class ApiError extends Error {
  readonly status: number;
  /** Seconds to wait, from `Retry-After` (429, sometimes 503). */
  readonly retryAfter: number | null;

  constructor(status: number, message: string, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Status 0: the request never got an answer (offline, server down). */
export const NETWORK = 0;

export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - now) / 1000));
  return null;
}

function fallbackMessage(status: number): string {
  if (status === 401) return 'Please sign in.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 404) return 'Not found.';
  if (status === 429) return 'Too many requests. Please try again later.';
  if (status >= 500) return 'The service is unavailable. Please try again.';
  return `Request failed (HTTP ${status}).`;
}

/** Turns a non-2xx response into an ApiError carrying the API's own message. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let message = '';
  try {
    const text = await res.text();
    if (text) {
      const body = JSON.parse(text) as unknown;
      if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
        message = (body as ErrorBody).error;
      }
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): use the fallback.
  }
  return new ApiError(res.status, message || fallbackMessage(res.status), parseRetryAfter(res.headers.get('retry-after')));
}

export function networkError(cause: unknown): ApiError {
  const detail = cause instanceof Error && cause.message ? ` (${cause.message})` : '';
  return new ApiError(NETWORK, `Could not reach the server${detail}. Check your connection and try again.`);
}

/**
 * Seconds to wait before trying again: a 429's `Retry-After` (1 if it has
 * none), a 503's if it has one; null when the error asks for no wait.
 */
export function waitSeconds(error: unknown): number | null {
  const e = error as { status?: unknown; retryAfter?: unknown } | null;
  if (!e || typeof e !== 'object') return null;
  const after = typeof e.retryAfter === 'number' ? e.retryAfter : null;
  if (e.status === 429) return after ?? 1;
  if (e.status === 503) return after;
  return null;
}

/** The text shown to the user for any error. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const wait = waitSeconds(error);
    if (wait !== null) {
      return `${error.message} Please wait ${wait} second${wait === 1 ? '' : 's'} before trying again.`;
    }
    return error.message;
  }
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}
