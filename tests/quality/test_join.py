"""The join: predictions from capture, labels from ground truth, every unjoined record counted."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import pytest
from cdk_sagemaker_hosting._lambda.quality import records
from cdk_sagemaker_hosting._lambda.quality.counts import new_counts
from cdk_sagemaker_hosting._lambda.quality.records import Join, JoinResult, line_batches
from cdk_sagemaker_hosting._lambda.quality.report import reference_variant, window_report

from tests.quality.helpers import capture_line, truth_line


def joined(
    problem: str, capture: list[str], truth: list[str], **options: object
) -> tuple[Join, list[object], list[object]]:
    join = Join(problem, **options)  # type: ignore[arg-type]
    join.add_capture(capture)
    join.add_ground_truth(truth)
    predictions, labels = join.pairs()
    # Nothing lost: every record is joined or counted under one reason.
    assert join.prediction_records + join.label_records == 2 * len(labels) + sum(
        join.rejected.values()
    )
    return join, predictions, labels


def test_joins_by_event_id_in_any_order() -> None:
    capture = [capture_line(f"e{i}", f"0.{i}") for i in range(1, 6)]
    truth = [truth_line(f"e{i}", str(i % 2)) for i in reversed(range(1, 6))]
    join, predictions, labels = joined("binary", capture, truth)
    assert sorted(zip(predictions, labels, strict=True)) == [
        (0.1, 1),
        (0.2, 0),
        (0.3, 1),
        (0.4, 0),
        (0.5, 1),
    ]
    assert not join.rejected


def test_joins_by_inference_id_when_asked() -> None:
    capture = [capture_line("e1", "0.9", inference_id="req-1"), capture_line("e2", "0.1")]
    truth = [truth_line("req-1", "1"), truth_line("e2", "0")]
    join, predictions, labels = joined("binary", capture, truth, key="inferenceId")
    assert (predictions, labels) == ([0.9], [1])
    # e2 carries no inferenceId; its label names an ID no capture record has.
    assert join.rejected == Counter({records.MISSING_ID: 1, records.LABEL_WITHOUT_PREDICTION: 1})


def mixed_ids(n: int = 10) -> tuple[list[str], list[str]]:
    """``n`` predictions, every other one with an inference ID, each labelled by the ID it has.

    Model Monitor joins a capture record by its ``inferenceId`` when it has
    one, else by its ``eventId``; the labels here follow that rule.
    """
    capture, truth = [], []
    for i in range(n):
        inference = f"req-{i}" if i % 2 else None
        capture.append(capture_line(f"e{i}", f"0.{i}", inference_id=inference))
        truth.append(truth_line(inference or f"e{i}", str(i % 2)))
    return capture, truth


def test_joins_by_inference_id_else_event_id_by_default() -> None:
    """Model Monitor's rule: a record's inferenceId when it has one, otherwise its eventId."""
    capture, truth = mixed_ids(10)
    join, _, labels = joined("binary", capture, truth)
    assert join.key == records.AUTO
    assert len(labels) == 10
    assert not join.rejected


@pytest.mark.parametrize("key", ["eventId", "inferenceId"])
def test_a_single_key_joins_only_the_records_labelled_by_it(key: str) -> None:
    capture, truth = mixed_ids(10)
    join, _, labels = joined("binary", capture, truth, key=key)
    assert len(labels) == 5
    if key == "eventId":
        # Labels naming inference IDs match no event ID.
        assert join.rejected == Counter(
            {records.PREDICTION_WITHOUT_LABEL: 5, records.LABEL_WITHOUT_PREDICTION: 5}
        )
    else:
        assert join.rejected == Counter(
            {records.MISSING_ID: 5, records.LABEL_WITHOUT_PREDICTION: 5}
        )


@pytest.mark.parametrize(
    ("metadata", "key", "expected"),
    [
        ({"eventId": "e", "inferenceId": "r"}, "auto", "r"),
        ({"eventId": "e"}, "auto", "e"),
        ({"eventId": "e", "inferenceId": ""}, "auto", "e"),
        ({"eventId": "e", "inferenceId": None}, "auto", "e"),
        ({"eventId": "e", "inferenceId": "r"}, "eventId", "e"),
        ({"eventId": "e", "inferenceId": "r"}, "inferenceId", "r"),
        ({"eventId": "e"}, "inferenceId", None),
        ({}, "auto", None),
    ],
)
def test_capture_id(metadata: dict[str, object], key: str, expected: str | None) -> None:
    assert records.capture_id(metadata, key) == expected


def test_capture_fields_is_public() -> None:
    line = compact(capture_line("e1", "0.7", inference_id="r1"))
    output, metadata = records.capture_fields(line, strict=False)
    assert output["data"] == "0.7"
    assert metadata["inferenceId"] == "r1"
    assert "capture_fields" in records.__all__


@pytest.mark.parametrize(
    ("problem", "output", "options", "expected"),
    [
        ("binary", {"data": "0.75,0.25"}, {}, 0.75),
        ("binary", {"data": "0.2,0.8"}, {"prediction_column": 1}, 0.8),
        ("binary", {"data": '"0.75",x'}, {}, 0.75),
        ("binary", {"data": "0.6", "encoding": "BASE64"}, {}, 0.6),
        ("binary", {"data": "[0.3]", "encoding": "JSON"}, {}, 0.3),
        ("binary", {"data": "[[0.3, 0.7]]", "content_type": "application/json"}, {}, 0.3),
        (
            "binary",
            {"data": '{"predictions": [{"score": 0.42}]}', "encoding": "JSON"},
            {"prediction_attribute": "predictions.0.score"},
            0.42,
        ),
        ("multiclass", {"data": "dog"}, {}, "dog"),
        ("multiclass", {"data": "3.0", "encoding": "JSON"}, {}, "3"),
        (
            "multiclass",
            {"data": '{"label": 2}', "encoding": "JSON"},
            {"prediction_attribute": "label"},
            "2",
        ),
        ("regression", {"data": "12.5\n"}, {}, 12.5),
        ("regression", {"data": "-3e2", "encoding": "JSON"}, {}, -300.0),
    ],
)
def test_reads_predictions_in_each_layout(
    problem: str, output: dict[str, str], options: dict[str, object], expected: object
) -> None:
    line = capture_line(
        "e1",
        output["data"],
        encoding=output.get("encoding", "CSV"),
        content_type=output.get("content_type", "text/csv"),
    )
    label = {"binary": "1", "multiclass": "dog", "regression": "1"}[problem]
    _, predictions, _ = joined(problem, [line], [truth_line("e1", label)], **options)
    assert predictions == [expected]


@pytest.mark.parametrize(
    ("problem", "label", "encoding", "expected"),
    [
        ("binary", "1", "CSV", 1),
        ("binary", "0.0", "CSV", 0),
        ("binary", "true", "JSON", 1),
        ("binary", "False", "CSV", 0),
        ("binary", "1", "BASE64", 1),
        ("multiclass", "cat", "CSV", "cat"),
        ("multiclass", "7", "JSON", "7"),
        ("regression", "2.5", "CSV", 2.5),
    ],
)
def test_reads_labels_in_each_encoding(
    problem: str, label: str, encoding: str, expected: object
) -> None:
    prediction = {"binary": "0.5", "multiclass": "cat", "regression": "1"}[problem]
    _, _, labels = joined(
        problem, [capture_line("e1", prediction)], [truth_line("e1", label, encoding=encoding)]
    )
    assert labels == [expected]


GOOD_CAPTURE = capture_line("good", "0.9")
GOOD_TRUTH = truth_line("good", "1")


@pytest.mark.parametrize(
    ("problem", "capture", "truth", "reasons"),
    [
        ("binary", [capture_line("a", "0.1")], [], {records.PREDICTION_WITHOUT_LABEL: 1}),
        ("binary", [], [truth_line("a", "1")], {records.LABEL_WITHOUT_PREDICTION: 1}),
        (
            "binary",
            [capture_line("a", "0.1"), capture_line("a", "0.2")],
            [truth_line("a", "1")],
            {records.DUPLICATE_ID: 3},
        ),
        (
            "binary",
            [capture_line("a", "0.1")],
            [truth_line("a", "1"), truth_line("a", "0"), truth_line("a", "1")],
            {records.DUPLICATE_ID: 4},
        ),
        (
            "binary",
            [capture_line("a", "0.1"), capture_line("a", "0.1")],
            [truth_line("a", "1"), truth_line("a", "1")],
            {records.DUPLICATE_ID: 4},
        ),
        (
            "binary",
            [capture_line("a", "1.5")],
            [truth_line("a", "1")],
            {records.UNPARSEABLE_PREDICTION: 1, records.LABEL_WITHOUT_PREDICTION: 1},
        ),
        (
            "binary",
            [capture_line("a", "nan")],
            [truth_line("a", "1")],
            {records.UNPARSEABLE_PREDICTION: 1, records.LABEL_WITHOUT_PREDICTION: 1},
        ),
        (
            "binary",
            [capture_line("a", "")],
            [truth_line("a", "1")],
            {records.UNPARSEABLE_PREDICTION: 1, records.LABEL_WITHOUT_PREDICTION: 1},
        ),
        (
            "binary",
            [capture_line("a", "{", encoding="JSON")],
            [truth_line("a", "1")],
            {records.UNPARSEABLE_PREDICTION: 1, records.LABEL_WITHOUT_PREDICTION: 1},
        ),
        (
            "binary",
            [capture_line("a", "not base64!", encoding="BASE64")],
            [],
            {records.UNPARSEABLE_PREDICTION: 1},
        ),
        (
            "binary",
            [capture_line("a", "0.5", encoding="XML")],
            [],
            {records.UNPARSEABLE_PREDICTION: 1},
        ),
        (
            "binary",
            [capture_line("a", "0.4")],
            [truth_line("a", "2")],
            {records.UNPARSEABLE_LABEL: 1, records.PREDICTION_WITHOUT_LABEL: 1},
        ),
        (
            "binary",
            [capture_line("a", "0.4")],
            [truth_line("a", "yes")],
            {records.UNPARSEABLE_LABEL: 1, records.PREDICTION_WITHOUT_LABEL: 1},
        ),
        (
            "regression",
            [capture_line("a", "1")],
            [truth_line("a", "inf")],
            {records.UNPARSEABLE_LABEL: 1, records.PREDICTION_WITHOUT_LABEL: 1},
        ),
        (
            "multiclass",
            [capture_line("a", "  ")],
            [truth_line("a", "x")],
            {records.UNPARSEABLE_PREDICTION: 1, records.LABEL_WITHOUT_PREDICTION: 1},
        ),
        ("binary", ["not json"], [], {records.MALFORMED_CAPTURE: 1}),
        ("binary", ['{"captureData": {}}'], [], {records.MALFORMED_CAPTURE: 1}),
        ("binary", ["[1, 2]"], [], {records.MALFORMED_CAPTURE: 1}),
        ("binary", [records.UNDECODABLE], [], {records.MALFORMED_CAPTURE: 1}),
        ("binary", [], ['{"groundTruthData": {"data": "1"}}'], {records.MALFORMED_GROUND_TRUTH: 1}),
        ("binary", [], ["{}"], {records.MALFORMED_GROUND_TRUTH: 1}),
        (
            "binary",
            [json.dumps({"captureData": {"endpointOutput": {"data": "0.1"}}, "eventMetadata": {}})],
            [],
            {records.MISSING_ID: 1},
        ),
        (
            "binary",
            [],
            [json.dumps({"groundTruthData": {"data": "1"}, "eventMetadata": {"eventId": 7}})],
            {records.MISSING_ID: 1},
        ),
        ("binary", ["", "   "], [""], {}),  # blank lines are no records
    ],
)
def test_bad_data_is_counted_by_reason(
    problem: str, capture: list[str], truth: list[str], reasons: dict[str, int]
) -> None:
    """Each bad record is counted once, under its reason; the good pair still joins."""
    good_prediction = {"binary": "0.9", "multiclass": "x", "regression": "1"}[problem]
    good_label = {"binary": "1", "multiclass": "x", "regression": "1"}[problem]
    join, predictions, _ = joined(
        problem,
        [*capture, capture_line("good", good_prediction)],
        [truth_line("good", good_label), *truth],
    )
    assert dict(join.rejected) == reasons
    assert len(predictions) == 1


def test_duplicates_are_found_whatever_the_order_of_reading() -> None:
    """Two workers reading the same records in different orders count the same."""
    capture = [capture_line(i, "0.5") for i in ("a", "b", "a", "c", "a")]
    truth = [truth_line(i, "1") for i in ("c", "b", "b", "d")]
    results = []
    for order in (1, -1):
        join, predictions, _ = joined("binary", capture[::order], truth[::order])
        results.append((dict(join.rejected), len(predictions)))
    assert (
        results[0]
        == results[1]
        == ({records.DUPLICATE_ID: 6, records.LABEL_WITHOUT_PREDICTION: 1}, 1)
    )


@pytest.mark.parametrize(
    ("problem", "key", "message"),
    [("ranking", "eventId", "problem 'ranking'"), ("binary", "requestId", "key 'requestId'")],
)
def test_join_refuses_bad_settings(problem: str, key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Join(problem, key=key)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 18])
def test_line_batches_split_lines_across_chunks(chunk: int) -> None:
    text = "\n".join(capture_line(f"e{i}", "0.5") for i in range(20)).encode()
    blob = text + b"\n\xff\xfe bad\n" + b'{"last": 1}'
    lines = [line for batch in line_batches(io.BytesIO(blob).read, chunk) for line in batch]
    assert [line for line in lines if line] == [
        *text.decode().split("\n"),
        records.UNDECODABLE,
        '{"last": 1}',
    ]


# --- variants, partitions, windows --------------------------------------------------------


def compact(line: str) -> str:
    """A line as SageMaker writes it (no spaces), which the fast path reads."""
    return json.dumps(json.loads(line), separators=(",", ":"))


def finish(join: Join, **options: object) -> JoinResult:
    result = join.finish(lambda: new_counts(join.problem, **options))  # type: ignore[arg-type]
    # Nothing lost, overall and per variant.
    assert sum(result.predictions.values()) + result.labels == 2 * result.joined + sum(
        result.rejected.values()
    )
    for variant in result.variants:
        assert result.predictions[variant] == result.variant_counts(variant).records + sum(
            result.variant_rejected.get(variant, {}).values()
        )
    return result


def test_labels_join_the_variant_that_made_the_prediction() -> None:
    join = Join("binary")
    join.add_capture([compact(capture_line(f"a{i}", "0.9")) for i in range(3)], "Champion")
    join.add_capture(
        [compact(capture_line(f"b{i}", "0.2")) for i in range(4)] + ["{bad"], "Challenger"
    )
    join.add_ground_truth([truth_line(f"{v}{i}", "1") for v in "ab" for i in range(3)])
    result = finish(join)
    assert result.variants == ["Challenger", "Champion"]
    assert result.counts["Champion"].metrics()["accuracy"] == 1.0
    assert result.counts["Challenger"].metrics()["accuracy"] == 0.0
    assert result.predictions == {"Champion": 3, "Challenger": 5}
    assert result.variant_rejected == {
        "Champion": {},
        "Challenger": {records.MALFORMED_CAPTURE: 1, records.PREDICTION_WITHOUT_LABEL: 1},
    }
    assert result.label_rejected == {}


def test_an_id_in_two_variants_is_a_duplicate_in_each() -> None:
    join = Join("binary")
    join.add_capture([capture_line("x", "0.9"), capture_line("ok", "0.9")], "A")
    join.add_capture([capture_line("x", "0.1")], "B")
    join.add_ground_truth([truth_line("x", "1"), truth_line("ok", "1")])
    result = finish(join)
    # A's record when the join finishes, B's when it is read, and the label.
    assert result.variant_rejected == {
        "A": {records.DUPLICATE_ID: 1},
        "B": {records.DUPLICATE_ID: 1},
    }
    assert result.rejected == Counter({records.DUPLICATE_ID: 3})
    assert result.joined == 1


def test_capture_after_ground_truth_is_refused() -> None:
    join = Join("binary")
    join.add_ground_truth([truth_line("a", "1")])
    with pytest.raises(RuntimeError, match="read every capture object first"):
        join.add_capture([capture_line("a", "0.5")])


def messy_window(problem: str, n: int = 600) -> tuple[dict[str, list[str]], list[str]]:
    """Two variants' capture and the labels, with every kind of bad record."""
    values = {
        "binary": (lambda i: f"{(i * 37 % 101) / 100:.2f}", lambda i: str(i % 3 % 2)),
        "multiclass": (lambda i: "abcd"[i * 7 % 4], lambda i: "abcd"[i % 4]),
        "regression": (lambda i: f"{i * 1.5 + (i % 7):.3f}", lambda i: f"{i * 1.5:.3f}"),
    }[problem]
    prediction, label = values
    capture: dict[str, list[str]] = {"A": [], "B": []}
    truth = []
    for i in range(n):
        variant = "A" if i % 3 else "B"
        # Every fifth record carries an inference ID and is labelled by it (Model Monitor's rule).
        inference = f"req-{i}" if i % 5 == 0 else None
        joined_by = inference or f"id-{i}"
        line = capture_line(f"id-{i}", prediction(i), inference_id=inference)
        capture[variant].append(compact(line) if i % 2 else line)
        if i % 11 == 0:
            # A duplicate
            capture[variant].append(capture_line(f"id-{i}", prediction(i), inference_id=inference))
        if i % 13 != 0:
            truth.append(truth_line(joined_by, label(i)))
        if i % 17 == 0:
            truth.append(truth_line(joined_by, label(i)))  # a duplicate label
        if i % 29 == 0:
            # An inference ID equal to another record's event ID: one key, two records.
            capture[variant].append(
                capture_line(f"ev-{i}", prediction(i), inference_id=f"id-{i + 1}")
            )
        if i % 19 == 0:
            truth.append(truth_line(f"orphan-{i}", label(i)))
        if i % 23 == 0:
            capture[variant].append(capture_line(f"bad-{i}", "  "))
            truth.append(truth_line(f"bad-label-{i}", "  "))
    capture["A"] += ["not json", json.dumps({"captureData": {}}), ""]
    truth += ["{}", json.dumps({"groundTruthData": {"data": "1"}, "eventMetadata": {}})]
    return capture, truth


