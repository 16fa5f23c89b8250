"""The ``quality`` and ``quality-baseline`` commands.

``quality`` joins captured predictions with ground truth and prints the
report (JSON, or a table with ``--format table``; ``--html`` also writes a
self-contained page). It exits 0 when quality is ok, 1 when a constraint is
violated (degraded), 3 when too few records joined for a verdict, 2 on bad
usage or unreadable input. ``quality-baseline`` turns a labelled validation
CSV into baseline metrics and a Model Monitor constraints document.

Paths may be local files, folders, or ``s3://`` prefixes (boto3, so
``AWS_ENDPOINT_URL`` is honoured). ``--capture`` may point at an endpoint's
capture prefix (every variant, each named by its folder:
``<endpoint>/<variant>/yyyy/mm/dd/hh/``) or at one variant's.

Only the command line imports this module (never the Lambda function, whose
asset holds the ``quality`` package alone), so it may reuse the drift
command's file listing and S3 helpers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ..drift.check import local_files, parse_time, split_s3_uri
from ..drift.command import ERRORS, _error, _print, _read, _s3, _write
from . import render
from .baseline import (
    BaselineError,
    baseline_from_csv,
    constraints_from_thresholds,
    parse_thresholds,
)
from .counts import DEFAULT_BINS, DEFAULT_THRESHOLD, new_counts
from .records import (
    AUTO,
    DEFAULT_VARIANT,
    KEYS,
    PROBLEMS,
    Join,
    JoinResult,
    capture_in_window,
    ground_truth_in_window,
    hour_folders,
    line_batches,
    partitions_for,
    variant_of,
)
from .report import (
    DEFAULT_MIN_RECORDS,
    DEGRADED,
    INSUFFICIENT_DATA,
    Constraint,
    ConstraintsError,
    constraints_of,
    window_report,
)

EXIT_OK = 0
EXIT_DEGRADED = 1
EXIT_ERROR = 2
EXIT_INSUFFICIENT_DATA = 3
#: Bytes of the first capture object read to estimate the records of a window.
SAMPLE_BYTES = 1 << 20


def _add_thresholds(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold-absolute",
        action="append",
        default=[],
        metavar="METRIC=BOUND",
        help="a bound a metric must not cross, e.g. accuracy=0.8 (below is degraded) or "
        "rmse=30 (above is degraded); repeat or separate with commas",
    )
    parser.add_argument(
        "--threshold-relative",
        action="append",
        default=[],
        metavar="METRIC=SHARE",
        help="the share of its baseline value a metric may lose, e.g. accuracy=0.05 (more than "
        "5%% worse than the baseline is degraded); needs a baseline CSV",
    )


def _add_csv_columns(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--label-column",
        default="label",
        help="the validation CSV's label column: a name, or a 0-based position (default label)",
    )
    parser.add_argument(
        "--prediction-column",
        help="the validation CSV's prediction (score) column: a name or a 0-based position "
        "(default: the column named prediction, else score)",
    )
    parser.add_argument(
        "--no-header", action="store_true", help="the validation CSV has no header row"
    )


def register(subparsers: Any) -> None:
    """Add ``quality`` and ``quality-baseline`` to the command line."""
    quality = subparsers.add_parser(
        "quality",
        help="join captured predictions with ground truth and report model quality",
        description="Join data-capture records (the prediction in endpointOutput) with ground "
        "truth in Model Monitor's layout by event ID, per variant, and print the quality "
        "report. Exit 0: ok; 1: degraded; 3: insufficient data; 2: error.",
    )
    quality.add_argument(
        "--capture",
        required=True,
        help="a capture file, a folder, or an s3:// prefix: an endpoint's (every variant) or "
        "one variant's",
    )
    quality.add_argument(
        "--ground-truth",
        required=True,
        help="a ground-truth file, a folder of them, or an s3:// prefix",
    )
    quality.add_argument("--problem", required=True, choices=PROBLEMS)
    quality.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help=f"binary: a score at or above it predicts positive (default {DEFAULT_THRESHOLD})",
    )
    quality.add_argument(
        "--bins",
        type=int,
        default=DEFAULT_BINS,
        help=f"binary: score bins for ROC AUC and PR AUC (default {DEFAULT_BINS})",
    )
    quality.add_argument(
        "--baseline",
        help="a Model Monitor model-quality constraints file, or a labelled validation CSV "
        "(.csv) whose metrics the thresholds are relative to (path or s3://)",
    )
    _add_thresholds(quality)
    _add_csv_columns(quality)
    quality.add_argument(
        "--start",
        help="the window's start (ISO 8601, UTC unless it says): only capture objects written "
        "in [start, end) are read",
    )
    quality.add_argument("--end", help="the window's end (ISO 8601)")
    quality.add_argument(
        "--label-delay",
        default="0",
        help="how long after the window's end labels may arrive: ground-truth hour folders up "
        "to end + delay are read (e.g. 2h, 90m, 1d, or seconds; default 0)",
    )
    quality.add_argument(
        "--reference",
        help="the variant the others are compared with (default: the one with most joined records)",
    )
    quality.add_argument(
        "--key",
        choices=KEYS,
        default=AUTO,
        help="the capture's eventMetadata field the ground truth's eventId names: auto (default: "
        "inferenceId when a record has one, else eventId, as Model Monitor joins), eventId or "
        "inferenceId",
    )
    quality.add_argument(
        "--prediction-attribute",
        help="where a JSON prediction holds its value (dotted, e.g. predictions.0.score)",
    )
    quality.add_argument("--label-attribute", help="where a JSON label holds its value (dotted)")
    quality.add_argument(
        "--min-records",
        type=int,
        default=DEFAULT_MIN_RECORDS,
        help=f"fewer joined records give insufficient_data (default {DEFAULT_MIN_RECORDS})",
    )
    quality.add_argument(
        "--memory-mb",
        type=float,
        help="join in as many passes (partitions of the IDs) as keep each under this memory",
    )
    quality.add_argument(
        "--partitions", type=int, help="join in this many passes (default 1, or from --memory-mb)"
    )
    quality.add_argument(
        "--strict",
        action="store_true",
        help="parse every capture line whole (default: lines in SageMaker's layout have their "
        "output and metadata parsed and the rest checked for shape)",
    )
    quality.add_argument("--out", help="also write the JSON report here (path or s3://)")
    quality.add_argument(
        "--format",
        choices=("json", "table"),
        default="json",
        help="print the report as JSON (default) or as a table",
    )
    quality.add_argument(
        "--html", metavar="FILE", help="also write the report as one HTML page (path or s3://)"
    )
    quality.add_argument("--region", help="AWS region of s3:// paths (default: the SDK's)")
    quality.set_defaults(run=run_quality)

    baseline = subparsers.add_parser(
        "quality-baseline",
        help="baseline metrics and Model Monitor constraints from a labelled validation CSV",
        description="Compute the model-quality metrics of a labelled validation CSV and write "
        "a Model Monitor model-quality constraints document from them. Without thresholds, "
        "every metric may lose 5%% of its baseline value.",
    )
    baseline.add_argument("--data", required=True, help="the validation CSV (path or s3://)")
    baseline.add_argument("--problem", required=True, choices=PROBLEMS)
    baseline.add_argument(
        "--out", required=True, help="where the constraints document goes (path or s3://)"
    )
    baseline.add_argument(
        "--metrics-out", help="also write the baseline metrics as JSON (path or s3://)"
    )
    baseline.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    baseline.add_argument("--bins", type=int, default=DEFAULT_BINS)
    _add_thresholds(baseline)
    _add_csv_columns(baseline)
    baseline.add_argument("--region", help="AWS region of s3:// paths (default: the SDK's)")
    baseline.set_defaults(run=run_baseline)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(value: str) -> dt.timedelta:
    """``90m``, ``2h``, ``1d``, ``30s`` or plain seconds."""
    match = _DURATION.match(value)
    if match is None:
        msg = f"duration {value!r}: a number with s, m, h or d (e.g. 2h)"
        raise ValueError(msg)
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return dt.timedelta(seconds=float(match.group(1)) * unit)


class Source(NamedTuple):
    """One object to read: its name (path or key), size, and how to open it."""

    name: str
    size: int
    open: Callable[[], Any]


_YEAR = re.compile(r"\d{4}/$")
#: How deep below a prefix the ``yyyy/`` folders are looked for (variant, endpoint, capture root).
FOLDER_DEPTH = 3


def _s3_objects(s3: Any, bucket: str, prefix: str) -> Iterator[Source]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/"):
                continue

            def opener(key: str = obj["Key"]) -> Any:
                return s3.get_object(Bucket=bucket, Key=key)["Body"]

            yield Source(obj["Key"], obj["Size"], opener)


def _folders(s3: Any, bucket: str, prefix: str) -> list[str]:
    folders: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, Delimiter="/"
    )
    for page in pages:
        folders.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    return folders


def _hour_roots(s3: Any, bucket: str, prefix: str) -> list[str] | None:
    """The folders under ``prefix`` that hold ``yyyy/mm/dd/hh/`` folders, or ``None`` if not found.

    The prefix itself (a variant's, or the ground truth's), its folders (an
    endpoint's variants) or theirs (a capture root's endpoints' variants).
    """
    roots = [prefix]
    for _ in range(FOLDER_DEPTH):
        children = [c for root in roots for c in _folders(s3, bucket, root)]
        if any(_YEAR.search(c) for c in children):
            return sorted({c[: -len("yyyy/")] for c in children if _YEAR.search(c)})
        roots = children
        if not roots:
            return []
    return None


def _sources(uri: str, region: str | None, hours: list[str] | None = None) -> list[Source]:
    """The objects at ``uri``; with ``hours`` (``yyyy/mm/dd/hh/``), an S3 prefix lists only those.

    Without hour folders below an S3 prefix (or locally) everything is
    listed; the caller keeps the objects of its window.
    """
    if uri.startswith("s3://"):
        s3 = _s3(region)
        bucket, prefix = split_s3_uri(uri)
        if prefix and not prefix.endswith("/") and hours is not None:
            prefix += "/"
        roots = _hour_roots(s3, bucket, prefix) if hours is not None else None
        if roots is None or hours is None:
            found = list(_s3_objects(s3, bucket, prefix))
        else:
            found = [
                obj
                for root in roots
                for hour in hours
                for obj in _s3_objects(s3, bucket, root + hour)
            ]
        return sorted(found, key=lambda s: s.name)
    return [
        Source(file.as_posix(), file.stat().st_size, functools.partial(file.open, "rb"))
        for file in local_files(Path(uri))
    ]


def _lines(source: Source) -> Iterator[list[str]]:
    body = source.open()
    try:
        yield from line_batches(body.read)
    finally:
        body.close()


def _estimated_records(sources: list[Source]) -> int:
    """The capture's records, from its bytes and the line length of the first object."""
    total = sum(s.size for s in sources)
    if not total:
        return 0
    body = sources[0].open()
    try:
        sample = body.read(SAMPLE_BYTES)
    finally:
        body.close()
    lines = sample.count(b"\n") or 1
    return int(total / (len(sample) / lines)) + 1


def _window(args: argparse.Namespace) -> tuple[dt.datetime, dt.datetime, dt.timedelta] | None:
    delay = parse_duration(args.label_delay)
    if args.start is None and args.end is None:
        if delay:
            msg = "--label-delay needs a window: give --start and --end"
            raise ValueError(msg)
        return None
    if args.start is None or args.end is None:
        msg = "give both --start and --end (a window), or neither (read everything)"
        raise ValueError(msg)
    start, end = parse_time(args.start), parse_time(args.end)
    if end <= start:
        msg = f"the window's end {args.end} is not after its start {args.start}"
        raise ValueError(msg)
    return start, end, delay


def _baseline_lines(uri: str, region: str | None) -> io.StringIO:
    return io.StringIO(_read(uri, region), newline="")


def _constraints(args: argparse.Namespace) -> tuple[list[Constraint], list[str], dict[str, Any]]:
    """The constraints to check, those not checked, and what to say about the baseline."""
    absolute = parse_thresholds(args.threshold_absolute, args.problem, "absolute")
    relative = parse_thresholds(args.threshold_relative, args.problem, "relative")
    about: dict[str, Any] = {}
    metrics = None
    if args.baseline and args.baseline.lower().endswith(".csv"):
        built = baseline_from_csv(
            _baseline_lines(args.baseline, args.region),
            args.problem,
            label=args.label_column,
            prediction=args.prediction_column,
            header=not args.no_header,
            threshold=args.threshold,
            bins=args.bins,
        )
        if not built.records:
            # Every metric undefined: no threshold could apply, and the verdict would be "ok".
            msg = f"{args.baseline}: no usable row (rejected: {built.rejected or 'none'})"
            raise BaselineError(msg)
        metrics = built.metrics
        about["baseline"] = built.to_json()
        document, skipped = constraints_from_thresholds(
            args.problem, metrics, absolute=absolute, relative=relative
        )
    elif args.baseline:
        try:
            document = json.loads(_read(args.baseline, args.region))
        except ValueError as error:
            msg = f"{args.baseline}: not JSON: {error}"
            raise ConstraintsError(msg) from error
        if relative:
            msg = (
                "--threshold-relative needs baseline metrics: give a labelled validation CSV "
                "as --baseline (a constraints file holds bounds, not the baseline's values)"
            )
            raise BaselineError(msg)
        skipped = []
        if absolute:
            extra, _ = constraints_from_thresholds(args.problem, None, absolute=absolute)
            section = next(iter(k for k in extra if k != "version"))
            # Checked here, before merging: a list would raise TypeError (a traceback, exit 1).
            if not isinstance(document, Mapping):
                msg = "a constraints file is a JSON object"
                raise ConstraintsError(msg)
            if not isinstance(document.get(section, {}), Mapping):
                msg = f"{section} is not an object"
                raise ConstraintsError(msg)
            document = {**document, section: {**document.get(section, {}), **extra[section]}}
    elif absolute or relative:
        if relative:
            msg = "--threshold-relative needs a baseline: give a labelled validation CSV"
            raise BaselineError(msg)
        document, skipped = constraints_from_thresholds(args.problem, None, absolute=absolute)
    else:
        return [], [], about
    constraints, unchecked = constraints_of(document, args.problem)
    return constraints, unchecked + skipped, about


def _partitions(args: argparse.Namespace, capture: list[Source], truth: list[Source]) -> int:
    if args.partitions is not None:
        if args.partitions < 1:
            msg = f"--partitions {args.partitions}: at least 1"
            raise ValueError(msg)
        return int(args.partitions)
    if args.memory_mb is not None:
        # A label that matches no prediction (an earlier window's, with a label delay longer
        # than the window) is held too, about as big as a prediction: count both sides.
        held = _estimated_records(capture) + _estimated_records(truth)
        return partitions_for(held, args.memory_mb)
    return 1


def join_sources(
    args: argparse.Namespace, capture: list[Source], truth: list[Source], partitions: int
) -> JoinResult:
    """Every partition's pass over the sources, merged."""
    result = None
    for partition in range(partitions):
        join = Join(
            args.problem,
            key=args.key,
            prediction_attribute=args.prediction_attribute,
            label_attribute=args.label_attribute,
            partition=partition,
            partitions=partitions,
            strict=args.strict,
        )
        for source in capture:
            variant = variant_of(source.name) or DEFAULT_VARIANT
            for lines in _lines(source):
                join.add_capture(lines, variant)
        for source in truth:
            for lines in _lines(source):
                join.add_ground_truth(lines)
        part = join.finish(
            lambda: new_counts(args.problem, threshold=args.threshold, bins=args.bins)
        )
        result = part if result is None else result.merge(part)
    assert result is not None
    return result


def run_quality(args: argparse.Namespace) -> int:
    """Join, count, score; print the report; the exit code is the verdict."""
    try:
        new_counts(args.problem, threshold=args.threshold, bins=args.bins)  # checks the options
        if args.min_records < 1:
            msg = f"--min-records {args.min_records}: at least 1 (no joined record is no verdict)"
            raise ValueError(msg)
        window = _window(args)
        constraints, unchecked, about = _constraints(args)
        context: dict[str, Any] = {"capture": args.capture, "ground_truth": args.ground_truth}
        if window is None:
            capture = _sources(args.capture, args.region)
            truth = _sources(args.ground_truth, args.region)
        else:
            start, end, delay = window
            capture = _sources(args.capture, args.region, hour_folders(start, end))
            truth = _sources(args.ground_truth, args.region, hour_folders(start, end + delay))
            capture = [s for s in capture if capture_in_window(s.name, start, end)]
            truth = [s for s in truth if ground_truth_in_window(s.name, start, end, delay)]
            context["window"] = {
                "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "label_delay_seconds": int(delay.total_seconds()),
            }
        partitions = _partitions(args, capture, truth)
        if partitions > 1:
            context["partitions"] = partitions
        result = join_sources(args, capture, truth, partitions)
        if args.baseline:
            context["baseline_uri"] = args.baseline
        report = window_report(
            result,
            constraints=constraints,
            constraints_not_checked=unchecked,
            min_records=args.min_records,
            reference=args.reference,
            **about,
            **context,
        )
        text = json.dumps(report, indent=1)
        if args.out:
            _write(args.out, text + "\n", args.region, "application/json")
        if args.html:
            _write(args.html, render.page(report), args.region, "text/html; charset=utf-8")
    except ERRORS as error:
        return _error(str(error))
    _print(render.table(report) if args.format == "table" else text)
    if report["verdict"] == DEGRADED:
        return EXIT_DEGRADED
    if report["verdict"] == INSUFFICIENT_DATA:
        return EXIT_INSUFFICIENT_DATA
    return EXIT_OK


def run_baseline(args: argparse.Namespace) -> int:
    """Baseline metrics and constraints from a validation CSV; prints both as JSON."""
    try:
        new_counts(args.problem, threshold=args.threshold, bins=args.bins)  # checks the options
        absolute = parse_thresholds(args.threshold_absolute, args.problem, "absolute")
        relative = parse_thresholds(args.threshold_relative, args.problem, "relative")
        built = baseline_from_csv(
            _baseline_lines(args.data, args.region),
            args.problem,
            label=args.label_column,
            prediction=args.prediction_column,
            header=not args.no_header,
            threshold=args.threshold,
            bins=args.bins,
        )
        if not built.records:
            msg = f"{args.data}: no usable row (rejected: {built.rejected or 'none'})"
            raise BaselineError(msg)
        document, skipped = constraints_from_thresholds(
            args.problem, built.metrics, absolute=absolute, relative=relative
        )
        _write(args.out, json.dumps(document, indent=1) + "\n", args.region, "application/json")
        if args.metrics_out:
            _write(
                args.metrics_out,
                json.dumps(built.to_json(), indent=1) + "\n",
                args.region,
                "application/json",
            )
    except ERRORS as error:
        return _error(str(error))
    summary: dict[str, Any] = {"baseline": built.to_json(), "constraints": document}
    if skipped:
        summary["not_constrained"] = skipped
    _print(json.dumps(summary, indent=1))
    return EXIT_OK
