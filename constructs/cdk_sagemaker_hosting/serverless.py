"""The Lambda functions, state machines and their plumbing, built one secure way.

Every function runs the library's own handler code (``lambda/<function>/``)
on one runtime, traced with X-Ray, logging to a KMS-encrypted log group with
a retention; every state machine logs ALL events with execution data to a
KMS-encrypted log group and is traced. Schedules, dead-letter queues, their
alarms and alarm topics are KMS-encrypted the same way everywhere. The
cdk-nag findings these choices leave are acknowledged here once, each with
its reason. Every helper takes the construct IDs it creates: they are the
public contract of the construct calling it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

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
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from cdk_sagemaker_hosting import compliance, lambda_code
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from constructs import Construct

LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def encryption_key(
    scope: Construct,
    construct_id: str,
    description: str,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> kms.Key:
    """A customer-managed key with rotation, by default kept when the stack goes."""
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
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
    name_suffix: str | None = None,
) -> logs.LogGroup:
    """A log group named ``<prefix><unique id><name_suffix>``, encrypted with ``key``.

    ``name_suffix`` defaults to ``-<construct id>``. The key policy lets
    CloudWatch Logs use the key for this log group only (its name is fixed
    here so the policy can name it).
    """
    suffix = f"-{construct_id}" if name_suffix is None else name_suffix
    name = f"{prefix}{Names.unique_resource_name(scope, max_length=200, separator='-')}"
    name = f"{name}{suffix}"[:512]
    allow_logs_to_use_key(scope, key, name)
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        encryption_key=key,
        retention=retention,
        removal_policy=removal_policy,
    )


def _managed_role(
    scope: Construct, prefix: str, service: iam.ServicePrincipal, *, description: str
) -> tuple[iam.Role, ManagedPolicyPrincipal, iam.IRole]:
    """``<prefix>Role``, its ``<prefix>Policy`` and the ``<prefix>RoleRef`` to hand the resource.

    The reference is immutable: the CDK's own statements for the resource
    (often broader) go nowhere, so everything it may do is in the managed
    policy (no inline policy), and the resource depends on the role through
    its ARN only.
    """
    role = iam.Role(scope, f"{prefix}Role", assumed_by=service, description=description)
    principal = ManagedPolicyPrincipal(scope, f"{prefix}Policy", role=role)
    ref = iam.Role.from_role_arn(scope, f"{prefix}RoleRef", role.role_arn, mutable=False)
    return role, principal, ref


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
    _, principal, role_ref = _managed_role(
        scope,
        construct_id,
        iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Runs the {function} handler",
    )
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
        role=role_ref,
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


class LoggedStateMachine(NamedTuple):
    """What :func:`logged_state_machine` builds."""

    state_machine: sfn.StateMachine
    #: Grant the state machine's permissions to this (its managed policy).
    principal: ManagedPolicyPrincipal
    role: iam.Role
    log_group: logs.LogGroup


def logged_state_machine(
    scope: Construct,
    construct_id: str,
    *,
    definition: sfn.IChainable,
    key: kms.IKey,
    timeout: Duration,
    comment: str,
    functions: Sequence[aws_lambda.IFunction] = (),
    statements: Sequence[iam.PolicyStatement] = (),
    state_machine_name: str | None = None,
    role_description: str | None = None,
    trust_account_only: bool = False,
    id_prefix: str | None = None,
    log_group_id: str | None = None,
    log_name_suffix: str | None = None,
    retention: logs.RetentionDays = LOG_RETENTION,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
) -> LoggedStateMachine:
    """A standard state machine, traced, logging ALL events, and the grantee of its permissions.

    Children: ``<id>`` (the state machine), ``<prefix>Role``, ``<prefix>RoleRef``,
    ``<prefix>Policy`` (customer-managed: it may invoke exactly ``functions``,
    holds ``statements``, may deliver its logs and write X-Ray traces; grant
    more to the returned principal), and ``log_group_id`` (default
    ``<prefix>Logs``, encrypted with ``key``, named as
    :func:`encrypted_log_group` says). ``<prefix>`` is ``id_prefix``, by
    default ``<id>``. ``trust_account_only`` lets Step Functions assume the
    role for this account only (``aws:SourceAccount``).
    """
    prefix = construct_id if id_prefix is None else id_prefix
    log_group = encrypted_log_group(
        scope,
        log_group_id or f"{prefix}Logs",
        key=key,
        # Vended-logs prefix: Step Functions' log delivery keeps the account's
        # CloudWatch Logs resource policy small for groups under it.
        prefix="/aws/vendedlogs/states/",
        retention=retention,
        removal_policy=removal_policy,
        name_suffix=log_name_suffix,
    )
    role, principal, role_ref = _managed_role(
        scope,
        prefix,
        iam.ServicePrincipal(
            "states.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}}
            if trust_account_only
            else None,
        ),
        description=role_description or f"Runs the state machine {scope.node.path}/{construct_id}",
    )
    if functions:
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in functions]
            )
        )
    for statement in statements:
        principal.add_to_principal_policy(statement)
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
        state_machine_name=state_machine_name,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        comment=comment,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
        role=role_ref,
    )
    machine.node.add_dependency(principal.policy)
    compliance.acknowledge(
        principal.policy,
        "Log delivery (logs:CreateLogDelivery and the rest) and X-Ray take no resource: AWS "
        "documents Resource '*' for them; the state machine's other permissions are scoped.",
        "AwsSolutions-IAM5[Resource::*]",
    )
    return LoggedStateMachine(machine, principal, role, log_group)


def encrypted_topic(scope: Construct, construct_id: str, key: kms.IKey) -> sns.Topic:
    """A TLS-only topic encrypted with ``key``, to which CloudWatch alarms may publish.

    An imported key's policy cannot be changed here: a warning says what to add.
    """
    added = key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )
    if not added.statement_added:
        Annotations.of(scope).add_warning_v2(
            "cdk-sagemaker-hosting:ImportedKey",
            "the encryption key is imported, so its key policy cannot be changed here: allow "
            f"CloudWatch (cloudwatch.amazonaws.com) to use it for the alarm topic {construct_id}.",
        )
    return sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)


def dead_letter_queue(
    scope: Construct, construct_id: str, *, key: kms.IKey, dead_letter_of: str
) -> sqs.Queue:
    """A TLS-only queue encrypted with ``key``, into which EventBridge may write events.

    ``dead_letter_of`` says whose dead letters it holds (e.g. "the schedule's
    EventBridge target"), for the acknowledgement that it has no queue of its
    own; give it an alarm (:func:`dead_letter_alarm`).
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            # Not a rule's ARN: a rule may depend on the key (through its
            # target), which would make a cycle.
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        )
    )
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    compliance.acknowledge(
        queue,
        f"This queue is itself the dead-letter queue of {dead_letter_of}; an alarm notifies "
        "on any message in it, so it needs no queue of its own.",
        "AwsSolutions-SQS3",
        "Serverless-SQSRedrivePolicy",
    )
    return queue


