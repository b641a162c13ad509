#!/usr/bin/env node
// Browser journey through the storefront against the real platform.
//
//   STOREFRONT_URL=http://127.0.0.1:3000 ADMIN_EMAIL=... ADMIN_PASSWORD=... \
//   SCREENSHOT_DIR=/tmp/shots node e2e/journey.mjs
//
// Drives Debian's Chromium through playwright-core (no browser download):
// CHROMIUM overrides /usr/bin/chromium. Progress goes to stderr; stdout gets
// exactly one JSON line at the end: {"ok":true,...} or {"ok":false,"error":...}.
// Exits 0 only when every scenario passed.
//
// Scenarios:
//  1. the admin signs in and creates two products (and edits/deletes a third)
//     on the admin page; a visitor sees them in the list;
//  2. a new visitor registers, adds both products to the cart, reloads the
//     cart and clicks Checkout as soon as it shows, while the session is
//     still being restored (its /refresh held back RESTORE_DELAY_MS): the
//     page waits, busy, and orders (not sent to sign in); pays on the
//     sandbox page and sees the order become paid;
//  3. another order, denied on the sandbox page: the order shows failed and
//     the product's stock comes back to its value before that order;
//  4. a double-clicked Checkout creates exactly one order (GET /order with
//     the visitor's token, captured from the page's own requests, and the
//     count on "My orders"); that order is then paid through "Pay now";
//     another is left unpaid and cancelled on its page ("Cancel order"):
//     it reads cancelled and its stock comes back;
//  5. with OAUTH_PROVIDER set (google, github or facebook; the test runs a
//     local provider that signs in OAUTH_NAME): "Sign in with …" leaves for
//     the provider and comes back signed in;
//  6. with MAIL_SINK set (the local Resend's base URL, `tools/mail-sink`;
//     the app's storefront_url must be STOREFRONT_URL so the mailed links
//     open these pages): the new visitor sees the "verify your email"
//     banner, opens the link of the mail the sink got and the banner goes;
//     later, signed in on a second browser too, the visitor signs out, asks
//     "Forgot your password?", opens the mailed reset link, chooses a new
//     password and signs in with it, and the second browser's session ends
//     at its next refresh (its reload: the stored refresh token is refused).
//  7. the back office: the admin lists the paid orders (/app/admin/orders,
//     status filter), opens the newest one, finds a notification `applied`
//     and an event `payment.updated` in its timeline, refunds the payment
//     and sees it become `refunded` (Midtrans's refund notification, within
//     REFUND_MS); the anomalies page loads; the shopper is found by the start
//     of their email on the users page, made an administrator and a customer
//     again; the admin cancels the order the shopper left unpaid from its
//     page; the audit log shows the refund, both role changes and the cancel.
//     With E2E_REFUND_OUTAGE=1 (the test makes the sandbox refuse the next
//     refund call and runs no maintenance sweep, which would ask again): the
//     refund answers `owed`, the anomalies page lists it as "Refund owed", and
//     its button asks Midtrans again; then the payment becomes `refunded`.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.STOREFRONT_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const ADMIN_EMAIL = process.env.ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD;
const SHOTS = resolve(process.env.SCREENSHOT_DIR || 'e2e/screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ACTION_MS = Number(process.env.E2E_ACTION_TIMEOUT_MS || 30_000);
const SAGA_MS = Number(process.env.E2E_SAGA_TIMEOUT_MS || 90_000);
/** How long a refund Midtrans accepted may take to read `refunded` (its notification). */
const REFUND_MS = Number(process.env.E2E_REFUND_TIMEOUT_MS || 10_000);
/** How long the session restore's /refresh is held back for the checkout clicked during it. */
const RESTORE_DELAY_MS = 1500;
/** The sandbox refuses the admin's first refund call: it is owed, and the anomalies page's button retries it. */
const REFUND_OUTAGE = process.env.E2E_REFUND_OUTAGE === '1';
const OAUTH_PROVIDER = process.env.OAUTH_PROVIDER;
const OAUTH_NAME = process.env.OAUTH_NAME;
const PROVIDER_LABEL = { google: 'Google', github: 'GitHub', facebook: 'Facebook' };
const MAIL_SINK = (process.env.MAIL_SINK || '').replace(/\/+$/, '');
/** Where auth.ts keeps the refresh token (local storage). */
const REFRESH_KEY = 'storefront.refresh_token';
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

const started = Date.now();
const screenshots = [];
const result = { ok: false, base: BASE, run: RUN, products: {}, orders: { paid: 0, failed: 0, ids: {} } };
const pageErrors = [];

const log = (...args) => console.error(`[e2e +${((Date.now() - started) / 1000).toFixed(1)}s]`, ...args);

class Failure extends Error {}
function check(condition, message) {
  if (!condition) throw new Failure(message);
}

async function step(name, fn) {
  log(`▶ ${name}`);
  try {
    const value = await fn();
    log(`✓ ${name}`);
    return value;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Failure(`${name}: ${message}`);
  }
}

async function shot(page, name) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
  log(`  screenshot ${path}`);
}

