"""What the OpenAPI document says in words and JSON Schema cannot, taught to
Schemathesis (loaded by tests/integration/tests/api/contract_fuzz.rs through
SCHEMATHESIS_HOOKS). Each rule drops exactly one documented refusal of a
schema-valid request; every other failure still fails the run."""

import json

import schemathesis

# The page window (components/parameters/Page): page x page_size <= 10000.
WINDOW = 10_000


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
        case.operation.path in ("/product", "/order")
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
)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep a failure unless it is one of the documented refusals above."""
    if getattr(failure, "code", None) != "ST202":
        return True
    return not any(rule(case, response) for rule in DOCUMENTED_REFUSALS)
