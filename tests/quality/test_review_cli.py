"""Review of the quality core (issue 16): verdicts and exit codes that were wrong, now fixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdk_sagemaker_hosting._lambda.quality import render
from cdk_sagemaker_hosting._lambda.quality.counts import new_counts
from cdk_sagemaker_hosting._lambda.quality.records import Join
from cdk_sagemaker_hosting._lambda.quality.report import (
    Constraint,
    ConstraintsError,
    constraints_of,
    report,
    window_report,
)
from cdk_sagemaker_hosting.cli import main

from tests.quality.helpers import binary_data, capture_line, truth_line


def test_zero_joined_records_are_never_ok_whatever_min_records() -> None:
    join = Join("binary")
    join.add_capture([])
    result = join.finish(lambda: new_counts("binary"))
    assert window_report(result, min_records=0)["verdict"] == "insufficient_data"
    assert (
        report(
            new_counts("binary"),
            prediction_records=0,
            label_records=0,
            rejected={},
            constraints=[Constraint("accuracy", 0.8, "LessThanThreshold")],
            min_records=0,
        )["verdict"]
        == "insufficient_data"
    )


def _window(folder: Path, n: int = 200) -> tuple[Path, Path]:
    scores, labels = binary_data(n)
    capture, truth = folder / "capture", folder / "truth"
    capture.mkdir()
    truth.mkdir()
    (capture / "c.jsonl").write_text(
        "\n".join(capture_line(f"e{i}", str(s)) for i, s in enumerate(scores)) + "\n"
    )
    (truth / "t.jsonl").write_text(
        "\n".join(truth_line(f"e{i}", str(y)) for i, y in enumerate(labels)) + "\n"
    )
    return capture, truth


def _run(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main(["quality", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("baseline_text", "message"),
    [
        ("[]", "a constraints file is a JSON object"),
        ('{"binary_classification_constraints": []}', "is not an object"),
    ],
)
def test_a_bad_constraints_file_with_absolute_thresholds_is_an_error_not_degraded(
    tmp_path: Path, capsys: Any, baseline_text: str, message: str
) -> None:
    """It raised TypeError: a traceback and exit 1, which reads as "degraded"."""
    capture, truth = _window(tmp_path)
    baseline = tmp_path / "constraints.json"
    baseline.write_text(baseline_text)
    code, out, err = _run(
        capsys,
        *("--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"),
        *("--baseline", str(baseline), "--threshold-absolute", "accuracy=0.1"),
    )
    assert (code, out) == (2, "")
    assert message in err


def test_min_records_below_one_is_an_error(tmp_path: Path, capsys: Any) -> None:
    capture, truth = _window(tmp_path)
    code, out, err = _run(
        capsys,
        *("--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"),
        *("--threshold-absolute", "accuracy=0.1", "--min-records", "0"),
    )
    assert (code, out) == (2, "")
    assert "--min-records 0: at least 1" in err


def test_a_validation_csv_without_a_usable_row_is_an_error(tmp_path: Path, capsys: Any) -> None:
    """Its metrics are all undefined, so no threshold could apply: the verdict was "ok"."""
    capture, truth = _window(tmp_path)
    validation = tmp_path / "validation.csv"
    validation.write_text("label,score\n1,high\nyes,0.3\n")
    code, out, err = _run(
        capsys,
        *("--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"),
        *("--baseline", str(validation), "--min-records", "10"),
    )
    assert (code, out) == (2, "")
    assert "no usable row" in err
    assert "unparseable_prediction" in err


def test_the_json_report_is_the_last_thing_printed(tmp_path: Path, capsys: Any) -> None:
    capture, truth = _window(tmp_path)
    code, out, _ = _run(
        capsys,
        *("--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"),
        *("--threshold-absolute", "accuracy=0.99", "--min-records", "10"),
    )
    assert code == 1
    assert json.loads(out)["verdict"] == "degraded"


@pytest.mark.parametrize("threshold", ["NaN", "Infinity", "-Infinity"])
def test_a_constraint_threshold_that_is_not_finite_is_an_error(threshold: str) -> None:
    """Python's json reads NaN: a NaN bound is never crossed, so the constraint never applied."""
    document = json.loads(
        '{"binary_classification_constraints": {"accuracy": {"threshold": '
        + threshold
        + ', "comparison_operator": "LessThanThreshold"}}}'
    )
    with pytest.raises(ConstraintsError, match="is not a finite number"):
        constraints_of(document, "binary")


