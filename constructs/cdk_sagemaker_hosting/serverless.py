"""The Lambda functions and state machines of the library, built one secure way.

Every function runs the library's own handler code (``lambda/<function>/``)
on one runtime, traced with X-Ray, logging to a KMS-encrypted log group with
a retention; every state machine logs ALL events with execution data to a
KMS-encrypted log group and is traced. The cdk-nag findings these choices
leave are acknowledged here once, each with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import (
    Annotations,
    Arn,
    ArnComponents,
    ArnFormat,
    Duration,
    Names,
    RemovalPolicy,
    Stack,
    aws_lambda,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from cdk_sagemaker_hosting import compliance, lambda_code
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from constructs import Construct

LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def encryption_key(scope: Construct, construct_id: str, description: str) -> kms.Key:
    """A customer-managed key with rotation, kept when the stack goes."""
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )


def allow_logs_to_use_key(scope: Construct, key: kms.IKey, log_group_name: str) -> None:
    """Let CloudWatch Logs use ``key`` for the log group of that name only.

    An imported key's policy cannot be changed here: a warning says what to add.
    """
    stack = Stack.of(scope)
    arn = Arn.format(
        ArnComponents(
            service="logs",
            resource="log-group",
            resource_name=log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
        stack,
    )
    added = key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": arn}},
        )
    )
    if not added.statement_added:
        Annotations.of(scope).add_warning_v2(
            "cdk-sagemaker-hosting:ImportedKey",
            "the encryption key is imported, so its key policy cannot be changed here: allow "
            f"the CloudWatch Logs service to use it for log group {log_group_name}.",
        )


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    prefix: str,
    retention: logs.RetentionDays = LOG_RETENTION,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> logs.LogGroup:
    """A log group named ``<prefix><unique id>-<construct id>``, encrypted with ``key``.

    The key policy lets CloudWatch Logs use the key for this log group only
    (its name is fixed here so the policy can name it).
    """
    name = f"{prefix}{Names.unique_resource_name(scope, max_length=200, separator='-')}"
    name = f"{name}-{construct_id}"[:512]
    allow_logs_to_use_key(scope, key, name)
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        encryption_key=key,
        retention=retention,
        removal_policy=removal_policy,
    )


def handler_function(
    scope: Construct,
    construct_id: str,
    *,
    function: str,
    key: kms.IKey,
    description: str,
    timeout: Duration,
    environment: Mapping[str, str] | None = None,
    memory_size: int = 256,
    retention: logs.RetentionDays = LOG_RETENTION,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> tuple[aws_lambda.Function, ManagedPolicyPrincipal]:
    """A function running ``lambda/<function>/``, and the grantee of its permissions.

    Children: ``<id>`` (the function), ``<id>Role``, ``<id>RoleRef``, ``<id>Policy`` (a
    customer-managed policy: grant to the returned principal, never to the
    function, whose role takes no inline policy), ``<id>Logs`` (encrypted
    with ``key``). The function may write its own logs and X-Ray traces.
    """
    log_group = encrypted_log_group(
        scope,
        f"{construct_id}Logs",
        key=key,
        prefix="/aws/lambda/",
        retention=retention,
        removal_policy=removal_policy,
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Runs the {function} handler",
    )
    principal = ManagedPolicyPrincipal(scope, f"{construct_id}Policy", role=role)
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
    )
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]
        )
    )
    fn = aws_lambda.Function(
        scope,
        construct_id,
        runtime=lambda_code.RUNTIME,
        code=lambda_code.function_code(function),
        handler=lambda_code.handler(function),
        description=description,
        timeout=timeout,
        memory_size=memory_size,
        environment=dict(environment or {}),
        tracing=aws_lambda.Tracing.ACTIVE,
        log_group=log_group,
        # An immutable reference: grants to the function go nowhere, so
        # everything it may do is in the managed policy (no inline policy),
        # and the function depends on the role through its ARN only.
        role=iam.Role.from_role_arn(scope, f"{construct_id}RoleRef", role.role_arn, mutable=False),
    )
    # Its permissions must exist before it first runs.
    fn.node.add_dependency(principal.policy)
    compliance.acknowledge(
        principal.policy,
        "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource (AWS documents "
        "Resource '*' for them); the function's other permissions are scoped.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    compliance.acknowledge(
        fn,
        "The function calls only AWS APIs (SageMaker, CloudWatch, S3, SNS, EventBridge) and "
        "holds no data at rest; a VPC would add NAT or endpoints and no protection.",
        "HIPAA.Security-LambdaInsideVPC",
        "NIST.800.53.R5-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
    )
    compliance.acknowledge(
        fn,
        "Reserved concurrency would fail to deploy in accounts at the default limit of 10 "
        "concurrent executions; the function runs a few times per execution of its schedule "
        "or state machine.",
        "HIPAA.Security-LambdaConcurrency",
        "NIST.800.53.R5-LambdaConcurrency",
    )
    compliance.acknowledge(
        fn,
        "Invoked synchronously by a state machine, which records every failure in its "
        "execution history and ExecutionsFailed metric; an EventBridge rule's asynchronous "
        "invocation is retried by EventBridge and twice by Lambda, and its failure is logged.",
        "HIPAA.Security-LambdaDLQ",
        "NIST.800.53.R5-LambdaDLQ",
        "Serverless-LambdaDLQ",
    )
    return fn, principal


def logged_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    definition: sfn.IChainable,
    key: kms.IKey,
    timeout: Duration,
    comment: str,
    functions: Sequence[aws_lambda.IFunction] = (),
) -> tuple[sfn.StateMachine, ManagedPolicyPrincipal]:
    """A standard state machine, traced, logging ALL events, and the grantee of its permissions.

    Children: ``<id>`` (the state machine), ``<id>Role``, ``<id>RoleRef``, ``<id>Policy``
    (customer-managed: it may invoke exactly ``functions``, deliver its logs
    and write X-Ray traces; grant more to the returned principal),
    ``<id>Logs`` (encrypted with ``key``).
    """
    log_group = encrypted_log_group(
        scope, f"{construct_id}Logs", key=key, prefix="/aws/vendedlogs/states/"
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
        description=f"Runs the state machine {scope.node.path}/{construct_id}",
    )
    principal = ManagedPolicyPrincipal(scope, f"{construct_id}Policy", role=role)
    if functions:
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in functions]
            )
        )
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            # What Step Functions needs to deliver logs to CloudWatch Logs and
            # traces to X-Ray: AWS documents no resource-level permissions.
            actions=[
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
            ],
            resources=["*"],
        )
    )
    machine = sfn.StateMachine(
        scope,
        construct_id,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        comment=comment,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
        role=iam.Role.from_role_arn(scope, f"{construct_id}RoleRef", role.role_arn, mutable=False),
    )
    machine.node.add_dependency(principal.policy)
    compliance.acknowledge(
        principal.policy,
        "Log delivery (logs:CreateLogDelivery and the rest) and X-Ray take no resource: AWS "
        "documents Resource '*' for them; the state machine's other permissions are scoped.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    return machine, principal
