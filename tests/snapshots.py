"""Template snapshots: one format, and each thing held in full by exactly one snapshot.

The format: syrupy's JSON extension, one template per ``.json`` file under the
test module's ``__snapshots__/<module>/<test name>.json``, asset hashes
normalised by :func:`tests.conftest.normalise`. Use :func:`json_snapshot`.

The rule (one full snapshot per construct and per stack):

* A **construct snapshot** (``tests/traffic_shift``, ``tests/drift``,
  ``tests/batch_transform``) holds the constructs under test in full. The
  library constructs its test builds around them (endpoint, model,
  monitoring, buckets) are stubbed: stack snapshots hold them in full.
  Plain CDK resources the test adds (a queue, a role) stay in full: they show
  what the construct does to them (grants, event targets).
* A **stack snapshot** (``tests/reference_app``, ``tests/showcase``) holds
  the stack in full, except the constructs that have a construct snapshot of
  their own (:data:`OWN_SNAPSHOTS`), which are stubbed wherever they appear.
* A dev/prod pair of stacks that differ only in names is snapshotted once; the
  other stack of the pair is checked equal to it by an explicit renaming
  (:func:`renamed`), not snapshotted.

A stub keeps the construct's logical IDs and resource types, one line per
resource (``"<logical id>": "<type> (stub of <construct path>)"``), and names
the snapshot that holds it in full under the template's ``Stubs`` key. So a
change to a stubbed construct's properties shows in its own snapshot only;
adding, removing or renaming one of its resources also changes the stub lines,
as logical IDs are the deploying stack's identity for its resources. Whatever
a stubbed construct changes outside its own subtree (a lifecycle rule on a
bucket it is given, a widget on a dashboard) stays in full.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from syrupy.extensions.json import JSONSnapshotExtension

from constructs import IConstruct
from tests.conftest import ROOT, normalise

TESTS = ROOT / "tests"
LIBRARY = "cdk_sagemaker_hosting"

#: Construct class name -> the snapshot that holds that construct in full.
OWN_SNAPSHOTS = {
    "TrafficShift": "tests/traffic_shift/__snapshots__/test_construct/test_snapshot.json",
    "DriftMonitor": "tests/drift/__snapshots__/test_construct/test_snapshot.json",
    "ModelQualityMonitor": "tests/quality/__snapshots__/test_construct/test_snapshot.json",
    "ScheduledBatchTransform": (
        "tests/batch_transform/__snapshots__/test_batch_transform/test_snapshot.json"
    ),
    "EndpointApi": "tests/https_front/__snapshots__/test_https_front/test_snapshot.json",
}
#: Where the library constructs a construct test builds around its subject are held in full.
IN_STACK_SNAPSHOTS = "the stack snapshots (tests/reference_app, tests/showcase)"
#: The sections of a template that hold logical IDs.
SECTIONS = ("Conditions", "Mappings", "Outputs", "Parameters", "Resources", "Rules")


def json_snapshot(snapshot: Any) -> Any:
    """The project's one snapshot format: syrupy's JSON extension, a file per snapshot."""
    return snapshot.use_extension(JSONSnapshotExtension)


def _is_library_construct(node: IConstruct) -> bool:
    return type(node).__module__.split(".")[0] == LIBRARY


def _stub(template: dict[str, Any], stack: cdk.Stack, node: IConstruct, held_by: str) -> None:
    """Replace, in place, every CloudFormation element under ``node`` by a one-line stub."""
    path = node.node.path.removeprefix(stack.node.path + "/")
    template.setdefault("Stubs", {})[path] = f"{type(node).__name__}: held in full by {held_by}"
    for element in node.node.find_all():
        if not isinstance(element, cdk.CfnElement):
            continue
        if cdk.Stack.of(element).node.path != stack.node.path:
            continue
        logical_id = stack.resolve(element.logical_id)
        for name in SECTIONS:
            section = template.get(name, {})
            if logical_id in section:
                kind = section[logical_id].get("Type", name.removesuffix("s"))
                section[logical_id] = f"{kind} (stub of {path})"


def _walk(scope: IConstruct, visit: Any) -> None:
    """Call ``visit`` top-down; a node for which it returns True is not descended into."""
    for child in scope.node.children:
        if not visit(child):
            _walk(child, visit)


def stack_snapshot(stack: cdk.Stack, template: dict[str, Any]) -> dict[str, Any]:
    """A stack's normalised template, constructs with a snapshot of their own stubbed."""
    result = normalise(template)

    def visit(node: IConstruct) -> bool:
        held_by = OWN_SNAPSHOTS.get(type(node).__name__) if _is_library_construct(node) else None
        if held_by is None:
            return False
        _stub(result, stack, node, held_by)
        return True

    _walk(stack, visit)
    return result


