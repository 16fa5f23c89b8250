"""The baseline and drift commands: exit codes and JSON output, local files and S3."""

from __future__ import annotations

import json
import os
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


def test_drift_table_sorted_by_score_over_threshold(
    train_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    rows = [p.split(",") for p in live_payloads(3000)]
    write_capture(tmp_path / "cap", [f"{float(a) + 30},{b},{s}" for a, b, s in rows])
    args = ["drift", "--baseline", str(baseline), "--capture", str(tmp_path / "cap")]
    assert main([*args, "--format", "table"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("verdict: drift; drifted: amount; records used 3,000 of 3,000")
    names = [line.split()[0] for line in out.splitlines()[4:7]]
    assert names[0] == "amount" and set(names) == {"amount", "age", "state"}
    assert "why:\n  amount: psi" in out


def test_drift_html_page_is_self_contained(train_csv: Path, tmp_path: Path, capsys: Any) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    write_capture(tmp_path / "cap", live_payloads(3000))
    page = tmp_path / "report.html"
    args = ["drift", "--baseline", str(baseline), "--capture", str(tmp_path / "cap")]
    assert main([*args, "--html", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 3
    for remote in ("http://", "https://", "<script", "<link", "@import", "url("):
        assert remote not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    report = json.loads(capsys.readouterr().out)
    amount = report["features"][0]
    assert sum(b["baseline"] for b in amount["bins"]) == pytest.approx(1.0)
    assert sum(b["live"] for b in amount["bins"]) == pytest.approx(1.0)
    assert amount["bins"][0]["bin"].startswith("< ") and amount["bins"][-1]["bin"] == "<missing>"


def test_rejected_lines_per_file_and_files_that_are_not_captures(
    train_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    baseline = built_baseline(train_csv, tmp_path, capsys)
    folder = tmp_path / "cap"
    write_capture(folder, live_payloads(600), "a.jsonl")
    (folder / "b.jsonl").write_text(
        "\n".join([*(capture_line(p) for p in live_payloads(10)), "{oops"]) + "\n"
    )
    (folder / "notes.txt").write_text("not a capture file\nat all\n")
    code = main(["drift", "--baseline", str(baseline), "--capture", str(folder)])
    captured = capsys.readouterr()
    assert code == 0
    report = json.loads(captured.out)
    assert report["files_skipped"] == [str(folder / "notes.txt")]
    assert report["files_with_rejections"] == [
        {
            "file": str(folder / "b.jsonl"),
            "lines": 11,
            "lines_rejected": {"malformed_json": 1},
            "records_rejected": {},
        }
    ]
    assert report["lines"]["read"] == 611
    assert "skipped" in captured.err and "notes.txt" in captured.err
    main(["drift", "--baseline", str(baseline), "--capture", str(folder), "--format", "table"])
    table = capsys.readouterr().out
    assert f"files with rejections:\n  {folder / 'b.jsonl'}: 1 malformed_json" in table
    assert f"files skipped (not data capture):\n  {folder / 'notes.txt'}" in table


def test_hints_for_a_csv_baseline_and_a_label_kept(
    train_csv: Path, tmp_path: Path, capsys: Any
) -> None:
    write_capture(tmp_path / "cap", live_payloads(600))
    args = ["--capture", str(tmp_path / "cap")]
    assert main(["drift", "--baseline", str(train_csv), *args]) == 2
    assert "run 'cdk-sagemaker-hosting baseline --data" in capsys.readouterr().err
    with_label = tmp_path / "with-label.json"
    assert main(["baseline", "--data", str(train_csv), "--out", str(with_label)]) == 0
    capsys.readouterr()
    assert main(["drift", "--baseline", str(with_label), *args]) == 3
    err = capsys.readouterr().err
    assert "the baseline has 4 features, the records have 3" in err
    assert "did the baseline keep the label? rebuild it with --drop LABEL" in err


def test_region_option(train_csv: Path, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    seen = []
    monkeypatch.setattr(
        "cdk_sagemaker_hosting._lambda.drift.command._s3",
        lambda region=None: seen.append(region) or (_ for _ in ()).throw(OSError("offline")),
    )
    assert main(["drift", "--baseline", "s3://b/k", "--capture", ".", "--region", "eu-west-1"]) == 2
    assert main(["baseline", "--data", "s3://b/t.csv", "--out", "x", "--region", "us-west-2"]) == 2
    assert seen == ["eu-west-1", "us-west-2"]


def test_no_traceback_when_the_reader_stops(train_csv: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "baseline.json"
    assert main(["baseline", "--data", str(train_csv), "--out", str(out), "--drop", "label"]) == 0
    write_capture(tmp_path / "cap", live_payloads(600))
    # A reader that is already gone: every write fails, however small the report
    # (piping to `head` would not: the report fits in the pipe's buffer).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cdk_sagemaker_hosting.cli",
                "drift",
                "--baseline",
                str(out),
                "--capture",
                str(tmp_path / "cap"),
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr
    assert result.returncode in (0, 1, 3)


def test_version(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip()
