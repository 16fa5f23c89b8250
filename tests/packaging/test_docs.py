"""The API reference builds from the docstrings without a warning (``make docs``).

The build itself runs as ``make docs`` runs it, in a fresh process; the
checks it adds to pdoc's own warnings are shown to catch what they promise.
"""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
import types
from pathlib import Path

import cdk_sagemaker_hosting
import pdoc.doc
import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "docs" / "api.py"


def load_builder() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("docs_api", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "index.html").is_file()
    return (out / "cdk_sagemaker_hosting.html").read_text()


def test_the_reference_builds_without_warnings_and_documents_every_public_name(
    page: str,
) -> None:
    sections = set(re.findall(r'<section id="([A-Za-z]+)">', page))
    assert sections == set(cdk_sagemaker_hosting.__all__)


def test_public_types_bound_under_another_name_are_documented_as_classes(page: str) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    # DriftThresholds is the drift function's Thresholds: its fields and docstring show.
    assert "PSI of a numeric feature" in text
    assert "the target's p99 model latency may exceed" in text  # MetricComparison


def test_constructors_do_not_show_the_construct_base_class_docstring(page: str) -> None:
    assert "Creates a new construct node" not in page


def test_literal_blocks_render_without_their_marker(page: str) -> None:
    assert "construct it directly:</p>" in page  # VariantScaling's "directly::"


def _module(source: str) -> pdoc.doc.Module:
    module = types.ModuleType("cdk_sagemaker_hosting_docs_example")
    exec(source, module.__dict__)  # noqa: S102
    module.__all__ = [n for n in module.__dict__ if not n.startswith("_")]  # type: ignore[attr-defined]
    return pdoc.doc.Module(module)


def test_missing_docstrings_and_dangling_references_are_problems() -> None:
    api = load_builder()
    module = _module(
        '''
class Documented:
    """Links :class:`Documented`, :meth:`go`, :meth:`aws_s3.IBucket.grant_read`."""

    def go(self) -> None:
        """Go."""

class Bare:
    def run(self) -> None:
        """Runs :class:`Nowhere` and :meth:`aws_s3.IBucket.no_such_method`."""

def helper() -> None:
    pass
'''
    )
    problems = api.check(module)
    assert [p.split(" ")[0] for p in problems] == [
        "cdk_sagemaker_hosting_docs_example.Bare",
        "cdk_sagemaker_hosting_docs_example.Bare.run",
        "cdk_sagemaker_hosting_docs_example.Bare.run",
        "cdk_sagemaker_hosting_docs_example.helper",
    ]
    assert problems[0].endswith(": no docstring")
    assert ":class:`Nowhere` names nothing in the reference" in problems[1]
    assert ":meth:`aws_s3.IBucket.no_such_method` names nothing" in problems[2]


def test_any_warning_fails_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = load_builder()

    def warn(*_: object, **__: object) -> list[str]:
        import warnings

        warnings.warn("Error parsing type annotation Foo", stacklevel=1)
        return []

    monkeypatch.setattr(api, "render", warn)
    with pytest.raises(api.DocsError) as error:
        api.build(tmp_path)
    assert error.value.problems[0].startswith(
        "warning: UserWarning: Error parsing type annotation Foo"
    )


def test_raw_restructuredtext_in_the_page_is_a_problem(tmp_path: Path) -> None:
    api = load_builder()
    module = _module('def f() -> None:\n    """Uses :sup:`2` and :class:`~a.B`."""\n')
    problems = api.render(module, tmp_path)
    assert len(problems) == 2
    assert all(p.startswith("raw reStructuredText in the page") for p in problems)
