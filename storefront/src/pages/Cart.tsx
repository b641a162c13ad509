import { useRef, useState } from 'preact/hooks';
import { ErrorMessage, Link, Notice, PageTitle } from '../components/ui';
import { useCooldown } from '../components/useLoad';
import { cartTotal, maxQuantity, orderItems } from '../lib/cart';
import { forgetIdempotencyKey, idempotencyKey, initiateWithRetry } from '../lib/checkout';
import { describeError } from '../lib/errors';
import { setFlash } from '../lib/flash';
import { rupiah } from '../lib/format';
import { navigate } from '../lib/router';
import { api, auth, cart, requireUser, session, useAuth, useCart } from '../state';

/**
 * Starts paying an order and leaves for the payment page; throws the API's
 * error. Called once the session is known (after `requireUser`, or on a
 * page behind `RequireAuth`), so `auth.user` is the signed-in user.
 */
export async function payOrder(orderId: number, email: string, onStep: (text: string) => void): Promise<void> {
  const user = auth.user;
  onStep('Preparing the payment…');
  const initiated = await initiateWithRetry(
    api.initiatePayment,
    { order_id: orderId, customer_name: user?.full_name || 'Customer', customer_email: email },
    { onRetry: () => onStep('Waiting for the payment to be ready…') },
  );
  onStep('Opening the payment page…');
  window.location.assign(initiated.gateway_redirect_url);
}

export function CartPage() {
  const lines = useCart();
  const { ready, user } = useAuth();
  const [busy, setBusy] = useState(false);
  const [step, setStep] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [email, setEmail] = useState('');
  // Set synchronously on the first click, before the re-render disables the button.
  const inFlight = useRef(false);
  const [wait, noteError] = useCooldown();

  const stop = () => {
    setStep(null);
    inFlight.current = false;
    setBusy(false);
  };

  const checkout = async (e: Event) => {
    e.preventDefault();
    if (inFlight.current || lines.length === 0 || wait > 0) return;
    inFlight.current = true;
    setBusy(true);
    setError(null);
    // Right after a page load the session may still be restoring: wait for
    // it (busy button) rather than take the shopper for signed out.
    if (!ready) setStep('Restoring your session…');
    const known = await requireUser();
    if (!known) return stop(); // gone to sign in (or left the cart)
    const customerEmail = known.email ?? email.trim();
    if (!customerEmail) {
      // The receipt field only shows once the user is known: ask for it now.
      setError(new Error('Enter an email for the payment receipt.'));
      return stop();
    }
    let orderId: number | null = null;
    try {
      setStep('Placing your order…');
      const items = orderItems(lines);
      const key = idempotencyKey(session, items);
      const { order } = await api.createOrder(items, key);
      orderId = order.id;
      forgetIdempotencyKey(session);
      cart.clear();
      await payOrder(order.id, customerEmail, setStep);
      // Leaving the page; keep the button disabled.
    } catch (err) {
      if (orderId !== null) {
        setFlash(session, `Your order was placed, but the payment could not be started: ${describeError(err)}`);
        navigate(`/app/orders/${orderId}`);
        return;
      }
      setError(err);
      noteError(err);
      stop();
    }
  };

  return (
    <section>
      <PageTitle title="Cart">Your cart</PageTitle>
      {lines.length === 0 && !busy && (
        <p>
          Your cart is empty. <Link href="/">Browse products</Link>
        </p>
      )}
      {lines.length > 0 && (
        <form onSubmit={checkout} aria-busy={busy}>
          <ul class="cart-lines" aria-label="Cart items">
            {lines.map((l) => {
              const id = `qty-${l.product_id}`;
              return (
                <li key={l.product_id} class="cart-line">
                  <div class="cart-name">
                    <Link href={`/app/products/${l.product_id}`}>{l.name}</Link>
                    <span class="muted">{rupiah(l.price)} each</span>
                  </div>
                  <div class="cart-qty">
                    <label for={id}>Quantity of {l.name}</label>
                    <input
                      id={id}
                      type="number"
                      inputMode="numeric"
                      min={1}
                      max={Math.max(1, maxQuantity(l.stock))}
                      value={l.quantity}
                      disabled={busy}
                      onChange={(e) => cart.setQuantity(l.product_id, Number(e.currentTarget.value))}
                    />
                  </div>
                  <div class="cart-sub">{rupiah(l.price * l.quantity)}</div>
                  <button type="button" class="secondary" disabled={busy} onClick={() => cart.remove(l.product_id)} aria-label={`Remove ${l.name}`}>
                    Remove
                  </button>
                </li>
              );
            })}
          </ul>
          <p class="total">
            Total: <strong data-testid="cart-total">{rupiah(cartTotal(lines))}</strong>
          </p>
          <p class="hint">Prices are confirmed from the catalog when you check out.</p>
          {ready && !user && <p>You will be asked to sign in before paying.</p>}
          {user && !user.email && (
            <p>
              <label for="receipt-email">Email for the payment receipt</label>
              <input id="receipt-email" type="email" required autoComplete="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </p>
          )}
          <ErrorMessage error={error} />
          {step && <Notice>{step}</Notice>}
          <button type="submit" class="primary" disabled={busy || wait > 0}>
            Checkout
          </button>
          {wait > 0 && <p class="hint">You can try again in {wait} s.</p>}
        </form>
      )}
      {lines.length === 0 && busy && step && <Notice>{step}</Notice>}
    </section>
  );
}
