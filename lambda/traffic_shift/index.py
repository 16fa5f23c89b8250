"""Lambda entry point of the traffic-shift state machine: one action per invocation.

Events: ``{"action": "start", "request": {...}, "owner": "<execution ARN>"}``
(the request is merged over the ``SHIFT_DEFAULTS`` the construct set), then
``{"action": "apply" | "check" | "rollback" | "finish", "state": {...}}``;
each returns the new state. An EventBridge "Execution Status Change" event
of an aborted, timed-out or failed execution rolls that shift back. A
CloudWatch "Alarm State Change" event of a gating alarm going to ``ALARM``
rolls back the shift an execution of ``STATE_MACHINE_ARN`` runs
(:func:`core.alarm_rollback`; the construct's ``AlarmFunction``).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from . import core
from .plan import BadRequest, Request, check_budget

_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    """One client per service per container, created on first use (never at import)."""
    if service not in _clients:
        import boto3  # noqa: PLC0415 - in the Lambda runtime; imported when first needed

        from .aws import client_config  # noqa: PLC0415

        _clients[service] = boto3.client(service, config=client_config())
    return _clients[service]


#: What an execution's input may change; the rest is fixed by the construct
#: (its permissions name the endpoint and the alarms, which gate the target).
OVERRIDABLE = frozenset({"steps", "bake_seconds"})


def _request(overrides: dict[str, Any] | None) -> Request:
    defaults = json.loads(os.environ.get("SHIFT_DEFAULTS", "{}"))
    unknown = sorted(set(overrides or {}) - OVERRIDABLE)
    if unknown:
        msg = (
            f"the execution input may set only {', '.join(sorted(OVERRIDABLE))}; "
            f"not {', '.join(unknown)}"
        )
        raise BadRequest(msg)
    request = Request.from_json({**defaults, **(overrides or {})})
    request.check()
    check_budget(request, float(os.environ.get("SHIFT_TIMEOUT_SECONDS", "inf")))
    return request


def _reason(error: Any) -> str | None:
    """A one-line reason from a Step Functions error (its Cause is Lambda's error JSON)."""
    if not isinstance(error, dict):
        return str(error) if error else None
    cause = error.get("Cause", "")
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        return f"{error.get('Error', 'Error')}: {cause}"[:500]
    return f"{parsed.get('errorType', error.get('Error'))}: {parsed.get('errorMessage', '')}"[:500]


def _publishing() -> dict[str, Any]:
    return {
        "sns": _client("sns") if os.environ.get("TOPIC_ARN") else None,
        "topic_arn": os.environ.get("TOPIC_ARN"),
        "events": _client("events") if os.environ.get("EVENT_BUS_NAME") else None,
        "event_bus": os.environ.get("EVENT_BUS_NAME"),
    }


def handler(event: dict[str, Any], context: Any) -> Any:
    """Run the action an event asks for."""
    now = time.time()
    on_event = _EVENTS.get(str(event.get("source")))
    if on_event is not None:
        return on_event(event, context)
    action = event.get("action")
    state = event.get("state")
    sagemaker = _client("sagemaker")
    if action == "start":
        return core.start(
            sagemaker,
            _client("cloudwatch"),
            _request(event.get("request")),
            owner=event["owner"],
            now=now,
            # the execution's time limit: the lock lasts as long as it may run
            lock_seconds=float(os.environ.get("SHIFT_TIMEOUT_SECONDS") or 0),
        )
    if action == "apply":
        return core.apply(sagemaker, state or {}, now=now)
    if action == "check":
        return core.check(sagemaker, _client("cloudwatch"), state or {}, now=now)
    if action == "rollback":
        return core.rollback(sagemaker, state or {}, now=now, reason=_reason(event.get("error")))
    if action == "finish":
        return core.finish(sagemaker, state or {}, **_publishing())
    msg = f"unknown action {action!r}"
    raise ValueError(msg)


def _abort(event: dict[str, Any], context: Any) -> Any:
    """Roll back the shift of an execution that ended without finishing."""
    detail = event.get("detail", {})
    try:
        overrides = json.loads(detail.get("input") or "{}")
        request = _request(overrides if isinstance(overrides, dict) else {})
    except (BadRequest, ValueError):
        # A refused input changed nothing, and the endpoint is the construct's.
        request = _request({})
    remaining = context.get_remaining_time_in_millis() / 1000 if context else 60.0
    state = core.abort(
        _client("sagemaker"),
        request,
        owner=detail["executionArn"],
        sleep=time.sleep,
        clock=time.time,
        deadline=time.time() + max(0.0, remaining - 15),
        **_publishing(),
    )
    return core.outcome(state) if state else {"result": None, "reason": "no lock held"}


def _alarm(event: dict[str, Any], context: Any) -> Any:
    """Roll back this state machine's running shift: one of its gating alarms went to ALARM."""
    machine = os.environ["STATE_MACHINE_ARN"]
    # arn:aws:states:<region>:<account>:stateMachine:<name> -> its executions' ARN prefix
    head, _, name = machine.rpartition(":stateMachine:")
    arns = frozenset(json.loads(os.environ.get("ALARM_ARNS") or "[]"))
    remaining = context.get_remaining_time_in_millis() / 1000 if context else 60.0
    return core.alarm_rollback(
        _client("sagemaker"),
        _request({}),
        event,
        executions=f"{head}:execution:{name}:",
        alarm_arns=arns,
        sleep=time.sleep,
        clock=time.time,
        deadline=time.time() + max(0.0, remaining - 10),
    )


#: EventBridge events by source: the abort rule's and the alarm rule's.
_EVENTS = {"aws.states": _abort, core.ALARM_EVENT_SOURCE: _alarm}
