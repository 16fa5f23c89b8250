"""The actions of a shift, shared by the Lambda function and the command line.

A shift is a JSON-serialisable *state* carried from action to action:

- :func:`start` checks the request against the endpoint, takes the endpoint's
  lock and records the weights it found;
- :func:`apply` moves the endpoint towards the current step's weights (or,
  rolling back, the recorded ones) and reports ``ready`` once they are in
  place and the endpoint is ``InService``: it never updates an endpoint that
  is not ``InService``;
- :func:`check` judges a step: an alarm in ``ALARM`` fails it at once; the
  step bakes for ``bake_seconds``; then every alarm must be ``OK`` (not
  ``INSUFFICIENT_DATA``) and the optional comparison must pass, or the step
  waits for data until ``data_timeout_seconds`` have gone, then fails;
- :func:`rollback` turns the shift around towards the recorded weights;
- :func:`finish` drops the lock and publishes the outcome;
- :func:`alarm_rollback` turns a running shift back the moment one of its
  gating alarms goes to ``ALARM`` (the alarm's EventBridge state-change
  event), without waiting for the next :func:`check`: it marks the shift
  rolled back in the endpoint's tags and restores the recorded weights; the
  shift's own next action sees the mark and ends rolled back.

Every action is idempotent: run twice on the same state it leaves the same
weights. The state machine of :mod:`cdk_sagemaker_hosting.traffic_shift`
calls them one by one with Wait states between; :func:`run` loops over them
in one process for the command line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from . import aws
from .plan import (
    UPDATE_ALLOWANCE_SECONDS,
    EndpointBusy,
    EndpointNotReady,
    LostLock,
    Request,
    ShiftError,
    check_variants,
    remaining_steps,
    same_weights,
    step_weights,
)

State = dict[str, Any]

PROMOTED = "promoted"
ROLLED_BACK = "rolled_back"
#: The EventBridge event of a CloudWatch alarm's state change (metric and composite alarms).
ALARM_EVENT_SOURCE = "aws.cloudwatch"
ALARM_EVENT_DETAIL_TYPE = "CloudWatch Alarm State Change"
#: How often :func:`alarm_rollback` looks at an endpoint that is updating.
SETTLE_SECONDS = 2
#: An alarm that changed state more than this before the lock was taken is
#: older than the shift (clocks of Lambda and CloudWatch may differ a little;
#: in doubt, the event rolls back).
CLOCK_SKEW_SECONDS = 5
#: The source of the EventBridge events a shift emits.
EVENT_SOURCE = "cdk-sagemaker-hosting.traffic-shift"
EVENT_DETAIL_TYPE = "SageMaker Traffic Shift Finished"


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _request(state: State) -> Request:
    return Request.from_json(state["request"])


def start(
    sagemaker: Any,
    cloudwatch: Any,
    request: Request,
    *,
    owner: str,
    now: float,
    lock_seconds: float = 0.0,
) -> State:
    """Check the request against the endpoint and lock it; nothing changes weights yet.

    The lock lasts the steps' worst case, or ``lock_seconds`` if longer (the
    state machine's time limit: the lock outlives the execution that holds it).

    Raises :class:`BadRequest` (unknown endpoint, variant or alarm, one
    variant, bad steps), :class:`EndpointBusy` (another shift runs) or
    :class:`EndpointNotReady` (an update runs: the weights it reports may be
    about to change, so none is recorded yet; try again).
    """
    request.check()
    description = aws.describe(sagemaker, request.endpoint)
    found = aws.weights(description)
    check_variants(request, found)
    if request.alarms:
        aws.alarm_states(cloudwatch, request.alarms)
    held = aws.holder(sagemaker, description["EndpointArn"])
    if held and held[0] != aws.tag_value(owner) and held[1] > now:
        msg = f"another shift ({held[0]}) holds {request.endpoint}"
        raise EndpointBusy(msg)
    status = description["EndpointStatus"]
    if status in aws.BROKEN:
        msg = f"endpoint {request.endpoint} is {status}"
        raise ShiftError(msg)
    if status != "InService" and not (held and held[0] == aws.tag_value(owner)):
        msg = f"endpoint {request.endpoint} is {status}, not InService"
        raise EndpointNotReady(msg)
    state: State = {
        "request": request.to_json(),
        "owner": owner,
        "arn": description["EndpointArn"],
        "weights": found,
        "mode": "shift",
        "step": 0,
        "ready": False,
        "ready_at": None,
        "verdict": None,
        "done": False,
        "result": None,
        "reason": None,
        "history": [],
    }
    steps = remaining_steps(found, request)
    if not steps:
        state.update(
            initial={request.source: found[request.source], request.target: found[request.target]},
            steps=[],
            done=True,
            result=PROMOTED,
            reason=f"{request.target} already has all of the pair's traffic: nothing changed",
        )
        return state
    expires = now + max(
        lock_seconds,
        len(steps) * (request.bake_seconds + request.data_timeout + UPDATE_ALLOWANCE_SECONDS),
    )
    initial = aws.acquire(
        sagemaker,
        state["arn"],
        owner=owner,
        initial={request.source: found[request.source], request.target: found[request.target]},
        now=now,
        expires=expires,
    )
    state["initial"] = initial
    # A retried start keeps the steps planned from the recorded weights.
    state["steps"] = remaining_steps({**found, **initial}, request)
    return state


def desired(state: State) -> dict[str, float]:
    """The weights the current step (or the rollback) wants for source and target."""
    request = _request(state)
    initial: dict[str, float] = state["initial"]
    if state["mode"] == "rollback" or not state["steps"]:
        return dict(initial)
    return step_weights(initial, request.source, request.target, state["steps"][state["step"]])


def apply(sagemaker: Any, state: State, *, now: float) -> State:
    """One move towards :func:`desired`: ``ready`` once it is in place and ``InService``."""
    request = _request(state)
    state = {**state, "ready": False}
    description = aws.describe(sagemaker, request.endpoint)
    status = description["EndpointStatus"]
    current = aws.weights(description)
    state["weights"] = current
    state["status"] = status
    if status in aws.BROKEN:
        msg = f"endpoint {request.endpoint} is {status}: {description.get('FailureReason', '')}"
        raise ShiftError(msg.rstrip(": "))
    if status != "InService":
        return state
    want = desired(state)
    if same_weights(current, want):
        state["ready"] = True
        if state.get("ready_at") is None:
            state["ready_at"] = now
            state["history"] = [
                *state["history"][-20:],
                {"at": _iso(now), "mode": state["mode"], "weights": current},
            ]
        return state
    aws.confirm(sagemaker, state["arn"], owner=state["owner"], forward=state["mode"] == "shift")
    aws.update_weights(sagemaker, request.endpoint, want)
    return state


def check(sagemaker: Any, cloudwatch: Any, state: State, *, now: float) -> State:
    """Judge the current step: ``verdict`` is ``healthy``, ``wait`` or ``fail``.

    ``healthy`` moves to the next step (``done`` after the last one). A shift
    an alarm's event rolled back (:func:`alarm_rollback`) fails at once; the
    last step's promotion is recorded first (:func:`aws.decide_promotion`),
    so an alarm event and the promotion never both go ahead.
    """
    request = _request(state)
    state = {**state}
    ready_at = float(state["ready_at"] if state.get("ready_at") is not None else now)
    baked = now - ready_at >= request.bake_seconds
    overdue = now - ready_at > request.bake_seconds + request.data_timeout
    alarms = aws.alarm_states(cloudwatch, request.alarms) if request.alarms else {}
    firing = sorted(name for name, value in alarms.items() if value == "ALARM")
    marked = aws.rolled_back(sagemaker, state["arn"], owner=state["owner"])
    if marked is not None or firing:
        return _verdict(state, "fail", marked or f"alarm {', '.join(firing)} in ALARM")
    if not baked:
        return _verdict(state, "wait", "baking")
    silent = sorted(name for name, value in alarms.items() if value != "OK")
    waiting = f"alarm {', '.join(silent)} in INSUFFICIENT_DATA" if silent else None
    if waiting is None and request.comparison is not None:
        judgement = _compare(cloudwatch, request, ready_at, now)
        if judgement.startswith("fail: "):
            return _verdict(state, "fail", judgement.removeprefix("fail: "))
        waiting = judgement.removeprefix("wait: ") if judgement.startswith("wait: ") else None
    if waiting is not None:
        if overdue:
            return _verdict(
                state, "fail", f"no verdict after {request.data_timeout} s of waiting: {waiting}"
            )
        return _verdict(state, "wait", waiting)
    return _healthy(sagemaker, state)


def _healthy(sagemaker: Any, state: State) -> State:
    """The step passed: on to the next, or the promotion (unless an alarm's event came first)."""
    step = state["step"] + 1
    if step >= len(state["steps"]):
        marked = aws.decide_promotion(sagemaker, state["arn"], owner=state["owner"])
        if marked is not None:
            return _verdict(state, "fail", marked)
    state.update(step=min(step, len(state["steps"]) - 1), ready_at=None)
    state["done"] = step >= len(state["steps"])
    return _verdict(state, "healthy", f"step {step} of {len(state['steps'])} healthy")


def _verdict(state: State, verdict: str, reason: str) -> State:
    state["verdict"] = verdict
    state["reason"] = reason
    return state


def _compare(cloudwatch: Any, request: Request, ready_at: float, now: float) -> str:
    """``ok``, ``wait: why`` or ``fail: why`` for the target against the source."""
    comparison = request.comparison
    assert comparison is not None
    metrics = aws.variant_metrics(
        cloudwatch,
        request.endpoint,
        [request.source, request.target],
        dt.datetime.fromtimestamp(ready_at, dt.UTC),
        dt.datetime.fromtimestamp(now, dt.UTC),
    )
    source, target = metrics[request.source], metrics[request.target]
    calls = target["Invocations"] or 0.0
    if calls < comparison.min_invocations:
        return (
            f"wait: {request.target} had {calls:g} invocations, {comparison.min_invocations} needed"
        )
    target_rate = (target["Invocation5XXErrors"] or 0.0) / calls
    source_calls = source["Invocations"] or 0.0
    source_rate = (source["Invocation5XXErrors"] or 0.0) / source_calls if source_calls else 0.0
    if target_rate > source_rate + comparison.max_error_rate_increase:
        return (
            f"fail: {request.target} 5XX rate {target_rate:.4f} exceeds "
            f"{request.source}'s {source_rate:.4f} "
            f"by more than {comparison.max_error_rate_increase}"
        )
    target_p99, source_p99 = target["ModelLatency"], source["ModelLatency"]
    if (
        target_p99 is not None
        and source_p99 is not None
        and target_p99 > source_p99 * (1 + comparison.max_latency_increase)
    ):
        return (
            f"fail: {request.target} p99 model latency {target_p99:.0f} us exceeds "
            f"{request.source}'s {source_p99:.0f} us by more than "
            f"{comparison.max_latency_increase:.0%}"
        )
    return "ok"


def rollback(sagemaker: Any, state: State, *, now: float, reason: str | None = None) -> State:
    """Turn towards the recorded weights (idempotent); ``ready`` once they are back."""
    if state["mode"] != "rollback":
        state = {**state, "mode": "rollback", "ready_at": None, "done": False}
        state["reason"] = reason or state.get("reason") or "rolled back"
    return apply(sagemaker, state, now=now)


def outcome(state: State) -> dict[str, Any]:
    """What a finished shift reports (the CLI's last line, the event's detail)."""
    request = _request(state)
    return {
        "result": state["result"],
        "endpoint": request.endpoint,
        "source": request.source,
        "target": request.target,
        "weights": state["weights"],
        "reason": state["reason"],
        "owner": state["owner"],
    }


def finish(
    sagemaker: Any,
    state: State,
    *,
    sns: Any | None = None,
    topic_arn: str | None = None,
    events: Any | None = None,
    event_bus: str | None = None,
) -> State:
    """Set the result, drop the lock, publish the outcome to SNS and EventBridge."""
    request = _request(state)
    state = {**state}
    if state.get("result") is None:
        state["result"] = PROMOTED if state["mode"] == "shift" and state["done"] else ROLLED_BACK
    state["weights"] = aws.weights(aws.describe(sagemaker, request.endpoint))
    if state.get("arn"):
        aws.release(sagemaker, state["arn"], owner=state["owner"])
    publish(state, sns=sns, topic_arn=topic_arn, events=events, event_bus=event_bus)
    return state


def publish(
    state: State,
    *,
    sns: Any | None,
    topic_arn: str | None,
    events: Any | None,
    event_bus: str | None,
) -> None:
    """Send the outcome to the topic and the event bus (each when given)."""
    detail = outcome(state)
    if sns is not None and topic_arn:
        sns.publish(
            TopicArn=topic_arn,
            Subject=f"Traffic shift {detail['result']}: {detail['endpoint']}"[:100],
            Message=json.dumps(detail, indent=2),
        )
    if events is not None and event_bus:
        response = events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": EVENT_DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "EventBusName": event_bus,
                    "Resources": [state["arn"]] if state.get("arn") else [],
                }
            ]
        )
        if response.get("FailedEntryCount"):
            msg = f"EventBridge refused the outcome event: {response.get('Entries')}"
            raise ShiftError(msg)


