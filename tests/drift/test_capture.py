"""Capture parsing: every encoding and payload shape, and every kind of bad data counted."""

from __future__ import annotations

import io
import json
import math
import random
from typing import Any

import pytest
from cdk_sagemaker_hosting._lambda.drift import capture
from cdk_sagemaker_hosting._lambda.drift.baseline import (
    CATEGORICAL,
    NUMERIC,
    Baseline,
    Feature,
    build,
)
from cdk_sagemaker_hosting._lambda.drift.counts import Counts, NumericCounts
from cdk_sagemaker_hosting._lambda.drift.stats import bin_counts

from tests.drift.helpers import capture_line

#: x numeric with one edge, 2.0 (bins: < 2 and >= 2); s categorical a, b (and "other").
BASELINE = Baseline(
    (
        Feature("x", NUMERIC, counts=(1, 2), edges=(2.0,)),
        Feature("s", CATEGORICAL, counts=(2, 1, 0), categories=("a", "b")),
    ),
    3,
)


def counted(*lines: str, strict: bool = False) -> Counts:
    counts = Counts(BASELINE, strict=strict)
    counts.add_lines(list(lines))
    return counts


def x_bins(counts: Counts) -> list[int]:
    return counts.features[0].counts  # type: ignore[union-attr]


def s_bins(counts: Counts) -> list[int]:
    return counts.features[1].counts  # type: ignore[union-attr]


def test_baseline_of_the_module() -> None:
    assert BASELINE.features[0].edges == (2.0,)
    assert BASELINE.features[1].categories == ("a", "b")


def test_csv_payload() -> None:
    counts = counted(capture_line("1,a"), capture_line("3,b"), capture_line("2.9,a"))
    assert (counts.lines, counts.records, counts.records_used) == (3, 3, 3)
    assert x_bins(counts) == [1, 2] and s_bins(counts) == [2, 1, 0]


def test_json_payloads_objects_arrays_and_instances() -> None:
    counts = counted(
        capture_line('{"x": 1, "s": "a"}', "JSON", "application/json"),
        capture_line('[3, "b"]', "JSON", "application/json"),
        capture_line('[{"x": 2, "s": "a"}, [1.0, "b"]]', "JSON", "application/json"),
        capture_line('{"instances": [{"x": 1, "s": "a"}]}', "JSON", "application/json"),
        capture_line('{"x": 1, "s": "a"}\n{"x": 3, "s": "b"}', "JSON", "application/jsonlines"),
    )
    assert (counts.lines, counts.records, counts.records_used) == (5, 7, 7)
    assert s_bins(counts) == [4, 3, 0]


def test_base64_payloads_follow_their_content_type() -> None:
    counts = counted(
        capture_line("1,a", "BASE64", "text/csv"),
        capture_line('{"x": 3, "s": "b"}', "BASE64", "application/json"),
    )
    assert counts.records_used == 2 and s_bins(counts) == [1, 1, 0]


def test_multi_row_payloads() -> None:
    counts = counted(capture_line("1,a\n2,b\r\n3,a\n"), capture_line("1,b", "BASE64"))
    assert (counts.lines, counts.records, counts.records_used) == (2, 4, 4)


def test_quoted_csv_fields() -> None:
    counts = counted(capture_line('1,"a"'), capture_line('"2","b"'), capture_line('1,"a,b"'))
    assert counts.records_used == 3
    assert s_bins(counts) == [1, 1, 1]  # "a,b" is one unknown category
    assert counts.features[1].unknown == 1  # type: ignore[union-attr]


def _line_reasons(counts: Counts) -> dict[str, int]:
    return dict(counts.line_rejections)


