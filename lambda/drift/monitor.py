"""The scheduled check, step by step, with its AWS clients passed in.

``plan`` lists the window's capture objects of every variant into a manifest
and says whether one invocation can read them (``single``) or a Distributed
Map should (``map``). ``check`` reads them all in one invocation; ``count``
reads one batch of a Map and writes its partial counts to S3; ``finish``
sums the partial counts. Both ends meet in :func:`conclude`, which scores,
writes the report, publishes the metrics and emits the event, so a window
gives the same report whichever way it was read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypedDict

from . import baseline as baseline_module
from . import render, rules
from .baseline import Baseline
from .check import count_s3_objects, list_window, parse_time, window
from .counts import Counts, total
from .report import DRIFT, INSUFFICIENT_DATA, Thresholds, score
from .rules import ConfigError, Problem, Unknown, never_unknown

#: The ``source`` of every event this check emits.
EVENT_SOURCE = "cdk-sagemaker-hosting.drift"
#: The ``detail-type`` of the event emitted per variant and window.
EVENT_DETAIL_TYPE = "SageMaker Data Drift Check"
#: Metrics per PutMetricData call.
METRICS_PER_CALL = 500


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What the construct tells the function (environment variable ``DRIFT_CONFIG``).

    The ``DriftMonitor`` construct builds this very type from its props and
    checks it while the app is synthesised; the function checks it again
    when it reads it.
    """

    endpoint: str
    variants: tuple[str, ...]
    capture_bucket: str
    capture_prefix: str
    baseline_bucket: str
    baseline_key: str
    report_bucket: str
    report_prefix: str
    namespace: str
    event_bus: str
    window_seconds: int = 3600
    delay_seconds: int = 300
    max_objects: int = 200
    thresholds: Thresholds = dataclasses.field(default_factory=Thresholds)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Config:
        """The configuration, from its JSON, checked (:class:`ConfigError` names every problem)."""
        values = dict(data)
        values["variants"] = tuple(values["variants"])
        values["thresholds"] = Thresholds(**(values.get("thresholds") or {}))
        return Config(**values).check()

    def to_json(self) -> dict[str, Any]:
        """The JSON :meth:`from_json` reads (what the construct puts in ``DRIFT_CONFIG``)."""
        data = dataclasses.asdict(self)
        data["variants"] = list(self.variants)
        data["thresholds"] = self.thresholds.to_json()
        return data

    def check(self, unknown: Unknown = never_unknown) -> Config:
        """This configuration, if it keeps every rule; else :class:`ConfigError`."""
        problems = self.problems(unknown)
        if problems:
            raise ConfigError(problems)
        return self

    def problems(self, unknown: Unknown = never_unknown) -> list[Problem]:
        """Every rule this configuration breaks; values ``unknown`` says are unknown pass.

        The construct passes its test for deploy-time tokens (bucket names, an
        endpoint name given as a parameter); the function knows every value.
        """
        found: list[Problem | None] = []
        if not unknown(self.endpoint) and not self.endpoint:
            found.append(Problem("endpoint", self.endpoint, "must name the endpoint"))
        if not self.variants:
            found.append(Problem("variants", [], "name at least one variant to check"))
        found += [
            rules.variant_name(f"variants[{i}]", name)
            for i, name in enumerate(self.variants)
            if not unknown(name)
        ]
        for field in ("capture_prefix", "report_prefix"):
            if not unknown(getattr(self, field)):
                found.append(rules.s3_prefix(field, getattr(self, field)))
        if not unknown(self.baseline_key):
            found.append(rules.s3_key("baseline_key", self.baseline_key))
        found.append(self._overlap(unknown))
        window = self.window_seconds
        if not rules.is_whole(window) or window % 60 or not 300 <= window <= 86400:
            found.append(
                Problem("window_seconds", window, "must be whole minutes, from 5 minutes to 1 day")
            )
        found.append(rules.whole_in("delay_seconds", self.delay_seconds, 0, 3600, " s"))
        found.append(rules.whole_in("max_objects", self.max_objects, 1, 100_000))
        if not unknown(self.namespace):
            found.append(rules.namespace("namespace", self.namespace))
        found += [p.under("thresholds") for p in self.thresholds.problems()]
        return [p for p in found if p is not None]

    def _overlap(self, unknown: Unknown) -> Problem | None:
        """Reports written among the captured traffic would be read back as traffic."""
        capture, report = self.capture_prefix, self.report_prefix
        if (
            unknown(capture)
            or unknown(report)
            or not isinstance(capture, str)
            or not isinstance(report, str)
            # Two names only known at deploy time may still name one bucket:
            # equal tokens do, different ones cannot be told apart here.
            or self.capture_bucket != self.report_bucket
        ):
            return None
        if report.startswith(capture) or capture.startswith(report):
            return Problem(
                "report_prefix",
                report,
                f"must not overlap the capture prefix {capture!r} in the same bucket: the "
                "check would read its own reports and scratch files as captured traffic",
            )
        return None

    def scratch_prefix(self) -> str:
        """The endpoint's own scratch folder: its executions' manifests and partial counts.

        Per endpoint, so that monitors sharing a report bucket and prefix
        never read or overwrite each other's scratch files. An endpoint name
        never starts with ``_``, so this is never an endpoint's report folder.
        """
        return f"{self.report_prefix}_runs/{self.endpoint}/"

    def run_prefix(self, run: str) -> str:
        """Where one execution keeps its manifest and partial counts."""
        return f"{self.scratch_prefix()}{run}/"

    def report_folder(self) -> str:
        """Where the reports of this endpoint's windows go (and nothing else of the check)."""
        return f"{self.report_prefix}{self.endpoint}/"

    def report_key(self, variant: str, start: dt.datetime) -> str:
        """Where the report of one variant and window goes."""
        return f"{self.report_folder()}{variant}/{start:%Y/%m/%d/%H%M}.json"


