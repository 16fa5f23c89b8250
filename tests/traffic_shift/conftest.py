"""A two-variant endpoint in moto's in-process mocks, a fake clock, and fault injection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from cdk_sagemaker_hosting._lambda.traffic_shift import aws, core
from cdk_sagemaker_hosting._lambda.traffic_shift.plan import Request
from moto import mock_aws

REGION = "us-east-1"
ENDPOINT = "fraud"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
ROLE = "arn:aws:iam::123456789012:role/model"


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []
        self.on_sleep: list[Callable[[float], None]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for hook in self.on_sleep:
            hook(self.now)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Faults:
    """Answers SageMaker calls with errors before they reach moto (botocore still retries)."""

    def __init__(self, client: Any) -> None:
        self.queue: dict[str, list[tuple[int, str, str]]] = {}
        self.sent: dict[str, int] = {}
        self._events = client.meta.events
        # Every attempt (retries included) creates a request; moto's handler
        # (on "before-send") answers it unless a fault, registered first on
        # the operation's own event, does.
        self._events.register("request-created.sagemaker", self._count)

    def add(self, operation: str, *errors: tuple[int, str, str]) -> None:
        if operation not in self.queue:
            self._events.register_first(f"before-send.sagemaker.{operation}", self._before_send)
        self.queue.setdefault(operation, []).extend(errors)

    def _count(self, request: Any, operation_name: str, **_: Any) -> None:
        self.sent[operation_name] = self.sent.get(operation_name, 0) + 1

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        if not self.queue.get(operation):
            return None  # moto answers
        # botocore asks every before-send handler and takes the first answer,
        # so moto would still carry the request out: make it a harmless read.
        request.headers["X-Amz-Target"] = "SageMaker.ListEndpoints"
        request.body = b"{}"
        status, code, message = self.queue[operation].pop(0)
        body = json.dumps({"__type": code, "message": message}).encode()
        return AWSResponse(request.url, status, {"x-amzn-requestid": "fault"}, _Raw(body))


class Statuses:
    """A SageMaker client whose DescribeEndpoint reports scripted statuses first."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.statuses: list[str] = []
        self.updates_while: list[str] = []
        self._last = "InService"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_endpoint(self, **kwargs: Any) -> Any:
        response = self._client.describe_endpoint(**kwargs)
        if self.statuses:
            response["EndpointStatus"] = self.statuses.pop(0)
        self._last = response["EndpointStatus"]
        return response

    def update_endpoint_weights_and_capacities(self, **kwargs: Any) -> Any:
        self.updates_while.append(self._last)
        return self._client.update_endpoint_weights_and_capacities(**kwargs)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def make_endpoint(sagemaker: Any, weights: dict[str, float], name: str = ENDPOINT) -> None:
    sagemaker.create_model(
        ModelName=f"{name}-model", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 2,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": weight,
            }
            for variant, weight in weights.items()
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


@pytest.fixture
def sagemaker(aws_env: None) -> Any:
    client = boto3.client("sagemaker", region_name=REGION, config=aws.client_config())
    make_endpoint(client, {"A": 0.9, "B": 0.1})
    return client


@pytest.fixture
def cloudwatch(aws_env: None) -> Any:
    client = boto3.client("cloudwatch", region_name=REGION, config=aws.client_config())
    for name in ("B-errors", "fraud-health"):
        client.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        client.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="test")
    return client


@pytest.fixture
def clock() -> Clock:
    return Clock()


def request(**overrides: Any) -> Request:
    data = {
        "endpoint": ENDPOINT,
        "source": "A",
        "target": "B",
        "steps": [10, 50, 100],
        "bake_seconds": 120,
        "alarms": ["B-errors", "fraud-health"],
        "poll_seconds": 30,
        **overrides,
    }
    return Request.from_json(data)


def weights_of(sagemaker: Any) -> dict[str, float]:
    return aws.weights(sagemaker.describe_endpoint(EndpointName=ENDPOINT))


def shift(sagemaker: Any, cloudwatch: Any, clock: Clock, req: Request, **kwargs: Any) -> Any:
    lines: list[str] = []
    state = core.run(
        sagemaker,
        cloudwatch,
        req,
        owner=kwargs.pop("owner", "test-shift"),
        sleep=clock.sleep,
        clock=clock,
        progress=lines.append,
        **kwargs,
    )
    state["progress"] = lines
    return state
