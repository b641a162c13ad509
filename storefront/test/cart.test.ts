import { describe, expect, it, vi } from 'vitest';
import {
  addToCart,
  CART_KEY,
  cartCount,
  cartTotal,
  CartStore,
  loadCart,
  MAX_LINES,
  MAX_UNITS,
  orderItems,
  removeFromCart,
  setQuantity,
  type CartLine,
} from '../src/lib/cart';
import { MemoryStorage } from './helpers';

const kopi = { id: 1, name: 'Kopi', price: 25_000, stock: 10 };
const teh = { id: 2, name: 'Teh', price: 15_000, stock: 3 };

describe('cart logic', () => {
  it('adds a product as a new line', () => {
    const r = addToCart([], kopi, 2);
    expect(r.lines).toEqual([{ product_id: 1, name: 'Kopi', price: 25_000, stock: 10, quantity: 2 }]);
    expect(r.added).toBe(2);
    expect(r.notice).toBeNull();
  });

  it('merges the same product into one line', () => {
    let lines = addToCart([], kopi, 2).lines;
    lines = addToCart(lines, teh, 1).lines;
    lines = addToCart(lines, kopi, 3).lines;
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.product_id === 1)!.quantity).toBe(5);
    expect(cartCount(lines)).toBe(6);
    expect(cartTotal(lines)).toBe(5 * 25_000 + 15_000);
    expect(orderItems(lines)).toEqual([
      { product_id: 1, quantity: 5 },
      { product_id: 2, quantity: 1 },
    ]);
  });

  it('takes the newest name, price and stock when adding again', () => {
    let lines = addToCart([], kopi, 1).lines;
    lines = addToCart(lines, { ...kopi, price: 30_000, stock: 4 }, 1).lines;
    expect(lines[0]).toMatchObject({ price: 30_000, stock: 4, quantity: 2 });
  });

  it('never goes over the stock, and says so', () => {
    let r = addToCart([], teh, 2);
    r = addToCart(r.lines, teh, 5);
    expect(r.lines[0].quantity).toBe(3);
    expect(r.added).toBe(1);
    expect(r.notice).toMatch(/Only 3 of Teh/);
  });

  it('never goes over the API limit of 1000 units', () => {
    const r = addToCart([], { ...kopi, stock: 50_000 }, 5_000);
    expect(r.lines[0].quantity).toBe(MAX_UNITS);
  });

  it('refuses out-of-stock products and silly quantities', () => {
    expect(addToCart([], { ...kopi, stock: 0 }, 1)).toMatchObject({ lines: [], added: 0 });
    expect(addToCart([], kopi, 0).added).toBe(0);
    expect(addToCart([], kopi, Number.NaN).added).toBe(0);
    expect(addToCart([], kopi, -2).lines).toEqual([]);
  });

  it('holds at most 100 different products', () => {
    let lines: CartLine[] = [];
    for (let id = 1; id <= MAX_LINES; id++) lines = addToCart(lines, { ...kopi, id }, 1).lines;
    const r = addToCart(lines, { ...kopi, id: 1000 }, 1);
    expect(r.lines).toHaveLength(MAX_LINES);
    expect(r.added).toBe(0);
    expect(r.notice).toMatch(/at most 100/);
    // Adding to an existing line still works.
    expect(addToCart(lines, kopi, 1).lines[0].quantity).toBe(2);
  });

  it('clamps a set quantity between 1 and the limit', () => {
    const lines = addToCart([], teh, 1).lines;
    expect(setQuantity(lines, 2, 2)[0].quantity).toBe(2);
    expect(setQuantity(lines, 2, 99)[0].quantity).toBe(3);
    expect(setQuantity(lines, 2, 0)[0].quantity).toBe(1);
    expect(setQuantity(lines, 2, Number.NaN)[0].quantity).toBe(1);
    expect(setQuantity(lines, 2, 2.7)[0].quantity).toBe(2);
  });

  it('removes a line', () => {
    let lines = addToCart([], kopi, 1).lines;
    lines = addToCart(lines, teh, 1).lines;
    lines = removeFromCart(lines, 1);
    expect(lines.map((l) => l.product_id)).toEqual([2]);
    expect(removeFromCart(lines, 42)).toEqual(lines);
  });
});

describe('CartStore', () => {
  it('persists across instances (a reload)', () => {
    const storage = new MemoryStorage();
    const a = new CartStore(storage);
    a.add(kopi, 2);
    a.add(teh, 1);
    a.setQuantity(2, 3);
    const b = new CartStore(storage);
    expect(b.lines).toEqual(a.lines);
    expect(cartCount(b.lines)).toBe(5);
    b.remove(1);
    expect(new CartStore(storage).lines.map((l) => l.product_id)).toEqual([2]);
    b.clear();
    expect(storage.getItem(CART_KEY)).toBeNull();
    expect(new CartStore(storage).lines).toEqual([]);
  });

  it('notifies subscribers on every change', () => {
    const store = new CartStore(new MemoryStorage());
    const seen = vi.fn();
    const stop = store.subscribe(seen);
    store.add(kopi, 1);
    store.setQuantity(1, 2);
    store.remove(1);
    expect(seen).toHaveBeenCalledTimes(3);
    stop();
    store.add(kopi, 1);
    expect(seen).toHaveBeenCalledTimes(3);
  });

  it('ignores a malformed stored cart instead of failing', () => {
    const storage = new MemoryStorage();
    storage.setItem(CART_KEY, '{not json');
    expect(loadCart(storage)).toEqual([]);
    storage.setItem(CART_KEY, JSON.stringify([
      { product_id: 1, name: 'Kopi', price: 1, stock: 5, quantity: 2 },
      { product_id: 1, name: 'dup', price: 1, stock: 5, quantity: 1 },
      { product_id: 'x', name: 'bad', price: 1, stock: 5, quantity: 1 },
      { product_id: 3, name: 'zero', price: 1, stock: 5, quantity: 0 },
      null,
    ]));
    expect(loadCart(storage)).toEqual([{ product_id: 1, name: 'Kopi', price: 1, stock: 5, quantity: 2 }]);
  });

  it('keeps working when storage refuses writes', () => {
    const storage = new MemoryStorage();
    storage.setItem = () => {
      throw new Error('QuotaExceededError');
    };
    const store = new CartStore(storage);
    store.add(kopi, 1);
    expect(store.lines).toHaveLength(1);
  });

  it('reloads when another tab changed the cart', () => {
    const storage = new MemoryStorage();
    const a = new CartStore(storage);
    const b = new CartStore(storage);
    a.add(kopi, 4);
    b.reload();
    expect(b.lines[0].quantity).toBe(4);
  });
});
