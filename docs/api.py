"""Build the API reference of ``cdk_sagemaker_hosting`` from its docstrings, failing on any warning.

    python docs/api.py [--out build/docs]      # what `make docs` runs

pdoc renders one page: the package's public names (its ``__all__``), their
docstrings (reStructuredText) and signatures. The build fails, listing each
problem, when

* pdoc warns (a name of ``__all__`` that does not resolve, an annotation it
  cannot evaluate, a module it cannot import, ...);
* a public class, function, method or property has no docstring;
* a cross-reference (``:class:``, ``:meth:``, ``:attr:``, ...) names
  nothing the page documents (nor an ``aws_cdk`` name), so it cannot link;
* reStructuredText markup survives into the page (a role pdoc does not
  convert, a ``~`` target), which readers would see raw.

``tests/packaging/test_docs.py`` runs this build in ``make test``.
"""

from __future__ import annotations

import argparse
import html
import importlib
import inspect
import re
import sys
import warnings
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pdoc.doc
import pdoc.docstrings
import pdoc.render
from pdoc.render_helpers import qualname_candidates

PACKAGE = "cdk_sagemaker_hosting"
DEFAULT_OUT = Path("build/docs")

#: A Sphinx cross-reference role, as pdoc's reStructuredText support reads it.
ROLE = re.compile(r"(?::py)?:(mod|func|data|const|class|meth|attr|exc|obj):`([^`]+)`")
#: reStructuredText left over in the rendered docstrings: a role of any kind, or a ``~`` target.
RAW_RST = re.compile(r":[a-z]+:(?:`|<code>)|`~|<code>~")
DOCSTRING = re.compile(r'<div class="docstring">(.*?)</div>\s*(?=<|$)', re.S)
#: A literal-block marker (``text::`` before an indented block), which pdoc leaves as it is.
LITERAL_BLOCK = re.compile(r"([ \t]*)::$(?=\n[ \t]*\n)", re.M)


class DocsError(Exception):
    """The reference cannot be built without warnings; ``problems`` lists them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} documentation problem(s):\n" + "\n".join(problems))
        self.problems = problems


def _literal_blocks(convert: Callable[[str, Path | None], str]) -> Callable[..., str]:
    """pdoc's reStructuredText conversion, reading ``text::`` as ``text:`` (as docutils does)."""

    def rst(contents: str, source_file: Path | None) -> str:
        return convert(
            LITERAL_BLOCK.sub(lambda m: "" if m.group(1) else ":", contents), source_file
        )

    rst.pdoc_rst = convert  # type: ignore[attr-defined]
    return rst


# pdoc's own conversion, wrapped once however often this module is loaded.
pdoc.docstrings.rst = _literal_blocks(getattr(pdoc.docstrings.rst, "pdoc_rst", pdoc.docstrings.rst))


def public_module() -> pdoc.doc.Module:
    """The package as pdoc documents it: every name of ``__all__``, each a class or function.

    The package imports its names on first use (PEP 562) and pdoc reads the
    module's ``__dict__``, so each is resolved first. A public class bound
    under another name (``DriftThresholds`` is the drift function's
    ``Thresholds``) would be documented as a bare variable without its
    docstring: it is documented as the class it is, under its public name.
    """
    package = importlib.import_module(PACKAGE)
    for name in package.__all__:
        getattr(package, name)
    module = pdoc.doc.Module(package)
    for name, doc in list(module.members.items()):
        if isinstance(doc, pdoc.doc.Variable) and inspect.isclass(doc.default_value):
            cls = doc.default_value
            module.members[name] = pdoc.doc.Class(
                PACKAGE, name, cls, (cls.__module__, cls.__qualname__)
            )
    for doc in module.members.values():
        init = doc.members.get("__init__") if isinstance(doc, pdoc.doc.Class) else None
        if init is not None and not _own_docstring(init.obj):
            # A construct's __init__ would show constructs.Construct's docstring
            # (its scope and id); the class's docstring describes the props.
            init.docstring = ""
    return module


def _own_docstring(function: object) -> bool:
    return bool(getattr(function, "__doc__", None)) and getattr(
        function, "__module__", ""
    ).startswith(PACKAGE)


def public_docs(module: pdoc.doc.Module) -> list[pdoc.doc.Doc[Any]]:
    """The documented objects: the public names and their own public members."""
    docs: list[pdoc.doc.Doc[Any]] = []
    for doc in module.members.values():
        docs.append(doc)
        if isinstance(doc, pdoc.doc.Class):
            docs.extend(m for m in doc.own_members if not m.name.startswith("_"))
    return docs


def _resolves(module: pdoc.doc.Module, target: str, namespace: str) -> bool:
    target = target.lstrip("~").removesuffix("()")
    if "<" in target:  # :class:`text <target>`
        target = target.split("<", 1)[1].rstrip(">").strip()
    if any(module.get(q) for q in qualname_candidates(target, namespace)):
        return True
    head, _, rest = target.partition(".")
    if head.startswith("aws_") or head == "aws_cdk":  # aws_s3.IBucket.grant_read
        obj: object = importlib.import_module("aws_cdk" if head == "aws_cdk" else f"aws_cdk.{head}")
        for part in rest.split(".") if rest else []:
            if not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True
    return False


def check(module: pdoc.doc.Module) -> list[str]:
    """Docstring problems: missing docstrings and cross-references that cannot link."""
    problems = []
    for doc in public_docs(module):
        line = doc.source_lines[0] if doc.source_lines else "?"
        where = f"{doc.fullname} ({doc.source_file}:{line})"
        if isinstance(doc, pdoc.doc.Variable):
            continue  # attributes are described in their class's docstring
        if not doc.docstring.strip():
            problems.append(f"{where}: no docstring")
        # Names in a docstring are read in the class (a method's: its class).
        namespace = doc.qualname
        if not isinstance(doc, pdoc.doc.Class):
            namespace = namespace.rpartition(".")[0]
        for kind, target in ROLE.findall(doc.docstring):
            if not _resolves(module, target, namespace):
                problems.append(
                    f"{where}: :{kind}:`{target}` names nothing in the reference "
                    "(name a public object, or write it as ``code``)"
                )
    return problems


def render(module: pdoc.doc.Module, out: Path) -> list[str]:
    """Write the pages into ``out``; problems found in the rendered docstrings."""
    pdoc.render.configure(
        docformat="restructuredtext",
        show_source=False,
        footer_text=f"{PACKAGE} {version('cdk-sagemaker-hosting')}",
    )
    all_modules = {PACKAGE: module}
    page = pdoc.render.html_module(module, all_modules)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{PACKAGE}.html").write_text(page)
    (out / "index.html").write_text(pdoc.render.html_index(all_modules))
    (out / "search.js").write_text(pdoc.render.search_index(all_modules))
    problems = []
    for block in DOCSTRING.findall(page):
        text = html.unescape(block)
        for m in RAW_RST.finditer(text):
            context = re.sub(r"<[^>]+>", "", text[max(0, m.start() - 60) : m.end() + 60])
            problems.append(f"raw reStructuredText in the page: ...{' '.join(context.split())}...")
    return problems


def build(out: Path = DEFAULT_OUT) -> Path:
    """Build the reference into ``out``; raise :class:`DocsError` on any warning or problem."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = public_module()
        problems = check(module)
        problems += render(module, out)
    problems += [
        f"warning: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
    ]
    if problems:
        raise DocsError(problems)
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        index = build(args.out)
    except DocsError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"API reference: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
