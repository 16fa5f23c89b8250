"""CloudFormation's protocol around the handler: a workflow per request, an answer per workflow."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from cdk_sagemaker_hosting._lambda.compilation import cfn, index, job

from tests.compilation.test_handler import NAME, client, described, describes, event, lists

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:compile"
URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1"
ROOT = "/cdk-sagemaker-hosting/compilation/stack-compiled"
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"


def request(kind: str = "Create", **extra: Any) -> dict[str, Any]:
    return {**event(kind), "RequestId": "7f6e-11aa", "ResponseURL": URL, **extra}


class Puts(list[tuple[str, dict[str, Any]]]):
    def __call__(self, url: str, body: bytes) -> None:
        self.append((url, json.loads(body)))


class Urls(dict[str, str]):
    """The request function's store of response URLs, in memory."""

    def keep(self, request_id: str, url: str) -> None:
        self[request_id] = url

    def take(self, request_id: str) -> str | None:
        return self.get(request_id)

    def forget(self, request_id: str) -> None:
        self.pop(request_id, None)


def kept() -> Urls:
    """The store once the request function kept this request's URL."""
    urls = Urls()
    urls.keep("7f6e-11aa", URL)
    return urls


def test_each_request_starts_one_execution_named_by_its_id() -> None:
    states = client("stepfunctions")
    with Stubber(states) as stub:
        stub.add_response(
            "start_execution",
            {"executionArn": f"{MACHINE}:7f6e-11aa", "startDate": 0},
            {
                "stateMachineArn": MACHINE,
                "name": "7f6e-11aa",
                "input": json.dumps({**cfn.without_url(request()), "Deadline": 1600}),
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
        result = cfn.step(sm, None, "is_complete", state, now=1000, put=Puts(), urls=kept())
        assert result["IsComplete"] is True
        assert result["Data"]["JobName"] == NAME


def test_past_the_deadline_the_compilation_fails() -> None:
    state = {**request(), "Deadline": 999, "OnEvent": {"PhysicalResourceId": NAME}}
    with pytest.raises(job.CompilationFailedError, match=f"{NAME} did not complete in time"):
        cfn.step(None, None, "is_complete", state, now=1000, put=Puts(), urls=kept())


def test_success_answers_with_the_jobs_attributes() -> None:
    puts = Puts()
    state = {
        **request(),
        "OnEvent": {"PhysicalResourceId": NAME},
        "IsComplete": {"IsComplete": True, "Data": {"ModelArtifacts": "s3://b/k.tar.gz"}},
    }
    urls = kept()
    assert cfn.step(None, None, "respond", state, now=0, put=puts, urls=urls)["Status"] == (
        "SUCCESS"
    )
    ((url, body),) = puts
    assert url == URL
    assert urls == {}, "the URL is deleted once answered"
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
    cfn.step(None, None, "respond", state, now=0, put=puts, urls=kept())
    ((_, body),) = puts
    assert body["Status"] == "FAILED"
    assert body["Reason"] == cause["errorMessage"]
    assert body["PhysicalResourceId"] == NAME


def test_a_create_that_failed_before_naming_a_job_gets_an_id_deletes_ignore() -> None:
    puts = Puts()
    state = {**request(), "Error": {"Error": "BadRequestError", "Cause": "not json"}}
    cfn.step(None, None, "respond", state, now=0, put=puts, urls=kept())
    ((_, body),) = puts
    assert body["PhysicalResourceId"] == "failed-7f6e-11aa"
    assert body["Reason"] == "BadRequestError: not json"
    # and its Delete touches nothing
    log: list[str] = []
    delete = {**request("Delete", PhysicalResourceId=body["PhysicalResourceId"])}
    job.on_event(None, None, delete, log.append)
    assert "names no compilation job" in log[0]


@pytest.mark.parametrize(
    "url",
    [
        URL,
        "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/a?s=1",
        "https://cloudformation-custom-resource-response-uswest2.s3.us-west-2.amazonaws.com/a",
        "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/a",
        "https://cloudformation-custom-resource-response-usgovwest1.s3-us-gov-west-1.amazonaws.com/a",
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:443/a",
    ],
)
def test_cloudformations_response_hosts_are_answered(url: str) -> None:
    cfn.check_response_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x", "'http'"),
        ("https://example.com/x", "host 'example.com'"),
        ("https://169.254.169.254/latest/meta-data/", "host '169.254.169.254'"),
        ("https://localhost:9001/x", "host 'localhost' port 9001"),
        (
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.io/x",
            "host 'cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.io'",
        ),
        ("https://cloudformation-custom-resource-response-useast1.s3.evil.com/x", "evil.com"),
        ("https://my-bucket.s3.amazonaws.com/x", "host 'my-bucket.s3.amazonaws.com'"),
        (
            "https://user@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
            "scheme 'https'",
        ),
        (
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/x",
            "port 8443",
        ),
        ("https://[::1/x", "ResponseURL is no URL"),
        ("file:///etc/passwd", "scheme 'file'"),
    ],
)
def test_other_hosts_are_refused_and_nothing_is_sent(url: str, message: str) -> None:
    with pytest.raises(job.BadRequestError, match="ResponseURL") as refused:
        cfn.put_response(url, b"{}")
    assert message in str(refused.value)


