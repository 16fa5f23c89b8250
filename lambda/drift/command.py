"""The ``baseline`` and ``drift`` commands: the Lambda's code, from a terminal.

``drift`` exits 0 when no drift is found, 1 on dataset drift, 3 when the
data is insufficient for a verdict, 2 on bad usage or unreadable input.
Paths may be local or ``s3://`` URIs (boto3, so ``AWS_ENDPOINT_URL`` is
honoured).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import baseline as baseline_module
from . import capture, render
from .baseline import CATEGORICAL, IGNORED, NUMERIC
from .check import list_s3_prefix, local_files, read_text, split_s3_uri
from .counts import Counts
from .report import CATEGORICAL_METRICS, DRIFT, INSUFFICIENT_DATA, Thresholds, score
from .stats import DEFAULT_BINS

EXIT_NO_DRIFT = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2
EXIT_INSUFFICIENT_DATA = 3


def register(subparsers: Any) -> None:
    """Add ``baseline`` and ``drift`` to the command line."""
    build = subparsers.add_parser(
        "baseline",
        help="build a drift baseline from training data",
        description="Build a drift baseline from training data: CSV with a header row, JSON "
        "lines of objects, or a Model Monitor statistics.json (converted). Column types are "
        "inferred (numeric when every value is a number) unless given.",
    )
    build.add_argument("--data", required=True, help="training data: a path or s3:// URI")
    build.add_argument("--out", required=True, help="where to write the baseline (path or s3://)")
    for kind in (NUMERIC, CATEGORICAL, IGNORED):
        build.add_argument(
            f"--{kind}",
            action="append",
            default=[],
            metavar="COLUMN[,COLUMN...]",
            help=f"treat these columns as {kind}"
            + (" (kept in position, never checked)" if kind == IGNORED else ""),
        )
    build.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COLUMN[,COLUMN...]",
        help="leave these columns out (a label, an ID): the payloads do not hold them",
    )
    build.add_argument("--bins", type=int, default=DEFAULT_BINS, help="bins per numeric feature")
    build.add_argument(
        "--max-categories",
        type=int,
        default=baseline_module.DEFAULT_MAX_CATEGORIES,
        help="categories kept per feature; rarer ones are counted together",
    )
    build.add_argument("--region", help="AWS region of s3:// paths (default: the SDK's)")
    build.set_defaults(run=run_baseline)

    drift = subparsers.add_parser(
        "drift",
        help="check captured traffic for drift against a baseline",
        description="Compare captured endpoint traffic with a baseline and print the report "
        "as JSON. Exit 0: no drift; 1: drift; 3: insufficient data; 2: error.",
    )
    drift.add_argument(
        "--baseline", required=True, help="baseline or statistics.json (path or s3://)"
    )
    drift.add_argument(
        "--capture", required=True, help="a capture file, a folder of them, or an s3:// prefix"
    )
    drift.add_argument(
        "--threshold", type=float, help="one drift threshold for every feature's metric"
    )
    defaults = Thresholds()
    drift.add_argument("--psi-threshold", type=float, help=f"default {defaults.psi}")
    drift.add_argument("--js-threshold", type=float, help=f"default {defaults.jensen_shannon}")
    drift.add_argument("--linf-threshold", type=float, help=f"default {defaults.linf}")
    drift.add_argument(
        "--categorical-metric",
        choices=CATEGORICAL_METRICS,
        default=defaults.categorical_metric,
    )
    drift.add_argument(
        "--dataset-share",
        type=float,
        default=defaults.dataset_share,
        help="share of features that must drift for the dataset to drift "
        "(default: any one feature drifting)",
    )
    drift.add_argument(
        "--min-records",
        type=int,
        default=defaults.min_records,
        help="fewer records give insufficient_data",
    )
    drift.add_argument(
        "--strict",
        action="store_true",
        help="parse every capture line whole (default: lines in SageMaker's layout have their "
        "input parsed and the rest checked for shape)",
    )
    drift.add_argument("--out", help="also write the JSON report here (path or s3://)")
    drift.add_argument(
        "--format",
        choices=("json", "table"),
        default="json",
        help="print the report as JSON (default) or as a table, features sorted by score "
        "over threshold",
    )
    drift.add_argument(
        "--html",
        metavar="FILE",
        help="also write the report as one self-contained HTML page with a chart per "
        "feature (path or s3://)",
    )
    drift.add_argument("--region", help="AWS region of s3:// paths (default: the SDK's)")
    drift.set_defaults(run=run_drift)


def _columns(values: list[str]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _s3(region: str | None = None) -> Any:
    import boto3  # noqa: PLC0415 - only S3 paths need it

    return boto3.client("s3", region_name=region)


def _read(uri: str, region: str | None = None) -> str:
    return read_text(uri, _s3(region) if uri.startswith("s3://") else None)


def _write(uri: str, text: str, region: str | None = None, content_type: str = "") -> None:
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        extra = {"ContentType": content_type} if content_type else {}
        _s3(region).put_object(Bucket=bucket, Key=key, Body=text.encode(), **extra)
    else:
        Path(uri).write_text(text, encoding="utf-8")


try:
    from botocore.exceptions import BotoCoreError, ClientError

    #: Failures reported as an error message and exit code 2, not a traceback.
    ERRORS: tuple[type[Exception], ...] = (OSError, ValueError, BotoCoreError, ClientError)
except ImportError:  # pragma: no cover - botocore is a dependency of the library
    ERRORS = (OSError, ValueError)


def _error(message: str) -> int:
    print(f"cdk-sagemaker-hosting: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _note(message: str) -> None:
    print(f"cdk-sagemaker-hosting: note: {message}", file=sys.stderr)


def _print(text: str) -> None:
    """Print; a reader that stopped early (``| head``) is not an error."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's advice: point stdout at devnull so the exit flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def run_baseline(args: argparse.Namespace) -> int:
    """Build a baseline and write it; print a one-line summary per feature."""
    try:
        with _local_copy(args.data, args.region) as path:
            built = _baseline_of(path, args)
        _write(args.out, json.dumps(built.to_json(), indent=1) + "\n", args.region)
    except ERRORS as error:
        return _error(str(error))
    lines = []
    for feature in built.features:
        bins = len(feature.counts)
        line = f"{feature.name}: {feature.kind}" + (f", {bins} bins" if bins else "")
        lines.append(line + (f" ({feature.note})" if feature.note else ""))
    lines.append(f"{built.records} records -> {args.out}")
    _print("\n".join(lines))
    return 0


