"""CloudFormation's protocol around the handler: a workflow per request, an answer per workflow."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber
from cdk_sagemaker_hosting._lambda.compilation import cfn, index, job

from tests.compilation.test_handler import NAME, client, described, describes, event

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:compile"
URL = "https://cloudformation-custom-resource-response.s3.amazonaws.com/x?sig=1"


def request(kind: str = "Create", **extra: Any) -> dict[str, Any]:
    return {**event(kind), "RequestId": "7f6e-11aa", "ResponseURL": URL, **extra}


class Puts(list[tuple[str, dict[str, Any]]]):
    def __call__(self, url: str, body: bytes) -> None:
        self.append((url, json.loads(body)))


def test_each_request_starts_one_execution_named_by_its_id() -> None:
    states = client("stepfunctions")
    with Stubber(states) as stub:
        stub.add_response(
            "start_execution",
            {"executionArn": f"{MACHINE}:7f6e-11aa", "startDate": 0},
            {
                "stateMachineArn": MACHINE,
                "name": "7f6e-11aa",
                "input": json.dumps({**request(), "Deadline": 1600}),
            },
        )
        assert cfn.start(states, MACHINE, request(), now=1000, timeout=600)["name"] == "7f6e-11aa"
        # Lambda retries an asynchronous invocation: the same request starts nothing new.
        stub.add_client_error("start_execution", service_error_code="ExecutionAlreadyExists")
        assert cfn.start(states, MACHINE, request(), now=1001, timeout=600)["retried"] is True


def test_on_event_then_is_complete_use_the_job_on_event_named() -> None:
    sm = client("sagemaker")
    with Stubber(sm) as stub:
        describes(stub, described(status="COMPLETED"))
        state = {**request(), "Deadline": 2000, "OnEvent": {"PhysicalResourceId": NAME}}
        result = cfn.step(sm, None, "is_complete", state, now=1000, put=Puts())
        assert result["IsComplete"] is True
        assert result["Data"]["JobName"] == NAME


def test_past_the_deadline_the_compilation_fails() -> None:
    state = {**request(), "Deadline": 999, "OnEvent": {"PhysicalResourceId": NAME}}
    with pytest.raises(job.CompilationFailedError, match=f"{NAME} did not complete in time"):
        cfn.step(None, None, "is_complete", state, now=1000, put=Puts())


def test_success_answers_with_the_jobs_attributes() -> None:
    puts = Puts()
    state = {
        **request(),
        "OnEvent": {"PhysicalResourceId": NAME},
        "IsComplete": {"IsComplete": True, "Data": {"ModelArtifacts": "s3://b/k.tar.gz"}},
    }
    assert cfn.step(None, None, "respond", state, now=0, put=puts)["Status"] == "SUCCESS"
    ((url, body),) = puts
    assert url == URL
    assert body == {
        "StackId": state["StackId"],
        "RequestId": "7f6e-11aa",
        "LogicalResourceId": "Compiled",
        "PhysicalResourceId": NAME,
        "Status": "SUCCESS",
        "Data": {"ModelArtifacts": "s3://b/k.tar.gz"},
    }


def test_failure_answers_with_the_jobs_failure_reason() -> None:
    """The Catch puts Lambda's error JSON in $.Error.Cause; its message is the reason."""
    puts = Puts()
    cause = {
        "errorType": "CompilationFailedError",
        "errorMessage": f"compilation job {NAME} FAILED: ClientError: unsupported operator",
    }
    state = {
        **request("Update", PhysicalResourceId="old-job"),
        "OnEvent": {"PhysicalResourceId": NAME},
        "Error": {"Error": "CompilationFailedError", "Cause": json.dumps(cause)},
    }
    cfn.step(None, None, "respond", state, now=0, put=puts)
    ((_, body),) = puts
    assert body["Status"] == "FAILED"
    assert body["Reason"] == cause["errorMessage"]
    assert body["PhysicalResourceId"] == NAME


def test_a_create_that_failed_before_naming_a_job_gets_an_id_deletes_ignore() -> None:
    puts = Puts()
    state = {**request(), "Error": {"Error": "BadRequestError", "Cause": "not json"}}
    cfn.step(None, None, "respond", state, now=0, put=puts)
    ((_, body),) = puts
    assert body["PhysicalResourceId"] == "failed-7f6e-11aa"
    assert body["Reason"] == "BadRequestError: not json"
    # and its Delete touches nothing
    log: list[str] = []
    delete = {**request("Delete", PhysicalResourceId=body["PhysicalResourceId"])}
    job.on_event(None, None, delete, log.append)
    assert "names no compilation job" in log[0]


def test_the_response_goes_to_https_only() -> None:
    with pytest.raises(job.BadRequestError, match="must be https"):
        cfn.put_response("http://example.com/x", b"{}")


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(job.BadRequestError, match="unknown action 'explode'"):
        cfn.step(None, None, "explode", request(), now=0, put=Puts())


def test_entry_point_runs_the_step_its_function_is_for(monkeypatch: pytest.MonkeyPatch) -> None:
    sm = client("sagemaker")
    monkeypatch.setattr(index, "_clients", {"sagemaker": sm, "s3": client("s3")})
    monkeypatch.setenv("COMPILATION_STEP", "workflow")
    with Stubber(sm) as stub:
        describes(stub, described(status="INPROGRESS"))
        result = index.handler({"action": "on_event", "event": request()}, None)
        assert result == {"PhysicalResourceId": NAME}
    monkeypatch.setenv("COMPILATION_STEP", "nonsense")
    with pytest.raises(ValueError, match="COMPILATION_STEP must be request or workflow"):
        index.handler(request(), None)


def test_a_request_that_cannot_start_the_workflow_answers_failed_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nobody else would answer: CloudFormation would wait for its timeout."""
    states = client("stepfunctions")
    monkeypatch.setattr(index, "_clients", {"stepfunctions": states})
    monkeypatch.setenv("COMPILATION_STEP", "request")
    monkeypatch.setenv("STATE_MACHINE_ARN", MACHINE)
    monkeypatch.setenv("TIMEOUT_SECONDS", "1500")
    puts = Puts()
    monkeypatch.setattr(cfn, "put_response", puts)
    with Stubber(states) as stub:
        stub.add_client_error("start_execution", service_error_code="AccessDeniedException")
        with pytest.raises(Exception, match="AccessDenied"):
            index.handler(request(), None)
    ((_, body),) = puts
    assert body["Status"] == "FAILED"
    assert "AccessDenied" in body["Reason"]
