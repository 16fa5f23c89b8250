"""The ``baseline`` and ``drift`` commands: the Lambda's code, from a terminal.

``drift`` exits 0 when no drift is found, 1 on dataset drift, 3 when the
data is insufficient for a verdict, 2 on bad usage or unreadable input.
Paths may be local or ``s3://`` URIs (boto3, so ``AWS_ENDPOINT_URL`` is
honoured).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import baseline as baseline_module
from .baseline import CATEGORICAL, IGNORED, NUMERIC
from .check import count_local, count_s3_objects, list_s3_prefix, read_text, split_s3_uri
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
    drift.add_argument("--out", help="also write the report here (path or s3://)")
    drift.set_defaults(run=run_drift)


def _columns(values: list[str]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _s3() -> Any:
    import boto3  # noqa: PLC0415 - only S3 paths need it

    return boto3.client("s3")


def _read(uri: str) -> str:
    return read_text(uri, _s3() if uri.startswith("s3://") else None)


def _write(uri: str, text: str) -> None:
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        _s3().put_object(Bucket=bucket, Key=key, Body=text.encode())
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


def run_baseline(args: argparse.Namespace) -> int:
    """Build a baseline and write it; print a one-line summary per feature."""
    try:
        text = _read(args.data)
        built = _baseline_of(text, args)
        _write(args.out, json.dumps(built.to_json(), indent=1) + "\n")
    except ERRORS as error:
        return _error(str(error))
    for feature in built.features:
        bins = len(feature.counts)
        print(f"{feature.name}: {feature.kind}" + (f", {bins} bins" if bins else ""))
    print(f"{built.records} records -> {args.out}")
    return 0


def _baseline_of(text: str, args: argparse.Namespace) -> baseline_module.Baseline:
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    types = {
        c: kind for kind in (NUMERIC, CATEGORICAL, IGNORED) for c in _columns(getattr(args, kind))
    }
    if isinstance(whole, dict) and "dataset" in whole and "features" in whole:
        return baseline_module.from_model_monitor(
            whole, args.max_categories, bins=args.bins, types=types, ignore=_columns(args.drop)
        )
    columns, rows = baseline_module.read_table(text)
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


def run_drift(args: argparse.Namespace) -> int:
    """Count the capture, score it, print the report; the exit code is the verdict."""
    try:
        thresholds = _thresholds(args)
        baseline = baseline_module.loads(_read(args.baseline))
        if args.capture.startswith("s3://"):
            s3 = _s3()
            bucket, prefix = split_s3_uri(args.capture)
            counts = count_s3_objects(
                s3, Counts(baseline, strict=args.strict), bucket, list_s3_prefix(s3, bucket, prefix)
            )
        else:
            counts = count_local(baseline, Path(args.capture), strict=args.strict)
        report = score(
            baseline, counts, thresholds, capture=args.capture, baseline_uri=args.baseline
        )
        text = json.dumps(report, indent=1)
        if args.out:
            _write(args.out, text + "\n")
    except ERRORS as error:
        return _error(str(error))
    print(text)
    if report["verdict"] == DRIFT:
        return EXIT_DRIFT
    if report["verdict"] == INSUFFICIENT_DATA:
        return EXIT_INSUFFICIENT_DATA
    return EXIT_NO_DRIFT