@contextlib.contextmanager
def _local_copy(uri: str, region: str | None) -> Iterator[Path]:
    """A local path of ``uri``: itself, or an S3 object downloaded to a temporary file."""
    if not uri.startswith("s3://"):
        path = Path(uri)
        if not path.is_file():
            msg = f"no such file: {uri}"
            raise FileNotFoundError(msg)
        yield path
        return
    bucket, key = split_s3_uri(uri)
    with tempfile.TemporaryDirectory(prefix="drift-baseline-") as folder:
        path = Path(folder) / "data"
        _s3(region).download_file(bucket, key, str(path))
        yield path


def _statistics(path: Path) -> dict[str, Any] | None:
    """The content of a Model Monitor statistics.json at ``path``, or ``None`` (training data)."""
    with path.open(encoding="utf-8") as stream:
        first = next((line for line in stream if line.strip()), "")
    if not first.lstrip().startswith("{"):
        return None
    try:
        json.loads(first)
    except ValueError:  # a JSON document over several lines: not JSON lines
        with path.open(encoding="utf-8") as stream:
            try:
                whole = json.load(stream)
            except ValueError as error:
                msg = f"{path}: neither JSON lines nor a JSON document: {error}"
                raise baseline_module.BaselineError(msg) from error
        if isinstance(whole, dict) and "dataset" in whole and "features" in whole:
            return whole
        msg = f"{path}: a JSON document that is not a Model Monitor statistics.json"
        raise baseline_module.BaselineError(msg) from None
    return None


def _baseline_of(path: Path, args: argparse.Namespace) -> baseline_module.Baseline:
    types = {
        c: kind for kind in (NUMERIC, CATEGORICAL, IGNORED) for c in _columns(getattr(args, kind))
    }
    statistics = _statistics(path)
    if statistics is not None:
        return baseline_module.from_model_monitor(
            statistics,
            args.max_categories,
            bins=args.bins,
            types=types,
            ignore=_columns(args.drop),
        )
    columns, rows = baseline_module.table_source(lambda: path.open(encoding="utf-8", newline=""))
    return baseline_module.build(
        columns,
        rows,
        types=types,
        ignore=_columns(args.drop),
        bins=args.bins,
        max_categories=args.max_categories,
    )


def _thresholds(args: argparse.Namespace) -> Thresholds:
    values: dict[str, Any] = {
        "categorical_metric": args.categorical_metric,
        "dataset_share": args.dataset_share,
        "min_records": args.min_records,
    }
    if args.threshold is not None:
        values.update(psi=args.threshold, jensen_shannon=args.threshold, linf=args.threshold)
    for name, given in (
        ("psi", args.psi_threshold),
        ("jensen_shannon", args.js_threshold),
        ("linf", args.linf_threshold),
    ):
        if given is not None:
            values[name] = given
    return Thresholds(**values).check()


