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
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

#: The version's customer-metadata keys the handler writes.
PREFIX = "cdk-sagemaker-hosting:"
ROLLOUT = f"{PREFIX}rollout"
RECORDED_AT = f"{PREFIX}recorded-at"
EXECUTION = f"{PREFIX}pipeline-execution"
REASON = f"{PREFIX}reason"
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
        )


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
    """The ARN of the group's newest approved version, or ``None``."""
    response = sagemaker.list_model_packages(
        ModelPackageGroupName=config.group_arn,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    summaries = response.get("ModelPackageSummaryList", [])
    return str(summaries[0]["ModelPackageArn"]) if summaries else None


def recorded(ssm: Any, config: Config) -> str | None:
    """The version ARN the app deploys now, or ``None`` before the first approval."""
    try:
        response = ssm.get_parameter(Name=config.parameter_name)
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
    previous = recorded(ssm, config)
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
                outcome=outcome,
                publish=publish,
            )
        outcome |= {"result": "unchanged", "reason": f"{target} is already recorded"}
        return outcome
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
    rollback = previous is not None and (version_of(target) or 0) < (version_of(previous) or 0)
    outcome["result"] = "recorded"
    outcome["reason"] = (
        f"{previous} is no longer approved; {target} is the newest approved version"
        if rollback
        else f"{target} is the newest approved version"
    )
    stamp = dt.datetime.fromtimestamp(now(), dt.UTC).isoformat(timespec="seconds")
    outcome["write_back"] = write_back(sagemaker, target, {ROLLOUT: "recorded", RECORDED_AT: stamp})
    if pipeline:
        return _start(
            sagemaker, codepipeline, config=config, target=target, outcome=outcome, publish=publish
        )
    publish(outcome)
    return outcome


def _start(
    sagemaker: Any,
    codepipeline: Any,
    *,
    config: Config,
    target: str,
    outcome: dict[str, Any],
    publish: Publish,
) -> dict[str, Any]:
    """Start the pipeline for ``target``; publish the outcome either way."""
    try:
        response = codepipeline.start_pipeline_execution(
            name=config.pipeline_name,
            # One execution per version, however often its approval is delivered.
            clientRequestToken=f"{config.group_name}-{version_of(target)}"[:128],
        )
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
