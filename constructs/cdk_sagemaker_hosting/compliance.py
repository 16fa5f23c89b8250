"""Acknowledging cdk-nag findings: one way, with the rule and a reason, everywhere."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations

from constructs import IConstruct


def acknowledge(scope: IConstruct, reason: str, *rules: str) -> None:
    """Acknowledge cdk-nag ``rules`` on ``scope`` and its children, for ``reason``.

    Rules are named as cdk-nag 3 reports them, ``<pack>-<rule>[<finding>]``,
    e.g. ``AwsSolutions-IAM5[Resource::*]``: cdk-nag matches that plain ID
    (aws-cdk-lib records it with an ``Annotation::`` prefix, which cdk-nag strips).
    """
    Validations.of(scope).acknowledge(*(Acknowledgment(id=rule, reason=reason) for rule in rules))
