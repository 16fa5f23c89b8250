"""Capture and ground-truth lines in SageMaker's layouts, and synthetic joined data."""

from __future__ import annotations

import base64
import json
import random
from typing import Any


def capture_line(
    event_id: str,
    prediction: str,
    *,
    encoding: str = "CSV",
    content_type: str = "text/csv",
    inference_id: str | None = None,
) -> str:
    """One data-capture line whose output is ``prediction``."""
    data = base64.b64encode(prediction.encode()).decode() if encoding == "BASE64" else prediction
    metadata: dict[str, Any] = {"eventId": event_id, "inferenceTime": "2026-11-30T05:00:00Z"}
    if inference_id is not None:
        metadata["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": "1.0,2.0",
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": content_type,
                    "mode": "OUTPUT",
                    "data": data,
                    "encoding": encoding,
                },
            },
            "eventMetadata": metadata,
            "eventVersion": "0",
        }
    )


def truth_line(event_id: str, label: str, *, encoding: str = "CSV") -> str:
    """One ground-truth line in Model Monitor's layout."""
    data = base64.b64encode(label.encode()).decode() if encoding == "BASE64" else label
    return json.dumps(
        {
            "groundTruthData": {"data": data, "encoding": encoding},
            "eventMetadata": {"eventId": event_id},
            "eventVersion": "0",
        }
    )


def binary_data(n: int, seed: int = 7) -> tuple[list[float], list[int]]:
    """Scores that separate the classes imperfectly (about 0.8 AUC), some tied."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    scores, labels = [], []
    for i in range(n):
        label = int(rng.random() < 0.3)
        raw = rng.gauss(0.6 if label else 0.4, 0.18)
        score = min(1.0, max(0.0, raw))
        if i % 17 == 0:
            score = round(score, 2)  # ties across records
        scores.append(score)
        labels.append(label)
    return scores, labels


def multiclass_data(n: int, seed: int = 7) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    classes = ["cat", "dog", "bird", "fish"]
    weights = [0.5, 0.3, 0.15, 0.05]
    labels = rng.choices(classes, weights, k=n)
    predictions = [c if rng.random() < 0.7 else rng.choice(classes) for c in labels]
    return predictions, labels


def regression_data(n: int, seed: int = 7) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    labels = [rng.gauss(1000.0, 250.0) for _ in range(n)]
    predictions = [y + rng.gauss(5.0, 40.0) for y in labels]
    return predictions, labels
