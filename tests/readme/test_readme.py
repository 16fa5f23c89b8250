"""The README's examples run as written.

Every ``python`` block of the README's "Constructs" section runs, in order,
in one namespace whose ``self`` is a stack (as in a stack's ``__init__``);
the stack is then synthesised, so an example that no longer matches the API,
or builds something that fails at synth, fails here. Blocks of the later
sections that are whole programs (they define their own app) run on their
own. Tracebacks point at the README's lines.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from tests.conftest import ROOT, cdk_json_context

README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every python block."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def section(text: str, heading: str) -> tuple[int, str]:
    """The text of one ``## heading`` section and the line it starts at."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text.count("\n", 0, start) + 1, text[start : end if end != -1 else None]


def run(code: str, line: int, namespace: dict[str, Any]) -> None:
    # Pad so the compiled code's line numbers are the README's.
    exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)  # noqa: S102


def test_the_constructs_section_runs_in_one_stack_and_synthesises(tmp_path: Path) -> None:
    text = README.read_text()
    offset, body = section(text, "Constructs")
    blocks = python_blocks(body)
    assert len(blocks) >= 10, "the Constructs section lost its examples"
    context = {**cdk_json_context(), "aws:cdk:version-reporting": False}
    app = cdk.App(context=context, outdir=str(tmp_path))
    stack = cdk.Stack(
        app, "Readme", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    namespace: dict[str, Any] = {"self": stack, "__name__": "readme"}
    for line, code in blocks:
        if "cdk.App(" in code:
            continue  # a whole program: see the next test
        run(code, offset + line - 1, namespace)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Readme").template
    types = {r["Type"] for r in template["Resources"].values()}
    for expected in (
        "AWS::SageMaker::Model",
        "AWS::SageMaker::Endpoint",
        "AWS::CloudWatch::Alarm",
        "AWS::StepFunctions::StateMachine",
        "AWS::ApplicationAutoScaling::ScalableTarget",
    ):
        assert expected in types


def whole_programs() -> list[tuple[int, str]]:
    return [(line, code) for line, code in python_blocks(README.read_text()) if "cdk.App(" in code]


@pytest.mark.parametrize(("line", "code"), whole_programs(), ids=lambda v: str(v)[:8])
def test_whole_programs_run(line: int, code: str, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "readme"}
    run(code, line, namespace)
    app = namespace["app"]
    assert isinstance(app, cdk.App)
    assert (Path(app.outdir) / "manifest.json").is_file()
