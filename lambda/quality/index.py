"""Lambda entry point of the model-quality check: one function, one action per state.

The state machine passes ``{"action": ...}``:

* ``plan`` (``time``: the scheduled time, ``run``: the execution name)
* ``check`` (``plan``: what ``plan`` returned): join everything, conclude
* ``split`` (``items``: a batch of the first Distributed Map, each
  ``{"run", "partitions", "item"}``): write the objects' lines into shards
* ``join`` (``run``, ``partition``): join one shard into partial counts
* ``finish`` (``plan``): merge the partial counts, conclude

Clients are created per invocation, here, and passed to the core functions.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.config import Config as ClientConfig

from .monitor import Config, check, finish, join_partition, plan, split


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run one step of the check."""
    config = Config.from_json(json.loads(os.environ["QUALITY_CONFIG"]))
    # botocore's standard retry mode: throttling and transient errors are
    # retried with backoff, a bad request is not.
    retries = ClientConfig(retries={"mode": "standard", "max_attempts": 8})
    s3 = boto3.client("s3", config=retries)
    action = event.get("action")
    if action == "plan":
        return plan(s3, config, time=event["time"], run=event["run"])
    if action == "split":
        return split(s3, config, event["items"])
    if action == "join":
        return join_partition(s3, config, run=event["run"], partition=event["partition"])
    clients = {
        "s3": s3,
        "cloudwatch": boto3.client("cloudwatch", config=retries),
        "events": boto3.client("events", config=retries),
    }
    if action == "check":
        return check(clients, config, event["plan"])
    if action == "finish":
        return finish(clients, config, event["plan"])
    msg = f"unknown action {action!r}: plan, check, split, join or finish"
    raise ValueError(msg)
