"""The fast rollback: a gating alarm's state-change event turns a running shift back at once.

Against moto's SageMaker and CloudWatch (which emits no EventBridge event:
the tests deliver CloudWatch's "Alarm State Change" event themselves), with
faults moto cannot produce. Each scenario asserts the weights, the endpoint's
tags and what the state machine's next action does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cdk_sagemaker_hosting._lambda.traffic_shift import aws, core, index
from cdk_sagemaker_hosting._lambda.traffic_shift.plan import (
    AlarmRolledBack,
    Request,
    ShiftError,
)

from .conftest import ENDPOINT, REGION, Clock, Faults, Statuses, make_endpoint, request, weights_of

ACCOUNT = "123456789012"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:shift-machine"
EXECUTIONS = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:shift-machine:"
EXECUTION = f"{EXECUTIONS}exec-1"
START = {"A": 0.9, "B": 0.1}
HALF = {"A": 0.5, "B": 0.5}
PROMOTED = {"A": 0.0, "B": 1.0}
THROTTLED = (400, "ThrottlingException", "Rate exceeded")


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"


GATING = frozenset({alarm_arn("B-errors"), alarm_arn("fraud-health")})


#: When the test alarms change state: a minute after the Clock's start (the shift's lock).
CHANGED = "2027-01-15T08:01:00"


def alarm_event(
    name: str = "B-errors", value: str = "ALARM", previous: str = "OK", at: str = CHANGED
) -> dict[str, Any]:
    """CloudWatch's event, as EventBridge delivers it to the rule's target."""
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": f"{at}Z",
        "region": REGION,
        "resources": [alarm_arn(name)],
        "detail": {
            "alarmName": name,
            "state": {
                "value": value,
                "reason": "Threshold Crossed: 1 datapoint [3.0] >= 1.0",
                "timestamp": f"{at}.000+0000",
            },
            "previousState": {"value": previous, "timestamp": "2027-01-15T07:55:00.000+0000"},
            "configuration": {"metrics": []},
        },
    }


def tags(sagemaker: Any) -> dict[str, str]:
    arn = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    return aws.tags(sagemaker, arn)


def running(sagemaker: Any, cloudwatch: Any, clock: Clock, owner: str = EXECUTION) -> Any:
    """A shift of steps 50, 100 that an execution has moved to its first step (A=B=0.5)."""
    state = core.start(
        sagemaker, cloudwatch, request(steps=[50, 100], bake_seconds=600), owner=owner, now=clock()
    )
    state = core.apply(sagemaker, state, now=clock())
    state = core.apply(sagemaker, state, now=clock())
    assert state["ready"] and weights_of(sagemaker) == HALF
    return state


def on_alarm(sagemaker: Any, clock: Clock, event: dict[str, Any], **kwargs: Any) -> Any:
    return core.alarm_rollback(
        sagemaker,
        kwargs.pop("req", request()),
        event,
        executions=kwargs.pop("executions", EXECUTIONS),
        alarm_arns=kwargs.pop("alarm_arns", GATING),
        sleep=clock.sleep,
        clock=clock,
        deadline=clock() + kwargs.pop("within", 60),
    )


def test_an_alarm_event_restores_the_weights_at_once_and_the_shift_ends_rolled_back(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    state = running(sagemaker, cloudwatch, clock)
    cloudwatch.set_alarm_state(AlarmName="B-errors", StateValue="ALARM", StateReason="t")
    done = on_alarm(sagemaker, clock, alarm_event())
    assert done["result"] == "rolled_back"
    assert done["owner"] == EXECUTION
    assert (done["weights_before"], done["weights"], done["settled"]) == (HALF, START, True)
    assert done["reason"].startswith(f"alarm B-errors went to ALARM at {CHANGED}")
    assert weights_of(sagemaker) == START
    assert clock.slept == []  # nothing waited for
    marked = tags(sagemaker)
    assert marked[aws.ROLLBACK_TAG] == EXECUTION
    assert "B-errors" in marked[aws.ROLLBACK_REASON_TAG]
    # The alarm is back to OK before the state machine's next poll: the mark
    # still fails the step, and the state machine's rollback changes nothing.
    cloudwatch.set_alarm_state(AlarmName="B-errors", StateValue="OK", StateReason="t")
    state = core.check(sagemaker, cloudwatch, state, now=clock())
    assert state["verdict"] == "fail"
    assert "alarm B-errors went to ALARM" in state["reason"]
    state = core.rollback(sagemaker, state, now=clock())
    assert state["ready"] is True
    state = core.finish(sagemaker, state)
    assert state["result"] == "rolled_back"
    assert weights_of(sagemaker) == START
    assert not any(k.startswith("cdk-sagemaker-hosting:") for k in tags(sagemaker))


def test_a_forward_move_after_the_event_is_refused_and_rolls_back(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    """The execution judged the step healthy just before the event: its next Apply stops."""
    state = running(sagemaker, cloudwatch, clock)
    state = {**state, "step": 1, "ready": False, "ready_at": None}  # on to 100 %
    on_alarm(sagemaker, clock, alarm_event())
    with pytest.raises(AlarmRolledBack, match="alarm B-errors went to ALARM"):
        core.apply(sagemaker, state, now=clock())
    assert weights_of(sagemaker) == START
    # RollBackAfterError: the rollback itself moves back, so it is not refused.
    back = core.rollback(sagemaker, state, now=clock(), reason="AlarmRolledBack: ...")
    assert back["ready"] is True and weights_of(sagemaker) == START


def test_an_execution_that_already_finished_is_left_alone(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    state = running(sagemaker, cloudwatch, clock)
    state = core.rollback(sagemaker, state, now=clock())
    core.finish(sagemaker, state)
    before = tags(sagemaker)
    done = on_alarm(sagemaker, clock, alarm_event())
    assert done == {
        "result": "ignored",
        "alarm": "B-errors",
        "endpoint": ENDPOINT,
        "owner": None,
        "reason": "no shift holds fraud",
    }
    assert tags(sagemaker) == before


def test_an_expired_lock_is_not_a_running_shift(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    running(sagemaker, cloudwatch, clock)
    clock.now += 10 * 86400
    assert on_alarm(sagemaker, clock, alarm_event())["reason"] == "no shift holds fraud"
    assert weights_of(sagemaker) == HALF


def test_an_event_from_before_the_shift_started_is_ignored(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    """A late or retried event (Lambda retries a failed one minutes later, EventBridge
    one it could not deliver for up to a day) of an alarm that went to ALARM before
    this shift took the lock does not roll this shift back: the alarm's state, if it
    is still ALARM, fails the shift's own Check."""
    state = running(sagemaker, cloudwatch, clock)
    before = tags(sagemaker)
    for event in (
        alarm_event(at="2027-01-15T07:59:50"),
        # no state timestamp: the event's own time
        {
            **alarm_event(at="2027-01-15T07:50:00"),
            "detail": {"alarmName": "B-errors", "state": {"value": "ALARM"}},
        },
    ):
        done = on_alarm(sagemaker, clock, event)
        assert done["result"] == "ignored"
        assert done["reason"].startswith("alarm B-errors went to ALARM at 2027-01-15T07:5")
        assert f"before {EXECUTION} started at 2027-01-15T08:00:00+00:00" in done["reason"]
        assert weights_of(sagemaker) == HALF
        assert tags(sagemaker) == before
    # within the clocks' skew of the start, the event rolls back (in doubt, roll back)
    assert on_alarm(sagemaker, clock, alarm_event(at="2027-01-15T07:59:57"))["result"] == (
        "rolled_back"
    )
    assert weights_of(sagemaker) == START
    # the lock records when it was taken; Finish drops it with the lock
    assert before[aws.STARTED_TAG] == "1800000000"
    core.finish(sagemaker, core.rollback(sagemaker, state, now=clock()))
    assert not any(k.startswith("cdk-sagemaker-hosting:") for k in tags(sagemaker))


