"""The scheduled model-quality check, step by step, with its AWS clients passed in.

A check at the scheduled time ``T`` judges the predictions of one window
``[start, end)``, aligned on multiples of its length and ending
``capture_delay + label_delay`` before ``T``, so that every prediction in it
had at least ``label_delay`` for its label to arrive. It reads:

* the capture objects of each variant written in the window
  (``<capture_prefix><endpoint>/<variant>/yyyy/mm/dd/hh/MM-SS-mmm-*``);
* the ground-truth objects of every hour folder from ``start`` to
  ``end + label_delay`` (``<ground_truth_prefix>yyyy/mm/dd/hh/``, Model
  Monitor's layout).

State is bounded by the window: nothing is carried from one check to the
next. A label is joined to the prediction of the same ID, in whichever
variant made it; labels that match no prediction of the window (late beyond
``label_delay``, for a neighbouring window, or orphans) are counted once,
for the endpoint, under ``labels_without_variant``.

``plan`` lists the objects into a manifest and chooses one invocation
(``single``: ``check`` joins everything) or a fan-out (``map``): a Distributed
Map whose batches ``split`` the objects' lines into ``partitions`` shards by
a hash of their ID (so one ID's prediction and label meet in one shard, and
one worker holds one shard), a second Map that ``join``\\ s each shard into
mergeable partial counts, and ``finish``, which merges them. Both ways end
in :func:`conclude`: one JSON report per window (all variants side by side,
with an HTML page beside it), CloudWatch metrics per variant, an EventBridge
event per variant. A window gives the same report whichever way it was read.

The configuration is :class:`Config`: the ``ModelQualityMonitor`` construct
builds this very type and checks it while the app is synthesised; the
function checks it again when it reads it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypedDict

from . import render
from .baseline import constraints_from_thresholds
from .counts import BINARY, DEFAULT_BINS, DEFAULT_THRESHOLD, PROBLEMS, Counts, new_counts
from .records import (
    AUTO,
    EVENT_ID,
    KEYS,
    Join,
    JoinResult,
    capture_fields,
    capture_id,
    capture_in_window,
    ground_truth_in_window,
    hour_folders,
    line_batches,
    partition_of,
)
from .report import (
    DEFAULT_MIN_RECORDS,
    DEGRADED,
    INSUFFICIENT_DATA,
    METRICS,
    OK,
    OPERATORS,
    Constraint,
    constraints_of,
    window_report,
)

#: The ``source`` of every event this check emits.
EVENT_SOURCE = "cdk-sagemaker-hosting.quality"
#: The ``detail-type`` of the event emitted per variant and window.
EVENT_DETAIL_TYPE = "SageMaker Model Quality Check"
#: The format of the window's report (one per window, every variant in it).
WINDOW_REPORT_FORMAT = "cdk-sagemaker-hosting/quality-window-report"
#: Metrics per PutMetricData call.
METRICS_PER_CALL = 500
#: The most shards a window is joined in.
MAX_PARTITIONS = 1000
#: Characters of lines a split batch holds before writing them to their shards (then new parts),
#: so a batch of large objects never holds all of their lines at once.
SPLIT_BUFFER_BYTES = 64 << 20
#: The longest a label may take to arrive (state: one window's labels of that span).
MAX_LABEL_DELAY_SECONDS = 7 * 86400

_VARIANT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_NAMESPACE = re.compile(r"^[0-9A-Za-z.\-_/#:]{1,255}$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

#: Values a construct cannot know while it synthesises pass every rule.
Unknown = Callable[[Any], bool]


def never_unknown(_: Any) -> bool:
    """At run time every value is known."""
    return False


# --- rules ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    """One rule a value breaks: the field, the value it holds, what is allowed."""

    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r} is invalid: {self.rule}"

    def under(self, parent: str) -> Problem:
        """The same problem, of a field of ``parent``."""
        return Problem(f"{parent}.{self.field}", self.value, self.rule)


class ConfigError(ValueError):
    """A configuration breaks rules; ``problems`` lists them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole_in(field: str, value: Any, low: int, high: int, unit: str = "") -> Problem | None:
    if _is_whole(value) and low <= value <= high:
        return None
    return Problem(field, value, f"must be a whole number from {low} to {high}{unit}")


def _prefix(field: str, value: Any) -> Problem | None:
    if not isinstance(value, str) or _URL.match(value):
        return Problem(
            field, value, "must be a key prefix within the bucket (e.g. 'ground-truth/'), not a URL"
        )
    if not value or value.startswith("/") or not value.endswith("/") or len(value) > 512:
        return Problem(
            field,
            value,
            "must be an S3 key prefix of 1-512 characters ending with '/', not starting with '/'",
        )
    if "*" in value or "?" in value:
        return Problem(
            field,
            value,
            "must not hold '*' and '?': the check's grants name the prefix, where IAM reads "
            "them as wildcards and would widen them; rename the folder",
        )
    return None


