"""Every hosting option passes the gates the reference app passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from tests.conftest import new_app
from tests.gates import PACKS, cfn_lint, nag_findings
from tests.showcase.app import OPTIONS, add_showcase_stacks
from tests.snapshots import json_snapshot, stack_snapshot


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.App, dict[str, Any]]:
    app = new_app()
    stacks = add_showcase_stacks(app, tmp_path_factory.mktemp("showcase"))
    assembly = app.synth()
    templates = {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks}
    return app, templates


@pytest.mark.parametrize("option", OPTIONS)
def test_snapshot(showcase: Any, option: str, snapshot: Any) -> None:
    """One stack snapshot per option (JSON, asset hashes normalised).

    The rule of ``tests/snapshots.py`` applies: a construct with a snapshot of
    its own (TrafficShift, DriftMonitor, ScheduledBatchTransform) would be a
    stub here; the showcase uses none today, so every stack is in full.
    """
    app, templates = showcase
    name = f"showcase-{option}"
    stack = app.node.find_child(name)
    assert stack_snapshot(stack, templates[name]) == json_snapshot(snapshot)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(showcase: Any, pack: Any) -> None:
    app, _ = showcase
    findings = nag_findings(app, pack)
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(showcase: Any, tmp_path: Path) -> None:
    _, templates = showcase
    found, stderr = cfn_lint(templates, tmp_path)
    assert found == [], stderr
