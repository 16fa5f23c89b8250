"""The Lambda entry point and the command line run the same shift against moto."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from cdk_sagemaker_hosting import cli
from cdk_sagemaker_hosting._lambda.traffic_shift import aws, command, index
from cdk_sagemaker_hosting._lambda.traffic_shift.plan import BadRequest

from .conftest import ENDPOINT, REGION, weights_of

DEFAULTS = {
    "endpoint": ENDPOINT,
    "source": "A",
    "target": "B",
    "steps": [50, 100],
    "bake_seconds": 0,
    "poll_seconds": 5,
    "alarms": ["B-errors"],
}


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, sagemaker: Any, cloudwatch: Any) -> Any:
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="shift-outcomes")["TopicArn"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="outcomes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("SHIFT_DEFAULTS", json.dumps(DEFAULTS))
    monkeypatch.setenv("TOPIC_ARN", topic)
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    monkeypatch.setattr(index, "_clients", {})
    return sqs, queue


def test_the_state_machine_path_promotes(lambda_env: Any, sagemaker: Any) -> None:
    sqs, queue = lambda_env
    state = index.handler({"action": "start", "request": {}, "owner": "exec-1"}, None)
    assert state["steps"] == [50, 100]
    for _ in range(2):
        state = index.handler({"action": "apply", "state": state}, None)
        state = index.handler({"action": "apply", "state": state}, None)
        assert state["ready"] is True
        state = index.handler({"action": "check", "state": state}, None)
        assert state["verdict"] == "healthy"
    assert state["done"] is True
    state = index.handler({"action": "finish", "state": state}, None)
    assert state["result"] == "promoted"
    assert weights_of(sagemaker) == {"A": 0.0, "B": 1.0}
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    published = json.loads(json.loads(message["Body"])["Message"])
    assert published["result"] == "promoted"
    assert published["weights"] == {"A": 0.0, "B": 1.0}


def test_execution_input_overrides_the_defaults(lambda_env: Any) -> None:
    state = index.handler(
        {"action": "start", "request": {"steps": [100], "bake_seconds": 5}, "owner": "e"}, None
    )
    assert state["request"]["steps"] == [100]
    assert state["request"]["bake_seconds"] == 5
    assert state["request"]["alarms"] == ["B-errors"]


def test_execution_input_must_fit_the_time_limit_and_history(
    lambda_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIFT_TIMEOUT_SECONDS", "4000")
    index.handler({"action": "start", "request": {}, "owner": "fits"}, None)
    with pytest.raises(BadRequest, match="longer than the state machine's 4000 s time limit"):
        index.handler({"action": "start", "request": {"steps": [25, 50, 100]}, "owner": "e"}, None)
    monkeypatch.setenv("SHIFT_DEFAULTS", json.dumps({**DEFAULTS, "poll_seconds": 1}))
    with pytest.raises(BadRequest, match="may take 3600 polls, more than 2500"):
        index.handler({"action": "start", "request": {}, "owner": "e"}, None)


def test_the_lock_lasts_as_long_as_the_execution_may(
    lambda_env: Any, sagemaker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A time limit longer than the steps' worst case (a slow endpoint's updates) keeps
    the lock until the execution's end: an expired lock is no running shift to the alarm
    function, and another shift may take it over mid-shift."""
    monkeypatch.setenv("SHIFT_TIMEOUT_SECONDS", "86400")  # the worst case is 2 x 1,800 s
    before = time.time()
    state = index.handler({"action": "start", "request": {}, "owner": "exec-1"}, None)
    held = aws.holder(sagemaker, state["arn"])
    assert held is not None and held[1] >= before + 86400 - 1  # whole seconds in the tag


def test_execution_input_cannot_change_the_endpoint_or_alarms(lambda_env: Any) -> None:
    with pytest.raises(BadRequest, match="may set only bake_seconds, steps; not alarms, endpoint"):
        index.handler(
            {"action": "start", "request": {"endpoint": "other", "alarms": []}, "owner": "e"},
            None,
        )


def test_a_stopped_execution_rolls_back(lambda_env: Any, sagemaker: Any) -> None:
    owner = "arn:aws:states:us-east-1:123456789012:execution:shift:exec-2"
    state = index.handler({"action": "start", "request": {}, "owner": owner}, None)
    index.handler({"action": "apply", "state": state}, None)
    assert weights_of(sagemaker) == {"A": 0.5, "B": 0.5}
    event = {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": owner, "name": "exec-2", "status": "ABORTED", "input": "{}"},
    }
    assert index.handler(event, Context())["result"] == "rolled_back"
    assert weights_of(sagemaker) == {"A": 0.9, "B": 0.1}
    arn = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    assert aws.holder(sagemaker, arn) is None
    # a second delivery of the same event finds nothing to do
    assert index.handler(event, Context())["result"] is None


