"""Lambda entry point of the compilation custom resource.

One code, two functions: ``COMPILATION_STEP=request`` is the resource's
service token (it starts the workflow for each CloudFormation request);
``COMPILATION_STEP=workflow`` runs the workflow's states (``{"action":
"on_event" | "is_complete" | "respond", "event": {...}}``). Both keep the
requests' response URLs in SSM (``RESPONSE_PARAMETERS``, encrypted with
``RESPONSE_KEY_ID``). The clients are made when first needed.
"""

from __future__ import annotations

import os
import time
from typing import Any

from . import cfn

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


def _urls() -> cfn.ResponseUrls:
    """Where the requests' response URLs wait (SSM SecureStrings under the construct's path)."""
    return cfn.ResponseUrls(
        _client("ssm"), os.environ["RESPONSE_PARAMETERS"], os.environ["RESPONSE_KEY_ID"]
    )


def handler(event: dict[str, Any], context: Any) -> Any:
    """Run the step this function is for."""
    step = os.environ.get("COMPILATION_STEP")
    if step == "request":
        # Never raises once the request is answered (a retry would answer twice).
        return cfn.request(
            _client("stepfunctions"),
            _urls(),
            os.environ["STATE_MACHINE_ARN"],
            event,
            now=time.time(),
            timeout=float(os.environ["TIMEOUT_SECONDS"]),
            put=cfn.put_response,
        )
    if step == "workflow":
        return cfn.step(
            _client("sagemaker"),
            _client("s3"),
            event["action"],
            event["event"],
            now=time.time(),
            put=cfn.put_response,
            urls=_urls(),
        )
    msg = f"COMPILATION_STEP must be request or workflow, not {step!r}"
    raise ValueError(msg)
