"""The Lambda steps against moto: capture objects in S3 -> report, metrics, event.

moto's server cannot run Lambda functions, so the steps run in process
(``moto.mock_aws``), called as the state machine calls them; the handler
itself is called once per action to prove its dispatch.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cdk_sagemaker_hosting._lambda.drift import index, monitor
from cdk_sagemaker_hosting._lambda.drift.check import hour_prefixes, in_window, window
from cdk_sagemaker_hosting._lambda.drift.monitor import Config
from cdk_sagemaker_hosting._lambda.drift.rules import ConfigError
from moto import mock_aws

from tests.drift.helpers import capture_line, live_payloads, sample_baseline

BUCKET = "capture-bucket"
REPORTS = "report-bucket"
CONFIG = Config(
    endpoint="fraud",
    variants=("Blue", "Green"),
    capture_bucket=BUCKET,
    capture_prefix="data-capture/",
    baseline_bucket=BUCKET,
    baseline_key="baselines/fraud.json",
    report_bucket=REPORTS,
    report_prefix="drift-reports/",
    namespace="Test/DataDrift",
    event_bus="default",
    window_seconds=3600,
    delay_seconds=300,
    max_objects=4,
)
#: The schedule fired at 14:07; the window is 13:00-14:00.
TIME = "2024-05-01T14:07:00Z"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        for bucket in (BUCKET, REPORTS):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(
            Bucket=BUCKET,
            Key=CONFIG.baseline_key,
            Body=json.dumps(sample_baseline(5000).to_json()),
        )
        events = boto3.client("events")
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="drift-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name="drift",
            EventPattern=json.dumps({"source": [monitor.EVENT_SOURCE]}),
        )
        events.put_targets(Rule="drift", Targets=[{"Id": "q", "Arn": queue_arn}])
        yield {
            "s3": s3,
            "cloudwatch": boto3.client("cloudwatch"),
            "events": events,
            "sqs": sqs,
            "queue": queue,
        }


def put_capture(s3: Any, variant: str, hour: str, name: str, payloads: list[str]) -> None:
    key = f"data-capture/fraud/{variant}/2024/05/01/{hour}/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(capture_line(p) for p in payloads) + "\n")


def fill_window(s3: Any) -> None:
    """Blue: 6 objects in the window, drifting; Green: 2, steady; and objects outside it."""
    for i in range(6):
        shifted = [
            f"{float(a) + 40},{int(b) + 40},{s}"
            for a, b, s in (p.split(",") for p in live_payloads(300, seed=i))
        ]
        if i == 2:
            shifted.append("garbage,,")
        put_capture(s3, "Blue", "13", f"{10 * i:02d}-00-000-b{i}.jsonl", shifted)
    for i in range(2):
        put_capture(
            s3, "Green", "13", f"{20 * i:02d}-30-500-g{i}.jsonl", live_payloads(400, seed=i)
        )
    put_capture(s3, "Blue", "12", "59-59-999-old.jsonl", ["1,2,CA"] * 50)
    put_capture(s3, "Blue", "14", "00-00-000-new.jsonl", ["1,2,CA"] * 50)


def test_window_is_aligned_and_deterministic() -> None:
    at = dt.datetime(2024, 5, 1, 14, 7, tzinfo=dt.UTC)
    start, end = window(at, dt.timedelta(hours=1), dt.timedelta(minutes=5))
    assert (start.hour, end.hour, end.minute) == (13, 14, 0)
    # a schedule firing at 14:03 is still inside the delay: the window before
    early = window(at.replace(minute=3), dt.timedelta(hours=1), dt.timedelta(minutes=5))
    assert early[1].hour == 13
    quarter = window(at, dt.timedelta(minutes=15))
    assert (quarter[0].minute, quarter[1].minute) == (45, 0)
    assert hour_prefixes("p/", "e", "v", *quarter) == ["p/e/v/2024/05/01/13/"]
    assert in_window("p/e/v/2024/05/01/13/59-59-999-x.jsonl", *quarter)
    assert not in_window("p/e/v/2024/05/01/13/44-59-999-x.jsonl", *quarter)
    assert in_window("p/e/v/2024/05/01/13/unnamed.jsonl", *window(at, dt.timedelta(hours=1)))


def test_plan_lists_the_window_and_chooses_a_map(aws: dict[str, Any]) -> None:
    fill_window(aws["s3"])
    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run="run-1")
    assert planned["mode"] == "map" and planned["objects"] == 8
    assert planned["window"] == {"start": "2024-05-01T13:00:00Z", "end": "2024-05-01T14:00:00Z"}
    manifest = json.loads(
        aws["s3"].get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    assert {i["variant"] for i in manifest} == {"Blue", "Green"} and len(manifest) == 8
    assert all("/13/" in i["key"] for i in manifest)
    small = monitor.plan(
        aws["s3"], Config(**{**CONFIG.__dict__, "max_objects": 8}), time=TIME, run="r"
    )
    assert small["mode"] == "single"


def concluded() -> dt.datetime:
    """The clock of the steps here: the check concludes at its scheduled time."""
    return monitor.parse_time(TIME)


def run_single(aws: dict[str, Any]) -> dict[str, Any]:
    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run="single")
    # The check concludes at its scheduled time (its metrics are stamped then).
    return monitor.check(aws, CONFIG, {**planned, "mode": "single"}, clock=concluded)


def run_map(aws: dict[str, Any], batch: int) -> dict[str, Any]:
    run = f"mapped-{batch}"
    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run=run)
    manifest = json.loads(
        aws["s3"].get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    for i in range(0, len(manifest), batch):  # what the Distributed Map's batches do
        monitor.count(aws["s3"], CONFIG, run=run, items=manifest[i : i + batch])
    return monitor.finish(aws, CONFIG, planned, clock=concluded)


def report_of(aws: dict[str, Any], variant: str) -> dict[str, Any]:
    key = CONFIG.report_key(variant, dt.datetime(2024, 5, 1, 13, tzinfo=dt.UTC))
    return json.loads(aws["s3"].get_object(Bucket=REPORTS, Key=key)["Body"].read())


def test_split_over_a_map_gives_the_single_pass_report(aws: dict[str, Any]) -> None:
    fill_window(aws["s3"])
    single = run_single(aws)
    single_reports = {v: report_of(aws, v) for v in CONFIG.variants}
    for batch in (1, 3):
        mapped = run_map(aws, batch)
        assert mapped["variants"] == single["variants"]
        assert {v: report_of(aws, v) for v in CONFIG.variants} == single_reports
    blue, green = single_reports["Blue"], single_reports["Green"]
    assert blue["verdict"] == "drift" and blue["drifted_features"] == ["amount", "age"]
    assert (blue["objects"], blue["records"]["read"], blue["records"]["used"]) == (6, 1801, 1801)
    assert blue["features"][0]["rejected"]["non_numeric"] == 1
    assert green["verdict"] == "no_drift" and green["objects"] == 2


def test_metrics_per_endpoint_and_variant(aws: dict[str, Any]) -> None:
    fill_window(aws["s3"])
    run_single(aws)
    metrics = aws["cloudwatch"].list_metrics(Namespace=CONFIG.namespace)["Metrics"]
    names = {(m["MetricName"], tuple(sorted(d["Value"] for d in m["Dimensions"]))) for m in metrics}
    assert ("DatasetDrift", ("Blue", "fraud")) in names
    assert ("DatasetDrift", ("Green", "fraud")) in names
    assert ("FeatureDriftScore", ("Blue", "amount", "fraud")) in names
    assert {m["MetricName"] for m in metrics} == {
        "DatasetDrift",
        "DriftShare",
        "FeatureDriftScore",
        "InsufficientData",
        "LinesRejected",
        "RecordsRead",
        "RecordsRejected",
    }
    data = aws["cloudwatch"].get_metric_statistics(
        Namespace=CONFIG.namespace,
        MetricName="DatasetDrift",
        Dimensions=[
            {"Name": "EndpointName", "Value": "fraud"},
            {"Name": "VariantName", "Value": "Blue"},
        ],
        StartTime=dt.datetime(2024, 5, 1, 13, tzinfo=dt.UTC),
        EndTime=dt.datetime(2024, 5, 1, 15, tzinfo=dt.UTC),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert [d["Maximum"] for d in data] == [1.0]


def test_event_per_variant_for_a_retraining_pipeline(aws: dict[str, Any]) -> None:
    fill_window(aws["s3"])
    run_single(aws)
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue"], MaxNumberOfMessages=10)["Messages"]
    events = sorted((json.loads(m["Body"]) for m in messages), key=lambda e: e["detail"]["variant"])
    assert [e["detail-type"] for e in events] == [monitor.EVENT_DETAIL_TYPE] * 2
    blue = events[0]["detail"]
    assert (blue["endpoint"], blue["variant"], blue["verdict"]) == ("fraud", "Blue", "drift")
    assert blue["report"] == f"s3://{REPORTS}/drift-reports/fraud/Blue/2024/05/01/1300.json"
    assert blue["drifted_features"] == ["amount", "age"]


def test_the_html_page_is_written_beside_the_json(aws: dict[str, Any]) -> None:
    fill_window(aws["s3"])
    summary = run_single(aws)
    key = CONFIG.report_key("Blue", dt.datetime(2024, 5, 1, 13, tzinfo=dt.UTC))
    page = aws["s3"].get_object(Bucket=REPORTS, Key=key.replace(".json", ".html"))
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["Body"].read().decode().startswith("<!DOCTYPE html>")
    assert summary["variants"]["Blue"]["html"] == f"s3://{REPORTS}/{key[:-5]}.html"


def test_an_empty_window_reports_insufficient_data(aws: dict[str, Any]) -> None:
    summary = run_single(aws)
    assert {v["verdict"] for v in summary["variants"].values()} == {"insufficient_data"}
    report = report_of(aws, "Blue")
    assert (report["objects"], report["lines"]["read"]) == (0, 0)
    metrics = aws["cloudwatch"].list_metrics(Namespace=CONFIG.namespace, MetricName="DatasetDrift")
    assert metrics["Metrics"] == []  # no verdict, no datapoint: the alarm sees missing data


def test_handler_dispatches_each_action(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFT_CONFIG", json.dumps({**CONFIG.__dict__, "thresholds": {"psi": 0.25}}))
    fill_window(aws["s3"])
    planned = index.handler({"action": "plan", "time": TIME, "run": "h"}, None)
    assert planned["mode"] == "map"
    manifest = json.loads(
        aws["s3"].get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    batch = [{"run": "h", "item": item} for item in manifest]  # as the Map's ItemSelector
    written = index.handler({"action": "count", "items": batch}, None)
    assert written["objects"] == 8 and written["partial"].startswith(
        "drift-reports/_runs/fraud/h/partials/"
    )
    finished = index.handler({"action": "finish", "plan": planned}, None)
    assert finished["variants"]["Blue"]["verdict"] == "drift"
    checked = index.handler({"action": "check", "plan": planned}, None)
    assert checked["variants"] == finished["variants"]
    assert report_of(aws, "Blue")["thresholds"]["psi"] == 0.25
    with pytest.raises(ValueError, match="unknown action"):
        index.handler({"action": "dance"}, None)


def test_a_batch_gives_its_run_and_its_manifest_entries() -> None:
    entries = [{"variant": "Blue", "key": "a"}, {"variant": "Green", "key": "b"}]
    batch: list[monitor.BatchItem] = [{"run": "exec-1", "item": e} for e in entries]
    assert monitor.batch_run(batch) == ("exec-1", entries)


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([], "a batch names runs none: it must name exactly one"),
        (["a", "b"], "a batch names runs 'a', 'b': it must name exactly one"),
        # What a child got when the run went through BatchInput as fixed JSON.
        (["$.plan.run"], "a batch names run '$.plan.run': expected the execution's name"),
        ([""], "a batch names run '': expected the execution's name"),
    ],
)
def test_a_batch_without_one_real_run_is_refused(runs: list[str], message: str) -> None:
    batch: list[monitor.BatchItem] = [
        {"run": r, "item": {"variant": "Blue", "key": r}} for r in runs
    ]
    with pytest.raises(ValueError, match=re.escape(message)):
        monitor.batch_run(batch)


def test_a_batch_is_counted_under_its_run(aws: dict[str, Any]) -> None:
    fill_window(aws["s3"])
    planned = monitor.plan(aws["s3"], CONFIG, time=TIME, run="exec-7")
    manifest = json.loads(
        aws["s3"].get_object(Bucket=REPORTS, Key=planned["manifest"]["key"])["Body"].read()
    )
    batch: list[monitor.BatchItem] = [{"run": "exec-7", "item": item} for item in manifest]
    written = monitor.count_batch(aws["s3"], CONFIG, batch)
    assert written["partial"].startswith(CONFIG.run_prefix("exec-7") + "partials/")
    assert monitor.finish(aws, CONFIG, planned)["variants"] == run_single(aws)["variants"]


def test_the_config_round_trips_through_its_json() -> None:
    again = Config.from_json(json.loads(json.dumps(CONFIG.to_json())))
    assert again == CONFIG


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"window_seconds": 330}, "window_seconds=330 is invalid: must be whole minutes"),
        ({"delay_seconds": 7200}, "delay_seconds=7200 is invalid: must be a whole number from 0"),
        ({"max_objects": 0}, "max_objects=0 is invalid: must be a whole number from 1 to 100000"),
        ({"variants": []}, "variants=[] is invalid: name at least one variant"),
        ({"variants": ["Blue", "no_way"]}, "variants[1]='no_way' is invalid: use 1-63 letters"),
        ({"capture_prefix": "capture"}, "capture_prefix='capture' is invalid: must be an S3 key"),
        (
            {"report_prefix": "s3://bucket/reports/"},
            "report_prefix='s3://bucket/reports/' is invalid: give the prefix within the bucket",
        ),
        ({"baseline_key": "/b.json"}, "baseline_key='/b.json' is invalid: must be an S3 object"),
        (
            {"report_bucket": BUCKET, "report_prefix": "data-capture/reports/"},
            "report_prefix='data-capture/reports/' is invalid: must not overlap the capture "
            "prefix 'data-capture/' in the same bucket",
        ),
        ({"namespace": "AWS/Drift"}, "namespace='AWS/Drift' is invalid: 1-255 letters"),
        ({"thresholds": {"psi": -1}}, "thresholds.psi=-1 is invalid: must be a positive number"),
    ],
)
def test_a_bad_config_is_refused_when_the_function_reads_it(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        Config.from_json({**CONFIG.to_json(), **change})
    assert isinstance(error.value, ConfigError)


def test_the_construct_passes_what_it_cannot_know_yet() -> None:
    token = "${Token[TOKEN.1]}"
    unknown = Config(
        **{**CONFIG.__dict__, "endpoint": token, "capture_prefix": token, "namespace": token}
    )
    assert unknown.problems(lambda v: isinstance(v, str) and "${Token[" in v) == []
    assert [p.field for p in unknown.problems()] == ["capture_prefix", "namespace"]
