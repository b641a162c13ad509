// The HTTP client: JSON in and out, the API's error messages as ApiError,
// bearer tokens from Auth with one shared refresh on 401 and one retry.

import { ApiError, errorFromResponse, networkError } from './errors';
import type { FetchLike } from './auth';
import type {
  Accepted,
  AdminOrderDetail,
  AdminOrderList,
  AdminOrderQuery,
  AdminUserEnvelope,
  AdminUserList,
  AdminUserQuery,
  AnomalyAction,
  AnomalyList,
  AuditList,
  AuditQuery,
  AuthorizeUrl,
  Cancelled,
  ChangePasswordRequest,
  Credentials,
  ForgotPasswordRequest,
  Initiated,
  InitiateRequest,
  Message,
  OrderEnvelope,
  OrderInput,
  OrderLineInput,
  OrderList,
  ProductEnvelope,
  ProductInput,
  ProductList,
  Provider,
  RefundResult,
  Registration,
  ResetPasswordRequest,
  Role,
  RoleInput,
  Session,
  Tokens,
  User,
  VerifyEmailRequest,
} from './types';

export interface TokenSource {
  getToken(): Promise<string | null>;
  recover(used: string | null): Promise<string | null>;
}

export interface ApiOptions {
  fetch: FetchLike;
  auth: TokenSource;
  /** A signed-in request was refused even after a refresh: send to sign-in. */
  onUnauthorized?: (error: ApiError) => void;
}

export interface RequestOptions {
  body?: unknown;
  /** Send the bearer token (and handle 401 by refreshing once). */
  auth?: boolean;
  headers?: Record<string, string>;
}

export function createClient(options: ApiOptions) {
  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const send = async (token: string | null): Promise<Response> => {
      const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      try {
        return await options.fetch(path, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        });
      } catch (cause) {
        throw networkError(cause);
      }
    };

    const token = opts.auth ? await options.auth.getToken() : null;
    let res = await send(token);
    if (res.status === 401 && opts.auth) {
      if (token) {
        const fresh = await options.auth.recover(token);
        if (fresh) res = await send(fresh);
      }
      if (res.status === 401) {
        const error = await errorFromResponse(res);
        options.onUnauthorized?.(error);
        throw error;
      }
    }
    if (!res.ok) throw await errorFromResponse(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, 'The server sent an unreadable answer.');
    }
  }

  const q = (params: Record<string, number>) =>
    '?' + Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
  /** A query string of the parameters that have a value ('' when none). */
  const query = (params: Record<string, string | number | undefined>) => {
    const set = Object.entries(params).filter(([, v]) => v !== undefined && v !== '');
    return set.length ? '?' + set.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&') : '';
  };

  return {
    request,

    // Accounts
    register: (full_name: string, email: string, password: string) =>
      request<Message>('POST', '/register', { body: { full_name, email, password } satisfies Registration }),
    login: (email: string, password: string) =>
      request<Session>('POST', '/login', { body: { email, password } satisfies Credentials }),
    me: () => request<User>('GET', '/me', { auth: true }),
    oauthStart: (provider: Provider) =>
      request<AuthorizeUrl>('GET', `/oauth/${provider}`),
    oauthCallback: (provider: Provider, code: string, state: string) =>
      request<Session>(
        'GET',
        `/oauth/${provider}/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`,
      ),

    // Account links and passwords (docs/decisions/0005 §1)
    verifyEmail: (body: VerifyEmailRequest) => request<void>('POST', '/verify-email', { body }),
    /** 409: already verified. */
    resendVerification: () => request<Accepted>('POST', '/verify-email/resend', { auth: true }),
    forgotPassword: (body: ForgotPasswordRequest) => request<Accepted>('POST', '/password/forgot', { body }),
    resetPassword: (body: ResetPasswordRequest) => request<void>('POST', '/password/reset', { body }),
    /** A new session for the caller (every other one is revoked): store it with `auth.replaceTokens`. */
    changePassword: (body: ChangePasswordRequest) => request<Tokens>('PUT', '/me/password', { body, auth: true }),

    // Catalog
    listProducts: (page: number, page_size: number) =>
      request<ProductList>('GET', '/product' + q({ page, page_size })),
    getProduct: (id: number) => request<ProductEnvelope>('GET', `/product/${id}`),
    createProduct: (input: ProductInput) =>
      request<ProductEnvelope>('POST', '/product', { body: input, auth: true }),
    updateProduct: (id: number, input: ProductInput) =>
      request<ProductEnvelope>('PUT', `/product/${id}`, { body: input, auth: true }),
    deleteProduct: (id: number) => request<void>('DELETE', `/product/${id}`, { auth: true }),

    // Orders and payments
    listOrders: (page: number, page_size: number) =>
      request<OrderList>('GET', '/order' + q({ page, page_size }), { auth: true }),
    getOrder: (id: number) => request<OrderEnvelope>('GET', `/order/${id}`, { auth: true }),
    createOrder: (items: OrderLineInput[], idempotencyKey: string) =>
      request<OrderEnvelope>('POST', '/order', {
        body: { items } satisfies OrderInput,
        auth: true,
        headers: { 'idempotency-key': idempotencyKey },
      }),
    /** Only a pending order (409 otherwise); a repeat answers 200 again. */
    cancelOrder: (id: number) => request<Cancelled>('POST', `/order/${id}/cancel`, { auth: true }),
    initiatePayment: (body: InitiateRequest) =>
      request<Initiated>('POST', '/payment/initiate', { body, auth: true }),

    // The back office (administrators only; a customer gets 403)
    adminListOrders: (filter: AdminOrderQuery) =>
      request<AdminOrderList>('GET', '/admin/orders' + query({ ...filter }), { auth: true }),
    adminGetOrder: (id: number) => request<AdminOrderDetail>('GET', `/admin/orders/${id}`, { auth: true }),
    /** The customer's cancel for any order: 409 unless pending (a cancelled one answers 200 again). */
    adminCancelOrder: (id: number) => request<Cancelled>('POST', `/admin/orders/${id}/cancel`, { auth: true }),
    /** 202 `requested` / `owed`, 200 `refunded` (before); 409 nothing to refund; 502 Midtrans refused. */
    adminRefundPayment: (paymentId: number) =>
      request<RefundResult>('POST', `/admin/payments/${paymentId}/refund`, { auth: true }),
    adminListAnomalies: (olderThanSecs?: number) =>
      request<AnomalyList>('GET', '/admin/anomalies' + query({ older_than_secs: olderThanSecs }), { auth: true }),
    /** An anomaly's fix: a POST with no body, to an admin path only. */
    adminAction: (action: AnomalyAction) => {
      if (action.method !== 'POST' || !/^\/admin\/[A-Za-z0-9/_-]+$/.test(action.path)) {
        return Promise.reject(new ApiError(400, `Not an admin action: ${action.method} ${action.path}`));
      }
      return request<unknown>('POST', action.path, { auth: true });
    },
    adminListUsers: (filter: AdminUserQuery) =>
      request<AdminUserList>('GET', '/admin/users' + query({ ...filter }), { auth: true }),
    /** 409 for your own account. */
    adminSetUserRole: (userId: number, role: Role) =>
      request<AdminUserEnvelope>('PUT', `/admin/users/${userId}/role`, { body: { role } satisfies RoleInput, auth: true }),
    adminListAudit: (filter: AuditQuery) =>
      request<AuditList>('GET', '/admin/audit' + query({ ...filter }), { auth: true }),
  };
}

export type Client = ReturnType<typeof createClient>;
