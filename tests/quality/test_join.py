"""The join: predictions from capture, labels from ground truth, every unjoined record counted."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from cdk_sagemaker_hosting._lambda.quality import records
from cdk_sagemaker_hosting._lambda.quality.records import Join, line_batches

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
