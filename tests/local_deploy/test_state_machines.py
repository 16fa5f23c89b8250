"""The deployed state machines, executed by moto's ASL interpreter against the real handlers.

Each definition runs exactly as synthesised (moto's server with the fixes of
scripts/moto_server.py, `stepfunctions.execute_state_machine` on); Lambda
tasks run the functions' own packages. What the emulator cannot run is
stood in for by scripts/local_deploy.py and named in its summary.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts import local_deploy

pytestmark = pytest.mark.emulator

ENDPOINT = local_deploy.SHIFT_ENDPOINT
HALF = {"Champion": 50.0, "Challenger": 50.0}


@pytest.fixture(scope="module")
def shifts(deployed: dict[str, Any]) -> dict[str, Any]:
    emulator = deployed["emulator"]
    local_deploy.set_weights(emulator, ENDPOINT, HALF)
    return local_deploy.shift_executions(emulator, ENDPOINT)


def test_an_alarm_mid_bake_rolls_the_shift_back(shifts: dict[str, Any]) -> None:
    run = shifts["executions"]["rolled back on an alarm"]
    assert (run["status"], run["error"]) == ("FAILED", "RolledBack")
    assert "in ALARM" in run["cause"]
    path = run["path"]
    assert path[:4] == ["Start", "AlreadyPromoted", "Apply", "WeightsInPlace"]
    assert "Bake" in path
    assert "RollBack" in path
    assert path[-3:] == ["Finish", "Outcome", "RolledBack"]
    assert run["weights"] == HALF


def test_the_alarm_rule_rolls_the_shift_back_on_the_alarms_event(shifts: dict[str, Any]) -> None:
    run = shifts["executions"]["rolled back by the alarm rule"]
    rule = run["alarm_rule"]
    assert "AlarmRule" in rule["rule"]
    assert rule["error"] is None
    # The function, not the state machine's check, rolled back: weights restored on its return.
    assert rule["answer"]["result"] == "rolled_back"
    assert rule["answer"]["owner"] == run["arn"]
    assert run["weights_after_function"] == HALF
    assert (run["status"], run["error"]) == ("FAILED", "RolledBack")
    assert run["path"][-1] == "RolledBack"
    assert run["cause"] == rule["answer"]["reason"]  # the function's mark ended the execution
    assert run["weights"] == HALF
    assert "alarm-event" in local_deploy.STAND_INS


def test_a_stopped_shift_is_rolled_back_by_the_abort_rule(shifts: dict[str, Any]) -> None:
    run = shifts["executions"]["aborted"]
    assert run["status"] == "ABORTED"
    assert "Bake" in run["path"]
    assert run["weights_when_stopped"] == {"Champion": 25.0, "Challenger": 75.0}
    rule = run["abort_rule"]
    assert "PromoteChallengerAbortRule" in rule["rule"]
    assert rule["error"] is None
    assert rule["answer"]["result"] == "rolled_back"
    assert run["weights"] == HALF


def test_a_healthy_shift_promotes_the_challenger(shifts: dict[str, Any]) -> None:
    run = shifts["executions"]["promoted"]
    assert (run["status"], run["error"]) == ("SUCCEEDED", None)
    assert run["path"][0] == "Start"
    assert run["path"][-3:] == ["Finish", "Outcome", "Promoted"]
    assert run["path"].count("Check") >= 2  # baked: judged "wait", then "healthy"
    assert run["weights"] == {"Champion": 0.0, "Challenger": 100.0}
    assert run["output"]["state"]["result"] == "promoted"


def test_the_summary_shows_current_beside_initial_weights(deployed: dict[str, Any]) -> None:
    endpoints = local_deploy.summarize_endpoints(deployed["emulator"])
    variants = endpoints[ENDPOINT]["variants"]
    assert {n: (v["initial_weight"], v["initial_instances"]) for n, v in variants.items()} == {
        "Champion": (50.0, 2),
        "Challenger": (50.0, 2),
    }
    assert all(v["instances"] == v["initial_instances"] for v in variants.values())


def test_every_deployed_definition_is_the_synthesised_one(deployed: dict[str, Any]) -> None:
    emulator, assembly = deployed["emulator"], deployed["assembly"]
    # Each state machine of the templates is compared: an empty answer means all are equal.
    assert local_deploy.definitions_not_as_synthesised(emulator, assembly, deployed["stacks"]) == {}
    machines = [
        r
        for stack in deployed["stacks"]
        for r in json.loads((assembly / f"{stack}.template.json").read_text())["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    assert len(machines) == len(deployed["summary"]["state_machines"]) == 5
    # The comparison sees an edit: the drift check's definition without its ItemBatcher.
    template = json.loads((assembly / "prod-hosting.template.json").read_text())
    ids = local_deploy.physical_ids(emulator, "prod-hosting")
    (logical_id,) = [
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and "DriftMonitor" in k
    ]
    arn = ids[logical_id]
    stored = emulator.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    definition = template["Resources"][logical_id]["Properties"]["DefinitionString"]
    pattern = local_deploy.definition_pattern(definition, ids)
    assert pattern.fullmatch(stored["definition"])
    assert '"ItemBatcher"' in stored["definition"]
    # Compact JSON as the CDK writes it: the same text, so the edit alone can differ.
    assert pattern.fullmatch(json.dumps(json.loads(stored["definition"]), separators=(",", ":")))
    edited = json.loads(stored["definition"])
    for state in edited["States"].values():
        state.pop("ItemBatcher", None)
    assert not pattern.fullmatch(json.dumps(edited, separators=(",", ":")))


def test_every_deployed_state_machine_is_executable(deployed: dict[str, Any]) -> None:
    # With the item-batcher fix the interpreter parses the drift check's Distributed Map.
    assert local_deploy.not_executable(deployed["emulator"]) == {}


@pytest.fixture(scope="module")
def drift(deployed: dict[str, Any]) -> dict[str, Any]:
    return local_deploy.drift_executions(deployed["emulator"])


def assert_reports_as_the_cli(run: dict[str, Any]) -> None:
    """Champion as trained, Challenger shifted; each report equal to the drift command's."""
    variants = run["variants"]
    assert {name: v["verdict"] for name, v in variants.items()} == {
        "Champion": "no_drift",
        "Challenger": "drift",
    }
    for found in variants.values():
        assert found["differs_from_cli"] == []
        assert found["objects"] == run["objects"] // 2


