"""The synthesised state machine, walked state by state against the function's handler.

The definition ``ModelQualityMonitor`` renders is interpreted here as Step
Functions documents it (Parameters with ``.$`` paths, ResultPath, Choice,
a Distributed Map's ItemReader, ItemSelector, ItemBatcher and ItemsPath),
each Task calling ``lambda/quality/index.handler`` with the function's own
``QUALITY_CONFIG`` (bucket names swapped for moto's) against S3 in moto. So
the wiring between the definition and the handler is tested in both modes,
one pass and fan-out, not only each side alone. ``make deploy-local``
executes the deployed state machine in moto's server too
(``scripts/local_deploy.quality_demo``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk import Duration
from cdk_sagemaker_hosting import ModelQualityMonitor, QualityThreshold
from cdk_sagemaker_hosting._lambda.quality import index
from cdk_sagemaker_hosting._lambda.quality.monitor import Config
from moto import mock_aws

from tests.conftest import new_app
from tests.drift.test_construct import definition_of, select
from tests.quality.test_construct import ab_endpoint
from tests.quality.test_monitor import CAPTURE, REPORTS, TIME, TRUTH, put_truth, traffic

#: The scheduled time, as the schedule's InputTransformer passes it.
SCHEDULED = {"time": TIME}


def synthesised(max_objects: int) -> tuple[dict[str, Any], Config]:
    """The state machine's definition and the function's configuration, for moto's buckets."""
    app = new_app()
    stack = cdk.Stack(app, "Workflow")
    endpoint, truth = ab_endpoint(stack)
    ModelQualityMonitor(
        stack,
        "Quality",
        endpoint=endpoint,
        problem_type="binary",
        ground_truth_bucket=truth,
        ground_truth_prefix="ground-truth/fraud/",
        thresholds={"accuracy": QualityThreshold(absolute=0.8)},
        min_records=50,
        window=Duration.hours(1),
        label_delay=Duration.hours(1),
        report_bucket=truth,
        max_objects_per_invocation=max_objects,
        objects_per_batch=3,
    )
    template = app.synth().get_stack_by_name("Workflow").template
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    parts = function["Properties"]["Environment"]["Variables"]["QUALITY_CONFIG"]["Fn::Join"][1]
    config = Config.from_json(json.loads("".join(p if isinstance(p, str) else "x" for p in parts)))
    config = dataclasses.replace(
        config,
        endpoint="fraud",
        capture_bucket=CAPTURE,
        ground_truth_bucket=TRUTH,
        report_bucket=REPORTS,
        event_bus="default",
    )
    return definition_of(template), config


class Interpreter:
    """The states this definition uses, as Step Functions documents them."""

    def __init__(self, clients: dict[str, Any], config: Config) -> None:
        self.s3 = clients["s3"]
        self.config = config
        self.path: list[str] = []

    def run(self, machine: dict[str, Any], state: Any, context: dict[str, Any]) -> Any:
        name = machine["StartAt"]
        while True:
            self.path.append(name)
            spec = machine["States"][name]
            kind = spec["Type"]
            if kind == "Choice":
                name = self.choose(spec, state)
                continue
            if kind == "Task":
                result = index.handler(select(spec["Parameters"], state, context), None)
            elif kind == "Map":
                result = self.map(spec, state)
            else:
                msg = f"state type {kind} is not used by this definition"
                raise AssertionError(msg)
            state = place(state, spec.get("ResultPath", "$"), result)
            if spec.get("End"):
                return state
            name = spec["Next"]

    @staticmethod
    def choose(spec: dict[str, Any], state: Any) -> str:
        for rule in spec["Choices"]:
            if value_at(state, rule["Variable"]) == rule["StringEquals"]:
                return str(rule["Next"])
        return str(spec["Default"])

    def map(self, spec: dict[str, Any], state: Any) -> None:
        assert spec["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        if "ItemReader" in spec:
            reader = spec["ItemReader"]
            assert reader["ReaderConfig"] == {"InputType": "JSON"}
            key = select(reader["Parameters"], state, {})["Key"]
            # The bucket is a token in the definition: the report bucket's.
            body = self.s3.get_object(Bucket=self.config.report_bucket, Key=key)["Body"].read()
            items = json.loads(body)
        else:
            items = value_at(state, spec["ItemsPath"])
        selected = [
            select(spec["ItemSelector"], state, {"Map": {"Item": {"Index": i, "Value": item}}})
            for i, item in enumerate(items)
        ]
        if "ItemBatcher" in spec:
            size = spec["ItemBatcher"]["MaxItemsPerBatch"]
            inputs: list[Any] = [
                {"Items": selected[i : i + size]} for i in range(0, len(selected), size)
            ]
        else:
            inputs = selected
        for child in inputs:
            self.run(spec["ItemProcessor"], child, {})
        assert spec["ResultPath"] is None  # the children's outputs are discarded


def value_at(state: Any, path: str) -> Any:
    assert path.startswith("$.")
    for name in path[2:].split("."):
        state = state[name]
    return state


def place(state: Any, path: str | None, result: Any) -> Any:
    if path is None:
        return state
    if path == "$":
        return result
    assert path.startswith("$.") and "." not in path[2:]
    return {**state, path[2:]: result}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (CAPTURE, TRUTH, REPORTS):
            s3.create_bucket(Bucket=bucket)
        yield {"s3": s3}


def execute(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, max_objects: int
) -> tuple[list[str], dict[str, Any]]:
    definition, config = synthesised(max_objects)
    monkeypatch.setenv("QUALITY_CONFIG", json.dumps(config.to_json()))
    interpreter = Interpreter(aws, config)
    context = {"Execution": {"Name": f"exec-{max_objects}"}}
    output = interpreter.run(definition, SCHEDULED, context)
    key = output["result"]["report"].split("/", 3)[3]
    report = json.loads(aws["s3"].get_object(Bucket=REPORTS, Key=key)["Body"].read())
    return interpreter.path, report


def test_one_pass_and_the_fan_out_give_the_same_report(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    traffic(aws["s3"], "Champion", 400, wrong_every=20, objects=8)
    traffic(aws["s3"], "Challenger", 400, wrong_every=3, objects=8)
    put_truth(aws["s3"], dt.datetime(2026, 11, 30, 13, tzinfo=dt.UTC), ["not json"], "bad")
    path, single = execute(aws, monkeypatch, max_objects=200)
    assert path == ["Plan", "OneOrMany", "Check"]
    path, fanned = execute(aws, monkeypatch, max_objects=2)
    # 16 capture objects and 17 label objects in batches of 3: 11 split children;
    # one shard (the window is far smaller than a partition): one join child.
    assert path == [
        "Plan",
        "OneOrMany",
        "Split",
        *["SplitBatch"] * 11,
        "Join",
        "JoinShard",
        "Finish",
    ]
    assert (single.pop("mode"), fanned.pop("mode")) == ("single", "map")
    assert fanned == single
    assert {v: p["verdict"] for v, p in single["variants"].items()} == {
        "Champion": "ok",
        "Challenger": "degraded",
    }
    assert single["rejected"] == {"malformed_ground_truth_line": 1}