def _load_baseline(uri: str, region: str | None) -> baseline_module.Baseline:
    text = _read(uri, region)
    try:
        return baseline_module.loads(text)
    except baseline_module.BaselineError as error:
        first = text.lstrip().split("\n", 1)[0]
        if not first.startswith(("{", "[")) and ("," in first or "\t" in first):
            msg = (
                f"{uri} looks like training data (CSV), not a baseline: run "
                f"'cdk-sagemaker-hosting baseline --data {uri} --out baseline.json' first "
                "and give --baseline baseline.json"
            )
            raise baseline_module.BaselineError(msg) from error
        raise


#: Line rejections that say a file is not data capture at all.
_NOT_CAPTURE = frozenset(
    {capture.MALFORMED_JSON, capture.NOT_A_CAPTURE_RECORD, capture.UNDECODABLE_LINE}
)


def _count(
    baseline: baseline_module.Baseline, sources: Iterable[tuple[str, Any]], *, strict: bool
) -> tuple[Counts, list[dict[str, Any]], list[str]]:
    """Counts of every capture source; the rejected lines per file; files skipped."""
    total = Counts(baseline, strict=strict)
    files: list[dict[str, Any]] = []
    skipped: list[str] = []
    for name, read in sources:
        one = Counts(baseline, strict=strict)
        one.add_stream(read)
        rejected = sum(one.line_rejections.values())
        if one.lines and rejected == one.lines and set(one.line_rejections) <= _NOT_CAPTURE:
            skipped.append(name)
            continue
        total.merge(one)
        if rejected or one.record_rejections:
            files.append(
                {
                    "file": name,
                    "lines": one.lines,
                    "lines_rejected": dict(sorted(one.line_rejections.items())),
                    "records_rejected": dict(sorted(one.record_rejections.items())),
                }
            )
    return total, files, skipped


def _local_sources(path: Path) -> Iterator[tuple[str, Any]]:
    for file in local_files(path):
        with file.open("rb") as stream:
            yield str(file), stream.read


def _s3_sources(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, Any]]:
    for key in list_s3_prefix(s3, bucket, prefix):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield f"s3://{bucket}/{key}", body.read
        finally:
            body.close()


def width_hint(baseline: baseline_module.Baseline, counts: Counts) -> str | None:
    """Why every record was refused for its column count, when that is what happened."""
    wrong = counts.record_rejections.get(capture.WRONG_COLUMN_COUNT, 0)
    if not counts.records or counts.records_used or wrong < counts.records / 2:
        return None
    width = len(baseline.features)
    seen = ", ".join(str(w) for w, _ in counts.widths.most_common(3)) or "another number"
    hint = f"the baseline has {width} features, the records have {seen}"
    widths = set(counts.widths)
    if widths and all(w < width for w in widths):
        return hint + ": did the baseline keep the label? rebuild it with --drop LABEL"
    if widths and all(w > width for w in widths):
        return hint + ": do the requests carry a column the baseline dropped?"
    return hint


def run_drift(args: argparse.Namespace) -> int:
    """Count the capture, score it, print the report; the exit code is the verdict."""
    try:
        thresholds = _thresholds(args)
        baseline = _load_baseline(args.baseline, args.region)
        if args.capture.startswith("s3://"):
            bucket, prefix = split_s3_uri(args.capture)
            sources = _s3_sources(_s3(args.region), bucket, prefix)
        else:
            sources = _local_sources(Path(args.capture))
        counts, files, skipped = _count(baseline, sources, strict=args.strict)
        context: dict[str, Any] = {"capture": args.capture, "baseline_uri": args.baseline}
        if files:
            context["files_with_rejections"] = files
        if skipped:
            context["files_skipped"] = skipped
        report = score(baseline, counts, thresholds, **context)
        text = json.dumps(report, indent=1)
        if args.out:
            _write(args.out, text + "\n", args.region, "application/json")
        if args.html:
            _write(args.html, render.page(report), args.region, "text/html; charset=utf-8")
    except ERRORS as error:
        return _error(str(error))
    for name in skipped:
        _note(f"skipped {name}: not a data-capture file (no line is a capture record)")
    hint = width_hint(baseline, counts)
    if hint:
        _note(hint)
    _print(render.table(report) if args.format == "table" else text)
    if report["verdict"] == DRIFT:
        return EXIT_DRIFT
    if report["verdict"] == INSUFFICIENT_DATA:
        return EXIT_INSUFFICIENT_DATA
    return EXIT_NO_DRIFT