def _binary_window(scores: list[float], labels: list[int]) -> Any:
    join = Join("binary")
    join.add_capture([capture_line(f"e{i}", str(s)) for i, s in enumerate(scores)])
    join.add_ground_truth([truth_line(f"e{i}", str(y)) for i, y in enumerate(labels)])
    return join.finish(lambda: new_counts("binary"))


ROC_AUC = Constraint("roc_auc", 0.8, "LessThanThreshold")
RECALL = Constraint("recall", 0.6, "LessThanThreshold")
ACCURACY = Constraint("accuracy", 0.9, "LessThanThreshold")


@pytest.mark.parametrize(
    ("constraints", "verdict"),
    [
        ([ROC_AUC, RECALL], "insufficient_data"),  # nothing could be judged: not "ok"
        ([ACCURACY, RECALL], "insufficient_data"),  # accuracy holds; recall cannot be told
        ([Constraint("accuracy", 0.99, "LessThanThreshold"), RECALL], "degraded"),
        ([ACCURACY], "ok"),
    ],
)
def test_a_constraint_the_window_cannot_judge_is_never_ok(
    constraints: list[Constraint], verdict: str
) -> None:
    """A quiet fraud window (500 joined, no positive label): ROC AUC and recall are undefined.

    The prod monitor's constraints are exactly ROC AUC and recall: it said "ok".
    """
    scores = [0.1 + (i % 7) / 100 for i in range(500)]
    scores[:10] = [0.9] * 10  # ten false positives: accuracy 0.98
    document = window_report(_binary_window(scores, [0] * 500), constraints=constraints)
    assert document["verdict"] == verdict
    assert document["variants"]["default"]["verdict"] == verdict
    if RECALL in constraints:
        # The window is judged by its variants: the variant says what its data left undefined.
        part = document["variants"]["default"]
        assert "recall (undefined for this data)" in part["constraints_not_checked"]


def test_the_table_and_page_say_which_variant_could_not_be_judged() -> None:
    """A variant insufficient only because its data leaves a constraint undefined says so."""
    join = Join("binary")
    join.add_capture([capture_line(f"a{i}", str(i % 10 / 10)) for i in range(300)], "Champion")
    join.add_capture([capture_line(f"b{i}", "0.2") for i in range(300)], "Quiet<b>")
    truth = [truth_line(f"a{i}", str(int(i % 10 >= 5))) for i in range(300)]
    truth += [truth_line(f"b{i}", "0") for i in range(300)]
    join.add_ground_truth(truth)
    result = join.finish(lambda: new_counts("binary"))
    document = window_report(result, constraints=[Constraint("recall", 0.5, "LessThanThreshold")])
    # A variant that served traffic could not be judged: the window is not "ok" either.
    assert document["verdict"] == "insufficient_data"
    assert document["variants"]["Champion"]["verdict"] == "ok"
    assert document["variants"]["Quiet<b>"]["verdict"] == "insufficient_data"
    text = render.table(document)
    assert "  Quiet<b>: recall (undefined for this data)" in text.splitlines()
    assert "<li>Quiet&lt;b&gt;: recall (undefined for this data)</li>" in render.page(document)


def test_memory_mb_counts_the_labels_that_will_match_no_prediction(
    tmp_path: Path, capsys: Any
) -> None:
    """A label delay longer than the window reads many windows' labels: each one that matches
    no prediction is held (its ID, about 140 bytes) until the join finishes, so the passes
    --memory-mb picks must count the ground truth too, not the capture alone."""
    capture, truth = _window(tmp_path, n=100)
    with (truth / "earlier-windows.jsonl").open("w") as out:
        out.write("\n".join(truth_line(f"old-{i}", "1") for i in range(20_000)) + "\n")
    common = ("--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary")
    code, out, _ = _run(capsys, *common, "--min-records", "10")
    single = json.loads(out)
    assert code == 0
    code, out, _ = _run(capsys, *common, "--min-records", "10", "--memory-mb", "31")
    split = json.loads(out)
    assert code == 0
    # 20,100 records at 190 bytes in 1 MiB of room: 4 passes (the capture alone fits in 1).
    assert split.pop("partitions") == 4
    assert split == single
    assert single["rejected"] == {"label_without_prediction": 20_000}
