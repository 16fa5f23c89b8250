"""Drift-check throughput: our streaming check against numpy/scipy, on the same capture data.

Writes ``--records`` synthetic data-capture lines (CSV payloads of 20
features: 17 numeric, 3 categorical; 9 numeric ones and the categorical ones shifted) as
capture objects of 10,000 lines, builds a baseline from separate training
rows, then runs, each in a fresh child process pinned to one core:

* ours: the Lambda's code (``lambda/drift``, imported as the Lambda imports
  it, without numpy), streaming the objects through mergeable counts;
* ours_strict: the same, parsing every capture line whole (``--strict``);
* numpy: a straightforward implementation of the same statistics (json per
  line, ``numpy.searchsorted`` + ``bincount`` over the baseline's edges,
  PSI with numpy, Jensen-Shannon with ``scipy.spatial.distance.jensenshannon``).

and, in one more child, ``baseline``: a baseline built from a training CSV of
``--baseline-rows`` rows (default 10,000,000; amount, age, flag, state) in two
streaming passes, whose peak RSS must stay under the same 256 MB.

Each child reports wall and CPU seconds and its peak RSS (``VmHWM``), so
numpy never inflates our figure. The per-feature scores of both must agree
to 1e-9. Not a timed test: a measurement, written as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NUMERIC = 17
CATEGORICAL = 3
FEATURES = NUMERIC + CATEGORICAL
LINES_PER_OBJECT = 10_000
CATEGORIES = ("red", "green", "blue", "amber", "violet")
TARGET_RECORDS_PER_SECOND = 100_000
TARGET_PEAK_RSS_MB = 256
TOLERANCE = 1e-9
#: Measured in turn: ours (SageMaker-layout lines: input parsed, rest checked for
#: shape), ours parsing every line whole, and the numpy/scipy reference.
KINDS = ("ours", "ours_strict", "numpy")
BASELINE_COLUMNS = ("amount", "age", "flag", "state")


def _names() -> list[str]:
    return [f"n{i}" for i in range(NUMERIC)] + [f"c{i}" for i in range(CATEGORICAL)]


def _row(rng: random.Random, shift: bool) -> str:
    numbers = [
        f"{rng.gauss(1.5 if shift and i % 2 == 0 else 0.0, 1.0 + i / 10):.6f}"
        for i in range(NUMERIC)
    ]
    weights = (5, 4, 3, 2, 1) if not shift else (1, 2, 3, 4, 5)
    categories = [rng.choices(CATEGORIES, weights)[0] for _ in range(CATEGORICAL)]
    return ",".join(numbers + categories)


def write_data(folder: Path, records: int, seed: int = 20240501) -> Path:
    """Training CSV (50,000 rows) and capture objects of ``records`` lines."""
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data
    folder.mkdir(parents=True, exist_ok=True)
    train = folder / "train.csv"
    with train.open("w") as out:
        out.write(",".join(_names()) + "\n")
        for _ in range(50_000):
            out.write(_row(rng, shift=False) + "\n")
    capture = folder / "capture"
    capture.mkdir(exist_ok=True)
    written = 0
    number = 0
    while written < records:
        count = min(LINES_PER_OBJECT, records - written)
        with (capture / f"{number:02d}-00-000-{number:06d}.jsonl").open("w") as out:
            for _ in range(count):
                event = {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": _row(rng, shift=True),
                            "encoding": "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv; charset=utf-8",
                            "mode": "OUTPUT",
                            "data": f"{rng.random():.4f}",
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {
                        "eventId": f"{rng.getrandbits(128):032x}",
                        "inferenceTime": "2024-05-01T13:21:48Z",
                    },
                    "eventVersion": "0",
                }
                out.write(json.dumps(event, separators=(",", ":")) + "\n")
        written += count
        number += 1
    return folder


# --- children -----------------------------------------------------------------


def _peak_rss_mb() -> float:
    """Peak resident memory of this process since it started (exec).

    ``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` would also count the
    parent's memory, copied into the child by ``fork`` before ``exec``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_ours(folder: Path, *, strict: bool = False) -> dict[str, Any]:
    """The Lambda's code, imported as the Lambda imports it (no numpy, no CDK).

    ``strict``: every capture line parsed whole, not only its input object.
    """
    sys.path.insert(0, str(ROOT / "lambda"))
    from drift import baseline as baseline_module  # noqa: PLC0415
    from drift.check import count_local  # noqa: PLC0415
    from drift.report import score  # noqa: PLC0415

    baseline = baseline_module.loads((folder / "baseline.json").read_text())
    start, cpu = time.perf_counter(), time.process_time()
    counts = count_local(baseline, folder / "capture", strict=strict)
    report = score(baseline, counts)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    assert "numpy" not in sys.modules
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "records": counts.records_used,
        "peak_rss_mb": _peak_rss_mb(),
        "scores": {f["name"]: f["score"] for f in report["features"]},
        "verdict": report["verdict"],
    }


def child_numpy(folder: Path) -> dict[str, Any]:
    """The same statistics, written the straightforward way with numpy and scipy."""
    import numpy as np  # noqa: PLC0415
    from scipy.spatial.distance import jensenshannon  # noqa: PLC0415

    baseline = json.loads((folder / "baseline.json").read_text())
    start, cpu = time.perf_counter(), time.process_time()
    payloads = []
    for path in sorted((folder / "capture").iterdir()):
        with path.open() as lines:
            payloads.extend(
                json.loads(line)["captureData"]["endpointInput"]["data"] for line in lines
            )
    table = np.array([p.split(",") for p in payloads])
    scores = {}
    for j, feature in enumerate(baseline["features"]):
        # The last bin is the missing values' (none in this data).
        expected = np.array([*feature["counts"], feature["missing"]], dtype=float)
        if feature["type"] == "numeric":
            values = table[:, j].astype(float)
            bins = np.searchsorted(np.array(feature["edges"]), values, side="right")
            observed = np.bincount(bins, minlength=len(expected)).astype(float)
            # Bins empty on both sides are left out; an empty bin is half a value.
            seen = (expected > 0) | (observed > 0)
            e, a = expected[seen], observed[seen]
            e_fill, a_fill = 0.5 / e.sum(), 0.5 / a.sum()
            e, a = e / e.sum(), a / a.sum()
            e, a = np.where(e == 0, e_fill, e), np.where(a == 0, a_fill, a)
            scores[feature["name"]] = float(np.sum((a - e) * np.log(a / e)))
        else:
            index = {c: i for i, c in enumerate(feature["categories"])}
            names, counts = np.unique(table[:, j], return_counts=True)
            observed = np.zeros(len(expected))
            for name, count in zip(names, counts, strict=True):
                observed[index.get(str(name), len(expected) - 2)] += count
            scores[feature["name"]] = float(
                jensenshannon(expected / expected.sum(), observed / observed.sum(), base=2)
            )
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "records": len(payloads),
        "peak_rss_mb": _peak_rss_mb(),
        "scores": scores,
    }


def write_training(path: Path, rows: int, seed: int = 7) -> None:
    """A training CSV of ``rows`` rows: a lognormal amount, an age, a flag, a state."""
    import numpy as np  # noqa: PLC0415 - the parent only

    rng = np.random.default_rng(seed)
    states = np.array(["CA", "NY", "TX", "WA", "FL"])
    with path.open("w") as out:
        out.write(",".join(BASELINE_COLUMNS) + "\n")
        for start in range(0, rows, 100_000):
            size = min(100_000, rows - start)
            amount = np.char.mod("%.2f", rng.lognormal(3, 1, size))
            age = rng.integers(18, 90, size).astype(str)
            flag = (rng.random(size) < 0.1).astype(int).astype(str)
            state = states[rng.integers(0, 5, size)]
            out.write("\n".join(map(",".join, zip(amount, age, flag, state, strict=True))))
            out.write("\n")


def child_baseline(folder: Path) -> dict[str, Any]:
    """Build a baseline from the big training CSV as the command line does (two passes)."""
    sys.path.insert(0, str(ROOT / "lambda"))
    from drift import baseline as baseline_module  # noqa: PLC0415

    path = folder / "train-big.csv"
    start, cpu = time.perf_counter(), time.process_time()
    columns, rows = baseline_module.table_source(lambda: path.open(encoding="utf-8", newline=""))
    built = baseline_module.build(columns, rows)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "records": built.records,
        "peak_rss_mb": _peak_rss_mb(),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }


def run_child(kind: str, folder: Path) -> dict[str, Any]:
    """One measurement in a fresh process on one core (one thread for numpy)."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    command = [
        sys.executable,
        "-m",
        "scripts.bench_drift",
        "--child",
        kind,
        "--data-dir",
        str(folder),
    ]
    if hasattr(os, "sched_getaffinity"):
        core = min(os.sched_getaffinity(0))
        command = ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        msg = f"{kind} failed: {result.stderr[-3000:]}"
        raise RuntimeError(msg)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def main() -> int:  # noqa: PLR0912, PLR0915 - a measurement, step by step
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-drift-results.json")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternated")
    parser.add_argument("--data-dir", type=Path, help="reuse (or keep) the generated data here")
    parser.add_argument(
        "--baseline-rows", type=int, default=10_000_000, help="rows of the training CSV (0: skip)"
    )
    parser.add_argument("--child", choices=(*KINDS, "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "baseline":
            print(json.dumps(child_baseline(args.data_dir)))
        elif args.child == "numpy":
            print(json.dumps(child_numpy(args.data_dir)))
        else:
            print(json.dumps(child_ours(args.data_dir, strict=args.child == "ours_strict")))
        return 0

    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-drift-"))
    try:
        marker = folder / f"records-{args.records}"
        if not marker.exists():
            shutil.rmtree(folder / "capture", ignore_errors=True)
            started = time.perf_counter()
            write_data(folder, args.records)
            print(
                f"data: {args.records:,} records in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            sys.path.insert(0, str(ROOT / "lambda"))
            from drift import baseline as baseline_module  # noqa: PLC0415

            train = folder / "train.csv"
            columns, rows = baseline_module.table_source(
                lambda: train.open(encoding="utf-8", newline="")
            )
            built = baseline_module.build(columns, rows)
            (folder / "baseline.json").write_text(json.dumps(built.to_json()))
            marker.touch()
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        for _ in range(args.repeat):
            for kind in KINDS:
                runs[kind].append(run_child(kind, folder))
                last = runs[kind][-1]
                print(
                    f"{kind}: {last['records'] / last['seconds']:,.0f} records/s, "
                    f"peak RSS {last['peak_rss_mb']:.0f} MB",
                    file=sys.stderr,
                )
        big = None
        if args.baseline_rows:
            marker = folder / f"train-rows-{args.baseline_rows}"
            if not marker.exists():
                started = time.perf_counter()
                write_training(folder / "train-big.csv", args.baseline_rows)
                print(
                    f"training data: {args.baseline_rows:,} rows in "
                    f"{time.perf_counter() - started:.1f} s",
                    file=sys.stderr,
                )
                marker.touch()
            big = run_child("baseline", folder)
            print(
                f"baseline: {big['records']:,} rows ({big['file_mb']} MB) in "
                f"{big['seconds']:.0f} s, peak RSS {big['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
            )
    finally:
        if args.data_dir is None:
            shutil.rmtree(folder, ignore_errors=True)

    def summary(kind: str) -> dict[str, Any]:
        best = min(runs[kind], key=lambda r: r["seconds"])
        return {
            "seconds": [round(r["seconds"], 3) for r in runs[kind]],
            "cpu_seconds": [round(r["cpu_seconds"], 3) for r in runs[kind]],
            "records_per_second": round(best["records"] / best["seconds"]),
            "records_per_cpu_second": round(best["records"] / best["cpu_seconds"]),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs[kind]), 1),
        }

    ours, reference = runs["ours"][0], runs["numpy"][0]
    differences = {
        name: max(abs(runs[k][0]["scores"][name] - reference["scores"][name]) for k in KINDS)
        for name in reference["scores"]
    }
    result = {
        "records": args.records,
        "features": {"numeric": NUMERIC, "categorical": CATEGORICAL},
        "payload": "CSV",
        "ours": summary("ours"),
        "ours_strict": summary("ours_strict"),
        "numpy": summary("numpy"),
        "verdict": ours["verdict"],
        "max_abs_score_difference": max(differences.values()),
        "scores_match": all(d <= TOLERANCE for d in differences.values()),
        "tolerance": TOLERANCE,
        "targets": {
            "records_per_second": TARGET_RECORDS_PER_SECOND,
            "peak_rss_mb": TARGET_PEAK_RSS_MB,
        },
        "machine": _machine(),
    }
    if big is not None:
        result["baseline"] = {
            "rows": big["records"],
            "file_mb": big["file_mb"],
            "seconds": round(big["seconds"], 1),
            "cpu_seconds": round(big["cpu_seconds"], 1),
            "rows_per_second": round(big["records"] / big["seconds"]),
            "peak_rss_mb": round(big["peak_rss_mb"], 1),
        }
    result["targets"]["met"] = {
        "records_per_second": result["ours"]["records_per_second"] >= TARGET_RECORDS_PER_SECOND,
        "peak_rss_mb": result["ours"]["peak_rss_mb"] < TARGET_PEAK_RSS_MB,
    }
    if big is not None:
        result["targets"]["met"]["baseline_peak_rss_mb"] = big["peak_rss_mb"] < TARGET_PEAK_RSS_MB
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["scores_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
