"""Capture lines and baselines for the drift tests."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

from cdk_sagemaker_hosting._lambda.drift.baseline import Baseline, build


def capture_line(
    data: str,
    encoding: str = "CSV",
    content_type: str = "text/csv",
    event_id: str = "f04a8538-696c-4648-8064-8b680b2e3318",
    *,
    compact: bool = True,
) -> str:
    """One data-capture line as SageMaker writes it (compact JSON), or with spaces."""
    if encoding == "BASE64":
        data = base64.b64encode(data.encode()).decode()
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": "text/csv; charset=utf-8",
                    "mode": "OUTPUT",
                    "data": "0.0364",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": event_id, "inferenceTime": "2024-05-01T13:21:48Z"},
            "eventVersion": "0",
        },
        separators=(",", ":") if compact else None,
    )


def training_rows(n: int, seed: int = 7) -> list[list[Any]]:
    """Rows of (amount, age, state): two numeric features and a categorical one."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    return [
        [f"{rng.gauss(100, 20):.3f}", f"{rng.randint(18, 90)}", rng.choice(["CA", "NY", "TX"])]
        for _ in range(n)
    ]


COLUMNS = ["amount", "age", "state"]


def sample_baseline(n: int = 5000) -> Baseline:
    """A baseline of :func:`training_rows`."""
    return build(COLUMNS, training_rows(n))


def live_payloads(n: int, seed: int = 11, shift: float = 0.0) -> list[str]:
    """CSV payloads like the training rows, the amount shifted by ``shift``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    return [
        f"{rng.gauss(100 + shift, 20):.3f},{rng.randint(18, 90)},{rng.choice(['CA', 'NY', 'TX'])}"
        for _ in range(n)
    ]


def numpy_psi(expected: Any, actual: Any, epsilon: float | None = None) -> float:
    """PSI written with numpy: an empty bin is ``epsilon``, or half a value of its sample."""
    import numpy as np

    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    e_fill = 0.5 / e.sum() if epsilon is None else epsilon
    a_fill = 0.5 / a.sum() if epsilon is None else epsilon
    both_empty = (e == 0) & (a == 0)
    e, a = e[~both_empty], a[~both_empty]
    e, a = e / e.sum(), a / a.sum()
    e, a = np.where(e == 0, e_fill, e), np.where(a == 0, a_fill, a)
    return float(np.sum((a - e) * np.log(a / e)))