def test_the_drift_check_reads_a_small_window_in_one_pass(drift: dict[str, Any]) -> None:
    run = drift["executions"]["one pass"]
    assert (run["status"], run["error"]) == ("SUCCEEDED", None)
    # The schedule's input as synthesised: its InputTransformer keeps the event's time.
    assert list(run["input"]) == ["time"]
    assert run["path"] == ["Plan", "OneOrMany", "Check"]
    assert run["output"]["plan"]["mode"] == "single"
    assert run["batches"] == 0
    assert_reports_as_the_cli(run)
    challenger = run["variants"]["Challenger"]
    assert sorted(challenger["drifted_features"]) == ["amount", "merchant_category"]
    assert challenger["records_used"] == 1200


def test_the_drift_check_maps_a_large_window_in_batches(drift: dict[str, Any]) -> None:
    run = drift["executions"]["Distributed Map"]
    assert (run["status"], run["error"]) == ("SUCCEEDED", None)
    assert run["path"] == ["Plan", "OneOrMany", "CountBatches", "Finish"]
    assert run["output"]["plan"]["mode"] == "map"
    # 202 objects, more than the 200 one invocation reads, in batches of 50.
    assert run["objects"] == 202
    assert run["batches"] == 5
    assert_reports_as_the_cli(run)


@pytest.fixture(scope="module")
def batch(deployed: dict[str, Any]) -> dict[str, Any]:
    return local_deploy.batch_executions(deployed["emulator"], deployed["assembly"])


