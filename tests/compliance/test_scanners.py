"""checkov and the AWS Control Tower proactive-control rules as gates, like cdk-nag.

Each accepted finding is acknowledged in the template with a specific reason
(``Metadata.checkov.skip``, ``Metadata.guard.SuppressedRules``; see
``cdk_sagemaker_hosting.compliance``), and no acknowledgement may outlive its
finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.gates import (
    checkov,
    checkov_skips,
    guard_findings,
    guard_suppressions,
    without_metadata,
    write_templates,
)

#: A reason must say why, for this resource: not "n/a" or "false positive".
MIN_REASON = 60
#: What a failure message ends with: how to fix it or accept it.
FIX = (
    "\nFix the resource, or accept the finding where it is made: "
    "compliance.acknowledge(<construct>, '<why, for this resource>', "
    "checkov=['<check id>'] or guard=['<rule name>'])."
)


@pytest.fixture(scope="module")
def checkov_results(all_templates: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """checkov over the templates as synthesised, and with every skip removed."""
    as_built = checkov(write_templates(all_templates, tmp_path_factory.mktemp("checkov")))
    raw = checkov(
        write_templates(
            without_metadata(all_templates, "checkov"), tmp_path_factory.mktemp("checkov-raw")
        )
    )
    return as_built, raw


@pytest.fixture(scope="module")
def guard_results(
    all_templates: dict[str, Any], guard: Any, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[str, str, str]]:
    workdir = write_templates(all_templates, tmp_path_factory.mktemp("guard"))
    return guard_findings(guard, workdir, all_templates)


def test_no_unacknowledged_checkov_findings(
    all_templates: dict[str, Any], checkov_results: Any
) -> None:
    as_built, _ = checkov_results
    # Every skip in the templates was applied by checkov itself.
    assert sorted(checkov_skips(all_templates)) == as_built["skipped"]
    assert as_built["failed"] == [], "\n".join(map(str, as_built["failed"])) + FIX


def test_every_checkov_skip_silences_a_real_finding(
    all_templates: dict[str, Any], checkov_results: Any
) -> None:
    _, raw = checkov_results
    skips = checkov_skips(all_templates)
    assert skips, "expected the skips of the access-log buckets and handler functions"
    stale = sorted(set(skips) - set(raw["failed"]))
    assert stale == [], f"checkov skips with no finding behind them: {stale}"


def test_no_unacknowledged_control_tower_findings(
    all_templates: dict[str, Any], guard_results: list[tuple[str, str, str]]
) -> None:
    suppressed = guard_suppressions(all_templates)
    open_findings = [f for f in guard_results if f not in suppressed]
    assert open_findings == [], "\n".join(map(str, open_findings)) + FIX


def test_every_control_tower_suppression_silences_a_real_finding(
    all_templates: dict[str, Any], guard_results: list[tuple[str, str, str]]
) -> None:
    suppressed = guard_suppressions(all_templates)
    assert suppressed, "expected the suppressions of the access-log buckets"
    stale = sorted(set(suppressed) - set(guard_results))
    assert stale == [], f"guard suppressions with no finding behind them: {stale}"


def test_every_scanner_acknowledgement_has_a_specific_reason(
    all_templates: dict[str, Any],
) -> None:
    reasons = {**checkov_skips(all_templates), **guard_suppressions(all_templates)}
    thin = {k: r for k, r in reasons.items() if len(r) < MIN_REASON}
    assert thin == {}, f"reasons too thin (under {MIN_REASON} characters): {thin}"


def test_the_guard_gate_catches_what_it_must(guard: Any, tmp_path: Path) -> None:
    """The gate is live: a bucket without encryption and logging fails named rules."""
    template = {
        "Resources": {
            "Plain": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ],
                    }
                },
            },
        }
    }
    templates = {"plain": template}
    found = guard_findings(guard, write_templates(templates, tmp_path), templates)
    rules = {rule for _, rule, _ in found}
    assert {
        "s3_bucket_default_encryption_kms_check",
        "s3_bucket_logging_enabled_check",
        "kms_create_grant_aws_service_check",
    } <= rules


def test_the_checkov_gate_catches_what_it_must(tmp_path: Path) -> None:
    template = {"Resources": {"Plain": {"Type": "AWS::S3::Bucket", "Properties": {}}}}
    found = checkov(write_templates({"plain": template}, tmp_path))
    assert ("plain", "CKV_AWS_18", "Plain") in found["failed"]


def test_the_checkov_gate_refuses_a_template_it_cannot_read(tmp_path: Path) -> None:
    """checkov exits 0 on a template it cannot parse: the gate must not read that as clean."""
    (tmp_path / "broken.template.json").write_text('{"Resources": {"B": ')
    (tmp_path / "fine.template.json").write_text(
        '{"Resources": {"Plain": {"Type": "AWS::S3::Bucket", "Properties": {}}}}'
    )
    with pytest.raises(RuntimeError, match="checkov read"):
        checkov(tmp_path)
