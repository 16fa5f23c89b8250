"""The README's examples run as written, and type-check as a consumer's code would.

Every ``python`` block of the README's "Constructs" section runs, in order,
in one namespace whose ``self`` is a stack (as in a stack's ``__init__``);
the stack is then synthesised, so an example that no longer matches the API,
or builds something that fails at synth, fails here. Blocks of the later
sections that are whole programs (they define their own app) run on their
own. Tracebacks point at the README's lines. The section's stack draws no
warning.

``mypy --strict`` checks the same code the same way: the Constructs section
as the body of a stack's ``__init__``, each whole program (and the example of
``docs/PYPI.md``, PyPI's description) as a module of its own; its messages
point at the README's lines too. The section's first block
holds all of its imports, so a reader copying it has every name the later
blocks use.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from mypy import api as mypy_api

from tests.conftest import ROOT, cdk_json_context

README = ROOT / "README.md"
#: PyPI's description: its example runs in tests/packaging/test_metadata.py.
PYPI = ROOT / "docs" / "PYPI.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every python block."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def section(text: str, heading: str) -> tuple[int, str]:
    """The text of one ``## heading`` section and the line it starts at."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text.count("\n", 0, start) + 1, text[start : end if end != -1 else None]


def is_program(code: str) -> bool:
    """A whole program: it makes its own app."""
    return "cdk.App(" in code


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
        if is_program(code):
            continue  # a whole program: see test_whole_programs_run
        run(code, offset + line - 1, namespace)
    assembly = app.synth()
    # An example that draws a warning teaches a mistake (a night's cap never lifted...).
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert not [f"{w.id}: {w.entry.data}" for w in warnings]
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
    return [(line, code) for line, code in python_blocks(README.read_text()) if is_program(code)]


@pytest.mark.parametrize(("line", "code"), whole_programs(), ids=lambda v: str(v)[:8])
def test_whole_programs_run(line: int, code: str, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "readme"}
    run(code, line, namespace)
    app = namespace["app"]
    assert isinstance(app, cdk.App)
    assert (Path(app.outdir) / "manifest.json").is_file()


def test_every_python_block_is_run_by_a_test() -> None:
    text = README.read_text()
    offset, body = section(text, "Constructs")
    start, end = offset, offset + body.count("\n")
    stray = [
        line
        for line, code in python_blocks(text)
        if not is_program(code) and not start <= line <= end
    ]
    assert not stray, f"README.md lines {stray}: outside Constructs and not a whole program"


def test_the_first_block_holds_every_import_of_the_section() -> None:
    offset, body = section(README.read_text(), "Constructs")
    _first, *rest = [(line, code) for line, code in python_blocks(body) if not is_program(code)]
    late = [
        f"README.md:{offset + line - 1 + node.lineno - 1}: {ast.unparse(node)}"
        for line, code in rest
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert not late, "imports belong in the section's first block:\n" + "\n".join(late)


#: The Constructs section, as the body of a stack's __init__ (``self`` is the stack).
STACK = """\
import aws_cdk
import constructs


class ReadmeStack(aws_cdk.Stack):
    def __init__(self, scope: constructs.Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
"""


def typed_modules() -> list[tuple[str, str, dict[int, int]]]:
    """``(module name, source, {module line: README line})`` of every python block."""
    text = README.read_text()
    offset, body = section(text, "Constructs")
    lines = STACK.splitlines()
    where: dict[int, int] = {}
    for line, code in python_blocks(body):
        if is_program(code):
            continue
        for i, source in enumerate(code.splitlines()):
            lines.append(f"        {source}" if source.strip() else "")
            where[len(lines)] = offset + line - 1 + i
    modules = [("readme_constructs", "\n".join(lines) + "\n", where)]
    for line, code in whole_programs():
        where = {i + 1: line + i for i in range(code.count("\n") + 1)}
        modules.append((f"readme_program_{line}", code, where))
    return modules


def test_every_block_is_clean_under_mypy_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = typed_modules()
    blocks = python_blocks(README.read_text())
    assert sum(len(set(w.values()) & {ln for ln, _ in blocks}) for _, _, w in modules) == len(
        blocks
    ), "a python block is missing from the type check"
    files = {}
    for name, source, where in modules:
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        files[str(path)] = {n: f"README.md:{line}" for n, line in where.items()}
    # PyPI's description is read by the same consumers.
    pypi = python_blocks(PYPI.read_text())
    assert pypi, "docs/PYPI.md lost its example"
    for line, code in pypi:
        path = tmp_path / f"pypi_{line}.py"
        path.write_text(code)
        files[str(path)] = {i + 1: f"docs/PYPI.md:{line + i}" for i in range(code.count("\n"))}
    # The project's configuration (mypy_path finds the library), its cache, and --strict.
    monkeypatch.chdir(ROOT)
    out, err, _ = mypy_api.run(["--strict", "--no-error-summary", "--show-error-codes", *files])
    found = []
    for message in out.splitlines():
        path, _, rest = message.partition(":")
        if path in files:
            number, _, text = rest.partition(":")
            found.append(f"{files[path].get(int(number), path)}:{text}")
    assert not err
    assert not found, "mypy --strict on the examples:\n" + "\n".join(found)
