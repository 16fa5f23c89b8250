"""Lambda functions and Step Functions workflows: the library's plumbing, built one secure way.

:class:`Workflow` is the building block of every construct that runs a
state machine (:class:`~cdk_sagemaker_hosting.drift.DriftMonitor`,
:class:`~cdk_sagemaker_hosting.batch_transform.ScheduledBatchTransform`,
:class:`~cdk_sagemaker_hosting.traffic_shift.TrafficShift`): a KMS key with
rotation (or yours), an encrypted TLS-only alarm topic (or yours), a state
machine that logs ALL events with execution data to an encrypted log group
and is traced, with a customer-managed policy and an alarm on failed, timed
out or aborted executions, a Lambda function running the library's own
handler code, an optional EventBridge schedule, and an encrypted dead-letter
queue with an alarm. The same props (``encryption_key``, ``topic``,
``removal_policy``, ``log_retention``) and attribute names mean the same
thing in each.

The functions below are the pieces, also used by the endpoint (its log
groups) and its monitoring (its topic). The cdk-nag findings these choices
leave are acknowledged here once, each with its reason. Every piece takes
the construct IDs it creates: they are the public contract of the construct
calling it.

A construct that runs a handler checks its props with the handler's own
request or configuration type (``lambda/<function>/``), so the construct and
its function hold one set of rules; :func:`refuse` turns the handler's
problems into a :class:`~cdk_sagemaker_hosting.validation.ValidationError`
naming the construct's path and property.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, Protocol

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
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from cdk_sagemaker_hosting import compliance, lambda_code, validation
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess
from cdk_sagemaker_hosting.encryption import (
    allow_logs_to_use_key,
    allow_service,
    encrypted_topic,
)

# Under a name the ``encryption_key`` props do not hide.
from cdk_sagemaker_hosting.encryption import encryption_key as _new_key
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from constructs import Construct, IConstruct

__all__ = [
    "LOG_RETENTION",
    "HandlerProblem",
    "LoggedStateMachine",
    "Workflow",
    "check_map_and_function",
    "check_schedule",
    "dead_letter_alarm",
    "dead_letter_queue",
    "distributed_map_statements",
    "encrypted_log_group",
    "executions_arn",
    "expire_scratch",
    "failed_executions_alarm",
    "function_step",
    "grant_distributed_maps",
    "grant_metrics_and_events",
    "handler_function",
    "logged_state_machine",
    "manifest_map",
    "rate_seconds",
    "refuse",
    "same_bucket",
    "scratch_rule",
    "variant_alarms",
    "verdict_rule",
    "warn_of_unknown_keys",
    "warn_of_window_schedule",
    "window_metric",
]

LOG_RETENTION = logs.RetentionDays.ONE_YEAR


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
    scope: Construct,
    prefix: str,
    service: iam.ServicePrincipal,
    *,
    description: str,
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
        checkov=["CKV_AWS_117"],
        guard=["lambda_inside_vpc_check"],
    )
    compliance.acknowledge(
        fn,
        "Reserved concurrency would fail to deploy in accounts at the default limit of 10 "
        "concurrent executions; the function runs a few times per execution of its schedule "
        "or state machine.",
        "HIPAA.Security-LambdaConcurrency",
        "NIST.800.53.R5-LambdaConcurrency",
        checkov=["CKV_AWS_115"],
    )
    compliance.acknowledge(
        fn,
        "Invoked synchronously by a state machine, which records every failure in its "
        "execution history and ExecutionsFailed metric; an EventBridge rule's asynchronous "
        "invocation is retried by EventBridge and twice by Lambda, and its failure is logged.",
        "HIPAA.Security-LambdaDLQ",
        "NIST.800.53.R5-LambdaDLQ",
        "Serverless-LambdaDLQ",
        checkov=["CKV_AWS_116"],
    )
    compliance.acknowledge(
        fn,
        "The environment holds resource names and ARNs only, never secrets, and Lambda "
        "encrypts it at rest with its own key (AWS managed) by default; a customer-managed "
        "key would add a KMS grant per function and protect nothing secret.",
        checkov=["CKV_AWS_173"],
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
    id_prefix: str | None = None,
    log_group_id: str | None = None,
    retention: logs.RetentionDays = LOG_RETENTION,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    include_execution_data: bool = True,
) -> LoggedStateMachine:
    """A standard state machine, traced, logging ALL events, and the grantee of its permissions.

    Children: ``<id>`` (the state machine), ``<prefix>Role`` (Step Functions
    may assume it for this account only, ``aws:SourceAccount``),
    ``<prefix>RoleRef``, ``<prefix>Policy`` (customer-managed: it may invoke
    exactly ``functions``, holds ``statements``, may deliver its logs and
    write X-Ray traces; grant more to the returned principal), and
    ``log_group_id`` (default ``<prefix>Logs``, encrypted with ``key``, named
    as :func:`encrypted_log_group` says). ``<prefix>`` is ``id_prefix``, by
    default ``<id>``. ``include_execution_data=False`` keeps the states'
    input and output out of the logs (for executions that carry secrets).
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
    )
    role, principal, role_ref = _managed_role(
        scope,
        prefix,
        iam.ServicePrincipal(
            "states.amazonaws.com",
            # The confused-deputy guard: only executions in this account.
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
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
            destination=log_group,
            level=sfn.LogLevel.ALL,
            include_execution_data=include_execution_data,
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
    compliance.acknowledge(
        principal.policy,
        "logs:PutResourcePolicy is in the set AWS documents for a state machine's log "
        "delivery: CloudWatch Logs' vended delivery writes the log group's resource policy "
        "with the caller's permissions; the action has no resource-level permission.",
        parliament=["PERMISSIONS_MANAGEMENT_ACTIONS"],
    )
    return LoggedStateMachine(machine, principal, role, log_group)


def dead_letter_queue(
    scope: Construct, construct_id: str, *, key: kms.IKey, dead_letter_of: str
) -> sqs.Queue:
    """A TLS-only queue encrypted with ``key``, into which EventBridge may write events.

    ``dead_letter_of`` says whose dead letters it holds (e.g. "the schedule's
    EventBridge target"), for the acknowledgement that it has no queue of its
    own; give it an alarm (:func:`dead_letter_alarm`). An imported key's
    policy cannot be changed here: a warning says what to add.
    """
    allow_service(
        scope,
        key,
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            # Not a rule's ARN: a rule may depend on the key (through its
            # target), which would make a cycle.
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        ),
        f"EventBridge (events.amazonaws.com) to use it for the dead-letter queue {construct_id}",
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
        guard=["sqs_dlq_check"],
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


# --- schedules --------------------------------------------------------------------

_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
#: A cron expression's fields: minutes hours day-of-month month day-of-week year.
_CRON_FIELDS = 6


def check_schedule(scope: IConstruct, prop: str, schedule: object) -> None:
    """An ``events.Schedule`` whose expression EventBridge accepts.

    ``rate(...)`` takes a positive whole number and a unit that is singular
    for 1 and plural otherwise; ``cron(...)`` has six fields, exactly one of
    day-of-month and day-of-week being ``?`` (EventBridge's schedule
    expression rules). Expressions known only at deploy time pass.
    """
    validation.check_type(scope, prop, schedule, events.Schedule, "an events.Schedule")
    assert isinstance(schedule, events.Schedule)
    expression = schedule.expression_string
    if validation.is_token(expression):
        return
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1 or (value == 1) == unit.endswith("s"):
            validation.fail(
                scope,
                prop,
                expression,
                "a rate is a positive whole number with a unit that is singular for 1 "
                "(rate(1 day)) and plural otherwise (rate(7 days))",
            )
        return
    cron = _CRON.match(expression)
    if cron:
        fields = cron["fields"].split()
        if len(fields) == _CRON_FIELDS and (fields[2] == "?") != (fields[4] == "?"):
            return
        validation.fail(
            scope,
            prop,
            expression,
            "a cron expression has six fields (minutes hours day-of-month month day-of-week "
            "year), exactly one of day-of-month and day-of-week being '?', e.g. "
            "cron(0 3 ? * MON *); events.Schedule.cron(...) writes one",
        )
    validation.fail(
        scope,
        prop,
        expression,
        "must be an EventBridge schedule: rate(<n> <minutes|hours|days>) or cron(<6 fields>)",
    )


# --- Distributed Maps and their scratch files ------------------------------------------


def executions_arn(scope: IConstruct, name: str) -> str:
    """Every execution of the state machine named ``name`` (a Distributed Map's children too)."""
    return Arn.format(
        ArnComponents(
            service="states",
            resource="execution",
            resource_name=f"{name}/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
        Stack.of(scope),
    )


def distributed_map_statements(scope: IConstruct, name: str) -> list[iam.PolicyStatement]:
    """What the state machine named ``name`` needs to run its Distributed Maps' child executions.

    CDK's own ``DistributedMapPolicy`` is an inline policy, which an immutable
    role never takes: grant these to the state machine's managed policy.
    """
    machine = Arn.format(
        ArnComponents(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
        Stack.of(scope),
    )
    return [
        iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine]),
        iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"],
            resources=[executions_arn(scope, name)],
        ),
    ]


def expire_scratch(
    scope: Construct,
    bucket: s3.IBucket,
    rule: s3.LifecycleRule,
    *,
    what: str,
    warning: str,
    bucket_label: str = "bucket",
) -> None:
    """Add ``rule`` to ``bucket`` if it is an ``s3.Bucket`` of ``scope``'s stack; else warn.

    A bucket imported or of another stack is its owner's to change: the
    warning (id ``cdk-sagemaker-hosting:<warning>``) names the rule to add.
    ``what`` says whose scratch files the rule expires; ``bucket_label`` is
    how the messages name the bucket (e.g. ``"report bucket"``).
    """
    described = (
        f"id {rule.id!r}, prefix {rule.prefix!r}, expiration "
        f"{rule.expiration.to_days() if rule.expiration else '?'} days"
    )
    if isinstance(bucket, s3.Bucket) and Stack.of(bucket) is Stack.of(scope):
        bucket.add_lifecycle_rule(id=rule.id, prefix=rule.prefix, expiration=rule.expiration)
        Annotations.of(scope).add_info(
            f"added the lifecycle rule {described} to the {bucket_label} {bucket.node.path}: "
            f"it expires {what}. Pass add_scratch_lifecycle_rule=False to manage their expiry "
            "yourself."
        )
        return
    where = "is imported" if not isinstance(bucket, s3.Bucket) else "is in another stack"
    Annotations.of(scope).add_warning_v2(
        f"cdk-sagemaker-hosting:{warning}",
        f"the {bucket_label} {bucket.node.path} {where}, so {scope.node.path} does not change "
        f"it: add the lifecycle rule {described} to it (scratch_lifecycle_rule), or {what} are "
        "kept forever; pass add_scratch_lifecycle_rule=False once you have.",
    )


def scratch_rule(
    scope: IConstruct, prefix: str, expiration: Duration | None, *, name: str
) -> s3.LifecycleRule:
    """The rule expiring the scratch files under ``prefix`` (for :func:`expire_scratch`).

    ``expiration`` (the ``scratch_expiration`` prop) is whole days, at least
    one; default 7 days. The rule's id is ``expire-<name>-scratch-<suffix>``,
    the suffix the last 8 characters of ``scope``'s unique id.
    """
    expiration = expiration or Duration.days(7)
    days = expiration.to_days(integral=False)
    if days < 1 or days != int(days):
        validation.fail(
            scope,
            "scratch_expiration",
            f"{days:g} days",
            "must be whole days, at least 1 (S3 lifecycle rules expire objects by the day)",
        )
    return s3.LifecycleRule(
        id=f"expire-{name}-scratch-{Names.unique_id(scope)[-8:]}",
        prefix=prefix,
        expiration=expiration,
    )


def function_step(
    scope: Construct,
    construct_id: str,
    *,
    function: aws_lambda.IFunction,
    comment: str,
    payload: Mapping[str, object],
    result_path: str | None = None,
) -> tasks.LambdaInvoke:
    """A state invoking ``function`` with ``payload``; its output is the function's response.

    Service exceptions are retried (CDK's defaults). ``result_path``: where
    the response goes in the state's input; default: it replaces the input.
    """
    return tasks.LambdaInvoke(
        scope,
        construct_id,
        comment=comment,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        payload_response_only=True,
        retry_on_service_exceptions=True,
        result_path=result_path,
    )


def manifest_map(
    scope: Construct,
    construct_id: str,
    *,
    comment: str,
    manifests: BucketAccess,
    item_selector: Mapping[str, object],
    objects_per_batch: int,
    max_concurrency: int,
) -> sfn.DistributedMap:
    """A Distributed Map over the manifest the plan step wrote (``$.plan.manifest.key``).

    Items go to the children in batches of ``objects_per_batch``, each item
    shaped by ``item_selector``: the execution's run and the like are
    selected per item by path, never put in the batcher's ``BatchInput``
    (AWS documents it as fixed JSON, and CDK renders it verbatim, so a path
    there reaches the children as its literal text). Children write their
    results to S3; their outputs are discarded, as they would only swell the
    state past Step Functions' 256 KB payload limit.
    """
    return sfn.DistributedMap(
        scope,
        construct_id,
        comment=comment,
        item_reader=sfn.S3JsonItemReader(
            bucket=manifests.bucket,
            key=sfn.JsonPath.string_at("$.plan.manifest.key"),
        ),
        item_selector=dict(item_selector),
        item_batcher=sfn.ItemBatcher(max_items_per_batch=objects_per_batch),
        max_concurrency=max_concurrency,
        result_path=sfn.JsonPath.DISCARD,
        label=construct_id,
    )


def grant_distributed_maps(
    state_machine: sfn.StateMachine,
    principal: ManagedPolicyPrincipal,
    *,
    name: str,
    manifests: BucketAccess,
    scratch: str,
    maps: int = 1,
) -> None:
    """What a state machine running Distributed Maps needs besides
    :func:`distributed_map_statements`, and the findings it leaves.

    Removes CDK's inline ``DistributedMapPolicy`` (an immutable role would
    never take it), lets ``principal`` read the manifests the Maps' item
    readers read (``<scratch>*`` in ``manifests``), and acknowledges the
    wildcards of the child executions (``<name>/*``) and of the manifests.
    ``maps``: how many Distributed Maps the state machine runs (the reasons
    say "the Map's" or "the Maps'").
    """
    whose = "Map's" if maps == 1 else "Maps'"
    state_machine.node.try_remove_child("DistributedMapPolicy")
    manifests.grant_read_object(principal, f"{scratch}*")
    compliance.acknowledge_resource(
        principal.policy,
        f"The {whose} child executions are named at run time (matched under this state "
        f"machine, {name}/*).",
        "AwsSolutions-IAM5",
        executions_arn(state_machine, name),
    )
    compliance.acknowledge_resource(
        principal.policy,
        f"The manifests are written per run under {scratch}, named at run time.",
        "AwsSolutions-IAM5",
        manifests.arn_for_objects(f"{scratch}*"),
    )
    compliance.acknowledge(
        principal.policy,
        "states:DescribeExecution names standard (execution:) and express (express:) "
        f"executions as alternatives; parliament requires both. The {whose} children are "
        f"standard executions (ExecutionType STANDARD), matched by execution:{name}/*.",
        parliament=["RESOURCE_MISMATCH"],
    )


# --- scheduled checks of an endpoint's variants ---------------------------------------


def check_map_and_function(
    scope: IConstruct,
    *,
    objects_per_batch: int,
    max_concurrency: int,
    memory_size_mb: int,
    timeout: Duration,
    alarm: bool,
) -> None:
    """The props a check's function does not read: its Distributed Maps', its own, ``alarm``.

    ``objects_per_batch`` and ``max_concurrency`` 1-1000, ``memory_size_mb``
    128-10,240, ``timeout`` 1-15 minutes, ``alarm`` a bool.
    """
    validation.check_int(scope, "objects_per_batch", objects_per_batch, low=1, high=1000)
    validation.check_int(scope, "max_concurrency", max_concurrency, low=1, high=1000)
    validation.check_int(scope, "memory_size_mb", memory_size_mb, low=128, high=10240, unit=" MB")
    validation.check_range(scope, "timeout", timeout.to_seconds(), low=60, high=900, unit=" s")
    if not isinstance(alarm, bool):
        validation.fail(scope, "alarm", alarm, "must be True or False")


def same_bucket(
    scope: IConstruct, prop: str, key: kms.IKey | None, capture: BucketAccess
) -> BucketAccess:
    """``capture``, for a bucket prop left out; ``key`` (prop ``prop``) must be left out too.

    The capture bucket's objects are read with the capture's key, so a key
    of its own makes no sense.
    """
    validation.check_optional_type(scope, prop, key, kms.IKey, "a kms.IKey")
    if key is not None:
        validation.fail(
            scope,
            prop,
            key.node.path,
            "the bucket is the capture bucket, whose key is the capture's; leave it out, "
            "or give the bucket too",
        )
    return capture


def warn_of_unknown_keys(
    scope: IConstruct, warning: str, accesses: Sequence[tuple[str, BucketAccess | None]]
) -> None:
    """A warning (``cdk-sagemaker-hosting:<warning>``) naming each bucket whose KMS key is unknown.

    ``accesses`` pairs the prop that would give the key with the bucket's
    access (``None``: no such bucket); each bucket is named once, with the
    first prop.
    """
    unknown: dict[str, str] = {}
    for prop, access in accesses:
        if access is not None and access.key_unknown:
            unknown.setdefault(access.bucket.node.path, prop)
    if unknown:
        Annotations.of(scope).add_warning_v2(
            f"cdk-sagemaker-hosting:{warning}",
            "no KMS key is known for "
            + ", ".join(f"{path} (pass {prop}=)" for path, prop in unknown.items())
            + ": the check is granted no decryption, so if those objects are "
            "KMS-encrypted every run fails with AccessDenied, and reports are written with "
            "the bucket's default encryption.",
        )


def grant_metrics_and_events(
    principal: ManagedPolicyPrincipal, *, namespace: str, event_bus: events.IEventBus
) -> None:
    """Let ``principal`` put metrics in ``namespace`` only and events on ``event_bus`` only."""
    principal.add_to_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
        )
    )
    principal.add_to_policy(
        iam.PolicyStatement(actions=["events:PutEvents"], resources=[event_bus.event_bus_arn])
    )
    compliance.acknowledge(
        principal.policy,
        "cloudwatch:PutMetricData has no resource-level permission; it is limited to the "
        f"namespace {namespace} by condition.",
        "AwsSolutions-IAM5[Resource::*]",
    )