def abort(
    sagemaker: Any,
    request: Request,
    *,
    owner: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float,
    **publishing: Any,
) -> State | None:
    """Roll back a shift that stopped without finishing (aborted, timed out, crashed).

    Does nothing unless ``owner`` still holds the endpoint's lock. Waits for
    ``InService`` between moves, until ``deadline`` (epoch seconds).
    """
    description = aws.describe(sagemaker, request.endpoint)
    arn = description["EndpointArn"]
    initial = aws.recorded_start(sagemaker, arn, owner=owner)
    if initial is None:
        return None
    state: State = {
        "request": request.to_json(),
        "owner": owner,
        "arn": arn,
        "initial": initial,
        "steps": [],
        "step": 0,
        "weights": aws.weights(description),
        "mode": "rollback",
        "ready": False,
        "ready_at": None,
        "done": False,
        "result": None,
        "reason": f"shift {owner} stopped before it finished",
        "history": [],
    }
    while True:
        state = apply(sagemaker, state, now=clock())
        if state["ready"]:
            return finish(sagemaker, state, **publishing)
        if clock() >= deadline:
            msg = f"{request.endpoint} did not settle before the deadline; lock kept"
            raise ShiftError(msg)
        sleep(request.poll_seconds)


def run(
    sagemaker: Any,
    cloudwatch: Any,
    request: Request,
    *,
    owner: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    progress: Callable[[str], None],
    **publishing: Any,
) -> State:
    """A whole shift in one process (the command line): start, steps, finish.

    Ctrl-C (``KeyboardInterrupt``) rolls back, as a stopped execution does.
    """
    deadline = clock() + UPDATE_ALLOWANCE_SECONDS
    while True:
        try:
            state = start(sagemaker, cloudwatch, request, owner=owner, now=clock())
            break
        except EndpointNotReady as error:
            if clock() >= deadline:
                raise
            progress(f"waiting: {error}")
            sleep(request.poll_seconds)
    if state["result"] is not None:
        progress(state["reason"])
        return finish(sagemaker, state, **publishing)
    progress(f"start: {_weights(state['weights'])}; steps {state['steps']}")
    try:
        while not state["done"]:
            state = _settle(sagemaker, state, sleep=sleep, clock=clock)
            label = f"step {state['step'] + 1}/{len(state['steps'])}"
            progress(f"{label} ({state['steps'][state['step']]:g}%): {_weights(state['weights'])}")
            while True:
                state = check(sagemaker, cloudwatch, state, now=clock())
                if state["verdict"] != "wait":
                    break
                sleep(request.poll_seconds)
            progress(f"{label}: {state['verdict']} ({state['reason']})")
            if state["verdict"] == "fail":
                break
    except KeyboardInterrupt:
        state = {**state, "reason": "interrupted"}
        progress("interrupted: rolling back")
    except LostLock as error:
        progress(f"stopped, weights left to the other shift: {error}")
        raise
    except Exception as error:
        state = {**state, "reason": aws.error_text(error)}
        progress(f"error: {state['reason']}: rolling back")
    if not state["done"]:
        state = rollback(sagemaker, state, now=clock())
        state = _settle(sagemaker, state, sleep=sleep, clock=clock)
        progress(f"rolled back: {_weights(state['weights'])}")
    return finish(sagemaker, state, **publishing)