def test_an_unknown_action_is_an_error(lambda_env: Any) -> None:
    with pytest.raises(ValueError, match="unknown action 'jump'"):
        index.handler({"action": "jump"}, None)


def run_cli(
    capsys: pytest.CaptureFixture[str], clients: dict[str, Any], *argv: str
) -> tuple[int, dict[str, Any], str]:
    args = cli.build_parser().parse_args(["shift", *argv])
    code = command.run(args, clients=clients)
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    return code, json.loads(lines[-1]), out.out + out.err


def test_cli_promotes_and_prints_progress(
    sagemaker: Any, cloudwatch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = {"sagemaker": sagemaker, "cloudwatch": cloudwatch}
    code, summary, output = run_cli(
        capsys,
        clients,
        *("--endpoint", ENDPOINT, "--from", "A", "--to", "B", "--steps", "10,50,100"),
        *("--bake-seconds", "0", "--poll-seconds", "1", "--alarm", "B-errors"),
    )
    assert code == 0
    assert summary == {"result": "promoted", "weights": {"A": 0.0, "B": 1.0}}
    assert "step 1/2 (50%): A=0.5 B=0.5" in output
    assert "step 2/2 (100%): A=0 B=1" in output


def test_cli_exits_3_on_rollback(
    sagemaker: Any, cloudwatch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudwatch.set_alarm_state(AlarmName="B-errors", StateValue="ALARM", StateReason="test")
    clients = {"sagemaker": sagemaker, "cloudwatch": cloudwatch}
    code, summary, _ = run_cli(
        capsys,
        clients,
        *("--endpoint", ENDPOINT, "--from", "A", "--to", "B", "--steps", "50,100"),
        *("--bake-seconds", "0", "--poll-seconds", "1", "--alarm", "B-errors"),
    )
    assert code == 3
    assert summary == {"result": "rolled_back", "weights": {"A": 0.9, "B": 0.1}}


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["--endpoint", "missing", "--from", "A", "--to", "B"],
            "endpoint 'missing' does not exist",
        ),
        (
            ["--endpoint", ENDPOINT, "--from", "A", "--to", "Z"],
            "target='Z' is invalid: must be a production variant of the endpoint: A, B",
        ),
        (
            ["--endpoint", ENDPOINT, "--from", "A", "--to", "A"],
            "target='A' is invalid: must differ from the source variant",
        ),
        (
            ["--endpoint", ENDPOINT, "--from", "A", "--to", "B", "--bake-seconds", "10"],
            "poll_seconds=30 is invalid: must be at most the bake time (10 s)",
        ),
        (["--endpoint", ENDPOINT, "--from", "A", "--to", "B", "--steps", "50,10"], "strictly"),
        (
            ["--endpoint", ENDPOINT, "--from", "A", "--to", "B", "--steps", "x"],
            "request is invalid",
        ),
    ],
)
def test_cli_exits_2_on_bad_input(
    sagemaker: Any,
    cloudwatch: Any,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    error: str,
) -> None:
    clients = {"sagemaker": sagemaker, "cloudwatch": cloudwatch}
    code, summary, output = run_cli(capsys, clients, *argv)
    assert code == 2
    assert summary["result"] == "refused"
    assert error in summary["error"]
    assert "refused: " in output
    assert weights_of(sagemaker) == {"A": 0.9, "B": 0.1}


def test_cli_main_parses_the_shift_command() -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["shift", "--endpoint", "x"])
    assert exit_.value.code == 2


def test_the_command_line_starts_without_the_cdk() -> None:
    import subprocess
    import sys

    check = (
        "import sys, cdk_sagemaker_hosting.cli as c; c.build_parser(); "
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules, sorted(sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_rollback_after_an_error_says_what_failed(lambda_env: Any, sagemaker: Any) -> None:
    state = index.handler({"action": "start", "request": {}, "owner": "exec-3"}, None)
    state = index.handler({"action": "apply", "state": state}, None)
    cause = json.dumps(
        {"errorType": "ClientError", "errorMessage": "AccessDenied", "stackTrace": ["..."]}
    )
    error = {"Error": "ClientError", "Cause": cause}
    state = index.handler({"action": "rollback", "state": state, "error": error}, None)
    assert state["reason"] == "ClientError: AccessDenied"
    assert weights_of(sagemaker) == {"A": 0.9, "B": 0.1}


def test_cli_interrupted_before_the_shift_begins_still_prints_its_summary(
    sagemaker: Any, cloudwatch: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    def interrupt(*_: Any, **__: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(sagemaker, "describe_endpoint", interrupt)
    clients = {"sagemaker": sagemaker, "cloudwatch": cloudwatch}
    code, summary, _ = run_cli(capsys, clients, "--endpoint", ENDPOINT, "--from", "A", "--to", "B")
    assert (code, summary) == (130, {"result": "interrupted"})
