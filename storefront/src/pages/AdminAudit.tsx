import { useEffect, useState } from 'preact/hooks';
import { AdminNav, MorePages } from '../components/admin';
import { ErrorMessage, Link, Loading, PageTitle } from '../components/ui';
import { useLoad } from '../components/useLoad';
import {
  AUDIT_TARGET_TYPES,
  auditFiltersFrom,
  auditFiltersHref,
  auditQuery,
  describeChange,
  parseId,
  type AuditFilters,
} from '../lib/admin';
import { dateTime } from '../lib/format';
import { navigate, type Loc } from '../lib/router';
import type { AuditEntry, AuditTargetType } from '../lib/types';
import { api } from '../state';

const ACTION_TEXT: Record<AuditEntry['action'], string> = {
  'order.cancel': 'Cancelled an order',
  'payment.refund': 'Refunded a payment',
  'user.role': 'Changed a role',
};

function Target({ entry }: { entry: AuditEntry }) {
  const label = `${entry.target_type} #${entry.target_id}`;
  if (entry.target_type === 'order') return <Link href={`/app/admin/orders/${entry.target_id}`}>{label}</Link>;
  return <>{label}</>;
}

/** What administrators did through the back office, newest first. */
export function AdminAuditPage({ loc }: { loc: Loc }) {
  const filters = auditFiltersFrom(loc.query);
  const key = auditFiltersHref(filters);
  const list = useLoad(() => api.adminListAudit(auditQuery(filters)), [key]);
  const [targetType, setTargetType] = useState<string>(filters.targetType ?? '');
  const [targetId, setTargetId] = useState(filters.targetId === null ? '' : String(filters.targetId));
  const [actorId, setActorId] = useState(filters.actorId === null ? '' : String(filters.actorId));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setTargetType(filters.targetType ?? '');
    setTargetId(filters.targetId === null ? '' : String(filters.targetId));
    setActorId(filters.actorId === null ? '' : String(filters.actorId));
    setProblem(null);
  }, [key]);

  const apply = (e: Event) => {
    e.preventDefault();
    const type = AUDIT_TARGET_TYPES.includes(targetType as AuditTargetType) ? (targetType as AuditTargetType) : null;
    let why: string | null = null;
    if (targetId.trim() && parseId(targetId) === null) why = 'The target id must be a whole number, 1 or more.';
    else if (targetId.trim() && !type) why = 'Choose the kind of target for a target id.';
    else if (actorId.trim() && parseId(actorId) === null) why = 'The administrator id must be a whole number, 1 or more.';
    setProblem(why);
    if (why) return;
    const next: AuditFilters = { targetType: type, targetId: parseId(targetId), actorId: parseId(actorId), page: 1 };
    navigate(auditFiltersHref(next));
  };

  const data = list.data;
  const filtered = filters.targetType !== null || filters.actorId !== null;
  return (
    <section>
      <AdminNav current="audit" />
      <PageTitle title="Admin: audit log">Admin: audit log</PageTitle>
      <form class="filters" onSubmit={apply} aria-label="Filter the audit log">
        <div>
          <label for="audit-target-type">Target</label>
          <select id="audit-target-type" value={targetType} onChange={(e) => setTargetType(e.currentTarget.value)}>
            <option value="">Any target</option>
            {AUDIT_TARGET_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="audit-target-id">Target id</label>
          <input id="audit-target-id" inputMode="numeric" pattern="[0-9]*" value={targetId} onInput={(e) => setTargetId(e.currentTarget.value)} />
        </div>
        <div>
          <label for="audit-actor-id">Administrator id</label>
          <input id="audit-actor-id" inputMode="numeric" pattern="[0-9]*" value={actorId} onInput={(e) => setActorId(e.currentTarget.value)} />
        </div>
        <div class="filter-actions">
          <button type="submit" class="primary">
            Apply filters
          </button>
          {filtered && <Link href="/app/admin/audit">Clear filters</Link>}
        </div>
      </form>
      <ErrorMessage error={problem ? new Error(problem) : null} />
      <ErrorMessage error={list.error} />
      {list.loading && !data && <Loading label="Loading the audit log…" />}
      {data && data.entries.length === 0 && <p data-testid="audit-none">{filters.page > 1 ? 'No entries on this page.' : 'Nothing recorded yet.'}</p>}
      {data && data.entries.length > 0 && (
        <div class="table-wrap">
          <table class="audit" aria-busy={list.loading}>
            <caption class="visually-hidden">Audit log, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Administrator</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e) => (
                <tr key={e.id} data-testid="audit-row" data-action={e.action} data-target={`${e.target_type}:${e.target_id}`}>
                  <td>{dateTime(e.at)}</td>
                  <td>
                    {e.actor_email ?? `#${e.actor_id}`} <span class="muted">#{e.actor_id}</span>
                  </td>
                  <th scope="row">
                    <code>{e.action}</code> <span class="muted">{ACTION_TEXT[e.action] ?? ''}</span>
                  </th>
                  <td>
                    <Target entry={e} />
                  </td>
                  <td class="change">{describeChange(e.before)}</td>
                  <td class="change">{describeChange(e.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && (
        <MorePages label="Audit pages" page={filters.page} hasMore={data.has_more} hrefFor={(page) => auditFiltersHref({ ...filters, page })} />
      )}
    </section>
  );
}
