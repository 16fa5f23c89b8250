"""The ``quality`` command: join captured predictions with ground truth, print the report.

Exits 0 when quality is ok, 1 when a constraint is violated (degraded), 3 when
too few records joined for a verdict, 2 on bad usage or unreadable input.
Paths may be local files, folders, or ``s3://`` prefixes (boto3, so
``AWS_ENDPOINT_URL`` is honoured).

Only the command line imports this module (never the Lambda function, whose
asset holds the ``quality`` package alone), so it may reuse the drift
command's file listing and S3 helpers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..drift.check import list_s3_prefix, local_files, split_s3_uri
from ..drift.command import ERRORS, _error, _print, _read, _s3
from .counts import DEFAULT_BINS, DEFAULT_THRESHOLD, new_counts
from .records import EVENT_ID, KEYS, PROBLEMS, Join, line_batches
from .report import (
    DEFAULT_MIN_RECORDS,
    DEGRADED,
    INSUFFICIENT_DATA,
    Constraint,
    ConstraintsError,
    constraints_of,
    report,
)

EXIT_OK = 0
EXIT_DEGRADED = 1
EXIT_ERROR = 2
EXIT_INSUFFICIENT_DATA = 3


def register(subparsers: Any) -> None:
    """Add ``quality`` to the command line."""
    quality = subparsers.add_parser(
        "quality",
        help="join captured predictions with ground truth and report model quality",
        description="Join data-capture records (the prediction in endpointOutput) with ground "
        "truth in Model Monitor's layout by event ID, and print the quality report as JSON. "
        "Exit 0: ok; 1: degraded; 3: insufficient data; 2: error.",
    )
    quality.add_argument(
        "--capture", required=True, help="a capture file, a folder of them, or an s3:// prefix"
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
        help="a Model Monitor model-quality constraints file (path or s3://)",
    )
    quality.add_argument(
        "--key",
        choices=KEYS,
        default=EVENT_ID,
        help="the capture's eventMetadata field the ground truth's eventId names",
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
    quality.add_argument("--region", help="AWS region of s3:// paths (default: the SDK's)")
    quality.set_defaults(run=run_quality)


def _sources(uri: str, region: str | None) -> Iterator[Callable[[int], bytes]]:
    if uri.startswith("s3://"):
        s3 = _s3(region)
        bucket, prefix = split_s3_uri(uri)
        for key in list_s3_prefix(s3, bucket, prefix):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                yield body.read
            finally:
                body.close()
        return
    for file in local_files(Path(uri)):
        with file.open("rb") as stream:
            yield stream.read


def run_quality(args: argparse.Namespace) -> int:
    """Join, count, score; print the report; the exit code is the verdict."""
    try:
        counts = new_counts(args.problem, threshold=args.threshold, bins=args.bins)
        constraints: list[Constraint] = []
        unchecked: list[str] = []
        if args.baseline:
            try:
                document = json.loads(_read(args.baseline, args.region))
            except ValueError as error:
                msg = f"{args.baseline}: not JSON: {error}"
                raise ConstraintsError(msg) from error
            constraints, unchecked = constraints_of(document, args.problem)
        join = Join(
            args.problem,
            key=args.key,
            prediction_attribute=args.prediction_attribute,
            label_attribute=args.label_attribute,
        )
        for read in _sources(args.capture, args.region):
            for lines in line_batches(read):
                join.add_capture(lines)
        for read in _sources(args.ground_truth, args.region):
            for lines in line_batches(read):
                join.add_ground_truth(lines)
        predictions, labels = join.pairs()
        counts.add(predictions, labels)
        result = report(
            counts,
            prediction_records=join.prediction_records,
            label_records=join.label_records,
            rejected=join.rejected,
            constraints=constraints,
            constraints_not_checked=unchecked,
            min_records=args.min_records,
            capture=args.capture,
            ground_truth=args.ground_truth,
            **({"baseline_uri": args.baseline} if args.baseline else {}),
        )
    except ERRORS as error:
        return _error(str(error))
    _print(json.dumps(result, indent=1))
    if result["verdict"] == DEGRADED:
        return EXIT_DEGRADED
    if result["verdict"] == INSUFFICIENT_DATA:
        return EXIT_INSUFFICIENT_DATA
    return EXIT_OK
