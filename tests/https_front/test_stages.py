"""The front used from another stack and in two Stages: a hosting stack owns the endpoint,
a front stack of the same stage puts the API before it. Gates: cdk-nag's five packs, cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_sagemaker_hosting import (
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    EndpointBase,
    InstanceVariant,
    Model,
    ModelData,
)
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.https_front import EndpointApi
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal

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
        acknowledge(
            artifacts,
            "Single-Region deployment: replication has no destination.",
            "HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
        )
        model = Model(
            self,
            "Model",
            image=ContainerImage.from_registry(IMAGE),
            model_data=ModelData.from_bucket(artifacts, "fraud/model.tar.gz"),
        )
        self.endpoint = Endpoint(
            self,
            "Endpoint",
            endpoint_name="scoring",
            variants=[InstanceVariant(model=model, variant_name="Blue")],
        )


class FrontStack(cdk.Stack):
    def __init__(
        self, scope: Any, construct_id: str, *, endpoint: EndpointBase, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.api = EndpointApi(self, "Api", endpoint=endpoint, variant_methods=["Blue"])
        self.caller = iam.Role(self, "Caller", assumed_by=iam.AccountRootPrincipal())
        # Grants land in a managed policy, as the compliance packs ask.
        self.api.grant_invoke(ManagedPolicyPrincipal(self, "CallerPolicy", role=self.caller))


class Scoring(cdk.Stage):
    def __init__(self, scope: Any, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.hosting = HostingStack(self, "Hosting")
        self.front = FrontStack(self, "Front", endpoint=self.hosting.endpoint)


@pytest.fixture(scope="module")
def app() -> tuple[cdk.App, dict[str, Scoring]]:
    app = new_app()
    stages = {name: Scoring(app, name, env=env) for name, env in STAGES.items()}
    app.synth()
    return app, stages


def test_the_front_reads_the_endpoint_of_the_hosting_stack(app: Any) -> None:
    _, stages = app
    for name in STAGES:
        front = Template.from_stack(stages[name].front)
        (policy,) = [
            r["Properties"]["PolicyDocument"]["Statement"]
            for r in front.find_resources("AWS::IAM::ManagedPolicy").values()
            if "sagemaker:" in json.dumps(r)
        ]
        assert policy[0]["Action"] == "sagemaker:InvokeEndpoint"
        # The endpoint's own ARN, exported by the hosting stack of the same stage.
        imported = policy[0]["Resource"]["Fn::ImportValue"]
        assert imported.startswith(f"{name}-Hosting:ExportsOutputRefEndpoint")
        method = json.dumps(front.find_resources("AWS::ApiGateway::Method"))
        assert "path/endpoints/scoring/invocations" in method
        # The hosting stack is not changed by the front.
        hosting = Template.from_stack(stages[name].hosting)
        assert not hosting.find_resources("AWS::ApiGateway::RestApi")


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(app: Any, pack: Any) -> None:
    _, stages = app
    findings = [f for stage in stages.values() for f in nag_findings(stage, pack)]
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(app: Any, tmp_path: Path) -> None:
    _, stages = app
    templates = {}
    for name, stage in stages.items():
        assembly = stage.synth()
        for stack in (stage.hosting, stage.front):
            templates[f"{name}-{stack.stack_name}"] = assembly.get_stack_by_name(
                stack.stack_name
            ).template
    found, stderr = cfn_lint(templates, tmp_path)
    assert found == [], stderr