def _alarm(
    scope: Construct,
    construct_id: str,
    metric: cloudwatch.IMetric,
    topic: sns.ITopic,
    description: str,
) -> cloudwatch.Alarm:
    """An alarm, notifying ``topic``, on ``metric`` reaching 1 in one period (none: OK)."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarm


def dead_letter_alarm(
    scope: Construct,
    construct_id: str,
    *,
    queue: sqs.IQueue,
    topic: sns.ITopic,
    description: str,
) -> cloudwatch.Alarm:
    """An alarm, notifying ``topic``, on any message in ``queue`` (maximum over 5 minutes)."""
    metric = queue.metric_approximate_number_of_messages_visible(
        period=Duration.minutes(5), statistic="Maximum"
    )
    return _alarm(scope, construct_id, metric, topic, description)


def failed_executions_alarm(
    scope: Construct,
    construct_id: str,
    *,
    state_machine: sfn.IStateMachine,
    topic: sns.ITopic,
    label: str,
    description: str,
) -> cloudwatch.Alarm:
    """An alarm, notifying ``topic``, on any execution failed, timed out or aborted (5 minutes)."""
    period = Duration.minutes(5)
    metric = cloudwatch.MathExpression(
        expression="FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
        using_metrics={
            "failed": state_machine.metric_failed(period=period),
            "timedOut": state_machine.metric_timed_out(period=period),
            "aborted": state_machine.metric_aborted(period=period),
        },
        label=label,
        period=period,
    )
    return _alarm(scope, construct_id, metric, topic, description)


def scheduled_execution(
    scope: Construct,
    construct_id: str,
    *,
    state_machine: sfn.IStateMachine,
    schedule: events.Schedule,
    key: kms.IKey,
    dead_letter_queue_id: str,
    description: str,
    role_description: str,
    enabled: bool | None = None,
    rule_input: events.RuleTargetInput | None = None,
) -> tuple[events.Rule, sqs.Queue]:
    """A rule starting ``state_machine`` on ``schedule``, and its dead-letter queue.

    Children: ``<id>`` (the rule), ``<id>Role`` (assumed by EventBridge),
    ``<id>Policy`` (it may start ``state_machine`` only), and
    ``dead_letter_queue_id`` (:func:`dead_letter_queue`: events EventBridge
    could not deliver, i.e. runs that never started).
    """
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        description=role_description,
        assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
    )
    state_machine.grant_start_execution(
        ManagedPolicyPrincipal(scope, f"{construct_id}Policy", role=role)
    )
    rule = events.Rule(
        scope, construct_id, schedule=schedule, enabled=enabled, description=description
    )
    queue = dead_letter_queue(
        scope,
        dead_letter_queue_id,
        key=key,
        dead_letter_of="the schedule's EventBridge target",
    )
    rule.add_target(
        targets.SfnStateMachine(
            state_machine,
            input=rule_input,
            role=role.without_policy_updates(),
            dead_letter_queue=queue,
        )
    )
    return rule, queue
