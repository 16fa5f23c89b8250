"""Review of the scheduled quality check's steps (issue 16): memory bounds and scratch scope.

Each test was written failing before its fix: a window of few but large
objects was joined in one invocation whatever its size; a split batch held
every line of its objects in memory until the end; the scratch folder was
shared by every monitor writing reports under the same prefix.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from cdk_sagemaker_hosting._lambda.quality import monitor

from tests.quality.helpers import capture_line, truth_line
from tests.quality.test_monitor import (
    CONFIG,
    REPORTS,
    START,
    TIME,
    aws,  # noqa: F401 - the fixture
    put_capture,
    put_truth,
    report_of,
    run,
    traffic,
)


def test_a_window_larger_than_one_partition_fans_out_however_few_its_objects(
    aws: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    """Two objects of 1.5 MB with 1 MB partitions: one invocation would hold 3 MB, so the Map."""
    s3 = aws["s3"]
    padding = " " * (3 << 19)
    at = START + dt.timedelta(minutes=1)
    put_capture(s3, "Champion", at, [capture_line("a", "0.9"), padding])
    put_truth(s3, START.replace(hour=13), [truth_line("a", "1"), padding])
    config = dataclasses.replace(CONFIG, max_objects=200, partition_mb=1)
    planned = monitor.plan(s3, config, time=TIME, run="exec-big")
    assert planned["partition_count"] == 4
    assert planned["mode"] == "map"
    assert planned["partitions"] == [0, 1, 2, 3]


class Recording:
    """S3 with every object body read and written recorded (to bound what a step holds)."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.read = 0
        self.written = 0
        self.held: list[int] = []

    def get_object(self, **kwargs: Any) -> Any:
        found = self.s3.get_object(**kwargs)
        body = found["Body"].read()
        self.read += len(body)

        class Body:
            def __init__(self, data: bytes) -> None:
                self.data, self.at = data, 0

            def read(self, size: int = -1) -> bytes:
                end = len(self.data) if size < 0 else self.at + size
                chunk, self.at = self.data[self.at : end], min(end, len(self.data))
                return chunk

            def close(self) -> None:
                pass

        return {**found, "Body": Body(body)}

    def put_object(self, **kwargs: Any) -> Any:
        self.written += len(kwargs["Body"])
        # What the step read and has not written yet: what it held in memory.
        self.held.append(self.read - self.written)
        return self.s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)


