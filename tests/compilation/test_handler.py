"""The compilation handler against botocore stubs: every job state, throttling, duplicates, retries.

moto 5.2.5 has compilation jobs, but completes each one the moment it is
created, never fails or stops one, has no StopCompilationJob and returns the
output prefix as the artifact (see test_emulator.py); the states it cannot
reach are driven here with botocore's Stubber, which checks every request
and response against SageMaker's service model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from cdk_sagemaker_hosting._lambda.compilation import job

ROLE = "arn:aws:iam::123456789012:role/compile"
SOURCE = "s3://artifacts/models/resnet/model.tar.gz"
BASE = "s3://artifacts/neo/Stack-Compiled/"
IMAGE = "785573368785.dkr.ecr.us-east-1.amazonaws.com/sagemaker-inference-pytorch:2.0-cpu-py3"
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def properties(**changes: Any) -> dict[str, Any]:
    """What the construct writes, as CloudFormation passes it (numbers as strings)."""
    props: dict[str, Any] = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "JobNamePrefix": "Stack-Compiled",
        "RoleArn": ROLE,
        "InputConfig": {
            "S3Uri": SOURCE,
            "Framework": "PYTORCH",
            "FrameworkVersion": "2.0",
            "DataInputConfig": '{"input0": [1, 3, 224, 224]}',
        },
        "OutputConfig": {
            "S3OutputLocation": BASE,
            "TargetDevice": "ml_c5",
            "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
        },
        "MaxRuntimeInSeconds": "900",
        "RemovalPolicy": "retain",
    }
    props.update(changes)
    return props


PLAN = job.Plan.from_properties(properties())
NAME = PLAN.job_name()
OUTPUT = f"{BASE}{NAME}/"
ARTIFACT = f"{OUTPUT}model-ml_c5.tar.gz"


def described(name: str = NAME, status: str = "INPROGRESS", reason: str = "") -> dict[str, Any]:
    """A DescribeCompilationJob response (every member the service model requires)."""
    output = PLAN.output_location(name)
    return {
        "CompilationJobName": name,
        "CompilationJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:compilation-job/{name}",
        "CompilationJobStatus": status,
        "StoppingCondition": {"MaxRuntimeInSeconds": 900},
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
        "FailureReason": reason,
        "ModelArtifacts": {
            "S3ModelArtifacts": f"{output}model-ml_c5.tar.gz" if status == "COMPLETED" else output
        },
        "ModelDigests": {"ArtifactDigest": "abc123"},
        "InferenceImage": IMAGE,
        "RoleArn": ROLE,
        "InputConfig": PLAN.input_config,
        "OutputConfig": PLAN.request(name)["OutputConfig"],
    }


def event(kind: str = "Create", physical: str | None = None, **changes: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "RequestType": kind,
        "ResourceProperties": properties(**changes),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
        "LogicalResourceId": "Compiled",
    }
    if physical is not None:
        result["PhysicalResourceId"] = physical
    return result


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, Stubber]]:
    sm = client("sagemaker")
    with Stubber(sm) as stub:
        yield sm, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    s3 = client("s3")
    with Stubber(s3) as stub:
        yield s3, stub
        stub.assert_no_pending_responses()


def not_found(stub: Stubber, name: str = NAME) -> None:
    stub.add_client_error(
        "describe_compilation_job",
        service_error_code="ResourceNotFound",
        service_message=f"Could not find compilation job '{name}'.",
        expected_params={"CompilationJobName": name},
    )


def describes(stub: Stubber, response: dict[str, Any]) -> None:
    stub.add_response(
        "describe_compilation_job",
        response,
        {"CompilationJobName": response["CompilationJobName"]},
    )


def lists(stub: Stubber, *jobs: tuple[str, str]) -> None:
    """ListCompilationJobs of these inputs' names: (name, status) pairs."""
    stub.add_response(
        "list_compilation_jobs",
        {
            "CompilationJobSummaries": [
                {
                    "CompilationJobName": name,
                    "CompilationJobArn": f"arn:aws:sagemaker:us-east-1:1:compilation-job/{name}",
                    "CreationTime": NOW,
                    "CompilationJobStatus": status,
                }
                for name, status in jobs
            ]
        },
        {"NameContains": NAME},
    )


