"""Lambda entry point of the drift check: one function, one action per state.

The state machine passes ``{"action": ...}``:

* ``plan`` (``time``: the scheduled time, ``run``: the execution name)
* ``check`` (``plan``: what ``plan`` returned): read everything, conclude
* ``count`` (``items``: a Distributed Map batch, each ``{"run", "item"}``): write
  partial counts under the items' run
* ``finish`` (``plan``): sum the partial counts, conclude

Clients are created per invocation, here, and passed to the core functions.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.config import Config as ClientConfig

from .monitor import Config, check, count_batch, finish, plan


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run one step of the check."""
    config = Config.from_json(json.loads(os.environ["DRIFT_CONFIG"]))
    # botocore's standard retry mode: throttling and transient errors are
    # retried with backoff, a bad request is not.
    retries = ClientConfig(retries={"mode": "standard", "max_attempts": 8})
    s3 = boto3.client("s3", config=retries)
    action = event.get("action")
    if action == "plan":
        return plan(s3, config, time=event["time"], run=event["run"])
    if action == "count":
        return count_batch(s3, config, event["items"])
    clients = {
        "s3": s3,
        "cloudwatch": boto3.client("cloudwatch", config=retries),
        "events": boto3.client("events", config=retries),
    }
    if action == "check":
        return check(clients, config, event["plan"])
    if action == "finish":
        return finish(clients, config, event["plan"])
    msg = f"unknown action {action!r}: plan, check, count or finish"
    raise ValueError(msg)
