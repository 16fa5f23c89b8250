"""The quality command: exit codes, the JSON report printed last, local folders and S3."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_sagemaker_hosting._lambda.quality import command as quality_command
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


# --- variants, windows, partitions, forms ----------------------------------------------


def write_endpoint(
    folder: Path,
    variants: dict[str, tuple[list[Any], list[Any]]],
    *,
    hours: tuple[str, ...] = ("05", "06"),
    truth_hour: str | None = None,
) -> tuple[Path, Path]:
    """<capture>/<endpoint>/<variant>/yyyy/mm/dd/hh/ for each variant, and the ground truth."""
    capture, truth = folder / "capture", folder / "ground-truth"
    truth_lines = []
    for variant, (predictions, labels) in variants.items():
        size = len(labels)
        for h, hour in enumerate(hours):
            part = range(size)[h * size // len(hours) : (h + 1) * size // len(hours)]
            path = capture / "ep" / variant / "2026/11/30" / hour / f"{h:02d}-00-000-x.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                "\n".join(capture_line(f"{variant}-{i}", str(predictions[i])) for i in part)
            )
        truth_lines += [truth_line(f"{variant}-{i}", str(labels[i])) for i in range(size)]
    path = truth / "2026/11/30" / (truth_hour or hours[-1]) / "labels.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(truth_lines) + "\n")
    return capture, truth


def two_variants() -> dict[str, tuple[list[Any], list[Any]]]:
    champion = binary_data(1200, seed=1)
    scores, labels = binary_data(800, seed=2)
    # The challenger's scores are noisier: worse on every metric.
    rng = random.Random(4)  # noqa: S311 - test data, not secrets
    challenger = ([min(1.0, max(0.0, s + rng.gauss(0, 0.25))) for s in scores], labels)
    return {"Champion": champion, "Challenger": challenger}


def sklearn_metrics(scores: list[float], labels: list[int]) -> dict[str, float]:
    predicted = [int(s >= 0.5) for s in scores]
    return {
        "accuracy": sk.accuracy_score(labels, predicted),
        "precision": sk.precision_score(labels, predicted),
        "recall": sk.recall_score(labels, predicted),
        "f1": sk.f1_score(labels, predicted),
    }


def test_each_variant_equals_scikit_learn_and_is_compared_with_the_champion(
    tmp_path: Path, capsys: Any
) -> None:
    data = two_variants()
    capture, truth = write_endpoint(tmp_path, data)
    code, report, _ = run(
        capsys,
        *("--capture", str(capture / "ep"), "--ground-truth", str(truth)),
        *("--problem", "binary", "--reference", "Champion"),
    )
    assert code == 0
    assert list(report["variants"]) == ["Challenger", "Champion"]
    expected = {v: sklearn_metrics(*data[v]) for v in data}
    for variant, metrics in expected.items():
        part = report["variants"][variant]
        assert part["records"] == {
            "predictions": len(data[variant][1]),
            "labels": len(data[variant][1]),
            "joined": len(data[variant][1]),
        }
        for metric, value in metrics.items():
            assert part["metrics"][metric] == pytest.approx(value, abs=1e-9)
    everything = sklearn_metrics(
        data["Champion"][0] + data["Challenger"][0], data["Champion"][1] + data["Challenger"][1]
    )
    assert report["metrics"]["accuracy"] == pytest.approx(everything["accuracy"], abs=1e-9)
    comparison = report["comparison"]
    assert comparison["reference"] == "Champion"
    for metric in ("accuracy", "f1"):
        row = comparison["variants"]["Challenger"][metric]
        difference = expected["Challenger"][metric] - expected["Champion"][metric]
        assert row["difference"] == pytest.approx(difference, abs=1e-9)
        assert row["better"] is (difference > 0)


def test_a_degraded_challenger_degrades_the_window(tmp_path: Path, capsys: Any) -> None:
    capture, truth = write_endpoint(tmp_path, two_variants())
    champion_accuracy = sklearn_metrics(*two_variants()["Champion"])["accuracy"]
    code, report, _ = run(
        capsys,
        *("--capture", str(capture / "ep"), "--ground-truth", str(truth)),
        *("--problem", "binary", "--threshold-absolute", f"accuracy={champion_accuracy - 0.01}"),
    )
    assert code == 1
    assert report["verdict"] == "degraded"
    assert report["variants"]["Champion"]["verdict"] == "ok"
    assert report["variants"]["Challenger"]["verdict"] == "degraded"
    # The reference by default: the variant with most joined records.
    assert report["comparison"]["reference"] == "Champion"


def test_one_variants_prefix_reports_that_variant(tmp_path: Path, capsys: Any) -> None:
    capture, truth = write_endpoint(tmp_path, two_variants())
    code, report, _ = run(
        capsys,
        *("--capture", str(capture / "ep" / "Challenger"), "--ground-truth", str(truth)),
        *("--problem", "binary"),
    )
    assert code == 0
    assert list(report["variants"]) == ["Challenger"]
    assert report["records"]["predictions"] == 800
    assert report["records"]["labels"] == 2000
    assert report["rejected"] == {"label_without_prediction": 1200}
    assert "comparison" not in report


def test_the_window_reads_labels_up_to_the_delay(tmp_path: Path, capsys: Any) -> None:
    """Capture of 05:00-07:00; labels written at 08:xx join only with a delay reaching 08:00."""
    capture, truth = write_endpoint(tmp_path, two_variants(), truth_hour="08")
    late = tmp_path / "capture/ep/Champion/2026/11/30/07/00-00-000-late.jsonl"
    late.parent.mkdir(parents=True)
    late.write_text(capture_line("late", "0.5") + "\n")  # after the window: not read
    window = ("--start", "2026-11-30T05:00:00Z", "--end", "2026-11-30T07:00:00Z")
    common = ("--capture", str(capture / "ep"), "--ground-truth", str(truth), "--problem", "binary")
    code, report, _ = run(capsys, *common, *window, "--label-delay", "1h")
    assert code == 3  # the labels' hour folder (08) is past end + 1h
    assert report["records"] == {"predictions": 2000, "labels": 0, "joined": 0, "min_records": 100}
    assert report["rejected"] == {"prediction_without_label": 2000}
    code, report, _ = run(capsys, *common, *window, "--label-delay", "90m")
    assert code == 0
    assert report["records"]["joined"] == 2000
    assert report["window"] == {
        "start": "2026-11-30T05:00:00Z",
        "end": "2026-11-30T07:00:00Z",
        "label_delay_seconds": 5400,
    }


@pytest.mark.parametrize("options", [("--partitions", "3"), ("--memory-mb", "30.001")])
def test_passes_by_partition_give_the_single_pass_report(
    tmp_path: Path, capsys: Any, options: tuple[str, str]
) -> None:
    capture, truth = write_endpoint(tmp_path, two_variants())
    common = ("--capture", str(capture / "ep"), "--ground-truth", str(truth), "--problem", "binary")
    _, single, _ = run(capsys, *common)
    code, split, _ = run(capsys, *common, *options)
    assert code == 0
    assert split.pop("partitions") > 1
    assert split == single


def test_table_and_html(tmp_path: Path, capsys: Any) -> None:
    capture, truth = write_endpoint(tmp_path, two_variants())
    page = tmp_path / "report.html"
    out = tmp_path / "report.json"
    code = main(
        [
            "quality",
            *("--capture", str(capture / "ep"), "--ground-truth", str(truth)),
            *("--problem", "binary", "--format", "table", "--html", str(page), "--out", str(out)),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert text.startswith("verdict: ok; binary; variants: Challenger, Champion; joined 2,000")
    assert "difference from the reference variant Champion:" in text
    assert json.loads(out.read_text())["verdict"] == "ok"
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_quality_baseline_then_check_against_it(tmp_path: Path, capsys: Any) -> None:
    scores, labels = binary_data(3000, seed=3)
    validation = tmp_path / "validation.csv"
    validation.write_text(
        "id,score,label\n"
        + "".join(f"{i},{s},{y}\n" for i, (s, y) in enumerate(zip(scores, labels, strict=True)))
    )
    constraints = tmp_path / "constraints.json"
    code = main(
        [
            "quality-baseline",
            *("--data", str(validation), "--problem", "binary", "--out", str(constraints)),
            *("--threshold-relative", "accuracy=0.02,f1=0.05", "--threshold-absolute", "auc=0.7"),
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    section = json.loads(constraints.read_text())["binary_classification_constraints"]
    assert sorted(section) == ["accuracy", "auc", "f1"]
    assert section["auc"] == {"threshold": 0.7, "comparison_operator": "LessThanThreshold"}
    baseline_accuracy = summary["baseline"]["metrics"]["accuracy"]
    assert section["accuracy"]["threshold"] == pytest.approx(baseline_accuracy * 0.98)
    capture, truth = write_endpoint(tmp_path / "w", two_variants())
    common = ("--capture", str(capture / "ep"), "--ground-truth", str(truth), "--problem", "binary")
    code, report, _ = run(capsys, *common, "--baseline", str(constraints))
    assert code == 1
    assert report["variants"]["Challenger"]["verdict"] == "degraded"
    # The validation CSV as the baseline, thresholds relative to its metrics.
    code, report, _ = run(
        capsys, *common, "--baseline", str(validation), "--threshold-relative", "accuracy=0.5"
    )
    assert code == 0
    assert report["baseline"]["records"] == 3000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--start", "2026-11-30T05:00:00Z"), "give both --start and --end"),
        (("--start", "yesterday", "--end", "2026-11-30T05:00:00Z"), "Invalid isoformat"),
        (
            ("--start", "2026-11-30T05:00:00Z", "--end", "2026-11-30T05:00:00Z"),
            "is not after its start",
        ),
        (("--label-delay", "2h"), "--label-delay needs a window"),
        (
            (
                "--start",
                "2026-11-30T05:00:00Z",
                "--end",
                "2026-11-30T06:00:00Z",
                "--label-delay",
                "2 weeks",
            ),
            "duration '2 weeks'",
        ),
        (("--threshold-relative", "accuracy=0.05"), "--threshold-relative needs a baseline"),
        (("--threshold-absolute", "rmse=3"), "'rmse' is not a binary metric"),
        (("--threshold-absolute", "accuracy"), "write metric=value"),
        (("--threshold-relative", "accuracy=-1"), "a share between 0 and 10"),
        (("--reference", "Nobody"), "reference variant 'Nobody' has no record"),
        (("--partitions", "0"), "--partitions 0: at least 1"),
        (("--memory-mb", "10"), "more than 30 MB is needed"),
    ],
)
def test_bad_options_are_errors(
    tmp_path: Path, capsys: Any, options: tuple[str, ...], message: str
) -> None:
    capture, truth = write_endpoint(tmp_path, two_variants())
    code, report, err = run(
        capsys,
        *("--capture", str(capture / "ep"), "--ground-truth", str(truth), "--problem", "binary"),
        *options,
    )
    assert code == 2
    assert report == {}
    assert message in err


def test_relative_thresholds_with_a_constraints_file_are_an_error(
    tmp_path: Path, capsys: Any
) -> None:
    capture, truth = write_endpoint(tmp_path, two_variants())
    baseline = constraints_file(
        tmp_path,
        "binary_classification_constraints",
        {"f1": {"threshold": 0.1, "comparison_operator": "LessThanThreshold"}},
    )
    code, _, err = run(
        capsys,
        *("--capture", str(capture / "ep"), "--ground-truth", str(truth), "--problem", "binary"),
        *("--baseline", str(baseline), "--threshold-relative", "f1=0.1"),
    )
    assert code == 2
    assert "a constraints file holds bounds, not the baseline's values" in err


@mock_aws
@pytest.mark.parametrize(
    ("capture_uri", "variants"),
    [
        ("s3://window/capture/", ["A", "B", "X"]),  # the capture root: every endpoint's
        ("s3://window/capture/ep", ["A", "B"]),  # an endpoint's prefix, no slash
        ("s3://window/capture/ep/B/", ["B"]),  # one variant's
    ],
)
def test_an_s3_window_lists_only_its_hour_folders(
    tmp_path: Path, capsys: Any, monkeypatch: Any, capture_uri: str, variants: list[str]
) -> None:
    monkeypatch.setitem(os.environ, "AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="window")
    listed: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if "Delimiter" not in params:
            listed.append(params["Prefix"])

    client = boto3.client("s3", region_name="us-east-1")
    client.meta.events.register("provide-client-params.s3.ListObjectsV2", record)
    monkeypatch.setattr(quality_command, "_s3", lambda region=None: client)
    labels: dict[str, list[str]] = {"05": [], "08": [], "10": []}
    for endpoint, variant in (("ep", "A"), ("ep", "B"), ("other", "X")):
        for day, hour in (("29", "05"), ("30", "05"), ("30", "06"), ("30", "09")):
            ids = [f"{endpoint}-{variant}-{day}{hour}-{i}" for i in range(40)]
            key = f"capture/{endpoint}/{variant}/2026/11/{day}/{hour}/10-00-000-x.jsonl"
            body = "\n".join(capture_line(i, "0.8") for i in ids)
            s3.put_object(Bucket="window", Key=key, Body=body.encode())
            # The window's labels arrive at 08 (within the delay) and again at 10 (after it).
            for folder in ("08", "10") if day == "30" and hour != "09" else ("05",):
                labels[folder] += [truth_line(i, "1") for i in ids]
    for hour, lines in labels.items():
        s3.put_object(
            Bucket="window",
            Key=f"ground-truth/2026/11/30/{hour}/labels.jsonl",
            Body="\n".join(lines).encode(),
        )
    code, report, _ = run(
        capsys,
        *("--capture", capture_uri, "--ground-truth", "s3://window/ground-truth"),
        *("--problem", "binary", "--start", "2026-11-30T05:00:00Z"),
        *("--end", "2026-11-30T07:00:00Z", "--label-delay", "2h", "--min-records", "1"),
    )
    assert code == 0
    assert list(report["variants"]) == variants
    # Each variant: its objects of 05 and 06 on the 30th (the 29th and 09 are outside), all
    # joined with the labels of 08; the labels in 05 (of the 29th's and 09's objects) and
    # those in 08 of variants not read name no prediction read.
    assert report["records"]["predictions"] == 80 * len(variants)
    assert report["records"]["joined"] == 80 * len(variants)
    assert report["rejected"] == {"label_without_prediction": 240 + 80 * (3 - len(variants))}
    hours = ("2026/11/30/05/", "2026/11/30/06/", "2026/11/30/07/", "2026/11/30/08/")
    assert listed
    assert all(prefix.endswith(hours) for prefix in listed)