def creates(stub: Stubber, name: str = NAME) -> None:
    stub.add_response(
        "create_compilation_job",
        {"CompilationJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:compilation-job/{name}"},
        PLAN.request(name),
    )


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


# --- names from the inputs' hash ---------------------------------------------------------------


def test_same_inputs_same_name_and_changed_inputs_a_new_one() -> None:
    again = job.Plan.from_properties(properties())
    assert again.job_name() == NAME
    assert len(NAME) <= 63 and NAME.startswith("Stack-Compiled-")
    assert job.Plan.from_properties(properties(RoleArn=ROLE + "2")).job_name() == NAME
    assert job.Plan.from_properties(properties(RemovalPolicy="destroy")).job_name() == NAME
    changed = [
        properties(MaxRuntimeInSeconds="1200"),
        properties(OutputConfig={**properties()["OutputConfig"], "TargetDevice": "ml_m5"}),
        properties(InputConfig={**properties()["InputConfig"], "S3Uri": SOURCE + ".v2"}),
    ]
    names = {job.Plan.from_properties(p).job_name() for p in changed}
    assert NAME not in names and len(names) == 3
    # each job writes under its own name: no two inputs, nor two tries, share a folder
    assert PLAN.request(NAME)["OutputConfig"]["S3OutputLocation"] == f"{BASE}{NAME}/" == OUTPUT
    assert PLAN.request(f"{NAME}-2")["OutputConfig"]["S3OutputLocation"] == f"{BASE}{NAME}-2/"
    assert PLAN.job_name(3) == f"{NAME}-3" and len(PLAN.job_name(job.MAX_ATTEMPTS)) <= 63
    assert [PLAN.attempt(n) for n in (NAME, f"{NAME}-2", f"{NAME}-x", f"{NAME}-2-3")] == [
        1,
        2,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"JobNamePrefix": "bad_prefix"}, "JobNamePrefix 'bad_prefix' must be a SageMaker name"),
        ({"JobNamePrefix": "p" * 40}, "must be a SageMaker name of 1-"),
        ({"MaxRuntimeInSeconds": "soon"}, "MaxRuntimeInSeconds must be a whole number"),
        ({"RemovalPolicy": "snapshot"}, "RemovalPolicy 'snapshot' must be one of"),
        ({"OutputConfig": {"S3OutputLocation": "s3://b/no-slash"}}, "must be an s3:// prefix"),
        ({"InputConfig": None}, "the properties lack"),
    ],
)
def test_bad_properties_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(job.BadRequestError, match=message):
        job.Plan.from_properties(properties(**changes))


# --- on_event -----------------------------------------------------------------------------------


