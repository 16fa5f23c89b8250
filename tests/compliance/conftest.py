"""Every template the scanners see: the reference app's and the showcase app's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import new_app
from tests.gates import control_tower_rules
from tests.showcase.app import add_showcase_stacks


@pytest.fixture(scope="session")
def all_templates(
    reference_templates: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Stack name -> template, for the reference app (dev and prod) and every showcase stack."""
    app = new_app()
    stacks = add_showcase_stacks(app, tmp_path_factory.mktemp("showcase-assets"))
    assembly = app.synth()
    showcase = {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks}
    assert not set(showcase) & set(reference_templates)
    return {**reference_templates, **showcase}


@pytest.fixture(scope="session")
def guard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """cfn-guard and the Control Tower rules, unpacked from the pinned plugin package."""
    return control_tower_rules(tmp_path_factory.mktemp("cfn-guard"))
