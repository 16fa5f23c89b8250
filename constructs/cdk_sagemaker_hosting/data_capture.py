"""Data capture: the endpoint's requests and responses, written as JSON lines to S3."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from aws_cdk import Annotations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, BucketLike
from constructs import Construct

#: A MIME type as SageMaker's capture content-type headers take it.
_CONTENT_TYPE = re.compile(r"^[a-zA-Z0-9!#$&^_.+-]+/[a-zA-Z0-9!#$&^_.+-]+$")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataCapture:
    """Capture a sample of an endpoint's traffic as JSON lines in S3.

    Objects land at ``s3://<bucket>/<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/``,
    encrypted with the bucket's KMS key; the drift monitor reads them there.
    Payloads of the listed content types are stored as text, not base64.

    :param destination: the bucket: an :class:`EncryptedBucket` (the secure
        default), or any ``s3.IBucket``, created elsewhere or imported.
    :param encryption_key: the KMS key captured objects are encrypted with,
        for a bucket that does not carry it (an imported one). Default: the
        bucket's own key; with none known, a warning: SageMaker then writes
        with the bucket's default encryption.
    :param prefix: key prefix, ending with ``/``. Default: ``"data-capture/"``.
    :param sampling_percentage: 0-100 (whole number). Default: 100.
    :param capture_input: capture requests. Default: ``True``.
    :param capture_output: capture responses. Default: ``True``.
    :param csv_content_types: up to 10. Default: ``("text/csv",)``.
    :param json_content_types: up to 10. Default: ``("application/json",)``.
    """

    destination: BucketLike
    encryption_key: kms.IKey | None = None
    prefix: str = "data-capture/"
    sampling_percentage: int = 100
    capture_input: bool = True
    capture_output: bool = True
    csv_content_types: Sequence[str] = ("text/csv",)
    json_content_types: Sequence[str] = ("application/json",)

    def bucket_access(self, scope: Construct, prop: str = "data_capture") -> BucketAccess:
        """The capture bucket and its key, checked."""
        return BucketAccess.of(scope, f"{prop}.destination", self.destination, self.encryption_key)

    def bind(
        self,
        scope: Construct,
        *,
        writers: Sequence[iam.IGrantable],
        serverless: bool,
        endpoint_name: str,
        prop: str = "data_capture",
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        """Check this capture for the endpoint ``scope``, let ``writers`` write it, render it.

        The writers may write under ``<prefix><endpoint_name>/`` only, where
        SageMaker puts this endpoint's captures, not into another endpoint's
        folder of the same prefix (which that endpoint's drift check reads).
        """
        if serverless:
            validation.fail(scope, prop, "set", "serverless endpoints do not support data capture")
        validation.check_service_int(
            scope,
            f"{prop}.sampling_percentage",
            self.sampling_percentage,
            "SamplingPercentage",
            unit=" %",
        )
        if not (self.capture_input or self.capture_output):
            validation.fail(
                scope,
                f"{prop}.capture_input/capture_output",
                False,
                "capture the input, the output, or both",
            )
        validation.check_s3_prefix(scope, f"{prop}.prefix", self.prefix)
        for field in ("csv_content_types", "json_content_types"):
            types = list(getattr(self, field))
            if len(types) > 10:
                validation.fail(scope, f"{prop}.{field}", types, "at most 10 content types")
            for content_type in types:
                if not isinstance(content_type, str) or not _CONTENT_TYPE.match(content_type):
                    validation.fail(
                        scope,
                        f"{prop}.{field}",
                        content_type,
                        "must be a MIME type such as text/csv or application/json",
                    )
        access = self.bucket_access(scope, prop)
        if access.key_unknown:
            Annotations.of(scope).add_warning_v2(
                "cdk-sagemaker-hosting:CaptureKeyUnknown",
                f"{prop}.destination {access.bucket.node.path} carries no known KMS key: "
                "captured traffic is written with the bucket's default encryption, and if that "
                "is SSE-KMS the models may not use its key. Pass encryption_key= (the "
                "bucket's KMS key); a bucket of this app with SSE-S3 gives no warning.",
            )
        folder = (
            self.prefix
            if validation.is_token(endpoint_name) or validation.is_token(self.prefix)
            else f"{self.prefix}{endpoint_name}/"
        )
        for writer in writers:
            access.grant_write_prefix(writer, folder)
        modes = [
            m for m, on in (("Input", self.capture_input), ("Output", self.capture_output)) if on
        ]
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=self.sampling_percentage,
            destination_s3_uri=access.s3_url_for_object(self.prefix),
            kms_key_id=access.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=m) for m in modes
            ],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                csv_content_types=list(self.csv_content_types) or None,
                json_content_types=list(self.json_content_types) or None,
            ),
        )