BAD_LINES: list[tuple[str, str, dict[str, int]]] = [
    ("truncated line", capture_line("1,a")[:40], {"malformed_json": 1}),
    ("not JSON", "hello", {"malformed_json": 1}),
    ("trailing garbage", capture_line("1,a") + " }", {"malformed_json": 1}),
    ("trailing garbage, spaced", capture_line("1,a", compact=False) + "x", {"malformed_json": 1}),
    ("cut after an inner brace", capture_line("1,a")[:-1], {"malformed_json": 1}),
    ("a JSON array", "[1, 2]", {"not_a_capture_record": 1}),
    ("no captureData", '{"eventVersion": "0"}', {"not_a_capture_record": 1}),
    (
        "data not a string",
        '{"captureData": {"endpointInput": {"data": 5}}}',
        {"not_a_capture_record": 1},
    ),
    (
        "output only",
        '{"captureData": {"endpointOutput": {"data": "0.5", "encoding": "CSV"}}}',
        {"no_input": 1},
    ),
    ("unknown encoding", capture_line("1,a", "UTF16"), {"unsupported_encoding": 1}),
    (
        "bad base64",
        json.dumps({"captureData": {"endpointInput": {"data": "%%%", "encoding": "BASE64"}}}),
        {"undecodable_payload": 1},
    ),
    (
        "base64 of binary",
        capture_line("x", "BASE64", "application/x-npy"),
        {"unsupported_content_type": 1},
    ),
    ("bad JSON payload", capture_line("{x", "JSON", "application/json"), {"malformed_payload": 1}),
    ("undecodable bytes", capture.UNDECODABLE, {"undecodable_line": 1}),
]


@pytest.mark.parametrize(
    ("line", "reasons"), [c[1:] for c in BAD_LINES], ids=[c[0] for c in BAD_LINES]
)
@pytest.mark.parametrize("strict", [False, True], ids=["layout", "strict"])
def test_bad_lines_are_counted_by_reason(line: str, reasons: dict[str, int], strict: bool) -> None:
    counts = counted(capture_line("1,a"), line, strict=strict)
    assert counts.lines == 2
    assert _line_reasons(counts) == reasons
    assert counts.records_used == 1  # the good line still counts


BAD_ROWS: list[tuple[str, str, str, str, dict[str, int]]] = [
    ("too few columns", "1", "CSV", "text/csv", {"wrong_column_count": 1}),
    ("too many columns", "1,a,9", "CSV", "text/csv", {"wrong_column_count": 1}),
    ("quoted, too many", '1,"a",9', "CSV", "text/csv", {"wrong_column_count": 1}),
    ("empty payload", "", "CSV", "text/csv", {"empty_row": 1}),
    ("array too short", "[1]", "JSON", "application/json", {"wrong_column_count": 1}),
    ("object of unknown keys", '{"y": 1}', "JSON", "application/json", {"not_a_row": 1}),
    ("a bare number", "5", "JSON", "application/json", {"not_a_row": 1}),
    ("empty array", "[[]]", "JSON", "application/json", {"empty_row": 1}),
]


@pytest.mark.parametrize(
    ("data", "encoding", "content_type", "reasons"),
    [c[1:] for c in BAD_ROWS],
    ids=[c[0] for c in BAD_ROWS],
)
def test_bad_rows_are_counted_by_reason(
    data: str, encoding: str, content_type: str, reasons: dict[str, int]
) -> None:
    counts = counted(capture_line("1,a"), capture_line(data, encoding, content_type))
    assert counts.lines == 2 and not counts.line_rejections
    assert dict(counts.record_rejections) == reasons
    assert (counts.records, counts.records_used) == (2, 1)


BAD_VALUES: list[tuple[str, list[str], dict[str, Any]]] = [
    ("missing number", ["", "a"], {"x": {"missing": 1}}),
    ("text in a number", ["abc", "a"], {"x": {"non_numeric": 1}}),
    ("NaN", ["nan", "a"], {"x": {"non_finite": 1}}),
    ("infinity", ["-inf", "a"], {"x": {"non_finite": 1}}),
    ("overflow", ["1e999", "a"], {"x": {"non_finite": 1}}),
    ("missing category", ["1", " "], {"s": {"missing": 1}}),
    ("unknown category", ["1", "zz"], {"s": {"unknown_category": 1}}),
]


