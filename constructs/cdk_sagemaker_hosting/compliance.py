"""Acknowledging scanner findings: one way, with the rule and a reason, everywhere.

Four independent scanners read what the library synthesises: cdk-nag (at
synth), checkov and the AWS Control Tower proactive-control rules in
cfn-guard (over the templates), and the IAM policy linter parliament (over
every policy document in them). A finding the library accepts is
acknowledged once, with one reason, in each tool's own format:

* cdk-nag: :meth:`aws_cdk.Validations.acknowledge` on the construct;
* checkov: ``Metadata.checkov.skip`` entries (``id`` and ``comment``) on the
  CloudFormation resource, which checkov honours itself;
* cfn-guard: ``Metadata.guard.SuppressedRules`` (the guard rule names) on the
  resource, with the reasons under ``Metadata.guard.Reasons``. The Control
  Tower rules do not read that key: a gate that runs them (ours,
  ``tests/compliance``) filters on it, and an organisation that enforces the
  same control as a CloudFormation hook is not bound by it, which the README
  says per control;
* parliament: ``Metadata.parliament.Ignore`` entries (``issue``, the finding
  type such as ``RESOURCE_STAR``, and ``reason``) on the resource that holds
  the policy document (managed policy, key, bucket policy...). parliament
  lints bare policy documents and never sees the key; the gate that runs it
  (``tests/compliance``) filters on it, per resource and finding type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import jsii
from aws_cdk import Acknowledgment, CfnResource, Stack, Validations

from constructs import IConstruct, IValidation

#: The metadata keys of the template scanners.
CHECKOV_METADATA = "checkov"
GUARD_METADATA = "guard"
PARLIAMENT_METADATA = "parliament"


def acknowledge(
    scope: IConstruct,
    reason: str,
    *rules: str,
    checkov: Iterable[str] = (),
    guard: Iterable[str] = (),
    parliament: Iterable[str] = (),
) -> None:
    """Acknowledge cdk-nag ``rules`` on ``scope`` and its children, for ``reason``.

    Rules are named as cdk-nag 3 reports them, ``<pack>-<rule>[<finding>]``,
    e.g. ``AwsSolutions-IAM5[Resource::*]``: cdk-nag matches that plain ID
    (aws-cdk-lib records it with an ``Annotation::`` prefix, which cdk-nag strips).
    ``checkov`` check IDs, ``guard`` rule names and ``parliament`` finding
    types are acknowledged for the same reason on ``scope``'s CloudFormation
    resource (see :func:`acknowledge_in_template`).
    """
    if rules:
        Validations.of(scope).acknowledge(
            *(Acknowledgment(id=rule, reason=reason) for rule in rules)
        )
    checkov, guard, parliament = tuple(checkov), tuple(guard), tuple(parliament)
    if checkov or guard or parliament:
        acknowledge_in_template(scope, reason, checkov=checkov, guard=guard, parliament=parliament)


def cfn_resource(scope: IConstruct) -> CfnResource:
    """``scope`` itself when it is a CloudFormation resource, else its default child."""
    if isinstance(scope, CfnResource):
        return scope
    child = scope.node.default_child
    if isinstance(child, CfnResource):
        return child
    msg = f"{scope.node.path} is not a CloudFormation resource and has no default child that is"
    raise TypeError(msg)


def acknowledge_in_template(
    scope: IConstruct,
    reason: str,
    *,
    checkov: Iterable[str] = (),
    guard: Iterable[str] = (),
    parliament: Iterable[str] = (),
) -> None:
    """Record ``checkov``, ``guard`` and ``parliament`` acknowledgements on ``scope``'s resource.

    The entries are merged with any already there; acknowledging the same
    checkov check or guard rule twice keeps the first reason. A parliament
    finding type can be acknowledged for several reasons (one policy
    document collects statements from several grants): each distinct
    reason is an entry of its own.
    """
    acknowledge_findings(
        scope,
        checkov=dict.fromkeys(checkov, reason),
        guard=dict.fromkeys(guard, reason),
        parliament=[(issue, reason) for issue in dict.fromkeys(parliament)],
    )


def acknowledge_findings(
    scope: IConstruct,
    *,
    checkov: Mapping[str, str] | None = None,
    guard: Mapping[str, str] | None = None,
    parliament: Iterable[tuple[str, str]] = (),
) -> None:
    """Several template acknowledgements, each with its own reason, written once per tool.

    ``checkov`` and ``guard`` map a check or rule to its reason, ``parliament``
    lists (finding type, reason) pairs. The same merge rules as
    :func:`acknowledge_in_template`, whose one-reason form this is the batch
    of: each tool's metadata is read and written once (a construct that
    accepts several findings pays two jsii round trips per tool, not per
    finding).
    """
    resource = cfn_resource(scope)
    parliament = list(parliament)
    if checkov:
        entry = dict(resource.get_metadata(CHECKOV_METADATA) or {})
        skips = list(entry.get("skip", []))
        known = {s["id"] for s in skips}
        skips += [{"id": c, "comment": r} for c, r in checkov.items() if c not in known]
        resource.add_metadata(CHECKOV_METADATA, {**entry, "skip": skips})
    if guard:
        entry = dict(resource.get_metadata(GUARD_METADATA) or {})
        suppressed = list(entry.get("SuppressedRules", []))
        reasons = dict(entry.get("Reasons", {}))
        for rule, reason in guard.items():
            if rule not in suppressed:
                suppressed.append(rule)
                reasons[rule] = reason
        resource.add_metadata(
            GUARD_METADATA, {**entry, "SuppressedRules": suppressed, "Reasons": reasons}
        )
    if parliament:
        entry = dict(resource.get_metadata(PARLIAMENT_METADATA) or {})
        ignored = list(entry.get("Ignore", []))
        for issue, reason in parliament:
            if {"issue": issue, "reason": reason} not in ignored:
                ignored.append({"issue": issue, "reason": reason})
        resource.add_metadata(PARLIAMENT_METADATA, {**entry, "Ignore": ignored})


def flatten_reference(value: Any) -> str:  # noqa: PLR0911 - one return per intrinsic
    """A resolved CloudFormation value as cdk-nag names it in a finding.

    The same flattening as cdk-nag's ``flattenCfnReference``: ``Ref`` becomes
    ``<Id>``, ``Fn::GetAtt`` ``<Id.Attr>``, ``Fn::ImportValue`` its export
    name, ``Fn::Join`` its parts joined, ``${X}`` in strings ``<X>``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(flatten_reference(item) for item in items)
        if "Fn::Sub" in value:
            return flatten_reference(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if "Fn::ImportValue" in value:
            return flatten_reference(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{flatten_reference(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


@jsii.implements(IValidation)
class _AcknowledgeResolved:
    def __init__(self, scope: IConstruct, reason: str, rule: str, resource: str) -> None:
        self._scope = scope
        self._reason = reason
        self._rule = rule
        self._resource = resource

    def validate(self) -> list[str]:
        finding = flatten_reference(Stack.of(self._scope).resolve(self._resource))
        acknowledge(self._scope, self._reason, f"{self._rule}[Resource::{finding}]")
        return []


def acknowledge_resource(scope: IConstruct, reason: str, rule: str, resource: str) -> None:
    """Acknowledge ``rule`` for one resource ARN on ``scope``, named as cdk-nag will name it.

    The finding (``<rule>[Resource::<flattened ARN>]``) depends on where the
    ARN's parts live: a ``GetAtt`` in the same stack, an export of another
    stack, a literal. It is worked out once the app's cross-stack references
    are resolved (construct validation runs after that), so no app writes
    generated export names into its acknowledgements.
    """
    scope.node.add_validation(_AcknowledgeResolved(scope, reason, rule, resource))
