"""Lambda entry point of the compilation custom resource (the CDK provider framework's handlers).

One code, two functions: ``COMPILATION_STEP`` says which handler a function
is, ``on_event`` (each CloudFormation request) or ``is_complete`` (polled
until the job completes). The clients are made when first needed.
"""

from __future__ import annotations

import os
import time
from typing import Any

from . import job

#: botocore's retry settings for every client: throttling is retried with backoff first.
RETRIES = {"mode": "standard", "max_attempts": 8}

_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    """One client per service per container, created on first use (never at import)."""
    if service not in _clients:
        import boto3  # noqa: PLC0415 - in the Lambda runtime; imported when first needed
        from botocore.config import Config  # noqa: PLC0415

        _clients[service] = boto3.client(service, config=Config(retries=RETRIES))
    return _clients[service]


def handler(event: dict[str, Any], context: Any) -> Any:
    """Run the provider framework's step this function is for."""
    step = os.environ.get("COMPILATION_STEP")
    if step == "on_event":
        return job.on_event(_client("sagemaker"), _client("s3"), event)
    if step == "is_complete":
        return job.is_complete(_client("sagemaker"), event, now=time.time())
    msg = f"COMPILATION_STEP must be on_event or is_complete, not {step!r}"
    raise ValueError(msg)
