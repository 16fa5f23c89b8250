"""Shared fixtures: one synthesised reference app for every test that only reads it."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

ROOT = Path(__file__).resolve().parent.parent
# jsii runs on the `node` it finds first: the venv's Node.js 24, not the system's.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])

HASH = re.compile(r"\b[0-9a-f]{64}\b")


def cdk_json_context() -> dict[str, Any]:
    """The context the CDK CLI gives app.py, from cdk.json."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(**extra_context: Any) -> cdk.App:
    """An app with cdk.json's context (feature flags included) and no version reporting."""
    context = {**cdk_json_context(), "aws:cdk:version-reporting": False, **extra_context}
    return cdk.App(context=context)


def normalise(template: dict[str, Any]) -> dict[str, Any]:
    """A template with asset hashes replaced, so snapshots match on every machine."""
    return json.loads(HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture(scope="session")
def reference_app() -> tuple[cdk.App, list[cdk.Stack], cdk.cx_api.CloudAssembly]:
    """The reference app of app.py, synthesised once for the whole session."""
    from stacks import add_reference_stacks

    app = new_app()
    stacks = add_reference_stacks(app)
    return app, stacks, app.synth()


@pytest.fixture(scope="session")
def reference_templates(reference_app: Any) -> dict[str, dict[str, Any]]:
    """Stack name -> synthesised template of the reference app."""
    _, stacks, assembly = reference_app
    return {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks}


@pytest.fixture
def stack() -> cdk.Stack:
    """A fresh environment-agnostic stack in a fresh app, for construct tests."""
    return cdk.Stack(new_app(), "TestStack")


@pytest.fixture
def template_of() -> Callable[[cdk.Stack], cdk.assertions.Template]:
    """Synthesise a stack and wrap it for fine-grained assertions."""
    return cdk.assertions.Template.from_stack