def _iso(time: dt.datetime) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ")


def load_baseline(s3: Any, config: Config) -> Baseline:
    """The baseline object of the configuration."""
    body = s3.get_object(Bucket=config.baseline_bucket, Key=config.baseline_key)["Body"].read()
    return baseline_module.loads(body)


def plan(s3: Any, config: Config, *, time: str, run: str) -> dict[str, Any]:
    """List the window's objects into a manifest; choose one invocation or a Map."""
    start, end = window(
        parse_time(time),
        dt.timedelta(seconds=config.window_seconds),
        dt.timedelta(seconds=config.delay_seconds),
    )
    items = [
        {"variant": variant, "key": key}
        for variant in config.variants
        for key in list_window(
            s3,
            bucket=config.capture_bucket,
            prefix=config.capture_prefix,
            endpoint=config.endpoint,
            variant=variant,
            start=start,
            end=end,
        )
    ]
    manifest = config.run_prefix(run) + "manifest.json"
    s3.put_object(
        Bucket=config.report_bucket,
        Key=manifest,
        Body=json.dumps(items).encode(),
        ContentType="application/json",
    )
    return {
        "mode": "map" if len(items) > config.max_objects else "single",
        "run": run,
        "window": {"start": _iso(start), "end": _iso(end)},
        "objects": len(items),
        "manifest": {"bucket": config.report_bucket, "key": manifest},
    }


def count_items(
    s3: Any, baseline: Baseline, config: Config, items: list[dict[str, str]]
) -> dict[str, Counts]:
    """Counts per variant of the capture objects ``items`` (``{"variant", "key"}``)."""
    per_variant = {v: Counts(baseline) for v in config.variants}
    for item in items:
        count_s3_objects(s3, per_variant[item["variant"]], config.capture_bucket, [item["key"]])
    return per_variant


def utc_now() -> dt.datetime:
    """The time now, in UTC (the clock the steps use unless given another)."""
    return dt.datetime.now(dt.UTC)


