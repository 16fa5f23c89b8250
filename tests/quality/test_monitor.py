"""The scheduled quality check's steps against moto: capture and ground truth in S3 -> report.

moto's server cannot run Lambda functions, so the steps run in process
(``moto.mock_aws``), called as the state machine calls them; the handler
itself is called once per action to prove its dispatch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cdk_sagemaker_hosting._lambda.quality import index, monitor
from cdk_sagemaker_hosting._lambda.quality.monitor import Config, ConfigError, MetricThreshold
from cdk_sagemaker_hosting._lambda.quality.report import Constraint
from moto import mock_aws
from sklearn import metrics as sk

from tests.quality.helpers import capture_line, truth_line

CAPTURE = "capture-bucket"
TRUTH = "truth-bucket"
REPORTS = "report-bucket"
CONFIG = Config(
    endpoint="fraud",
    variants=("Champion", "Challenger"),
    problem="binary",
    capture_bucket=CAPTURE,
    capture_prefix="data-capture/",
    ground_truth_bucket=TRUTH,
    ground_truth_prefix="ground-truth/fraud/",
    report_bucket=REPORTS,
    report_prefix="quality-reports/",
    namespace="Test/ModelQuality",
    event_bus="default",
    window_seconds=3600,
    label_delay_seconds=3600,
    capture_delay_seconds=300,
    min_records=50,
    thresholds={"accuracy": MetricThreshold(absolute=0.8)},
    max_objects=50,
)
#: The schedule fired at 14:07: predictions of 12:00-13:00, labels until 14:00.
TIME = "2026-11-30T14:07:00Z"
START = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (CAPTURE, TRUTH, REPORTS):
            s3.create_bucket(Bucket=bucket)
        events = boto3.client("events")
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="quality-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(Name="quality", EventPattern=json.dumps({"source": [monitor.EVENT_SOURCE]}))
        events.put_targets(Rule="quality", Targets=[{"Id": "q", "Arn": queue_arn}])
        yield {
            "s3": s3,
            "cloudwatch": boto3.client("cloudwatch"),
            "events": events,
            "sqs": sqs,
            "queue": queue,
        }


def put_capture(s3: Any, variant: str, at: dt.datetime, lines: list[str], name: str = "x") -> str:
    key = (
        f"data-capture/fraud/{variant}/{at:%Y/%m/%d/%H}/"
        f"{at:%M-%S}-{at.microsecond // 1000:03d}-{name}.jsonl"
    )
    s3.put_object(Bucket=CAPTURE, Key=key, Body="\n".join(lines).encode())
    return key


def put_truth(s3: Any, hour: dt.datetime, lines: list[str], name: str = "labels") -> str:
    key = f"ground-truth/fraud/{hour:%Y/%m/%d/%H}/{name}.jsonl"
    s3.put_object(Bucket=TRUTH, Key=key, Body="\n".join(lines).encode())
    return key


def traffic(
    s3: Any, variant: str, n: int, *, wrong_every: int, objects: int = 4, label_hour: int = 13
) -> tuple[list[float], list[int]]:
    """``n`` predictions of ``variant`` in the window, their labels an hour later.

    Every ``wrong_every``-th prediction is on the wrong side of 0.5.
    """
    scores, labels = [], []
    per_object = n // objects
    for o in range(objects):
        captures, truths = [], []
        for i in range(o * per_object, (o + 1) * per_object):
            label = i % 3 == 0
            right = i % wrong_every != 0
            score = (0.8 if label else 0.2) if right else (0.3 if label else 0.7)
            event = f"{variant}-{i}"
            captures.append(capture_line(event, f"{score}"))
            truths.append(truth_line(event, "1" if label else "0"))
            scores.append(score)
            labels.append(int(label))
        put_capture(s3, variant, START + dt.timedelta(minutes=5 * o + 1), captures, f"o{o}")
        put_truth(s3, START.replace(hour=label_hour), truths, f"{variant}-{o}")
    return scores, labels


def run(aws: dict[str, Any], config: Config = CONFIG, time: str = TIME) -> dict[str, Any]:
    """Plan, then one pass or the two Maps and finish, as the state machine would."""
    s3 = aws["s3"]
    planned = monitor.plan(s3, config, time=time, run="exec-1")
    # The check concludes at its scheduled time (its metrics are stamped then).
    concluded = monitor.parse_time(time)
    if planned["mode"] == "single":
        return monitor.check(aws, config, planned, clock=lambda: concluded)
    manifest = json.loads(
        s3.get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    for i in range(0, len(manifest), 3):
        batch = [
            {"run": planned["run"], "partitions": planned["partition_count"], "item": item}
            for item in manifest[i : i + 3]
        ]
        monitor.split(s3, config, batch)
    for partition in planned["partitions"]:
        monitor.join_partition(s3, config, run=planned["run"], partition=partition)
    return monitor.finish(aws, config, planned, clock=lambda: concluded)


def report_of(aws: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    _, _, key = result["report"].removeprefix("s3://").partition("/")
    document: dict[str, Any] = json.loads(
        aws["s3"].get_object(Bucket=REPORTS, Key=key)["Body"].read()
    )
    return document


def test_the_window_ends_label_delay_and_capture_delay_before_the_check() -> None:
    start, end, labels_end = monitor.window(CONFIG, monitor.parse_time(TIME))
    assert (start, end, labels_end) == (
        START,
        START + dt.timedelta(hours=1),
        START + dt.timedelta(hours=2),
    )
    # Windows shorter than an hour, on a schedule of any rate.
    short = dataclasses.replace(CONFIG, window_seconds=600, label_delay_seconds=0)
    start, end, _ = monitor.window(short, monitor.parse_time("2026-11-30T14:07:00Z"))
    assert (start.minute, end.minute, end.hour) == (50, 0, 14)


def test_each_variant_is_judged_and_the_challengers_degradation_found(
    aws: dict[str, Any],
) -> None:
    champion = traffic(aws["s3"], "Champion", 400, wrong_every=20)
    challenger = traffic(aws["s3"], "Challenger", 400, wrong_every=3)
    result = run(aws)
    assert result["mode"] == "single"
    assert result["verdicts"] == {"Champion": "ok", "Challenger": "degraded"}
    document = report_of(aws, result)
    for variant, (scores, labels) in (("Champion", champion), ("Challenger", challenger)):
        found = document["variants"][variant]
        predicted = [int(s >= 0.5) for s in scores]
        assert found["metrics"]["accuracy"] == pytest.approx(
            sk.accuracy_score(labels, predicted), abs=1e-9
        )
        assert found["metrics"]["f1"] == pytest.approx(sk.f1_score(labels, predicted), abs=1e-9)
        assert found["records"]["joined"] == 400
        assert found["rejected"] == {}
    (violation,) = document["variants"]["Challenger"]["violations"]
    assert violation["metric"] == "accuracy" and violation["threshold"] == 0.8
    assert document["verdict"] == "degraded"
    # Both variants joined 400: the reference is the first in name order.
    compared = document["comparison"]["variants"]["Champion"]["accuracy"]
    assert compared["better"] is True and compared["value"] > 0.9
    assert document["records"] == {
        "predictions": 800,
        "labels": 800,
        "joined": 800,
        "min_records": 50,
    }
    assert document["window"] == {"start": "2026-11-30T12:00:00Z", "end": "2026-11-30T13:00:00Z"}
    html = aws["s3"].get_object(Bucket=REPORTS, Key=result["html"].split("/", 3)[3])
    assert html["ContentType"].startswith("text/html")
    assert b"Challenger" in html["Body"].read()


def test_metrics_per_variant_and_an_event_each(aws: dict[str, Any]) -> None:
    traffic(aws["s3"], "Champion", 200, wrong_every=20)
    traffic(aws["s3"], "Challenger", 200, wrong_every=3)
    run(aws)
    cloudwatch = aws["cloudwatch"]
    listed = cloudwatch.list_metrics(Namespace="Test/ModelQuality")["Metrics"]
    names = {
        (m["MetricName"], {d["Name"]: d["Value"] for d in m["Dimensions"]}["VariantName"])
        for m in listed
    }
    for variant in ("Champion", "Challenger"):
        for name in ("Degraded", "InsufficientData", "RecordsJoined", "accuracy", "roc_auc"):
            assert (name, variant) in names
    degraded = cloudwatch.get_metric_statistics(
        Namespace="Test/ModelQuality",
        MetricName="Degraded",
        Dimensions=[
            {"Name": "EndpointName", "Value": "fraud"},
            {"Name": "VariantName", "Value": "Challenger"},
        ],
        StartTime=START,
        EndTime=START + dt.timedelta(hours=3),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [d["Maximum"] for d in degraded] == [1.0]
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10)
    details = [json.loads(m["Body"])["detail"] for m in messages["Messages"]]
    assert {(d["variant"], d["verdict"]) for d in details} == {
        ("Champion", "ok"),
        ("Challenger", "degraded"),
    }
    assert all(d["report"].startswith("s3://report-bucket/quality-reports/fraud/") for d in details)


def test_a_window_whose_variants_are_each_too_small_does_not_say_degraded(
    aws: dict[str, Any],
) -> None:
    """60 + 60 records at min_records 100: merged they break the threshold, but no variant is
    judged, so the window is insufficient_data too (no verdict that nothing would alarm on)."""
    traffic(aws["s3"], "Champion", 60, wrong_every=2)
    traffic(aws["s3"], "Challenger", 60, wrong_every=2)
    result = run(aws, dataclasses.replace(CONFIG, min_records=100))
    assert result["verdicts"] == {
        "Champion": "insufficient_data",
        "Challenger": "insufficient_data",
    }
    assert result["verdict"] == "insufficient_data"
    document = report_of(aws, result)
    assert document["records"]["joined"] == 120 and document["metrics"]["accuracy"] == 0.5
    names = {
        m["MetricName"]
        for m in aws["cloudwatch"].list_metrics(Namespace="Test/ModelQuality")["Metrics"]
    }
    assert "InsufficientData" in names and "Degraded" not in names
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10)
    verdicts = [json.loads(m["Body"])["detail"]["verdict"] for m in messages["Messages"]]
    assert sorted(verdicts) == ["insufficient_data", "insufficient_data"]


def test_a_fan_out_gives_the_report_of_one_pass(aws: dict[str, Any]) -> None:
    """Shards of the join by ID partition, merged, equal the single pass (bad data included)."""
    traffic(aws["s3"], "Champion", 400, wrong_every=20, objects=8)
    traffic(aws["s3"], "Challenger", 400, wrong_every=3, objects=8)
    hour = START.replace(hour=13)
    put_truth(
        aws["s3"],
        hour,
        [
            truth_line("Champion-0", "1"),
            truth_line("orphan", "1"),
            "not json",
            truth_line("x", "?"),
        ],
        "bad",
    )
    single = report_of(aws, run(aws))
    fanned = dataclasses.replace(CONFIG, max_objects=2, partition_mb=1)
    planned = monitor.plan(aws["s3"], fanned, time=TIME, run="exec-1")
    assert planned["mode"] == "map" and planned["partition_count"] == 1
    # Force several shards: the partition count follows the bytes, so shrink them.
    many = report_of(aws, run_with_partitions(aws, fanned, 5))
    for document in (single, many):
        document.pop("mode")
    assert many == single
    # Champion-0's prediction and its two labels.
    assert single["rejected"] == {
        "duplicate_id": 3,
        "label_without_prediction": 1,
        "malformed_ground_truth_line": 1,
        "unparseable_label": 1,
    }


def test_a_fan_out_splits_mixed_ids_as_the_join_joins_them(aws: dict[str, Any]) -> None:
    """Records with and without an inference ID: the shards split them by the ID the join uses."""
    traffic(aws["s3"], "Champion", 200, wrong_every=20, objects=4)
    captures, truths = [], []
    for i in range(200):
        inference = f"req-{i}" if i % 2 else None
        line = capture_line(f"mixed-{i}", "0.8", inference_id=inference)
        # SageMaker's own compact layout (the join's fast path) for half of them.
        captures.append(json.dumps(json.loads(line), separators=(",", ":")) if i % 4 < 2 else line)
        truths.append(truth_line(inference or f"mixed-{i}", "1"))
    put_capture(aws["s3"], "Challenger", START + dt.timedelta(minutes=30), captures, "mixed")
    put_truth(aws["s3"], START.replace(hour=13), truths, "mixed")
    single = report_of(aws, run(aws))
    fanned = dataclasses.replace(CONFIG, max_objects=2, partition_mb=1)
    many = report_of(aws, run_with_partitions(aws, fanned, 5))
    for document in (single, many):
        document.pop("mode")
    assert many == single
    assert single["variants"]["Challenger"]["records"]["joined"] == 200
    assert single["rejected"] == {}


def run_with_partitions(aws: dict[str, Any], config: Config, partitions: int) -> dict[str, Any]:
    s3 = aws["s3"]
    planned = monitor.plan(s3, config, time=TIME, run="exec-2")
    planned["partition_count"] = partitions
    planned["partitions"] = list(range(partitions))
    manifest = json.loads(
        s3.get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    for i in range(0, len(manifest), 4):
        monitor.split(
            s3,
            config,
            [
                {"run": "exec-2", "partitions": partitions, "item": item}
                for item in manifest[i : i + 4]
            ],
        )
    listed = config.run_prefix("exec-2") + "shards/"
    shards = {
        o["Key"].removeprefix(listed).split("/")[0]
        for o in s3.list_objects_v2(Bucket=REPORTS, Prefix=listed)["Contents"]
    }
    assert len(shards) == partitions
    for partition in range(partitions):
        monitor.join_partition(s3, config, run="exec-2", partition=partition)
    return monitor.finish(aws, config, planned)


def test_bad_data_is_counted_by_reason_nothing_lost(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    at = START + dt.timedelta(minutes=5)
    put_capture(
        s3,
        "Champion",
        at,
        [
            capture_line("a", "0.9"),
            capture_line("b", "0.1"),
            capture_line("dup", "0.4"),
            capture_line("dup", "0.6"),
            capture_line("nolabel", "0.7"),
            capture_line("bad-score", "1.7"),
            "{not json",
        ],
    )
    put_truth(
        s3,
        START.replace(hour=13),
        [
            truth_line("a", "1"),
            truth_line("b", "maybe"),
            truth_line("dup", "1"),
            truth_line("orphan", "0"),
            '{"groundTruthData": {}}',
        ],
    )
    config = dataclasses.replace(CONFIG, variants=("Champion",), min_records=1)
    document = report_of(aws, run(aws, config))
    champion = document["variants"]["Champion"]
    assert champion["records"]["predictions"] == 7
    assert champion["records"]["joined"] == 1
    assert champion["rejected"] == {
        "malformed_capture_line": 1,
        "unparseable_prediction": 1,
        "duplicate_id": 2,
        "prediction_without_label": 2,
    }
    assert document["records"]["labels"] == 5
    # Labels not joined are counted once, for the window.
    assert document["rejected"] == {
        "malformed_capture_line": 1,
        "unparseable_prediction": 1,
        "duplicate_id": 3,
        "prediction_without_label": 2,
        "label_without_prediction": 1,
        "malformed_ground_truth_line": 1,
        "unparseable_label": 1,
    }
    # Nothing lost: every record read is joined or counted under one reason.
    assert 2 * 1 + sum(document["rejected"].values()) == 7 + 5


def test_too_few_joined_records_are_insufficient_data_never_ok(aws: dict[str, Any]) -> None:
    traffic(aws["s3"], "Champion", 40, wrong_every=20)
    result = run(aws)
    assert result["verdicts"] == {
        "Champion": "insufficient_data",
        "Challenger": "insufficient_data",
    }
    listed = aws["cloudwatch"].list_metrics(Namespace="Test/ModelQuality")["Metrics"]
    assert "Degraded" not in {m["MetricName"] for m in listed}
    assert "InsufficientData" in {m["MetricName"] for m in listed}


def test_labels_later_than_the_delay_and_traffic_outside_the_window_are_not_read(
    aws: dict[str, Any],
) -> None:
    s3 = aws["s3"]
    put_capture(s3, "Champion", START - dt.timedelta(minutes=1), [capture_line("early", "0.9")])
    put_capture(s3, "Champion", START + dt.timedelta(minutes=59), [capture_line("in", "0.9")])
    put_capture(s3, "Champion", START + dt.timedelta(minutes=61), [capture_line("late", "0.9")])
    put_truth(s3, START.replace(hour=13), [truth_line("in", "1")], "in-time")
    put_truth(s3, START.replace(hour=14), [truth_line("early", "1")], "too-late")
    planned = monitor.plan(s3, CONFIG, time=TIME, run="exec-1")
    assert planned["objects"] == {"capture": 1, "ground_truth": 1}
    assert planned["labels_until"] == "2026-11-30T14:00:00Z"


def test_constraints_from_a_file_and_relative_thresholds(aws: dict[str, Any]) -> None:
    traffic(aws["s3"], "Champion", 400, wrong_every=20)
    traffic(aws["s3"], "Challenger", 400, wrong_every=6)
    aws["s3"].put_object(
        Bucket=REPORTS,
        Key="baselines/constraints.json",
        Body=json.dumps(
            {
                "version": 0.0,
                "binary_classification_constraints": {
                    "recall": {"threshold": 0.5, "comparison_operator": "LessThanThreshold"},
                    "true_positive_rate": {
                        "threshold": 0.5,
                        "comparison_operator": "LessThanThreshold",
                    },
                },
            }
        ),
    )
    config = dataclasses.replace(
        CONFIG,
        constraints_bucket=REPORTS,
        constraints_key="baselines/constraints.json",
        baseline_metrics={"f1": 0.9},
        thresholds={"f1": MetricThreshold(relative=0.1)},
    )
    document = report_of(aws, run(aws, config))
    assert {
        "metric": "f1",
        "threshold": pytest.approx(0.81),
        "comparison_operator": "LessThanThreshold",
    } in document["judged_by"]
    verdicts = {v: part["verdict"] for v, part in document["variants"].items()}
    assert verdicts == {"Champion": "ok", "Challenger": "degraded"}
    assert (
        "binary_classification_constraints.true_positive_rate"
        in (document["constraints_not_checked"])
    )


def test_regression_and_errors_degrade_when_they_rise(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    predictions, labels = [], []
    for variant, error in (("Champion", 1.0), ("Challenger", 9.0)):
        lines, truths = [], []
        for i in range(100):
            y = 100.0 + i
            p = y + (error if i % 2 else -error)
            lines.append(capture_line(f"{variant}{i}", f"{p}"))
            truths.append(truth_line(f"{variant}{i}", f"{y}"))
            if variant == "Challenger":
                predictions.append(p)
                labels.append(y)
        put_capture(s3, variant, START + dt.timedelta(minutes=3), lines)
        put_truth(s3, START.replace(hour=13), truths, variant)
    config = dataclasses.replace(
        CONFIG, problem="regression", thresholds={"mae": MetricThreshold(absolute=5.0)}
    )
    result = run(aws, config)
    assert result["verdicts"] == {"Champion": "ok", "Challenger": "degraded"}
    document = report_of(aws, result)
    assert document["variants"]["Challenger"]["metrics"]["mae"] == pytest.approx(
        sk.mean_absolute_error(labels, predictions), abs=1e-9
    )
    assert document["judged_by"] == [
        {"metric": "mae", "threshold": 5.0, "comparison_operator": "GreaterThanThreshold"}
    ]


def test_the_handler_dispatches_each_action(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    traffic(aws["s3"], "Champion", 120, wrong_every=20)
    config = dataclasses.replace(CONFIG, max_objects=1)
    monkeypatch.setenv("QUALITY_CONFIG", json.dumps(config.to_json()))
    planned = index.handler({"action": "plan", "time": TIME, "run": "exec-9"}, None)
    assert planned["mode"] == "map"
    manifest = json.loads(
        aws["s3"].get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    items = [
        {"run": "exec-9", "partitions": planned["partition_count"], "item": i} for i in manifest
    ]
    assert index.handler({"action": "split", "items": items}, None)["objects"] == len(manifest)
    for partition in planned["partitions"]:
        index.handler({"action": "join", "run": "exec-9", "partition": partition}, None)
    finished = index.handler({"action": "finish", "plan": planned}, None)
    assert finished["verdicts"]["Champion"] == "ok"
    planned["mode"] = "single"
    assert (
        index.handler({"action": "check", "plan": planned}, None)["verdicts"]
        == finished["verdicts"]
    )
    with pytest.raises(ValueError, match="unknown action 'score'"):
        index.handler({"action": "score"}, None)


def test_the_handler_refuses_a_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {**CONFIG.to_json(), "window_seconds": 30}
    monkeypatch.setenv("QUALITY_CONFIG", json.dumps(bad))
    with pytest.raises(ConfigError, match="window_seconds=30 is invalid"):
        index.handler({"action": "plan", "time": TIME, "run": "x"}, None)


def test_the_configuration_survives_its_json() -> None:
    config = dataclasses.replace(
        CONFIG,
        constraints=(Constraint("recall", 0.5, "LessThanThreshold"),),
        baseline_metrics={"f1": 0.9},
        thresholds={"f1": MetricThreshold(relative=0.1, absolute=0.7)},
        prediction_attribute="predictions.0.score",
    )
    assert Config.from_json(json.loads(json.dumps(config.to_json()))) == config


# --- faults --------------------------------------------------------------------------


def test_a_missing_partial_fails_the_run_rather_than_judging_part_of_it(
    aws: dict[str, Any],
) -> None:
    traffic(aws["s3"], "Champion", 120, wrong_every=20)
    config = dataclasses.replace(CONFIG, max_objects=1)
    planned = monitor.plan(aws["s3"], config, time=TIME, run="exec-3")
    planned["partition_count"], planned["partitions"] = 2, [0, 1]
    manifest = json.loads(
        aws["s3"].get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    monitor.split(
        aws["s3"], config, [{"run": "exec-3", "partitions": 2, "item": i} for i in manifest]
    )
    monitor.join_partition(aws["s3"], config, run="exec-3", partition=0)
    with pytest.raises(RuntimeError, match=r"found 1 partial counts .* expected 2"):
        monitor.finish(aws, config, planned)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([], "it must name exactly one"),
        (
            [
                {"run": "a", "partitions": 2, "item": {}},
                {"run": "b", "partitions": 2, "item": {}},
            ],
            "it must name exactly one",
        ),
        ([{"run": "$.plan.run", "partitions": 2, "item": {}}], "expected the execution's"),
        ([{"run": "a", "partitions": "2", "item": {}}], "expected the execution's"),
    ],
    ids=["empty", "two runs", "a path passed through as text", "partitions as text"],
)
def test_a_split_batch_must_name_one_run(batch: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        monitor.split(None, CONFIG, batch)


def test_a_refused_event_fails_the_step(aws: dict[str, Any]) -> None:
    traffic(aws["s3"], "Champion", 120, wrong_every=20)

    class Refusing:
        def put_events(self, **_: Any) -> dict[str, Any]:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "AccessDenied"}]}

    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run="exec-4")
    with pytest.raises(RuntimeError, match="EventBridge refused the quality event"):
        monitor.check({**aws, "events": Refusing()}, CONFIG, planned)


def test_an_unreadable_constraints_file_fails_the_step(aws: dict[str, Any]) -> None:
    traffic(aws["s3"], "Champion", 120, wrong_every=20)
    aws["s3"].put_object(Bucket=REPORTS, Key="c.json", Body=b"[]")
    config = dataclasses.replace(CONFIG, constraints_bucket=REPORTS, constraints_key="c.json")
    planned = monitor.plan(aws["s3"], config, time=TIME, run="exec-5")
    with pytest.raises(ValueError, match="a constraints file is a JSON object"):
        monitor.check(aws, config, planned)
