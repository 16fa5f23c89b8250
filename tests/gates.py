"""The compliance gates every synthesised app passes.

cdk-nag's five packs (at synth), cfn-lint, checkov and the AWS Control Tower
proactive-control rules in cfn-guard (over the templates).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag

#: The cdk-nag packs of the project's gate.
PACKS = [
    cdk_nag.AwsSolutionsChecks,
    cdk_nag.HIPAASecurityChecks,
    cdk_nag.NIST80053R5Checks,
    cdk_nag.PCIDSS321Checks,
    cdk_nag.ServerlessChecks,
]


def nag_findings(app: cdk.App, pack: Any) -> list[str]:
    """Unacknowledged findings of one pack, as ``rule at construct path``."""
    return sorted(
        f"{v.rule_name} at {r.construct_path}"
        for v in pack(app).validate_scope(app).violations
        for r in v.violating_resources
    )


def cfn_lint(templates: dict[str, Any], workdir: Path) -> tuple[list[tuple[str, str, str]], str]:
    """cfn-lint's errors and warnings over the templates: (file, rule, message), and stderr."""
    paths = []
    for name, template in templates.items():
        path = workdir / f"{name}.template.json"
        path.write_text(json.dumps(template))
        paths.append(str(path))
    # The cfn-lint script of this venv (cfn-lint has no ``python -m`` entry point).
    executable = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(executable), "--format", "json", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit codes are bit flags: 2 errors, 4 warnings, 8 informational; 1 (or
    # anything else) means cfn-lint itself failed, which must never pass.
    if result.returncode & ~0b1110 or not result.stdout.strip().startswith("["):
        msg = f"cfn-lint did not run (exit {result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    matches = json.loads(result.stdout)
    found = [(Path(m["Filename"]).name, m["Rule"]["Id"], m["Message"]) for m in matches]
    return found, result.stderr


# --- Template scanners: checkov and the AWS Control Tower guard rules ---------------------------

#: The scanners' own virtualenv (checkov downgrades packages of ours, so it lives apart).
SCANNERS_VENV = Path(__file__).resolve().parents[1] / ".scanners"


def write_templates(templates: dict[str, Any], workdir: Path) -> Path:
    """Write ``templates`` as ``<name>.template.json`` files into ``workdir``, and return it."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, template in templates.items():
        (workdir / f"{name}.template.json").write_text(json.dumps(template, indent=1))
    return workdir


def without_metadata(templates: dict[str, Any], key: str) -> dict[str, Any]:
    """Copies of ``templates`` with ``Metadata.<key>`` removed from every resource."""
    stripped = json.loads(json.dumps(templates))
    for template in stripped.values():
        for resource in template.get("Resources", {}).values():
            resource.get("Metadata", {}).pop(key, None)
    return stripped


def _scanner(name: str) -> Path:
    executable = SCANNERS_VENV / "bin" / name
    if not executable.exists():
        msg = f"{executable} is missing: run `make scanners` (make test does) to install it"
        raise RuntimeError(msg)
    return executable


def checkov(workdir: Path) -> dict[str, list[tuple[str, str, str]]]:
    """checkov over the templates in ``workdir``, offline.

    Returns ``{"failed": [...], "skipped": [...]}``, each a sorted list of
    ``(template, check id, resource logical ID)``; checkov honours the
    templates' ``Metadata.checkov.skip`` entries itself.
    """
    result = subprocess.run(
        [
            str(_scanner("checkov")),
            "--directory",
            str(workdir),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        # Offline: no mapping download from the Prisma Cloud platform.
        env={"PATH": "/usr/bin:/bin", "BC_SKIP_MAPPING": "TRUE", "HOME": str(workdir)},
    )
    # Exit 1 means failed checks; anything else but 0 means checkov did not run.
    if result.returncode not in (0, 1) or not result.stdout.strip():
        msg = f"checkov did not run (exit {result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    found: dict[str, list[tuple[str, str, str]]] = {"failed": [], "skipped": []}
    for report in reports:
        for kind, rows in found.items():
            for check in report.get("results", {}).get(f"{kind}_checks", []):
                rows.append(
                    (
                        Path(check["file_path"]).name.removesuffix(".template.json"),
                        check["check_id"],
                        check["resource"].split(".", 1)[1],
                    )
                )
    return {kind: sorted(rows) for kind, rows in found.items()}


def control_tower_rules(workdir: Path) -> tuple[Path, Path]:
    """cfn-guard and the Control Tower rules bundled in ``cdklabs-cdk-validator-cfnguard``.

    Unpacked from the package's jsii tarball into ``workdir``: (binary, rules directory).
    """
    import platform
    import tarfile
    from importlib import resources

    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[
        platform.machine().lower()
    ]
    jsii = resources.files("cdklabs.cdk_validator_cfnguard") / "_jsii"
    (tarball,) = [p for p in jsii.iterdir() if p.name.endswith(".jsii.tgz")]
    binary = f"package/bin/ubuntu/{arch}/cfn-guard"
    with resources.as_file(tarball) as path, tarfile.open(path) as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.name == binary or m.name.startswith("package/rules/control-tower/cfn-guard/")
        ]
        archive.extractall(workdir, members=members, filter="data")
    executable = workdir / binary
    executable.chmod(0o755)
    return executable, workdir / "package/rules/control-tower/cfn-guard"


def guard_findings(
    guard: tuple[Path, Path], workdir: Path, templates: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """Control Tower rule failures over the templates: (template, rule name, logical ID).

    cfn-guard reports a failing rule per template with the JSON paths it
    checked; each ``/Resources/<id>/...`` path under a failing rule is a
    failing resource. Suppressions are not applied here (the rules do not
    read ``Metadata.guard``): see :func:`unsuppressed`.
    """
    executable, rules = guard
    result = subprocess.run(
        [
            str(executable),
            "validate",
            "--rules",
            str(rules),
            "--data",
            str(workdir),
            "--output-format",
            "json",
            "--show-summary",
            "none",
            "--structured",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit 19 means rules failed; 0 none; anything else: guard itself failed.
    if result.returncode not in (0, 19) or not result.stdout.strip().startswith("["):
        msg = f"cfn-guard did not run (exit {result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    found = set()
    for report in json.loads(result.stdout):
        name = Path(report["name"]).name.removesuffix(".template.json")
        for rule in report.get("not_compliant", []):
            for logical_id in re.findall(r'"/Resources/([^/"\[]+)', json.dumps(rule)):
                if logical_id in templates[name].get("Resources", {}):
                    found.add((name, rule["Rule"]["name"], logical_id))
    return sorted(found)


def guard_suppressions(templates: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """``Metadata.guard`` suppressions: (template, rule, logical ID) -> reason."""
    found = {}
    for name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            entry = resource.get("Metadata", {}).get("guard", {})
            reasons = entry.get("Reasons", {})
            for rule in entry.get("SuppressedRules", []):
                found[(name, rule, logical_id)] = reasons.get(rule, "")
    return found


def checkov_skips(templates: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """``Metadata.checkov.skip`` entries: (template, check id, logical ID) -> comment."""
    found = {}
    for name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                found[(name, skip["id"], logical_id)] = skip.get("comment", "")
    return found