def window_metric(
    *,
    namespace: str,
    metric_name: str,
    endpoint_name: str,
    variant_name: str,
    window: Duration,
    statistic: str = "Maximum",
    dimensions: Mapping[str, str] | None = None,
) -> cloudwatch.Metric:
    """A check's metric of one variant, one datapoint per ``window`` (at most a day).

    Dimensions ``EndpointName``, ``VariantName`` and ``dimensions``.
    """
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map={
            "EndpointName": endpoint_name,
            "VariantName": variant_name,
            **(dimensions or {}),
        },
        statistic=statistic,
        period=Duration.seconds(min(int(window.to_seconds()), 86400)),
    )


def variant_alarms(
    scope: Construct,
    variant_names: Sequence[str],
    *,
    suffix: str,
    metric: Callable[[str], cloudwatch.IMetric],
    description: Callable[[str], str],
    topic: sns.ITopic,
    window_seconds: int,
) -> dict[str, cloudwatch.Alarm]:
    """An alarm per variant (``<variant><suffix>``) on its verdict ``metric`` reaching 1.

    The metric is 1 on a bad verdict, 0 on a good one, absent when there is
    none (too little data, or no check): a missing datapoint leaves the
    alarm INSUFFICIENT_DATA, never OK. One breaching window alarms; the
    alarm looks at two windows when a window is at most 12 hours (the
    period is the window, at most a day). Each notifies ``topic``.
    """
    action = cloudwatch_actions.SnsAction(topic)
    period = min(window_seconds, 86400)
    periods = 2 if period <= 43200 else 1
    alarms: dict[str, cloudwatch.Alarm] = {}
    for name in variant_names:
        alarm = cloudwatch.Alarm(
            scope,
            f"{name}{suffix}",
            metric=metric(name),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=periods,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
            alarm_description=description(name),
        )
        alarm.add_alarm_action(action)
        alarms[name] = alarm
    return alarms


