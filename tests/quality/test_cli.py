"""The quality command: exit codes, the JSON report printed last, local folders and S3."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_sagemaker_hosting.cli import main
from moto import mock_aws
from sklearn import metrics as sk

from tests.quality.helpers import binary_data, capture_line, regression_data, truth_line


def write_window(
    folder: Path, predictions: list[Any], labels: list[Any], *, skip_labels: int = 0
) -> tuple[Path, Path]:
    """Capture and ground truth under <prefix>/yyyy/mm/dd/hh/, split over two hours."""
    capture, truth = folder / "capture", folder / "ground-truth"
    half = len(labels) // 2
    for hour, part in (("05", slice(0, half)), ("06", slice(half, len(labels)))):
        for root in (capture, truth):
            (root / "2026/11/30" / hour).mkdir(parents=True, exist_ok=True)
        ids = range(len(labels))[part]
        (capture / "2026/11/30" / hour / "a.jsonl").write_text(
            "\n".join(capture_line(f"e{i}", str(predictions[i])) for i in ids) + "\n"
        )
        (truth / "2026/11/30" / hour / "labels.jsonl").write_text(
            "\n".join(truth_line(f"e{i}", str(labels[i])) for i in ids if i >= skip_labels) + "\n"
        )
    return capture, truth


def run(capsys: Any, *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["quality", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def constraints_file(folder: Path, section: str, rules: dict[str, Any]) -> Path:
    path = folder / "constraints.json"
    path.write_text(json.dumps({"version": 0.0, section: rules}))
    return path


def test_binary_report_is_ok_and_equals_scikit_learn(tmp_path: Path, capsys: Any) -> None:
    scores, labels = binary_data(2000)
    capture, truth = write_window(tmp_path, scores, labels, skip_labels=10)
    code, report, _ = run(
        capsys, "--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"
    )
    assert code == 0
    assert report["verdict"] == "ok"
    assert report["records"] == {
        "predictions": 2000,
        "labels": 1990,
        "joined": 1990,
        "min_records": 100,
    }
    assert report["rejected"] == {"prediction_without_label": 10}
    predicted = [int(float(str(s)) >= 0.5) for s in scores[10:]]
    assert report["metrics"]["f1"] == pytest.approx(sk.f1_score(labels[10:], predicted), abs=1e-9)


def test_violated_constraint_is_degraded(tmp_path: Path, capsys: Any) -> None:
    scores, labels = binary_data(500)
    capture, truth = write_window(tmp_path, scores, labels)
    baseline = constraints_file(
        tmp_path,
        "binary_classification_constraints",
        {
            "accuracy": {"threshold": 0.99, "comparison_operator": "LessThanThreshold"},
            "auc": {"threshold": 0.5, "comparison_operator": "LessThanThreshold"},
            "true_positive_rate": {"threshold": 0.1, "comparison_operator": "LessThanThreshold"},
        },
    )
    code, report, _ = run(
        capsys,
        *("--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"),
        *("--baseline", str(baseline)),
    )
    assert code == 1
    assert report["verdict"] == "degraded"
    assert [v["metric"] for v in report["violations"]] == ["accuracy"]
    # A constraint this check does not compute is listed, never silently dropped.
    assert report["constraints_not_checked"] == [
        "binary_classification_constraints.true_positive_rate"
    ]


def test_regression_constraints_pass(tmp_path: Path, capsys: Any) -> None:
    predictions, labels = regression_data(300)
    capture, truth = write_window(tmp_path, predictions, labels)
    baseline = constraints_file(
        tmp_path,
        "regression_constraints",
        {"rmse": {"threshold": 1000.0, "comparison_operator": "GreaterThanThreshold"}},
    )
    code, report, _ = run(
        capsys,
        *("--capture", str(capture), "--ground-truth", str(truth), "--problem", "regression"),
        *("--baseline", str(baseline)),
    )
    assert code == 0
    assert report["metrics"]["rmse"] < 1000.0
    assert report["violations"] == []


def test_too_few_joined_records_is_insufficient_data_never_ok(tmp_path: Path, capsys: Any) -> None:
    scores, labels = binary_data(200)
    capture, truth = write_window(tmp_path, scores, labels, skip_labels=150)
    code, report, _ = run(
        capsys, "--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"
    )
    assert code == 3
    assert report["verdict"] == "insufficient_data"
    assert report["records"]["joined"] == 50


def test_empty_window_is_insufficient_data(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "g").mkdir()
    code, report, _ = run(
        capsys,
        *("--capture", str(tmp_path / "c"), "--ground-truth", str(tmp_path / "g")),
        *("--problem", "multiclass"),
    )
    assert code == 3
    assert report["metrics"]["accuracy"] is None


@pytest.mark.parametrize(
    ("baseline_text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "a constraints file is a JSON object"),
        ('{"version": 0}', "no constraints: the file has none of"),
        (
            '{"binary_classification_constraints": {"f1": {"threshold": 0.5, '
            '"comparison_operator": "Below"}}}',
            "comparison_operator 'Below' is not one of",
        ),
        (
            '{"binary_classification_constraints": {"f1": {"threshold": "high", '
            '"comparison_operator": "LessThanThreshold"}}}',
            "threshold 'high' is not a number",
        ),
    ],
)
def test_bad_baseline_is_an_error(
    tmp_path: Path, capsys: Any, baseline_text: str, message: str
) -> None:
    capture, truth = write_window(tmp_path, [0.5], [1])
    baseline = tmp_path / "bad.json"
    baseline.write_text(baseline_text)
    code, report, err = run(
        capsys,
        *("--capture", str(capture), "--ground-truth", str(truth), "--problem", "binary"),
        *("--baseline", str(baseline)),
    )
    assert code == 2
    assert report == {}
    assert message in err


def test_missing_folder_is_an_error(tmp_path: Path, capsys: Any) -> None:
    code, _, err = run(
        capsys,
        *("--capture", str(tmp_path / "nope"), "--ground-truth", str(tmp_path)),
        *("--problem", "binary"),
    )
    assert code == 2
    assert "no such file or folder" in err


def test_bad_threshold_is_an_error(tmp_path: Path, capsys: Any) -> None:
    code, _, err = run(
        capsys,
        *("--capture", str(tmp_path), "--ground-truth", str(tmp_path)),
        *("--problem", "binary", "--threshold", "2"),
    )
    assert code == 2
    assert "threshold 2.0: a score between 0 and 1" in err


def test_unknown_problem_is_bad_usage(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["quality", "--capture", "c", "--ground-truth", "g", "--problem", "ranking"])
    assert exit_.value.code == 2
    assert "invalid choice: 'ranking'" in capsys.readouterr().err


@mock_aws
def test_reads_s3_prefixes(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(os.environ, "AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="window")
    scores, labels = binary_data(300)
    capture, truth = write_window(tmp_path, scores, labels)
    for root, prefix in ((capture, "capture/ep/AllTraffic"), (truth, "ground-truth/ep")):
        for file in root.rglob("*.jsonl"):
            key = f"{prefix}/{file.relative_to(root)}"
            s3.put_object(Bucket="window", Key=key, Body=file.read_bytes())
    code, report, _ = run(
        capsys,
        *("--capture", "s3://window/capture/ep/", "--ground-truth", "s3://window/ground-truth/"),
        *("--problem", "binary", "--region", "us-east-1"),
    )
    assert code == 0
    assert report["records"]["joined"] == 300
