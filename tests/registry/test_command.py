"""Item 5: ``cdk-sagemaker-hosting promote``, in process, against moto's SageMaker, SSM and STS.

The pipeline is a fake (moto's CodePipeline starts no executions). moto
keeps the registry's versions, their approval status and artifacts; after
``UpdateModelPackage`` it loses the status (see ``test_handler.py``), which
no test reads back.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from cdk_sagemaker_hosting import cli
from cdk_sagemaker_hosting._lambda.registry import command

ACCOUNT = "123456789012"  # moto's
REGION = "us-east-1"
PARAMETER = "/cdk-sagemaker-hosting/churn/approved-version"
ARTIFACTS = "s3://churn-registry-artifacts/churn/"


def version_arn(version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn/{version}"


class Pipeline:
    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.fail = False

    def start_pipeline_execution(self, **kwargs: Any) -> dict[str, str]:
        if self.fail:
            raise ClientError(
                {"Error": {"Code": "PipelineNotFoundException", "Message": "no churn-release"}},
                "StartPipelineExecution",
            )
        self.started.append(kwargs)
        return {"pipelineExecutionId": f"exec-{len(self.started)}"}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    with moto.mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName="churn")
        clients = {
            "sagemaker": sagemaker,
            "ssm": boto3.client("ssm", region_name=REGION),
            "sts": boto3.client("sts", region_name=REGION),
            "codepipeline": Pipeline(),
        }
        monkeypatch.setattr(command, "_clients", lambda region: clients)
        yield clients


def add(aws: Any, status: str, url: str | None = None) -> str:
    response = aws["sagemaker"].create_model_package(
        ModelPackageGroupName="churn",
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/churn:1",
                    "ModelDataUrl": url or f"{ARTIFACTS}model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    return str(response["ModelPackageArn"])


def promote(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["promote", "--group", "churn", "--artifacts", ARTIFACTS, *args])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]), err


def record(aws: Any) -> str | None:
    try:
        return str(aws["ssm"].get_parameter(Name=PARAMETER)["Parameter"]["Value"])
    except ClientError:
        return None


def test_a_named_approved_version_is_recorded_and_its_rollout_started(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    add(aws, "Approved")
    add(aws, "Approved")
    code, summary, _ = promote(capsys, "--version", "1", "--pipeline", "churn-release")
    assert code == command.EXIT_DONE
    assert summary["result"] == "started" and summary["version"] == version_arn(1)
    assert record(aws) == version_arn(1)
    (started,) = aws["codepipeline"].started
    assert started["name"] == "churn-release"
    assert started["variables"] == [{"name": "ModelPackageArn", "value": version_arn(1)}]
    assert started["clientRequestToken"] == "churn-1-after-r0"


def test_without_a_version_the_newest_approved_is_promoted(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    add(aws, "Approved")
    add(aws, "PendingManualApproval")
    code, summary, _ = promote(capsys)
    assert code == command.EXIT_DONE and summary["result"] == "recorded"
    assert record(aws) == version_arn(1)


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("PendingManualApproval", "is PendingManualApproval, not Approved"),
        ("Rejected", "is Rejected, not Approved"),
    ],
)
def test_a_version_that_is_not_approved_is_refused_and_nothing_written(
    aws: Any, capsys: pytest.CaptureFixture[str], status: str, said: str
) -> None:
    add(aws, status)
    code, summary, err = promote(capsys, "--version", "1", "--pipeline", "churn-release")
    assert code == command.EXIT_REFUSED
    assert summary["result"] == "refused" and said in summary["error"]
    assert err.startswith("refused: ")
    assert record(aws) is None and aws["codepipeline"].started == []


def test_a_version_whose_artifacts_the_accounts_cannot_read_is_refused(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    add(aws, "Approved", url="s3://someone-elses-bucket/churn/model.tar.gz")
    code, summary, _ = promote(capsys, "--version", "1")
    assert code == command.EXIT_REFUSED
    assert "outside s3://churn-registry-artifacts/churn/" in summary["error"]
    assert record(aws) is None


def test_a_version_that_does_not_exist_is_refused(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    add(aws, "Approved")
    code, summary, _ = promote(capsys, "--version", "7")
    assert code == command.EXIT_REFUSED and "cannot be read" in summary["error"]


def test_none_approved_is_refused(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    add(aws, "PendingManualApproval")
    code, summary, _ = promote(capsys)
    assert code == command.EXIT_REFUSED and "no version of churn is approved" in summary["error"]


def test_a_dry_run_writes_nothing(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    add(aws, "Approved")
    code, summary, _ = promote(capsys, "--version", "1", "--pipeline", "p", "--dry-run")
    assert code == command.EXIT_DONE
    assert summary["result"] == "would-record"
    assert summary["reason"] == f"would record {version_arn(1)} and start p"
    assert record(aws) is None and aws["codepipeline"].started == []


def test_a_pipeline_that_does_not_start_fails_after_the_record_and_says_so(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    add(aws, "Approved")
    aws["codepipeline"].fail = True
    code, summary, err = promote(capsys, "--version", "1", "--pipeline", "churn-release")
    assert code == command.EXIT_FAILED
    assert summary["result"] == "failed" and "PipelineNotFoundException" in summary["error"]
    # Nothing lost: the record is written and the summary says the pipeline did not start.
    assert record(aws) == version_arn(1) == summary["version"]
    assert summary["pipeline_error"].startswith("PipelineNotFoundException")
    assert err.startswith("failed: ")


def test_any_other_failure_is_exit_1_with_the_json_last(
    aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``shift``: not only AWS's errors; a traceback would leave no JSON line last."""
    add(aws, "Approved")

    def broken(**_: Any) -> None:
        raise ConnectionResetError("the connection was reset")

    monkeypatch.setattr(aws["ssm"], "get_parameter", broken)
    code, summary, err = promote(capsys, "--version", "1")
    assert code == command.EXIT_FAILED
    assert summary == {
        "result": "failed",
        "error": "ConnectionResetError: the connection was reset",
    }
    assert err.startswith("failed: ConnectionResetError")


def test_a_pipeline_variable_without_a_pipeline_is_refused(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    add(aws, "Approved")
    code, summary, _ = promote(capsys, "--version", "1", "--pipeline-variable", "Version")
    assert code == command.EXIT_REFUSED
    assert "--pipeline-variable 'Version' applies to --pipeline" in summary["error"]
    assert record(aws) is None


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--group", "churn models"], "--group 'churn models' is neither"),
        (["--group", "churn", "--version", "0"], "--version 0 is not a version"),
        (["--group", "churn", "--artifacts", "bucket/churn/"], "--artifacts 'bucket/churn/'"),
    ],
)
def test_bad_arguments_are_refused(
    aws: Any, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    code = cli.main(["promote", *args])
    out, _ = capsys.readouterr()
    assert code == command.EXIT_REFUSED
    assert said in json.loads(out.strip().splitlines()[-1])["error"]


def test_a_group_arn_of_another_account_is_used_as_given(
    aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    add(aws, "Approved")
    group = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/churn"
    code = cli.main(["promote", "--group", group, "--version", "1", "--dry-run"])
    summary = json.loads(capsys.readouterr()[0].strip().splitlines()[-1])
    assert code == 0 and summary["version"] == version_arn(1)


def test_promote_needs_the_group() -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["promote"])
    assert exit_.value.code == 2
