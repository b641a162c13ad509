// Bodies of the API (openapi/openapi.json).

export type Role = 'customer' | 'admin';

export interface User {
  id: number;
  full_name: string;
  /** Null for an account made through a provider that gave no verified email. */
  email: string | null;
  role: Role;
  /**
   * Whether the account proved its email (a verify link, a reset link or a
   * provider's verified email). Missing (an older API): unknown, so nothing
   * is asked of the user.
   */
  email_verified?: boolean;
}

export interface Tokens {
  token: string;
  refresh_token: string;
}

export interface Session extends Tokens {
  user: User;
}

/** A 202's body: `POST /verify-email/resend`, `POST /password/forgot`. */
export interface Accepted {
  message: string;
}

/** `POST /verify-email` (204). The token comes from the mailed link's `#token=`. */
export interface VerifyEmailRequest {
  token: string;
}

/** `POST /password/forgot`: always 202 with the same message, account or not. */
export interface ForgotPasswordRequest {
  email: string;
}

/** `POST /password/reset` (204): signs nobody in, ends every session of the account. */
export interface ResetPasswordRequest {
  token: string;
  password: string;
}

/** `PUT /me/password`: 200 with a new session ({@link Tokens}); 403 wrong current; 409 no password. */
export interface ChangePasswordRequest {
  current_password: string;
  new_password: string;
}

export interface ProductSummary {
  id: number;
  name: string;
  description: string;
  price: number;
  stock: number;
}

export interface Product extends ProductSummary {
  created_at: string;
  updated_at: string;
}

export interface ProductInput {
  name: string;
  description?: string;
  price: number;
  stock: number;
}

export interface Page {
  total: number;
  page: number;
  page_size: number;
}

export interface ProductList extends Page {
  products: ProductSummary[];
}

export type OrderStatus = 'pending' | 'paid' | 'failed' | 'expired' | 'cancelled';

/** A payment's status: an order's, and `refunded` (a paid payment whose money went back). */
export type PaymentStatus = OrderStatus | 'refunded';

export interface OrderItem {
  id: number;
  product_id: number;
  quantity: number;
  price: number;
}

export interface Order {
  id: number;
  user_id: number;
  total_price: number;
  status: OrderStatus;
  order_items: OrderItem[];
  created_at: string;
  updated_at: string;
}

export interface OrderList extends Page {
  orders: Order[];
}

/** The answer to `POST /order/{id}/cancel`; the order itself follows moments later (the saga). */
export interface Cancelled {
  order_id: number;
  status: 'cancelled';
}

export interface OrderLineInput {
  product_id: number;
  quantity: number;
}

export interface InitiateRequest {
  order_id: number;
  customer_name: string;
  customer_email: string;
}

export interface Initiated {
  payment_id: number;
  gateway_token: string;
  gateway_redirect_url: string;
  status: 'pending';
  expired_at: string;
}

export type Provider = 'google' | 'github' | 'facebook';
