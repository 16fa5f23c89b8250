"""Data capture: the endpoint's requests and responses, written to an encrypted bucket."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cdk_sagemaker_hosting.encrypted_bucket import EncryptedBucket


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataCapture:
    """Capture a sample of an endpoint's traffic as JSON lines in S3.

    Objects land at ``s3://<bucket>/<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/``,
    encrypted with the bucket's key; the drift monitor reads them there.
    Payloads of the listed content types are stored as text, not base64.

    :param destination: the bucket.
    :param prefix: key prefix, ending with ``/``. Default: ``"data-capture/"``.
    :param sampling_percentage: 0-100. Default: 100.
    :param capture_input: capture requests. Default: ``True``.
    :param capture_output: capture responses. Default: ``True``.
    :param csv_content_types: up to 10. Default: ``("text/csv",)``.
    :param json_content_types: up to 10. Default: ``("application/json",)``.
    """

    destination: EncryptedBucket
    prefix: str = "data-capture/"
    sampling_percentage: int = 100
    capture_input: bool = True
    capture_output: bool = True
    csv_content_types: Sequence[str] = ("text/csv",)
    json_content_types: Sequence[str] = ("application/json",)
