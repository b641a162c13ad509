import { useEffect, useRef, useState } from 'preact/hooks';
import { AdminNav, MorePages } from '../components/admin';
import { ErrorMessage, Loading, Notice, PageTitle } from '../components/ui';
import { useCooldown, useLoad } from '../components/useLoad';
import { ADMIN_LIST_PAGE_SIZE, hrefWith, pageFrom } from '../lib/admin';
import { dateTime } from '../lib/format';
import { navigate, type Loc } from '../lib/router';
import type { AdminUser, Role } from '../lib/types';
import { api, useAuth } from '../state';

/** The email prefix of the address (`?email=`): 1–254 characters, as the API takes it. */
function emailPrefix(query: URLSearchParams): string {
  const value = (query.get('email') ?? '').trim();
  return value.length <= 254 && !value.includes('\u0000') ? value : '';
}

const usersHref = (email: string, page: number) => hrefWith('/app/admin/users', { email, page: page > 1 ? page : null });

const ROLE_TEXT: Record<Role, string> = { customer: 'a customer', admin: 'an administrator' };

/** Accounts, newest first, searched by the start of their email; an administrator sets their role. */
export function AdminUsersPage({ loc }: { loc: Loc }) {
  const email = emailPrefix(loc.query);
  const page = pageFrom(loc.query);
  const list = useLoad(
    () => api.adminListUsers({ ...(email ? { email } : {}), page, page_size: ADMIN_LIST_PAGE_SIZE }),
    [email, page],
  );
  const { user: me } = useAuth();
  const [search, setSearch] = useState(email);
  /** Roles chosen and being saved, shown until the list is read again. */
  const [chosen, setChosen] = useState<Record<number, Role>>({});
  const [saving, setSaving] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [wait, noteError] = useCooldown();
  const inFlight = useRef(false);

  useEffect(() => setSearch(email), [email]);
  useEffect(() => setChosen({}), [list.data]);

  const find = (e: Event) => {
    e.preventDefault();
    navigate(usersHref(search.trim(), 1));
  };

  const setRole = async (u: AdminUser, role: Role) => {
    if (inFlight.current || role === u.role) return;
    inFlight.current = true;
    setChosen((c) => ({ ...c, [u.id]: role }));
    setSaving(u.id);
    setError(null);
    setMessage(null);
    try {
      const { user } = await api.adminSetUserRole(u.id, role);
      setMessage(
        `${user.full_name} (${user.email ?? `user #${user.id}`}) is now ${ROLE_TEXT[user.role]}. The role reaches their session at their next sign-in or token refresh.`,
      );
      list.reload();
    } catch (err) {
      // 409 for your own account, 404 gone meanwhile, 429: the API's message; the select goes back.
      setError(err);
      noteError(err);
      setChosen((c) => {
        const rest = { ...c };
        delete rest[u.id];
        return rest;
      });
    } finally {
      inFlight.current = false;
      setSaving(null);
    }
  };

  const data = list.data;
  return (
    <section>
      <AdminNav current="users" />
      <PageTitle title="Admin: users">Admin: users</PageTitle>
      <form class="inline-form" role="search" onSubmit={find}>
        <label for="user-email">Email starts with</label>
        <input id="user-email" type="search" maxLength={254} autoComplete="off" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorMessage error={error} />
      {message && <Notice>{message}</Notice>}
      <ErrorMessage error={list.error} />
      {list.loading && !data && <Loading label="Loading users…" />}
      {data && data.users.length === 0 && <p data-testid="users-none">{email ? `No account's email starts with “${email}”.` : 'No users on this page.'}</p>}
      {data && data.users.length > 0 && (
        <div class="table-wrap">
          <table class="admin-users" aria-busy={list.loading}>
            <caption class="visually-hidden">Users, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Joined</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {data.users.map((u) => {
                const who = u.email ?? `${u.full_name} (#${u.id})`;
                const mine = me?.id === u.id;
                return (
                  <tr key={u.id} data-testid="user-row" data-user-id={u.id} data-email={u.email ?? ''} data-role={u.role}>
                    <th scope="row">
                      {u.full_name} <span class="muted">#{u.id}</span>
                      {mine && <span class="muted"> (you)</span>}
                    </th>
                    <td>
                      {u.email ?? <span class="muted">no email</span>}
                      {u.email && <span class="muted">{u.email_verified ? ' (verified)' : ' (not verified)'}</span>}
                    </td>
                    <td>{dateTime(u.created_at)}</td>
                    <td>
                      <select
                        aria-label={`Role of ${who}`}
                        data-testid="role-select"
                        value={chosen[u.id] ?? u.role}
                        disabled={saving !== null || wait > 0}
                        onChange={(e) => setRole(u, e.currentTarget.value as Role)}
                      >
                        <option value="customer">customer</option>
                        <option value="admin">admin</option>
                      </select>
                      {saving === u.id && <span class="muted"> Saving…</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {data && <MorePages label="User pages" page={page} hasMore={data.has_more} hrefFor={(n) => usersHref(email, n)} />}
    </section>
  );
}
