"""CloudFormation's custom-resource protocol, run by a Step Functions workflow.

The resource's service token is the ``request`` function: it starts one
execution of the compilation workflow per CloudFormation request (named by
the request ID, so a retried invocation starts none) and returns. The
workflow calls :func:`step` for ``on_event``, then ``is_complete`` every
30 seconds until the job completes, and finally ``respond``, which puts the
result to the request's presigned ``ResponseURL``: SUCCESS with the job's
attributes, or FAILED with the reason (the job's ``FailureReason``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from . import job

#: The most of a reason CloudFormation shows (its response body takes 4 KB in all).
REASON_MAX = 1000

Put = Callable[[str, bytes], None]


def start(
    states: Any, state_machine_arn: str, event: Mapping[str, Any], *, now: float, timeout: float
) -> dict[str, Any]:
    """Start the workflow for one CloudFormation request (once: the execution is its ID)."""
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(event["RequestId"]))[:80]
    request = {**event, "Deadline": now + timeout}
    try:
        result = states.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(request)
        )
    except ClientError as error:
        if job._code(error) == "ExecutionAlreadyExists":
            return {"executionArn": None, "name": name, "retried": True}
        raise
    return {"executionArn": result["executionArn"], "name": name}


def step(
    sagemaker: Any, s3: Any, action: str, event: Mapping[str, Any], *, now: float, put: Put
) -> Any:
    """One state of the workflow: ``on_event``, ``is_complete`` or ``respond``."""
    if action == "on_event":
        return job.on_event(sagemaker, s3, event)
    current = {**event, "PhysicalResourceId": physical_id(event)}
    if action == "is_complete":
        deadline = float(event.get("Deadline", "inf"))
        if now > deadline:
            msg = (
                f"the compilation {current['PhysicalResourceId']} did not complete in time "
                "(max_runtime and the wait around it); the job is stopped when the stack "
                "rolls back"
            )
            raise job.CompilationFailedError(msg)
        return job.is_complete(sagemaker, current, now=now)
    if action == "respond":
        body = response(current)
        put(str(event["ResponseURL"]), json.dumps(body).encode())
        return {"Status": body["Status"], "Reason": body.get("Reason")}
    msg = f"unknown action {action!r}"
    raise job.BadRequestError(msg)


def physical_id(event: Mapping[str, Any]) -> str:
    """The resource's physical ID: the job ``on_event`` named, or the one it had.

    A create that failed before naming a job gets an ID that is no job name
    of the resource (it starts with ``failed-``), so deleting it touches nothing.
    """
    named = (event.get("OnEvent") or {}).get("PhysicalResourceId")
    if named:
        return str(named)
    if event.get("PhysicalResourceId"):
        return str(event["PhysicalResourceId"])
    return f"failed-{event.get('RequestId', 'create')}"[:1024]


def _error_reason(error: Any) -> str:
    """The message of a Lambda error a Catch put in the state (``Cause`` is its JSON)."""
    if not isinstance(error, Mapping):
        return str(error)
    cause = error.get("Cause", "")
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        return f"{error.get('Error', 'Error')}: {cause}"
    return str(parsed.get("errorMessage") or parsed.get("errorType") or cause)


def response(event: Mapping[str, Any]) -> dict[str, Any]:
    """The body put to ``ResponseURL``: FAILED when the workflow caught an error."""
    body: dict[str, Any] = {
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "PhysicalResourceId": event["PhysicalResourceId"],
    }
    if event.get("Error") is not None:
        reason = _error_reason(event["Error"])
        return {**body, "Status": "FAILED", "Reason": reason[:REASON_MAX]}
    data = (event.get("IsComplete") or {}).get("Data") or {}
    return {**body, "Status": "SUCCESS", "Data": data}


def put_response(url: str, body: bytes) -> None:
    """PUT the response to CloudFormation's presigned S3 URL (signed with no content type)."""
    import urllib.request  # noqa: PLC0415 - only when responding

    if not url.startswith("https://"):
        msg = f"ResponseURL must be https, not {url[:40]!r}"
        raise job.BadRequestError(msg)
    request = urllib.request.Request(  # noqa: S310 - an https URL, checked above
        url, data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        answer.read()
