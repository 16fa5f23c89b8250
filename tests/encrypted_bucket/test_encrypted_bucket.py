"""The EncryptedBucket construct: KMS, TLS only, no public access, logs, lifecycle."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import EncryptedBucket

from tests.conftest import new_app


def bucket_stack(**props: Any) -> tuple[cdk.Stack, EncryptedBucket, Template]:
    stack = cdk.Stack(new_app(), "Data")
    bucket = EncryptedBucket(stack, "Artifacts", **props)
    return stack, bucket, Template.from_stack(stack)


def artifacts_bucket(template: Template) -> dict[str, Any]:
    buckets = template.find_resources("AWS::S3::Bucket")
    (props,) = [
        b["Properties"] for lid, b in buckets.items() if not lid.startswith("ArtifactsAccessLogs")
    ]
    return props


def test_bucket_is_encrypted_with_a_rotating_customer_managed_key() -> None:
    _, _, template = bucket_stack()
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    (rule,) = artifacts_bucket(template)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_arn = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert key_arn["Fn::GetAtt"][0].startswith("ArtifactsKey")


def test_public_access_blocked_acls_disabled_versioned() -> None:
    _, _, template = bucket_stack()
    props = artifacts_bucket(template)
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}


def test_policy_refuses_plain_http_and_old_tls_on_both_buckets() -> None:
    _, _, template = bucket_stack()
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        denies = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"
        ]
        conditions = [s["Condition"] for s in denies]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_access_logs_go_to_a_separate_bucket_by_policy_not_acl() -> None:
    _, _, template = bucket_stack()
    props = artifacts_bucket(template)
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "s3-access-logs/"
    assert props["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith(
        "ArtifactsAccessLogs"
    )
    logs = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"OwnershipControls": Match.any_value()}}
    )
    for bucket in logs.values():
        assert "AccessControl" not in bucket["Properties"]
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "logging.s3.amazonaws.com"}})]
                )
            }
        },
    )


def test_lifecycle_expires_old_versions_and_abandoned_uploads() -> None:
    _, _, template = bucket_stack(
        lifecycle_rules=[
            s3.LifecycleRule(
                id="archive",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                        transition_after=cdk.Duration.days(30),
                    )
                ],
            )
        ]
    )
    rules = artifacts_bucket(template)["LifecycleConfiguration"]["Rules"]
    assert rules[0] == {
        "Id": "expire-noncurrent-versions",
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }
    assert rules[1]["Id"] == "archive"


def test_retained_by_default_and_removal_policy_is_an_escape_hatch() -> None:
    _, _, template = bucket_stack()
    for rtype in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        for resource in template.find_resources(rtype).values():
            assert resource["DeletionPolicy"] == "Retain"
    _, _, template = bucket_stack(removal_policy=cdk.RemovalPolicy.DESTROY)
    for resource in template.find_resources("AWS::S3::Bucket").values():
        assert resource["DeletionPolicy"] == "Delete"


def test_given_key_and_log_bucket_are_used_instead_of_new_ones() -> None:
    stack = cdk.Stack(new_app(), "Data")
    key = kms.Key(stack, "SharedKey", enable_key_rotation=True)
    logs = s3.Bucket(stack, "SharedLogs", enforce_ssl=True)
    bucket = EncryptedBucket(stack, "Artifacts", encryption_key=key, server_access_logs_bucket=logs)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.resource_count_is("AWS::S3::Bucket", 2)
    assert bucket.encryption_key is key
    assert bucket.access_logs_bucket is logs