def check(
    clients: dict[str, Any],
    config: Config,
    planned: dict[str, Any],
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Read every object of the manifest in this invocation, then conclude."""
    s3 = clients["s3"]
    baseline = load_baseline(s3, config)
    manifest = planned["manifest"]
    items = json.loads(s3.get_object(Bucket=manifest["bucket"], Key=manifest["key"])["Body"].read())
    counted = count_items(s3, baseline, config, items)
    return conclude(clients, config, baseline, planned, counted, clock=clock)


class BatchItem(TypedDict):
    """One item of a Distributed Map batch, as the Map's ItemSelector builds it.

    ``item`` is the manifest's entry (``{"variant", "key"}``); ``run`` is the
    execution's run, selected from the Map's input by path so that every
    batch writes its partial counts where :func:`finish` reads them.
    """

    run: str
    item: dict[str, str]


def batch_run(batch: list[BatchItem]) -> tuple[str, list[dict[str, str]]]:
    """The run a batch belongs to and its manifest entries; one run, named, or refused."""
    runs = {entry.get("run") for entry in batch}
    if not batch or len(runs) != 1:
        names = ", ".join(sorted(map(repr, runs))) or "none"
        msg = f"a batch names runs {names}: it must name exactly one"
        raise ValueError(msg)
    (run,) = runs
    # Execution names cannot hold "$": one that starts with it is a path
    # Step Functions passed through as text.
    if not isinstance(run, str) or not run or run.startswith("$"):
        msg = f"a batch names run {run!r}: expected the execution's name, not a path or nothing"
        raise ValueError(msg)
    return run, [entry["item"] for entry in batch]


def count_batch(s3: Any, config: Config, batch: list[BatchItem]) -> dict[str, Any]:
    """The Map's Count step: the batch's run from its items, then :func:`count`."""
    run, items = batch_run(batch)
    return count(s3, config, run=run, items=items)


def count(s3: Any, config: Config, *, run: str, items: list[dict[str, str]]) -> dict[str, Any]:
    """One batch of a Distributed Map: write its partial counts to S3, return their key.

    The key derives from the batch's objects, so a retried batch overwrites
    its own partial counts rather than adding a second copy.
    """
    baseline = load_baseline(s3, config)
    per_variant = count_items(s3, baseline, config, items)
    digest = hashlib.sha256("\n".join(sorted(i["key"] for i in items)).encode()).hexdigest()
    key = f"{config.run_prefix(run)}partials/{digest[:32]}.json"
    body = {"variants": {v: c.to_json() for v, c in per_variant.items()}}
    s3.put_object(
        Bucket=config.report_bucket,
        Key=key,
        Body=json.dumps(body).encode(),
        ContentType="application/json",
    )
    return {"partial": key, "objects": len(items)}


def finish(
    clients: dict[str, Any],
    config: Config,
    planned: dict[str, Any],
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Sum the partial counts the Map's batches wrote, then conclude."""
    s3 = clients["s3"]
    baseline = load_baseline(s3, config)
    prefix = config.run_prefix(planned["run"]) + "partials/"
    parts: dict[str, list[dict[str, Any]]] = {v: [] for v in config.variants}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=config.report_bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=config.report_bucket, Key=obj["Key"])["Body"].read()
            for variant, data in json.loads(body)["variants"].items():
                parts[variant].append(data)
    totals = {v: total(baseline, p) for v, p in parts.items()}
    return conclude(clients, config, baseline, planned, totals, clock=clock)


