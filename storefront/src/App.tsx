import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { VerifyEmailBanner } from './components/account';
import { Link, Loading, PageTitle } from './components/ui';
import { cartCount } from './lib/cart';
import { matchPath, navigate, useLocation, type Loc } from './lib/router';
import { AccountPage } from './pages/Account';
import { ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage } from './pages/AccountLinks';
import { AdminPage } from './pages/Admin';
import { AdminAnomaliesPage } from './pages/AdminAnomalies';
import { AdminAuditPage } from './pages/AdminAudit';
import { AdminOrderPage } from './pages/AdminOrder';
import { AdminOrdersPage } from './pages/AdminOrders';
import { AdminUsersPage } from './pages/AdminUsers';
import { CartPage } from './pages/Cart';
import { LoginPage, OAuthCallbackPage, RegisterPage } from './pages/Login';
import { OrderPage } from './pages/Order';
import { OrdersPage } from './pages/Orders';
import { ProductPage } from './pages/Product';
import { ProductsPage } from './pages/Products';
import { auth, toSignIn, useAuth, useCart } from './state';

function Header({ loc }: { loc: Loc }) {
  const { ready, user, isAdmin } = useAuth();
  const lines = useCart();
  const count = cartCount(lines);
  const current = (path: string) => (loc.path === path ? 'page' : undefined);
  const signOut = async () => {
    await auth.signOut();
    navigate('/');
  };
  return (
    <header class="site">
      <nav aria-label="Main">
        <Link href="/" class="brand">
          Storefront
        </Link>
        <ul>
          <li>
            <Link href="/" aria-current={current('/')}>
              Products
            </Link>
          </li>
          <li>
            <Link href="/app/cart" aria-current={current('/app/cart')}>
              Cart <span class="count" data-testid="cart-count">{count}</span>
            </Link>
          </li>
          {user && (
            <li>
              <Link href="/app/orders" aria-current={current('/app/orders')}>
                My orders
              </Link>
            </li>
          )}
          {user && (
            <li>
              <Link href="/app/account" aria-current={current('/app/account')}>
                Account
              </Link>
            </li>
          )}
          {isAdmin && (
            <li>
              <Link href="/app/admin" aria-current={loc.path === '/app/admin' || loc.path.startsWith('/app/admin/') ? 'page' : undefined}>
                Admin
              </Link>
            </li>
          )}
          {ready && !user && (
            <>
              <li>
                <Link href={`/app/login?next=${encodeURIComponent(loc.path === '/app/login' ? '/' : loc.path + location.search)}`}>Sign in</Link>
              </li>
              <li>
                <Link href="/app/register">Register</Link>
              </li>
            </>
          )}
          {user && (
            <li class="user">
              <span class="muted" data-testid="signed-in-as">
                {user.full_name}
              </span>
              <button type="button" class="link" onClick={signOut}>
                Sign out
              </button>
            </li>
          )}
        </ul>
      </nav>
    </header>
  );
}

/** Pages that need a session: wait for the restore, else go sign in. */
function RequireAuth({ admin = false, children }: { admin?: boolean; children: ComponentChildren }) {
  const { ready, user } = useAuth();
  useEffect(() => {
    if (ready && !user) toSignIn();
  }, [ready, user]);
  if (!ready) return <Loading label="Restoring your session…" />;
  if (!user) return <Loading label="Redirecting to sign in…" />;
  if (admin && user.role !== 'admin') {
    return (
      <section>
        <PageTitle title="Not allowed">Not allowed</PageTitle>
        <p class="alert error" role="alert">
          This page is for administrators. You are signed in as {user.full_name}.
        </p>
        <p>
          <Link href="/">Back to products</Link>
        </p>
      </section>
    );
  }
  return <>{children}</>;
}

function NotFound() {
  return (
    <section>
      <PageTitle title="Page not found">Page not found</PageTitle>
      <p>
        There is no page here. <Link href="/">Back to products</Link>
      </p>
    </section>
  );
}

function route(loc: Loc) {
  const path = loc.path;
  let m;
  if (path === '/' || path === '/app' || path === '/app/' || path === '/app/products') return <ProductsPage loc={loc} />;
  if ((m = matchPath('/app/products/:id', path)) && /^\d+$/.test(m.id)) return <ProductPage key={m.id} id={Number(m.id)} />;
  if (matchPath('/app/cart', path)) return <CartPage />;
  if (matchPath('/app/login', path)) return <LoginPage loc={loc} />;
  if (matchPath('/app/register', path)) return <RegisterPage loc={loc} />;
  if ((m = matchPath('/app/oauth/:provider/callback', path))) return <OAuthCallbackPage provider={m.provider} loc={loc} />;
  if (matchPath('/app/verify-email', path)) return <VerifyEmailPage />;
  if (matchPath('/app/forgot-password', path)) return <ForgotPasswordPage />;
  if (matchPath('/app/reset-password', path)) return <ResetPasswordPage />;
  if (matchPath('/app/account', path))
    return (
      <RequireAuth>
        <AccountPage />
      </RequireAuth>
    );
  if (matchPath('/app/orders', path))
    return (
      <RequireAuth>
        <OrdersPage loc={loc} />
      </RequireAuth>
    );
  if ((m = matchPath('/app/orders/:id', path)) && /^\d+$/.test(m.id))
    return (
      <RequireAuth>
        <OrderPage key={m.id} id={Number(m.id)} loc={loc} />
      </RequireAuth>
    );
  if (matchPath('/app/admin', path))
    return (
      <RequireAuth admin>
        <AdminPage loc={loc} />
      </RequireAuth>
    );
  if (matchPath('/app/admin/orders', path))
    return (
      <RequireAuth admin>
        <AdminOrdersPage loc={loc} />
      </RequireAuth>
    );
  if ((m = matchPath('/app/admin/orders/:id', path)) && /^\d+$/.test(m.id))
    return (
      <RequireAuth admin>
        <AdminOrderPage key={m.id} id={Number(m.id)} />
      </RequireAuth>
    );
  if (matchPath('/app/admin/anomalies', path))
    return (
      <RequireAuth admin>
        <AdminAnomaliesPage />
      </RequireAuth>
    );
  if (matchPath('/app/admin/users', path))
    return (
      <RequireAuth admin>
        <AdminUsersPage loc={loc} />
      </RequireAuth>
    );
  if (matchPath('/app/admin/audit', path))
    return (
      <RequireAuth admin>
        <AdminAuditPage loc={loc} />
      </RequireAuth>
    );
  return <NotFound />;
}

export function App() {
  const loc = useLocation();
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [loc.path]);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Header loc={loc} />
      {/* Not over the page that is verifying right now. */}
      {loc.path !== '/app/verify-email' && <VerifyEmailBanner />}
      <main id="main" key={loc.path}>
        {route(loc)}
      </main>
      <footer class="site">
        <p>Test shop — payments run through the Midtrans sandbox; no money moves.</p>
      </footer>
    </>
  );
}