def _settle(
    sagemaker: Any, state: State, *, sleep: Callable[[float], None], clock: Callable[[], float]
) -> State:
    poll = _request(state).poll_seconds
    deadline = clock() + UPDATE_ALLOWANCE_SECONDS
    while True:
        state = apply(sagemaker, state, now=clock())
        if state["ready"]:
            return state
        if clock() >= deadline:
            msg = (
                f"{state['status']} endpoint did not take the weights {desired(state)} "
                f"within {UPDATE_ALLOWANCE_SECONDS} s"
            )
            raise ShiftError(msg)
        sleep(poll)


def _weights(weights: dict[str, float]) -> str:
    return " ".join(f"{name}={weight:g}" for name, weight in weights.items())


def alarm_rollback(
    sagemaker: Any,
    request: Request,
    event: dict[str, Any],
    *,
    executions: str,
    alarm_arns: frozenset[str] = frozenset(),
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float,
) -> dict[str, Any]:
    """Roll back the running shift the moment one of its gating alarms goes to ``ALARM``.

    ``event`` is CloudWatch's "Alarm State Change" event; ``executions`` the
    prefix of the lock owners this function may roll back (the executions of
    one state machine: a shift run from the command line is left alone);
    ``alarm_arns`` the gating alarms' ARNs (empty: any alarm of the request,
    by name). Returns what it did: ``result`` is ``rolled_back`` or
    ``ignored``, with the ``reason``.

    Nothing happens unless the alarm gates the request, it went to
    ``ALARM``, an execution holds the endpoint's lock, the alarm changed
    state after that execution took the lock (a late or retried event of an
    earlier alarm is left to the shift's own Check) and its promotion is
    not yet decided (:func:`aws.decide_promotion`). Then the shift is marked
    rolled back in the endpoint's tags (its next action sees the mark and
    ends rolled back, moving no weight forward) and the weights recorded with
    the lock are restored, waiting for ``InService`` between moves until
    ``deadline``: at the deadline a restore SageMaker has accepted but not
    finished is reported with ``settled`` false; one it never accepted is a
    :class:`ShiftError` (the event is retried, then dead-lettered; the
    state machine's own poll still rolls back).
    """
    detail = event.get("detail") or {}
    alarm = str(detail.get("alarmName", ""))
    report: dict[str, Any] = {"result": "ignored", "alarm": alarm, "endpoint": request.endpoint}
    why_not = _not_ours(request, event, alarm_arns)
    if why_not is not None:
        return {**report, "reason": why_not}
    new = detail["state"]
    reason = f"alarm {alarm} went to ALARM at {_changed_at(event)}: {new.get('reason', '')}"
    arn = aws.describe(sagemaker, request.endpoint)["EndpointArn"]
    tags = aws.tags(sagemaker, arn)
    held = aws.holder_of(tags)
    owner = held[0] if held and held[1] > clock() else None
    if owner is None:
        why_not = f"no shift holds {request.endpoint}"
    elif not owner.startswith(aws.tag_value(executions)):
        why_not = f"{request.endpoint} is held by {owner}, not by this state machine"
    elif _before_start(event, aws.started_at(tags)):
        started = _iso(aws.started_at(tags) or 0.0)
        why_not = (
            f"alarm {alarm} went to ALARM at {_changed_at(event)}, before {owner} started "
            f"at {started}: a late or retried event (the shift's "
            "own Check judges the alarm's state)"
        )
    elif tags.get(aws.DECIDED_TAG) == owner:
        why_not = f"the promotion of {owner} was decided before the alarm's event came"
    elif tags.get(aws.ROLLBACK_TAG) != owner:
        # Mark first, then read: see aws.decide_promotion.
        tags = aws.mark_rollback(sagemaker, arn, owner=owner, reason=reason.rstrip(": "))
        held = aws.holder_of(tags)
        if not held or held[0] != owner or tags.get(aws.DECIDED_TAG) == owner:
            aws.unmark_rollback(sagemaker, arn, owner=owner)
            why_not = f"{owner} finished or decided its promotion as the alarm's event came"
    if why_not is not None or owner is None:
        return {**report, "owner": owner, "reason": why_not}
    initial = aws.decode_weights(tags[aws.INITIAL_TAG])
    restored = _restore(
        sagemaker, request.endpoint, initial, sleep=sleep, clock=clock, deadline=deadline
    )
    return {
        **report,
        "result": ROLLED_BACK,
        "owner": owner,
        "reason": reason.rstrip(": "),
        **restored,
    }