@pytest.mark.parametrize(
    ("row", "rejected"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES]
)
def test_bad_values_are_counted_per_feature(row: list[str], rejected: dict[str, Any]) -> None:
    counts = counted(capture_line("1,a"), capture_line(",".join(row)))
    assert counts.records_used == 2  # the row is read; the bad value alone is left out
    for i, name in enumerate(("x", "s")):
        expected = {k: 0 for k in counts.features[i].rejected()}  # type: ignore[union-attr]
        expected.update(rejected.get(name, {}))
        assert counts.features[i].rejected() == expected, name  # type: ignore[union-attr]


def test_json_null_and_missing_keys_are_missing_values() -> None:
    counts = counted(capture_line('{"x": null}', "JSON", "application/json"))
    assert counts.features[0].missing == 1 and counts.features[1].missing == 1  # type: ignore[union-attr]


def test_json_categories_are_normalised() -> None:
    b = build(["flag"], [["true"], ["1"], ["false"]])
    counts = Counts(b)
    assert b.features[0].categories == ("1", "false", "true")
    json_type = "application/json"
    counts.add_lines(
        [capture_line("[true]", "JSON", json_type), capture_line("[1]", "JSON", json_type)]
    )
    assert counts.features[0].counts == [1, 0, 1, 0]  # type: ignore[union-attr]


def test_blank_lines_are_not_records() -> None:
    counts = counted("", capture_line("1,a"), "   ", "")
    assert (counts.lines, sum(counts.line_rejections.values())) == (1, 0)


def test_streams_are_read_in_chunks_and_lines_cross_chunk_boundaries() -> None:
    lines = [capture_line(f"{i % 3},a") for i in range(200)]
    blob = ("\n".join(lines) + "\n").encode()
    whole = Counts(BASELINE)
    whole.add_lines(lines)
    chunked = Counts(BASELINE)
    stream = io.BytesIO(blob)
    for batch in capture.line_batches(stream.read, chunk_size=97):
        chunked.add_lines(batch)
    assert chunked.to_json() == whole.to_json()


def test_invalid_utf8_is_counted_per_line() -> None:
    blob = capture_line("1,a").encode() + b"\n\xff\xfe\n" + capture_line("2,b").encode()
    counts = Counts(BASELINE)
    counts.add_stream(io.BytesIO(blob).read)
    assert counts.lines == 3 and dict(counts.line_rejections) == {"undecodable_line": 1}
    assert counts.records_used == 2


@pytest.mark.parametrize("strict", [False, True], ids=["layout", "strict"])
def test_sagemaker_layout_and_spaced_json_count_alike(strict: bool) -> None:
    payloads = ["1,a", "3,b", "2.5,a", "x,zz", "1", ""]
    compact = counted(*(capture_line(p) for p in payloads), strict=strict)
    spaced = counted(*(capture_line(p, compact=False) for p in payloads), strict=strict)
    assert compact.to_json() == spaced.to_json()
    assert (
        compact.to_json()
        == counted(*(capture_line(p) for p in payloads), strict=not strict).to_json()
    )


def test_corruption_outside_the_input_object_is_caught_only_when_strict() -> None:
    """The documented trade of the fast path: output and metadata are checked for shape only."""
    line = capture_line("1,a").replace('"eventVersion":"0"', '"eventVersion":"0" "x":1')
    assert counted(line).records_used == 1
    assert dict(counted(line, strict=True).line_rejections) == {"malformed_json": 1}