def test_the_url_is_kept_aside_and_the_execution_input_carries_none() -> None:
    """Execution input, history and logs never hold the URL that answers CloudFormation."""
    states = client("stepfunctions")
    execution_input = json.dumps({**cfn.without_url(request()), "Deadline": 60})
    assert URL not in execution_input and "ResponseURL" not in execution_input
    with Stubber(states) as stub:
        stub.add_response(
            "start_execution",
            {"executionArn": f"{MACHINE}:7f6e-11aa", "startDate": 0},
            {"stateMachineArn": MACHINE, "name": "7f6e-11aa", "input": execution_input},
        )
        urls = Urls()
        cfn.request(states, urls, MACHINE, request(), now=0, timeout=60, put=Puts())
        stub.assert_no_pending_responses()
    assert urls == {"7f6e-11aa": URL}


def test_response_urls_are_secure_strings_under_the_constructs_path() -> None:
    ssm = client("ssm")
    urls = cfn.ResponseUrls(ssm, ROOT, KEY)
    name = f"{ROOT}/7f6e-11aa"
    with Stubber(ssm) as stub:
        stub.add_response(
            "put_parameter",
            {"Version": 1, "Tier": "Standard"},
            {
                "Name": name,
                "Value": URL,
                "Type": "SecureString",
                "KeyId": KEY,
                "Overwrite": True,
                "Tier": "Intelligent-Tiering",
                "Description": ANY,
            },
        )
        urls.keep("7f6e-11aa", URL)
        stub.add_response(
            "get_parameter",
            {"Parameter": {"Name": name, "Type": "SecureString", "Value": URL}},
            {"Name": name, "WithDecryption": True},
        )
        assert urls.take("7f6e-11aa") == URL
        stub.add_response("delete_parameter", {}, {"Name": name})
        urls.forget("7f6e-11aa")
        # answered already (a retried respond): no URL, nothing to delete
        stub.add_client_error("get_parameter", service_error_code="ParameterNotFound")
        assert urls.take("7f6e-11aa") is None
        stub.add_client_error("delete_parameter", service_error_code="ParameterNotFound")
        urls.forget("7f6e-11aa")
        stub.assert_no_pending_responses()
    assert urls.name("a/b c") == f"{ROOT}/a-b-c"


def test_a_retried_respond_after_the_answer_puts_nothing() -> None:
    puts = Puts()
    state = {**request(), "OnEvent": {"PhysicalResourceId": NAME}, "IsComplete": {"Data": {}}}
    result = cfn.step(None, None, "respond", state, now=0, put=puts, urls=Urls())
    assert result["Answered"] == "before"
    assert puts == []


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(job.BadRequestError, match="unknown action 'explode'"):
        cfn.step(None, None, "explode", request(), now=0, put=Puts(), urls=kept())


def test_entry_point_runs_the_step_its_function_is_for(monkeypatch: pytest.MonkeyPatch) -> None:
    sm = client("sagemaker")
    clients = {"sagemaker": sm, "s3": client("s3"), "ssm": client("ssm")}
    monkeypatch.setattr(index, "_clients", clients)
    monkeypatch.setenv("COMPILATION_STEP", "workflow")
    monkeypatch.setenv("RESPONSE_PARAMETERS", ROOT)
    monkeypatch.setenv("RESPONSE_KEY_ID", KEY)
    with Stubber(sm) as stub:
        lists(stub, (NAME, "INPROGRESS"))
        describes(stub, described(status="INPROGRESS"))
        result = index.handler({"action": "on_event", "event": request()}, None)
        assert result == {"PhysicalResourceId": NAME}
    monkeypatch.setenv("COMPILATION_STEP", "nonsense")
    with pytest.raises(ValueError, match="COMPILATION_STEP must be request or workflow"):
        index.handler(request(), None)


@pytest.mark.parametrize("failing", ["keep", "start"])
def test_a_request_that_cannot_start_the_workflow_answers_failed_once_and_returns(
    monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """Nobody else would answer; raising would make Lambda retry, start it and answer twice."""
    states = client("stepfunctions")
    ssm = client("ssm")
    monkeypatch.setattr(index, "_clients", {"stepfunctions": states, "ssm": ssm})
    monkeypatch.setenv("COMPILATION_STEP", "request")
    monkeypatch.setenv("STATE_MACHINE_ARN", MACHINE)
    monkeypatch.setenv("TIMEOUT_SECONDS", "1500")
    monkeypatch.setenv("RESPONSE_PARAMETERS", ROOT)
    monkeypatch.setenv("RESPONSE_KEY_ID", KEY)
    puts = Puts()
    monkeypatch.setattr(cfn, "put_response", puts)
    with Stubber(states) as states_stub, Stubber(ssm) as ssm_stub:
        if failing == "keep":
            ssm_stub.add_client_error("put_parameter", service_error_code="AccessDeniedException")
        else:
            ssm_stub.add_response("put_parameter", {"Version": 1})
            states_stub.add_client_error(
                "start_execution", service_error_code="AccessDeniedException"
            )
        ssm_stub.add_response("delete_parameter", {}, {"Name": f"{ROOT}/7f6e-11aa"})
        result = index.handler(request(), None)
        ssm_stub.assert_no_pending_responses()
        states_stub.assert_no_pending_responses()
    assert result["Status"] == "FAILED"
    ((url, body),) = puts
    assert url == URL
    assert body["Status"] == "FAILED"
    assert "AccessDenied" in body["Reason"]