def construct_snapshot(
    stack: cdk.Stack, template: dict[str, Any], under_test: Iterable[IConstruct]
) -> dict[str, Any]:
    """A construct test's normalised template: ``under_test`` in full, the library
    constructs built around it stubbed."""
    result = normalise(template)
    subjects = {node.node.path for node in under_test}

    def visit(node: IConstruct) -> bool:
        if node.node.path in subjects:
            return True
        if not _is_library_construct(node):
            return False
        _stub(result, stack, node, OWN_SNAPSHOTS.get(type(node).__name__, IN_STACK_SNAPSHOTS))
        return True

    _walk(stack, visit)
    return result


def _path_hashes(source: cdk.Stack, target: cdk.Stack) -> dict[str, str]:
    """The 8-character path hash in CDK-generated names of each construct of ``source``,
    mapped to that of the construct at the same path in ``target``."""
    pairs: dict[str, str] = {}
    for node in source.node.find_all():
        if node is source:
            continue
        twin: IConstruct = target
        for part in node.node.path.removeprefix(source.node.path + "/").split("/"):
            twin = twin.node.find_child(part)
        # With two or more path components, a unique ID ends in the path's hash.
        before, after = cdk.Names.unique_id(node)[-8:], cdk.Names.unique_id(twin)[-8:]
        if before != after:
            pairs[before] = after
    return pairs


def renamed(
    template: dict[str, Any],
    names: Mapping[str, str],
    *,
    source: cdk.Stack,
    target: cdk.Stack,
) -> dict[str, Any]:
    """``template`` (of ``source``) with each of ``names`` replaced by its value, and the
    path hashes of ``source``'s constructs in generated names by those of ``target``'s.

    One pass, so no replacement is replaced again. Anything else that differs
    between the two stacks is left as it is, for the caller's comparison to find.
    """
    table = {**_path_hashes(source, target), **names}
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    text = pattern.sub(lambda m: table[m.group(0)], json.dumps(normalise(template)))
    result: dict[str, Any] = json.loads(text)
    return result


def differences(expected: dict[str, Any], actual: dict[str, Any], limit: int = 40) -> str:
    """The first lines of a unified diff of two templates, for an assertion message."""
    lines = difflib.unified_diff(
        json.dumps(expected, indent=1, sort_keys=True).splitlines(),
        json.dumps(actual, indent=1, sort_keys=True).splitlines(),
        "expected",
        "actual",
        lineterm="",
        n=1,
    )
    return "\n".join(list(lines)[:limit])


def snapshot_files() -> list[Path]:
    """Every file under a ``__snapshots__`` folder of the tests."""
    return sorted(p for p in TESTS.rglob("__snapshots__/**/*") if p.is_file())


def snapshot_test_files(folders: Iterable[Path]) -> set[Path]:
    """The snapshot file each test collected in ``folders`` would have, were it a snapshot test.

    pytest collects the tests (in a subprocess, so the IDs are pytest's own,
    parameters included); syrupy's JSON extension names a test's file
    ``<folder>/__snapshots__/<module>/<test name>.json``.
    """
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q"]
    command += ["-p", "no:cacheprovider", "-p", "no:syrupy"]
    command += sorted(str(f.relative_to(ROOT)) for f in folders)
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        msg = f"pytest could not collect {folders}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
        raise RuntimeError(msg)
    expected = set()
    for line in result.stdout.splitlines():
        if "::" not in line:
            continue
        module, _, name = line.partition("::")
        path = ROOT / module
        expected.add(path.parent / "__snapshots__" / path.stem / f"{name}.json")
    return expected


def stub_targets(files: Iterable[Path]) -> dict[Path, set[str]]:
    """Snapshot file -> the files its stubs say hold those constructs in full."""
    targets: dict[Path, set[str]] = {}
    for path in files:
        stubs = json.loads(path.read_text()).get("Stubs", {})
        targets[path] = {
            m.group(0) for text in stubs.values() for m in re.finditer(r"tests/\S+\.json", text)
        }
    return targets
