"""Snapshots of every template of the reference app (asset hashes normalised)."""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import normalise

STACKS = [
    "dev-artifacts",
    "dev-hosting",
    "dev-batch",
    "prod-artifacts",
    "prod-hosting",
    "prod-batch",
]


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_reference_app_has_the_documented_stacks(reference_templates: dict[str, Any]) -> None:
    assert sorted(reference_templates) == sorted(STACKS)


@pytest.mark.parametrize("stack_name", STACKS)
def test_template_snapshot(
    reference_templates: dict[str, Any], stack_name: str, snapshot_json: Any
) -> None:
    assert normalise(reference_templates[stack_name]) == snapshot_json
