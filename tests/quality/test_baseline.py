"""Baselines from a labelled validation CSV, equal to scikit-learn; constraints from thresholds."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from cdk_sagemaker_hosting._lambda.quality import baseline as baseline_module
from cdk_sagemaker_hosting._lambda.quality.baseline import (
    BaselineError,
    baseline_from_csv,
    constraints_from_thresholds,
    parse_thresholds,
)
from cdk_sagemaker_hosting._lambda.quality.report import constraints_of
from cdk_sagemaker_hosting.cli import main
from sklearn import metrics as sk

from tests.quality.helpers import binary_data, multiclass_data, regression_data

EXACT = 1e-9


def csv_text(header: str | None, rows: list[tuple[Any, ...]]) -> io.StringIO:
    lines = ([header] if header else []) + [",".join(str(v) for v in row) for row in rows]
    return io.StringIO("\n".join(lines) + "\n", newline="")


def test_binary_baseline_equals_scikit_learn() -> None:
    scores, labels = binary_data(5000)
    built = baseline_from_csv(
        csv_text("label,score", list(zip(labels, scores, strict=True))), "binary"
    )
    predicted = [int(s >= 0.5) for s in scores]
    assert built.records == 5000
    assert built.rejected == {}
    assert built.metrics["accuracy"] == pytest.approx(
        sk.accuracy_score(labels, predicted), abs=EXACT
    )
    assert built.metrics["f1"] == pytest.approx(sk.f1_score(labels, predicted), abs=EXACT)
    assert (
        abs(built.metrics["roc_auc"] - sk.roc_auc_score(labels, scores))
        <= built.metrics["roc_auc_bound"]
    )


def test_multiclass_baseline_by_position_without_header() -> None:
    predictions, labels = multiclass_data(3000)
    built = baseline_from_csv(
        csv_text(None, list(zip(predictions, labels, strict=True))),
        "multiclass",
        label=1,
        prediction=0,
        header=False,
    )
    assert built.metrics["accuracy"] == pytest.approx(
        sk.accuracy_score(labels, predictions), abs=EXACT
    )
    assert built.metrics["macro_f1"] == pytest.approx(
        sk.f1_score(labels, predictions, average="macro"), abs=EXACT
    )
    assert built.metrics["weighted_f1"] == pytest.approx(
        sk.f1_score(labels, predictions, average="weighted"), abs=EXACT
    )


def test_regression_baseline_by_name_with_other_columns_and_bad_rows() -> None:
    predictions, labels = regression_data(2000)
    rows: list[tuple[Any, ...]] = [
        (i, y, p, "x") for i, (p, y) in enumerate(zip(predictions, labels, strict=True))
    ]
    bad = [(1, "nan", 3.0, "x"), (2, 1.0, "high", "x"), (3, 1.0), (4, 1.0, 2.0, "x", "extra")]
    built = baseline_from_csv(
        csv_text("id,truth,predicted,note", rows + bad),
        "regression",
        label="truth",
        prediction="predicted",
    )
    assert built.records == 2000
    assert built.rejected == {
        "unparseable_label": 1,
        "unparseable_prediction": 1,
        "wrong_column_count": 2,
    }
    assert built.metrics["mae"] == pytest.approx(
        sk.mean_absolute_error(labels, predictions), abs=EXACT
    )
    assert built.metrics["r2"] == pytest.approx(sk.r2_score(labels, predictions), abs=EXACT)


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("", {}, "the validation set is empty"),
        ("label,value\n1,0.5\n", {}, "no prediction column"),
        ("label,score\n1,0.5\n", {"label": "truth"}, "label column 'truth' is not in the header"),
        ("1,0.5\n", {"header": False, "label": "label", "prediction": 1}, "a name needs a header"),
        ("label,score\n1,0.5\n", {"prediction": "label"}, "are the same column (0)"),
        ("label,score\n1,0.5\n", {"prediction": 5}, "column 5 is past the header's 2 columns"),
    ],
)
def test_bad_validation_sets(text: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(BaselineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        baseline_from_csv(io.StringIO(text, newline=""), "binary", **options)


BASE = {
    "accuracy": 0.9,
    "precision": 0.8,
    "recall": 0.7,
    "f1": 0.75,
    "roc_auc": 0.85,
    "pr_auc": 0.6,
}


def test_default_constraints_allow_five_percent_on_every_metric() -> None:
    document, skipped = constraints_from_thresholds("binary", BASE)
    section = document["binary_classification_constraints"]
    # Model Monitor's names for the AUCs.
    assert sorted(section) == ["accuracy", "au_prc", "auc", "f1", "precision", "recall"]
    assert section["accuracy"] == {
        "threshold": pytest.approx(0.9 * 0.95),
        "comparison_operator": "LessThanThreshold",
    }
    assert skipped == []
    constraints, unchecked = constraints_of(document, "binary")
    assert {c.metric for c in constraints} == set(BASE)
    assert unchecked == []


def test_absolute_relative_and_the_stricter_of_both() -> None:
    metrics = {"mae": 10.0, "mse": 150.0, "rmse": 12.0, "r2": None, "mape": 0.1}
    document, skipped = constraints_from_thresholds(
        "regression",
        metrics,
        absolute={"rmse": 12.5, "mae": 20.0},
        relative={"rmse": 0.1, "mae": 0.1, "r2": 0.05},
    )
    section = document["regression_constraints"]
    # Errors degrade upwards: the lower bound is the stricter.
    assert section == {
        "mae": {"threshold": pytest.approx(11.0), "comparison_operator": "GreaterThanThreshold"},
        "rmse": {"threshold": 12.5, "comparison_operator": "GreaterThanThreshold"},
    }
    assert skipped == ["r2 (undefined on the baseline)"]
    document, _ = constraints_from_thresholds(
        "binary", BASE, absolute={"accuracy": 0.8}, relative={"accuracy": 0.2}
    )
    # Scores degrade downwards: the higher bound is the stricter (0.8 > 0.9 * 0.8).
    assert document["binary_classification_constraints"]["accuracy"]["threshold"] == 0.8


def test_relative_thresholds_need_baseline_metrics() -> None:
    with pytest.raises(BaselineError, match="relative thresholds \\(accuracy\\) need baseline"):
        constraints_from_thresholds("binary", None, relative={"accuracy": 0.1})


@pytest.mark.parametrize(
    ("values", "kind", "message"),
    [
        (["accuracy"], "absolute", "write metric=value"),
        (["rmse=1"], "absolute", "'rmse' is not a binary metric"),
        (["accuracy=x"], "absolute", "must be a finite number"),
        (["accuracy=inf"], "absolute", "must be a finite number"),
        (["accuracy=11"], "relative", "must be a share between 0 and 10"),
    ],
)
def test_bad_thresholds(values: list[str], kind: str, message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        parse_thresholds(values, "binary", kind)


def test_thresholds_take_model_monitor_names_and_lists() -> None:
    assert parse_thresholds(["auc=0.7,accuracy=0.8", "au_prc=0.5"], "binary", "absolute") == {
        "roc_auc": 0.7,
        "accuracy": 0.8,
        "pr_auc": 0.5,
    }


def test_quality_baseline_command_writes_constraints_and_metrics(
    tmp_path: Path, capsys: Any
) -> None:
    predictions, labels = multiclass_data(500)
    data = tmp_path / "validation.csv"
    data.write_text(
        "prediction,label\n"
        + "".join(f"{p},{y}\n" for p, y in zip(predictions, labels, strict=True))
    )
    out, metrics_out = tmp_path / "constraints.json", tmp_path / "metrics.json"
    code = main(
        [
            "quality-baseline",
            *("--data", str(data), "--problem", "multiclass", "--out", str(out)),
            *("--metrics-out", str(metrics_out)),
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["constraints"] == json.loads(out.read_text())
    assert json.loads(metrics_out.read_text())["records"] == 500
    assert sorted(printed["constraints"]["multiclass_classification_constraints"]) == [
        "accuracy",
        "macro_f1",
        "weighted_f1",
    ]
    assert baseline_module.DEFAULT_RELATIVE == 0.05


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("label,score\n7,0.5\n", "no usable row (rejected: {'unparseable_label': 1})"),
        ("label\n1\n", "no prediction column"),
    ],
)
def test_quality_baseline_command_errors(
    tmp_path: Path, capsys: Any, text: str, message: str
) -> None:
    data = tmp_path / "validation.csv"
    data.write_text(text)
    code = main(
        [
            "quality-baseline",
            *("--data", str(data), "--problem", "binary", "--out", str(tmp_path / "c.json")),
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()
