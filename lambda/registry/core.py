"""Approval drives the rollout: record the newest approved version, start the deploy, say so.

Clients and the clock are passed in. The record is an SSM parameter holding
the version ARN the app deploys (read at synth or deploy time); the endpoint
changes only through the pipeline that deploys the app, so CloudFormation
stays the source of truth. Each call is idempotent: it recomputes the newest
approved version of the group from the registry itself, so a duplicated,
late or out-of-order event, a second approval while a rollout runs, and a
rejection of the recorded version all end in the same known state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

#: The version's customer-metadata keys the handler writes.
PREFIX = "cdk-sagemaker-hosting:"
ROLLOUT = f"{PREFIX}rollout"
RECORDED_AT = f"{PREFIX}recorded-at"
EXECUTION = f"{PREFIX}pipeline-execution"
REASON = f"{PREFIX}reason"
DEPLOYED_AT = f"{PREFIX}deployed-at"
#: The client token the version's pipeline execution was (or is to be) started with.
TOKEN = f"{PREFIX}pipeline-token"
#: The rollout mark of a version whose execution a person stopped, or an update of the
#: pipeline cancelled, before it went through every stage.
INTERRUPTED = "interrupted"
#: The rollout marks of a version that the record never picks again by itself
#: (``promote --version`` does, on purpose).
NOT_AGAIN = frozenset({"failed", "refused", INTERRUPTED})
#: The source and detail type of the outcome events.
EVENT_SOURCE = "cdk-sagemaker-hosting.registry"
EVENT_DETAIL_TYPE = "Model Package Promotion"
#: What SageMaker allows in a customer-metadata value (CustomerMetadataValue).
_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]")
_VALUE_MAX = 256
_VERSION = re.compile(r"/(\d+)$")

Publish = Callable[[dict[str, Any]], None]


class ForeignEventError(ValueError):
    """An event this handler must not act on (another group, not SageMaker's)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What the construct fixes: the group, the record, where artifacts must be, the pipeline."""

    group_arn: str
    parameter_name: str
    #: ``s3://bucket/prefix/``: the only artifacts the deploying accounts may read.
    artifacts_url: str | None = None
    pipeline_name: str | None = None
    topic_arn: str | None = None
    event_bus: str | None = None
    #: The pipeline variable that pins an execution to its version (our pipeline's).
    pipeline_variable: str | None = None
    #: Where the version that last reached the last stage is kept.
    deployed_parameter: str | None = None

    @property
    def group_name(self) -> str:
        """The group's name, from its ARN."""
        return self.group_arn.rsplit("/", 1)[-1]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """The configuration the construct wrote into the function's environment."""
        return cls(
            group_arn=env["GROUP_ARN"],
            parameter_name=env["PARAMETER_NAME"],
            artifacts_url=env.get("ARTIFACTS_URL") or None,
            pipeline_name=env.get("PIPELINE_NAME") or None,
            topic_arn=env.get("TOPIC_ARN") or None,
            event_bus=env.get("EVENT_BUS_NAME") or None,
            pipeline_variable=env.get("PIPELINE_VARIABLE") or None,
            deployed_parameter=env.get("DEPLOYED_PARAMETER_NAME") or None,
        )

    def version_arn(self, version: int) -> str:
        """The ARN of version ``version`` of the group."""
        head, _, name = self.group_arn.rpartition(":model-package-group/")
        return f"{head}:model-package/{name}/{version}"


def version_of(arn: str | None) -> int | None:
    """The version number at the end of a version ARN."""
    match = _VERSION.search(arn or "")
    return int(match.group(1)) if match else None


def metadata_value(text: str) -> str:
    """``text`` as SageMaker accepts a customer-metadata value (allowed characters, 256 long)."""
    return _UNSAFE.sub(" ", text)[:_VALUE_MAX] or "-"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _said(error: ClientError) -> str:
    return f"{_code(error)}: {error.response.get('Error', {}).get('Message', '')}"[:300]


def newest_approved(sagemaker: Any, config: Config) -> str | None:
    """The ARN of the group's newest approved version, or ``None``.

    A version whose rollout failed or was refused (its metadata says so) is
    passed over: it is never picked again by an event, only by ``promote
    --version`` on purpose.
    """
    for arn, metadata in _approved(sagemaker, config):
        if metadata.get(ROLLOUT) not in NOT_AGAIN:
            return arn
    return None


def last_proven(sagemaker: Any, config: Config, *, besides: str) -> str | None:
    """The newest approved version (not ``besides``) that once went through every stage.

    Its metadata has ``deployed-at`` and no mark that keeps it from being
    picked again (a later rollout of it that failed, was refused or stopped).
    """
    for arn, metadata in _approved(sagemaker, config):
        if arn != besides and DEPLOYED_AT in metadata and metadata.get(ROLLOUT) not in NOT_AGAIN:
            return arn
    return None


def _approved(sagemaker: Any, config: Config) -> Iterator[tuple[str, dict[str, str]]]:
    """The group's approved versions, newest first, with their customer metadata."""
    kwargs: dict[str, Any] = {
        "ModelPackageGroupName": config.group_arn,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 20,
    }
    while True:
        response = sagemaker.list_model_packages(**kwargs)
        for summary in response.get("ModelPackageSummaryList", []):
            arn = str(summary["ModelPackageArn"])
            yield arn, _metadata(sagemaker, arn)
        if not response.get("NextToken"):
            return
        kwargs["NextToken"] = response["NextToken"]


def _metadata(sagemaker: Any, arn: str) -> dict[str, str]:
    description = sagemaker.describe_model_package(ModelPackageName=arn)
    return dict(description.get("CustomerMetadataProperties") or {})


def recorded(ssm: Any, config: Config, name: str | None = None) -> str | None:
    """The version ARN the app deploys now (or in parameter ``name``), or ``None``."""
    try:
        response = ssm.get_parameter(Name=name or config.parameter_name)
    except ClientError as error:
        if _code(error) == "ParameterNotFound":
            return None
        raise
    value = str(response["Parameter"]["Value"])
    return value if value.startswith("arn:") else None


def artifact_problems(description: Mapping[str, Any], config: Config) -> list[str]:
    """Artifacts of the version the deploying accounts cannot read (outside the prefix)."""
    if not config.artifacts_url:
        return []
    problems = []
    containers = description.get("InferenceSpecification", {}).get("Containers", [])
    for i, container in enumerate(containers):
        url = container.get("ModelDataUrl") or (
            container.get("ModelDataSource", {}).get("S3DataSource", {}).get("S3Uri")
        )
        if url and not str(url).startswith(config.artifacts_url):
            problems.append(
                f"container {i} artifact {url} is outside {config.artifacts_url}, the only "
                "place the deploying accounts may read"
            )
    return problems


def check_event(event: Mapping[str, Any], config: Config) -> Mapping[str, Any]:
    """The event's detail, once it is SageMaker's state change of this group."""
    detail = event.get("detail")
    if event.get("source") != "aws.sagemaker" or not isinstance(detail, Mapping):
        msg = f"not a SageMaker model package state change: source {event.get('source')!r}"
        raise ForeignEventError(msg)
    if detail.get("ModelPackageGroupName") != config.group_name:
        msg = (
            f"the event is about group {detail.get('ModelPackageGroupName')!r}, not "
            f"{config.group_name!r}"
        )
        raise ForeignEventError(msg)
    return detail


def write_back(sagemaker: Any, arn: str, properties: Mapping[str, str]) -> str | None:
    """Add ``properties`` to the version's customer metadata; the error, if that failed.

    A failed write-back never undoes the record: it is reported in the outcome.
    """
    try:
        sagemaker.update_model_package(
            ModelPackageArn=arn,
            CustomerMetadataProperties={k: metadata_value(v) for k, v in properties.items()},
        )
    except ClientError as error:
        return _said(error)
    return None


def on_state_change(
    event: Mapping[str, Any],
    *,
    sagemaker: Any,
    ssm: Any,
    codepipeline: Any | None,
    config: Config,
    now: Callable[[], float],
    publish: Publish = lambda _: None,
) -> dict[str, Any]:
    """Bring the record to the newest approved version; start the pipeline when it moved.

    Results: ``started`` (recorded, and the pipeline started), ``recorded``
    (no pipeline), ``unchanged``, ``refused`` (its artifacts are outside the
    readable prefix: nothing recorded), ``none-approved`` (the record is
    kept: an endpoint is never left without a version). A pipeline that
    fails to start raises after the record is written and the outcome
    published; the retried event starts it (the version's metadata says
    ``recorded``).
    """
    detail = check_event(event, config)
    previous, read_at = _read_record(ssm, config)
    target = newest_approved(sagemaker, config)
    outcome: dict[str, Any] = {
        "group": config.group_name,
        "event": {
            "version": detail.get("ModelPackageVersion"),
            "status": detail.get("ModelApprovalStatus"),
        },
        "previous": previous,
        "version": target,
    }
    if target is None:
        outcome |= {
            "version": previous,
            "result": "none-approved",
            "reason": "no version of the group is approved; the record keeps "
            f"{previous or 'nothing'} and nothing is deployed",
        }
        publish(outcome)
        return outcome
    description = sagemaker.describe_model_package(ModelPackageName=target)
    metadata = dict(description.get("CustomerMetadataProperties") or {})
    pipeline = codepipeline is not None and bool(config.pipeline_name)
    if target == previous:
        if pipeline and metadata.get(ROLLOUT) == "recorded":
            outcome["reason"] = f"{target} is recorded; its pipeline had not started"
            return _start(
                sagemaker,
                codepipeline,
                config=config,
                target=target,
                token=metadata.get(TOKEN) or _token(config, target, read_at),
                outcome=outcome,
                publish=publish,
            )
        outcome |= {"result": "unchanged", "reason": f"{target} is already recorded"}
        return outcome
    rollback = previous is not None and (version_of(target) or 0) < (version_of(previous) or 0)
    reason = (
        f"{previous} is no longer approved; {target} is the newest approved version"
        if rollback
        else f"{target} is the newest approved version"
    )
    return _record(
        description,
        sagemaker=sagemaker,
        ssm=ssm,
        codepipeline=codepipeline if pipeline else None,
        config=config,
        previous=previous,
        reason=reason,
        token=_token(config, target, read_at),
        outcome=outcome,
        now=now,
        publish=publish,
    )


def _token(config: Config, target: str, read_at: int) -> str:
    """One pipeline execution per move of the record (``<group>-<version>-after-r<n>``).

    ``read_at`` is the record's SSM parameter version when the move was
    decided (0 before the first write); every write raises it. Two
    invocations deciding the same move from the same record (a duplicated
    event, or two approvals handled at once) get the same token, and
    CodePipeline starts it once; the same move made again later (a version
    rejected, then approved again: ``2`` after ``1`` twice) is decided
    from a later write, with a token of its own. (A token of the move
    alone, ``2-from-1``, was the first execution's, so the second approval
    started nothing.)
    """
    return f"{config.group_name}-{version_of(target)}-after-r{read_at}"[:128]


def _read_record(ssm: Any, config: Config) -> tuple[str | None, int]:
    """The recorded version ARN (or ``None``) and the parameter's version (0 if unwritten)."""
    try:
        parameter = ssm.get_parameter(Name=config.parameter_name)["Parameter"]
    except ClientError as error:
        if _code(error) == "ParameterNotFound":
            return None, 0
        raise
    value = str(parameter["Value"])
    return (value if value.startswith("arn:") else None), int(parameter.get("Version", 0))


def _record(
    description: Mapping[str, Any],
    *,
    sagemaker: Any,
    ssm: Any,
    codepipeline: Any | None,
    config: Config,
    previous: str | None,
    reason: str,
    token: str,
    outcome: dict[str, Any],
    now: Callable[[], float],
    publish: Publish,
) -> dict[str, Any]:
    """Record the described version (unless its artifacts are unreadable), start the pipeline."""
    target = str(description["ModelPackageArn"])
    problems = artifact_problems(description, config)
    if problems:
        reason = "; ".join(problems)
        outcome |= {"result": "refused", "reason": reason, "version": previous, "refused": target}
        outcome["write_back"] = write_back(sagemaker, target, {ROLLOUT: "refused", REASON: reason})
        publish(outcome)
        return outcome
    ssm.put_parameter(
        Name=config.parameter_name,
        Value=target,
        Type="String",
        Overwrite=True,
        Description=f"The approved version of {config.group_name} the app deploys",
    )
    outcome |= {"result": "recorded", "reason": reason, "version": target}
    stamp = dt.datetime.fromtimestamp(now(), dt.UTC).isoformat(timespec="seconds")
    properties = {ROLLOUT: "recorded", RECORDED_AT: stamp, REASON: reason}
    if codepipeline is not None:
        # Kept with the version: an event retried before the start starts it with this token.
        properties[TOKEN] = token
    if previous:
        properties[f"{PREFIX}previous"] = previous
    outcome["write_back"] = write_back(sagemaker, target, properties)
    if codepipeline is not None:
        return _start(
            sagemaker,
            codepipeline,
            config=config,
            target=target,
            token=token,
            outcome=outcome,
            publish=publish,
        )
    publish(outcome)
    return outcome


def _start(
    sagemaker: Any,
    codepipeline: Any,
    *,
    config: Config,
    target: str,
    token: str,
    outcome: dict[str, Any],
    publish: Publish,
) -> dict[str, Any]:
    """Start the pipeline for ``target``; publish the outcome either way."""
    kwargs: dict[str, Any] = {"name": config.pipeline_name, "clientRequestToken": token}
    if config.pipeline_variable:
        # The execution is pinned to its version: every stage deploys this one.
        kwargs["variables"] = [{"name": config.pipeline_variable, "value": target}]
    try:
        response = codepipeline.start_pipeline_execution(**kwargs)
    except ClientError as error:
        outcome |= {"result": "recorded", "pipeline_error": _said(error)}
        publish(outcome)
        raise
    execution = str(response["pipelineExecutionId"])
    outcome |= {"result": "started", "execution": execution}
    outcome["write_back"] = write_back(
        sagemaker, target, {ROLLOUT: "started", EXECUTION: execution}
    )
    publish(outcome)
    return outcome


class RefusedError(ValueError):
    """A promotion the registry's state does not allow (not approved, unreadable artifacts)."""


def promote(
    *,
    version: int | None,
    sagemaker: Any,
    ssm: Any,
    codepipeline: Any | None,
    config: Config,
    now: Callable[[], float],
    publish: Publish = lambda _: None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Record ``version`` (default: the newest approved) by hand and start the pipeline.

    The same record and write-back as an approval event, with the version
    named: a version that is not ``Approved`` or whose artifacts the
    deploying accounts cannot read raises :class:`RefusedError` (nothing
    written). A version whose rollout failed is promoted again on purpose
    (its mark is replaced by ``recorded``). ``dry_run`` writes nothing and
    returns what would be done (result ``would-record`` or ``unchanged``).
    """
    previous, read_at = _read_record(ssm, config)
    target = (
        config.version_arn(version) if version is not None else newest_approved(sagemaker, config)
    )
    if target is None:
        msg = f"no version of {config.group_name} is approved; the record keeps {previous}"
        raise RefusedError(msg)
    try:
        description = sagemaker.describe_model_package(ModelPackageName=target)
    except ClientError as error:
        if _code(error) in {"ValidationException", "ResourceNotFound"}:
            msg = f"{target} cannot be read: {_said(error)}"
            raise RefusedError(msg) from error
        raise
    status = description.get("ModelApprovalStatus")
    if status != "Approved":
        msg = (
            f"{target} is {status}, not Approved: approve it in the registry first "
            "(only approved versions are deployed)"
        )
        raise RefusedError(msg)
    problems = artifact_problems(description, config)
    if problems:
        raise RefusedError("; ".join(problems))
    outcome: dict[str, Any] = {
        "group": config.group_name,
        "previous": previous,
        "version": target,
        "by": "promote",
    }
    pipeline = codepipeline is not None and bool(config.pipeline_name)
    if dry_run:
        outcome |= {
            "result": "would-record",
            "reason": f"would record {target}"
            + (f" and start {config.pipeline_name}" if pipeline else ""),
        }
        return outcome
    # A hand-made promotion is a move of its own, even to the recorded version (a retry):
    # it is decided from the record as it is now, later than any earlier move.
    return _record(
        description,
        sagemaker=sagemaker,
        ssm=ssm,
        codepipeline=codepipeline if pipeline else None,
        config=config,
        previous=previous,
        reason=f"{target} promoted by hand",
        token=_token(config, target, read_at),
        outcome=outcome,
        now=now,
        publish=publish,
    )


def record_stage(sagemaker: Any, arn: str, stage: str, result: str, reason: str = "") -> str | None:
    """Write a stage's outcome (``passed``, ``failed``, ``deployed``) to the version's metadata."""
    properties = {f"{PREFIX}{stage}": result}
    if reason:
        properties[f"{PREFIX}{stage}-reason"] = reason
    return write_back(sagemaker, arn, properties)


def smoke_test(
    runtime: Any,
    endpoint: str,
    payload: bytes,
    *,
    content_type: str,
    expect: Callable[[bytes], bool] | None = None,
) -> tuple[bool, str]:
    """Invoke ``endpoint`` once with ``payload``: (passed, what happened)."""
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint, Body=payload, ContentType=content_type
        )
    except ClientError as error:
        return False, _said(error)
    body = response["Body"].read()
    if expect is not None and not expect(body):
        return False, f"unexpected response: {body[:200]!r}"
    return True, f"{len(body)} bytes of {response.get('ContentType', 'unknown type')}"


def publisher(
    *, sns: Any | None, topic_arn: str | None, events: Any | None, event_bus: str | None
) -> Publish:
    """Publish an outcome to the topic and as an EventBridge event (either may be absent)."""

    def publish(outcome: dict[str, Any]) -> None:
        text = json.dumps(outcome, default=str, sort_keys=True)
        if sns is not None and topic_arn:
            sns.publish(
                TopicArn=topic_arn,
                Subject=f"Model package promotion: {outcome.get('result')}"[:100],
                Message=text,
            )
        if events is not None and event_bus:
            events.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": EVENT_DETAIL_TYPE,
                        "Detail": text,
                        "EventBusName": event_bus,
                    }
                ]
            )

    return publish


# --- the pipeline's side: its jobs and its state changes ---------------------------------

#: The rollout mark of an execution that a newer record (or a rejection) overtook.
SUPERSEDED = "superseded"
#: The stage-level and execution-level events of CodePipeline the handler reads.
STAGE_CHANGE = "CodePipeline Stage Execution State Change"
#: The pipeline's first stage, which reads the app (``PromotionPipeline``'s).
SOURCE_STAGE = "Source"
EXECUTION_CHANGE = "CodePipeline Pipeline Execution State Change"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Job:
    """A CodePipeline job of our pipeline's Lambda actions (``UserParameters``, as JSON).

    ``action`` is ``verify`` (the execution's version is still the record
    and approved) or ``check`` (the smoke test, then the bake).
    """

    id: str
    action: str
    stage: str
    version: str
    endpoint: str | None = None
    payload: str | None = None
    content_type: str = "application/json"
    expect: str | None = None
    role_arn: str | None = None
    bake_seconds: int = 0
    alarms: tuple[str, ...] = ()
    poll_seconds: int = 60
    continuation: Mapping[str, Any] | None = None

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Job:
        """The job of a Lambda invoke action's event."""
        job = event["CodePipeline.job"]
        data = job.get("data", {})
        text = data.get("actionConfiguration", {}).get("configuration", {}).get("UserParameters")
        params = json.loads(text or "{}")
        token = data.get("continuationToken")
        return cls(
            id=str(job["id"]),
            action=str(params.get("action", "")),
            stage=str(params.get("stage", "")),
            version=str(params.get("version", "")),
            endpoint=params.get("endpoint"),
            payload=params.get("payload"),
            content_type=str(params.get("content_type", "application/json")),
            expect=params.get("expect"),
            role_arn=params.get("role_arn"),
            bake_seconds=int(params.get("bake_seconds", 0)),
            alarms=tuple(params.get("alarms", ())),
            poll_seconds=int(params.get("poll_seconds", 60)),
            continuation=json.loads(token) if token else None,
        )


#: Clients of a stage's account: (sagemaker-runtime, cloudwatch) for a role ARN or None.
StageClients = Callable[[str | None], tuple[Any, Any]]


def on_job(
    event: Mapping[str, Any],
    *,
    codepipeline: Any,
    sagemaker: Any,
    ssm: Any,
    stage_clients: StageClients,
    config: Config,
    now: Callable[[], float],
    sleep: Callable[[float], None],
    publish: Publish = lambda _: None,
) -> dict[str, Any]:
    """Run one of the pipeline's Lambda jobs and put its result; never raises.

    A job left without a result would hold the stage for 20 minutes, so
    every error becomes ``PutJobFailureResult`` with what happened.
    """
    job = Job.from_event(event)
    try:
        if job.action == "verify":
            outcome = _verify(job, sagemaker=sagemaker, ssm=ssm, config=config)
        elif job.action == "check":
            outcome = _check(
                job, sagemaker=sagemaker, stage_clients=stage_clients, now=now, sleep=sleep
            )
        else:
            outcome = {"result": "failed", "reason": f"unknown job action {job.action!r}"}
    except Exception as error:  # every failure must reach CodePipeline
        said = (
            _said(error) if isinstance(error, ClientError) else f"{type(error).__name__}: {error}"
        )
        outcome = {"result": "failed", "reason": f"the {job.action} job failed: {said}"}
    outcome |= {"group": config.group_name, "stage": job.stage, "version": job.version}
    if outcome["result"] == "failed":
        codepipeline.put_job_failure_result(
            jobId=job.id,
            failureDetails={"type": "JobFailed", "message": str(outcome["reason"])[:5000]},
        )
        publish(outcome)
    elif outcome["result"] == "baking":
        codepipeline.put_job_success_result(
            jobId=job.id, continuationToken=json.dumps(outcome["continuation"])
        )
    else:
        codepipeline.put_job_success_result(jobId=job.id)
        if outcome["result"] == "passed":
            publish(outcome)
    return outcome


def _verify(job: Job, *, sagemaker: Any, ssm: Any, config: Config) -> dict[str, Any]:
    """The execution still deploys the record, an approved version: else it is superseded."""
    if not _VERSION.search(job.version) or ":model-package/" not in job.version:
        return {
            "result": "failed",
            "reason": f"the execution's version {job.version!r} is not a version ARN: start "
            "the pipeline with the ModelPackageArn variable (the trigger and promote do)",
        }
    record = recorded(ssm, config)
    status = sagemaker.describe_model_package(ModelPackageName=job.version).get(
        "ModelApprovalStatus"
    )
    if record != job.version or status != "Approved":
        reason = (
            f"{job.version} is {status}"
            if status != "Approved"
            else f"the record moved on to {record}"
        )
        reason = f"superseded before stage {job.stage}: {reason}; nothing more is deployed"
        write_back(sagemaker, job.version, {ROLLOUT: SUPERSEDED, REASON: reason})
        return {"result": "failed", "reason": reason, "superseded": True}
    record_stage(sagemaker, job.version, job.stage, "deploying")
    return {"result": "verified", "reason": f"{job.version} is the approved record"}


def _check(
    job: Job,
    *,
    sagemaker: Any,
    stage_clients: StageClients,
    now: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """The smoke test (first call), then the bake: alarms read every poll until it ends."""
    runtime, cloudwatch = stage_clients(job.role_arn)
    if job.continuation is None:
        said = "no smoke test"
        if job.endpoint and job.payload is not None:
            expect = job.expect
            passed, said = smoke_test(
                runtime,
                job.endpoint,
                job.payload.encode(),
                content_type=job.content_type,
                expect=(lambda body: expect.encode() in body) if expect else None,
            )
            if not passed:
                reason = f"smoke test of {job.endpoint} failed: {said}"
                record_stage(sagemaker, job.version, job.stage, "failed", reason)
                return {"result": "failed", "reason": reason}
            said = f"smoke test of {job.endpoint} passed: {said}"
        if job.bake_seconds <= 0:
            record_stage(sagemaker, job.version, job.stage, "passed", said)
            return {"result": "passed", "reason": said}
        record_stage(sagemaker, job.version, job.stage, "baking", said)
        until = now() + job.bake_seconds
        return {"result": "baking", "reason": said, "continuation": {"until": until}}
    until = float(job.continuation["until"])
    sleep(max(0.0, min(float(job.poll_seconds), until - now())))
    firing = _alarms_firing(cloudwatch, job.alarms)
    if firing:
        reason = f"bake of stage {job.stage}: {firing}"
        record_stage(sagemaker, job.version, job.stage, "failed", reason)
        return {"result": "failed", "reason": reason}
    if now() >= until:
        watched = " ".join(job.alarms) or "no alarm"
        reason = f"baked {job.bake_seconds} s: none of {watched} in ALARM"
        record_stage(sagemaker, job.version, job.stage, "passed", reason)
        return {"result": "passed", "reason": reason}
    return {"result": "baking", "reason": "baking", "continuation": {"until": until}}


def _alarms_firing(cloudwatch: Any, names: tuple[str, ...]) -> str:
    """What is wrong with the gating alarms (one in ALARM, one missing), or ``""``."""
    if not names:
        return ""
    found: dict[str, str] = {}
    for start in range(0, len(names), 100):
        response = cloudwatch.describe_alarms(
            AlarmNames=list(names[start : start + 100]),
            AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        )
        for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
            found[alarm["AlarmName"]] = alarm["StateValue"]
    missing = [n for n in names if n not in found]
    if missing:
        return f"alarms {' '.join(missing)} do not exist so they cannot gate the stage"
    firing = [n for n in names if found[n] == "ALARM"]
    return f"alarms {' '.join(firing)} in ALARM" if firing else ""


def on_pipeline_event(  # noqa: PLR0911 - one return per kind of state change
    event: Mapping[str, Any],
    *,
    codepipeline: Any,
    sagemaker: Any,
    ssm: Any,
    config: Config,
    now: Callable[[], float],
    publish: Publish = lambda _: None,
) -> dict[str, Any]:
    """Write a stage's failure or the rollout's end back; restore the record after a failure.

    * A stage failed: the version's ``<stage>`` says ``failed`` (the check's
      own reason is kept), its rollout ``failed`` (never picked again by an
      event), and the record goes back to the deployed version (the one that
      last went through every stage) when it still names the failed one:
      the next deploy of the app deploys what production runs. Production
      is untouched by a failure before its stage; a failure in its stage
      (a deploy that CloudFormation or the endpoint's guardrails rolled
      back, a ``TrafficShift`` that rolled back and raised its alarm in the
      bake) leaves it at the previous version too.
    * A version superseded in ``verify`` keeps its ``superseded`` mark and
      the record is not touched (it already names the newer version); so
      does an execution CodePipeline superseded (the newer one carries on).
    * An execution stopped by a person, or cancelled by an update of the
      pipeline: the version never went through every stage. It is
      ``interrupted`` (never picked again by an event, as ``failed``) and
      the record goes back as after a failure, so a deploy of the app
      outside the pipeline never ships it.
    * Going back, the record never names a version that is not approved:
      see :func:`_restore`.
    * The execution succeeded: the rollout is ``deployed`` and the version
      becomes the deployed one.
    """
    detail = event.get("detail")
    if event.get("source") != "aws.codepipeline" or not isinstance(detail, Mapping):
        msg = f"not a CodePipeline state change: source {event.get('source')!r}"
        raise ForeignEventError(msg)
    if detail.get("pipeline") != config.pipeline_name:
        msg = (
            f"the event is about pipeline {detail.get('pipeline')!r}, not {config.pipeline_name!r}"
        )
        raise ForeignEventError(msg)
    execution = str(detail.get("execution-id"))
    state = str(detail.get("state"))
    version = _execution_version(codepipeline, config, execution)
    outcome: dict[str, Any] = {
        "group": config.group_name,
        "execution": execution,
        "version": version,
        "state": state,
    }
    if version is None:
        outcome |= {"result": "ignored", "reason": "the execution names no version"}
        return outcome
    metadata = _metadata(sagemaker, version)
    stamp = dt.datetime.fromtimestamp(now(), dt.UTC).isoformat(timespec="seconds")
    if event.get("detail-type") == STAGE_CHANGE and state == "FAILED":
        stage = str(detail.get("stage"))
        if metadata.get(ROLLOUT) == SUPERSEDED:
            outcome |= {"result": SUPERSEDED, "reason": metadata.get(REASON, "superseded")}
            publish(outcome)
            return outcome
        if stage == SOURCE_STAGE:
            # The app's source could not be read: nothing of the version's doing. The
            # record keeps it; promote starts it again (an event naming nothing newer
            # finds it recorded and changes nothing), as does a newer approval.
            reason = (
                f"the {SOURCE_STAGE} stage failed (execution {execution}): the app was not read"
            )
            outcome |= {"result": "stopped", "stage": stage, "reason": reason}
            outcome["write_back"] = write_back(
                sagemaker, version, {ROLLOUT: "stopped", REASON: reason}
            )
            publish(outcome)
            return outcome
        if metadata.get(f"{PREFIX}{stage}") != "failed":
            record_stage(
                sagemaker,
                version,
                stage,
                "failed",
                f"an approval deploy or check action failed in execution {execution}: see the "
                "pipeline",
            )
        reason = metadata.get(f"{PREFIX}{stage}-reason") or f"stage {stage} failed"
        outcome |= {"result": "failed", "stage": stage, "reason": reason}
        outcome["write_back"] = write_back(
            sagemaker, version, {ROLLOUT: "failed", REASON: f"stage {stage} failed at {stamp}"}
        )
        outcome["record"] = _restore(sagemaker, ssm, config, version)
        publish(outcome)
        return outcome
    if event.get("detail-type") != EXECUTION_CHANGE:
        outcome |= {"result": "ignored", "reason": f"stage state {state}"}
        return outcome
    if state == "SUCCEEDED":
        outcome |= {"result": "deployed", "reason": f"{version} went through every stage"}
        outcome["record"] = _deployed(sagemaker, ssm, config, version)
        outcome["write_back"] = write_back(
            sagemaker, version, {ROLLOUT: "deployed", DEPLOYED_AT: stamp}
        )
        publish(outcome)
        return outcome
    if state in {"SUPERSEDED", "STOPPED", "CANCELED"} and metadata.get(ROLLOUT) not in {
        "failed",
        SUPERSEDED,
        INTERRUPTED,
    }:
        return _ended_early(
            state,
            stamp,
            sagemaker=sagemaker,
            ssm=ssm,
            config=config,
            outcome=outcome,
            publish=publish,
        )
    outcome |= {"result": "ignored", "reason": f"execution state {state}"}
    return outcome


def _ended_early(
    state: str,
    stamp: str,
    *,
    sagemaker: Any,
    ssm: Any,
    config: Config,
    outcome: dict[str, Any],
    publish: Publish,
) -> dict[str, Any]:
    """An execution that ended before its last stage without a failure; say so, mend the record.

    ``SUPERSEDED``: a newer execution overtook it; the record is that one's
    and it carries on. ``STOPPED`` (by a person) or ``CANCELED`` (by an
    update of the pipeline): the version never went through every stage, so
    the record goes back as after a failure.
    """
    version = str(outcome["version"])
    if state == "SUPERSEDED":
        reason = f"the execution was superseded at {stamp}"
        outcome |= {"result": SUPERSEDED, "reason": reason}
        outcome["write_back"] = write_back(
            sagemaker, version, {ROLLOUT: SUPERSEDED, REASON: reason}
        )
        publish(outcome)
        return outcome
    reason = (
        f"the execution was {state.lower()} at {stamp} before every stage ran; "
        f"promote --version {version_of(version)} starts it again"
    )
    outcome |= {"result": INTERRUPTED, "reason": reason}
    outcome["write_back"] = write_back(sagemaker, version, {ROLLOUT: INTERRUPTED, REASON: reason})
    outcome["record"] = _restore(sagemaker, ssm, config, version)
    publish(outcome)
    return outcome


def _execution_version(codepipeline: Any, config: Config, execution: str) -> str | None:
    """The version an execution deploys: its pipeline variable."""
    response = codepipeline.get_pipeline_execution(
        pipelineName=config.pipeline_name, pipelineExecutionId=execution
    )
    for variable in response.get("pipelineExecution", {}).get("variables", []):
        if variable.get("name") == config.pipeline_variable:
            value = str(variable.get("resolvedValue", ""))
            return value if value.startswith("arn:") else None
    return None


def _deployed(sagemaker: Any, ssm: Any, config: Config, version: str) -> dict[str, Any]:
    """``version`` went through every stage: it is the deployed one, and the record follows.

    The record follows only when it still names the version deployed before
    (a rollout that failed meanwhile put it back there) and ``version`` is
    still approved: a record naming a newer version in flight, or an older
    one after a rejection of ``version``, is kept.
    """
    before = recorded(ssm, config, config.deployed_parameter) if config.deployed_parameter else None
    if config.deployed_parameter:
        ssm.put_parameter(
            Name=config.deployed_parameter,
            Value=version,
            Type="String",
            Overwrite=True,
            Description=f"The version of {config.group_name} every stage runs",
        )
    record = recorded(ssm, config)
    status = sagemaker.describe_model_package(ModelPackageName=version).get("ModelApprovalStatus")
    if record in {before, None} and record != version and status == "Approved":
        ssm.put_parameter(
            Name=config.parameter_name,
            Value=version,
            Type="String",
            Overwrite=True,
            Description=f"The approved version of {config.group_name} the app deploys",
        )
        return {"restored": version, "was": record}
    return {"kept": record}


def _restore(sagemaker: Any, ssm: Any, config: Config, failed: str) -> dict[str, Any]:
    """Take ``failed`` out of the record, for an approved version that went through every stage.

    Only when the record still names ``failed`` (a newer approval moved it
    on otherwise). It goes back to the deployed version if that is still
    approved; else (it was rejected after it reached production) to the
    newest approved version that once went through every stage
    (:func:`last_proven`); else it keeps ``failed``: a version that is not
    approved is never recorded, and an endpoint is never left without one.
    """
    record = recorded(ssm, config)
    if record != failed:
        return {"kept": record, "reason": "the record already names another version"}
    deployed = (
        recorded(ssm, config, config.deployed_parameter) if config.deployed_parameter else None
    )
    if deployed is None:
        return {"kept": record, "reason": "no version went through every stage before"}
    if deployed == failed:
        return {"kept": record, "reason": "it is also the version every stage runs"}
    status = sagemaker.describe_model_package(ModelPackageName=deployed).get("ModelApprovalStatus")
    if status == "Approved":
        _put_record(ssm, config, deployed)
        return {"restored": deployed, "was": failed}
    proven = last_proven(sagemaker, config, besides=failed)
    why = f"the deployed version {deployed} is {status}"
    if proven is None:
        return {
            "kept": record,
            "reason": f"{why} and no other approved version went through every stage: "
            "approve or promote one",
        }
    _put_record(ssm, config, proven)
    return {
        "restored": proven,
        "was": failed,
        "reason": f"{why}; {proven} is the newest approved version that went through every stage",
    }


def _put_record(ssm: Any, config: Config, version: str) -> None:
    ssm.put_parameter(
        Name=config.parameter_name,
        Value=version,
        Type="String",
        Overwrite=True,
        Description=f"The approved version of {config.group_name} the app deploys",
    )