def run_join(
    problem: str, capture: dict[str, list[str]], truth: list[str], partitions: int = 1
) -> JoinResult:
    result = None
    for partition in range(partitions):
        join = Join(problem, partition=partition, partitions=partitions)
        for variant, lines in capture.items():
            join.add_capture(lines, variant)
        join.add_ground_truth(truth)
        part = finish(join)
        # Through JSON, as Distributed Map children hand their results on.
        part = JoinResult.from_json(json.loads(json.dumps(part.to_json())))
        result = part if result is None else result.merge(part)
    assert result is not None
    return result


@pytest.mark.parametrize("partitions", [2, 3, 8])
@pytest.mark.parametrize("problem", ["binary", "multiclass"])
def test_partitioned_join_gives_exactly_the_single_pass_report(
    problem: str, partitions: int
) -> None:
    capture, truth = messy_window(problem)
    single = run_join(problem, capture, truth)
    split = run_join(problem, capture, truth, partitions)
    assert split.to_json() == single.to_json()
    assert window_report(split, min_records=10) == window_report(single, min_records=10)
    # Labels naming inference IDs joined: the only labels without a prediction are the orphans.
    assert single.rejected[records.LABEL_WITHOUT_PREDICTION] == len(range(0, 600, 19))
    assert single.rejected.keys() >= {
        records.DUPLICATE_ID,
        records.LABEL_WITHOUT_PREDICTION,
        records.PREDICTION_WITHOUT_LABEL,
        records.UNPARSEABLE_LABEL,
        records.UNPARSEABLE_PREDICTION,
        records.MALFORMED_CAPTURE,
        records.MALFORMED_GROUND_TRUTH,
        records.MISSING_ID,
    }


