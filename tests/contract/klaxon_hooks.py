"""Schemathesis hooks for Klaxon's API contract test (`tests/tests/api_contract.rs`).

Some rules of the API cannot be written in JSON Schema; the document states each in words and the server
refuses a body that breaks it with a 400 naming the field. So that the checker does not count such a body
as "valid data rejected", `before_call` mends the request about to be sent, whatever its generation mode,
by giving schema-valid values that also keep the rule:
- in an escalation policy, every step but the last needs `escalate_after_minutes`, and the last one too when
  `repeat` is above 0 (JSON Schema cannot say which array item is the last): a step missing it gets 5;
- a snooze's `until` must be in the future and at most 7 days away: a string `until` becomes an hour from
  now;
- a maintenance window's span (`starts_at` before `ends_at`, at most 7 days) and recurrence (`cron` and
  `time_zone` that parse): string values become a one-off span starting in an hour and lasting an hour, or
  "0 22 * * 6" in "UTC".

Only values that are already schema-valid (strings, step objects) are replaced, and only by schema-valid
ones, so a case stays as positive or negative as it was generated; everything else is sent as generated.
The mends run at the last moment because the stateful phase fills bodies in from earlier answers after
generation: a negative case whose only flaw was, say, its `team_id` becomes a valid one once a link puts a
real team id there, and the checker then expects it to be accepted.
"""


import datetime

import schemathesis

# Operations whose body carries `steps` and `repeat`.
_POLICY_BODIES = {
    "create_escalation_policy",
    "update_escalation_policy",
    "simulate_draft_policy",
}

# Operations whose body is a maintenance window.
_WINDOW_BODIES = {"create_maintenance_window", "update_maintenance_window"}


def _soon(hours):
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mend_policy(body):
    steps = body.get("steps")
    if not isinstance(steps, list):
        return
    repeat = body.get("repeat")
    repeats = isinstance(repeat, (int, float)) and not isinstance(repeat, bool) and repeat > 0
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(step, dict) and (not last or repeats) and step.get("escalate_after_minutes") is None:
            step["escalate_after_minutes"] = 5


def _mend_window(body):
    if isinstance(body.get("starts_at"), str) and isinstance(body.get("ends_at"), str):
        body["starts_at"] = _soon(1)
        body["ends_at"] = _soon(2)
    recurrence = body.get("recurrence")
    if isinstance(recurrence, dict):
        if isinstance(recurrence.get("cron"), str):
            recurrence["cron"] = "0 22 * * 6"
        if isinstance(recurrence.get("time_zone"), str):
            recurrence["time_zone"] = "UTC"


def _mend_snooze(body):
    if isinstance(body.get("until"), str):
        body["until"] = _soon(1)


_MENDS = {
    **{op: _mend_policy for op in _POLICY_BODIES},
    **{op: _mend_window for op in _WINDOW_BODIES},
    "snooze_alert": _mend_snooze,
}


@schemathesis.hook
def before_call(context, case, kwargs):
    operation_id = (context.operation.definition.raw or {}).get("operationId") if context.operation else None
    mend = _MENDS.get(operation_id)
    if mend is not None and isinstance(case.body, dict):
        mend(case.body)
