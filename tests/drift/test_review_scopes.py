"""Review of DriftMonitor: two monitors on one bucket and prefix never touch each other's files.

Written failing before the fix: every drift function could write anywhere
under ``report_prefix`` (another endpoint's reports too) and read all of
``<report_prefix>_runs/`` (every endpoint's manifests and partial counts),
and every state machine could read every endpoint's manifests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import (
    ContainerImage,
    DataCapture,
    DriftMonitor,
    Endpoint,
    InstanceVariant,
    Model,
)

from tests.conftest import new_app
from tests.drift.test_construct import IMAGE, endpoint_with_capture, statements_of
from tests.drift.test_handler import CONFIG

NAMES = ("fraud", "churn")


def _joined(resource: Any) -> str:
    """An ARN built with Fn::Join, its literal parts only (the bucket's ARN left out)."""
    return "".join(p for p in resource["Fn::Join"][1] if isinstance(p, str))


def _resources(statement: dict[str, Any]) -> list[Any]:
    found = statement["Resource"]
    return found if isinstance(found, list) else [found]


def _by_action(statements: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for s in statements:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            found.setdefault(action, []).append(s)
    return found


@pytest.fixture(scope="module")
def two_endpoints() -> dict[str, Any]:
    """Two endpoints capturing into one bucket, each monitored, reports under the default prefix."""
    app = new_app()
    stack = cdk.Stack(app, "Shared")
    fraud, capture = endpoint_with_capture(stack)
    model = Model(stack, "ChurnModel", image=ContainerImage.from_registry(IMAGE))
    churn = Endpoint(
        stack,
        "Churn",
        endpoint_name="churn",
        variants=[InstanceVariant(model=model, variant_name="AllTraffic")],
        data_capture=DataCapture(destination=capture.destination),
    )
    monitors = {
        name: DriftMonitor(
            stack, f"{name.title()}Drift", endpoint=endpoint, baseline_key=f"baselines/{name}.json"
        )
        for name, endpoint in (("fraud", fraud), ("churn", churn))
    }
    return {"stack": stack, "monitors": monitors}


@pytest.mark.parametrize("name", NAMES)
def test_a_function_writes_only_its_endpoints_reports_and_scratch(
    two_endpoints: dict[str, Any], name: str
) -> None:
    """Not another endpoint's reports under the same prefix, nor its scratch."""
    actions = _by_action(
        statements_of(two_endpoints["stack"], f"{name.title()}DriftFunctionPolicy")
    )
    writes = sorted(_joined(r) for s in actions["s3:PutObject"] for r in _resources(s))
    assert writes == [f"/drift-reports/_runs/{name}/*", f"/drift-reports/{name}/*"]


@pytest.mark.parametrize("name", NAMES)
def test_a_function_reads_and_lists_only_its_endpoints_scratch(
    two_endpoints: dict[str, Any], name: str
) -> None:
    """Another endpoint's manifests and partial counts are not its to read."""
    actions = _by_action(
        statements_of(two_endpoints["stack"], f"{name.title()}DriftFunctionPolicy")
    )
    reads = sorted(_joined(r) for s in actions["s3:GetObject"] for r in _resources(s))
    assert reads == [
        f"/baselines/{name}.json",
        f"/data-capture/{name}/*",
        f"/drift-reports/_runs/{name}/*",
    ]
    lists = sorted(
        p for s in actions["s3:ListBucket"] for p in s["Condition"]["StringLike"]["s3:prefix"]
    )
    assert lists == [f"data-capture/{name}/*", f"drift-reports/_runs/{name}/*"]


@pytest.mark.parametrize("name", NAMES)
def test_a_state_machine_reads_only_its_endpoints_manifests(
    two_endpoints: dict[str, Any], name: str
) -> None:
    statements = statements_of(two_endpoints["stack"], f"{name.title()}DriftPolicy")
    reads = [_joined(r) for s in _by_action(statements)["s3:GetObject"] for r in _resources(s)]
    assert reads == [f"/drift-reports/_runs/{name}/*"]


def test_each_monitor_expires_its_own_scratch(two_endpoints: dict[str, Any]) -> None:
    monitors = two_endpoints["monitors"]
    assert {m.scratch_lifecycle_rule.prefix for m in monitors.values()} == {
        f"drift-reports/_runs/{name}/" for name in NAMES
    }
    Template.from_stack(two_endpoints["stack"]).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": f"drift-reports/_runs/{n}/"}) for n in NAMES]
                )
            }
        },
    )


def test_the_function_writes_where_it_is_granted() -> None:
    """The scratch and report keys the function derives are under its granted folders."""
    other = CONFIG.__class__(**{**CONFIG.__dict__, "endpoint": "churn"})
    assert CONFIG.scratch_prefix() == "drift-reports/_runs/fraud/"
    assert CONFIG.run_prefix("exec-1") == "drift-reports/_runs/fraud/exec-1/"
    assert not CONFIG.run_prefix("exec-1").startswith(other.scratch_prefix())
    assert CONFIG.report_folder() == "drift-reports/fraud/"
    start = dt.datetime(2024, 5, 1, 13, tzinfo=dt.UTC)
    assert CONFIG.report_key("Blue", start).startswith(CONFIG.report_folder())
    assert not CONFIG.report_key("Blue", start).startswith(other.report_folder())