def verdict_rule(
    scope: Construct,
    construct_id: str,
    *,
    event_bus: events.IEventBus,
    description: str,
    source: str,
    detail_type: str,
    endpoint_name: str,
    verdict: str,
    target: events.IRuleTarget | None = None,
) -> events.Rule:
    """A rule on ``event_bus`` matching a check's events of ``endpoint_name`` with ``verdict``."""
    return events.Rule(
        scope,
        construct_id,
        event_bus=event_bus,
        description=description,
        event_pattern=events.EventPattern(
            source=[source],
            detail_type=[detail_type],
            detail={"endpoint": [endpoint_name], "verdict": [verdict]},
        ),
        targets=[target] if target else None,
    )


# --- the handlers' problems, as the constructs report them -------------------------


class HandlerProblem(Protocol):
    """One rule a handler's request or configuration breaks (``lambda/*/``'s ``Problem``)."""

    @property
    def field(self) -> str:
        """The field, as the handler names it: ``steps``, ``thresholds.psi``, ``variants[0]``."""
        ...

    @property
    def value(self) -> object:
        """The value the field holds."""
        ...

    @property
    def rule(self) -> str:
        """What is allowed, and how to put it right."""
        ...


_FIELD_HEAD = re.compile(r"^(?P<head>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>.*)$")


