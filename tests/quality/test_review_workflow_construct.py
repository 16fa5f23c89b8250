"""Review of ModelQualityMonitor (issue 16): exact write and scratch prefixes, schedules, prefixes.

Each test was written failing before its fix.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import (
    ContainerImage,
    DataCapture,
    Endpoint,
    InstanceVariant,
    Model,
    ModelQualityMonitor,
    QualityThreshold,
    ValidationError,
)

from tests.conftest import new_app
from tests.quality.test_construct import (
    IMAGE,
    ab_endpoint,
    annotations,
    build,
    by_action,
    statements_of,
)


def _joined(resource: Any) -> str:
    """An ARN built with Fn::Join, its literal parts only (the bucket's ARN left out)."""
    return "".join(p for p in resource["Fn::Join"][1] if isinstance(p, str))


def _resources(statement: dict[str, Any]) -> list[Any]:
    found = statement["Resource"]
    return found if isinstance(found, list) else [found]


@pytest.fixture(scope="module")
def two_endpoints() -> dict[str, Any]:
    """Two endpoints capturing into one bucket, each monitored, reports under the default prefix."""
    app = new_app()
    stack = cdk.Stack(app, "Shared")
    fraud, truth = ab_endpoint(stack)
    capture = fraud.data_capture
    assert capture is not None
    model = Model(stack, "ChurnModel", image=ContainerImage.from_registry(IMAGE))
    churn = Endpoint(
        stack,
        "Churn",
        endpoint_name="churn",
        variants=[InstanceVariant(model=model, variant_name="AllTraffic")],
        data_capture=DataCapture(destination=capture.destination),
    )
    monitors = {}
    for name, endpoint in (("fraud", fraud), ("churn", churn)):
        monitors[name] = ModelQualityMonitor(
            stack,
            f"{name.title()}Quality",
            endpoint=endpoint,
            problem_type="binary",
            ground_truth_bucket=truth,
            ground_truth_prefix=f"labels/{name}/",
            thresholds={"accuracy": QualityThreshold(absolute=0.8)},
        )
    return {"app": app, "stack": stack, "monitors": monitors}


@pytest.mark.parametrize("name", ["fraud", "churn"])
def test_a_function_writes_only_its_endpoints_reports_and_scratch(
    two_endpoints: dict[str, Any], name: str
) -> None:
    """Not every report under the prefix (another endpoint's could be forged), nor any scratch."""
    prefix = f"{name.title()}QualityFunctionPolicy"
    actions = by_action(statements_of(two_endpoints["stack"], prefix))
    writes = sorted(_joined(r) for s in actions["s3:PutObject"] for r in _resources(s))
    assert writes == [f"/quality-reports/_runs/{name}/*", f"/quality-reports/{name}/*"]
    reads = sorted(_joined(r) for s in actions["s3:GetObject"] for r in _resources(s))
    assert f"/quality-reports/_runs/{name}/*" in reads
    assert "/quality-reports/_runs/*" not in reads
    lists = [s["Condition"]["StringLike"]["s3:prefix"] for s in actions["s3:ListBucket"]]
    assert [f"quality-reports/_runs/{name}/*"] in lists
    assert ["quality-reports/_runs/*"] not in lists


@pytest.mark.parametrize("name", ["fraud", "churn"])
def test_a_state_machine_reads_only_its_endpoints_manifests(
    two_endpoints: dict[str, Any], name: str
) -> None:
    statements = statements_of(two_endpoints["stack"], f"{name.title()}QualityPolicy")
    reads = [_joined(r) for s in by_action(statements)["s3:GetObject"] for r in _resources(s)]
    assert reads == [f"/quality-reports/_runs/{name}/*"]


def test_each_monitor_expires_its_own_scratch(two_endpoints: dict[str, Any]) -> None:
    monitors = two_endpoints["monitors"]
    assert {m.scratch_lifecycle_rule.prefix for m in monitors.values()} == {
        "quality-reports/_runs/fraud/",
        "quality-reports/_runs/churn/",
    }
    Template.from_stack(two_endpoints["stack"]).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like({"Prefix": "quality-reports/_runs/fraud/"}),
                        Match.object_like({"Prefix": "quality-reports/_runs/churn/"}),
                    ]
                )
            }
        },
    )
    config = monitors["churn"].config
    assert config.run_prefix("x").startswith(config.scratch_prefix())
    assert json.dumps(config.to_json())  # the function derives the same folders


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("ground_truth_prefix", "labels*/"),
        ("report_prefix", "reports?/"),
    ],
)
def test_a_wildcard_in_a_prefix_is_refused_as_the_monitors_property(prop: str, value: str) -> None:
    """It was refused by the bucket's grant, naming the bucket and 'prefix', not the monitor's."""
    with pytest.raises(ValidationError) as error:
        build({prop: value}, "Wild")
    message = str(error.value)
    assert message.startswith("Wild/Quality")
    assert f"{prop}={value!r} is invalid" in message
    assert "'*' and '?'" in message


def test_a_schedule_faster_than_the_window_is_a_warning() -> None:
    """Windows are aligned: every check between two window ends judges the same window again."""
    quality = build(
        {"window": Duration.hours(1), "schedule": events.Schedule.rate(Duration.minutes(15))},
        "Fast",
    )
    (warning,) = [m for m in annotations(quality, "warning") if "WindowsRepeated" in m]
    assert "rate(15 minutes)" in warning and "4 times" in warning
    assert "event" in warning


def test_a_schedule_as_long_as_the_window_gives_no_schedule_warning() -> None:
    quality = build({"window": Duration.minutes(30)}, "Even")
    assert not [m for m in annotations(quality, "warning") if "Windows" in m]
