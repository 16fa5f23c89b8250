"""A whole shift against moto's SageMaker and CloudWatch, with faults moto cannot produce.

Each scenario asserts the final weights on the endpoint and the result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cdk_sagemaker_hosting._lambda.traffic_shift import aws, core
from cdk_sagemaker_hosting._lambda.traffic_shift.plan import (
    BadRequest,
    EndpointBusy,
    EndpointNotReady,
    LostLock,
    Request,
    same_weights,
)

from .conftest import ENDPOINT, Clock, Faults, Statuses, request, shift, weights_of

START = {"A": 0.9, "B": 0.1}
PROMOTED = {"A": 0.0, "B": 1.0}

THROTTLED = (400, "ThrottlingException", "Rate exceeded")
UNAVAILABLE = (503, "ServiceUnavailable", "try again")
IN_PROGRESS = (400, "ValidationException", "Cannot update in-progress endpoint")
BAD_REQUEST = (400, "ValidationException", "Value 1.5 at 'desiredWeight' failed")


def tags(sagemaker: Any) -> dict[str, str]:
    arn = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
    return {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def test_healthy_shift_promotes_step_by_step(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    state = shift(sagemaker, cloudwatch, clock, request())
    assert state["result"] == "promoted"
    assert weights_of(sagemaker) == PROMOTED
    # 10 % is where B already is: the steps taken are 50 and 100.
    assert state["steps"] == [50, 100]
    assert [h["weights"] for h in state["history"]] == [{"A": 0.5, "B": 0.5}, PROMOTED]
    assert sum(clock.slept) >= 2 * 120
    assert aws.OWNER_TAG not in tags(sagemaker)


def test_alarm_in_alarm_rolls_back_at_once(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    def fire(now: float) -> None:
        if weights_of(sagemaker)["B"] == 0.5:
            cloudwatch.set_alarm_state(AlarmName="B-errors", StateValue="ALARM", StateReason="t")

    clock.on_sleep.append(fire)
    state = shift(sagemaker, cloudwatch, clock, request(bake_seconds=600))
    assert state["result"] == "rolled_back"
    assert "B-errors in ALARM" in state["reason"]
    assert weights_of(sagemaker) == START
    # The alarm fired during the first poll of the bake: no waiting the bake out.
    assert clock.slept[0] == 30
    assert sum(clock.slept) < 600
    assert aws.OWNER_TAG not in tags(sagemaker)


def test_insufficient_data_is_not_health_and_times_out(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    cloudwatch.set_alarm_state(
        AlarmName="fraud-health", StateValue="INSUFFICIENT_DATA", StateReason="no data"
    )
    state = shift(sagemaker, cloudwatch, clock, request(data_timeout_seconds=300))
    assert state["result"] == "rolled_back"
    assert "fraud-health in INSUFFICIENT_DATA" in state["reason"]
    assert "no verdict after 300 s" in state["reason"]
    assert weights_of(sagemaker) == START
    assert 120 + 300 <= sum(clock.slept) <= 120 + 300 + 60


def test_data_arriving_before_the_timeout_lets_the_step_pass(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    cloudwatch.set_alarm_state(AlarmName="B-errors", StateValue="INSUFFICIENT_DATA", StateReason="")
    start = clock.now

    def data(now: float) -> None:
        if now - start >= 200:
            cloudwatch.set_alarm_state(AlarmName="B-errors", StateValue="OK", StateReason="data")

    clock.on_sleep.append(data)
    state = shift(sagemaker, cloudwatch, clock, request())
    assert state["result"] == "promoted"
    assert weights_of(sagemaker) == PROMOTED


def test_throttling_and_unavailability_are_retried_with_backoff(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    faults = Faults(sagemaker)
    faults.add("UpdateEndpointWeightsAndCapacities", THROTTLED, UNAVAILABLE)
    faults.add("DescribeEndpoint", THROTTLED)
    state = shift(sagemaker, cloudwatch, clock, request(steps=[100]))
    assert state["result"] == "promoted"
    assert weights_of(sagemaker) == PROMOTED
    # two refusals and the call that went through
    assert faults.sent["UpdateEndpointWeightsAndCapacities"] == 3


def test_a_bad_request_is_not_retried_and_rolls_back(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    faults = Faults(sagemaker)
    faults.add("UpdateEndpointWeightsAndCapacities", BAD_REQUEST)
    state = shift(sagemaker, cloudwatch, clock, request())
    assert state["result"] == "rolled_back"
    assert "ValidationException" in state["reason"]
    assert weights_of(sagemaker) == START
    # the refused call, and no retry of it (the weights never moved, so the
    # rollback has nothing to update)
    assert faults.sent["UpdateEndpointWeightsAndCapacities"] == 1


def test_never_updates_an_endpoint_that_is_updating(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    client = Statuses(sagemaker)
    client.statuses = ["InService", "Updating", "Updating", "Updating", "InService"]
    state = shift(client, cloudwatch, clock, request(steps=[50, 100]))
    assert state["result"] == "promoted"
    assert weights_of(sagemaker) == PROMOTED
    assert client.updates_while == ["InService", "InService"]
    assert clock.slept[:3] == [30, 30, 30]


def test_in_progress_refusal_means_wait_and_try_again(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    faults = Faults(sagemaker)
    faults.add("UpdateEndpointWeightsAndCapacities", IN_PROGRESS, IN_PROGRESS)
    state = shift(sagemaker, cloudwatch, clock, request(steps=[100]))
    assert state["result"] == "promoted"
    assert weights_of(sagemaker) == PROMOTED
    assert faults.sent["UpdateEndpointWeightsAndCapacities"] == 3


def test_weights_already_at_the_target_promote_without_changes(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT,
        DesiredWeightsAndCapacities=[
            {"VariantName": "A", "DesiredWeight": 0.0},
            {"VariantName": "B", "DesiredWeight": 1.0},
        ],
    )
    faults = Faults(sagemaker)
    state = shift(sagemaker, cloudwatch, clock, request())
    assert state["result"] == "promoted"
    assert "nothing changed" in state["reason"]
    assert weights_of(sagemaker) == PROMOTED
    assert "UpdateEndpointWeightsAndCapacities" not in faults.sent
    assert "AddTags" not in faults.sent
    assert clock.slept == []


def test_a_second_shift_on_the_same_endpoint_is_refused(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    first = core.start(sagemaker, cloudwatch, request(), owner="first", now=clock())
    first = core.apply(sagemaker, first, now=clock())
    with pytest.raises(EndpointBusy, match=r"another shift \(first\) holds fraud"):
        core.start(sagemaker, cloudwatch, request(), owner="second", now=clock())
    state = shift(sagemaker, cloudwatch, clock, request(), owner="third") if False else None
    assert state is None
    # the first shift carries on, unaffected, and finishes
    assert weights_of(sagemaker) == {"A": 0.5, "B": 0.5}
    first = core.rollback(sagemaker, first, now=clock(), reason="test over")
    first = core.apply(sagemaker, first, now=clock())
    first = core.finish(sagemaker, first)
    assert first["result"] == "rolled_back"
    assert weights_of(sagemaker) == START
    assert aws.OWNER_TAG not in tags(sagemaker)


def test_an_expired_lock_is_taken_over(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    core.start(sagemaker, cloudwatch, request(), owner="crashed", now=clock() - 10 * 86400)
    state = shift(sagemaker, cloudwatch, clock, request(), owner="next")
    assert state["result"] == "promoted"
    assert weights_of(sagemaker) == PROMOTED


def test_every_action_is_idempotent(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    req = request()
    state = core.start(sagemaker, cloudwatch, req, owner="exec-1", now=clock())
    # a Lambda retried after a timeout: the same start again
    again = core.start(sagemaker, cloudwatch, req, owner="exec-1", now=clock())
    assert again["initial"] == state["initial"] == START
    first = core.apply(sagemaker, state, now=clock())
    duplicate = core.apply(sagemaker, state, now=clock())
    assert weights_of(sagemaker) == {"A": 0.5, "B": 0.5}
    assert first["weights"] == START and duplicate["weights"] == {"A": 0.5, "B": 0.5}
    # a start retried after the weights moved still knows where it began
    late = core.start(sagemaker, cloudwatch, req, owner="exec-1", now=clock())
    assert late["initial"] == START
    assert late["steps"] == [50, 100]
    ready = core.apply(sagemaker, duplicate, now=clock())
    assert ready["ready"] is True
    assert core.apply(sagemaker, ready, now=clock())["weights"] == {"A": 0.5, "B": 0.5}
    back = core.rollback(sagemaker, ready, now=clock())
    back = core.rollback(sagemaker, back, now=clock())
    back = core.rollback(sagemaker, back, now=clock())
    assert back["ready"] is True
    assert weights_of(sagemaker) == START
    done = core.finish(sagemaker, back)
    assert core.finish(sagemaker, done)["result"] == "rolled_back"
    assert weights_of(sagemaker) == START


def test_interrupting_the_command_rolls_back(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    def interrupt(now: float) -> None:
        if weights_of(sagemaker)["B"] == 0.5:
            raise KeyboardInterrupt

    clock.on_sleep.append(interrupt)
    state = shift(sagemaker, cloudwatch, clock, request())
    assert state["result"] == "rolled_back"
    assert state["reason"] == "interrupted"
    assert weights_of(sagemaker) == START


def test_an_aborted_execution_is_rolled_back_by_its_owner_only(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    state = core.start(sagemaker, cloudwatch, request(), owner="exec-9", now=clock())
    core.apply(sagemaker, state, now=clock())
    assert weights_of(sagemaker) == {"A": 0.5, "B": 0.5}
    kwargs = {"sleep": clock.sleep, "clock": clock, "deadline": clock() + 600}
    assert core.abort(sagemaker, request(), owner="someone-else", **kwargs) is None
    assert weights_of(sagemaker) == {"A": 0.5, "B": 0.5}
    result = core.abort(sagemaker, request(), owner="exec-9", **kwargs)
    assert result is not None
    assert result["result"] == "rolled_back"
    assert weights_of(sagemaker) == START
    assert aws.OWNER_TAG not in tags(sagemaker)


def test_the_comparison_rolls_back_a_target_with_more_errors(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    def traffic(now: float) -> None:
        when = dt.datetime.fromtimestamp(now - 1, dt.UTC)
        for variant, calls, errors in (("A", 1000, 1), ("B", 1000, 40)):
            dims = [
                {"Name": "EndpointName", "Value": ENDPOINT},
                {"Name": "VariantName", "Value": variant},
            ]
            cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {
                        "MetricName": "Invocations",
                        "Dimensions": dims,
                        "Value": calls,
                        "Timestamp": when,
                    },
                    {
                        "MetricName": "Invocation5XXErrors",
                        "Dimensions": dims,
                        "Value": errors,
                        "Timestamp": when,
                    },
                ],
            )

    clock.on_sleep.append(traffic)
    req = request(comparison={"max_error_rate_increase": 0.01, "min_invocations": 100})
    state = shift(sagemaker, cloudwatch, clock, req)
    assert state["result"] == "rolled_back"
    assert "B 5XX rate" in state["reason"]
    assert weights_of(sagemaker) == START


def test_too_few_invocations_for_the_comparison_is_no_verdict(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    req = request(comparison={"min_invocations": 100}, data_timeout_seconds=60)
    state = shift(sagemaker, cloudwatch, clock, req)
    assert state["result"] == "rolled_back"
    assert "B had 0 invocations, 100 needed" in state["reason"]
    assert weights_of(sagemaker) == START


def test_a_failed_endpoint_stops_the_shift(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    client = Statuses(sagemaker)
    client.statuses = ["InService", "Failed", "Failed", "Failed"]
    with pytest.raises(core.ShiftError, match="fraud is Failed"):
        shift(client, cloudwatch, clock, request())
    assert weights_of(sagemaker) == START


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"endpoint": "nope"}, "endpoint 'nope' does not exist"),
        (
            {"target": "C"},
            "target='C' is invalid: must be a production variant of the endpoint: A, B",
        ),
        (
            {"source": "Z"},
            "source='Z' is invalid: must be a production variant of the endpoint: A, B",
        ),
        ({"target": "A"}, "target='A' is invalid: must differ from the source variant"),
        ({"target": "b_2"}, "target='b_2' is invalid: must be a variant name"),
        ({"steps": [50, 10, 100]}, "steps='50,10,100' is invalid: must strictly increase"),
        ({"steps": [10, 10, 100]}, "steps='10,10,100' is invalid: must strictly increase"),
        ({"steps": [0, 50, 100]}, "steps='0,50,100' is invalid: must be percentages above 0"),
        ({"steps": [50, 150]}, "steps='50,150' is invalid: must be percentages above 0"),
        ({"steps": [10, 50]}, "steps='10,50' is invalid: must end at 100"),
        ({"steps": []}, "steps='' is invalid: must be 1-20 percentages"),
        ({"alarms": ["B-errors", "missing"]}, "alarm(s) missing do not exist"),
        ({"bake_seconds": -1}, "bake_seconds=-1 is invalid: must be 0 s to 86400 s"),
        ({"steps": [*range(1, 22), 100]}, "must be at most 20 steps (22 given)"),
        (
            {"poll_seconds": 300},
            "poll_seconds=300 is invalid: must be at most the bake time (120 s)",
        ),
        (
            {"comparison": {"min_invocations": 0}},
            "comparison.min_invocations=0 is invalid: must be a whole number",
        ),
    ],
)
def test_refusals(
    sagemaker: Any, cloudwatch: Any, clock: Clock, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequest) as error:
        shift(sagemaker, cloudwatch, clock, request(**overrides))
    assert message in str(error.value)
    assert weights_of(sagemaker) == START
    assert aws.OWNER_TAG not in tags(sagemaker)


def test_a_one_variant_endpoint_is_refused(sagemaker: Any, cloudwatch: Any, clock: Clock) -> None:
    from .conftest import make_endpoint

    make_endpoint(sagemaker, {"only": 1.0}, name="single")
    with pytest.raises(BadRequest, match="must have at least two production variants"):
        shift(sagemaker, cloudwatch, clock, request(endpoint="single", source="only"))


def test_a_shift_that_lost_its_lock_stops_without_touching_the_weights(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    state = core.start(sagemaker, cloudwatch, request(), owner="first", now=clock())
    # the race tags cannot prevent: a second shift overwrote the lock
    arn = state["arn"]
    sagemaker.add_tags(
        ResourceArn=arn, Tags=[{"Key": aws.OWNER_TAG, "Value": f"second@{clock() + 3600:.0f}"}]
    )
    with pytest.raises(LostLock, match="now held by second"):
        core.apply(sagemaker, state, now=clock())
    assert weights_of(sagemaker) == START


def test_the_command_line_stops_on_a_lost_lock(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    def steal(now: float) -> None:
        arn = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
        sagemaker.add_tags(
            ResourceArn=arn, Tags=[{"Key": aws.OWNER_TAG, "Value": f"thief@{now + 3600:.0f}"}]
        )

    clock.on_sleep.append(steal)
    with pytest.raises(LostLock):
        shift(sagemaker, cloudwatch, clock, request())
    # it moved to the first step, then left the endpoint to the other shift
    assert weights_of(sagemaker) == {"A": 0.5, "B": 0.5}


def test_already_at_target_is_still_refused_while_another_shift_runs(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    first = core.start(sagemaker, cloudwatch, request(steps=[100]), owner="first", now=clock())
    first = core.apply(sagemaker, first, now=clock())
    assert weights_of(sagemaker) == PROMOTED
    with pytest.raises(EndpointBusy):
        core.start(sagemaker, cloudwatch, request(), owner="second", now=clock())


def test_a_shift_waits_for_an_updating_endpoint_before_recording_weights(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    client = Statuses(sagemaker)
    client.statuses = ["Updating", "Updating"]
    with pytest.raises(EndpointNotReady):
        core.start(client, cloudwatch, request(), owner="x", now=clock())
    state = shift(client, cloudwatch, clock, request())
    assert state["result"] == "promoted"
    assert any("waiting: endpoint fraud is Updating" in line for line in state["progress"])
    assert client.updates_while == ["InService", "InService"]


def test_weights_read_back_as_32_bit_floats_are_in_place() -> None:
    assert same_weights({"A": 99.9000015, "B": 0.1}, {"A": 99.9, "B": 0.1})
    assert not same_weights({"A": 99.8, "B": 0.2}, {"A": 99.9, "B": 0.1})


def test_an_endpoint_that_never_takes_the_weights_is_given_up(
    sagemaker: Any, cloudwatch: Any, clock: Clock
) -> None:
    client = Statuses(sagemaker)
    client.statuses = ["InService", *["Updating"] * 200]
    with pytest.raises(core.ShiftError, match="did not take the weights"):
        shift(client, cloudwatch, clock, request())


def test_a_bad_request_names_every_problem_by_field() -> None:
    """The construct reports these same problems at synth, under its own property names."""
    bad = Request.from_json(
        {
            "endpoint": ENDPOINT,
            "source": "A",
            "target": "A",
            "steps": [50, 10],
            "bake_seconds": -1,
            "comparison": {"max_error_rate_increase": 2},
        }
    )
    with pytest.raises(BadRequest) as error:
        bad.check()
    assert [p.field for p in error.value.problems] == [
        "target",
        "steps",
        "bake_seconds",
        "data_timeout_seconds",
        "comparison.max_error_rate_increase",
    ]
    assert str(error.value).startswith(
        "target='A' is invalid: must differ from the source variant (the one losing traffic); "
        "steps='50,10' is invalid: must strictly increase; "
    )
