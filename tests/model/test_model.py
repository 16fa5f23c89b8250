"""The Model construct: one container, network isolation, least-privilege role."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import ContainerImage, EncryptedBucket, Model, ModelData

from tests.conftest import new_app

IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.3-cpu-py311"


def model_stack(**props: Any) -> tuple[cdk.Stack, Model]:
    stack = cdk.Stack(new_app(), "Models")
    bucket = EncryptedBucket(stack, "Artifacts")
    props.setdefault("image", ContainerImage.from_registry(IMAGE))
    props.setdefault("model_data", ModelData.from_bucket(bucket, "fraud/v3/model.tar.gz"))
    return stack, Model(stack, "Model", **props)


def policy_statements(template: Template) -> list[dict[str, Any]]:
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_model_is_network_isolated_and_single_container_by_default() -> None:
    stack, _ = model_stack(environment={"SAGEMAKER_PROGRAM": "inference.py"})
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "EnableNetworkIsolation": True,
            "PrimaryContainer": {
                "Image": IMAGE,
                "Mode": "SingleModel",
                "ModelDataUrl": {
                    "Fn::Join": [
                        "",
                        ["s3://", {"Ref": Match.any_value()}, "/fraud/v3/model.tar.gz"],
                    ]
                },
                "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
            },
            "ExecutionRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("^ModelRole"), "Arn"]},
        },
    )


def test_model_name_is_left_to_cloudformation() -> None:
    stack, _ = model_stack()
    (model,) = Template.from_stack(stack).find_resources("AWS::SageMaker::Model").values()
    assert "ModelName" not in model["Properties"]


def test_role_trusts_sagemaker_in_this_account_only() -> None:
    stack, _ = model_stack()
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                        },
                    }
                ]
            }
        },
    )


def test_permissions_live_in_one_managed_policy_not_inline() -> None:
    stack, _ = model_stack()
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    (role,) = template.find_resources("AWS::IAM::Role").values()
    assert "Policies" not in role["Properties"]


def test_role_reads_exactly_the_artifact_and_decrypts_only_through_s3() -> None:
    stack, _ = model_stack()
    statements = policy_statements(Template.from_stack(stack))
    (s3,) = [s for s in statements if str(s["Action"]).startswith("s3:")]
    assert s3["Action"] == "s3:GetObject"
    bucket_arn, key = s3["Resource"]["Fn::Join"][1]
    assert bucket_arn["Fn::GetAtt"][0].startswith("Artifacts")
    assert bucket_arn["Fn::GetAtt"][1] == "Arn"
    assert key == "/fraud/v3/model.tar.gz"
    (kms,) = [s for s in statements if str(s["Action"]).startswith("kms:")]
    assert kms["Action"] == "kms:Decrypt"
    assert kms["Resource"]["Fn::GetAtt"][0].startswith("ArtifactsKey")
    assert "kms:ViaService" in kms["Condition"]["StringEquals"]


def test_registry_image_grants_pull_on_its_own_repository_only() -> None:
    stack, _ = model_stack()
    statements = policy_statements(Template.from_stack(stack))
    (pull,) = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert pull["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:eu-west-1:763104351884:repository/pytorch-inference",
            ],
        ]
    }
    (token,) = [s for s in statements if s["Action"] == "ecr:GetAuthorizationToken"]
    assert token["Resource"] == "*"


def test_ecr_repository_image_by_digest_grants_pull_on_that_repository() -> None:
    stack = cdk.Stack(new_app(), "Models")
    repo = ecr.Repository(stack, "Repo")
    digest = "sha256:" + "a" * 64
    Model(stack, "Model", image=ContainerImage.from_ecr_repository(repo, digest))
    template = Template.from_stack(stack)
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    assert ("@" + digest) in str(model["Properties"]["PrimaryContainer"]["Image"])
    statements = policy_statements(template)
    (pull,) = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert pull["Resource"]["Fn::GetAtt"][0].startswith("Repo")


def test_metrics_permission_is_limited_to_the_sagemaker_namespace() -> None:
    stack, _ = model_stack()
    (metrics,) = [
        s
        for s in policy_statements(Template.from_stack(stack))
        if s["Action"] == "cloudwatch:PutMetricData"
    ]
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}


def test_turning_network_isolation_off_is_a_visible_warning() -> None:
    stack, _ = model_stack(network_isolation=False)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::Model", {"EnableNetworkIsolation": False}
    )
    Annotations.from_stack(stack).has_warning(
        "/Models/Model", Match.string_like_regexp("network_isolation=False")
    )
