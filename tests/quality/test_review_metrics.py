"""Review of the quality core (issue 16): metrics and reading that were wrong, now fixed."""

from __future__ import annotations

import io

import pytest
from cdk_sagemaker_hosting._lambda.quality.baseline import baseline_from_csv
from cdk_sagemaker_hosting._lambda.quality.counts import RegressionCounts, new_counts
from cdk_sagemaker_hosting._lambda.quality.records import Join

from tests.quality.helpers import capture_line, truth_line


@pytest.mark.parametrize(
    "labels",
    [[0.1] * 3, [1 / 3] * 10, [0.7] * 11, [-2.2] * 5],
)
def test_r2_of_constant_labels_is_undefined_in_one_pass_as_merged(labels: list[float]) -> None:
    """fsum(y)/n is not always y itself: the deviations were ~1e-34, R² about -5e29 (degraded)."""
    predictions = [y + 0.01 for y in labels]
    one = RegressionCounts()
    one.add(predictions, labels)
    merged = RegressionCounts()
    for p, y in zip(predictions, labels, strict=True):
        part = RegressionCounts()
        part.add([p], [y])
        merged.merge(part)
    assert one.metrics()["r2"] is None
    assert merged.metrics()["r2"] is None
    assert one.deviations == 0.0
    assert one.metrics()["rmse"] == pytest.approx(0.01)


def test_whole_number_classes_written_with_a_fraction_join_their_labels() -> None:
    """XGBoost's multi:softmax answers "2.0" in CSV; labels say "2": the same class.

    JSON's 2.0 was already "2"; CSV's "2.0" stayed "2.0", so every record was wrong.
    """
    join = Join("multiclass")
    join.add_capture(
        [
            capture_line("a", "2.0"),
            capture_line("b", "1.0"),
            capture_line("c", "[1.0]", content_type="application/json", encoding="JSON"),
            capture_line("d", "-3.00"),
            capture_line("e", "cat"),
            capture_line("f", "007"),  # not a fraction: left as written
        ]
    )
    join.add_ground_truth(
        [
            truth_line("a", "2"),
            truth_line("b", "1"),
            truth_line("c", "1"),
            truth_line("d", "-3"),
            truth_line("e", "cat"),
            truth_line("f", "007"),
        ]
    )
    metrics = join.finish(lambda: new_counts("multiclass")).overall().metrics()
    assert metrics["accuracy"] == 1.0
    assert sorted(metrics["classes"]) == ["-3", "007", "1", "2", "cat"]
    built = baseline_from_csv(io.StringIO("label,prediction\n2,2.0\n1.0,1\n"), "multiclass")
    assert built.metrics["accuracy"] == 1.0


def test_a_validation_csv_with_a_byte_order_mark_reads_its_header() -> None:
    """Spreadsheets save UTF-8 CSV with a BOM: the first column is still 'label'."""
    built = baseline_from_csv(io.StringIO("\ufefflabel,score\n1,0.9\n0,0.2\n"), "binary")
    assert built.records == 2
    built = baseline_from_csv(
        io.StringIO("\ufeff1,0.9\n0,0.2\n"), "binary", label=0, prediction=1, header=False
    )
    assert built.records == 2
    assert built.rejected == {}


def test_a_csv_output_of_several_records_is_unparseable_not_its_first_row() -> None:
    """A batch request's output ("0.1\\n0.9\\n0.3") is one capture record with one event ID.

    Its first row was joined with the request's label and the others dropped silently.
    """
    join = Join("binary")
    join.add_capture(
        [
            capture_line("batch", "0.1\n0.9\n0.3"),
            capture_line("crlf", "0.8\r\n"),  # one record, line ending kept: still read
            capture_line("one", "0.7\n"),
        ]
    )
    join.add_ground_truth(
        [truth_line("batch", "1"), truth_line("crlf", "1"), truth_line("one", "1\n0")]
    )
    predictions, labels = join.pairs()
    assert (predictions, labels) == ([0.8], [1])
    assert dict(join.rejected) == {
        "unparseable_prediction": 1,
        "unparseable_label": 1,
        "label_without_prediction": 1,
        "prediction_without_label": 1,
    }
