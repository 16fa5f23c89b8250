"""Items 3 and the faults: the pipeline's jobs and state changes, end to end over fakes.

A small simulator plays CodePipeline: each execution runs its stages in
order (Verify, a deploy that sets the stage's version, Check with its
continuation tokens), and sends the stage and execution state changes the
rule forwards. The registry and the pipeline's API are fakes with the
APIs' shapes (``tests/registry/test_handler.py``), SSM is moto's. Every
scenario ends in a known state: the record, the deployed record, each
stage's version and the version's metadata are asserted.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from cdk_sagemaker_hosting._lambda.registry import core

from tests.registry.test_handler import ARTIFACTS, GROUP_ARN, PARAMETER, Registry, arn, event

DEPLOYED = "/cdk-sagemaker-hosting/churn/deployed-version"
CONFIG = core.Config(
    group_arn=GROUP_ARN,
    parameter_name=PARAMETER,
    artifacts_url=ARTIFACTS,
    pipeline_name="churn-release",
    pipeline_variable="ModelPackageArn",
    deployed_parameter=DEPLOYED,
)
STAGES = {
    "Staging": {"endpoint": "churn-staging", "bake_seconds": 1800, "alarms": ["staging-errors"]},
    "Production": {"bake_seconds": 3600, "alarms": ["prod-errors", "prod-shift-failed"]},
}
ROLE = "arn:aws:iam::444444444444:role/churn-promotion-check"


def meta(registry: Registry, version: int) -> dict[str, str]:
    return {
        k.removeprefix(core.PREFIX): v
        for k, v in registry.metadata(version).items()
        if k.startswith(core.PREFIX)
    }


class Endpoint:
    """SageMaker Runtime of one stage: answers with the version it runs, or fails."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.broken: set[str] = set()
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.version in self.broken:
            raise ClientError(
                {"Error": {"Code": "ModelError", "Message": "500 from the container"}},
                "InvokeEndpoint",
            )
        body = json.dumps({"probability": 0.3, "version": self.version}).encode()
        return {"Body": io.BytesIO(body), "ContentType": "application/json"}


class Alarms:
    """CloudWatch's DescribeAlarms over alarms whose state the test sets."""

    def __init__(self, names: list[str]) -> None:
        self.states = dict.fromkeys(names, "OK")
        #: (name, state, from this clock time): an alarm that fires during the bake.
        self.fires: list[tuple[str, float]] = []
        self.clock: Clock | None = None

    def describe_alarms(self, AlarmNames: list[str], AlarmTypes: list[str]) -> dict[str, Any]:  # noqa: N803
        assert AlarmTypes == ["MetricAlarm", "CompositeAlarm"]
        assert self.clock is not None
        for name, at in self.fires:
            if self.clock.now >= at:
                self.states[name] = "ALARM"
        return {
            "MetricAlarms": [
                {"AlarmName": n, "StateValue": self.states[n]}
                for n in AlarmNames
                if n in self.states
            ],
            "CompositeAlarms": [],
        }


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Pipeline:
    """CodePipeline: executions pinned by their variable, jobs' results, state changes."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.executions: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.results: list[tuple[str, str, Any]] = []

    # The API the handler calls.
    def start_pipeline_execution(
        self,
        name: str,
        clientRequestToken: str,  # noqa: N803
        variables: list[dict[str, str]],
    ) -> dict[str, str]:
        assert name == "churn-release"
        if clientRequestToken in self.tokens:
            return {"pipelineExecutionId": self.tokens[clientRequestToken]}
        execution = f"exec-{len(self.executions) + 1}"
        self.tokens[clientRequestToken] = execution
        (variable,) = variables
        assert variable["name"] == "ModelPackageArn"
        self.executions[execution] = {"version": variable["value"], "state": "InProgress"}
        return {"pipelineExecutionId": execution}

    def get_pipeline_execution(self, pipelineName: str, pipelineExecutionId: str) -> dict[str, Any]:  # noqa: N803
        version = self.executions[pipelineExecutionId]["version"]
        return {
            "pipelineExecution": {
                "variables": [{"name": "ModelPackageArn", "resolvedValue": version}]
            }
        }

    def put_job_success_result(self, jobId: str, continuationToken: str | None = None) -> None:  # noqa: N803
        self.results.append((jobId, "success", continuationToken))

    def put_job_failure_result(self, jobId: str, failureDetails: dict[str, str]) -> None:  # noqa: N803
        assert failureDetails["type"] == "JobFailed"
        self.results.append((jobId, "failure", failureDetails["message"]))

    # The service's side: run an execution's stages from ``start`` on.
    def run(self, execution: str, stages: list[str] | None = None) -> str:
        """Run the stages (default: all); the execution's state at the end."""
        record = self.executions[execution]
        for stage in stages or list(STAGES):
            if not self._job(execution, stage, {"action": "verify"}):
                return self._fail(execution, stage)
            self.world.deploy(stage, record["version"])
            params = {"action": "check", "poll_seconds": 60, **STAGES[stage]}
            if stage == "Staging":
                params |= {"payload": '{"tenure": 3}', "expect": "probability", "role_arn": ROLE}
            if not self._job(execution, stage, params):
                return self._fail(execution, stage)
        if stages is None or stages[-1] == list(STAGES)[-1]:
            record["state"] = "Succeeded"
            self.world.pipeline_event(core.EXECUTION_CHANGE, execution, "SUCCEEDED")
        return str(record["state"])

    def _job(self, execution: str, stage: str, params: dict[str, Any]) -> bool:
        token = None
        while True:
            job = f"job-{len(self.results) + 1}"
            user = {"stage": stage, "version": self.executions[execution]["version"], **params}
            data: dict[str, Any] = {
                "actionConfiguration": {"configuration": {"UserParameters": json.dumps(user)}}
            }
            if token:
                data["continuationToken"] = token
            self.world.job({"CodePipeline.job": {"id": job, "data": data}})
            (_, result, detail) = self.results[-1]
            if result == "failure":
                return False
            if detail is None:
                return True
            token = detail

    def _fail(self, execution: str, stage: str) -> str:
        self.executions[execution]["state"] = "Failed"
        self.world.pipeline_event(core.STAGE_CHANGE, execution, "FAILED", stage)
        return "Failed"