function watch(page, who) {
  page.setDefaultTimeout(ACTION_MS);
  page.setDefaultNavigationTimeout(ACTION_MS);
  page.on('pageerror', (err) => {
    pageErrors.push(`${who}: ${err.message}`);
    log(`  page error (${who}): ${err.message}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') log(`  console error (${who}): ${msg.text()}`);
  });
}

/** The API status code as a number, from the app's own fetch. */
async function apiJson(path, token) {
  const res = await fetch(BASE + path, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
  const body = await res.json().catch(() => null);
  check(res.ok, `GET ${path} answered ${res.status}: ${body && body.error}`);
  return body;
}

/**
 * The link to `pagePath` (/app/verify-email, /app/reset-password) in the only `kind` mail
 * the sink holds for `to`, as the visitor would read it: waits for the mail
 * worker to send it.
 */
async function mailedLink(to, kind, pagePath) {
  const url = `${MAIL_SINK}/api/messages?to=${encodeURIComponent(to)}&kind=${encodeURIComponent(kind)}`;
  const deadline = Date.now() + SAGA_MS;
  for (;;) {
    const res = await fetch(url, { headers: { accept: 'application/json' } });
    check(res.ok, `GET ${url} answered ${res.status}`);
    const mails = await res.json();
    if (mails.length > 0) {
      check(mails.length === 1, `${mails.length} ${kind} mails to ${to}, expected one`);
      const prefix = `${BASE}${pagePath}#token=`;
      const link = mails[0].links.find((l) => l.startsWith(prefix));
      check(link, `no ${prefix}… link in the ${kind} mail "${mails[0].subject}": ${mails[0].links.join(' ')}`);
      log(`  ${kind} mail "${mails[0].subject}" to ${to}`);
      return link;
    }
    check(Date.now() < deadline, `no ${kind} mail to ${to} within ${SAGA_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function readStock(page, productId) {
  await page.goto(`${BASE}/app/products/${productId}`);
  const stock = page.getByTestId('stock');
  await stock.waitFor();
  return Number((await stock.textContent()).trim());
}

async function signIn(page, email, password) {
  await page.goto(`${BASE}/app/login`);
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

async function addToCart(page, productId, quantity) {
  await page.goto(`${BASE}/app/products/${productId}`);
  await page.getByTestId('stock').waitFor();
  await page.getByLabel('Quantity', { exact: true }).fill(String(quantity));
  await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'to your cart' }).waitFor();
}

/**
 * Loads the cart, clicks Checkout (once or twice) and waits for the payment
 * page; returns the order id and POSTs seen. With `restoring`, the page's
 * session restore (its POST /refresh) is held back RESTORE_DELAY_MS, so the
 * click lands while the session is not known yet: the page must wait for it
 * (busy), not send the signed-in shopper to sign in.
 */
async function checkout(page, { double = false, restoring = false } = {}) {
  let released = false;
  const isRefresh = (url) => url.origin === new URL(BASE).origin && url.pathname === '/refresh';
  const holdRefresh = async (route) => {
    await new Promise((resolve) => setTimeout(resolve, RESTORE_DELAY_MS));
    released = true;
    await route.continue();
  };
  if (restoring) await page.route(isRefresh, holdRefresh, { times: 1 });
  await page.goto(`${BASE}/app/cart`);
  const posts = [];
  const onRequest = (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/order') posts.push(req.headers()['idempotency-key']);
  };
  page.on('request', onRequest);
  const created = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/order',
    { timeout: ACTION_MS },
  );
  created.catch(() => {}); // awaited below; a check failing first must not leave it unhandled
  await page.getByRole('heading', { name: 'Your cart' }).waitFor();
  // Clicked as soon as it shows: no waiting for the session.
  const button = page.getByRole('button', { name: 'Checkout' });
  if (double) await button.dblclick();
  else await button.click();
  if (restoring) {
    check(!released, `Checkout was clicked only after the session restore (held ${RESTORE_DELAY_MS} ms) ended`);
    check(new URL(page.url()).pathname === '/app/cart', `clicked while the session was restoring, the page went to ${page.url()}`);
    await page.waitForFunction(
      () => document.querySelector('form[aria-busy="true"] button[type="submit"]')?.disabled === true,
      null,
      { timeout: RESTORE_DELAY_MS },
    );
    log('  Checkout clicked during the session restore: busy, still on the cart');
  }
  const response = await created;
  const body = await response.json().catch(() => null);
  check(response.status() === 201, `POST /order answered ${response.status()}: ${body && body.error}`);
  const orderId = body.order.id;
  await page.waitForURL((url) => !url.href.startsWith(BASE), { timeout: ACTION_MS });
  await page.getByRole('heading', { name: /Pay/ }).first().waitFor();
  page.off('request', onRequest);
  if (restoring) await page.unroute(isRefresh, holdRefresh);
  return { orderId, posts };
}

/** On the sandbox page: clicks the outcome and comes back to the order page. */
async function choose(page, outcome, orderId) {
  const button = outcome === 'pay' ? page.getByRole('button', { name: /^Pay\b/ }) : page.getByRole('button', { name: outcome === 'deny' ? 'Deny' : 'Expire', exact: true });
  await button.click();
  const orderUrl = `${BASE}/app/orders/${orderId}`;
  try {
    await page.waitForURL((url) => url.href.startsWith(orderUrl), { timeout: 15_000 });
    result.finish_redirect = result.finish_redirect ?? true;
  } catch {
    // The payment page did not send the browser back to this storefront
    // (no finish URL set, or it names another origin): go there ourselves.
    log(`  the payment page did not return to ${orderUrl} (at ${page.url()}); opening it directly`);
    result.finish_redirect = false;
    await page.goto(orderUrl);
  }
}

async function waitForStatus(page, status) {
  const el = page.getByTestId('order-status');
  await el.waitFor();
  try {
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid="order-status"]')?.textContent?.trim() === want,
      status,
      { timeout: SAGA_MS, polling: 250 },
    );
  } catch {
    throw new Failure(`order status stayed "${(await el.textContent())?.trim()}", expected "${status}" within ${SAGA_MS} ms`);
  }
}

/** The admin section's link in the admin pages' own navigation (the header has a "Products" too). */
function adminNav(page, name) {
  return page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name, exact: true });
}

/**
 * 7. The back office, as an administrator in a browser of their own: the
 * paid order `orderId` (the newest paid one) is found by the status filter,
 * its timeline read, its payment refunded; then anomalies, the shopper
 * (`shopperEmail`) among the users, and the refund in the audit log.
 */
async function backOffice(browser, viewport, { orderId, unpaidId, shopperEmail }) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  watch(page, 'back office');
  const admin = { order_id: orderId };
  result.admin = admin;
  const noErrors = async (where) => {
    const alerts = page.locator('.alert.error');
    check((await alerts.count()) === 0, `${where} shows an error: ${(await alerts.allTextContents()).join(' ')}`);
  };

  await step('the admin opens the orders of the back office and filters the paid ones', async () => {
    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.goto(`${BASE}/app/admin/orders`);
    await page.getByRole('heading', { name: 'Admin: orders', level: 1 }).waitFor();
    await page.getByTestId('admin-order-row').first().waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('paid');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL((url) => url.pathname === '/app/admin/orders' && url.searchParams.get('status') === 'paid');
    // The list keeps the previous rows while it reads the new ones: wait for paid ones only.
    try {
      await page.waitForFunction(
        (id) => {
          const rows = [...document.querySelectorAll('[data-testid="admin-order-row"]')];
          return rows.length > 0 && rows.every((r) => r.dataset.status === 'paid') && rows.some((r) => r.dataset.orderId === String(id));
        },
        orderId,
        { timeout: ACTION_MS, polling: 100 },
      );
    } catch {
      const rows = await page.getByTestId('admin-order-row').evaluateAll((els) => els.map((r) => `#${r.dataset.orderId} ${r.dataset.status}`));
      throw new Failure(`the paid filter shows ${rows.join(', ') || 'no rows'}; expected only paid ones, order #${orderId} among them`);
    }
    admin.paid_rows = await page.getByTestId('admin-order-row').count();
    await noErrors('the orders page');
    await shot(page, 'admin-orders');
  });

  await step('the admin opens the paid order: its timeline has the applied notification and the payment.updated event', async () => {
    await page.getByRole('link', { name: `Order #${orderId}`, exact: true }).click();
    await page.waitForURL((url) => url.pathname === `/app/admin/orders/${orderId}`);
    await page.getByRole('heading', { name: `Order #${orderId}`, level: 1 }).waitFor();
    const status = page.getByTestId('payment-status');
    await status.waitFor();
    check((await status.textContent()).trim() === 'paid', `the payment reads "${(await status.textContent()).trim()}", expected paid`);
    admin.payment_id = Number(await status.getAttribute('data-payment-id'));
    check(admin.payment_id >= 1, 'no payment id on the page');
    await page.locator('[data-testid="timeline-entry"][data-kind="notification"][data-verdict="applied"]').first().waitFor();
    await page.locator('[data-testid="timeline-entry"][data-kind="event"][data-event-type="payment.updated"]').first().waitFor();
    admin.timeline = await page.getByTestId('timeline-entry').evaluateAll((els) =>
      els.map((li) => [li.dataset.kind, li.dataset.verdict || li.dataset.eventType || ''].filter(Boolean).join(' ')),
    );
    await noErrors('the order page');
  });

  const refundedOnThePage = async () => {
    const read = async () => (await page.getByTestId('payment-status').textContent())?.trim();
    try {
      // The page reads the order again by itself while the refund is on its way.
      await page.waitForFunction(
        () => document.querySelector('[data-testid="payment-status"]')?.textContent?.trim() === 'refunded',
        null,
        { timeout: REFUND_MS, polling: 250 },
      );
    } catch {
      await page.reload();
      await page.getByTestId('payment-status').waitFor();
      const now = await read();
      check(now === 'refunded', `the payment reads "${now}" ${REFUND_MS} ms after the refund (${JSON.stringify(admin.refund)}), expected refunded`);
    }
  };

  const refundTitle = REFUND_OUTAGE
    ? 'the admin refunds the payment while Midtrans is down: the refund is owed'
    : 'the admin refunds the payment and it reads refunded';
  await step(refundTitle, async () => {
    await page.getByRole('button', { name: 'Refund payment', exact: true }).click();
    const refunded = page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/admin/payments/${admin.payment_id}/refund`,
      { timeout: ACTION_MS },
    );
    refunded.catch(() => {});
    await page.getByRole('button', { name: 'Yes, refund payment', exact: true }).click();
    const response = await refunded;
    const body = await response.json().catch(() => null);
    check([200, 202].includes(response.status()), `POST /admin/payments/${admin.payment_id}/refund answered ${response.status()}: ${body && body.error}`);
    admin.refund = body;
    if (REFUND_OUTAGE) {
      check(body && body.refund === 'owed', `the refund answered ${JSON.stringify(body)} while Midtrans was down, expected owed`);
      await page.getByRole('status').filter({ hasText: 'is owed' }).waitFor();
      await page.locator('[data-testid="attempt-row"][data-refund="owed"]').waitFor();
      check((await page.getByTestId('payment-status').textContent()).trim() === 'paid', 'the payment no longer reads paid while its refund is owed');
      await shot(page, 'admin-refund-owed');
      return;
    }
    const asked = Date.now();
    await refundedOnThePage();
    admin.refunded_after_ms = Date.now() - asked;
    await noErrors('the order page after the refund');
    await shot(page, 'admin-order-detail');
  });

  if (REFUND_OUTAGE) {
    await step('the anomalies page lists the owed refund and its button asks Midtrans again', async () => {
      await adminNav(page, 'Anomalies').click();
      await page.getByRole('heading', { name: 'Admin: anomalies', level: 1 }).waitFor();
      const row = page.locator(`[data-testid="anomaly-row"][data-kind="refund_owed"][data-order-id="${orderId}"]`);
      await row.waitFor();
      admin.anomalies = await page.getByTestId('anomaly-row').count();
      await noErrors('the anomalies page');
      await shot(page, 'admin-anomalies');
      const retried = page.waitForResponse(
        (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/admin/payments/${admin.payment_id}/refund`,
        { timeout: ACTION_MS },
      );
      retried.catch(() => {});
      await row.getByTestId('anomaly-action').click();
      const response = await retried;
      const body = await response.json().catch(() => null);
      check([200, 202].includes(response.status()), `the anomaly's action answered ${response.status()}: ${body && body.error}`);
      check(body && ['requested', 'refunded'].includes(body.refund), `the anomaly's action answered ${JSON.stringify(body)}, expected the refund requested`);
      admin.retry = body;
      await page.getByRole('status').filter({ hasText: `order #${orderId}` }).waitFor();
      // The list is read again after the action: the owed refund is no longer in it.
      await row.waitFor({ state: 'detached' });
      await noErrors('the anomalies page after its action');
    });

    await step('the order reads refunded once Midtrans confirms the retried refund', async () => {
      const asked = Date.now();
      await page.goto(`${BASE}/app/admin/orders/${orderId}`);
      await page.getByRole('heading', { name: `Order #${orderId}`, level: 1 }).waitFor();
      await refundedOnThePage();
      admin.refunded_after_ms = Date.now() - asked;
      await noErrors('the order page after the retried refund');
      await shot(page, 'admin-order-detail');
    });
  } else {
    await step('the anomalies page loads', async () => {
      await adminNav(page, 'Anomalies').click();
      await page.getByRole('heading', { name: 'Admin: anomalies', level: 1 }).waitFor();
      await page.getByTestId('anomalies-none').or(page.getByTestId('anomaly-row').first()).waitFor();
      admin.anomalies = await page.getByTestId('anomaly-row').count();
      await noErrors('the anomalies page');
      await shot(page, 'admin-anomalies');
    });
  }

  await step('the admin finds the shopper by the start of their email', async () => {
    await adminNav(page, 'Users').click();
    await page.getByRole('heading', { name: 'Admin: users', level: 1 }).waitFor();
    const prefix = shopperEmail.slice(0, shopperEmail.indexOf('@'));
    await page.getByLabel('Email starts with').fill(prefix);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/app/admin/users' && url.searchParams.get('email') === prefix);
    // The list keeps the previous (unfiltered) rows while it reads the new ones: wait for the shopper alone.
    try {
      await page.waitForFunction(
        (email) => {
          const rows = [...document.querySelectorAll('[data-testid="user-row"]')];
          return rows.length === 1 && rows[0].dataset.email === email;
        },
        shopperEmail,
        { timeout: ACTION_MS, polling: 100 },
      );
    } catch {
      const rows = await page.getByTestId('user-row').evaluateAll((els) => els.map((r) => r.dataset.email));
      throw new Failure(`the prefix ${prefix} shows ${rows.join(', ') || 'no rows'}; expected the shopper alone`);
    }
    const role = await page.getByLabel(`Role of ${shopperEmail}`, { exact: true }).inputValue();
    check(role === 'customer', `the shopper's role reads "${role}", expected customer`);
    admin.user_found = true;
    admin.shopper_id = Number(await page.getByTestId('user-row').getAttribute('data-user-id'));
    await noErrors('the users page');
    await shot(page, 'admin-users');
  });

  await step('the admin makes the shopper an administrator, then a customer again', async () => {
    const select = page.getByLabel(`Role of ${shopperEmail}`, { exact: true });
    for (const role of ['admin', 'customer']) {
      await select.selectOption(role);
      // The list is read again after the change: the row carries the saved role.
      await page.locator(`[data-testid="user-row"][data-email="${shopperEmail}"][data-role="${role}"]`).waitFor();
      await page.getByRole('status').filter({ hasText: 'is now' }).waitFor();
      await noErrors(`the users page after making the shopper ${role}`);
    }
    admin.roles_changed = 2;
  });

  await step('the admin cancels the order the shopper left unpaid', async () => {
    await page.goto(`${BASE}/app/admin/orders/${unpaidId}`);
    await page.getByRole('heading', { name: `Order #${unpaidId}`, level: 1 }).waitFor();
    await page.locator('[data-testid="admin-order-status"][data-status="pending"]').waitFor();
    await page.getByRole('button', { name: 'Cancel order', exact: true }).click();
    const answered = page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/admin/orders/${unpaidId}/cancel`,
      { timeout: ACTION_MS },
    );
    answered.catch(() => {});
    await page.getByRole('button', { name: 'Yes, cancel order', exact: true }).click();
    const response = await answered;
    const body = await response.json().catch(() => null);
    check(response.status() === 200 && body && body.status === 'cancelled', `the cancel answered ${response.status()}: ${JSON.stringify(body)}`);
    // The page reads the order again until the saga has moved it.
    await page.locator('[data-testid="admin-order-status"][data-status="cancelled"]').waitFor({ timeout: SAGA_MS });
    await page.locator('[data-testid="payment-status"][data-status="cancelled"]').waitFor();
    admin.cancelled = unpaidId;
    await noErrors('the order page after the cancel');
    await shot(page, 'admin-order-cancelled');
  });

  await step('the audit log shows the refund, the role changes and the cancel', async () => {
    await adminNav(page, 'Audit').click();
    await page.getByRole('heading', { name: 'Admin: audit log', level: 1 }).waitFor();
    await page.locator(`[data-testid="audit-row"][data-action="payment.refund"][data-target="payment:${admin.payment_id}"]`).first().waitFor();
    const roleRows = page.locator(`[data-testid="audit-row"][data-action="user.role"][data-target="user:${admin.shopper_id}"]`);
    await roleRows.nth(1).waitFor();
    const cancels = page.locator(`[data-testid="audit-row"][data-action="order.cancel"][data-target="order:${unpaidId}"]`);
    await cancels.first().waitFor();
    admin.audit = {
      refunds: await page.locator(`[data-testid="audit-row"][data-action="payment.refund"][data-target="payment:${admin.payment_id}"]`).count(),
      role_changes: await roleRows.count(),
      cancels: await cancels.count(),
    };
    admin.audited = true;
    await noErrors('the audit page');
    await shot(page, 'admin-audit');
  });
  await ctx.close();
}

async function main() {
  check(ADMIN_EMAIL && ADMIN_PASSWORD, 'set ADMIN_EMAIL and ADMIN_PASSWORD (an existing admin account)');
  mkdirSync(SHOTS, { recursive: true });
  log(`storefront ${BASE}, chromium ${CHROMIUM}, screenshots in ${SHOTS}, run ${RUN}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const viewport = { width: 1280, height: 900 };
    const adminCtx = await browser.newContext({ viewport });
    const admin = await adminCtx.newPage();
    watch(admin, 'admin');

    const names = { a: `E2E Kopi ${RUN}`, b: `E2E Teh ${RUN}`, c: `E2E Temp ${RUN}` };
    const ids = {};

    // 1. The admin creates products on the admin page.
    await step('admin signs in', async () => {
      await admin.goto(`${BASE}/app/login`);
      await admin.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
      await shot(admin, 'login');
      await signIn(admin, ADMIN_EMAIL, ADMIN_PASSWORD);
      await admin.getByRole('link', { name: 'Admin' }).click();
      await admin.getByRole('heading', { name: 'Admin: products' }).waitFor();
    });

    const create = async (key, price, stock, description) => {
      await admin.getByLabel('Name').fill(names[key]);
      await admin.getByLabel('Description').fill(description);
      await admin.getByLabel('Price (IDR)').fill(String(price));
      await admin.getByLabel('Stock').fill(String(stock));
      await admin.getByRole('button', { name: 'Create product' }).click();
      const notice = admin.getByRole('status').filter({ hasText: names[key] });
      await notice.waitFor();
      const match = /#(\d+)/.exec(await notice.textContent());
      check(match, `no product id in "${await notice.textContent()}"`);
      ids[key] = Number(match[1]);
    };

    await step('admin creates two products with stock', async () => {
      await create('a', 25_000, 50, 'Single-origin coffee beans, 250 g.');
      await create('b', 15_000, 30, 'Jasmine tea, 20 bags.');
      await admin.getByRole('rowheader', { name: names.a }).waitFor();
      await admin.getByRole('rowheader', { name: names.b }).waitFor();
      result.products = { [names.a]: ids.a, [names.b]: ids.b };
    });

    await step('admin edits and deletes a third product', async () => {
      await create('c', 1_000, 1, 'Created to be deleted.');
      await admin.getByRole('button', { name: `Edit ${names.c}` }).click();
      await admin.getByRole('heading', { name: `Edit product #${ids.c}` }).waitFor();
      await admin.getByLabel('Stock').fill('5');
      await admin.getByRole('button', { name: 'Save changes' }).click();
      await admin.getByRole('status').filter({ hasText: `Saved product #${ids.c}` }).waitFor();
      await admin.getByRole('button', { name: `Delete ${names.c}` }).click();
      await admin.getByRole('button', { name: `Confirm delete ${names.c}` }).click();
      await admin.getByRole('status').filter({ hasText: `Deleted product #${ids.c}` }).waitFor();
      await admin.getByRole('rowheader', { name: names.c }).waitFor({ state: 'detached' });
      await shot(admin, 'admin');
    });
    await adminCtx.close();

    // 2. A new visitor registers, buys both products and pays.
    const visitorCtx = await browser.newContext({ viewport });
    const page = await visitorCtx.newPage();
    watch(page, 'visitor');
    let token = null;
    page.on('request', (req) => {
      const auth = req.headers().authorization;
      if (auth && req.url().startsWith(BASE)) token = auth.replace(/^Bearer /, '');
    });

    await step('a visitor sees the new products in the list', async () => {
      await page.goto(`${BASE}/`);
      await page.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
      await page.getByRole('link', { name: names.a, exact: true }).waitFor();
      await page.getByRole('link', { name: names.b, exact: true }).waitFor();
      await shot(page, 'products');
    });

    const email = `visitor-${RUN}@example.com`;
    const password = `correct horse ${RUN}`;
    await step('the visitor registers', async () => {
      await page.getByRole('link', { name: 'Register', exact: true }).click();
      await page.getByRole('heading', { name: 'Create an account' }).waitFor();
      await page.getByLabel('Full name').fill('Ayu Visitor');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Register', exact: true }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await page.getByRole('link', { name: 'My orders' }).waitFor();
    });

    if (MAIL_SINK) {
      await step('the new visitor is asked to verify the email', async () => {
        const banner = page.getByTestId('verify-banner');
        await banner.filter({ hasText: 'Please verify your email' }).filter({ hasText: email }).waitFor();
        await banner.getByRole('button', { name: 'Resend' }).waitFor();
        await shot(page, 'verify-banner');
      });

      await step('the visitor opens the mailed verification link and the banner goes', async () => {
        const link = await mailedLink(email, 'verify_email', '/app/verify-email');
        await page.goto(link);
        await page.getByRole('heading', { name: 'Verify your email', level: 1 }).waitFor();
        await page.getByRole('status').filter({ hasText: 'Your email is verified' }).waitFor();
        check(!page.url().includes('token='), `the token stayed in the address: ${page.url()}`);
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
        await shot(page, 'verify-email');
        await page.getByRole('link', { name: 'Continue shopping' }).click();
        await page.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
        await page.getByTestId('verify-banner').waitFor({ state: 'detached' });
        // Still gone after a reload (the API says verified, not a cached flag).
        await page.reload();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
        await page.getByRole('link', { name: names.a, exact: true }).waitFor();
        check((await page.getByTestId('verify-banner').count()) === 0, 'the verify banner is back after a reload');
        await page.getByRole('link', { name: 'Account', exact: true }).click();
        await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
        await page.getByTestId('account-email').filter({ hasText: 'verified' }).filter({ hasNotText: 'not verified' }).waitFor();
        result.account = { email, verified: true };
        // Back where the shopping goes on.
        await page.getByRole('link', { name: 'Products', exact: true }).click();
        await page.getByRole('link', { name: names.a, exact: true }).waitFor();
      });
    }

    await step('the visitor browses and adds two products to the cart', async () => {
      await page.getByRole('link', { name: names.a, exact: true }).click();
      await page.getByRole('heading', { name: names.a, level: 1 }).waitFor();
      check(Number(await page.getByTestId('stock').textContent()) === 50, 'product A should show stock 50');
      await shot(page, 'product');
      await page.getByLabel('Quantity', { exact: true }).fill('2');
      await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'to your cart' }).waitFor();
      await addToCart(page, ids.b, 1);
      await page.getByRole('link', { name: /^Cart/ }).click();
      await page.getByRole('heading', { name: 'Your cart' }).waitFor();
      check((await page.getByRole('list', { name: 'Cart items' }).getByRole('listitem').count()) === 2, 'the cart should have two lines');
      check((await page.getByTestId('cart-count').textContent()).trim() === '3', 'the cart should hold 3 units');
      await shot(page, 'cart');
    });

    await step('the visitor reloads the cart, checks out while the session is restoring, pays and sees the order paid', async () => {
      const { orderId } = await checkout(page, { restoring: true });
      result.checkout_during_restore = { refresh_held_ms: RESTORE_DELAY_MS, order_id: orderId };
      result.orders.ids.paid_first = orderId;
      await shot(page, 'checkout-payment-page');
      await choose(page, 'pay', orderId);
      await waitForStatus(page, 'paid');
      await shot(page, 'order-paid');
      result.orders.paid++;
      check((await page.getByTestId('cart-count').textContent()).trim() === '0', 'the cart should be empty after the order');
    });

    // 3. A denied payment: failed, and the stock comes back.
    await step('a denied payment fails the order and gives the stock back', async () => {
      const before = await readStock(page, ids.a);
      await addToCart(page, ids.a, 1);
      const { orderId } = await checkout(page);
      result.orders.ids.failed = orderId;
      await page.getByRole('button', { name: 'Deny', exact: true }).waitFor();
      await choose(page, 'deny', orderId);
      await waitForStatus(page, 'failed');
      await shot(page, 'order-failed');
      result.orders.failed++;
      const deadline = Date.now() + SAGA_MS;
      let stock = await readStock(page, ids.a);
      while (stock !== before && Date.now() < deadline) {
        await page.waitForTimeout(1000);
        stock = await readStock(page, ids.a);
      }
      check(stock === before, `stock of ${names.a} is ${stock}, expected it back at ${before}`);
      result.stock_restored = { product: ids.a, stock };
    });

    // 4. A double-clicked checkout orders once.
    await step('a double-clicked Checkout creates exactly one order', async () => {
      check(token, 'no access token seen in the page requests');
      const before = (await apiJson('/order?page=1&page_size=1', token)).total;
      await addToCart(page, ids.b, 1);
      const { orderId, posts } = await checkout(page, { double: true });
      result.orders.ids.double_click = orderId;
      await page.goto(`${BASE}/app/orders/${orderId}`);
      await waitForStatus(page, 'pending');
      await page.getByRole('button', { name: 'Pay now' }).waitFor();
      await shot(page, 'order-pending');
      const list = await apiJson('/order?page=1&page_size=100', token);
      check(list.total === before + 1, `GET /order total went from ${before} to ${list.total}, expected exactly one more`);
      check(new Set(posts).size === 1, `the checkout used ${new Set(posts).size} Idempotency-Keys`);
      check(list.orders.filter((o) => o.id === orderId).length === 1, 'the new order is not in GET /order');
      result.double_click = { order_posts: posts.length, orders_created: list.total - before, order_id: orderId };
      await page.goto(`${BASE}/app/orders`);
      await page.getByRole('heading', { name: 'My orders' }).waitFor();
      await page.getByTestId('orders-total').filter({ hasText: String(before + 1) }).waitFor();
    });

    await step('the pending order is paid through "Pay now"', async () => {
      const orderId = result.orders.ids.double_click;
      await page.goto(`${BASE}/app/orders/${orderId}`);
      await page.getByRole('button', { name: 'Pay now' }).click();
      await page.waitForURL((url) => !url.href.startsWith(BASE), { timeout: ACTION_MS });
      await choose(page, 'pay', orderId);
      await waitForStatus(page, 'paid');
      result.orders.paid++;
    });

    await step('the visitor cancels an unpaid order: it reads cancelled and the stock comes back', async () => {
      const before = await readStock(page, ids.b);
      await addToCart(page, ids.b, 2);
      const { orderId } = await checkout(page);
      result.orders.ids.cancelled = orderId;
      // Back from the payment page without paying.
      await page.goto(`${BASE}/app/orders/${orderId}`);
      await waitForStatus(page, 'pending');
      await page.getByRole('button', { name: 'Cancel order', exact: true }).click();
      await page.getByRole('button', { name: 'Yes, cancel order', exact: true }).click();
      await waitForStatus(page, 'cancelled');
      check((await page.getByRole('button', { name: 'Pay now' }).count()) === 0, 'a cancelled order still offers "Pay now"');
      const deadline = Date.now() + SAGA_MS;
      let stock = await readStock(page, ids.b);
      while (stock !== before && Date.now() < deadline) {
        await page.waitForTimeout(500);
        stock = await readStock(page, ids.b);
      }
      check(stock === before, `stock of ${names.b} is ${stock} after the cancel, expected it back at ${before}`);
      // The order as the API has it now, not the page's memory of the answer.
      await page.goto(`${BASE}/app/orders/${orderId}`);
      await waitForStatus(page, 'cancelled');
      await shot(page, 'order-cancelled');
      result.cancelled = { order_id: orderId, stock };
    });

    await step('the visitor leaves an order unpaid (the back office cancels it)', async () => {
      await addToCart(page, ids.b, 1);
      const { orderId } = await checkout(page);
      result.orders.ids.left_unpaid = orderId;
      await page.goto(`${BASE}/app/orders/${orderId}`);
      await waitForStatus(page, 'pending');
    });

    await step('"My orders" lists the five orders with their statuses', async () => {
      await page.goto(`${BASE}/app/orders`);
      await page.getByRole('heading', { name: 'My orders' }).waitFor();
      await page.getByTestId('orders-total').filter({ hasText: '5' }).waitFor();
      check((await page.getByTestId('order-row').count()) === 5, 'five order rows expected');
      await shot(page, 'my-orders');
    });

    await step('the product list fits a phone screen', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${BASE}/`);
      await page.getByRole('link', { name: names.a, exact: true }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `the page scrolls sideways by ${overflow}px at 390px wide`);
      await shot(page, 'products-phone');
    });

    if (MAIL_SINK) {
      const newPassword = `battery staple ${RUN}`;
      const otherCtx = await browser.newContext({ viewport });
      const other = await otherCtx.newPage();
      watch(other, 'second browser');

      await step('the visitor is signed in on a second browser too', async () => {
        await page.setViewportSize(viewport);
        await signIn(other, email, password);
        await other.goto(`${BASE}/app/orders`);
        await other.getByRole('heading', { name: 'My orders' }).waitFor();
        await other.getByTestId('orders-total').filter({ hasText: '5' }).waitFor();
      });

      await step('the visitor signs out and asks for a reset link', async () => {
        await page.goto(`${BASE}/`);
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('link', { name: 'Sign in', exact: true }).click();
        await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
        await page.getByRole('link', { name: 'Forgot your password?' }).click();
        await page.getByRole('heading', { name: 'Forgot your password?', level: 1 }).waitFor();
        await page.getByLabel('Email').fill(email);
        await page.getByRole('button', { name: 'Send reset link' }).click();
        await page.getByRole('status').filter({ hasText: 'If an account uses this address, a reset link is on its way' }).waitFor();
        await shot(page, 'forgot-password');
      });

      await step('the visitor opens the mailed reset link and chooses a new password', async () => {
        const link = await mailedLink(email, 'reset_password', '/app/reset-password');
        await page.goto(link);
        await page.getByRole('heading', { name: 'Choose a new password', level: 1 }).waitFor();
        check(!page.url().includes('token='), `the token stayed in the address: ${page.url()}`);
        await page.getByLabel('New password', { exact: true }).fill(newPassword);
        await page.getByLabel('New password again', { exact: true }).fill(newPassword);
        await page.getByRole('button', { name: 'Change password' }).click();
        await page.getByRole('heading', { name: 'Password changed', level: 1 }).waitFor();
        await page.getByRole('status').filter({ hasText: 'every device signed in to your account was signed out' }).waitFor();
        await shot(page, 'reset-password');
      });

      await step('the visitor signs in with the new password, not the old one', async () => {
        const old = await fetch(`${BASE}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ email, password }),
        });
        check(old.status === 401, `the old password answered ${old.status}, expected 401`);
        await page.getByRole('link', { name: 'Sign in with your new password' }).click();
        await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(newPassword);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
        check((await page.getByTestId('verify-banner').count()) === 0, 'the verify banner shows after the reset');
      });

      await step('the second browser is signed out at its next refresh', async () => {
        // Its access token (memory only) is gone with the reload; the
        // stored refresh token's family was revoked by the reset.
        check(await other.evaluate((key) => localStorage.getItem(key) !== null, REFRESH_KEY), 'the second browser has no stored session');
        const refreshed = other.waitForResponse(
          (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/refresh',
          { timeout: ACTION_MS },
        );
        refreshed.catch(() => {});
        await other.reload();
        const status = (await refreshed).status();
        check(status === 401, `the second browser's refresh answered ${status}, expected 401`);
        await other.waitForURL((url) => url.pathname === '/app/login', { timeout: ACTION_MS });
        await other.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
        await other.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
        check((await other.getByRole('button', { name: 'Sign out' }).count()) === 0, 'the second browser still shows "Sign out"');
        check(await other.evaluate((key) => localStorage.getItem(key) === null, REFRESH_KEY), 'the second browser kept the refused refresh token');
        await shot(other, 'reset-signed-out');
        result.account = { ...result.account, reset: true, other_session_ended: true, refresh_status: status };
      });
      await otherCtx.close();
    }

    if (OAUTH_PROVIDER) {
      await step(`a visitor signs in with ${PROVIDER_LABEL[OAUTH_PROVIDER]}`, async () => {
        const ctx = await browser.newContext({ viewport });
        const oauth = await ctx.newPage();
        watch(oauth, 'oauth');
        await oauth.goto(`${BASE}/app/login`);
        await oauth.getByRole('button', { name: `Sign in with ${PROVIDER_LABEL[OAUTH_PROVIDER]}` }).click();
        await oauth.getByRole('button', { name: 'Sign out' }).waitFor();
        check(
          new URL(oauth.url()).origin === new URL(BASE).origin,
          `back on ${oauth.url()}, not the storefront`,
        );
        if (OAUTH_NAME) await oauth.getByText(OAUTH_NAME).first().waitFor();
        await shot(oauth, 'oauth-signed-in');
        result.oauth = OAUTH_PROVIDER;
        await ctx.close();
      });

      // Login CSRF: an attacker starts a sign-in, stops at the provider's
      // redirect, and sends that callback link to a victim. The victim's
      // browser did not start it: it shows why, calls no API, stays out.
      await step('a callback link from another browser signs nobody in', async () => {
        const attacker = await browser.newContext({ viewport });
        let forged = null;
        // The provider's redirect lands on the storefront's callback page
        // (a redirect is not routable: watch for it); the page's own API
        // call is stopped, so the state stays unused, as an attacker keeps it.
        attacker.on('request', (req) => {
          if (new URL(req.url()).pathname.startsWith('/app/oauth/')) forged = req.url();
        });
        await attacker.route(
          (url) => url.pathname.startsWith(`/oauth/${OAUTH_PROVIDER}/callback`),
          (route) => route.abort(),
        );
        const start = await attacker.newPage();
        await start.goto(`${BASE}/app/login`);
        await start
          .getByRole('button', { name: `Sign in with ${PROVIDER_LABEL[OAUTH_PROVIDER]}` })
          .click();
        for (let i = 0; i < 100 && !forged; i++) await start.waitForTimeout(50);
        check(forged && forged.includes('state='), `no callback link was captured: ${forged}`);
        await attacker.close();

        const victim = await browser.newContext({ viewport });
        const page = await victim.newPage();
        watch(page, 'victim');
        const apiCalls = [];
        page.on('request', (req) => {
          if (new URL(req.url()).pathname.startsWith(`/oauth/${OAUTH_PROVIDER}/callback`)) {
            apiCalls.push(req.url());
          }
        });
        await page.goto(forged);
        await page.getByText('was not started in this browser tab').waitFor();
        check(apiCalls.length === 0, `the forged callback reached the API: ${apiCalls.join(' ')}`);
        const stored = await page.evaluate(() => localStorage.getItem('storefront.refresh_token'));
        check(stored === null, 'the victim holds a session after a forged callback');
        check(
          (await page.getByRole('button', { name: 'Sign out' }).count()) === 0,
          'the victim looks signed in',
        );
        await shot(page, 'oauth-forged-callback');
        result.login_csrf_refused = true;
        await victim.close();
      });
    }

    // 7. The back office: the newest paid order (paid through "Pay now").
    await backOffice(browser, viewport, {
      orderId: result.orders.ids.double_click,
      unpaidId: result.orders.ids.left_unpaid,
      shopperEmail: email,
    });

    check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join('; ')}`);
    await visitorCtx.close();
    result.ok = true;
  } finally {
    await browser.close();
  }
}

main()
  .then(() => {
    result.screenshots = screenshots;
    result.duration_ms = Date.now() - started;
    process.stdout.write(JSON.stringify(result) + '\n');
  })
  .catch((error) => {
    const message = error instanceof Failure ? error.message : (error && error.stack) || String(error);
    console.error(`[e2e] FAILED: ${message}`);
    process.stdout.write(
      JSON.stringify({ ...result, ok: false, error: message.split('\n')[0], screenshots, duration_ms: Date.now() - started }) + '\n',
    );
    process.exitCode = 1;
  });