@pytest.mark.parametrize("size", [0, 1, 255, 256, 2_501])
def test_numeric_columns_bin_and_reject_as_the_reference(size: int) -> None:
    """Bins and bad values of a CSV column (ties on edges, NaN, inf, overflow, text, blanks)."""
    rng = random.Random(size)  # noqa: S311 - reproducible test data
    edges = (-1.0, 0.0, 0.5, 2.0)
    feature = Feature("x", NUMERIC, (1,) * 5, edges)
    pool = [*(str(e) for e in edges), "-1", "2", "nan", "inf", "-inf", "1e999", "abc", "", " 0.5 "]
    values = [
        rng.choice(pool) if rng.random() < 0.2 else f"{rng.gauss(0.5, 1.5):.2f}"
        for _ in range(size)
    ]
    observed = NumericCounts(feature)
    observed.add(values)
    numbers = []
    for value in values:
        try:
            numbers.append(float(value))
        except ValueError:
            continue
    finite = sorted(n for n in numbers if math.isfinite(n))
    assert observed.counts == bin_counts(finite, edges)
    assert observed.non_finite == len(numbers) - len(finite)
    assert observed.missing == values.count("")
    assert observed.non_numeric == size - len(numbers) - values.count("")


ONE = build(["x"], [[str(i % 50)] for i in range(100)])
JSON = "application/json"


@pytest.mark.parametrize(
    ("payload", "records", "used", "reasons"),
    [
        ('{"instances": [1, 2, 3]}', 3, 3, {}),
        ('{"instances": [[1], [2], [3]]}', 3, 3, {}),
        ('{"instances": [{"x": 1}, {"x": 2}]}', 2, 2, {}),
        ('{"signature_name": "serving_default", "instances": [4, 5]}', 2, 2, {}),
        ('{"inputs": {"x": [1, 2, 3, 4]}}', 4, 4, {}),
        ('{"inputs": {"x": 7}}', 1, 1, {}),
        ('{"inputs": [1, 2]}', 2, 2, {}),
        ("[1, 2, 3]", 3, 3, {}),
        ("5", 1, 1, {}),
        ('{"instances": [[1, 2]]}', 1, 0, {"wrong_column_count": 1}),
    ],
)
def test_tensorflow_serving_payloads_of_one_feature(
    payload: str, records: int, used: int, reasons: dict[str, int]
) -> None:
    counts = Counts(ONE)
    counts.add_lines([capture_line(payload, "JSON", JSON)])
    assert (counts.records, counts.records_used) == (records, used)
    assert dict(counts.record_rejections) == reasons


@pytest.mark.parametrize(
    ("payload", "records", "used", "reasons"),
    [
        ('{"instances": [[1, "a"], [3, "b"], [2, "a"]]}', 3, 3, {}),
        ('{"instances": [{"x": 1, "s": "a"}, {"x": 3, "s": "b"}]}', 2, 2, {}),
        ('{"inputs": {"x": [1, 3, 2], "s": ["a", "b", "a"]}}', 3, 3, {}),
        ('{"inputs": {"x": [1, 3], "s": ["a"]}}', 2, 0, {"ragged_columns": 2}),
        ('{"inputs": {"x": 1, "s": "a"}}', 1, 1, {}),
        ('{"instances": [1, 2, 3]}', 3, 0, {"not_a_row": 3}),
        ('[1, "a"]', 1, 1, {}),
    ],
)
def test_tensorflow_serving_payloads_of_two_features(
    payload: str, records: int, used: int, reasons: dict[str, int]
) -> None:
    counts = counted(capture_line(payload, "JSON", JSON))
    assert (counts.records, counts.records_used) == (records, used)
    assert dict(counts.record_rejections) == reasons


def test_columnar_inputs_count_like_rows() -> None:
    rows = counted(capture_line('{"instances": [[1, "a"], [3, "b"], [2, "a"]]}', "JSON", JSON))
    columns = counted(
        capture_line('{"inputs": {"x": [1, 3, 2], "s": ["a", "b", "a"]}}', "JSON", JSON)
    )
    assert rows.to_json()["features"] == columns.to_json()["features"]
    assert x_bins(columns) == [1, 2]


def test_with_one_feature_an_empty_csv_payload_is_a_missing_value() -> None:
    """As JSON's null is: a one-feature model sent nothing for its feature."""
    counts = Counts(ONE)
    counts.add_lines([capture_line(""), capture_line("3"), capture_line("null", "JSON", JSON)])
    assert (counts.records, counts.records_used) == (3, 3)
    assert counts.features[0].missing == 2  # type: ignore[union-attr]