class World:
    def __init__(self, ssm: Any) -> None:
        self.registry = Registry()
        self.ssm = ssm
        self.clock = Clock()
        self.pipeline = Pipeline(self)
        self.endpoints = {stage: Endpoint() for stage in STAGES}
        self.alarms = Alarms(["staging-errors", "prod-errors", "prod-shift-failed"])
        self.alarms.clock = self.clock
        self.published: list[dict[str, Any]] = []
        self.assumed: list[str | None] = []

    def deploy(self, stage: str, version: str) -> None:
        self.endpoints[stage].version = version

    def stage_clients(self, role: str | None) -> tuple[Any, Any]:
        self.assumed.append(role)
        stage = "Staging" if role == ROLE else "Production"
        return self.endpoints[stage], self.alarms

    def approve(self, version: int, status: str = "Approved") -> dict[str, Any]:
        return core.on_state_change(
            event(version, status),
            sagemaker=self.registry,
            ssm=self.ssm,
            codepipeline=self.pipeline,
            config=CONFIG,
            now=lambda: self.clock.now,
            publish=self.published.append,
        )

    def job(self, evt: dict[str, Any]) -> dict[str, Any]:
        return core.on_job(
            evt,
            codepipeline=self.pipeline,
            sagemaker=self.registry,
            ssm=self.ssm,
            stage_clients=self.stage_clients,
            config=CONFIG,
            now=lambda: self.clock.now,
            sleep=self.clock.sleep,
            publish=self.published.append,
        )

    def pipeline_event(
        self, detail_type: str, execution: str, state: str, stage: str | None = None
    ) -> dict[str, Any]:
        detail = {"pipeline": "churn-release", "execution-id": execution, "state": state}
        if stage:
            detail["stage"] = stage
        return core.on_pipeline_event(
            {"source": "aws.codepipeline", "detail-type": detail_type, "detail": detail},
            codepipeline=self.pipeline,
            sagemaker=self.registry,
            ssm=self.ssm,
            config=CONFIG,
            now=lambda: self.clock.now,
            publish=self.published.append,
        )

    def record(self) -> str | None:
        return core.recorded(self.ssm, CONFIG)

    def deployed(self) -> str | None:
        return core.recorded(self.ssm, CONFIG, DEPLOYED)

    def running(self) -> dict[str, str | None]:
        return {stage: e.version for stage, e in self.endpoints.items()}


