"""The compilation custom resource: one Neo compilation job per input, started once.

The compilation workflow (:mod:`.cfn`) calls :func:`on_event` for each
CloudFormation request, then :func:`is_complete` until it answers
``IsComplete: true`` or raises (which fails the deploy with the raised
message), the same contract as the CDK provider framework's handlers.

A job's name derives from a hash of its inputs (the input and output
configurations and the stopping condition; not the role, which changes
nothing in the artifact), and each job writes under a folder of its own
name, so:

* the same inputs give the same name: a stack update that changes nothing
  the hash covers keeps the compiled artifact (CloudFormation does not even
  call the handler when no property changed);
* changed inputs give a new name, hence a new physical ID, a new job and a
  new artifact; CloudFormation then deletes the old resource;
* a retried request (a timed-out Lambda, a redeploy after ``--no-rollback``)
  finds the job its name already started and waits for it, never starting
  a second one. SageMaker keeps a name for good once used: a job of that
  name that failed or was stopped is followed by ``<name>-2``, ``-3``... up
  to :data:`MAX_ATTEMPTS` (found with one ``ListCompilationJobs``), so a
  redeploy compiles again instead of replaying the old failure; no two
  attempts share an output folder.

Clients (and the clock) are passed in. Throttling never fails a deploy: a
throttled call in :func:`is_complete` answers "not yet" and is made again at
the next poll, a throttled start in :func:`on_event` is left for
:func:`is_complete` to make, and any other throttled call of
:func:`on_event` (a Delete's included) raises :class:`ThrottledError`, which
the workflow retries with backoff (its own ``Retry``, before any ``Catch``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

#: Jobs tried for one input before the deploy gives up (SageMaker never reuses a name).
MAX_ATTEMPTS = 99
#: Hex digits of the input hash in job names and output prefixes.
DIGEST_LENGTH = 24
#: Room left in SageMaker's 63-character names for the construct's prefix.
PREFIX_MAX_LENGTH = 63 - 1 - DIGEST_LENGTH - len(f"-{MAX_ATTEMPTS}")
#: Job states that end well, badly, or not yet.
COMPLETED = "COMPLETED"
ENDED_BADLY = frozenset({"FAILED", "STOPPED"})
RUNNING = frozenset({"STARTING", "INPROGRESS"})
#: Error codes of throttled requests (botocore retries them first).
THROTTLED = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",  # S3's
    }
)
#: What the construct may ask of the artifacts when the resource is deleted.
REMOVAL_POLICIES = frozenset({"retain", "destroy"})
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_S3_URL = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.*)$")

Log = Callable[[str], None]


class BadRequestError(ValueError):
    """The resource's properties are not what the construct writes."""


class CompilationFailedError(RuntimeError):
    """The job failed or was stopped; the message (SageMaker's reason) fails the deploy."""


class ThrottledError(RuntimeError):
    """SageMaker or S3 throttled a call past botocore's retries: the workflow retries the step.

    Its name is the error the state machine's ``Retry`` matches (Lambda
    reports the exception's class name), distinct from every failure.
    """


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def is_throttled(error: ClientError) -> bool:
    """The request was throttled (and botocore's retries did not get it through)."""
    return _code(error) in THROTTLED


def _int(properties: Mapping[str, Any], key: str) -> int:
    """CloudFormation passes every custom-resource value as a string."""
    try:
        return int(properties[key])
    except (KeyError, TypeError, ValueError) as error:
        msg = f"{key} must be a whole number, not {properties.get(key)!r}"
        raise BadRequestError(msg) from error