def test_a_lock_without_its_start_time_takes_any_event(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    """A lock taken by an earlier version (no start tag) is rolled back as before."""
    state = running(sagemaker, cloudwatch, clock)
    sagemaker.delete_tags(ResourceArn=state["arn"], TagKeys=[aws.STARTED_TAG])
    done = on_alarm(sagemaker, clock, alarm_event(at="2027-01-15T07:00:00"))
    assert done["result"] == "rolled_back" and weights_of(sagemaker) == START


def test_two_alarms_at_once_restore_once(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    running(sagemaker, cloudwatch, clock)
    faults = Faults(sagemaker)
    first = on_alarm(sagemaker, clock, alarm_event("B-errors"))
    second = on_alarm(sagemaker, clock, alarm_event("fraud-health"))
    assert first["result"] == second["result"] == "rolled_back"
    assert second["weights_before"] == START
    assert faults.sent["UpdateEndpointWeightsAndCapacities"] == 1
    # The first alarm's reason stays: the shift reports what turned it back.
    assert "B-errors" in tags(sagemaker)[aws.ROLLBACK_REASON_TAG]


def test_a_throttled_update_is_retried(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    running(sagemaker, cloudwatch, clock)
    faults = Faults(sagemaker)
    faults.add("UpdateEndpointWeightsAndCapacities", THROTTLED, THROTTLED)
    faults.add("ListTags", THROTTLED)
    done = on_alarm(sagemaker, clock, alarm_event())
    assert done["result"] == "rolled_back" and weights_of(sagemaker) == START
    # botocore's standard retries: two refusals, then the call that went through
    assert faults.sent["UpdateEndpointWeightsAndCapacities"] == 3


IGNORED = [
    (alarm_event(value="OK", previous="ALARM"), "alarm B-errors went to OK, not ALARM"),
    (alarm_event(value="INSUFFICIENT_DATA"), "alarm B-errors went to INSUFFICIENT_DATA, not ALARM"),
    (alarm_event("other-endpoint-errors"), "alarm other-endpoint-errors does not gate the shifts"),
    (
        # same name, another account's alarm (an event forwarded from another bus)
        {
            **alarm_event(),
            "resources": ["arn:aws:cloudwatch:us-east-1:999999999999:alarm:B-errors"],
        },
        "alarm B-errors does not gate the shifts",
    ),
    (
        {**alarm_event(), "source": "aws.states"},
        "not a CloudWatch alarm state-change event",
    ),
]


@pytest.mark.parametrize(("event", "reason"), IGNORED, ids=[r for _, r in IGNORED])
def test_events_that_are_not_a_gating_alarm_going_to_alarm_are_ignored(
    sagemaker: Any, cloudwatch: Any, clock: Clock, event: dict[str, Any], reason: str
) -> None:
    running(sagemaker, cloudwatch, clock)
    before = tags(sagemaker)
    done = on_alarm(sagemaker, clock, event)
    assert done["result"] == "ignored"
    assert done["reason"].startswith(reason)
    assert weights_of(sagemaker) == HALF
    assert tags(sagemaker) == before


def test_another_endpoints_shift_is_not_touched(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    """The function is configured with one endpoint: another's shift is not its business."""
    make_endpoint(sagemaker, {"A": 0.5, "B": 0.5}, name="other")
    running(sagemaker, cloudwatch, clock)
    other = Request.from_json({**request().to_json(), "endpoint": "other"})
    done = on_alarm(sagemaker, clock, alarm_event(), req=other)
    assert done["reason"] == "no shift holds other"
    assert weights_of(sagemaker) == HALF


@pytest.mark.parametrize(
    "owner",
    [
        "cli-someone-host-1-1800000000",  # the shift command
        # another TrafficShift's state machine on the same endpoint (a longer name too)
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:other-machine:exec-1",
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:shift-machine-2:exec-1",
    ],
)
def test_a_shift_this_state_machine_does_not_run_is_left_to_its_owner(
    sagemaker: Any, cloudwatch: Any, clock: Clock, owner: str
) -> None:
    running(sagemaker, cloudwatch, clock, owner=owner)
    done = on_alarm(sagemaker, clock, alarm_event())
    assert done["result"] == "ignored"
    assert f"held by {owner}, not by this state machine" in done["reason"]
    assert weights_of(sagemaker) == HALF


def test_an_alarm_after_the_promotion_was_decided_changes_nothing(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    state = running(sagemaker, cloudwatch, clock)
    state = {**state, "step": 1, "ready": False, "ready_at": None}
    state = core.apply(sagemaker, state, now=clock())
    state = core.apply(sagemaker, state, now=clock())
    clock.now += 600
    state = core.check(sagemaker, cloudwatch, state, now=clock())
    assert (state["verdict"], state["done"]) == ("healthy", True)
    done = on_alarm(sagemaker, clock, alarm_event())
    assert done["result"] == "ignored"
    assert "promotion of" in done["reason"] and "was decided" in done["reason"]
    assert weights_of(sagemaker) == PROMOTED
    assert aws.ROLLBACK_TAG not in tags(sagemaker)
    assert core.finish(sagemaker, state)["result"] == "promoted"


def test_an_event_just_before_the_last_check_wins_over_the_promotion(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    state = running(sagemaker, cloudwatch, clock)
    state = {**state, "step": 1, "ready": False, "ready_at": None}
    state = core.apply(sagemaker, state, now=clock())
    state = core.apply(sagemaker, state, now=clock())
    assert weights_of(sagemaker) == PROMOTED
    clock.now += 600
    on_alarm(sagemaker, clock, alarm_event())
    state = core.check(sagemaker, cloudwatch, state, now=clock())
    assert state["verdict"] == "fail" and not state["done"]
    assert weights_of(sagemaker) == START


def test_the_marks_are_written_then_read_so_one_side_sees_the_other(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    """The last Check wrote its mark just before the alarm function wrote its own.

    The alarm function reads after writing, sees the promotion decided and
    takes its mark back: the weights are the state machine's (which, if its
    read came between, saw the mark and rolls back itself).
    """
    state = running(sagemaker, cloudwatch, clock)
    arn = state["arn"]
    original = aws.mark_rollback

    def promotion_decided_meanwhile(*args: Any, **kwargs: Any) -> dict[str, str]:
        # The state machine's Check wrote its mark just before the alarm's.
        sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": aws.DECIDED_TAG, "Value": EXECUTION}])
        return original(*args, **kwargs)

    aws_mark = pytest.MonkeyPatch()
    aws_mark.setattr(aws, "mark_rollback", promotion_decided_meanwhile)
    try:
        done = on_alarm(sagemaker, clock, alarm_event())
    finally:
        aws_mark.undo()
    assert done["result"] == "ignored"
    assert weights_of(sagemaker) == HALF
    assert aws.ROLLBACK_TAG not in tags(sagemaker)


def test_an_updating_endpoint_is_waited_for_never_updated(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    running(sagemaker, cloudwatch, clock)
    client = Statuses(sagemaker)
    # the first look finds the endpoint's ARN (and its lock)
    client.statuses = ["InService", "Updating", "Updating", "InService"]
    done = on_alarm(client, clock, alarm_event())
    assert done["result"] == "rolled_back" and weights_of(sagemaker) == START
    assert client.updates_while == ["InService"]
    assert clock.slept == [core.SETTLE_SECONDS, core.SETTLE_SECONDS]


def test_a_move_that_lands_after_the_restore_is_restored_again(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    """An Apply in flight when the event came (in AWS SageMaker refuses it; moto does not)."""
    running(sagemaker, cloudwatch, clock)

    class Racing(Statuses):
        raced = False

        def update_endpoint_weights_and_capacities(self, **kwargs: Any) -> Any:
            answer = super().update_endpoint_weights_and_capacities(**kwargs)
            if not self.raced:
                self.raced = True
                super().update_endpoint_weights_and_capacities(
                    EndpointName=ENDPOINT,
                    DesiredWeightsAndCapacities=[
                        {"VariantName": "A", "DesiredWeight": 0.0},
                        {"VariantName": "B", "DesiredWeight": 1.0},
                    ],
                )
            return answer

    client = Racing(sagemaker)
    done = on_alarm(client, clock, alarm_event())
    assert done["result"] == "rolled_back" and weights_of(sagemaker) == START
    assert len(client.updates_while) == 3  # ours, the racing move, ours again


def test_a_restore_accepted_but_not_finished_by_the_deadline_is_reported(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    running(sagemaker, cloudwatch, clock)

    class Slow(Statuses):
        def describe_endpoint(self, **kwargs: Any) -> Any:
            response = self._client.describe_endpoint(**kwargs)
            if weights_of(self._client) == START:  # accepted: SageMaker is applying it
                response["EndpointStatus"] = "Updating"
                for variant in response["ProductionVariants"]:
                    variant["DesiredWeight"] = START[variant["VariantName"]]
                    variant["CurrentWeight"] = HALF[variant["VariantName"]]
            return response

    done = on_alarm(Slow(sagemaker), clock, alarm_event(), within=10)
    assert (done["result"], done["settled"]) == ("rolled_back", False)


def test_a_restore_never_accepted_by_the_deadline_is_an_error(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    running(sagemaker, cloudwatch, clock)
    client = Statuses(sagemaker)
    client.statuses = ["Updating"] * 20
    with pytest.raises(ShiftError, match="did not take"):
        on_alarm(client, clock, alarm_event(), within=10)
    # the mark stays: the state machine's next action rolls back
    assert tags(sagemaker)[aws.ROLLBACK_TAG] == EXECUTION


def test_a_failed_endpoint_is_an_error(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    running(sagemaker, cloudwatch, clock)
    client = Statuses(sagemaker)
    client.statuses = ["InService", "Failed"]
    with pytest.raises(ShiftError, match="is Failed: the weights were not restored"):
        on_alarm(client, clock, alarm_event())


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def test_the_lambda_entry_point_dispatches_alarm_events(
    monkeypatch: pytest.MonkeyPatch, sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    running(sagemaker, cloudwatch, clock)
    defaults = {**request().to_json(), "steps": [50, 100], "bake_seconds": 600}
    monkeypatch.setenv("SHIFT_DEFAULTS", json.dumps(defaults))
    monkeypatch.setenv("STATE_MACHINE_ARN", MACHINE)
    monkeypatch.setenv("ALARM_ARNS", json.dumps(sorted(GATING)))
    monkeypatch.setattr(index, "_clients", {"sagemaker": sagemaker})
    ignored = index.handler(alarm_event(value="OK"), Context())
    assert ignored["result"] == "ignored"
    done = index.handler(alarm_event("fraud-health"), Context())
    assert (done["result"], done["owner"]) == ("rolled_back", EXECUTION)
    assert weights_of(sagemaker) == START