def refuse(
    scope: IConstruct,
    problems: Sequence[HandlerProblem],
    *,
    props: Mapping[str, str] | None = None,
    seconds: Sequence[str] = (),
    shown: Mapping[str, Callable[[object], object]] | None = None,
) -> None:
    """Raise the handler's ``problems`` (if any) as one ``ValidationError`` of ``scope``.

    The first problem is the error's property and value, the others follow
    it. A handler field is shown under the construct's name for it:
    ``props`` maps a field's first part (``bake_seconds``) to the property
    (``bake_time``, so ``variants[0]`` becomes ``variant_names[0]`` and
    ``thresholds.psi`` stays itself); fields in ``seconds`` are durations,
    shown as ``'<n> s'``; ``shown`` maps a field to how its value is shown
    (e.g. the endpoint by its construct path).
    """
    if not problems:
        return
    renamed = dict(props or {})
    display = dict(shown or {})

    def prop_and_value(problem: HandlerProblem) -> tuple[str, object]:
        match = _FIELD_HEAD.match(problem.field)
        head, rest = (match["head"], match["rest"]) if match else (problem.field, "")
        value = problem.value
        if head in display:
            value = display[head](value)
        elif head in seconds and isinstance(value, int | float):
            value = f"{value:g} s"
        return f"{renamed.get(head, head)}{rest}", value

    first, *more = problems
    prop, value = prop_and_value(first)
    rule = first.rule
    for other in more:
        other_prop, other_value = prop_and_value(other)
        rule += f"; also {other_prop}={other_value!r} is invalid: {other.rule}"
    validation.fail(scope, prop, value, rule)