@dataclass(frozen=True)
class Plan:
    """What one set of properties asks SageMaker to compile, and under which names."""

    prefix: str
    role_arn: str
    input_config: dict[str, Any]
    output_config: dict[str, Any]
    stopping_condition: dict[str, Any]
    removal_policy: str
    digest: str

    @staticmethod
    def from_properties(properties: Mapping[str, Any]) -> Plan:
        """The plan of a resource's ``ResourceProperties``, its names hashed from its inputs."""
        try:
            prefix = str(properties["JobNamePrefix"])
            role_arn = str(properties["RoleArn"])
            input_config = dict(properties["InputConfig"])
            output_config = dict(properties["OutputConfig"])
        except (KeyError, TypeError, ValueError) as error:
            msg = f"the properties lack {error}: JobNamePrefix, RoleArn, InputConfig, OutputConfig"
            raise BadRequestError(msg) from error
        if not _NAME.match(prefix) or len(prefix) > PREFIX_MAX_LENGTH:
            msg = f"JobNamePrefix {prefix!r} must be a SageMaker name of 1-{PREFIX_MAX_LENGTH}"
            raise BadRequestError(msg)
        base = str(output_config.get("S3OutputLocation", ""))
        if not _S3_URL.match(base) or not base.endswith("/"):
            msg = f"OutputConfig.S3OutputLocation {base!r} must be an s3:// prefix ending in '/'"
            raise BadRequestError(msg)
        stopping = {"MaxRuntimeInSeconds": _int(properties, "MaxRuntimeInSeconds")}
        removal = str(properties.get("RemovalPolicy", "retain"))
        if removal not in REMOVAL_POLICIES:
            msg = f"RemovalPolicy {removal!r} must be one of {sorted(REMOVAL_POLICIES)}"
            raise BadRequestError(msg)
        hashed = {"InputConfig": input_config, "OutputConfig": output_config, **stopping}
        canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]
        return Plan(
            prefix=prefix,
            role_arn=role_arn,
            input_config=input_config,
            output_config=output_config,
            stopping_condition=stopping,
            removal_policy=removal,
            digest=digest,
        )

    def job_name(self, attempt: int = 1) -> str:
        """The job of this input's ``attempt``-th try (1 to :data:`MAX_ATTEMPTS`)."""
        base = f"{self.prefix}-{self.digest}"
        return base if attempt == 1 else f"{base}-{attempt}"

    def output_location(self, name: str) -> str:
        """Where the job ``name`` writes: a folder of its own under the construct's prefix."""
        return f"{self.output_config['S3OutputLocation']}{name}/"

    def request(self, name: str) -> dict[str, Any]:
        """``CreateCompilationJob``'s parameters for the job ``name``."""
        return {
            "CompilationJobName": name,
            "RoleArn": self.role_arn,
            "InputConfig": self.input_config,
            "OutputConfig": {**self.output_config, "S3OutputLocation": self.output_location(name)},
            "StoppingCondition": self.stopping_condition,
        }

    def attempt(self, name: str) -> int | None:
        """Which try of these inputs the job ``name`` is, or ``None`` if it is none."""
        base = self.job_name()
        if name == base:
            return 1
        suffix = name.removeprefix(f"{base}-")
        if suffix != name and suffix.isdigit() and 2 <= int(suffix) <= MAX_ATTEMPTS:
            return int(suffix)
        return None