def conclude(
    clients: dict[str, Any],
    config: Config,
    baseline: Baseline,
    planned: dict[str, Any],
    totals: dict[str, Counts],
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Score each variant; write its report, publish its metrics, emit its event.

    The metrics are timestamped ``clock()``, when the check concludes: not
    the window's end (``capture_delay`` or more ago) nor the scheduled time
    (a fan-out, EventBridge's retries of the target or a redrive may end
    long after it), so the alarm, which evaluates the last two windows,
    sees every verdict, and PutMetricData takes the datapoints of a check
    run by hand for an old window (it refuses timestamps over two weeks
    old). The report and the event name the window judged.
    """
    start = parse_time(planned["window"]["start"])
    checked_at = clock()
    summary = {}
    for variant in config.variants:
        key = config.report_key(variant, start)
        uri = f"s3://{config.report_bucket}/{key}"
        report = score(
            baseline,
            totals[variant],
            config.thresholds,
            endpoint=config.endpoint,
            variant=variant,
            window=planned["window"],
            baseline_uri=f"s3://{config.baseline_bucket}/{config.baseline_key}",
        )
        clients["s3"].put_object(
            Bucket=config.report_bucket,
            Key=key,
            Body=json.dumps(report, indent=1).encode(),
            ContentType="application/json",
        )
        clients["s3"].put_object(
            Bucket=config.report_bucket,
            Key=html_key(key),
            Body=render.page(report).encode(),
            ContentType="text/html; charset=utf-8",
        )
        put_metrics(clients["cloudwatch"], config, variant, report, checked_at)
        emit(clients["events"], config, variant, report, uri)
        summary[variant] = {
            "verdict": report["verdict"],
            "report": uri,
            "html": f"s3://{config.report_bucket}/{html_key(key)}",
        }
    return {"mode": planned["mode"], "variants": summary}


def html_key(key: str) -> str:
    """Where the HTML page of a report goes: beside its JSON."""
    return key.removesuffix(".json") + ".html"


def metric_data(
    config: Config, variant: str, report: dict[str, Any], timestamp: dt.datetime
) -> list[dict[str, Any]]:
    """The datapoints of one report, timestamped ``timestamp``.

    :func:`conclude` passes the time it concludes (see there why).
    """
    dimensions = [
        {"Name": "EndpointName", "Value": config.endpoint},
        {"Name": "VariantName", "Value": variant},
    ]

    def point(name: str, value: float, unit: str = "None", **extra: str) -> dict[str, Any]:
        dims = dimensions + [{"Name": k, "Value": v} for k, v in extra.items()]
        return {
            "MetricName": name,
            "Dimensions": dims,
            "Timestamp": timestamp,
            "Value": float(value),
            "Unit": unit,
        }

    insufficient = report["verdict"] == INSUFFICIENT_DATA
    data = [
        point("InsufficientData", 1 if insufficient else 0),
        point("RecordsRead", report["records"]["read"], "Count"),
        point("RecordsRejected", report["records"]["rejected"], "Count"),
        point("LinesRejected", report["lines"]["rejected"], "Count"),
    ]
    if not insufficient:
        data.append(point("DatasetDrift", 1 if report["verdict"] == DRIFT else 0))
        data.append(point("DriftShare", report["drift_share"]))
    for feature in report["features"]:
        if feature["score"] is not None:
            data.append(point("FeatureDriftScore", feature["score"], FeatureName=feature["name"]))
    return data


def put_metrics(
    cloudwatch: Any, config: Config, variant: str, report: dict[str, Any], timestamp: dt.datetime
) -> None:
    """Publish one report's datapoints in ``config.namespace``."""
    data = metric_data(config, variant, report, timestamp)
    for i in range(0, len(data), METRICS_PER_CALL):
        cloudwatch.put_metric_data(
            Namespace=config.namespace, MetricData=data[i : i + METRICS_PER_CALL]
        )


def event_detail(config: Config, variant: str, report: dict[str, Any], uri: str) -> dict[str, Any]:
    """What a retraining pipeline learns from the event (the report has the rest)."""
    return {
        "endpoint": config.endpoint,
        "variant": variant,
        "verdict": report["verdict"],
        "drift_share": report["drift_share"],
        "drifted_features": report["drifted_features"],
        "window": report["window"],
        "records": report["records"]["used"],
        "report": uri,
    }


def emit(events: Any, config: Config, variant: str, report: dict[str, Any], uri: str) -> None:
    """Put the event of one report on the configured bus."""
    response = events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps(event_detail(config, variant, report, uri)),
                "EventBusName": config.event_bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        msg = f"EventBridge refused the drift event: {response['Entries']}"
        raise RuntimeError(msg)
