"""Acknowledging cdk-nag findings: one way, with the rule and a reason, everywhere."""

from __future__ import annotations

import json
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations

from constructs import IConstruct, IValidation


def acknowledge(scope: IConstruct, reason: str, *rules: str) -> None:
    """Acknowledge cdk-nag ``rules`` on ``scope`` and its children, for ``reason``.

    Rules are named as cdk-nag 3 reports them, ``<pack>-<rule>[<finding>]``,
    e.g. ``AwsSolutions-IAM5[Resource::*]``: cdk-nag matches that plain ID
    (aws-cdk-lib records it with an ``Annotation::`` prefix, which cdk-nag strips).
    """
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule, reason=reason) for rule in rules))


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