@pytest.mark.parametrize("partitions", [2, 5])
def test_partitioned_regression_equals_the_single_pass_up_to_rounding(partitions: int) -> None:
    """Counts and rejections are equal; the merged sums differ from one pass by rounding only."""
    capture, truth = messy_window("regression")
    single = window_report(run_join("regression", capture, truth), min_records=10)
    split = window_report(run_join("regression", capture, truth, partitions), min_records=10)
    assert single["records"]["joined"] > 400
    assert rounded(split) == rounded(single)


def rounded(value: object) -> object:
    """Floats to 10 significant digits, in any nesting of dicts and lists."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def test_results_refuse_to_merge_other_settings() -> None:
    join = Join("binary")
    a = join.finish(lambda: new_counts("binary", threshold=0.5))
    b = Join("binary").finish(lambda: new_counts("binary", threshold=0.7))
    with pytest.raises(ValueError, match="cannot merge a binary join"):
        a.merge(b)


def test_partition_of_is_stable_and_spread() -> None:
    assert records.partition_of("anything", 1) == 0
    # CRC-32, not Python's per-process hash: the same in every worker.
    assert records.partition_of("3f2504e0-4f89-11d3-9a0c-0305e82c3301", 16) == (
        zlib.crc32(b"3f2504e0-4f89-11d3-9a0c-0305e82c3301") % 16
    )
    shares = Counter(records.partition_of(f"id-{i}", 4) for i in range(4000))
    assert set(shares) == {0, 1, 2, 3}
    assert min(shares.values()) > 800


@pytest.mark.parametrize(
    ("predictions", "memory_mb", "expected"),
    [(0, 256, 1), (1_000_000, 256, 1), (10_000_000, 256, 9), (1_000_000, 64, 6)],
)
def test_partitions_for_a_memory_budget(predictions: int, memory_mb: int, expected: int) -> None:
    assert records.partitions_for(predictions, memory_mb) == expected


def test_partitions_for_refuses_a_budget_below_the_interpreter() -> None:
    with pytest.raises(ValueError, match="more than 30 MB is needed"):
        records.partitions_for(10, 20)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"partition": 2, "partitions": 2}, "partition 2 of 2"),
        ({"partition": 0, "partitions": 0}, "partition 0 of 0"),
        ({"partition": -1, "partitions": 3}, "partition -1 of 3"),
    ],
)
def test_join_refuses_bad_partitions(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Join("binary", **options)


@pytest.mark.parametrize(
    "line",
    [
        # The input's data holds the output's key, escaped: still the real output is read.
        compact(capture_line("e1", "0.7")).replace('"1.0,2.0"', '"\\"endpointOutput\\":{}"'),
        compact(capture_line("e1", "0.7")),
        capture_line("e1", "0.7"),
        compact(capture_line("e1", "0.7")) + "\r",
        # Joined by its inference ID (the label's), not its event ID.
        compact(capture_line("x1", "0.7", inference_id="e1")),
    ],
)
def test_fast_and_strict_reading_agree(line: str) -> None:
    found = []
    for strict in (False, True):
        join = Join("binary", strict=strict)
        join.add_capture([line])
        join.add_ground_truth([truth_line("e1", "1")])
        found.append((join.pairs(), dict(join.rejected)))
    assert found[0] == found[1] == (([0.7], [1]), {})


@pytest.mark.parametrize(
    "line",
    [
        compact(capture_line("e1", "0.7"))[:-1],  # cut short
        compact(capture_line("e1", "0.7")) + "}",  # one brace too many
        compact(capture_line("e1", "0.7")).replace(',"eventMetadata"', ',"eventMetadataX"'),
    ],
)
def test_a_broken_sagemaker_line_is_malformed(line: str) -> None:
    join = Join("binary")
    join.add_capture([line])
    join.pairs()
    assert dict(join.rejected) == {records.MALFORMED_CAPTURE: 1}


@pytest.mark.parametrize(
    ("path", "variant", "endpoint"),
    [
        ("s3://b/capture/ep/AllTraffic/2026/11/30/05/00-01-002-x.jsonl", "AllTraffic", "ep"),
        ("capture/ep/Challenger/2026/11/30/23/a.jsonl", "Challenger", "ep"),
        ("Challenger/2026/11/30/23/a.jsonl", "Challenger", None),
        ("/tmp/w/capture/2026/11/30/05/a.jsonl", "capture", "w"),
        ("a.jsonl", None, None),
        ("ep/v/2026/11/30/a.jsonl", None, None),
    ],
)
def test_variant_and_endpoint_from_the_path(
    path: str, variant: str | None, endpoint: str | None
) -> None:
    assert records.variant_of(path) == variant
    assert records.endpoint_of(path) == endpoint


START = dt.datetime(2026, 11, 30, 5, 30, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("key", "inside"),
    [
        ("ep/v/2026/11/30/05/29-59-999-x.jsonl", False),
        ("ep/v/2026/11/30/05/30-00-000-x.jsonl", True),
        ("ep/v/2026/11/30/06/59-59-999-x.jsonl", True),
        ("ep/v/2026/11/30/07/00-00-000-x.jsonl", False),
        ("ep/v/2026/11/30/06/unnamed.jsonl", True),  # from the start of its hour
        ("ep/v/2026/11/30/05/unnamed.jsonl", False),
        ("flat.jsonl", False),
    ],
)
def test_capture_objects_in_the_window(key: str, inside: bool) -> None:
    assert records.capture_in_window(key, START, END) is inside


@pytest.mark.parametrize(
    ("key", "delay_hours", "inside"),
    [
        ("gt/2026/11/30/04/a.jsonl", 0, False),
        ("gt/2026/11/30/05/a.jsonl", 0, True),  # overlaps 05:30
        ("gt/2026/11/30/06/a.jsonl", 0, True),
        ("gt/2026/11/30/07/a.jsonl", 0, False),
        ("gt/2026/11/30/07/a.jsonl", 2, True),
        ("gt/2026/11/30/08/a.jsonl", 2, True),
        ("gt/2026/11/30/09/a.jsonl", 2, False),
        ("gt/a.jsonl", 2, False),
    ],
)
def test_ground_truth_objects_up_to_the_label_delay(
    key: str, delay_hours: int, inside: bool
) -> None:
    delay = dt.timedelta(hours=delay_hours)
    assert records.ground_truth_in_window(key, START, END, delay) is inside


def test_hour_folders_of_a_window() -> None:
    assert records.hour_folders(START, END) == ["2026/11/30/05/", "2026/11/30/06/"]
    assert records.hour_folders(START, END + dt.timedelta(hours=2)) == [
        "2026/11/30/05/",
        "2026/11/30/06/",
        "2026/11/30/07/",
        "2026/11/30/08/",
    ]


def test_the_reference_variant_has_most_joined_records_ties_by_name() -> None:
    sizes = {"AB": 3, "A": 3, "B": 2}
    join = Join("binary")
    for variant, n in sizes.items():
        join.add_capture([capture_line(f"{variant}{i}", "0.5") for i in range(n)], variant)
    join.add_ground_truth([truth_line(f"{v}{i}", "1") for v, n in sizes.items() for i in range(n)])
    result = finish(join)
    assert reference_variant(result) == "A"
    assert reference_variant(result, "B") == "B"
    assert reference_variant(Join("binary").finish(lambda: new_counts("binary"))) is None


@pytest.mark.parametrize(
    ("truth", "reasons", "joined_count"),
    [
        ("  " + truth_line("e1", "1"), {}, 1),  # leading blanks: still a record
        (truth_line("e1", "1") + "  ", {}, 1),
        (truth_line("e1", "1") + " {}", {records.MALFORMED_GROUND_TRUTH: 1}, 0),
        (truth_line("e1", "1").replace("{", "[", 1), {records.MALFORMED_GROUND_TRUTH: 1}, 0),
    ],
)
def test_ground_truth_lines_read_whole(
    truth: str, reasons: dict[str, int], joined_count: int
) -> None:
    join = Join("binary")
    join.add_capture([capture_line("e1", "0.9")])
    join.add_ground_truth([truth])
    predictions, _ = join.pairs()
    assert len(predictions) == joined_count
    assert {r: n for r, n in join.rejected.items() if r != records.PREDICTION_WITHOUT_LABEL} == (
        reasons
    )


@pytest.mark.parametrize("content_type", [["text/csv"], 7, None])
def test_odd_content_types_take_the_slow_path(content_type: object) -> None:
    line = json.loads(capture_line("e1", "0.9"))
    line["captureData"]["endpointOutput"]["observedContentType"] = content_type
    join = Join("binary")
    join.add_capture([json.dumps(line, separators=(",", ":"))])
    join.add_ground_truth([truth_line("e1", "1")])
    assert join.pairs() == ([0.9], [1])


def test_repeated_labels_and_classes_read_alike() -> None:
    """Remembered values (labels, classes) are the values read the first time."""
    join = Join("multiclass")
    join.add_capture([capture_line(f"e{i}", " cat " if i % 2 else "dog") for i in range(6)])
    join.add_ground_truth([truth_line(f"e{i}", "cat" if i % 3 else "  ") for i in range(6)])
    predictions, labels = join.pairs()
    assert sorted(zip(predictions, labels, strict=True)) == [
        ("cat", "cat"),
        ("cat", "cat"),
        ("dog", "cat"),
        ("dog", "cat"),
    ]
    assert dict(join.rejected) == {
        records.UNPARSEABLE_LABEL: 2,
        records.PREDICTION_WITHOUT_LABEL: 2,
    }


def test_the_core_runs_on_the_standard_library_alone() -> None:
    """The Lambda asset holds the quality package only: no site-packages, no drift, no numpy."""
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; sys.path.insert(0, 'lambda'); "
        "import quality.records, quality.counts, quality.report, quality.render, quality.baseline; "
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " - {*sys.stdlib_module_names, '__main__'}))"
    )
    found = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert found.stdout.split() == ["['quality']"]
