// Bodies of the API, as aliases of the types generated from
// openapi/openapi.json (src/lib/api-schema.ts, `npm run gen:api`): a field the
// server renames or retypes breaks `tsc`, not the shop. Never hand-write a
// body here; client-only shapes (cart lines, …) live with their code.

import type { components, operations } from './api-schema';

type Schemas = components['schemas'];

/** The `{"error": "..."}` of every error answer. */
export type ErrorBody = Schemas['Error'];

export type User = Schemas['User'];
export type Role = User['role'];
export type Tokens = Schemas['Tokens'];
export type Session = Schemas['Session'];
export type RefreshRequest = Schemas['RefreshRequest'];
export type Registration = Schemas['Registration'];
export type Credentials = Schemas['Credentials'];
export type AuthorizeUrl = Schemas['AuthorizeUrl'];
export type Provider = operations['oauthStart']['parameters']['path']['provider'];

/** A message body: `POST /register` (201), and the 202 of `POST /verify-email/resend` and `POST /password/forgot`. */
export type Message = Schemas['Message'];
export type Accepted = Message;

/** `POST /verify-email` (204). The token comes from the mailed link's `#token=`. */
export type VerifyEmailRequest = Schemas['LinkToken'];
/** `POST /password/forgot`: always 202 with the same message, account or not. */
export type ForgotPasswordRequest = Schemas['ForgotPassword'];
/** `POST /password/reset` (204): signs nobody in, ends every session of the account. */
export type ResetPasswordRequest = Schemas['PasswordReset'];
/** `PUT /me/password`: 200 with a new session ({@link Tokens}); 403 wrong current; 409 no password. */
export type ChangePasswordRequest = Schemas['PasswordChange'];

export type ProductSummary = Schemas['ProductSummary'];
export type Product = Schemas['Product'];
export type ProductInput = Schemas['ProductInput'];
export type ProductEnvelope = Schemas['ProductEnvelope'];
export type ProductList = Schemas['ProductList'];

export type OrderItem = Schemas['OrderItem'];
export type Order = Schemas['Order'];
export type OrderStatus = Order['status'];
export type OrderEnvelope = Schemas['OrderEnvelope'];
export type OrderList = Schemas['OrderList'];
export type OrderInput = Schemas['OrderInput'];
export type OrderLineInput = OrderInput['items'][number];
/** The answer to `POST /order/{id}/cancel`; the order itself follows moments later (the saga). */
export type Cancelled = Schemas['Cancelled'];

/** A payment's status: an order's, and `refunded` (a paid payment whose money went back). */
export type PaymentStatus = Schemas['Payment']['status'];
export type InitiateRequest = Schemas['InitiateRequest'];
export type Initiated = Schemas['Initiated'];

// The back office (`/admin/...`, administrators only).
export type AdminOrderSummary = Schemas['AdminOrderSummary'];
export type AdminOrderList = Schemas['AdminOrderList'];
/** The filters of `GET /admin/orders` (with `page`, `page_size`). */
export type AdminOrderQuery = NonNullable<operations['adminListOrders']['parameters']['query']>;
export type AdminOrderDetail = Schemas['AdminOrderDetail'];
export type AdminPayment = Schemas['AdminPayment'];
export type AdminAttempt = Schemas['AdminAttempt'];
export type AdminNotification = Schemas['AdminNotification'];
export type AdminEvent = Schemas['AdminEvent'];
/** `POST /admin/payments/{id}/refund`: 202 requested or owed, 200 refunded before. */
export type RefundResult = Schemas['RefundResult'];
export type AnomalyList = Schemas['AnomalyList'];
export type Anomaly = Schemas['Anomaly'];
export type AnomalyKind = Anomaly['kind'];
export type AnomalyAction = Schemas['AnomalyAction'];
export type AdminUser = Schemas['AdminUser'];
export type AdminUserList = Schemas['AdminUserList'];
export type AdminUserQuery = NonNullable<operations['adminListUsers']['parameters']['query']>;
export type AdminUserEnvelope = Schemas['AdminUserEnvelope'];
export type RoleInput = Schemas['RoleInput'];
export type AuditEntry = Schemas['AuditEntry'];
export type AuditList = Schemas['AuditList'];
export type AuditQuery = NonNullable<operations['adminListAudit']['parameters']['query']>;
export type AuditTargetType = AuditEntry['target_type'];
