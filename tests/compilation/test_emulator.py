"""The compilation handler against moto 5.2.5's SageMaker, in process, and what moto cannot do.

moto implements CreateCompilationJob, DescribeCompilationJob (its
ResourceNotFound included) and the duplicate-name refusal (ResourceInUse),
so the happy path runs here end to end. It does not emulate compilation:
each job is COMPLETED the moment it is created (no STARTING or INPROGRESS,
never FAILED or STOPPED, FailureReason empty), no artifact is written and
the reported ``S3ModelArtifacts`` is the output *prefix*, the role, source
object and KMS key are never checked, and StopCompilationJob is not
implemented. The gap tests below pin each of these, so a moto upgrade that
closes one shows; the states moto cannot reach are tested with botocore
stubs in test_handler.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cdk_sagemaker_hosting._lambda.compilation import cfn, job
from moto import mock_aws

from tests.compilation.test_handler import PLAN, properties


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="artifacts")
        yield boto3.client("sagemaker"), s3


URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/r?sig=1"


def cfn_event(kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": kind,
        "RequestId": f"{kind}-1",
        "ResponseURL": URL,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "LogicalResourceId": "Compiled",
        "ResourceProperties": properties(),
        **extra,
    }


def run(sagemaker: Any, s3: Any, event: dict[str, Any]) -> dict[str, Any]:
    """What the request function and the workflow do: keep the URL, on_event, is_complete
    until done, respond (to the kept URL, which is then deleted)."""
    answers: list[tuple[str, bytes]] = []

    def put(url: str, body: bytes) -> None:
        answers.append((url, body))

    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    urls = cfn.ResponseUrls(boto3.client("ssm"), "/cdk-sagemaker-hosting/compilation/x", key)
    urls.keep(event["RequestId"], event["ResponseURL"])
    state = {**cfn.without_url(event), "Deadline": 60.0}
    steps = {"now": 0, "put": put, "urls": urls}
    state["OnEvent"] = cfn.step(sagemaker, s3, "on_event", state, **steps)
    if event["RequestType"] != "Delete":
        state["IsComplete"] = cfn.step(sagemaker, s3, "is_complete", state, **steps)
    cfn.step(sagemaker, s3, "respond", state, **steps)
    ((url, body),) = answers
    assert url == event["ResponseURL"]
    assert urls.take(event["RequestId"]) is None, "the URL is deleted once answered"
    return dict(json.loads(body))


def test_create_then_an_unchanged_update_compiles_once(aws: Any) -> None:
    sagemaker, s3 = aws
    created = run(sagemaker, s3, cfn_event("Create"))
    assert created["Status"] == "SUCCESS"
    assert created["PhysicalResourceId"] == PLAN.job_name()
    artifact = created["Data"]["ModelArtifacts"]
    # moto's artifact is the output prefix, and nothing is written there: put a placeholder,
    # as `make deploy-local` does for the model artifacts.
    s3.put_object(Bucket="artifacts", Key=artifact.removeprefix("s3://artifacts/"), Body=b"x")
    updated = run(
        sagemaker, s3, cfn_event("Update", PhysicalResourceId=created["PhysicalResourceId"])
    )
    assert updated["PhysicalResourceId"] == created["PhysicalResourceId"]
    jobs = sagemaker.list_compilation_jobs()["CompilationJobSummaries"]
    assert [j["CompilationJobName"] for j in jobs] == [PLAN.job_name()]


def test_delete_with_destroy_empties_the_jobs_prefix(aws: Any) -> None:
    sagemaker, s3 = aws
    created = run(sagemaker, s3, cfn_event("Create"))
    prefix = PLAN.output_location(PLAN.job_name()).removeprefix("s3://artifacts/")
    s3.put_object(Bucket="artifacts", Key=f"{prefix}model-ml_c5.tar.gz", Body=b"x")
    s3.put_object(Bucket="artifacts", Key="neo/other/keep.tar.gz", Body=b"x")
    deleting = cfn_event("Delete", PhysicalResourceId=created["PhysicalResourceId"])
    deleting["ResourceProperties"] = properties(RemovalPolicy="destroy")
    assert run(sagemaker, s3, deleting)["Status"] == "SUCCESS"
    left = [o["Key"] for o in s3.list_objects_v2(Bucket="artifacts")["Contents"]]
    assert left == ["neo/other/keep.tar.gz"]


# --- gaps: what moto does not do (each test fails once moto does it) ----------------------------


def test_gap_moto_completes_every_job_at_once_without_an_artifact(aws: Any) -> None:
    sagemaker, s3 = aws
    sagemaker.create_compilation_job(**PLAN.request("gap"))
    described = sagemaker.describe_compilation_job(CompilationJobName="gap")
    assert described["CompilationJobStatus"] == "COMPLETED"
    assert described["FailureReason"] == ""
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == PLAN.output_location("gap")
    assert s3.list_objects_v2(Bucket="artifacts").get("KeyCount") == 0


def test_gap_moto_checks_neither_the_role_nor_the_source(aws: Any) -> None:
    sagemaker, _ = aws
    request = PLAN.request("unchecked")
    request["RoleArn"] = "arn:aws:iam::123456789012:role/does-not-exist"
    request["InputConfig"] = {**request["InputConfig"], "S3Uri": "s3://no-such-bucket/x.tar.gz"}
    sagemaker.create_compilation_job(**request)


def test_gap_moto_cannot_stop_a_compilation_job(aws: Any) -> None:
    sagemaker, _ = aws
    sagemaker.create_compilation_job(**PLAN.request("running"))
    with pytest.raises(NotImplementedError, match="stop_compilation_job"):
        sagemaker.stop_compilation_job(CompilationJobName="running")


def test_duplicate_names_are_refused_as_sagemaker_does(aws: Any) -> None:
    sagemaker, _ = aws
    sagemaker.create_compilation_job(**PLAN.request(PLAN.job_name()))
    assert job.start(sagemaker, PLAN, PLAN.job_name(), print) is True
