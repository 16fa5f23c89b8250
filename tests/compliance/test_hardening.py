"""The hardening every template shares, checked across the reference and showcase apps.

* Every customer-managed key denies ``kms:CreateGrant`` unless the grant is
  for an AWS resource (AWS Control Tower CT.KMS.PR.3).
* Every service principal the library trusts, in a key policy or a role's
  trust policy, is held to this account (or to one resource) where the
  service supports it; the services that do not are named with the reason.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import assertions
from cdk_sagemaker_hosting import EncryptedBucket
from cdk_sagemaker_hosting.encryption import encrypted_topic, encryption_key

from tests.conftest import new_app

#: The statement CT.KMS.PR.3 asks for, as the library writes it.
DENY_GRANTS = {
    "Sid": "DenyGrantsExceptForAwsResources",
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "kms:CreateGrant",
    "Resource": "*",
    "Condition": {
        "BoolIfExists": {
            "kms:GrantIsForAWSResource": "false",
            "aws:PrincipalIsAWSService": "false",
        }
    },
}

#: Condition keys that tie a service's use of a key or role to this account or one resource.
SOURCE_KEYS = {"aws:SourceAccount", "aws:SourceArn", "kms:EncryptionContext:aws:logs:arn"}

#: Service principals trusted without such a condition, and why.
UNCONDITIONED = {
    "lambda.amazonaws.com": (
        "Lambda assumes a function's execution role with no source account or ARN in the "
        "request, so a condition on them would stop the function from running."
    ),
    "application-autoscaling.amazonaws.com": (
        "The role the CDK's ScalableTarget makes for Application Auto Scaling: the service "
        "documents no source-context keys for it."
    ),
    "apigateway.amazonaws.com": (
        "EndpointApi's integration role: API Gateway sets no source account or ARN when it "
        "assumes an integration's credentials role, so the condition would refuse every call."
    ),
    "vpc-flow-logs.amazonaws.com": "The showcase's own VPC flow log (test scaffolding).",
}


def _service_names(principal: Any) -> list[str]:
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    services = services if isinstance(services, list) else [services]
    return [s if isinstance(s, str) else json.dumps(s) for s in services]


def _condition_keys(statement: dict[str, Any]) -> set[str]:
    return {key for keys in statement.get("Condition", {}).values() for key in keys}


def test_every_key_denies_grants_except_for_aws_resources(all_templates: dict[str, Any]) -> None:
    keys = {
        (name, logical_id): resource["Properties"]["KeyPolicy"]["Statement"]
        for name, template in all_templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::KMS::Key"
    }
    assert len(keys) >= 12
    missing = [k for k, statements in keys.items() if DENY_GRANTS not in statements]
    assert missing == []


def test_every_trusted_service_principal_is_held_to_this_account(
    all_templates: dict[str, Any],
) -> None:
    open_trust = []
    for name, template in all_templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::KMS::Key":
                statements = resource["Properties"]["KeyPolicy"]["Statement"]
            elif resource["Type"] == "AWS::IAM::Role":
                statements = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            else:
                continue
            for statement in statements:
                if statement["Effect"] != "Allow":
                    continue
                for service in _service_names(statement["Principal"]):
                    if service in UNCONDITIONED or _condition_keys(statement) & SOURCE_KEYS:
                        continue
                    open_trust.append((name, logical_id, service))
    assert open_trust == []


def test_cloudwatch_may_use_a_topic_key_for_this_accounts_alarms_only() -> None:
    env = cdk.Environment(account="111111111111", region="eu-west-1")
    stack = cdk.Stack(new_app(), "S", env=env)
    encrypted_topic(stack, "Topic", encryption_key(stack, "Key", "alarm topic"))
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": assertions.Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": "111111111111"},
                                "ArnLike": {
                                    "aws:SourceArn": {
                                        "Fn::Join": [
                                            "",
                                            [
                                                "arn:",
                                                {"Ref": "AWS::Partition"},
                                                ":cloudwatch:eu-west-1:111111111111:alarm:*",
                                            ],
                                        ]
                                    }
                                },
                            },
                        }
                    ]
                )
            }
        },
    )


def test_logs_statements_grant_no_action_their_condition_cannot_apply_to(
    all_templates: dict[str, Any],
) -> None:
    """``kms:EncryptionContext:aws:logs:arn`` is absent from DescribeKey: no Describe under it."""
    for template in all_templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] != "AWS::KMS::Key":
                continue
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
                if "kms:EncryptionContext:aws:logs:arn" in _condition_keys(statement):
                    actions = statement["Action"]
                    assert not [a for a in actions if a.startswith("kms:Describe")], statement


def test_a_bucket_key_of_the_library_restricts_grants_and_an_imported_one_is_left_alone() -> None:
    stack = cdk.Stack(new_app(), "S")
    EncryptedBucket(stack, "Mine")
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::KMS::Key", {"KeyPolicy": {"Statement": assertions.Match.array_with([DENY_GRANTS])}}
    )
    other = cdk.Stack(new_app(), "Other")
    arn = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    imported = cdk.aws_kms.Key.from_key_arn(other, "Theirs", arn)
    EncryptedBucket(other, "WithTheirs", encryption_key=imported)
    assertions.Template.from_stack(other).resource_count_is("AWS::KMS::Key", 0)


def test_every_topic_an_alarm_notifies_lets_cloudwatch_publish(
    all_templates: dict[str, Any],
) -> None:
    """A service principal needs the topic policy's allow; the TLS-only policy replaced SNS's."""
    checked, blocked = 0, []
    for name, template in all_templates.items():
        resources = template["Resources"]
        allowed = set()
        for resource in resources.values():
            if resource["Type"] != "AWS::SNS::TopicPolicy":
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if (
                    statement["Effect"] == "Allow"
                    and "cloudwatch.amazonaws.com" in _service_names(statement["Principal"])
                    and "sns:Publish" in statement["Action"]
                    and {"aws:SourceAccount", "aws:SourceArn"} <= _condition_keys(statement)
                ):
                    allowed |= {t["Ref"] for t in resource["Properties"]["Topics"] if "Ref" in t}
        for logical_id, resource in resources.items():
            if resource["Type"] not in (
                "AWS::CloudWatch::Alarm",
                "AWS::CloudWatch::CompositeAlarm",
            ):
                continue
            props = resource["Properties"]
            for action in [*props.get("AlarmActions", []), *props.get("OKActions", [])]:
                topic = action.get("Ref") if isinstance(action, dict) else None
                if topic in resources and resources[topic]["Type"] == "AWS::SNS::Topic":
                    checked += 1
                    if topic not in allowed:
                        blocked.append((name, logical_id, topic))
    assert checked > 20
    assert blocked == []