@pytest.fixture
def world() -> Any:
    with moto.mock_aws():
        yield World(boto3.client("ssm", region_name="us-east-1"))


def deployed_v1(world: World) -> None:
    """Version 1 approved and rolled out everywhere."""
    world.registry.add("Approved")
    outcome = world.approve(1)
    assert world.pipeline.run(outcome["execution"]) == "Succeeded"
    assert world.running() == {"Staging": arn(1), "Production": arn(1)}


def test_an_approval_goes_through_every_stage_and_says_so(world: World) -> None:
    deployed_v1(world)
    assert world.record() == world.deployed() == arn(1)
    assert meta(world.registry, 1) | {"recorded-at": "-", "deployed-at": "-"} == {
        "rollout": "deployed",
        "recorded-at": "-",
        "deployed-at": "-",
        "reason": f"{arn(1)} is the newest approved version",
        "pipeline-execution": "exec-1",
        "pipeline-token": "churn-1-after-r0",
        "Staging": "passed",
        "Staging-reason": "baked 1800 s: none of staging-errors in ALARM",
        "Production": "passed",
        "Production-reason": "baked 3600 s: none of prod-errors prod-shift-failed in ALARM",
    }
    # The smoke test invoked staging through the stage's role, with the payload.
    (call,) = world.endpoints["Staging"].calls
    assert call == {
        "EndpointName": "churn-staging",
        "Body": b'{"tenure": 3}',
        "ContentType": "application/json",
    }
    assert ROLE in world.assumed
    # The bake read the alarms once a minute for 30 + 60 minutes.
    assert world.clock.now == 1_800_000_000.0 + 1800 + 3600
    assert [p["result"] for p in world.published] == ["started", "passed", "passed", "deployed"]


