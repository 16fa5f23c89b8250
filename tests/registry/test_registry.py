"""Item 2: the registry shared across accounts, and the gates over all its accounts' stacks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import EncryptedBucket, ValidationError
from cdk_sagemaker_hosting.registry import ModelRegistry, ModelRegistryAttributes

from tests.conftest import new_app
from tests.gates import (
    PACKS,
    cfn_lint,
    checkov,
    control_tower_rules,
    guard_findings,
    guard_suppressions,
    nag_findings,
    write_templates,
)
from tests.registry.app import GROUP, REGION, REGISTRY, STAGES, TOOLING, build


@pytest.fixture(scope="module")
def accounts() -> tuple[cdk.App, dict[str, cdk.Stack], dict[str, Any]]:
    app = new_app()
    stacks = build(app)
    app.synth()
    templates = {
        name: cdk.Stage.of(s).synth().get_stack_by_name(s.stack_name).template  # type: ignore[union-attr]
        for name, s in stacks.items()
    }
    return app, stacks, templates


def arn(*parts: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, "".join(parts)]]}


def root(account: str) -> dict[str, Any]:
    return {"AWS": arn(f":iam::{account}:root")}


def test_the_group_policy_lets_readers_deploy_and_the_tooling_account_write_back(
    accounts: Any,
) -> None:
    _, _, templates = accounts
    template = Template.from_json(templates["registry"])
    readers = [root(a) for a in STAGES.values()]
    versions = arn(f":sagemaker:{REGION}:{REGISTRY}:model-package/{GROUP}/*")
    template.has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {
            "ModelPackageGroupName": GROUP,
            "ModelPackageGroupPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ReadersDescribeTheGroup",
                        "Effect": "Allow",
                        "Principal": {"AWS": [r["AWS"] for r in readers]},
                        "Action": "sagemaker:DescribeModelPackageGroup",
                        "Resource": arn(
                            f":sagemaker:{REGION}:{REGISTRY}:model-package-group/{GROUP}"
                        ),
                    },
                    {
                        "Sid": "ReadersDeployVersions",
                        "Effect": "Allow",
                        "Principal": {"AWS": [r["AWS"] for r in readers]},
                        "Action": [
                            "sagemaker:DescribeModelPackage",
                            "sagemaker:ListModelPackages",
                            "sagemaker:CreateModel",
                        ],
                        "Resource": versions,
                    },
                    {
                        "Sid": "WritersRecordRollouts",
                        "Effect": "Allow",
                        "Principal": root(TOOLING),
                        "Action": [
                            "sagemaker:DescribeModelPackage",
                            "sagemaker:ListModelPackages",
                            "sagemaker:UpdateModelPackage",
                        ],
                        "Resource": versions,
                    },
                ],
            },
        },
    )
    group = template.find_resources("AWS::SageMaker::ModelPackageGroup")
    assert [g["DeletionPolicy"] for g in group.values()] == ["Retain"]


def test_readers_read_the_groups_prefix_and_decrypt_through_s3_only(accounts: Any) -> None:
    _, _, templates = accounts
    template = Template.from_json(templates["registry"])
    readers = {"AWS": [root(a)["AWS"] for a in STAGES.values()]}
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "ReadersReadTheGroupsArtifacts",
                            "Effect": "Allow",
                            "Principal": readers,
                            "Action": "s3:GetObject",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [{"Fn::GetAtt": [Match.any_value(), "Arn"]}, f"/{GROUP}/*"],
                                ]
                            },
                        }
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "ReadersDecryptTheGroupsArtifactsThroughS3",
                            "Effect": "Allow",
                            "Principal": readers,
                            "Action": "kms:Decrypt",
                            "Resource": "*",
                            "Condition": {
                                "StringEquals": {
                                    "kms:ViaService": f"s3.{REGION}.amazonaws.com",
                                    "kms:CallerAccount": list(STAGES.values()),
                                }
                            },
                        }
                    ]
                ),
            },
            "EnableKeyRotation": True,
        },
    )


def test_readers_may_list_the_groups_prefix_for_uncompressed_artifacts(accounts: Any) -> None:
    """A version's ``ModelDataSource`` may be an S3 prefix (uncompressed artifacts).

    SageMaker lists that prefix as the model's role, so the bucket's policy
    must let the readers list it too (their roles already may, on their
    side): with ``s3:GetObject`` alone such a version passed every check and
    failed to deploy in the readers' accounts.
    """
    _, _, templates = accounts
    template = Template.from_json(templates["registry"])
    readers = {"AWS": [root(a)["AWS"] for a in STAGES.values()]}
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "ReadersListTheGroupsArtifacts",
                            "Effect": "Allow",
                            "Principal": readers,
                            "Action": "s3:ListBucket",
                            "Resource": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
                            "Condition": {"StringLike": {"s3:prefix": [f"{GROUP}/*"]}},
                        }
                    ]
                )
            }
        },
    )


def test_state_changes_reach_the_tooling_accounts_default_bus_with_a_dead_letter_queue(
    accounts: Any,
) -> None:
    _, _, templates = accounts
    template = Template.from_json(templates["registry"])
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "account": [REGISTRY],
                "detail": {"ModelPackageGroupName": [GROUP]},
            },
            "Targets": [
                {
                    "Arn": arn(f":events:{REGION}:{TOOLING}:event-bus/default"),
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
                    "RoleArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
                    "Id": "Target0",
                }
            ],
        },
    )
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "events:PutEvents",
                        "Effect": "Allow",
                        "Resource": arn(f":events:{REGION}:{TOOLING}:event-bus/default"),
                    }
                ]
            }
        },
    )
    template.resource_count_is("AWS::SQS::Queue", 1)
    template.resource_count_is("AWS::CloudWatch::Alarm", 1)
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_consumers_reference_the_registry_by_literal_names_only(accounts: Any) -> None:
    _, stacks, templates = accounts
    for name in STAGES:
        text = str(templates[name])
        assert "Fn::ImportValue" not in text
        assert "churn-registry-artifacts" in text
        assert stacks[name].node.scope is not stacks["registry"].node.scope


def test_the_app_passes_cdk_nag_and_cfn_lint(accounts: Any, tmp_path: Path) -> None:
    app, _, templates = accounts
    for stage in [c for c in app.node.children if isinstance(c, cdk.Stage)]:
        for pack in PACKS:
            assert nag_findings(stage, pack) == [], (stage.stage_name, pack.__name__)
    found, stderr = cfn_lint(templates, tmp_path)
    assert found == [], stderr


def test_the_app_passes_checkov_and_the_control_tower_rules(accounts: Any, tmp_path: Path) -> None:
    _, _, templates = accounts
    found = checkov(write_templates(templates, tmp_path / "checkov"))
    assert found["failed"] == [], found["failed"]
    guard = control_tower_rules(tmp_path / "guard-rules")
    workdir = write_templates(templates, tmp_path / "guard")
    open_findings = [
        f
        for f in guard_findings(guard, workdir, templates)
        if f not in guard_suppressions(templates)
    ]
    assert open_findings == [], open_findings


def test_image_repositories_are_shared_with_readers_and_imported_ones_warned() -> None:
    stack = cdk.Stack(new_app(), "R", env=cdk.Environment(account=REGISTRY, region=REGION))
    owned = ecr.Repository(stack, "Owned")
    imported = ecr.Repository.from_repository_name(stack, "Imported", "shared")
    ModelRegistry(
        stack,
        "Registry",
        group_name=GROUP,
        reader_accounts=["444444444444"],
        image_repositories=[owned, imported],
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECR::Repository",
        {
            "RepositoryPolicyText": {
                "Statement": [
                    Match.object_like(
                        {
                            "Sid": "ReadersPullTheGroupsImages",
                            "Principal": root("444444444444"),
                        }
                    )
                ]
            }
        },
    )
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert any("ImportedRepository" in str(w) for w in warnings)


def test_a_bucket_of_another_stack_keeps_its_key_policy_and_says_what_to_add() -> None:
    app = new_app()
    env = cdk.Environment(account=REGISTRY, region=REGION)
    storage = cdk.Stack(app, "Storage", env=env)
    bucket = EncryptedBucket(storage, "Artifacts")
    stack = cdk.Stack(app, "R", env=env)
    ModelRegistry(
        stack, "Registry", group_name=GROUP, reader_accounts=["444444444444"], artifacts=bucket
    )
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert any("OtherStacksKey" in str(w) and "kms:Decrypt" in str(w) for w in warnings)


def test_a_registry_without_readers_has_no_resource_policy() -> None:
    stack = cdk.Stack(new_app(), "R", env=cdk.Environment(account=REGISTRY, region=REGION))
    ModelRegistry(stack, "Registry", group_name=GROUP)
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::ModelPackageGroup",
        {"ModelPackageGroupName": GROUP, "ModelPackageGroupPolicy": Match.absent()},
    )


BAD = [
    ({"group_name": "churn_models"}, "group_name='churn_models' is invalid: a model package group"),
    ({"group_name": "x" * 64}, "group_name='xxxx"),
    ({"group_name": "-churn"}, "group_name='-churn' is invalid"),
    ({"reader_accounts": ["12345"]}, "reader_accounts[0]='12345' is invalid: must be a 12-digit"),
    (
        {"reader_accounts": "444444444444"},
        "reader_accounts='444444444444' is invalid: must be a list",
    ),
    (
        {"writer_accounts": ["333333333333", "333333333333"]},
        "writer_accounts=['333333333333'] is invalid: lists an account twice",
    ),
    ({"forward_to_accounts": ["abc"]}, "forward_to_accounts[0]='abc' is invalid"),
    ({"artifacts_prefix": "/churn/"}, "artifacts_prefix='/churn/' is invalid"),
    ({"description": "d" * 1025}, "description='dddd"),
    ({"artifacts": "my-bucket"}, "artifacts='my-bucket' is invalid: must be an EncryptedBucket"),
]


@pytest.mark.parametrize(("props", "message"), BAD, ids=[str(b[0])[:40] for b in BAD])
def test_bad_registry_props_are_refused_with_the_rule(props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(new_app(), "R", env=cdk.Environment(account=REGISTRY, region=REGION))
    with pytest.raises(ValidationError, match=re.escape(message)) as info:
        ModelRegistry(stack, "Registry", **{"group_name": GROUP, **props})
    assert str(info.value).startswith("R/Registry")


def test_bad_imported_registry_attributes_are_refused() -> None:
    stack = cdk.Stack(new_app(), "C", env=cdk.Environment(account="444444444444", region=REGION))
    with pytest.raises(ValidationError, match=re.escape("account='1111' is invalid")):
        ModelRegistry.from_registry_attributes(
            stack,
            "Registry",
            ModelRegistryAttributes(group_name=GROUP, account="1111", artifacts_bucket_name="b"),
        )
    with pytest.raises(ValidationError, match=re.escape("group_name='a b' is invalid")):
        ModelRegistry.from_registry_attributes(
            stack,
            "Registry2",
            ModelRegistryAttributes(group_name="a b", artifacts_bucket_name="b"),
        )


def test_a_topic_without_forwarding_is_refused_not_dropped() -> None:
    """The topic receives the forwarding's dead-letter alarm only: without it, nothing."""
    from aws_cdk import aws_sns as sns

    stack = cdk.Stack(new_app(), "R", env=cdk.Environment(account=REGISTRY, region=REGION))
    topic = sns.Topic.from_topic_arn(stack, "T", f"arn:aws:sns:{REGION}:{REGISTRY}:ops")
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "topic=" + repr(topic.topic_arn) + " is invalid: only the alarm on undelivered "
            "forwarded events notifies it, and nothing is forwarded"
        ),
    ):
        ModelRegistry(stack, "Registry", group_name=GROUP, topic=topic)
