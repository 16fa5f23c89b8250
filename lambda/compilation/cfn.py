"""CloudFormation's custom-resource protocol, run by a Step Functions workflow.

The resource's service token is the ``request`` function (:func:`request`):
it keeps the request's presigned ``ResponseURL`` in an SSM SecureString
encrypted with the construct's key (:class:`ResponseUrls`, one parameter per
request ID), and starts one execution of the compilation workflow per
CloudFormation request (named by the request ID, so a retried invocation
starts none) with the request *without* its URL: whoever reads the
execution's input, history or logs cannot answer CloudFormation. The
workflow calls :func:`step` for ``on_event``, then ``is_complete`` every
30 seconds until the job completes, and finally ``respond``, which reads the
URL back, puts the result to it (SUCCESS with the job's attributes, or
FAILED with the reason, the job's ``FailureReason``) and deletes the
parameter. Only CloudFormation's response hosts are answered
(:func:`put_response`).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botocore.exceptions import ClientError

from . import job

#: The most of a reason CloudFormation shows (its response body takes 4 KB in all).
REASON_MAX = 1000

#: The hosts of CloudFormation's presigned response URLs: its per-Region S3 buckets
#: (``cloudformation-custom-resource-response-useast1.s3.amazonaws.com``,
#: ``...-euwest1.s3-eu-west-1.amazonaws.com``, ``...-cnnorth1.s3.cn-north-1.amazonaws.com.cn``).
RESPONSE_HOST = re.compile(
    r"^cloudformation-custom-resource-response-[a-z0-9-]+"
    r"\.s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$"
)

Put = Callable[[str, bytes], None]


class Urls(Protocol):
    """Where each request's ``ResponseURL`` waits for the workflow's answer."""

    def keep(self, request_id: str, url: str) -> None: ...

    def take(self, request_id: str) -> str | None: ...

    def forget(self, request_id: str) -> None: ...


class ResponseUrls:
    """Each request's ``ResponseURL`` as an SSM SecureString ``<root>/<RequestId>``.

    Encrypted with ``key_id`` (the construct's key), kept by the request
    function and deleted once the workflow answered, so the URL is in no
    execution input, history or log.
    """

    def __init__(self, ssm: Any, root: str, key_id: str) -> None:
        self._ssm = ssm
        self._root = root.rstrip("/")
        self._key_id = key_id

    def name(self, request_id: str) -> str:
        """The parameter of ``request_id`` (SSM names take letters, digits and ``_.-/``)."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "-", str(request_id))[:200]
        return f"{self._root}/{safe}"

    def keep(self, request_id: str, url: str) -> None:
        # Overwrite: a retried invocation keeps the same URL again.
        self._ssm.put_parameter(
            Name=self.name(request_id),
            Value=url,
            Type="SecureString",
            KeyId=self._key_id,
            Overwrite=True,
            Tier="Intelligent-Tiering",
            Description="CloudFormation's ResponseURL of a Neo compilation request",
        )

    def take(self, request_id: str) -> str | None:
        """The URL, or ``None`` once it was deleted (the request was answered)."""
        try:
            result = self._ssm.get_parameter(Name=self.name(request_id), WithDecryption=True)
        except ClientError as error:
            if job._code(error) == "ParameterNotFound":
                return None
            raise
        return str(result["Parameter"]["Value"])

    def forget(self, request_id: str) -> None:
        try:
            self._ssm.delete_parameter(Name=self.name(request_id))
        except ClientError as error:
            if job._code(error) != "ParameterNotFound":
                raise


def without_url(event: Mapping[str, Any]) -> dict[str, Any]:
    """The request as the workflow gets it: everything but its ``ResponseURL``."""
    return {k: v for k, v in event.items() if k != "ResponseURL"}


def request(
    states: Any,
    urls: Urls,
    state_machine_arn: str,
    event: Mapping[str, Any],
    *,
    now: float,
    timeout: float,
    put: Put,
) -> dict[str, Any]:
    """The service token's work: keep the URL, start the workflow, or answer FAILED here.

    Without a workflow nobody answers CloudFormation, so a failure to keep
    the URL or to start the workflow is answered FAILED at once, and the
    function then *returns*: raising would make Lambda retry the
    asynchronous invocation, start the workflow after all and answer twice.
    """
    request_id = str(event.get("RequestId", ""))
    try:
        urls.keep(request_id, str(event["ResponseURL"]))
        return start(states, state_machine_arn, event, now=now, timeout=timeout)
    except Exception as error:  # every failure is answered, none retried
        failed = {**event, "Error": {"Error": type(error).__name__, "Cause": str(error)}}
        failed["PhysicalResourceId"] = physical_id(event)
        body = response(failed)
        put(str(event["ResponseURL"]), json.dumps(body).encode())
        try:
            urls.forget(request_id)
        except Exception as forgetting:  # answered; the parameter is spent
            print(f"could not delete the response parameter of {request_id}: {forgetting}")
        print(f"answered FAILED: {body['Reason']}")
        return {"Status": "FAILED", "Reason": body["Reason"]}


def start(
    states: Any, state_machine_arn: str, event: Mapping[str, Any], *, now: float, timeout: float
) -> dict[str, Any]:
    """Start the workflow for one CloudFormation request (once: the execution is its ID).

    The execution's input is the request without its ``ResponseURL``.
    """
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(event["RequestId"]))[:80]
    request = {**without_url(event), "Deadline": now + timeout}
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
    sagemaker: Any,
    s3: Any,
    action: str,
    event: Mapping[str, Any],
    *,
    now: float,
    put: Put,
    urls: Urls,
) -> Any:
    """One state of the workflow: ``on_event``, ``is_complete`` or ``respond``.

    ``respond`` reads the request's URL from ``urls``, puts the answer and
    deletes the URL; a URL already deleted means an earlier try answered.
    """
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
        request_id = str(event["RequestId"])
        url = urls.take(request_id)
        if url is None:
            return {"Status": body["Status"], "Reason": body.get("Reason"), "Answered": "before"}
        put(url, json.dumps(body).encode())
        urls.forget(request_id)
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


def check_response_url(url: str) -> None:
    """Only an https URL of CloudFormation's response buckets is answered (no SSRF)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        msg = f"ResponseURL is no URL ({error})"
        raise job.BadRequestError(msg) from error
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or not RESPONSE_HOST.match(host)
        or port not in (None, 443)
        or parts.username is not None
        or parts.password is not None
    ):
        msg = (
            f"ResponseURL must be an https URL of CloudFormation's response buckets "
            f"(host cloudformation-custom-resource-response-<region>.s3...amazonaws.com), not "
            f"scheme {parts.scheme!r} host {host[:100]!r}"
            + (f" port {port}" if port not in (None, 443) else "")
            + ": nothing was sent"
        )
        raise job.BadRequestError(msg)


def put_response(url: str, body: bytes) -> None:
    """PUT the response to CloudFormation's presigned S3 URL (signed with no content type)."""
    import urllib.request  # noqa: PLC0415 - only when responding

    check_response_url(url)
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's https host, checked above
        url, data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        answer.read()
