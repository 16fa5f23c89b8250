"""Snapshots of the reference app: each stack held in full once (the rule: ``tests/snapshots.py``).

* ``dev-artifacts``, ``dev-hosting``, ``dev-batch``, ``prod-hosting``,
  ``dev-components`` and ``prod-components`` (which differ in more than
  names: instance counts, copies, monitoring) and ``prod-registry`` (prod
  only) are snapshotted (JSON, asset
  hashes normalised), one file each.
* ``prod-artifacts`` and ``prod-batch`` differ from their dev twins only in
  names: they are not snapshotted, but checked equal to the dev template after
  the explicit renaming :data:`DEV_TO_PROD` (the comparison is of the full
  templates, stubbed constructs included).
* Inside a stack snapshot, a construct with a snapshot of its own is a stub
  (logical IDs and types, and where it is held in full): the
  ``PromoteChallenger`` TrafficShift and the ``DriftMonitor`` in
  ``prod-hosting`` (``tests/traffic_shift``, ``tests/drift``), the
  ``WeeklyForecast`` ScheduledBatchTransform in ``dev-batch``
  (``tests/batch_transform``). How the stack configures them is checked by
  fine-grained tests (``test_reference_app.py``, ``tests/batch_transform/test_batch_stack.py``).

This module also checks every snapshot folder of the tests: JSON only, and no
file that no snapshot test would write.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from tests.conftest import ROOT, normalise
from tests.snapshots import (
    TESTS,
    differences,
    json_snapshot,
    renamed,
    snapshot_files,
    snapshot_test_files,
    stack_snapshot,
    stub_targets,
)

SNAPSHOTTED = [
    "dev-artifacts",
    "dev-hosting",
    "dev-batch",
    "dev-components",
    "prod-hosting",
    "prod-components",
    "prod-registry",
]
#: Stack -> the snapshotted stack it equals after :data:`DEV_TO_PROD`.
RENAMED = {"prod-artifacts": "dev-artifacts", "prod-batch": "dev-batch"}
#: Every name in which dev and prod differ, and where it comes from. The path
#: hashes of generated names (``devbatch-WeeklyForecast-<hash>-Logs``) follow
#: from the stack name and are mapped construct by construct (``renamed``).
DEV_TO_PROD = {
    "(dev)": "(prod)",  # the stacks' descriptions
    "dev-artifacts": "prod-artifacts",  # stack name: exports, imports, key description
    "dev-batch": "prod-batch",  # stack name: construct paths in descriptions and comments
    "devbatch": "prodbatch",  # stack name in generated names (the log group, a key policy Sid)
    "dev-forecast": "prod-forecast",  # the transform jobs' name prefix, ``<env>-forecast``
}


@pytest.fixture(scope="module")
def stacks(reference_app: Any) -> dict[str, cdk.Stack]:
    _, stack_list, _ = reference_app
    return {s.stack_name: s for s in stack_list}


def test_reference_app_has_the_documented_stacks(reference_templates: dict[str, Any]) -> None:
    assert sorted(reference_templates) == sorted(SNAPSHOTTED + list(RENAMED))


def test_each_stack_is_covered_by_exactly_one_full_snapshot() -> None:
    assert not set(SNAPSHOTTED) & set(RENAMED)
    assert set(RENAMED.values()) <= set(SNAPSHOTTED)


@pytest.mark.parametrize("stack_name", SNAPSHOTTED)
def test_template_snapshot(
    reference_templates: dict[str, Any],
    stacks: dict[str, cdk.Stack],
    stack_name: str,
    snapshot: Any,
) -> None:
    template = stack_snapshot(stacks[stack_name], reference_templates[stack_name])
    assert template == json_snapshot(snapshot)


@pytest.mark.parametrize(("stack_name", "twin"), RENAMED.items())
def test_prod_equals_dev_but_for_names(
    reference_templates: dict[str, Any],
    stacks: dict[str, cdk.Stack],
    stack_name: str,
    twin: str,
) -> None:
    expected = normalise(reference_templates[stack_name])
    actual = renamed(
        reference_templates[twin], DEV_TO_PROD, source=stacks[twin], target=stacks[stack_name]
    )
    assert actual == expected, (
        f"{stack_name} differs from {twin} in more than the names of DEV_TO_PROD; "
        f"snapshot it on its own if that is meant (diff of renamed {twin} against "
        f"{stack_name}):\n{differences(expected, actual)}"
    )


def test_every_renaming_is_used(
    reference_templates: dict[str, Any], stacks: dict[str, cdk.Stack]
) -> None:
    """DEV_TO_PROD holds no stale name, and the batch twins need the path hashes mapped too."""
    dev = json.dumps([normalise(reference_templates[twin]) for twin in RENAMED.values()])
    assert [name for name in DEV_TO_PROD if name not in dev] == []
    # Mapping dev-batch's path hashes to themselves renames the names only.
    names_only = renamed(
        reference_templates["dev-batch"],
        DEV_TO_PROD,
        source=stacks["dev-batch"],
        target=stacks["dev-batch"],
    )
    assert names_only != normalise(reference_templates["prod-batch"])


def test_snapshot_folders_hold_only_json_snapshots_of_existing_tests() -> None:
    """No ``.ambr`` (or other format) file, and no file no snapshot test would write.

    syrupy itself fails a run on unused snapshots only when every test of a
    module runs; this check holds for any selection of tests.
    """
    files = snapshot_files()
    assert files, "no snapshot files found"
    found = {*TESTS.rglob("*.ambr"), *(p for p in files if p.suffix != ".json")}
    other_formats = sorted(str(p.relative_to(ROOT)) for p in found)
    assert other_formats == [], f"snapshots are JSON (tests/snapshots.py): {other_formats}"
    folders = {p.relative_to(TESTS).parts[0] for p in files}
    expected = snapshot_test_files(TESTS / folder for folder in folders)
    unused = [str(p.relative_to(ROOT)) for p in files if p not in expected]
    assert unused == [], f"delete or rename these files, no test writes them: {unused}"


def test_stubs_name_snapshots_that_exist() -> None:
    """Every stub says where its construct is held in full, and that snapshot exists."""
    missing = {
        str(path.relative_to(ROOT)): sorted(t for t in targets if not (ROOT / t).is_file())
        for path, targets in stub_targets(snapshot_files()).items()
    }
    assert {k: v for k, v in missing.items() if v} == {}
