"""The AWS calls of a shift: endpoint weights, the shift lock, alarms, metrics.

Clients are passed in. Throttling and transient errors are retried by
botocore's ``standard`` retry mode (exponential backoff with jitter, see
:data:`RETRIES`); a bad request (``ValidationException``) is not retried,
except SageMaker's "in-progress" refusal, which means "not yet".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from .plan import AlarmRolledBack, BadRequest, EndpointBusy, LostLock

#: botocore's retry settings for every client of a shift.
RETRIES = {"mode": "standard", "max_attempts": 8}

#: Endpoint states in which SageMaker refuses an update, and which pass.
SETTLING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
#: Endpoint states a shift cannot recover from.
BROKEN = frozenset({"Failed", "OutOfService", "Deleting", "UpdateRollbackFailed"})

#: Tags that lock an endpoint while a shift runs (SageMaker tags: the lock
#: is visible on the endpoint and needs no table of its own).
OWNER_TAG = "cdk-sagemaker-hosting:shift-owner"
INITIAL_TAG = "cdk-sagemaker-hosting:shift-initial"
#: An alarm's state-change event rolled the holder's shift back: the value is
#: the owner, the reason tag says which alarm. Written by the alarm function
#: (the only tags it may write), read before every forward move.
ROLLBACK_TAG = "cdk-sagemaker-hosting:shift-rollback"
ROLLBACK_REASON_TAG = "cdk-sagemaker-hosting:shift-rollback-reason"
#: The holder's last step was judged healthy: its promotion is decided and an
#: alarm event after it no longer rolls back (the value is the owner).
DECIDED_TAG = "cdk-sagemaker-hosting:shift-promoted"
#: When the holder took the lock (epoch seconds, whole): an alarm's event from
#: before it (a late or retried delivery) does not roll this shift back.
STARTED_TAG = "cdk-sagemaker-hosting:shift-started"
#: The tags the alarm function may add and delete (and no other).
ROLLBACK_TAGS = (ROLLBACK_TAG, ROLLBACK_REASON_TAG)
#: Dropped with the lock.
SHIFT_MARKS = (*ROLLBACK_TAGS, DECIDED_TAG, STARTED_TAG)
_TAG_VALUE_UNSAFE = re.compile(r"[^\w.:/=+\-@ ]")


def client_config() -> Any:
    """The botocore ``Config`` of every client a shift uses."""
    from botocore.config import Config  # noqa: PLC0415 - keeps import of this module cheap

    return Config(retries=RETRIES)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def is_in_progress(error: ClientError) -> bool:
    """SageMaker's refusal to touch an endpoint that is being updated."""
    return _code(error) == "ValidationException" and "in-progress" in _message(error)


def describe(sagemaker: Any, endpoint: str) -> dict[str, Any]:
    """DescribeEndpoint; an unknown endpoint is the caller's mistake."""
    try:
        response: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as error:
        if _code(error) == "ValidationException" and "Could not find" in _message(error):
            msg = f"endpoint {endpoint!r} does not exist"
            raise BadRequest(msg) from error
        raise
    return response


def weights(description: Mapping[str, Any]) -> dict[str, float]:
    """Each production variant's current weight (absent means 0, as moto reports it)."""
    return {
        v["VariantName"]: float(v.get("CurrentWeight", v.get("DesiredWeight", 0.0)) or 0.0)
        for v in description.get("ProductionVariants", [])
    }


def update_weights(sagemaker: Any, endpoint: str, desired: Mapping[str, float]) -> bool:
    """Ask for ``desired`` weights; False when SageMaker says the endpoint is busy."""
    try:
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=endpoint,
            DesiredWeightsAndCapacities=[
                {"VariantName": name, "DesiredWeight": weight} for name, weight in desired.items()
            ],
        )
    except ClientError as error:
        if is_in_progress(error):
            return False
        raise
    return True


# --- the lock ---------------------------------------------------------------


def tag_value(text: str) -> str:
    return _TAG_VALUE_UNSAFE.sub("-", text)[:256]


def encode_weights(weights: Mapping[str, float]) -> str:
    """Weights as a tag value: ``A=0.5/B=0.5`` (SageMaker tag values allow no JSON)."""
    return "/".join(f"{name}={weight!r}" for name, weight in weights.items())


def decode_weights(value: str) -> dict[str, float]:
    pairs = (item.split("=", 1) for item in value.split("/") if "=" in item)
    return {name: float(weight) for name, weight in pairs}


