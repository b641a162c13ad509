"""What the OpenAPI document says in words and JSON Schema cannot, taught to
Schemathesis (loaded by tests/integration/tests/api/contract_fuzz.rs through
SCHEMATHESIS_HOOKS). Each rule drops exactly one documented refusal of a
schema-valid request; every other failure still fails the run."""

import json
import re

import schemathesis

# The page window (components/parameters/Page): page x page_size <= 10000.
WINDOW = 10_000
# The lists that take Page and PageSize.
PAGED = ("/product", "/order", "/admin/orders", "/admin/users", "/admin/audit")


def _error(response):
    try:
        return json.loads(response.content).get("error", "")
    except (ValueError, AttributeError):
        return ""


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _past_the_window(case, response):
    query = case.query or {}
    page, size = _int(query.get("page"), 1), _int(query.get("page_size"), 15)
    return (
        case.operation.path in PAGED
        and response.status_code == 400
        and page * size > WINDOW
        and "page × page_size" in _error(response)
    )


def _unknown_link(case, response):
    # A well-formed token the server never mailed: "invalid, expired or
    # already used" (400), one answer for all three so none can be probed.
    return (
        case.operation.path in ("/verify-email", "/password/reset")
        and response.status_code == 400
        and "link is invalid" in _error(response)
    )


def _idempotency_key_reused(case, response):
    # The same Idempotency-Key sent again with other items (422, documented
    # on createOrder): the fuzzer repeats short keys across cases.
    headers = {k.lower(): v for k, v in (case.headers or {}).items()}
    return (
        case.operation.path == "/order"
        and case.method.upper() == "POST"
        and "idempotency-key" in headers
        and response.status_code == 422
        and "Idempotency-Key" in _error(response)
    )


# RFC 3339 as the server reads it (platform_core::time::parse_rfc3339):
# microseconds (digits past the sixth dropped), `T`/`Z` in either case, a
# leap second as the last microsecond of its minute.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z",
    re.ASCII,
)


def _days_from_civil(year, month, day):
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def _instant(value):
    """Microseconds since the epoch, or None when not an RFC 3339 date-time."""
    m = _RFC3339.match(str(value)) if value is not None else None
    if not m:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micros = int((m.group(7) or "")[:6].ljust(6, "0"))
    if second == 60:
        second, micros = 59, 999_999
    offset = 0
    if m.group(9):
        offset = (int(m.group(10)) * 3600 + int(m.group(11)) * 60) * (1 if m.group(9) == "+" else -1)
    secs = _days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
    return secs * 1_000_000 + micros


def _from_after_to(case, response):
    # GET /admin/orders: the window from <= created_at < to; a `from`
    # after `to` is refused (400), and each alone is a valid date-time.
    query = case.query or {}
    start, end = _instant(query.get("from")), _instant(query.get("to"))
    return (
        case.operation.path == "/admin/orders"
        and response.status_code == 400
        and start is not None
        and end is not None
        and start > end
        and "from must not be after to" in _error(response)
    )


def _target_id_without_type(case, response):
    # GET /admin/audit: `target_id` names a target only with its
    # `target_type` (400 alone).
    query = case.query or {}
    return (
        case.operation.path == "/admin/audit"
        and response.status_code == 400
        and query.get("target_id") is not None
        and query.get("target_type") is None
        and "target_id needs target_type" in _error(response)
    )


def _merged_lines_past_the_limits(case, response):
    # OrderInput: lines of one product are merged, then at most 100
    # products and 1000 units of each.
    items = case.body.get("items") if isinstance(case.body, dict) else None
    if not isinstance(items, list):
        return False
    merged = {}
    for item in items:
        if isinstance(item, dict):
            pid = item.get("product_id")
            merged[pid] = merged.get(pid, 0) + _int(item.get("quantity"), 0)
    past = len(merged) > 100 or any(q > 1000 for q in merged.values())
    error = _error(response)
    return (
        case.operation.path == "/order"
        and response.status_code == 400
        and past
        and ("quantity of product" in error or "at most 100 products" in error)
    )


DOCUMENTED_REFUSALS = (
    _past_the_window,
    _unknown_link,
    _idempotency_key_reused,
    _merged_lines_past_the_limits,
    _from_after_to,
    _target_id_without_type,
)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep a failure unless it is one of the documented refusals above."""
    if getattr(failure, "code", None) != "ST202":
        return True
    return not any(rule(case, response) for rule in DOCUMENTED_REFUSALS)