def test_a_batch_transform_without_input_fails_and_its_alarm_fires(batch: dict[str, Any]) -> None:
    run = batch["executions"]["failed (no input)"]
    assert (run["status"], run["error"]) == ("FAILED", "States.TaskFailed")
    # The schedule's target has no input of its own: the Scheduled Event is the input.
    assert run["input"]["detail-type"] == "Scheduled Event"
    assert run["path"] == ["NameRun", "Transform"]
    cause = json.loads(run["cause"])
    assert cause["TransformJobStatus"] == "Failed"
    assert cause["FailureReason"].startswith("ClientError: No S3 objects found under S3 URL")
    alarm = run["failed_alarm"]
    assert alarm["alarm"].startswith("WeeklyForecastFailedAlarm")
    assert (alarm["state"], alarm["value"]) == ("ALARM", 1.0)
    (action,) = alarm["actions"]
    assert ":sns:" in action and "WeeklyForecastTopic" in action
    assert {"schedule", "transform-job", "failed-alarm"} <= set(local_deploy.STAND_INS)


def test_a_batch_transform_with_input_succeeds(batch: dict[str, Any]) -> None:
    run = batch["executions"]["succeeded"]
    assert (run["status"], run["error"]) == ("SUCCEEDED", None)
    assert run["path"] == ["NameRun", "Transform"]
    assert "failed_alarm" not in run
    job = run["output"]
    assert job["TransformJobStatus"] == "Completed"
    assert job["TransformJobName"].startswith("prod-forecast-")
    output = job["TransformOutput"]["S3OutputPath"]
    assert output.endswith(f"/inventory-forecast/output/{job['TransformJobName']}/")


@pytest.fixture(scope="module")
def quality(deployed: dict[str, Any]) -> dict[str, Any]:
    return local_deploy.quality_demo(deployed["emulator"])


def test_the_quality_check_joins_a_small_window_in_one_pass(quality: dict[str, Any]) -> None:
    run = quality["executions"]["one pass"]
    assert (run["status"], run["error"]) == ("SUCCEEDED", None)
    # The schedule's input as synthesised: its InputTransformer keeps the event's time.
    assert list(run["input"]) == ["time"]
    assert run["path"] == ["Plan", "OneOrMany", "Check"]
    # The challenger's scores barely separate fraud: below prod's ROC AUC of 0.8.
    assert run["verdicts"] == {"Champion": "ok", "Challenger": "degraded"}


def test_the_quality_check_fans_a_large_window_out(quality: dict[str, Any]) -> None:
    run = quality["executions"]["Distributed Map"]
    assert (run["status"], run["error"]) == ("SUCCEEDED", None)
    # Split and Join are the two Distributed Maps (the scratch they leave is the check's own
    # business, so it is printed by the rehearsal, not asserted here).
    assert run["path"] == ["Plan", "OneOrMany", "Split", "Join", "Finish"]
    assert run["written"]["capture_objects"] == 2 * 101
    assert run["verdicts"] == {"Champion": "ok", "Challenger": "degraded"}


def test_the_summary_names_every_stand_in(
    shifts: dict[str, Any],
    drift: dict[str, Any],
    batch: dict[str, Any],
    quality: dict[str, Any],
    deployed: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # After every execution: a new stand-in must be added here, and so named on purpose.
    assert set(local_deploy.STAND_INS) == {
        "model-package-group",
        "approval-event",
        "alarms",
        "metrics",
        "alarm-event",
        "abort-event",
        "data-capture",
        "schedule",
        "transform-job",
        "failed-alarm",
    }
    local_deploy.print_summary({**deployed["summary"], "stand_ins": local_deploy.stand_ins()})
    out = capsys.readouterr().out
    assert "STOOD IN FOR" in out
    for text in local_deploy.stand_ins():
        assert f"  {text}\n" in out
