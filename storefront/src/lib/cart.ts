// The cart, kept in the browser (localStorage). Pure functions over lines,
// and a small store that persists them and notifies subscribers.

import type { KeyValueStore } from './auth';
import type { OrderLineInput } from './types';

export interface CartLine {
  product_id: number;
  name: string;
  /** Price when added, for display; the order is priced by the catalog. */
  price: number;
  /** Stock when last seen: the upper bound of the quantity. */
  stock: number;
  quantity: number;
}

export interface CartProduct {
  id: number;
  name: string;
  price: number;
  stock: number;
}

/** The API's limits on one order: 1–1000 units of a product, 1–100 products. */
export const MAX_UNITS = 1000;
export const MAX_LINES = 100;
export const CART_KEY = 'storefront.cart.v1';

export function maxQuantity(stock: number): number {
  return Math.max(0, Math.min(Math.floor(stock), MAX_UNITS));
}

export interface AddResult {
  lines: CartLine[];
  /** Units actually added (may be fewer than asked). */
  added: number;
  /** Why fewer units were added, for the user. */
  notice: string | null;
}

export function addToCart(lines: CartLine[], product: CartProduct, quantity = 1): AddResult {
  const wanted = Math.floor(quantity);
  if (!(wanted >= 1)) return { lines, added: 0, notice: 'Choose a quantity of at least 1.' };
  const limit = maxQuantity(product.stock);
  if (limit === 0) return { lines, added: 0, notice: `${product.name} is out of stock.` };
  const index = lines.findIndex((l) => l.product_id === product.id);
  if (index === -1 && lines.length >= MAX_LINES) {
    return { lines, added: 0, notice: `A cart holds at most ${MAX_LINES} different products.` };
  }
  const current = index === -1 ? 0 : lines[index].quantity;
  const quantityNow = Math.min(current + wanted, limit);
  const added = Math.max(0, quantityNow - current);
  const line: CartLine = {
    product_id: product.id,
    name: product.name,
    price: product.price,
    stock: product.stock,
    quantity: quantityNow,
  };
  const next = index === -1 ? [...lines, line] : lines.map((l, i) => (i === index ? line : l));
  const notice = added < wanted ? `Only ${limit} of ${product.name} can be ordered; your cart has ${line.quantity}.` : null;
  return { lines: next, added, notice };
}

/** Sets a line's quantity, clamped to 1 … its limit. */
export function setQuantity(lines: CartLine[], productId: number, quantity: number): CartLine[] {
  return lines.map((l) => {
    if (l.product_id !== productId) return l;
    const limit = Math.max(1, maxQuantity(l.stock));
    const q = Number.isFinite(quantity) ? Math.floor(quantity) : l.quantity;
    return { ...l, quantity: Math.min(Math.max(q, 1), limit) };
  });
}

export function removeFromCart(lines: CartLine[], productId: number): CartLine[] {
  return lines.filter((l) => l.product_id !== productId);
}

export function cartCount(lines: CartLine[]): number {
  return lines.reduce((n, l) => n + l.quantity, 0);
}

export function cartTotal(lines: CartLine[]): number {
  return lines.reduce((n, l) => n + l.price * l.quantity, 0);
}

export function orderItems(lines: CartLine[]): OrderLineInput[] {
  return lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity }));
}

function isLine(value: unknown): value is CartLine {
  const l = value as CartLine;
  return (
    !!l &&
    Number.isInteger(l.product_id) && l.product_id > 0 &&
    typeof l.name === 'string' &&
    Number.isFinite(l.price) &&
    Number.isFinite(l.stock) &&
    Number.isInteger(l.quantity) && l.quantity >= 1
  );
}

/** Reads the stored cart; anything malformed is dropped, never thrown. */
export function loadCart(storage: KeyValueStore): CartLine[] {
  try {
    const raw = storage.getItem(CART_KEY);
    if (!raw) return [];
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) return [];
    const seen = new Set<number>();
    const lines: CartLine[] = [];
    for (const item of parsed) {
      if (!isLine(item) || seen.has(item.product_id)) continue;
      seen.add(item.product_id);
      lines.push({ ...item, quantity: Math.min(item.quantity, MAX_UNITS) });
      if (lines.length === MAX_LINES) break;
    }
    return lines;
  } catch {
    return [];
  }
}

export function saveCart(storage: KeyValueStore, lines: CartLine[]): void {
  try {
    if (lines.length === 0) storage.removeItem(CART_KEY);
    else storage.setItem(CART_KEY, JSON.stringify(lines));
  } catch {
    // Storage full or disabled: the cart still works for this page's life.
  }
}

export class CartStore {
  private current: CartLine[];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly storage: KeyValueStore) {
    this.current = loadCart(storage);
  }

  get lines(): CartLine[] {
    return this.current;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private commit(lines: CartLine[]): void {
    this.current = lines;
    saveCart(this.storage, lines);
    for (const listener of [...this.listeners]) listener();
  }

  add(product: CartProduct, quantity = 1): AddResult {
    const result = addToCart(this.current, product, quantity);
    if (result.lines !== this.current) this.commit(result.lines);
    return result;
  }

  setQuantity(productId: number, quantity: number): void {
    this.commit(setQuantity(this.current, productId, quantity));
  }

  remove(productId: number): void {
    this.commit(removeFromCart(this.current, productId));
  }

  clear(): void {
    this.commit([]);
  }

  /** Another tab changed the cart. */
  reload(): void {
    this.current = loadCart(this.storage);
    for (const listener of [...this.listeners]) listener();
  }
}