def _metric_name(field: str, metric: Any, problem: str) -> Problem | None:
    names = METRICS.get(problem, ())
    if metric in names:
        return None
    return Problem(field, metric, f"must name a {problem} metric: {', '.join(names)}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MetricThreshold:
    """When one metric is degraded: past an absolute bound, or worse than its baseline value.

    For a metric that is better when higher (accuracy, F1, AUC, R²) the
    window is degraded when it falls below ``absolute``, or below the
    baseline value less ``relative`` times its size (``relative=0.05``: more
    than 5 % worse); for an error (MAE, RMSE, MAPE) when it rises above
    ``absolute``, or above the baseline value plus ``relative`` times it.
    ``relative`` needs the metric's baseline value (the monitor's baseline
    metrics). Give one or both.
    """

    absolute: float | None = None
    relative: float | None = None

    def problems(self) -> list[Problem]:
        """Every rule this threshold breaks (the construct and the function both check them)."""
        found = []
        if self.absolute is None and self.relative is None:
            found.append(Problem("absolute", None, "give absolute, relative or both"))
        if self.absolute is not None and not _is_number(self.absolute):
            found.append(Problem("absolute", self.absolute, "must be a finite number"))
        if self.relative is not None and not (
            _is_number(self.relative) and 0 < self.relative <= 10
        ):
            found.append(
                Problem(
                    "relative",
                    self.relative,
                    "must be a share of the baseline value, more than 0 and at most 10 "
                    "(0.05 = 5 % worse)",
                )
            )
        return found

    def to_json(self) -> dict[str, Any]:
        """The JSON ``MetricThreshold(**value)`` reads back (in ``QUALITY_CONFIG``)."""
        return {"absolute": self.absolute, "relative": self.relative}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    """What the construct tells the function (environment variable ``QUALITY_CONFIG``).

    ``constraints`` are Model Monitor constraints known at synth (a
    constraints file the construct read); ``constraints_key`` names a
    constraints file the function reads at run time; ``thresholds`` are
    per-metric :class:`MetricThreshold`\\ s, relative ones against
    ``baseline_metrics``. Each window is judged against all of them.
    """

    endpoint: str
    variants: tuple[str, ...]
    problem: str
    capture_bucket: str
    capture_prefix: str
    ground_truth_bucket: str
    ground_truth_prefix: str
    report_bucket: str
    report_prefix: str
    namespace: str
    event_bus: str
    key: str = AUTO
    prediction_attribute: str | None = None
    prediction_column: int = 0
    label_attribute: str | None = None
    label_column: int = 0
    threshold: float = DEFAULT_THRESHOLD
    bins: int = DEFAULT_BINS
    min_records: int = DEFAULT_MIN_RECORDS
    reference_variant: str | None = None
    window_seconds: int = 3600
    label_delay_seconds: int = 3600
    capture_delay_seconds: int = 300
    constraints: tuple[Constraint, ...] = ()
    constraints_bucket: str | None = None
    constraints_key: str | None = None
    baseline_metrics: Mapping[str, float] = dataclasses.field(default_factory=dict)
    thresholds: Mapping[str, MetricThreshold] = dataclasses.field(default_factory=dict)
    max_objects: int = 200
    partition_mb: int = 256

    @staticmethod
    def from_json(data: dict[str, Any]) -> Config:
        """The configuration, from its JSON, checked (:class:`ConfigError` names every problem)."""
        values = dict(data)
        values["variants"] = tuple(values["variants"])
        values["constraints"] = tuple(
            Constraint(c["metric"], c["threshold"], c["comparison_operator"])
            for c in values.get("constraints") or ()
        )
        values["thresholds"] = {
            metric: MetricThreshold(**t) for metric, t in (values.get("thresholds") or {}).items()
        }
        return Config(**values).check()

    def to_json(self) -> dict[str, Any]:
        """The JSON :meth:`from_json` reads (what the construct puts in ``QUALITY_CONFIG``)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["variants"] = list(self.variants)
        data["constraints"] = [
            {"metric": c.metric, "threshold": c.threshold, "comparison_operator": c.comparison}
            for c in self.constraints
        ]
        data["baseline_metrics"] = dict(self.baseline_metrics)
        data["thresholds"] = {m: t.to_json() for m, t in self.thresholds.items()}
        return data

    def check(self, unknown: Unknown = never_unknown) -> Config:
        """This configuration, if it keeps every rule; else :class:`ConfigError`."""
        problems = self.problems(unknown)
        if problems:
            raise ConfigError(problems)
        return self

    def problems(self, unknown: Unknown = never_unknown) -> list[Problem]:
        """Every rule this configuration breaks; values ``unknown`` says are unknown pass."""
        found: list[Problem | None] = []
        if not unknown(self.endpoint) and not (isinstance(self.endpoint, str) and self.endpoint):
            found.append(Problem("endpoint", self.endpoint, "must name the endpoint"))
        found += self._variant_problems(unknown)
        if self.problem not in PROBLEMS:
            found.append(Problem("problem", self.problem, f"must be one of {', '.join(PROBLEMS)}"))
        if self.key not in KEYS:
            found.append(Problem("key", self.key, f"must be one of {', '.join(KEYS)}"))
        for field in ("capture_prefix", "ground_truth_prefix", "report_prefix"):
            if not unknown(getattr(self, field)):
                found.append(_prefix(field, getattr(self, field)))
        found += self._overlaps(unknown)
        for field in ("prediction_attribute", "label_attribute"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, str) and value.strip()):
                found.append(
                    Problem(
                        field, value, "must be a dotted path (e.g. predictions.0.score) or None"
                    )
                )
        found.append(_whole_in("prediction_column", self.prediction_column, 0, 10_000))
        found.append(_whole_in("label_column", self.label_column, 0, 10_000))
        found += self._score_problems()
        found.append(_whole_in("min_records", self.min_records, 1, 1_000_000_000))
        window = self.window_seconds
        if not _is_whole(window) or window % 60 or not 60 <= window <= 86400:
            found.append(
                Problem("window_seconds", window, "must be whole minutes, from 1 minute to 1 day")
            )
        found.append(
            _whole_in(
                "label_delay_seconds", self.label_delay_seconds, 0, MAX_LABEL_DELAY_SECONDS, " s"
            )
        )
        found.append(_whole_in("capture_delay_seconds", self.capture_delay_seconds, 0, 3600, " s"))
        found.append(_whole_in("max_objects", self.max_objects, 1, 100_000))
        found.append(_whole_in("partition_mb", self.partition_mb, 1, 10_240, " MB"))
        if not unknown(self.namespace) and not (
            isinstance(self.namespace, str)
            and _NAMESPACE.match(self.namespace)
            and not self.namespace.startswith("AWS/")
        ):
            found.append(
                Problem(
                    "namespace",
                    self.namespace,
                    "1-255 letters, digits and . - _ / # :, not starting with 'AWS/' (reserved)",
                )
            )
        found += self._baseline_problems(unknown)
        return [p for p in found if p is not None]

    def _score_problems(self) -> list[Problem | None]:
        """A binary problem's threshold and bins; another problem's never set."""
        found: list[Problem | None] = []
        if not (_is_number(self.threshold) and 0 <= self.threshold <= 1):
            found.append(
                Problem("threshold", self.threshold, "must be a score from 0 to 1 (binary)")
            )
        found.append(_whole_in("bins", self.bins, 1, 100_000))
        if self.problem in PROBLEMS and self.problem != BINARY:
            # Never dropped silently: they mean something for scores only.
            for field, default in (("threshold", DEFAULT_THRESHOLD), ("bins", DEFAULT_BINS)):
                if getattr(self, field) != default:
                    found.append(
                        Problem(
                            field,
                            getattr(self, field),
                            f"applies to binary problems only (scores); a {self.problem} "
                            "check would ignore it: leave it out",
                        )
                    )
        return found

    def _variant_problems(self, unknown: Unknown) -> list[Problem]:
        found = []
        if not self.variants:
            found.append(Problem("variants", [], "name at least one variant to check"))
        seen: set[str] = set()
        for i, name in enumerate(self.variants):
            if unknown(name):
                continue
            if not (isinstance(name, str) and len(name) <= 63 and _VARIANT_NAME.match(name)):
                found.append(
                    Problem(
                        f"variants[{i}]",
                        name,
                        "use 1-63 letters, digits and hyphens, starting and ending with a letter "
                        "or digit (SageMaker's variant names)",
                    )
                )
            elif name in seen:
                found.append(Problem(f"variants[{i}]", name, "names a variant twice"))
            seen.add(name)
        reference = self.reference_variant
        if reference is not None and not unknown(reference) and reference not in self.variants:
            found.append(
                Problem(
                    "reference_variant",
                    reference,
                    f"must be one of the variants checked: {', '.join(map(str, self.variants))}",
                )
            )
        return found

    def _overlaps(self, unknown: Unknown) -> list[Problem]:
        """Folders the check writes must not be read back as traffic or labels."""
        found = []
        pairs = (
            ("report_prefix", "capture_prefix", "report_bucket", "capture_bucket"),
            ("report_prefix", "ground_truth_prefix", "report_bucket", "ground_truth_bucket"),
            ("ground_truth_prefix", "capture_prefix", "ground_truth_bucket", "capture_bucket"),
        )
        for field, other, bucket, other_bucket in pairs:
            mine, theirs = getattr(self, field), getattr(self, other)
            if (
                unknown(mine)
                or unknown(theirs)
                or not isinstance(mine, str)
                or not isinstance(theirs, str)
                or getattr(self, bucket) != getattr(self, other_bucket)
            ):
                continue
            if mine.startswith(theirs) or theirs.startswith(mine):
                found.append(
                    Problem(
                        field,
                        mine,
                        f"must not overlap the {other.removesuffix('_prefix').replace('_', ' ')} "
                        f"prefix {theirs!r} in the same bucket: the check would read one as the "
                        "other; use separate folders",
                    )
                )
        return found

    def _baseline_problems(self, unknown: Unknown) -> list[Problem]:
        found: list[Problem | None] = []
        problem = self.problem if self.problem in PROBLEMS else None
        for i, c in enumerate(self.constraints):
            field = f"constraints[{i}]"
            if problem:
                found.append(_metric_name(f"{field}.metric", c.metric, problem))
            if c.comparison not in OPERATORS:
                found.append(
                    Problem(
                        f"{field}.comparison_operator",
                        c.comparison,
                        f"must be one of {', '.join(OPERATORS)}",
                    )
                )
            if not _is_number(c.threshold):
                found.append(Problem(f"{field}.threshold", c.threshold, "must be a finite number"))
        if (self.constraints_bucket is None) != (self.constraints_key is None):
            found.append(
                Problem(
                    "constraints_key",
                    self.constraints_key,
                    "a constraints file read at run time needs both its bucket and its key",
                )
            )
        key = self.constraints_key
        if (
            key is not None
            and not unknown(key)
            and (
                not isinstance(key, str)
                or not key
                or key.startswith("/")
                or len(key) > 1024
                or _URL.match(key)
            )
        ):
            found.append(
                Problem(
                    "constraints_key",
                    key,
                    "must be an S3 object key of 1-1024 characters, "
                    "not starting with '/', not a URL",
                )
            )
        found += self._threshold_problems(problem)
        if not (self.constraints or self.constraints_key is not None or self.thresholds):
            found.append(
                Problem(
                    "constraints",
                    [],
                    "nothing to judge a window by: give a baseline (a Model Monitor constraints "
                    "file) or per-metric thresholds; without them no window is ever degraded",
                )
            )
        return [p for p in found if p is not None]

    def _threshold_problems(self, problem: str | None) -> list[Problem | None]:
        found: list[Problem | None] = []
        for metric, value in self.baseline_metrics.items():
            if problem:
                found.append(_metric_name(f"baseline_metrics.{metric}", metric, problem))
            if not _is_number(value):
                found.append(
                    Problem(f"baseline_metrics.{metric}", value, "must be a finite number")
                )
        relative_metrics = set()
        for metric, threshold in self.thresholds.items():
            if problem:
                found.append(_metric_name(f"thresholds.{metric}", metric, problem))
            if not isinstance(threshold, MetricThreshold):
                found.append(
                    Problem(f"thresholds.{metric}", threshold, "must be a MetricThreshold")
                )
                continue
            found += [p.under(f"thresholds.{metric}") for p in threshold.problems()]
            if threshold.relative is not None:
                relative_metrics.add(metric)
                if metric not in self.baseline_metrics:
                    found.append(
                        Problem(
                            f"thresholds.{metric}.relative",
                            threshold.relative,
                            f"is relative to the baseline value of {metric}, which the baseline "
                            "metrics do not give: add it, or use absolute",
                        )
                    )
        for metric in self.baseline_metrics:
            if metric not in relative_metrics:
                found.append(
                    Problem(
                        f"baseline_metrics.{metric}",
                        self.baseline_metrics[metric],
                        "no relative threshold uses it, so it would judge nothing: add "
                        f"thresholds[{metric!r}] with relative=, or leave it out",
                    )
                )
        return found

    # --- where things are -------------------------------------------------------------

    def scratch_prefix(self) -> str:
        """The endpoint's own scratch folder: its executions' manifests, shards and partial counts.

        Per endpoint, so that monitors sharing a report bucket and prefix
        never read each other's shards (copies of captured traffic).
        """
        return f"{self.report_prefix}_runs/{self.endpoint}/"

    def run_prefix(self, run: str) -> str:
        """Where one execution keeps its manifest, shards and partial counts."""
        return f"{self.scratch_prefix()}{run}/"

    def report_folder(self) -> str:
        """Where the reports of this endpoint's windows go (and nothing else of the check)."""
        return f"{self.report_prefix}{self.endpoint}/"

    def report_key(self, start: dt.datetime) -> str:
        """Where the report of one window goes (every variant in it)."""
        return f"{self.report_folder()}{start:%Y/%m/%d/%H%M}.json"

    def new_join(self) -> Join:
        return Join(
            self.problem,
            key=self.key,
            prediction_attribute=self.prediction_attribute,
            prediction_column=self.prediction_column,
            label_attribute=self.label_attribute,
            label_column=self.label_column,
        )

    def new_counts(self) -> Counts:
        return new_counts(self.problem, threshold=self.threshold, bins=self.bins)


# --- the window and its objects ---------------------------------------------------


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 time (EventBridge's ``time``), in UTC."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _iso(time: dt.datetime) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ")


def window(config: Config, time: dt.datetime) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """The predictions' window ``[start, end)`` of a check at ``time``, and the labels' end.

    Aligned on multiples of the window since the Unix epoch, so a check run
    again for the same scheduled time reads the same window.
    """
    length = config.window_seconds
    delay = config.capture_delay_seconds + config.label_delay_seconds
    cutoff = int(time.timestamp()) - delay
    end = dt.datetime.fromtimestamp(cutoff - cutoff % length, dt.UTC)
    return (
        end - dt.timedelta(seconds=length),
        end,
        end + dt.timedelta(seconds=config.label_delay_seconds),
    )


def _list(s3: Any, bucket: str, prefix: str) -> Iterable[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


class Item(TypedDict):
    """One object of a window: captured traffic of a variant, or ground truth."""

    kind: str
    variant: str
    key: str
    size: int


CAPTURE = "capture"
TRUTH = "truth"


def list_objects(
    s3: Any, config: Config, start: dt.datetime, end: dt.datetime, labels_end: dt.datetime
) -> list[Item]:
    """The capture objects of every variant in ``[start, end)``, then the ground truth's."""
    items: list[Item] = []
    for variant in config.variants:
        for hour in hour_folders(start, end):
            folder = f"{config.capture_prefix}{config.endpoint}/{variant}/{hour}"
            items += [
                {"kind": CAPTURE, "variant": variant, "key": o["Key"], "size": o["Size"]}
                for o in _list(s3, config.capture_bucket, folder)
                if capture_in_window(o["Key"], start, end)
            ]
    delay = labels_end - end
    for hour in hour_folders(start, labels_end):
        items += [
            {"kind": TRUTH, "variant": "", "key": o["Key"], "size": o["Size"]}
            for o in _list(s3, config.ground_truth_bucket, config.ground_truth_prefix + hour)
            if ground_truth_in_window(o["Key"], start, end, delay)
        ]
    return items


def _read_lines(s3: Any, bucket: str, key: str) -> Iterable[list[str]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        yield from line_batches(body.read)
    finally:
        body.close()


def _bucket_of(config: Config, item: Item) -> str:
    return config.capture_bucket if item["kind"] == CAPTURE else config.ground_truth_bucket


def _identifier(line: str, side: str, key: str) -> str | None:
    """The ID a line is joined by (``None``: malformed, or none), read as the join reads it.

    A capture line is read by the join's own reader (in SageMaker's layout,
    only its output and metadata are parsed) and its ID chosen by the join's
    own rule (:func:`~.records.capture_id`: with ``auto``, its inference ID
    when it has one, else its event ID): were either done otherwise here, a
    line the join accepts could go to another shard than its label's.
    """
    try:
        if side == CAPTURE:
            identifier = capture_id(capture_fields(line, False)[1], key)
        else:
            identifier = json.loads(line)["eventMetadata"][EVENT_ID]
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
    return identifier if isinstance(identifier, str) and identifier else None


# --- the steps ------------------------------------------------------------------------


def plan(s3: Any, config: Config, *, time: str, run: str) -> dict[str, Any]:
    """List the window's objects into a manifest; choose one invocation or a fan-out."""
    start, end, labels_end = window(config, parse_time(time))
    items = list_objects(s3, config, start, end, labels_end)
    manifest = config.run_prefix(run) + "manifest.json"
    s3.put_object(
        Bucket=config.report_bucket,
        Key=manifest,
        Body=json.dumps(items).encode(),
        ContentType="application/json",
    )
    size = sum(i["size"] for i in items)
    partitions = min(MAX_PARTITIONS, max(1, math.ceil(size / (config.partition_mb << 20))))
    # One invocation holds the whole window: only as many objects, and as many
    # bytes, as one shard of a fan-out would hold.
    mode = "map" if len(items) > config.max_objects or partitions > 1 else "single"
    return {
        "mode": mode,
        "run": run,
        "time": _iso(parse_time(time)),
        "window": {"start": _iso(start), "end": _iso(end)},
        "labels_until": _iso(labels_end),
        "objects": {
            "capture": sum(1 for i in items if i["kind"] == CAPTURE),
            "ground_truth": sum(1 for i in items if i["kind"] == TRUTH),
        },
        "bytes": size,
        "partition_count": partitions,
        # The second Map's items (only in map mode: the state stays small otherwise).
        "partitions": list(range(partitions)) if mode == "map" else [],
        "manifest": {"bucket": config.report_bucket, "key": manifest},
    }


def _manifest(s3: Any, planned: Mapping[str, Any]) -> list[Item]:
    where = planned["manifest"]
    items: list[Item] = json.loads(
        s3.get_object(Bucket=where["bucket"], Key=where["key"])["Body"].read()
    )
    return items


def join_items(s3: Any, config: Config, items: Sequence[Item]) -> JoinResult:
    """Join the objects ``items`` in this process: every capture object, then the labels."""
    join = config.new_join()
    for item in sorted(items, key=lambda i: i["kind"] != CAPTURE):
        for lines in _read_lines(s3, _bucket_of(config, item), item["key"]):
            if item["kind"] == CAPTURE:
                join.add_capture(lines, item["variant"])
            else:
                join.add_ground_truth(lines)
    return join.finish(config.new_counts)


def utc_now() -> dt.datetime:
    """The time now, in UTC (the clock the steps use unless given another)."""
    return dt.datetime.now(dt.UTC)


def check(
    clients: Mapping[str, Any],
    config: Config,
    planned: dict[str, Any],
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Join every object of the manifest in this invocation, then conclude."""
    s3 = clients["s3"]
    joined = join_items(s3, config, _manifest(s3, planned))
    return conclude(clients, config, planned, joined, clock=clock)


class SplitItem(TypedDict):
    """One item of the split Map's batch, as its ItemSelector builds it."""

    run: str
    partitions: int
    item: Item


def split(s3: Any, config: Config, batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    r"""One batch of the first Map (:class:`SplitItem`\ s): write each object's lines into shards.

    Each line goes to the shard of its ID (:func:`~.records.partition_of`).
    A line whose ID cannot be read goes to shard 0, where the join counts it
    (malformed, or without an ID), so nothing is lost. The lines are written
    whenever :data:`SPLIT_BUFFER_BYTES` of them are held (one part per shard
    each time), so memory is bounded whatever the objects' sizes. Shard
    objects are named after the batch's keys and the part, so a retried
    batch overwrites its own.
    """
    runs = {(b.get("run"), b.get("partitions")) for b in batch}
    if not batch or len(runs) != 1:
        msg = f"a batch names runs {sorted(map(str, runs))}: it must name exactly one"
        raise ValueError(msg)
    ((run, partitions),) = runs
    if not isinstance(run, str) or not run or run.startswith("$") or not _is_whole(partitions):
        msg = f"a batch names run {run!r} of {partitions!r} partitions: expected the execution's"
        raise ValueError(msg)
    assert isinstance(partitions, int)
    items: list[Item] = [b["item"] for b in batch]
    digest = hashlib.sha256("\n".join(sorted(i["key"] for i in items)).encode()).hexdigest()[:32]
    prefix = config.run_prefix(run) + "shards/"
    shards: dict[tuple[int, str], list[str]] = {}
    written: set[tuple[int, str]] = set()
    held = parts = 0

    def flush() -> None:
        nonlocal held, parts
        for (shard, folder), lines in shards.items():
            s3.put_object(
                Bucket=config.report_bucket,
                Key=f"{prefix}{shard:05d}/{folder}/{digest}-{parts:05d}.jsonl",
                Body=("\n".join(lines) + "\n").encode(),
                ContentType="application/x-ndjson",
            )
            written.add((shard, folder))
        shards.clear()
        held, parts = 0, parts + 1

    for item in items:
        folder = f"{CAPTURE}/{item['variant']}" if item["kind"] == CAPTURE else TRUTH
        for lines in _read_lines(s3, _bucket_of(config, item), item["key"]):
            for line in lines:
                if not line or line.isspace():
                    continue
                identifier = _identifier(line, item["kind"], config.key)
                shard = 0 if identifier is None else partition_of(identifier, partitions)
                shards.setdefault((shard, folder), []).append(line)
                held += len(line) + 1
                if held >= SPLIT_BUFFER_BYTES:
                    flush()
    if shards:
        flush()
    return {"objects": len(items), "shards": len(written), "parts": parts}


def join_partition(s3: Any, config: Config, *, run: str, partition: int) -> dict[str, Any]:
    """One child of the second Map: join one shard, write its partial counts."""
    if not isinstance(run, str) or not run or run.startswith("$") or not _is_whole(partition):
        msg = f"run {run!r}, partition {partition!r}: expected the execution's name and a number"
        raise ValueError(msg)
    prefix = f"{config.run_prefix(run)}shards/{partition:05d}/"
    keys = sorted(o["Key"] for o in _list(s3, config.report_bucket, prefix))
    items: list[Item] = []
    for key in keys:
        rest = key[len(prefix) :]
        if rest.startswith(f"{CAPTURE}/"):
            variant = rest.split("/")[1]
            items.append({"kind": CAPTURE, "variant": variant, "key": key, "size": 0})
        else:
            items.append({"kind": TRUTH, "variant": "", "key": key, "size": 0})
    # The shards are in the report bucket: read them there.
    shard_config = dataclasses.replace(
        config, capture_bucket=config.report_bucket, ground_truth_bucket=config.report_bucket
    )
    result = join_items(s3, shard_config, items)
    key = f"{config.run_prefix(run)}partials/{partition:05d}.json"
    s3.put_object(
        Bucket=config.report_bucket,
        Key=key,
        Body=json.dumps(result.to_json()).encode(),
        ContentType="application/json",
    )
    return {"partial": key, "shards": len(keys)}


def finish(
    clients: Mapping[str, Any],
    config: Config,
    planned: dict[str, Any],
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Merge the partial counts the second Map's children wrote, then conclude."""
    s3 = clients["s3"]
    prefix = config.run_prefix(planned["run"]) + "partials/"
    total = JoinResult(config.problem, config.new_counts().to_json())
    found = 0
    for o in _list(s3, config.report_bucket, prefix):
        body = s3.get_object(Bucket=config.report_bucket, Key=o["Key"])["Body"].read()
        total.merge(JoinResult.from_json(json.loads(body)))
        found += 1
    expected = planned["partition_count"]
    if found != expected:
        msg = f"found {found} partial counts under {prefix}, expected {expected}: a join failed"
        raise RuntimeError(msg)
    return conclude(clients, config, planned, total, clock=clock)


# --- the verdict and its outputs ---------------------------------------------------------


def constraints(s3: Any, config: Config) -> tuple[list[Constraint], list[str]]:
    """Every constraint a window is judged by, and those that cannot be checked."""
    found = list(config.constraints)
    unchecked: list[str] = []
    if config.constraints_bucket is not None and config.constraints_key is not None:
        body = s3.get_object(Bucket=config.constraints_bucket, Key=config.constraints_key)["Body"]
        from_file, unchecked = constraints_of(json.loads(body.read()), config.problem)
        found += from_file
    absolute = {m: t.absolute for m, t in config.thresholds.items() if t.absolute is not None}
    relative = {m: t.relative for m, t in config.thresholds.items() if t.relative is not None}
    if absolute or relative:
        # The tighter bound of each metric, as the quality-baseline command writes it.
        document, skipped = constraints_from_thresholds(
            config.problem, config.baseline_metrics, absolute=absolute, relative=relative
        )
        found += constraints_of(document, config.problem)[0]
        unchecked += skipped
    return found, unchecked


def conclude(
    clients: Mapping[str, Any],
    config: Config,
    planned: dict[str, Any],
    joined: JoinResult,
    *,
    clock: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Judge the window and each variant; write the report, publish metrics, emit events.

    The metrics are timestamped ``clock()``, when the check concludes: not
    the window's end (``label_delay`` or more ago) nor the scheduled time (a
    fan-out, EventBridge's retries or a redrive may end long after it), so
    the alarm, which evaluates the last two windows, sees every verdict, and
    PutMetricData takes the datapoints of a check run by hand for an old
    window (it refuses timestamps over two weeks old).
    """
    s3 = clients["s3"]
    judged_by, unchecked = constraints(s3, config)
    # A configured variant that made no prediction is judged too (insufficient data).
    for variant in config.variants:
        joined.predictions.setdefault(variant, 0)
    document = window_report(
        joined,
        constraints=judged_by,
        constraints_not_checked=unchecked,
        min_records=config.min_records,
        reference=config.reference_variant,
        endpoint=config.endpoint,
        window=planned["window"],
        labels_until=planned["labels_until"],
        mode=planned["mode"],
        judged_by=[
            {"metric": c.metric, "threshold": c.threshold, "comparison_operator": c.comparison}
            for c in judged_by
        ],
    )
    key = config.report_key(parse_time(planned["window"]["start"]))
    uri = f"s3://{config.report_bucket}/{key}"
    s3.put_object(
        Bucket=config.report_bucket,
        Key=key,
        Body=json.dumps(document, indent=1).encode(),
        ContentType="application/json",
    )
    s3.put_object(
        Bucket=config.report_bucket,
        Key=html_key(key),
        Body=render.page(document).encode(),
        ContentType="text/html; charset=utf-8",
    )
    checked_at = clock()
    for variant in config.variants:
        result = document["variants"][variant]
        put_metrics(clients["cloudwatch"], config, variant, result, checked_at)
        emit(clients["events"], config, variant, result, window=document["window"], uri=uri)
    return {
        "mode": planned["mode"],
        "verdict": document["verdict"],
        "report": uri,
        "html": f"s3://{config.report_bucket}/{html_key(key)}",
        "verdicts": {v: document["variants"][v]["verdict"] for v in config.variants},
    }


def html_key(key: str) -> str:
    """Where the HTML page of a report goes: beside its JSON."""
    return key.removesuffix(".json") + ".html"


def metric_data(
    config: Config, variant: str, result: Mapping[str, Any], timestamp: dt.datetime
) -> list[dict[str, Any]]:
    """The datapoints of one variant's report, timestamped ``timestamp``.

    :func:`conclude` passes the time it concludes (see there why).

    ``Degraded`` (1 or 0) is absent on insufficient data, so an alarm on it
    says INSUFFICIENT_DATA rather than OK; each metric the counts define is
    published under its own name (``accuracy``, ``rmse``...).
    """
    dimensions = [
        {"Name": "EndpointName", "Value": config.endpoint},
        {"Name": "VariantName", "Value": variant},
    ]

    def point(name: str, value: float, unit: str = "None") -> dict[str, Any]:
        return {
            "MetricName": name,
            "Dimensions": dimensions,
            "Timestamp": timestamp,
            "Value": float(value),
            "Unit": unit,
        }

    insufficient = result["verdict"] == INSUFFICIENT_DATA
    records = result["records"]
    data = [
        point("InsufficientData", 1 if insufficient else 0),
        point("RecordsJoined", records["joined"], "Count"),
        point("PredictionRecords", records["predictions"], "Count"),
        point("LabelRecords", records["labels"], "Count"),
        point("RecordsRejected", sum(result["rejected"].values()), "Count"),
    ]
    if not insufficient:
        data.append(point("Degraded", 1 if result["verdict"] == DEGRADED else 0))
    for metric in METRICS[config.problem]:
        value = result["metrics"].get(metric)
        if value is not None:
            data.append(point(metric, value))
    return data


def put_metrics(
    cloudwatch: Any, config: Config, variant: str, result: Mapping[str, Any], at: dt.datetime
) -> None:
    """Publish one variant's datapoints in ``config.namespace``."""
    data = metric_data(config, variant, result, at)
    for i in range(0, len(data), METRICS_PER_CALL):
        cloudwatch.put_metric_data(
            Namespace=config.namespace, MetricData=data[i : i + METRICS_PER_CALL]
        )


def event_detail(
    config: Config, variant: str, result: Mapping[str, Any], window: Any, uri: str
) -> dict[str, Any]:
    """What a retraining or promotion pipeline learns from the event (the report has the rest)."""
    return {
        "endpoint": config.endpoint,
        "variant": variant,
        "verdict": result["verdict"],
        "violations": result["violations"],
        "metrics": {m: result["metrics"].get(m) for m in METRICS[config.problem]},
        "window": window,
        "records": result["records"]["joined"],
        "report": uri,
    }


def emit(
    events: Any, config: Config, variant: str, result: Mapping[str, Any], *, window: Any, uri: str
) -> None:
    """Put the event of one variant's report on the configured bus."""
    response = events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps(event_detail(config, variant, result, window, uri)),
                "EventBusName": config.event_bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        msg = f"EventBridge refused the quality event: {response['Entries']}"
        raise RuntimeError(msg)


__all__ = [
    "DEGRADED",
    "EVENT_DETAIL_TYPE",
    "EVENT_SOURCE",
    "INSUFFICIENT_DATA",
    "OK",
    "Config",
    "ConfigError",
    "MetricThreshold",
    "Problem",
    "check",
    "finish",
    "join_partition",
    "plan",
    "split",
]
