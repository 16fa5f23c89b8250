"""A grant target that writes a role's permissions into a customer-managed policy.

CDK's grant methods add statements to a role's inline ``DefaultPolicy``.
HIPAA, NIST 800-53 and PCI DSS rules (cdk-nag ``*-IAMNoInlinePolicy``) ask
for managed policies instead, which can be audited and versioned on their
own. Passing a :class:`ManagedPolicyPrincipal` as the grantee sends every
grant into one customer-managed policy attached to the role.
"""

from __future__ import annotations

import jsii
from aws_cdk import aws_iam as iam

from constructs import Construct, IDependable


@jsii.implements(iam.IPrincipal)
class ManagedPolicyPrincipal:
    """Acts as ``role`` for grants, but collects statements in a managed policy.

    :param scope: where the ``ManagedPolicy`` construct is added.
    :param construct_id: its construct ID.
    :param role: the role the policy is attached to.
    """

    def __init__(self, scope: Construct, construct_id: str, *, role: iam.IRole) -> None:
        self.role = role
        self.policy = iam.ManagedPolicy(
            scope,
            construct_id,
            description=f"Least-privilege permissions of {role.node.path}",
            roles=[role],
        )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """This object: grants made to it land in the managed policy."""
        return self

    @property
    def assume_role_action(self) -> str:
        """The role's assume-role action."""
        return self.role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        """The role as a principal in resource policies."""
        return self.role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        """The role's account."""
        return self.role.principal_account

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        """Add a statement to the managed policy."""
        return self.add_to_principal_policy(statement).statement_added

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        """Add a statement to the managed policy; dependents wait for the policy."""
        self.policy.add_statements(statement)
        dependable: IDependable = self.policy
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=dependable)
