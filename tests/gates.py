"""The compliance gates every synthesised app passes: cdk-nag packs and cfn-lint."""

from __future__ import annotations

import json
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
