"""Asynchronous inference: queued requests, results in S3, notifications on SNS."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from aws_cdk import Annotations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, BucketLike
from constructs import Construct


@dataclasses.dataclass(frozen=True, kw_only=True)
class AsyncInference:
    """Make an endpoint asynchronous.

    :param output: the bucket for results and failures: an
        :class:`EncryptedBucket` (the secure default) or any ``s3.IBucket``.
    :param output_encryption_key: the KMS key results are encrypted with, for
        a bucket that does not carry it. Default: the bucket's own key; with
        none known, a warning.
    :param output_prefix: where results go. Default: ``"async-output/"``.
    :param failure_prefix: where failures go. Default: ``"async-failures/"``.
    :param success_topic: notified on success. Default: a new KMS-encrypted,
        TLS-only topic.
    :param error_topic: notified on failure. Default: a new KMS-encrypted,
        TLS-only topic.
    :param max_concurrent_invocations_per_instance: 1-1000. Default: SageMaker's.
    """

    output: BucketLike
    output_encryption_key: kms.IKey | None = None
    output_prefix: str = "async-output/"
    failure_prefix: str = "async-failures/"
    success_topic: sns.ITopic | None = None
    error_topic: sns.ITopic | None = None
    max_concurrent_invocations_per_instance: int | None = None

    def check(self, scope: Construct, *, serverless: bool, prop: str = "async_inference") -> None:
        """Check this configuration for the endpoint ``scope``."""
        if serverless:
            validation.fail(
                scope,
                prop,
                "set",
                "serverless endpoints cannot be asynchronous; use instance variants",
            )
        validation.check_s3_prefix(scope, f"{prop}.output_prefix", self.output_prefix)
        validation.check_s3_prefix(scope, f"{prop}.failure_prefix", self.failure_prefix)
        validation.check_service_int(
            scope,
            f"{prop}.max_concurrent_invocations_per_instance",
            self.max_concurrent_invocations_per_instance,
            "MaxConcurrentInvocationsPerInstance",
        )
        for field in ("success_topic", "error_topic"):
            validation.check_optional_type(
                scope, f"{prop}.{field}", getattr(self, field), sns.ITopic, "an sns.ITopic"
            )

    def bind(
        self,
        scope: Construct,
        *,
        writers: Sequence[iam.IGrantable],
        success_topic: sns.ITopic,
        error_topic: sns.ITopic,
        prop: str = "async_inference",
    ) -> sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty:
        """Let ``writers`` write results and publish outcomes, and render the config."""
        access = BucketAccess.of(scope, f"{prop}.output", self.output, self.output_encryption_key)
        if access.key_unknown:
            Annotations.of(scope).add_warning_v2(
                "cdk-sagemaker-hosting:AsyncOutputKeyUnknown",
                f"{prop}.output {access.bucket.node.path} carries no known KMS key: results "
                "are written with the bucket's default encryption, and if that is SSE-KMS the "
                "models may not use its key. Pass output_encryption_key= (the bucket's KMS "
                "key); a bucket of this app with SSE-S3 gives no warning.",
            )
        for writer in writers:
            access.grant_write_prefix(writer, self.output_prefix)
            access.grant_write_prefix(writer, self.failure_prefix)
            for topic in (success_topic, error_topic):
                grant_publish(writer, topic)
        client = self.max_concurrent_invocations_per_instance
        return sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
            output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                s3_output_path=access.s3_url_for_object(self.output_prefix),
                s3_failure_path=access.s3_url_for_object(self.failure_prefix),
                kms_key_id=access.key_arn,
                notification_config=sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                    success_topic=success_topic.topic_arn,
                    error_topic=error_topic.topic_arn,
                ),
            ),
            client_config=sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=client
            )
            if client
            else None,
        )


def grant_publish(grantee: iam.IGrantable, topic: sns.ITopic) -> iam.Grant:
    """``sns:Publish`` on the topic, and the two KMS actions an encrypted topic needs.

    Narrower than ``ITopic.grant_publish``, which grants ``kms:GenerateDataKey*``.
    """
    grant = iam.Grant.add_to_principal(
        grantee=grantee, actions=["sns:Publish"], resource_arns=[topic.topic_arn]
    )
    if topic.master_key is not None:
        # Through SNS only: the key may also encrypt volumes and logs.
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resource_arns=[topic.master_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"sns.{topic.env.region}.amazonaws.com"}
                },
            )
        )
    return grant