def test_create_starts_the_job_named_by_the_hash(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    lists(stub)
    creates(stub)
    log = Log()
    assert job.on_event(sm, s3[0], event(), log) == {"PhysicalResourceId": NAME}
    assert log == [f"started {NAME}"]


def test_a_retried_create_waits_for_the_running_job(sagemaker: Any, s3: Any) -> None:
    """A retry (Lambda timed out after starting the job) starts no second job."""
    sm, stub = sagemaker
    lists(stub, (NAME, "INPROGRESS"))
    describes(stub, described(status="INPROGRESS"))
    log = Log()
    assert job.on_event(sm, s3[0], event(), log) == {"PhysicalResourceId": NAME}
    assert "not compiled again" in log[0]


def test_duplicate_name_on_create_is_the_same_job(sagemaker: Any, s3: Any) -> None:
    """Two requests racing: the second CreateCompilationJob is refused, and waits for the first."""
    sm, stub = sagemaker
    lists(stub)
    stub.add_client_error(
        "create_compilation_job",
        service_error_code="ResourceInUse",
        service_message=f"Resource Already Exists: Compilation job with name {NAME} exists.",
        expected_params=PLAN.request(NAME),
    )
    log = Log()
    assert job.on_event(sm, s3[0], event(), log) == {"PhysicalResourceId": NAME}
    assert "already started" in log[0]


def test_throttled_create_is_left_to_the_next_poll(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    lists(stub)
    stub.add_client_error("create_compilation_job", service_error_code="ThrottlingException")
    not_found(stub)
    creates(stub)
    log = Log()
    assert job.on_event(sm, s3[0], event(), log) == {"PhysicalResourceId": NAME}
    assert "throttled" in log[0]
    # the first poll finds no job and starts it
    polled = event(physical=NAME)
    assert job.is_complete(sm, polled, now=NOW.timestamp(), log=log) == {"IsComplete": False}
    assert log[-1] == f"started {NAME}"


def test_an_update_with_the_same_inputs_keeps_the_completed_artifact(
    sagemaker: Any, s3: Any
) -> None:
    sm, stub = sagemaker
    s3_client, s3_stub = s3
    lists(stub, (NAME, "COMPLETED"))
    describes(stub, described(status="COMPLETED"))
    s3_stub.add_response(
        "head_object",
        {"ContentLength": 10},
        {"Bucket": "artifacts", "Key": ARTIFACT.removeprefix("s3://artifacts/")},
    )
    result = job.on_event(sm, s3_client, event("Update", physical=NAME, RemovalPolicy="destroy"))
    assert result == {"PhysicalResourceId": NAME}


def test_a_completed_job_whose_artifact_was_deleted_compiles_again(sagemaker: Any, s3: Any) -> None:
    """Inputs A, then B (A's artifacts destroyed), then A again: A is compiled anew."""
    sm, stub = sagemaker
    s3_client, s3_stub = s3
    lists(stub, (NAME, "COMPLETED"))
    describes(stub, described(status="COMPLETED"))
    s3_stub.add_client_error("head_object", service_error_code="404", http_status_code=404)
    creates(stub, f"{NAME}-2")
    log = Log()
    assert job.on_event(sm, s3_client, event("Update", physical="other"), log) == {
        "PhysicalResourceId": f"{NAME}-2"
    }
    assert "is gone" in log[0]


@pytest.mark.parametrize("status", ["FAILED", "STOPPED", "STOPPING"])
def test_after_a_failed_or_stopped_job_a_redeploy_compiles_under_the_next_name(
    sagemaker: Any, s3: Any, status: str
) -> None:
    sm, stub = sagemaker
    lists(stub, (NAME, status))
    if status == "STOPPING":  # neither running nor ended: described
        describes(stub, described(status=status, reason="ClientError: unsupported operator"))
    creates(stub, f"{NAME}-2")
    assert job.on_event(sm, s3[0], event()) == {"PhysicalResourceId": f"{NAME}-2"}


def test_the_next_free_name_is_found_in_one_listing_past_the_old_cap_of_five(
    sagemaker: Any, s3: Any
) -> None:
    """Seven failed tries (and names of other inputs or forms) are listed once; -8 starts."""
    sm, stub = sagemaker
    tried = [(PLAN.job_name(n), "FAILED") for n in range(1, 8)]
    lists(stub, *tried, (f"{NAME}-x", "COMPLETED"), (f"{NAME}-2-1", "INPROGRESS"))
    creates(stub, f"{NAME}-8")
    log = Log()
    assert job.on_event(sm, s3[0], event(), log) == {"PhysicalResourceId": f"{NAME}-8"}
    assert log[-1] == f"started {NAME}-8"


def test_after_every_attempt_failed_the_deploy_fails_with_their_reasons(
    sagemaker: Any, s3: Any
) -> None:
    sm, stub = sagemaker
    lists(stub, *[(PLAN.job_name(n), "FAILED") for n in range(1, job.MAX_ATTEMPTS + 1)])
    with pytest.raises(job.CompilationFailedError) as raised:
        job.on_event(sm, s3[0], event(), Log())
    message = str(raised.value)
    assert f"all {job.MAX_ATTEMPTS} compilation jobs SageMaker allows" in message
    assert "change an input the names hash (the source, framework version" in message
    assert f"{NAME}-{job.MAX_ATTEMPTS}: FAILED" in message


def test_unknown_request_type_is_refused(sagemaker: Any, s3: Any) -> None:
    with pytest.raises(job.BadRequestError, match="unknown RequestType 'Replace'"):
        job.on_event(sagemaker[0], s3[0], event("Replace"))


# --- is_complete: every state -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["STARTING", "INPROGRESS", "STOPPING"])
def test_in_progress_is_not_complete(sagemaker: Any, status: str) -> None:
    sm, stub = sagemaker
    describes(stub, described(status=status))
    log = Log()
    result = job.is_complete(sm, event(physical=NAME), now=NOW.timestamp() + 95, log=log)
    assert result == {"IsComplete": False}
    assert log == [f"{NAME} is {status} for 95 s"]


def test_completed_returns_the_artifact(sagemaker: Any) -> None:
    sm, stub = sagemaker
    describes(stub, described(status="COMPLETED"))
    result = job.is_complete(sm, event(physical=NAME), now=0, log=Log())
    assert result == {
        "IsComplete": True,
        "Data": {
            "JobName": NAME,
            "JobArn": f"arn:aws:sagemaker:us-east-1:123456789012:compilation-job/{NAME}",
            "ModelArtifacts": ARTIFACT,
            "InferenceImage": IMAGE,
            "ArtifactDigest": "abc123",
        },
    }


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (
            "FAILED",
            "ClientError: InputConfiguration: input0 shape does not match",
            f"compilation job {NAME} FAILED: ClientError: InputConfiguration: input0 shape",
        ),
        ("STOPPED", "", f"compilation job {NAME} STOPPED: SageMaker gave no reason"),
    ],
)
def test_failed_and_stopped_fail_the_deploy_with_the_reason(
    sagemaker: Any, status: str, reason: str, message: str
) -> None:
    sm, stub = sagemaker
    describes(stub, described(status=status, reason=reason))
    with pytest.raises(job.CompilationFailedError, match=message):
        job.is_complete(sm, event(physical=NAME), now=0, log=Log())