def _changed_at(event: dict[str, Any]) -> str:
    """When the alarm changed state, as the event says (its state's timestamp, or its time)."""
    detail = event.get("detail") or {}
    return str((detail.get("state") or {}).get("timestamp") or event.get("time") or "?")


def _before_start(event: dict[str, Any], started: float | None) -> bool:
    """Whether the alarm changed state before the lock was taken (False when unknown)."""
    if started is None:
        return False
    try:
        changed = dt.datetime.fromisoformat(_changed_at(event))
    except ValueError:
        return False
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=dt.UTC)
    return changed.timestamp() < started - CLOCK_SKEW_SECONDS


def _not_ours(request: Request, event: dict[str, Any], alarm_arns: frozenset[str]) -> str | None:
    """Why an event is not a gating alarm of ``request`` going to ``ALARM`` (None: it is)."""
    if (event.get("source"), event.get("detail-type")) != (
        ALARM_EVENT_SOURCE,
        ALARM_EVENT_DETAIL_TYPE,
    ):
        return "not a CloudWatch alarm state-change event"
    detail = event.get("detail") or {}
    alarm = detail.get("alarmName")
    value = (detail.get("state") or {}).get("value")
    if value != "ALARM":
        return f"alarm {alarm} went to {value}, not ALARM"
    resources = set(event.get("resources") or ())
    if alarm not in request.alarms or (alarm_arns and not resources & alarm_arns):
        return f"alarm {alarm} does not gate the shifts of {request.endpoint}"
    return None


