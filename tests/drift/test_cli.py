"""The baseline and drift commands: exit codes and JSON output, local files and S3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from cdk_sagemaker_hosting.cli import main
from moto import mock_aws

from tests.drift.helpers import COLUMNS, capture_line, live_payloads, training_rows

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def train_csv(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    rows = [[str(i % 2), *row] for i, row in enumerate(training_rows(4000))]
    path.write_text("\n".join(",".join(r) for r in [["label", *COLUMNS], *rows]) + "\n")
    return path


def write_capture(folder: Path, payloads: list[str], name: str = "13/05-00-000-a.jsonl") -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(capture_line(p) for p in payloads) + "\n")


def built_baseline(train_csv: Path, tmp_path: Path, capsys: Any) -> Path:
    out = tmp_path / "baseline.json"
    assert main(["baseline", "--data", str(train_csv), "--out", str(out), "--drop", "label"]) == 0
    capsys.readouterr()
    return out


def test_baseline_infers_types_and_reports_them(
    train_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    out = tmp_path / "baseline.json"
    code = main(["baseline", "--data", str(train_csv), "--out", str(out), "--drop", "label"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "amount: numeric, 16 bins" in printed and "state: categorical, 4 bins" in printed
    data = json.loads(out.read_text())
    assert [f["name"] for f in data["features"]] == COLUMNS


def test_baseline_type_overrides(train_csv: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "baseline.json"
    code = main(
        [
            "baseline",
            "--data",
            str(train_csv),
            "--out",
            str(out),
            "--categorical",
            "age,label",
            "--ignored",
            "amount",
            "--bins",
            "4",
        ]
    )
    assert code == 0
    kinds = {f["name"]: f["type"] for f in json.loads(out.read_text())["features"]}
    assert kinds == {
        "label": "categorical",
        "age": "categorical",
        "amount": "ignored",
        "state": "categorical",
    }


def test_baseline_converts_model_monitor_statistics(tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "baseline.json"
    assert main(["baseline", "--data", str(FIXTURES / "statistics.json"), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["source"] == "model-monitor"


def test_drift_exit_codes_and_report(train_csv: Path, tmp_path: Path, capsys: Any) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    same, shifted, few = tmp_path / "same", tmp_path / "shifted", tmp_path / "few"
    write_capture(same, live_payloads(3000))
    rows = [p.split(",") for p in live_payloads(3000)]
    write_capture(shifted, [f"{float(a) + 30},{int(b) + 30},{s}" for a, b, s in rows])
    write_capture(few, live_payloads(20))

    assert main(["drift", "--baseline", str(baseline), "--capture", str(same)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "no_drift"
    assert (report["records"]["read"], report["records"]["rejected"]) == (3000, 0)
    for feature in report["features"]:
        assert {"name", "metric", "score", "verdict"} <= set(feature)

    assert main(["drift", "--baseline", str(baseline), "--capture", str(shifted)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "drift" and report["drifted_features"] == ["amount", "age"]
    assert report["drift_share"] == pytest.approx(2 / 3)

    assert main(["drift", "--baseline", str(baseline), "--capture", str(few)]) == 3
    assert json.loads(capsys.readouterr().out)["verdict"] == "insufficient_data"


def test_drift_threshold_option(train_csv: Path, tmp_path: Path, capsys: Any) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    write_capture(tmp_path / "cap", live_payloads(3000, shift=5))
    args = ["drift", "--baseline", str(baseline), "--capture", str(tmp_path / "cap")]
    assert main([*args, "--threshold", "0.03"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {f["threshold"] for f in report["features"]} == {0.03}
    assert report["drifted_features"] == ["amount"]
    assert main([*args, "--threshold", "0.03", "--psi-threshold", "5"]) == 0


def test_drift_counts_bad_lines_in_a_capture_file(
    train_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    capture = tmp_path / "capture.jsonl"
    capture.write_text(
        "\n".join([*(capture_line(p) for p in live_payloads(600)), "{oops", capture_line("1,2")])
    )
    out = tmp_path / "report.json"
    code = main(
        ["drift", "--baseline", str(baseline), "--capture", str(capture), "--out", str(out)]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert report["lines"]["rejections"] == {"malformed_json": 1}
    assert report["records"]["rejections"] == {"wrong_column_count": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["drift", "--baseline", "nope.json", "--capture", "."], "nope.json"),
        (["baseline", "--data", "nope.csv", "--out", "x.json"], "nope.csv"),
    ],
)
def test_errors_exit_2_with_a_message(
    args: list[str], message: str, capsys: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_missing_capture_folder_exits_2(train_csv: Path, tmp_path: Path, capsys: Any) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    assert main(["drift", "--baseline", str(baseline), "--capture", str(tmp_path / "none")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_bad_threshold_exits_2(train_csv: Path, tmp_path: Path, capsys: Any) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    assert (
        main(["drift", "--baseline", str(baseline), "--capture", ".", "--dataset-share", "2"]) == 2
    )
    assert "dataset_share" in capsys.readouterr().err


def test_s3_baseline_capture_and_report(
    train_csv: Path, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="capture")
        s3.upload_file(str(train_csv), "capture", "train/train.csv")
        body = "\n".join(capture_line(p) for p in live_payloads(1000))
        for hour in ("13", "14"):
            s3.put_object(
                Bucket="capture",
                Key=f"dc/ep/AllTraffic/2024/05/01/{hour}/00-00-000-x.jsonl",
                Body=body,
            )
        assert (
            main(
                [
                    "baseline",
                    "--data",
                    "s3://capture/train/train.csv",
                    "--out",
                    "s3://capture/baseline.json",
                    "--drop",
                    "label",
                ]
            )
            == 0
        )
        capsys.readouterr()
        code = main(
            [
                "drift",
                "--baseline",
                "s3://capture/baseline.json",
                "--capture",
                "s3://capture/dc/ep/AllTraffic/2024/05/01/",
                "--out",
                "s3://capture/report.json",
            ]
        )
        assert code == 0
        report = json.loads(s3.get_object(Bucket="capture", Key="report.json")["Body"].read())
        assert (report["objects"], report["records"]["read"]) == (2, 2000)
        assert json.loads(capsys.readouterr().out) == report


def test_strict_parses_every_line_whole(train_csv: Path, tmp_path: Path, capsys: Any) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    capture = tmp_path / "capture.jsonl"
    odd = capture_line("1,20,CA").replace('"eventVersion":"0"', '"eventVersion":"0" "x":1')
    capture.write_text("\n".join([*(capture_line(p) for p in live_payloads(600)), odd]) + "\n")
    args = ["drift", "--baseline", str(baseline), "--capture", str(capture)]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["lines"]["rejected"] == 0
    assert main([*args, "--strict"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"]["rejections"] == {"malformed_json": 1}