def test_a_split_batch_writes_its_shards_as_it_reads_never_the_whole_batch_at_once(
    aws: dict[str, Any],  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shards are flushed every ``SPLIT_BUFFER_BYTES``, and the report is unchanged."""
    traffic(aws["s3"], "Champion", 400, wrong_every=20, objects=8)
    traffic(aws["s3"], "Challenger", 400, wrong_every=3, objects=8)
    single = report_of(aws, run(aws))
    monkeypatch.setattr(monitor, "SPLIT_BUFFER_BYTES", 8 << 10, raising=False)
    config = dataclasses.replace(CONFIG, max_objects=2)
    s3 = aws["s3"]
    planned = monitor.plan(s3, config, time=TIME, run="exec-flush")
    planned["partition_count"], planned["partitions"] = 3, [0, 1, 2]
    manifest = json.loads(
        s3.get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    assert len(manifest) == 32  # 16 capture objects, 16 label objects
    recording = Recording(s3)
    # One batch of every object of the window (about 150 KB of lines).
    monitor.split(
        recording, config, [{"run": "exec-flush", "partitions": 3, "item": i} for i in manifest]
    )
    assert recording.read > 300 << 10
    # At most the bound and the object being read (a chunk of it, for objects over 256 KB);
    # before the fix, every line of the batch until its end (325 KB).
    largest = max(i["size"] for i in manifest)
    assert largest < 24 << 10
    assert max(recording.held) < (8 << 10) + largest
    # A retried batch writes the same objects again: nothing is counted twice.
    monitor.split(s3, config, [{"run": "exec-flush", "partitions": 3, "item": i} for i in manifest])
    for partition in planned["partitions"]:
        monitor.join_partition(s3, config, run="exec-flush", partition=partition)
    fanned = report_of(aws, monitor.finish(aws, config, planned))
    for document in (single, fanned):
        document.pop("mode")
    assert fanned == single


def test_a_monitors_scratch_is_its_endpoints_own() -> None:
    """Two monitors writing reports under one prefix of one bucket never share scratch files.

    The shards are copies of captured traffic, so the scratch folder of one
    endpoint must not be one another endpoint's function may read.
    """
    other = dataclasses.replace(CONFIG, endpoint="churn")
    assert CONFIG.run_prefix("exec-1") == "quality-reports/_runs/fraud/exec-1/"
    assert CONFIG.scratch_prefix() == "quality-reports/_runs/fraud/"
    assert not CONFIG.run_prefix("exec-1").startswith(other.scratch_prefix())
    assert CONFIG.report_key(START).startswith("quality-reports/fraud/")


def test_metrics_are_timestamped_when_the_check_concludes_not_when_it_was_scheduled(
    aws: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    """A run that ends late (a fan-out, EventBridge's retries, a redrive) still reaches the alarm.

    The alarm evaluates the last two windows only (30 minutes for 15-minute
    windows); a datapoint stamped with the scheduled time of a run that ended
    later than that was never evaluated, and one over two weeks old (a check
    run by hand for an old window) is refused by PutMetricData.
    """
    traffic(aws["s3"], "Champion", 200, wrong_every=20)
    traffic(aws["s3"], "Challenger", 200, wrong_every=3)
    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run="exec-late")
    ended = monitor.parse_time(TIME) + dt.timedelta(hours=3)
    monitor.check(aws, CONFIG, planned, clock=lambda: ended)

    def maxima(start: dt.datetime) -> list[float]:
        found = aws["cloudwatch"].get_metric_statistics(
            Namespace="Test/ModelQuality",
            MetricName="Degraded",
            Dimensions=[
                {"Name": "EndpointName", "Value": "fraud"},
                {"Name": "VariantName", "Value": "Challenger"},
            ],
            StartTime=start,
            EndTime=start + dt.timedelta(hours=1),
            Period=3600,
            Statistics=["Maximum"],
        )["Datapoints"]
        return [d["Maximum"] for d in found]

    assert maxima(ended.replace(minute=0)) == [1.0]
    assert maxima(monitor.parse_time(TIME).replace(minute=0)) == []


def test_the_split_reads_a_capture_lines_id_as_the_join_does(
    aws: dict[str, Any],  # noqa: F811 - the fixture
) -> None:
    """A line in SageMaker's layout whose input is not JSON is still joined by its ID.

    The join reads only the output and metadata of such a line; the split
    parsed it whole, found no ID and sent it to shard 0, away from its label:
    the fan-out then counted a prediction and a label without partner where
    one pass joined them.
    """
    s3 = aws["s3"]
    odd = (
        '{"captureData":{"endpointInput":{not json},"endpointOutput":{"observedContentType":'
        '"text/csv","mode":"OUTPUT","data":"0.9","encoding":"CSV"}},'
        '"eventMetadata":{"eventId":"odd-1"},"eventVersion":"0"}'
    )
    put_capture(s3, "Champion", START + dt.timedelta(minutes=2), [odd, capture_line("b", "0.2")])
    put_truth(s3, START.replace(hour=13), [truth_line("odd-1", "1"), truth_line("b", "0")])
    config = dataclasses.replace(CONFIG, variants=("Champion",), min_records=1)
    single = report_of(aws, run(aws, config))
    assert single["records"]["joined"] == 2
    fanned = dataclasses.replace(config, max_objects=1)
    many = report_of(aws, _run_in(aws, fanned, partitions=5))  # odd-1 is in shard 3 of 5
    for document in (single, many):
        document.pop("mode")
    assert many == single


def _run_in(clients: dict[str, Any], config: monitor.Config, partitions: int) -> dict[str, Any]:
    s3 = clients["s3"]
    planned = monitor.plan(s3, config, time=TIME, run="exec-odd")
    planned["partition_count"], planned["partitions"] = partitions, list(range(partitions))
    manifest = json.loads(
        s3.get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    items = [{"run": "exec-odd", "partitions": partitions, "item": i} for i in manifest]
    monitor.split(s3, config, items)
    for partition in planned["partitions"]:
        monitor.join_partition(s3, config, run="exec-odd", partition=partition)
    concluded = monitor.parse_time(TIME)
    return monitor.finish(clients, config, planned, clock=lambda: concluded)