def _restore(
    sagemaker: Any,
    endpoint: str,
    initial: dict[str, float],
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float,
) -> dict[str, Any]:
    """Move ``endpoint`` back to ``initial``, waiting for ``InService`` between moves."""
    before: dict[str, float] | None = None
    just_updated = False
    while True:
        description = aws.describe(sagemaker, endpoint)
        status = description["EndpointStatus"]
        current = aws.weights(description)
        before = current if before is None else before
        if status in aws.BROKEN:
            msg = f"endpoint {endpoint} is {status}: the weights were not restored"
            raise ShiftError(msg)
        if status == "InService":
            if same_weights(current, initial):
                return {"weights_before": before, "weights": current, "settled": True}
            # Right after our update an InService endpoint with other weights
            # means a move raced ours and landed after it: wait, then restore
            # again. SageMaker refuses an update while another runs (False).
            if not just_updated and aws.update_weights(sagemaker, endpoint, initial):
                just_updated = True
                continue
        just_updated = False
        if clock() >= deadline:
            if status != "InService" and same_weights(aws.desired_weights(description), initial):
                return {"weights_before": before, "weights": current, "settled": False}
            msg = f"{status} endpoint {endpoint} did not take {initial} before the deadline"
            raise ShiftError(msg)
        sleep(SETTLE_SECONDS)
