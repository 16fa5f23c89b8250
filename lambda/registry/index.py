"""Lambda entry point of the promotion: one package, three kinds of event.

* a model package group's state change, forwarded from the registry
  account (``core.on_state_change``: record the newest approved version,
  start the pipeline);
* a CodePipeline job of the pipeline's Lambda actions (``core.on_job``:
  verify the execution's version, the smoke test and the bake);
* a CodePipeline stage or execution state change (``core.on_pipeline_event``:
  write the outcome back, restore the record after a failure).

The outcome is returned, published to ``TOPIC_ARN`` and put on ``EVENT_BUS_NAME``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from . import core

_clients: dict[str, Any] = {}


def _config(service: str) -> Any:
    """The clients' configuration: the smoke test's request is bounded by the function's timeout.

    ``InvokeEndpoint`` answers within 60 s when the model does; a model that
    never answers (what a smoke test is for) must fail the stage with its
    reason, two attempts of 70 s at most, not time the function out (180 s)
    after nine attempts of two minutes.
    """
    from botocore.config import Config  # noqa: PLC0415

    if service == "sagemaker-runtime":
        return Config(
            connect_timeout=5,
            read_timeout=65,
            retries={"mode": "standard", "total_max_attempts": 2},
        )
    return Config(retries={"mode": "standard", "max_attempts": 8})


def _client(service: str) -> Any:
    """One client per service per container, created on first use (never at import)."""
    if service not in _clients:
        import boto3  # noqa: PLC0415 - in the Lambda runtime; imported when first needed

        _clients[service] = boto3.client(service, config=_config(service))
    return _clients[service]


def stage_clients(role_arn: str | None) -> tuple[Any, Any]:
    """SageMaker Runtime and CloudWatch clients of a stage: its role's, or the function's own."""
    if not role_arn:
        return _client("sagemaker-runtime"), _client("cloudwatch")
    import boto3  # noqa: PLC0415

    credentials = _client("sts").assume_role(
        RoleArn=role_arn, RoleSessionName="cdk-sagemaker-hosting-promotion"
    )["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return session.client("sagemaker-runtime", config=_config("sagemaker-runtime")), session.client(
        "cloudwatch", config=_config("cloudwatch")
    )


def handler(event: dict[str, Any], context: Any) -> Any:
    """Dispatch on the event's shape (see the module's docstring)."""
    del context
    config = core.Config.from_env(os.environ)
    publish = core.publisher(
        sns=_client("sns") if config.topic_arn else None,
        topic_arn=config.topic_arn,
        events=_client("events") if config.event_bus else None,
        event_bus=config.event_bus,
    )
    if "CodePipeline.job" in event:
        return core.on_job(
            event,
            codepipeline=_client("codepipeline"),
            sagemaker=_client("sagemaker"),
            ssm=_client("ssm"),
            stage_clients=stage_clients,
            config=config,
            now=time.time,
            sleep=time.sleep,
            publish=publish,
        )
    if event.get("source") == "aws.codepipeline":
        return core.on_pipeline_event(
            event,
            codepipeline=_client("codepipeline"),
            sagemaker=_client("sagemaker"),
            ssm=_client("ssm"),
            config=config,
            now=time.time,
            publish=publish,
        )
    return core.on_state_change(
        event,
        sagemaker=_client("sagemaker"),
        ssm=_client("ssm"),
        codepipeline=_client("codepipeline") if config.pipeline_name else None,
        config=config,
        now=time.time,
        publish=publish,
    )
