"""Many stacks, stages and accounts: a hosting stack and an ops stack, in two stages.

The hosting stack owns the models, the endpoint (an A/B test) and its capture
bucket; the ops stack, in the same stage, watches it (monitoring), checks
its captured traffic for drift and can shift its traffic, and fronts it with
API Gateway. Both stages hold the same endpoint name in different accounts.
The app passes the cdk-nag packs and cfn-lint; the only acknowledgement
written here is the user's own design choice (no bucket replication), none
names a resource: those the library needs across stacks (which name exports
CloudFormation generates) are its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_sagemaker_hosting import (
    ContainerImage,
    DataCapture,
    DriftMonitor,
    EncryptedBucket,
    Endpoint,
    EndpointBase,
    EndpointMonitoring,
    InstanceVariant,
    Model,
    ModelData,
    TrafficShift,
)
from cdk_sagemaker_hosting.compliance import acknowledge

from tests.conftest import new_app
from tests.gates import PACKS, cfn_lint, nag_findings

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
STAGES = {
    "Staging": cdk.Environment(account="111111111111", region="us-east-1"),
    "Production": cdk.Environment(account="222222222222", region="us-east-1"),
}


class HostingStack(cdk.Stack):
    def __init__(self, scope: Any, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        artifacts = EncryptedBucket(self, "Artifacts")
        variants = [
            InstanceVariant(
                model=Model(
                    self,
                    f"{name}Model",
                    image=ContainerImage.from_registry(IMAGE),
                    model_data=ModelData.from_bucket(artifacts, f"{name.lower()}/model.tar.gz"),
                ),
                variant_name=name,
            )
            for name in ("Blue", "Green")
        ]
        self.endpoint = Endpoint(
            self,
            "Endpoint",
            endpoint_name="scoring",
            variants=variants,
            data_capture=DataCapture(destination=EncryptedBucket(self, "Capture")),
        )
        # The user's own choice, as in the reference app: one Region, no replication.
        for bucket in self.node.find_all():
            if isinstance(bucket, EncryptedBucket):
                acknowledge(
                    bucket,
                    "Single-Region deployment: replication has no destination.",
                    "HIPAA.Security-S3BucketReplicationEnabled",
                    "NIST.800.53.R5-S3BucketReplicationEnabled",
                    "PCI.DSS.321-S3BucketReplicationEnabled",
                )


class OpsStack(cdk.Stack):
    def __init__(self, scope: Any, construct_id: str, *, endpoint: EndpointBase, **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        self.monitoring = EndpointMonitoring(self, "Monitoring", endpoint=endpoint)
        self.drift = DriftMonitor(
            self, "Drift", endpoint=endpoint, baseline_key="baselines/v1/baseline.json"
        )
        self.shift = TrafficShift(
            self,
            "Promote",
            endpoint=endpoint,
            source_variant="Blue",
            target_variant="Green",
            monitoring=self.monitoring,
        )


class Scoring(cdk.Stage):
    def __init__(self, scope: Any, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.hosting = HostingStack(self, "Hosting")
        self.ops = OpsStack(self, "Ops", endpoint=self.hosting.endpoint)


@pytest.fixture(scope="module")
def app() -> tuple[cdk.App, dict[str, Scoring]]:
    app = new_app()
    stages = {name: Scoring(app, name, env=env) for name, env in STAGES.items()}
    app.synth()  # as `cdk synth` does, before the cdk-nag packs run
    return app, stages


def templates(stages: dict[str, Scoring]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, stage in stages.items():
        assembly = stage.synth()
        for stack in (stage.hosting, stage.ops):
            found[f"{name}-{stack.stack_name}"] = assembly.get_stack_by_name(
                stack.stack_name
            ).template
    return found


def test_the_ops_stack_reads_the_hosting_stack_through_exports(app: Any) -> None:
    _, stages = app
    ops = Template.from_stack(stages["Staging"].ops)
    reads = [
        resource
        for policy in ops.find_resources("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:GetObject"
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    ]
    capture_reads = [
        r
        for r in reads
        if "Fn::Join" in r
        and r["Fn::Join"][1][-1] == "/data-capture/scoring/*"
        and "Fn::ImportValue" in r["Fn::Join"][1][0]
    ]
    assert capture_reads, reads
    # No construct of the ops stack changed a resource of the hosting stack:
    # the drift monitor's scratch rule is not on the capture bucket.
    hosting = Template.from_stack(stages["Staging"].hosting)
    rules = [
        rule["Id"]
        for bucket in hosting.find_resources("AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    ]
    assert all("drift" not in rule for rule in rules), rules


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(app: Any, pack: Any) -> None:
    _, stages = app
    findings = [f for stage in stages.values() for f in nag_findings(stage, pack)]
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(app: Any, tmp_path: Path) -> None:
    _, stages = app
    found, stderr = cfn_lint(templates(stages), tmp_path)
    assert found == [], stderr
