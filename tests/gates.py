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
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    matches = json.loads(result.stdout or "[]")
    found = [(Path(m["Filename"]).name, m["Rule"]["Id"], m["Message"]) for m in matches]
    return found, result.stderr