def test_throttled_poll_asks_again(sagemaker: Any) -> None:
    sm, stub = sagemaker
    stub.add_client_error("describe_compilation_job", service_error_code="ThrottlingException")
    log = Log()
    assert job.is_complete(sm, event(physical=NAME), now=0, log=log) == {"IsComplete": False}
    assert "throttled" in log[0]


def test_other_errors_fail_the_poll(sagemaker: Any) -> None:
    sm, stub = sagemaker
    stub.add_client_error("describe_compilation_job", service_error_code="AccessDeniedException")
    with pytest.raises(Exception, match="AccessDenied"):
        job.is_complete(sm, event(physical=NAME), now=0, log=Log())


def test_delete_is_complete_at_once(sagemaker: Any) -> None:
    assert job.is_complete(sagemaker[0], event("Delete", physical=NAME), now=0) == {
        "IsComplete": True
    }


# --- delete -------------------------------------------------------------------------------------


def test_delete_stops_a_running_job_and_retains_the_artifacts(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    describes(stub, described(status="INPROGRESS"))
    stub.add_response("stop_compilation_job", {}, {"CompilationJobName": NAME})
    log = Log()
    assert job.on_event(sm, s3[0], event("Delete", physical=NAME), log) == {
        "PhysicalResourceId": NAME
    }
    assert log == [f"stopped {NAME}", f"{NAME}: the artifacts are retained (RemovalPolicy retain)"]


def test_delete_with_destroy_empties_the_jobs_own_prefix(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    s3_client, s3_stub = s3
    describes(stub, described(status="COMPLETED"))
    prefix = OUTPUT.removeprefix("s3://artifacts/")
    s3_stub.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": f"{prefix}model-ml_c5.tar.gz"}], "IsTruncated": False},
        {"Bucket": "artifacts", "Prefix": prefix},
    )
    s3_stub.add_response(
        "delete_objects",
        {},
        {
            "Bucket": "artifacts",
            "Delete": {"Objects": [{"Key": f"{prefix}model-ml_c5.tar.gz"}], "Quiet": True},
        },
    )
    log = Log()
    job.on_event(sm, s3_client, event("Delete", physical=NAME, RemovalPolicy="destroy"), log)
    assert log == [f"deleted 1 objects under {OUTPUT}"]


def test_delete_reports_objects_it_could_not_delete(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    s3_client, s3_stub = s3
    describes(stub, described(status="FAILED"))
    s3_stub.add_response("list_objects_v2", {"Contents": [{"Key": "neo/x"}]})
    s3_stub.add_response(
        "delete_objects",
        {"Errors": [{"Key": "neo/x", "Code": "AccessDenied", "Message": "denied"}]},
        {"Bucket": "artifacts", "Delete": ANY},
    )
    with pytest.raises(RuntimeError, match="could not delete 1 objects"):
        job.on_event(sm, s3_client, event("Delete", physical=NAME, RemovalPolicy="destroy"), Log())


@pytest.mark.parametrize("physical", ["2025/01/01/[$LATEST]abc", "OtherStack-Compiled-0123", ""])
def test_delete_of_a_failed_create_touches_nothing(sagemaker: Any, s3: Any, physical: str) -> None:
    """A create that failed before it named a job leaves a physical ID that is no job of ours."""
    log = Log()
    job.on_event(sagemaker[0], s3[0], event("Delete", physical=physical), log)
    assert "names no compilation job" in log[0]


def test_delete_of_a_job_that_never_started(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    not_found(stub)
    log = Log()
    job.on_event(sm, s3[0], event("Delete", physical=NAME, RemovalPolicy="destroy"), log)
    assert log == [f"{NAME} does not exist: nothing to delete"]


def test_delete_of_a_job_that_ended_while_stopping(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    describes(stub, described(status="INPROGRESS"))
    stub.add_client_error(
        "stop_compilation_job",
        service_error_code="ValidationException",
        service_message="The job is not in progress",
    )
    job.on_event(sm, s3[0], event("Delete", physical=NAME), Log())


# --- throttling past botocore's retries: a distinct error the workflow retries -------------------


def test_a_throttled_listing_on_create_is_retried_by_the_workflow(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    stub.add_client_error("list_compilation_jobs", service_error_code="ThrottlingException")
    with pytest.raises(job.ThrottledError, match="ListCompilationJobs was throttled") as raised:
        job.on_event(sm, s3[0], event(), Log())
    assert "runs this step again" in str(raised.value)


@pytest.mark.parametrize(
    ("operation", "code"),
    [("describe_compilation_job", "ThrottlingException"), ("stop_compilation_job", "Throttling")],
)
def test_a_throttled_delete_is_retried_by_the_workflow(
    sagemaker: Any, s3: Any, operation: str, code: str
) -> None:
    sm, stub = sagemaker
    if operation == "stop_compilation_job":
        describes(stub, described(status="INPROGRESS"))
    stub.add_client_error(operation, service_error_code=code)
    with pytest.raises(job.ThrottledError, match=f"throttled \\({code}\\)"):
        job.on_event(sm, s3[0], event("Delete", physical=NAME), Log())


def test_a_throttled_s3_cleanup_is_retried_by_the_workflow(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    s3_client, s3_stub = s3
    describes(stub, described(status="COMPLETED"))
    s3_stub.add_client_error("list_objects_v2", service_error_code="SlowDown")
    with pytest.raises(job.ThrottledError, match="ListObjectsV2 was throttled"):
        job.on_event(sm, s3_client, event("Delete", physical=NAME, RemovalPolicy="destroy"))


def test_other_errors_on_create_are_not_throttling(sagemaker: Any, s3: Any) -> None:
    sm, stub = sagemaker
    stub.add_client_error("list_compilation_jobs", service_error_code="AccessDeniedException")
    with pytest.raises(Exception, match="AccessDenied") as raised:
        job.on_event(sm, s3[0], event(), Log())
    assert not isinstance(raised.value, job.ThrottledError)
