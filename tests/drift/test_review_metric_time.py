"""Review of the drift check: its metrics are timestamped when it concludes.

Written failing before the fix: the datapoints were stamped with the
window's end. The drift alarm evaluates the last two windows only, so a
check concluding later than that (a Distributed Map fan-out, EventBridge's
retries of the target, a redrive) published a verdict the alarm never saw,
and a check run by hand for a window over two weeks old was refused by
PutMetricData (after writing its report).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cdk_sagemaker_hosting._lambda.drift import monitor

from tests.drift.test_handler import (
    CONFIG,
    REPORTS,
    TIME,
    aws,  # noqa: F401 - the fixture
    fill_window,
)

#: The check concludes 3 hours after its scheduled time (14:07): at 17:07.
ENDED = monitor.parse_time(TIME) + dt.timedelta(hours=3)


def _maxima(aws: dict[str, Any], start: dt.datetime) -> list[float]:  # noqa: F811
    """Blue's DatasetDrift datapoints in the hour from ``start``."""
    found = aws["cloudwatch"].get_metric_statistics(
        Namespace=CONFIG.namespace,
        MetricName="DatasetDrift",
        Dimensions=[
            {"Name": "EndpointName", "Value": "fraud"},
            {"Name": "VariantName", "Value": "Blue"},
        ],
        StartTime=start,
        EndTime=start + dt.timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    return [d["Maximum"] for d in found]


class Recording:
    """CloudWatch with every datapoint's timestamp recorded."""

    def __init__(self, cloudwatch: Any) -> None:
        self.cloudwatch = cloudwatch
        self.stamps: list[dt.datetime] = []

    def put_metric_data(self, **kwargs: Any) -> Any:
        self.stamps += [d["Timestamp"] for d in kwargs["MetricData"]]
        return self.cloudwatch.put_metric_data(**kwargs)


def _single(clients: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
    return monitor.check(clients, CONFIG, planned, clock=lambda: ENDED)


def _mapped(clients: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
    s3 = clients["s3"]
    key = planned["manifest"]["key"]
    manifest = json.loads(s3.get_object(Bucket=REPORTS, Key=key)["Body"].read())
    for i in range(0, len(manifest), 3):  # what the Distributed Map's batches do
        monitor.count(s3, CONFIG, run=planned["run"], items=manifest[i : i + 3])
    return monitor.finish(clients, CONFIG, planned, clock=lambda: ENDED)


@pytest.mark.parametrize("steps", [_single, _mapped], ids=["check", "map-finish"])
def test_a_check_concluding_3_hours_late_is_stamped_when_it_concludes(
    aws: dict[str, Any],  # noqa: F811 - the fixture
    steps: Any,
) -> None:
    """The alarm (on the last two windows) sees the verdict; the report keeps its window."""
    fill_window(aws["s3"])
    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run="late")
    recording = Recording(aws["cloudwatch"])
    summary = steps({**aws, "cloudwatch": recording}, planned)
    assert summary["variants"]["Blue"]["verdict"] == "drift"
    assert recording.stamps and set(recording.stamps) == {ENDED}
    assert _maxima(aws, ENDED.replace(minute=0)) == [1.0]
    # Not at the window's end (14:00) nor in the scheduled hour: the alarm's periods then are past.
    window_end = monitor.parse_time(planned["window"]["end"])
    assert _maxima(aws, window_end) == []
    # The report still names the window it judged.
    key = CONFIG.report_key("Blue", monitor.parse_time(planned["window"]["start"]))
    report = json.loads(aws["s3"].get_object(Bucket=REPORTS, Key=key)["Body"].read())
    assert report["window"] == planned["window"]


class TwoWeeks:
    """CloudWatch's PutMetricData as AWS runs it: a datapoint over two weeks old is refused."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.accepted = 0

    def put_metric_data(self, **kwargs: Any) -> Any:
        for datum in kwargs["MetricData"]:
            if datum["Timestamp"] < self.now - dt.timedelta(days=14):
                raise ClientError(
                    {
                        "Error": {
                            "Code": "InvalidParameterValue",
                            # A stand-in for CloudWatch's refusal, not its wording.
                            "Message": "a datapoint's Timestamp is over two weeks in the past",
                        }
                    },
                    "PutMetricData",
                )
        self.accepted += len(kwargs["MetricData"])
        return {}


def test_a_check_run_by_hand_for_a_window_a_month_old_publishes_its_verdict(
    aws: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    """Its report was written, then PutMetricData refused the window's end as a timestamp."""
    fill_window(aws["s3"])
    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run="by-hand")
    now = monitor.parse_time(TIME) + dt.timedelta(days=30)
    cloudwatch = TwoWeeks(now)
    summary = monitor.check({**aws, "cloudwatch": cloudwatch}, CONFIG, planned, clock=lambda: now)
    assert cloudwatch.accepted > 0
    assert summary["variants"]["Green"]["verdict"] == "no_drift"
