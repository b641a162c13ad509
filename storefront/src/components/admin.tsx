import { Link } from './ui';

export type AdminSection = 'products' | 'orders' | 'anomalies' | 'users' | 'audit';

const SECTIONS: Array<[AdminSection, string, string]> = [
  ['products', 'Products', '/app/admin'],
  ['orders', 'Orders', '/app/admin/orders'],
  ['anomalies', 'Anomalies', '/app/admin/anomalies'],
  ['users', 'Users', '/app/admin/users'],
  ['audit', 'Audit', '/app/admin/audit'],
];

/** The back office's sections, on every admin page. */
export function AdminNav({ current }: { current: AdminSection }) {
  return (
    <nav class="admin-nav" aria-label="Admin sections">
      <ul>
        {SECTIONS.map(([section, label, href]) => (
          <li key={section}>
            <Link href={href} aria-current={section === current ? 'page' : undefined} data-testid={`admin-nav-${section}`}>
              {label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Previous / next for the admin lists, which are not counted: the API says `has_more`. */
export function MorePages({
  page,
  hasMore,
  hrefFor,
  label,
}: {
  page: number;
  hasMore: boolean;
  hrefFor: (page: number) => string;
  label: string;
}) {
  if (page <= 1 && !hasMore) return null;
  return (
    <nav class="pagination" aria-label={label}>
      {page > 1 ? (
        <Link href={hrefFor(page - 1)} rel="prev">
          ← Previous page
        </Link>
      ) : (
        <span aria-hidden="true" class="disabled">← Previous page</span>
      )}
      <span aria-current="page">Page {page}</span>
      {hasMore ? (
        <Link href={hrefFor(page + 1)} rel="next">
          Next page →
        </Link>
      ) : (
        <span aria-hidden="true" class="disabled">Next page →</span>
      )}
    </nav>
  );
}
