"""Schemathesis hooks for Klaxon's API contract test (`tests/tests/api_contract.rs`).

One rule of the API cannot be written in JSON Schema: in an escalation policy, every step but the last needs
`escalate_after_minutes`, and the last one needs it too when `repeat` is above 0 (JSON Schema cannot say which
array item is the last). The document states the rule in the `steps` description and the server refuses a
body that breaks it with a 400 naming the field. So that the checker does not count such a body as "valid
data rejected", this hook drops the *positive* cases that break the stated rule; negative cases are sent as
generated. Nothing else is filtered: every other rule is in the document and checked as written.

Likewise a snooze's `until` must be in the future and at most 7 days away, which a schema cannot say of a
`date-time`: a *positive* snooze case with an `until` gets one an hour from now (still a date-time), so the
checker's valid cases are valid; negative cases are sent as generated.

A maintenance window's rules the document states but a schema cannot check are treated the same way: a
*positive* window case gets a valid one-off span (`starts_at` an hour from now, `ends_at` an hour later) or a
valid recurrence (`cron` "0 22 * * 6" and `time_zone` "UTC"; its `duration_minutes` range is in the schema)
in place of the generated strings; negative cases are sent as generated.
"""

import datetime

import schemathesis

# Operations whose body carries `steps` and `repeat`.
_POLICY_BODIES = {
    "create_escalation_policy",
    "update_escalation_policy",
    "simulate_draft_policy",
}


def _breaks_step_delay_rule(body):
    if not isinstance(body, dict):
        return False
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        return False
    repeat = body.get("repeat") or 0
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            return False
        last = i == len(steps) - 1
        needs_delay = not last or (isinstance(repeat, (int, float)) and repeat > 0)
        if needs_delay and step.get("escalate_after_minutes") is None:
            return True
    return False


@schemathesis.hook
def filter_case(context, case):
    operation_id = (context.operation.definition.raw or {}).get("operationId") if context.operation else None
    if operation_id not in _POLICY_BODIES:
        return True
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    return not _breaks_step_delay_rule(case.body)


# Operations whose body is a maintenance window.
_WINDOW_BODIES = {"create_maintenance_window", "update_maintenance_window"}


def _valid_window(body):
    body = dict(body)
    if isinstance(body.get("starts_at"), str) and isinstance(body.get("ends_at"), str):
        start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        body["starts_at"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        body["ends_at"] = (start + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(body.get("recurrence"), dict):
        body["recurrence"] = {**body["recurrence"], "cron": "0 22 * * 6", "time_zone": "UTC"}
    return body


@schemathesis.hook
def map_case(context, case):
    operation_id = (context.operation.definition.raw or {}).get("operationId") if context.operation else None
    if operation_id in _WINDOW_BODIES:
        meta = case.meta
        if meta is not None and meta.generation.mode.is_positive and isinstance(case.body, dict):
            case.body = _valid_window(case.body)
        return case
    if operation_id != "snooze_alert":
        return case
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    if isinstance(case.body, dict) and isinstance(case.body.get("until"), str):
        soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        case.body = {**case.body, "until": soon.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return case
