"""Customer-managed KMS keys and the AWS services allowed to use them.

Kept apart from :mod:`cdk_sagemaker_hosting.workflow` (Lambda and Step
Functions plumbing), so an endpoint's synth does not import those modules.
"""

from __future__ import annotations

import json

from aws_cdk import Annotations, Arn, ArnComponents, ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting.compliance import acknowledge
from constructs import Construct

#: The warning an imported key gets: its policy cannot be changed here.
WARNING_IMPORTED_KEY = "cdk-sagemaker-hosting:ImportedKey"
#: The warning a key of another stack gets: its policy is not changed from here.
WARNING_OTHER_STACKS_KEY = "cdk-sagemaker-hosting:OtherStacksKey"


def encryption_key(
    scope: Construct,
    construct_id: str,
    description: str,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> kms.Key:
    """A customer-managed key with rotation, by default kept when the stack goes.

    Its policy lets no one create a grant on it except for an AWS resource
    (:func:`restrict_grants`). Every key the library creates is made here.
    """
    key = kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
    )
    restrict_grants(key)
    acknowledge(
        key,
        "The account statement of the key policy (kms:* for the account root, AWS's default) "
        "lets the account's IAM policies manage the key, so it can never become unmanageable; "
        "grants are held to AWS resources by DenyGrantsExceptForAwsResources.",
        parliament=["PERMISSIONS_MANAGEMENT_ACTIONS"],
    )
    return key


def restrict_grants(key: kms.Key) -> None:
    """Deny ``kms:CreateGrant`` on ``key`` unless the grant is for an AWS resource.

    A grant hands use of the key to another principal outside the key policy,
    so anyone allowed ``kms:CreateGrant`` (the account root statement lets IAM
    policies allow it) could pass the key on. What the library's keys need
    grants for is AWS services acting for a caller: SageMaker for an
    endpoint's or a job's storage volumes. Those calls carry
    ``kms:GrantIsForAWSResource`` true, so they are not denied, nor are calls
    by a service principal itself (``aws:PrincipalIsAWSService``); this
    follows AWS's documented semantics of both keys and has not yet been
    rehearsed in a real account (the emulator ignores key policies).
    ``BoolIfExists`` makes a request without either key count as false. This
    is the statement AWS Control Tower's control CT.KMS.PR.3 asks for.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptForAwsResources",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )


def allow_service(
    scope: Construct,
    key: kms.IKey,
    statement: iam.PolicyStatement,
    what: str,
) -> bool:
    """Add ``statement`` to ``key``'s policy when ``scope``'s stack owns the key; True if added.

    A key of another stack is never changed behind its owner's back, and an
    imported key's policy cannot be: a warning says what to add, with the
    statement as JSON.
    """
    if isinstance(key, Construct) and Stack.of(key) is not Stack.of(scope):
        document = json.dumps(
            Stack.of(scope).resolve(statement.to_statement_json()), separators=(",", ":")
        )
        Annotations.of(scope).add_warning_v2(
            WARNING_OTHER_STACKS_KEY,
            f"the encryption key {key.node.path} belongs to another stack, whose key policy "
            f"is left as it is: allow {what} there (statement: {document}).",
        )
        return False
    if not key.add_to_resource_policy(statement).statement_added:
        Annotations.of(scope).add_warning_v2(
            WARNING_IMPORTED_KEY,
            "the encryption key is imported, so its key policy cannot be changed here: allow "
            f"{what}.",
        )
        return False
    return True


def allow_logs_to_use_key(scope: Construct, key: kms.IKey, log_group_name: str) -> None:
    """Let CloudWatch Logs use ``key`` for the log group of that name only.

    An imported key's policy cannot be changed here: a warning says what to add.
    """
    stack = Stack.of(scope)
    arn = Arn.format(
        ArnComponents(
            service="logs",
            resource="log-group",
            resource_name=log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
        stack,
    )
    added = allow_service(
        scope,
        key,
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            # No kms:Describe*: AWS's example policy lists it under this
            # condition, but DescribeKey carries no encryption context, so the
            # condition could never allow it (ArnEquals on a missing key is false).
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
            ],
            resources=["*"],
            conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arn}},
        ),
        f"the CloudWatch Logs service to use it for log group {log_group_name}",
    )
    if added:
        acknowledge(
            key,
            "kms:EncryptionContext:aws:logs:arn holds the log group's ARN, compared with "
            "ArnEquals as AWS's CloudWatch Logs guide does; parliament asks for a string "
            "operator because KMS types every encryption-context key as a string.",
            parliament=["MISMATCHED_TYPE"],
        )


def encrypted_topic(scope: Construct, construct_id: str, key: kms.IKey) -> sns.Topic:
    """A TLS-only topic encrypted with ``key``, to which CloudWatch alarms may publish.

    Both policies let CloudWatch in, for this account's alarms in this Region
    only (``aws:SourceAccount`` and ``aws:SourceArn``): the key's, to encrypt
    the message, and the topic's, to publish it (a service principal needs
    the topic policy's allow; the TLS-only policy replaces SNS's default one).
    The alarms depend on the topic, so no single alarm's ARN can be named
    without a cycle. An imported key's policy cannot be changed here: a
    warning says what to add.
    """
    stack = Stack.of(scope)
    this_accounts_alarms = {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {
            "aws:SourceArn": Arn.format(
                ArnComponents(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
                stack,
            )
        },
    }
    cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    allow_service(
        scope,
        key,
        iam.PolicyStatement(
            principals=[cloudwatch],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions=this_accounts_alarms,
        ),
        f"CloudWatch (cloudwatch.amazonaws.com) to use it for the alarm topic {construct_id}",
    )
    topic = sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowThisAccountsAlarms",
            principals=[cloudwatch],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=this_accounts_alarms,
        )
    )
    return topic