def describe(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """The job's description, or ``None`` when no job has that name."""
    try:
        result: dict[str, Any] = sagemaker.describe_compilation_job(CompilationJobName=name)
    except ClientError as error:
        missing = _code(error) == "ResourceNotFound" or (
            _code(error) == "ValidationException"
            and re.search(r"could not find|does not exist|not found", _message(error), re.I)
        )
        if missing:
            return None
        raise
    return result


def _reason(job: Mapping[str, Any]) -> str:
    reason = str(job.get("FailureReason") or "").strip()
    return reason or "SageMaker gave no reason"


def artifact_exists(s3: Any, url: str) -> bool:
    """The object at ``s3://bucket/key`` is there (a 404 says it is not)."""
    match = _S3_URL.match(url)
    if match is None or not match["key"]:
        return False
    try:
        s3.head_object(Bucket=match["bucket"], Key=match["key"])
    except ClientError as error:
        if _code(error) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def attempts(sagemaker: Any, plan: Plan) -> dict[int, str]:
    """The status of every try of these inputs SageMaker has, by attempt (one listing)."""
    found: dict[int, str] = {}
    pages = sagemaker.get_paginator("list_compilation_jobs").paginate(NameContains=plan.job_name())
    for page in pages:
        for summary in page.get("CompilationJobSummaries", []):
            attempt = plan.attempt(str(summary.get("CompilationJobName")))
            if attempt is not None:
                found[attempt] = str(summary.get("CompilationJobStatus"))
    return found


def choose(sagemaker: Any, s3: Any, plan: Plan, log: Log) -> tuple[str, dict[str, Any] | None]:
    """The name to compile under, and its job if one runs or ran well under it.

    The first attempt whose name is unused, or whose job is still running, or
    completed with its artifact still in place; a job that failed or was
    stopped (or is stopping), or whose artifact is gone (deleted with the ``destroy`` policy
    when these inputs were replaced, and now asked for again), moves on to
    the next name. One ``ListCompilationJobs`` finds the tries; only a
    running or completed one is described.
    """
    tried = attempts(sagemaker, plan)
    reasons = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        name = plan.job_name(attempt)
        status = tried.get(attempt)
        if status is None:
            return name, None
        if status in ENDED_BADLY:
            log(f"{name} ended {status}; trying the next name")
            reasons.append(f"{name}: {status}")
            continue
        job = describe(sagemaker, name)
        if job is None:
            return name, None
        status = str(job.get("CompilationJobStatus"))
        if status in RUNNING:
            return name, job
        if status == COMPLETED:
            artifact = _attributes(job)["ModelArtifacts"]
            if artifact_exists(s3, artifact):
                return name, job
            log(f"{name} completed, but {artifact} is gone; trying the next name")
            reasons.append(f"{name}: COMPLETED, artifact deleted")
            continue
        log(f"{name} ended {status}: {_reason(job)}; trying the next name")
        reasons.append(f"{name}: {status}: {_reason(job)}")
    msg = (
        f"all {MAX_ATTEMPTS} compilation jobs SageMaker allows for these inputs "
        f"({plan.job_name()} to -{MAX_ATTEMPTS}) ended without an artifact, and SageMaker "
        "never reuses a job name: change an input the names hash (the source, framework "
        "version, data shape, compiler options, target, output prefix or max_runtime) to "
        "compile under new names. The last: " + " | ".join(reasons[-3:])
    )
    raise CompilationFailedError(msg[:4000])


def start(sagemaker: Any, plan: Plan, name: str, log: Log) -> bool:
    """Start the job ``name``; ``False`` when it must be started again later (throttled).

    A job of that name already there (a retried request started it) is the
    job: its name is its inputs' hash, so it compiles these very inputs.
    """
    try:
        sagemaker.create_compilation_job(**plan.request(name))
    except ClientError as error:
        if _code(error) == "ResourceInUse":
            log(f"{name} was already started (a retried request): waiting for it")
            return True
        if is_throttled(error):
            log(f"starting {name} was throttled: the next poll starts it")
            return False
        raise
    log(f"started {name}")
    return True


def _attributes(job: Mapping[str, Any]) -> dict[str, str]:
    """What the resource returns: ``Fn::GetAtt`` reads these."""
    return {
        "JobName": str(job["CompilationJobName"]),
        "JobArn": str(job.get("CompilationJobArn", "")),
        "ModelArtifacts": str(job.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")),
        "InferenceImage": str(job.get("InferenceImage") or ""),
        "ArtifactDigest": str(job.get("ModelDigests", {}).get("ArtifactDigest", "")),
    }


def on_event(sagemaker: Any, s3: Any, event: Mapping[str, Any], log: Log = print) -> dict[str, Any]:
    """Handle one CloudFormation request: start (or find) the job, or stop and clean up.

    A call throttled past botocore's retries raises :class:`ThrottledError`,
    which the workflow retries (the step is safe to run again): throttling
    never fails a deploy.
    """
    try:
        return _on_event(sagemaker, s3, event, log)
    except ClientError as error:
        if is_throttled(error):
            operation = error.operation_name or "a call"
            msg = (
                f"{operation} was throttled ({_code(error)}) past botocore's retries; the "
                "workflow runs this step again"
            )
            raise ThrottledError(msg) from error
        raise


def _on_event(sagemaker: Any, s3: Any, event: Mapping[str, Any], log: Log) -> dict[str, Any]:
    kind = event.get("RequestType")
    if kind in ("Create", "Update"):
        plan = Plan.from_properties(event.get("ResourceProperties", {}))
        name, job = choose(sagemaker, s3, plan, log)
        if job is None:
            start(sagemaker, plan, name, log)
        else:
            log(f"{name} is {job.get('CompilationJobStatus')}: the same inputs, not compiled again")
        return {"PhysicalResourceId": name}
    if kind == "Delete":
        delete(sagemaker, s3, event, log)
        return {"PhysicalResourceId": event.get("PhysicalResourceId")}
    msg = f"unknown RequestType {kind!r}"
    raise BadRequestError(msg)


def is_complete(
    sagemaker: Any, event: Mapping[str, Any], *, now: float, log: Log = print
) -> dict[str, Any]:
    """``IsComplete`` once the job completed (with its artifact); raise once it failed."""
    if event.get("RequestType") == "Delete":
        return {"IsComplete": True}
    plan = Plan.from_properties(event.get("ResourceProperties", {}))
    name = str(event["PhysicalResourceId"])
    try:
        job = describe(sagemaker, name)
        if job is None:
            start(sagemaker, plan, name, log)
            return {"IsComplete": False}
    except ClientError as error:
        if is_throttled(error):
            log(f"describing {name} was throttled: asking again at the next poll")
            return {"IsComplete": False}
        raise
    status = job.get("CompilationJobStatus")
    if status == COMPLETED:
        attributes = _attributes(job)
        log(f"{name} completed: {attributes['ModelArtifacts']}")
        return {"IsComplete": True, "Data": attributes}
    if status in ENDED_BADLY:
        msg = f"compilation job {name} {status}: {_reason(job)}"
        raise CompilationFailedError(msg[:4000])
    started = job.get("CreationTime")
    elapsed = ""
    if isinstance(started, dt.datetime):
        elapsed = f" for {now - started.timestamp():.0f} s"
    log(f"{name} is {status}{elapsed}")
    return {"IsComplete": False}


def delete(sagemaker: Any, s3: Any, event: Mapping[str, Any], log: Log) -> None:
    """Stop the job if it still runs; with the ``destroy`` policy, delete its artifacts.

    Only the job's own output prefix (which holds its inputs' hash) is
    emptied; a physical ID that names no job of ours (a create that failed
    before a job was named) is left alone.
    """
    name = str(event.get("PhysicalResourceId", ""))
    properties = event.get("ResourceProperties", {})
    prefix = str(properties.get("JobNamePrefix", ""))
    if not prefix or not name.startswith(f"{prefix}-") or not _NAME.match(name):
        log(f"{name!r} names no compilation job of this resource: nothing to delete")
        return
    job = describe(sagemaker, name)
    if job is None:
        log(f"{name} does not exist: nothing to delete")
        return
    if job.get("CompilationJobStatus") in RUNNING:
        try:
            sagemaker.stop_compilation_job(CompilationJobName=name)
            log(f"stopped {name}")
        except ClientError as error:
            # Ended meanwhile: nothing left to stop.
            if _code(error) != "ValidationException":
                raise
    if str(properties.get("RemovalPolicy", "retain")) == "destroy":
        location = str(job.get("OutputConfig", {}).get("S3OutputLocation", ""))
        delete_prefix(s3, location, log)
    else:
        log(f"{name}: the artifacts are retained (RemovalPolicy retain)")


def delete_prefix(s3: Any, location: str, log: Log) -> int:
    """Delete every object under ``s3://bucket/prefix/``; the number deleted."""
    match = _S3_URL.match(location)
    if match is None or not match["key"]:
        log(f"{location!r} is no output prefix: nothing deleted")
        return 0
    bucket, prefix = match["bucket"], match["key"]
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            errors = result.get("Errors", [])
            if errors:
                first = errors[0]
                msg = (
                    f"could not delete {len(errors)} objects under {location}, e.g. "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
                raise RuntimeError(msg)
            deleted += len(keys)
    log(f"deleted {deleted} objects under {location}")
    return deleted
