"""Lambda entry point: a model package group's state change, forwarded from the registry account.

The outcome (see ``core.on_state_change``) is returned, published to
``TOPIC_ARN`` and put on ``EVENT_BUS_NAME``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from . import core

_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    """One client per service per container, created on first use (never at import)."""
    if service not in _clients:
        import boto3  # noqa: PLC0415 - in the Lambda runtime; imported when first needed
        from botocore.config import Config  # noqa: PLC0415

        _clients[service] = boto3.client(
            service, config=Config(retries={"mode": "standard", "max_attempts": 8})
        )
    return _clients[service]


def handler(event: dict[str, Any], context: Any) -> Any:
    """Record the newest approved version and start the pipeline."""
    del context
    config = core.Config.from_env(os.environ)
    return core.on_state_change(
        event,
        sagemaker=_client("sagemaker"),
        ssm=_client("ssm"),
        codepipeline=_client("codepipeline") if config.pipeline_name else None,
        config=config,
        now=time.time,
        publish=core.publisher(
            sns=_client("sns") if config.topic_arn else None,
            topic_arn=config.topic_arn,
            events=_client("events") if config.event_bus else None,
            event_bus=config.event_bus,
        ),
    )
