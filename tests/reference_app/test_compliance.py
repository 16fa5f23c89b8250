"""Every stack of the reference app passes cfn-lint and five cdk-nag packs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import aws_cdk as cdk
import pytest

from tests.conftest import new_app
from tests.gates import PACKS, cfn_lint, nag_findings


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(reference_app: Any, pack: Any) -> None:
    app, _, _ = reference_app
    findings = nag_findings(app, pack)
    assert findings == [], "\n".join(findings)


def acknowledgements(scope: cdk.App) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every acknowledgement in the app."""
    return [
        (node.node.path, rule, reason)
        for node in scope.node.find_all()
        for entry in node.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule, reason in entry.data.items()
    ]


def rule_of(acknowledged_id: str) -> str:
    """The cdk-nag rule of a recorded acknowledgement ID."""
    return acknowledged_id.removeprefix("Annotation::")


def test_every_acknowledgement_names_a_pack_rule_and_a_specific_reason(
    reference_app: Any,
) -> None:
    app, _, _ = reference_app
    acks = acknowledgements(app)
    assert acks, "expected the acknowledgements of the access-log buckets and model roles"
    packs = ("AwsSolutions-", "HIPAA.Security-", "NIST.800.53.R5-", "PCI.DSS.321-", "Serverless-")
    for path, rule, reason in acks:
        assert rule_of(rule).startswith(packs), f"{path}: {rule!r} is not a cdk-nag pack rule"
        assert len(reason) >= 60, f"{path}: reason for {rule} is too thin: {reason!r}"


def test_no_acknowledgement_is_stale() -> None:
    """Each acknowledgement silences a finding that really occurs without it."""
    from stacks import add_reference_stacks

    with mock.patch.object(cdk.Validations, "acknowledge", lambda self, *rules: None):
        raw_app = new_app()
        add_reference_stacks(raw_app)
        raw_app.synth()
        raw = [
            (r.construct_path, v.rule_name)
            for pack in PACKS
            for v in pack(raw_app).validate_scope(raw_app).violations
            for r in v.violating_resources
        ]
    app = new_app()
    add_reference_stacks(app)
    # Acknowledgements of ARNs named by their synthesised form (another stack's
    # export, a resolved account) are added while the app is synthesised.
    app.synth()
    stale = [
        (path, rule)
        for path, rule, _ in acknowledgements(app)
        if not any(
            (found_path == path or found_path.startswith(path + "/"))
            and rule_of(rule) == found_rule
            for found_path, found_rule in raw
        )
    ]
    assert stale == []


def test_cfn_lint_is_clean(reference_templates: dict[str, Any], tmp_path: Path) -> None:
    found, stderr = cfn_lint(reference_templates, tmp_path)
    assert found == [], stderr