def desired_weights(description: Mapping[str, Any]) -> dict[str, float]:
    """Each production variant's desired weight (what an update under way moves to)."""
    return {
        v["VariantName"]: float(v.get("DesiredWeight", v.get("CurrentWeight", 0.0)) or 0.0)
        for v in description.get("ProductionVariants", [])
    }


def tags(sagemaker: Any, arn: str) -> dict[str, str]:
    """The endpoint's tags (every page)."""
    return _tags(sagemaker, arn)


def _tags(sagemaker: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = sagemaker.list_tags(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def holder(sagemaker: Any, arn: str) -> tuple[str, float] | None:
    """Who holds the lock and until when (epoch seconds), or None."""
    return _holder(_tags(sagemaker, arn))


def holder_of(tags: Mapping[str, str]) -> tuple[str, float] | None:
    """Who holds the lock and until when, from tags already read."""
    return _holder(tags)


def _holder(tags: Mapping[str, str]) -> tuple[str, float] | None:
    value = tags.get(OWNER_TAG)
    if not value or "@" not in value:
        return None
    owner, _, expires = value.rpartition("@")
    try:
        return owner, float(expires)
    except ValueError:
        return None


def acquire(
    sagemaker: Any,
    arn: str,
    *,
    owner: str,
    initial: Mapping[str, float],
    now: float,
    expires: float,
) -> dict[str, float]:
    """Take the endpoint's shift lock; returns the weights the shift started from.

    The same owner taking it again (a retried start) gets the weights recorded
    the first time, so a retry never mistakes a half-shifted endpoint for the
    start. Another live owner means :class:`EndpointBusy`; an expired lock is
    taken over. Tags are not atomic: the lock is written, then read back, and
    a shift that finds another owner there gives way.
    """
    owner = tag_value(owner)
    tags = _tags(sagemaker, arn)
    held = _holder(tags)
    if held and held[0] == owner and INITIAL_TAG in tags:
        return decode_weights(tags[INITIAL_TAG])
    if held and held[1] > now:
        until = dt.datetime.fromtimestamp(held[1], dt.UTC).isoformat(timespec="seconds")
        msg = f"another shift ({held[0]}) holds {arn.rsplit('/', 1)[-1]} until {until}"
        raise EndpointBusy(msg)
    sagemaker.add_tags(
        ResourceArn=arn,
        Tags=[
            {"Key": OWNER_TAG, "Value": f"{owner}@{expires:.0f}"},
            {"Key": INITIAL_TAG, "Value": encode_weights(initial)},
            {"Key": STARTED_TAG, "Value": str(int(now))},
        ],
    )
    held = holder(sagemaker, arn)
    if not held or held[0] != owner:
        msg = f"another shift ({held[0] if held else 'unknown'}) took {arn} at the same time"
        raise EndpointBusy(msg)
    return dict(initial)


def confirm(sagemaker: Any, arn: str, *, owner: str, forward: bool = False) -> None:
    """Raise :class:`LostLock` unless ``owner`` still holds the lock.

    Called before every weight change: two shifts that both believed they
    took the lock (tags are not atomic) find out before either moves a weight
    twice, and the one whose tag was overwritten stops. A ``forward`` move
    (towards a step, not back) raises :class:`AlarmRolledBack` once an
    alarm's event has rolled the shift back.
    """
    tags = _tags(sagemaker, arn)
    held = _holder(tags)
    if not held or held[0] != tag_value(owner):
        msg = f"the lock of {arn.rsplit('/', 1)[-1]} is now held by {held[0] if held else 'nobody'}"
        raise LostLock(msg)
    reason = _rolled_back(tags, owner)
    if forward and reason is not None:
        raise AlarmRolledBack(reason)


def _rolled_back(tags: Mapping[str, str], owner: str) -> str | None:
    if tags.get(ROLLBACK_TAG) != tag_value(owner):
        return None
    return tags.get(ROLLBACK_REASON_TAG) or "an alarm's state-change event rolled the shift back"


def rolled_back(sagemaker: Any, arn: str, *, owner: str) -> str | None:
    """Why an alarm's event rolled ``owner``'s shift back, or None if none did."""
    return _rolled_back(_tags(sagemaker, arn), owner)


def decide_promotion(sagemaker: Any, arn: str, *, owner: str) -> str | None:
    """Record that ``owner``'s last step passed, then read whether an alarm rolled it back.

    The state machine and the alarm function each write their tag, then read
    the other's (:func:`mark_rollback`): whichever writes second sees the
    first, so a promotion and an alarm's rollback never both go ahead. When
    both see each other the rollback wins (the state machine rolls back, the
    alarm function leaves the weights to it). Returns the rollback's reason,
    or None: the promotion stands.
    """
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": DECIDED_TAG, "Value": tag_value(owner)}])
    return rolled_back(sagemaker, arn, owner=owner)


def mark_rollback(sagemaker: Any, arn: str, *, owner: str, reason: str) -> dict[str, str]:
    """Write the rollback mark for ``owner``; return the endpoint's tags read after it."""
    sagemaker.add_tags(
        ResourceArn=arn,
        Tags=[
            {"Key": ROLLBACK_TAG, "Value": tag_value(owner)},
            {"Key": ROLLBACK_REASON_TAG, "Value": tag_value(reason)},
        ],
    )
    return _tags(sagemaker, arn)


def unmark_rollback(sagemaker: Any, arn: str, *, owner: str) -> None:
    """Drop ``owner``'s rollback mark (an alarm event that came too late)."""
    if _tags(sagemaker, arn).get(ROLLBACK_TAG) == tag_value(owner):
        sagemaker.delete_tags(ResourceArn=arn, TagKeys=list(ROLLBACK_TAGS))


def release(sagemaker: Any, arn: str, *, owner: str) -> bool:
    """Drop the lock if ``owner`` holds it; True when it did."""
    held = holder(sagemaker, arn)
    if not held or held[0] != tag_value(owner):
        return False
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=[OWNER_TAG, INITIAL_TAG, *SHIFT_MARKS])
    return True


def started_at(tags: Mapping[str, str]) -> float | None:
    """When the holder took the lock (epoch seconds), from tags already read; None if unknown."""
    try:
        return float(tags[STARTED_TAG])
    except (KeyError, ValueError):
        return None


def recorded_start(sagemaker: Any, arn: str, *, owner: str) -> dict[str, float] | None:
    """The start weights ``owner`` recorded with its lock, if it holds it."""
    tags = _tags(sagemaker, arn)
    value = tags.get(OWNER_TAG, "")
    if value.rpartition("@")[0] != tag_value(owner) or INITIAL_TAG not in tags:
        return None
    return decode_weights(tags[INITIAL_TAG])


# --- gates ------------------------------------------------------------------


def alarm_states(cloudwatch: Any, names: Iterable[str]) -> dict[str, str]:
    """Each alarm's state (metric and composite alarms); unknown names are refused."""
    wanted = list(dict.fromkeys(names))
    states: dict[str, str] = {}
    for start in range(0, len(wanted), 100):
        batch = wanted[start : start + 100]
        kwargs: dict[str, Any] = {
            "AlarmNames": batch,
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        }
        while True:
            page = cloudwatch.describe_alarms(**kwargs)
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                states[alarm["AlarmName"]] = alarm["StateValue"]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    missing = [n for n in wanted if n not in states]
    if missing:
        msg = f"alarm(s) {', '.join(missing)} do not exist"
        raise BadRequest(msg)
    return states


def variant_metrics(
    cloudwatch: Any,
    endpoint: str,
    variants: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, dict[str, float | None]]:
    """Invocations, 5XX errors and p99 model latency (µs) per variant over a window."""
    seconds = max(60, int((end - start).total_seconds()))
    period = -(-seconds // 60) * 60
    queries = []
    keys: dict[str, tuple[str, str]] = {}
    for i, variant in enumerate(variants):
        for j, (metric, stat) in enumerate(
            (("Invocations", "Sum"), ("Invocation5XXErrors", "Sum"), ("ModelLatency", "p99"))
        ):
            query_id = f"m{i}_{j}"
            keys[query_id] = (variant, metric)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": metric,
                            "Dimensions": [
                                {"Name": "EndpointName", "Value": endpoint},
                                {"Name": "VariantName", "Value": variant},
                            ],
                        },
                        "Period": period,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    found: dict[str, dict[str, float | None]] = {
        v: {"Invocations": None, "Invocation5XXErrors": None, "ModelLatency": None}
        for v, _ in keys.values()
    }
    kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    while True:
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            variant, metric = keys[result["Id"]]
            values = result.get("Values") or []
            if not values:
                continue
            # One period covers the window; if CloudWatch split it, add the
            # sums up and keep the worst percentile.
            if metric == "ModelLatency":
                found[variant][metric] = max(values)
            else:
                found[variant][metric] = (found[variant][metric] or 0.0) + sum(values)
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


def error_text(error: BaseException) -> str:
    """A one-line description of an error for reports."""
    if isinstance(error, ClientError):
        return f"{_code(error)}: {_message(error)}"
    return f"{type(error).__name__}: {error}"