# --- the building block ------------------------------------------------------------


class Workflow(Construct):
    """A state machine run on demand or on a schedule: encrypted, logged, traced and alarmed.

    The base of :class:`~cdk_sagemaker_hosting.drift.DriftMonitor`,
    :class:`~cdk_sagemaker_hosting.batch_transform.ScheduledBatchTransform`
    and :class:`~cdk_sagemaker_hosting.traffic_shift.TrafficShift`; a
    subclass adds its function, state machine, schedule and dead-letter
    queue with the ``_add_*`` methods, in that order of need.

    Construct IDs (a public contract, the same in every subclass): ``Key``
    (when no ``encryption_key`` is given), ``Topic`` (when no ``topic`` is
    given), ``Resource`` (the ``AWS::StepFunctions::StateMachine``),
    ``Role``, ``Policy`` (its customer-managed policy), ``RoleRef``,
    ``Logs`` (its log group), ``FailedAlarm``; with a function:
    ``Function``, ``FunctionRole``, ``FunctionPolicy``, ``FunctionRoleRef``,
    ``FunctionLogs``; scheduled: ``Schedule`` (the ``AWS::Events::Rule``),
    ``ScheduleRole``, ``SchedulePolicy``; ``DeadLetterQueue`` and
    ``DeadLetterAlarm``; ``DefaultBus`` when it emits events to the
    account's default bus.

    Attributes: ``encryption_key``, ``topic``, ``state_machine``, ``role``,
    ``log_group``, ``failed_alarm``, ``dead_letter_queue``,
    ``dead_letter_alarm``, ``function`` (when it has one), ``rule`` (when
    scheduled, else ``None``).

    :param encryption_key: KMS key of the log groups, the dead-letter queue
        and a created topic. Default: a new key with rotation. An imported
        key's policy cannot be changed: a warning names each statement to add.
    :param topic: where the alarms notify. Default: a new KMS-encrypted,
        TLS-only topic.
    :param removal_policy: for a created key and the log groups. Default:
        ``RETAIN``.
    :param log_retention: of the log groups. Default: one year.
    """

    #: The state machine (``Resource``).
    state_machine: sfn.StateMachine
    #: The state machine's role (``Role``); its permissions are in ``Policy``.
    role: iam.Role
    #: The state machine's log group (``Logs``).
    log_group: logs.LogGroup
    #: Any execution failed, timed out or aborted (``FailedAlarm``).
    failed_alarm: cloudwatch.Alarm
    #: What could not be delivered or handled (``DeadLetterQueue``).
    dead_letter_queue: sqs.Queue
    #: Any message in the dead-letter queue (``DeadLetterAlarm``).
    dead_letter_alarm: cloudwatch.Alarm
    #: The handler function (``Function``), when the workflow has one.
    function: aws_lambda.Function
    #: The schedule (``Schedule``), when the workflow has one.
    rule: events.Rule | None = None

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key_use: str,
        encryption_key: kms.IKey | None,
        topic: sns.ITopic | None,
        removal_policy: RemovalPolicy,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        validation.check_optional_type(
            self, "encryption_key", encryption_key, kms.IKey, "a kms.IKey"
        )
        validation.check_optional_type(self, "topic", topic, sns.ITopic, "an sns.ITopic")
        if not isinstance(removal_policy, RemovalPolicy):
            validation.fail(self, "removal_policy", removal_policy, "must be a RemovalPolicy")
        if not isinstance(log_retention, logs.RetentionDays):
            validation.fail(self, "log_retention", log_retention, "must be a logs.RetentionDays")
        self.removal_policy = removal_policy
        self.log_retention = log_retention
        self.encryption_key: kms.IKey = encryption_key or _new_key(
            self, "Key", f"Encrypts the {key_use} of {self.node.path}", removal_policy
        )
        self.topic: sns.ITopic = topic or encrypted_topic(self, "Topic", self.encryption_key)

    # --- building -----------------------------------------------------------------

    def _default_event_bus(self, event_bus: events.IEventBus | None) -> events.IEventBus:
        """``event_bus``, checked, or the account's default bus (``DefaultBus``)."""
        validation.check_optional_type(
            self, "event_bus", event_bus, events.IEventBus, "an events.IEventBus"
        )
        return event_bus or events.EventBus.from_event_bus_name(self, "DefaultBus", "default")

    def _add_function(
        self,
        function: str,
        *,
        description: str,
        timeout: Duration,
        environment: Mapping[str, str] | None = None,
        memory_size: int = 256,
    ) -> ManagedPolicyPrincipal:
        """``Function`` running ``lambda/<function>/``; returns the grantee of its permissions."""
        self.function, principal = handler_function(
            self,
            "Function",
            function=function,
            key=self.encryption_key,
            description=description,
            timeout=timeout,
            environment=environment,
            memory_size=memory_size,
            retention=self.log_retention,
            removal_policy=self.removal_policy,
        )
        return principal

    def _add_state_machine(
        self,
        definition: sfn.IChainable,
        *,
        timeout: Duration,
        comment: str,
        role_description: str,
        failed_label: str,
        failed_description: str,
        functions: Sequence[aws_lambda.IFunction] = (),
        statements: Sequence[iam.PolicyStatement] = (),
        state_machine_name: str | None = None,
    ) -> ManagedPolicyPrincipal:
        """``Resource`` with its ``Role``, ``Policy``, ``RoleRef``, ``Logs`` and ``FailedAlarm``.

        Returns the grantee of the state machine's permissions.
        """
        built = logged_state_machine(
            self,
            "Resource",
            definition=definition,
            key=self.encryption_key,
            timeout=timeout,
            comment=comment,
            functions=functions,
            statements=statements,
            state_machine_name=state_machine_name,
            role_description=role_description,
            id_prefix="",
            retention=self.log_retention,
            removal_policy=self.removal_policy,
        )
        self.state_machine = built.state_machine
        self.role = built.role
        self.log_group = built.log_group
        self.failed_alarm = failed_executions_alarm(
            self,
            "FailedAlarm",
            state_machine=self.state_machine,
            topic=self.topic,
            label=failed_label,
            description=failed_description,
        )
        return built.principal

    def _add_dead_letter_queue(self, *, dead_letter_of: str, alarm_description: str) -> sqs.Queue:
        """``DeadLetterQueue`` (encrypted, TLS-only) and its ``DeadLetterAlarm``."""
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", key=self.encryption_key, dead_letter_of=dead_letter_of
        )
        self.dead_letter_alarm = dead_letter_alarm(
            self,
            "DeadLetterAlarm",
            queue=self.dead_letter_queue,
            topic=self.topic,
            description=alarm_description,
        )
        return self.dead_letter_queue

    def _add_schedule(
        self,
        schedule: events.Schedule,
        *,
        description: str,
        role_description: str,
        dead_letter_description: str,
        enabled: bool = True,
        rule_input: events.RuleTargetInput | None = None,
    ) -> events.Rule:
        """``Schedule`` starting the state machine, its role, and the dead-letter queue.

        Children: ``Schedule`` (the rule), ``ScheduleRole`` (assumed by
        EventBridge), ``SchedulePolicy`` (it may start this state machine
        only), ``DeadLetterQueue`` (events EventBridge could not deliver, i.e.
        runs that never started) and ``DeadLetterAlarm``.
        """
        role = iam.Role(
            self,
            "ScheduleRole",
            description=role_description,
            # EventBridge may assume it for this account's rules only.
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
        )
        self.state_machine.grant_start_execution(
            ManagedPolicyPrincipal(self, "SchedulePolicy", role=role)
        )
        rule = events.Rule(
            self, "Schedule", schedule=schedule, enabled=enabled, description=description
        )
        queue = self._add_dead_letter_queue(
            dead_letter_of="the schedule's EventBridge target",
            alarm_description=dead_letter_description,
        )
        rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                input=rule_input,
                role=role.without_policy_updates(),
                dead_letter_queue=queue,
            )
        )
        self.rule = rule
        return rule

    # --- public API -----------------------------------------------------------------

    @property
    def state_machine_arn(self) -> str:
        """The state machine's ARN."""
        return self.state_machine.state_machine_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start an execution (``states:StartExecution``)."""
        return self.state_machine.grant_start_execution(grantee)

    def metric_failed(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that failed (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_failed(period=period or Duration.minutes(5))

    def metric_timed_out(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that timed out (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_timed_out(period=period or Duration.minutes(5))

    def metric_aborted(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that were stopped (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_aborted(period=period or Duration.minutes(5))

    def metric_succeeded(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Executions that succeeded (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_succeeded(period=period or Duration.minutes(5))


def rate_seconds(expression: str) -> int | None:
    """The interval of a ``rate(...)`` expression in seconds; ``None`` for cron or a token."""
    if not expression.startswith("rate(") or validation.is_token(expression):
        return None
    value, _, unit = expression[5:-1].partition(" ")
    sizes = {"minute": 60, "hour": 3600, "day": 86400}
    size = sizes.get(unit.rstrip("s"))
    return int(value) * size if value.isdigit() and size else None


def warn_of_window_schedule(
    scope: Construct,
    *,
    code: str,
    schedule: events.Schedule,
    window_seconds: int,
    repeated: str,
    verb: str = "checked",
) -> None:
    """Warn when a rate schedule and an epoch-aligned window do not match one to one.

    Windows are aligned on their length (not on the check), so a slower
    schedule leaves windows unchecked (``<code>WindowsSkipped``) and a faster
    one checks each window again (``<code>WindowsRepeated``; ``repeated`` says
    what each repetition does; ``verb`` is what a check does to a window).
    Cron schedules are not compared.
    """
    expression = schedule.expression_string
    rate = rate_seconds(expression)
    if rate is not None and rate > window_seconds:
        Annotations.of(scope).add_warning_v2(
            f"cdk-sagemaker-hosting:{code}WindowsSkipped",
            f"the schedule ({expression}) runs less often than a window lasts "
            f"({window_seconds} s): the windows between two checks are never {verb}. "
            "Make the window as long as the schedule's interval.",
        )
    elif rate is not None and rate < window_seconds:
        Annotations.of(scope).add_warning_v2(
            f"cdk-sagemaker-hosting:{code}WindowsRepeated",
            f"the schedule ({expression}) runs more often than a window lasts "
            f"({window_seconds} s): windows are aligned on their length, so each window is "
            f"{verb} about {-(-window_seconds // rate)} times, {repeated}. Make the window "
            "as long as the schedule's interval (leave schedule out).",
        )
