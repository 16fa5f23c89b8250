"""Every hosting option passes the gates the reference app passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import new_app, normalise
from tests.reference_app.test_compliance import PACKS
from tests.showcase.app import OPTIONS, add_showcase_stacks


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.App, dict[str, Any]]:
    app = new_app()
    stacks = add_showcase_stacks(app, tmp_path_factory.mktemp("showcase"))
    assembly = app.synth()
    templates = {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks}
    return app, templates


@pytest.mark.parametrize("option", OPTIONS)
def test_snapshot(showcase: Any, option: str, snapshot: Any) -> None:
    _, templates = showcase
    assert normalise(templates[f"showcase-{option}"]) == snapshot.use_extension(
        JSONSnapshotExtension
    )


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(showcase: Any, pack: Any) -> None:
    app, _ = showcase
    findings = sorted(
        f"{v.rule_name} at {r.construct_path}"
        for v in pack(app).validate_scope(app).violations
        for r in v.violating_resources
    )
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(showcase: Any, tmp_path: Path) -> None:
    _, templates = showcase
    paths = []
    for name, template in templates.items():
        path = tmp_path / f"{name}.template.json"
        path.write_text(json.dumps(template))
        paths.append(str(path))
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    matches = json.loads(result.stdout or "[]")
    assert [(Path(m["Filename"]).name, m["Rule"]["Id"], m["Message"]) for m in matches] == []
