"""Asynchronous inference: queued requests, results in S3, notifications on SNS."""

from __future__ import annotations

import dataclasses

from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting.encrypted_bucket import EncryptedBucket


@dataclasses.dataclass(frozen=True, kw_only=True)
class AsyncInference:
    """Make an endpoint asynchronous.

    :param output: the bucket for results and failures (encrypted with its key).
    :param output_prefix: where results go. Default: ``"async-output/"``.
    :param failure_prefix: where failures go. Default: ``"async-failures/"``.
    :param success_topic: notified on success. Default: a new KMS-encrypted,
        TLS-only topic.
    :param error_topic: notified on failure. Default: a new KMS-encrypted,
        TLS-only topic.
    :param max_concurrent_invocations_per_instance: 1-1000. Default: SageMaker's.
    """

    output: EncryptedBucket
    output_prefix: str = "async-output/"
    failure_prefix: str = "async-failures/"
    success_topic: sns.ITopic | None = None
    error_topic: sns.ITopic | None = None
    max_concurrent_invocations_per_instance: int | None = None