def test_fault_an_approved_version_whose_artifacts_the_accounts_cannot_read(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved", url="s3://someone-elses-bucket/churn/2/model.tar.gz")
    outcome = world.approve(2)
    assert outcome["result"] == "refused" and len(world.pipeline.executions) == 1
    assert world.record() == world.deployed() == arn(1)
    assert world.running() == {"Staging": arn(1), "Production": arn(1)}
    assert meta(world.registry, 2)["rollout"] == "refused"
    # A later event (another version rejected, say) does not try it again.
    world.registry.add("Rejected")
    assert world.approve(3, "Rejected")["result"] == "unchanged"
    assert meta(world.registry, 2)["rollout"] == "refused"


def test_fault_a_failed_smoke_test_stops_before_production(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    world.endpoints["Staging"].broken.add(arn(2))
    outcome = world.approve(2)
    assert world.pipeline.run(outcome["execution"]) == "Failed"
    # Production never saw version 2; the record is back on what every stage ran.
    assert world.running() == {"Staging": arn(2), "Production": arn(1)}
    assert world.record() == world.deployed() == arn(1)
    metadata = meta(world.registry, 2)
    assert metadata["Staging"] == "failed" and "Production" not in metadata
    assert metadata["Staging-reason"].startswith("smoke test of churn-staging failed: ModelError")
    assert metadata["rollout"] == "failed"
    assert world.published[-1]["record"] == {"restored": arn(1), "was": arn(2)}
    # The failed version is not picked again by an event; promote --version retries it.
    world.registry.add("Rejected")
    assert world.approve(3, "Rejected")["result"] == "unchanged"
    assert world.record() == arn(1)


def test_fault_a_traffic_shift_rolled_back_in_production(world: World) -> None:
    """The production deploy adds the version as a challenger; TrafficShift rolls it back.

    The shift restores the weights itself and raises its ``FailedAlarm``,
    one of the production stage's ``alarm_names``: the bake sees it, the
    stage fails, and the record returns to the version production serves.
    """
    deployed_v1(world)
    world.registry.add("Approved")
    outcome = world.approve(2)
    # 20 minutes into production's bake (after staging's 30), the shift rolls back.
    world.alarms.fires.append(("prod-shift-failed", world.clock.now + 1800 + 1200))
    assert world.pipeline.run(outcome["execution"]) == "Failed"
    metadata = meta(world.registry, 2)
    assert metadata["Staging"] == "passed"
    assert metadata["Production"] == "failed"
    assert (
        metadata["Production-reason"]
        == "bake of stage Production: alarms prod-shift-failed in ALARM"
    )
    assert metadata["rollout"] == "failed"
    assert world.record() == world.deployed() == arn(1)
    # The bake stopped at the first poll after the alarm, not at its end.
    assert world.clock.now == 1_800_000_000.0 + 5400 + 1800 + 1200


def test_fault_a_second_approval_while_a_rollout_runs(world: World) -> None:
    """Version 3 is approved while version 2 bakes in staging.

    Version 2's execution stops at production's Verify (superseded: the
    record names 3), so production never runs a version older than the
    record; version 3 goes through every stage. Nothing is lost: version 2
    says why it stopped.
    """
    deployed_v1(world)
    world.registry.add("Approved")
    second = world.approve(2)["execution"]
    assert world.pipeline.run(second, ["Staging"]) == "InProgress"
    world.registry.add("Approved")
    third = world.approve(3)["execution"]
    assert world.record() == arn(3) and third != second
    # Version 2's execution goes on to production, where Verify stops it.
    assert world.pipeline.run(second, ["Production"]) == "Failed"
    assert world.running()["Production"] == arn(1)
    metadata = meta(world.registry, 2)
    assert metadata["rollout"] == "superseded" and "record moved on to" in metadata["reason"]
    assert world.published[-1]["result"] == "superseded"
    assert world.record() == arn(3)
    assert world.pipeline.run(third) == "Succeeded"
    assert world.running() == {"Staging": arn(3), "Production": arn(3)}
    assert world.deployed() == arn(3) and meta(world.registry, 3)["rollout"] == "deployed"


def test_fault_a_rejected_version_falls_back_to_the_newest_approved(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    assert world.pipeline.run(world.approve(2)["execution"]) == "Succeeded"
    assert world.running() == {"Staging": arn(2), "Production": arn(2)}
    world.registry.set(2, "Rejected")
    outcome = world.approve(2, "Rejected")
    assert outcome["result"] == "started" and world.record() == arn(1)
    # Moving back is a new execution (its own token), pinned to version 1.
    assert outcome["execution"] == "exec-3"
    assert world.pipeline.run(outcome["execution"]) == "Succeeded"
    assert world.running() == {"Staging": arn(1), "Production": arn(1)}
    assert world.deployed() == arn(1)


def test_a_rejection_during_the_rollout_stops_it_at_the_next_stage(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    execution = world.approve(2)["execution"]
    world.pipeline.run(execution, ["Staging"])
    world.registry.set(2, "Rejected")
    assert world.pipeline.run(execution, ["Production"]) == "Failed"
    assert world.running()["Production"] == arn(1)
    assert meta(world.registry, 2)["rollout"] == "superseded"
    assert "is Rejected" in meta(world.registry, 2)["reason"]


def test_a_missing_gating_alarm_fails_the_bake(world: World) -> None:
    world.alarms.states.pop("prod-errors")
    world.registry.add("Approved")
    assert world.pipeline.run(world.approve(1)["execution"]) == "Failed"
    assert "prod-errors do not exist" in meta(world.registry, 1)["Production-reason"]


def test_a_job_that_raises_is_reported_to_codepipeline(world: World) -> None:
    world.registry.add("Approved")
    world.approve(1)

    def broken(_: str | None) -> tuple[Any, Any]:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    job = {
        "CodePipeline.job": {
            "id": "job-x",
            "data": {
                "actionConfiguration": {
                    "configuration": {
                        "UserParameters": json.dumps(
                            {"action": "check", "stage": "Staging", "version": arn(1)}
                        )
                    }
                }
            },
        }
    }
    outcome = core.on_job(
        job,
        codepipeline=world.pipeline,
        sagemaker=world.registry,
        ssm=world.ssm,
        stage_clients=broken,
        config=CONFIG,
        now=lambda: 0.0,
        sleep=lambda _: None,
    )
    assert outcome["result"] == "failed"
    assert world.pipeline.results[-1] == (
        "job-x",
        "failure",
        "the check job failed: AccessDenied: no",
    )


def test_a_manual_start_without_the_variable_is_refused(world: World) -> None:
    world.registry.add("Approved")
    world.approve(1)
    job = {
        "CodePipeline.job": {
            "id": "job-y",
            "data": {
                "actionConfiguration": {
                    "configuration": {
                        "UserParameters": json.dumps(
                            {"action": "verify", "stage": "Staging", "version": "latest"}
                        )
                    }
                }
            },
        }
    }
    world.job(job)
    assert world.pipeline.results[-1][1] == "failure"
    assert "not a version ARN" in world.pipeline.results[-1][2]


def test_events_of_another_pipeline_are_refused(world: World) -> None:
    with pytest.raises(core.ForeignEventError, match="pipeline 'other'"):
        core.on_pipeline_event(
            {
                "source": "aws.codepipeline",
                "detail-type": core.STAGE_CHANGE,
                "detail": {"pipeline": "other", "execution-id": "e", "state": "FAILED"},
            },
            codepipeline=world.pipeline,
            sagemaker=world.registry,
            ssm=world.ssm,
            config=CONFIG,
            now=lambda: 0.0,
        )


def test_a_rollout_that_fails_while_an_older_one_finishes_production(world: World) -> None:
    """Version 2 is past production's Verify when 3 is approved; 3 fails in staging.

    The failure puts the record back on the deployed version (1); version 2
    then finishes production, becomes the deployed version, and the record
    follows it: record, deployed record and production agree again.
    """
    deployed_v1(world)
    world.registry.add("Approved")
    second = world.approve(2)["execution"]
    world.pipeline.run(second, ["Staging"])
    assert world.pipeline._job(second, "Production", {"action": "verify"})
    world.registry.add("Approved")
    world.endpoints["Staging"].broken.add(arn(3))
    third = world.approve(3)["execution"]
    assert world.pipeline.run(third) == "Failed"
    assert world.record() == arn(1) and meta(world.registry, 3)["rollout"] == "failed"
    # Version 2 finishes production (deploy, check) and the execution succeeds.
    world.deploy("Production", arn(2))
    params = {"action": "check", "poll_seconds": 60, **STAGES["Production"]}
    assert world.pipeline._job(second, "Production", params)
    outcome = world.pipeline_event(core.EXECUTION_CHANGE, second, "SUCCEEDED")
    assert outcome["record"] == {"restored": arn(2), "was": arn(1)}
    assert world.record() == world.deployed() == world.running()["Production"] == arn(2)


def test_a_version_rejected_while_it_finishes_production_does_not_take_the_record(
    world: World,
) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    second = world.approve(2)["execution"]
    world.pipeline.run(second, ["Staging"])
    assert world.pipeline._job(second, "Production", {"action": "verify"})
    world.registry.set(2, "Rejected")
    back = world.approve(2, "Rejected")
    assert world.record() == arn(1)
    world.deploy("Production", arn(2))
    outcome = world.pipeline_event(core.EXECUTION_CHANGE, second, "SUCCEEDED")
    assert outcome["record"] == {"kept": arn(1)}
    # The execution the rejection started puts version 1 back everywhere.
    assert world.pipeline.run(back["execution"]) == "Succeeded"
    assert world.running() == {"Staging": arn(1), "Production": arn(1)}
    assert world.record() == world.deployed() == arn(1)


def test_a_source_stage_failure_stops_the_rollout_but_keeps_the_version(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    execution = world.approve(2)["execution"]
    outcome = world.pipeline_event(core.STAGE_CHANGE, execution, "FAILED", "Source")
    assert outcome["result"] == "stopped"
    assert meta(world.registry, 2)["rollout"] == "stopped"
    # Not the version's fault: the record keeps it and it is picked again.
    assert world.record() == arn(2)
    assert core.newest_approved(world.registry, CONFIG) == arn(2)
    # An event names nothing new (the record is already 2): promote starts it again.
    assert world.approve(2)["result"] == "unchanged"
    again = core.promote(
        version=None,
        sagemaker=world.registry,
        ssm=world.ssm,
        codepipeline=world.pipeline,
        config=CONFIG,
        now=lambda: world.clock.now,
    )
    assert again["result"] == "started" and again["execution"] != execution
    assert world.pipeline.run(again["execution"]) == "Succeeded"
    assert world.running() == {"Staging": arn(2), "Production": arn(2)}


def test_a_failed_deploy_says_so_on_the_version(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    execution = world.approve(2)["execution"]
    assert world.pipeline._job(execution, "Staging", {"action": "verify"})
    # CodeBuild's cdk deploy fails (CloudFormation rolled the stack back).
    world.pipeline._fail(execution, "Staging")
    metadata = meta(world.registry, 2)
    assert metadata["Staging"] == "failed" and "execution exec-2" in metadata["Staging-reason"]
    assert world.record() == arn(1)


def test_the_entry_point_dispatches_on_the_events_shape(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cdk_sagemaker_hosting._lambda.registry import index

    env = {
        "GROUP_ARN": GROUP_ARN,
        "PARAMETER_NAME": PARAMETER,
        "DEPLOYED_PARAMETER_NAME": DEPLOYED,
        "ARTIFACTS_URL": ARTIFACTS,
        "PIPELINE_NAME": "churn-release",
        "PIPELINE_VARIABLE": "ModelPackageArn",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        index,
        "_clients",
        {
            "sagemaker": world.registry,
            "ssm": world.ssm,
            "codepipeline": world.pipeline,
            "sagemaker-runtime": world.endpoints["Production"],
            "cloudwatch": world.alarms,
        },
    )
    world.registry.add("Approved")
    started = index.handler(event(1, "Approved"), None)
    assert started["result"] == "started"
    user = {"action": "verify", "stage": "Staging", "version": arn(1)}
    job = {
        "CodePipeline.job": {
            "id": "job-1",
            "data": {
                "actionConfiguration": {"configuration": {"UserParameters": json.dumps(user)}}
            },
        }
    }
    assert index.handler(job, None)["result"] == "verified"
    assert world.pipeline.results[-1] == ("job-1", "success", None)
    change = {
        "source": "aws.codepipeline",
        "detail-type": core.EXECUTION_CHANGE,
        "detail": {
            "pipeline": "churn-release",
            "execution-id": started["execution"],
            "state": "SUCCEEDED",
        },
    }
    assert index.handler(change, None)["result"] == "deployed"
    assert world.deployed() == arn(1)


def test_a_version_rejected_then_approved_again_is_deployed_again(world: World) -> None:
    """2 deployed, rejected (back to 1), approved again: the same move 1 -> 2 a second time.

    Its execution is a new one: a token derived from the move alone (2 from
    1) is the first execution's, which CodePipeline would answer with the
    old execution and start nothing, leaving the record on 2 and every
    stage on 1.
    """
    deployed_v1(world)
    world.registry.add("Approved")
    first = world.approve(2)["execution"]
    assert world.pipeline.run(first) == "Succeeded"
    world.registry.set(2, "Rejected")
    back = world.approve(2, "Rejected")["execution"]
    assert world.pipeline.run(back) == "Succeeded"
    assert world.running() == {"Staging": arn(1), "Production": arn(1)}
    world.registry.set(2, "Approved")
    again = world.approve(2)
    assert again["result"] == "started" and again["execution"] not in {first, back}
    assert world.pipeline.run(again["execution"]) == "Succeeded"
    assert world.running() == {"Staging": arn(2), "Production": arn(2)}
    assert world.record() == world.deployed() == arn(2)
    # A duplicate of that approval event still starts nothing new.
    assert world.approve(2)["result"] == "unchanged"
    assert len(world.pipeline.executions) == 4


def test_a_failed_rollback_never_records_a_rejected_version(world: World) -> None:
    """3 finishes production after its rejection; the rollback run for 2 then fails.

    The deployed record names 3 (production runs it) but 3 is rejected: the
    record is never put back on it. It goes to the newest approved version
    that once went through every stage (1), not 2, whose rollback failed.
    """
    deployed_v1(world)
    world.registry.add("Approved")
    assert world.pipeline.run(world.approve(2)["execution"]) == "Succeeded"
    world.registry.add("Approved")
    third = world.approve(3)["execution"]
    world.pipeline.run(third, ["Staging"])
    assert world.pipeline._job(third, "Production", {"action": "verify"})
    world.registry.set(3, "Rejected")
    back = world.approve(3, "Rejected")
    assert world.record() == arn(2)
    world.deploy("Production", arn(3))
    world.pipeline_event(core.EXECUTION_CHANGE, third, "SUCCEEDED")
    assert world.deployed() == arn(3) and world.record() == arn(2)
    world.endpoints["Staging"].broken.add(arn(2))
    assert world.pipeline.run(back["execution"]) == "Failed"
    record = world.published[-1]["record"]
    assert record["restored"] == arn(1) and record["was"] == arn(2)
    assert f"{arn(3)} is Rejected" in record["reason"]
    assert world.record() == arn(1)
    assert world.registry.versions[1]["ModelApprovalStatus"] == "Approved"


def test_a_failed_rollback_with_nothing_proven_to_go_back_to_keeps_the_record(
    world: World,
) -> None:
    """As above with only one earlier version: the record keeps the approved one, never 2."""
    deployed_v1(world)
    world.registry.add("Approved")
    second = world.approve(2)["execution"]
    world.pipeline.run(second, ["Staging"])
    assert world.pipeline._job(second, "Production", {"action": "verify"})
    world.registry.set(2, "Rejected")
    back = world.approve(2, "Rejected")
    world.deploy("Production", arn(2))
    world.pipeline_event(core.EXECUTION_CHANGE, second, "SUCCEEDED")
    assert world.deployed() == arn(2)
    world.endpoints["Staging"].broken.add(arn(1))
    assert world.pipeline.run(back["execution"]) == "Failed"
    record = world.published[-1]["record"]
    assert record["kept"] == arn(1) and f"{arn(2)} is Rejected" in record["reason"]
    assert world.record() == arn(1)


@pytest.mark.parametrize("state", ["STOPPED", "CANCELED"])
def test_an_execution_stopped_by_hand_puts_the_record_back(world: World, state: str) -> None:
    """A person stops version 2's execution after staging (or an update of the pipeline cancels it).

    Version 2 never went through every stage: the record goes back to the
    deployed version, so a deploy reading the record ships what production
    runs; the version says why (``rollout=interrupted``) and no event picks
    it again (its own write-back is a state change of the group); promote
    --version starts it again.
    """
    deployed_v1(world)
    world.registry.add("Approved")
    execution = world.approve(2)["execution"]
    world.pipeline.run(execution, ["Staging"])
    outcome = world.pipeline_event(core.EXECUTION_CHANGE, execution, state)
    assert outcome["result"] == "interrupted"
    assert outcome["record"] == {"restored": arn(1), "was": arn(2)}
    assert world.record() == world.deployed() == arn(1)
    metadata = meta(world.registry, 2)
    assert metadata["rollout"] == "interrupted"
    assert metadata["reason"].startswith(f"the execution was {state.lower()} at ")
    assert world.published[-1]["result"] == "interrupted"
    assert world.approve(2)["result"] == "unchanged"
    assert world.record() == arn(1)
    again = core.promote(
        version=2,
        sagemaker=world.registry,
        ssm=world.ssm,
        codepipeline=world.pipeline,
        config=CONFIG,
        now=lambda: world.clock.now,
    )
    assert world.pipeline.run(again["execution"]) == "Succeeded"
    assert world.record() == world.deployed() == arn(2)


def test_an_execution_stopped_after_a_newer_approval_leaves_the_record(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    second = world.approve(2)["execution"]
    world.pipeline.run(second, ["Staging"])
    world.registry.add("Approved")
    world.approve(3)
    outcome = world.pipeline_event(core.EXECUTION_CHANGE, second, "STOPPED")
    assert outcome["record"]["kept"] == arn(3)
    assert world.record() == arn(3) and meta(world.registry, 2)["rollout"] == "interrupted"


def test_a_superseded_execution_leaves_the_record_to_the_newer_one(world: World) -> None:
    deployed_v1(world)
    world.registry.add("Approved")
    second = world.approve(2)["execution"]
    world.pipeline.run(second, ["Staging"])
    world.registry.add("Approved")
    world.approve(3)
    outcome = world.pipeline_event(core.EXECUTION_CHANGE, second, "SUPERSEDED")
    assert outcome["result"] == "superseded" and "record" not in outcome
    assert world.record() == arn(3) and meta(world.registry, 2)["rollout"] == "superseded"


def test_the_first_rollout_stopped_by_hand_keeps_the_record(world: World) -> None:
    """Nothing went through every stage before: an endpoint is never left without a version."""
    world.registry.add("Approved")
    execution = world.approve(1)["execution"]
    outcome = world.pipeline_event(core.EXECUTION_CHANGE, execution, "STOPPED")
    assert outcome["record"]["kept"] == arn(1)
    assert world.record() == arn(1) and world.deployed() is None
