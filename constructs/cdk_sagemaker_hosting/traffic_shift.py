"""Progressive traffic shifting between two live variants of one endpoint.

SageMaker's deployment guardrails move traffic only from an old fleet to a
new one during an endpoint update. :class:`TrafficShift` promotes one live
production variant over another: a state machine moves the pair's traffic to
the target step by step (``UpdateEndpointWeightsAndCapacities``), bakes each
step, gates it on alarms (and optionally on a comparison of the target's
errors and latency with the source's), and either promotes the target (all
of the pair's traffic) or rolls back to the weights it found. A gating
alarm going to ``ALARM`` rolls back at once: an EventBridge rule on the
alarms' state-change events invokes a function that restores the weights,
and the state machine's poll stays the safety net. The handler code is
``lambda/traffic_shift/``, the same code ``cdk-sagemaker-hosting shift``
runs from a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import (
    Annotations,
    Arn,
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    aws_lambda,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as lambda_destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from cdk_sagemaker_hosting import compliance, validation
from cdk_sagemaker_hosting._lambda.traffic_shift import aws as shift_aws
from cdk_sagemaker_hosting._lambda.traffic_shift import core as shift_core
from cdk_sagemaker_hosting._lambda.traffic_shift import plan as shift_plan
from cdk_sagemaker_hosting.endpoint import EndpointBase
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from cdk_sagemaker_hosting.monitoring import EndpointMonitoring
from cdk_sagemaker_hosting.workflow import Workflow, handler_function, refuse
from constructs import Construct

#: The tags of the endpoint lock (``lambda/traffic_shift/aws.py``).
LOCK_TAG_PATTERN = "cdk-sagemaker-hosting:shift-*"

#: The comparison of the target with the source: the handler's own type
#: (``lambda/traffic_shift/plan.py``), so the construct and its function read
#: one set of fields, defaults and rules.
#:
#: A step fails when the target's 5XX rate (errors per invocation) exceeds
#: the source's by more than ``max_error_rate_increase`` (0-1, default 0.01),
#: or its p99 model latency exceeds the source's by more than
#: ``max_latency_increase`` (a fraction, default 0.2: 20 % slower); it has no
#: verdict (and waits for data) while the target has served fewer than
#: ``min_invocations`` requests in the window (a whole number, default 100).
MetricComparison = shift_plan.Comparison

#: The handler's request fields, by the construct's names for them.
_PROPS = {
    "source": "source_variant",
    "target": "target_variant",
    "bake_seconds": "bake_time",
    "data_timeout_seconds": "data_timeout",
    "poll_seconds": "poll_interval",
    "timeout_seconds": "timeout",
}
_SECONDS = ("bake_seconds", "data_timeout_seconds", "poll_seconds", "timeout_seconds")

#: EventBridge's default limit on an event pattern, in characters (adjustable
#: up to 4,096 on request; the alarm rules stay within the default).
EVENT_PATTERN_MAX_CHARS = 2048
#: The longest an alarm ARN may be: ``arn:<partition>:cloudwatch:<region>:
#: <account>:alarm:`` and a name of up to 255 characters (what an alarm
#: named only at deploy time is counted as).
_ALARM_ARN_MAX_CHARS = 64 + 255


class TrafficShift(Workflow):
    """A state machine that moves an endpoint's traffic from one variant to another.

    Start an execution (input ``{}``, or overrides of ``steps`` and
    ``bake_seconds`` within the execution's time limit) to run a shift; it ends promoted (the
    execution succeeds) or rolled back (it fails with ``RolledBack``), and
    publishes the outcome to ``topic`` and as an EventBridge event (source
    ``cdk-sagemaker-hosting.traffic-shift``, detail type ``SageMaker Traffic
    Shift Finished``). Stopping an execution (or its timing out, or failing)
    rolls its shift back too. A second shift on the same endpoint is refused
    while one runs (a lock kept in the endpoint's tags). ``failed_alarm``
    notifies ``topic`` of every execution that rolled back, failed, timed out
    or was stopped; ``dead_letter_alarm`` of a stopped shift whose rollback
    failed, or of a gating alarm's event the fast rollback could not handle.

    A gating alarm that goes to ``ALARM`` rolls the running shift back within
    seconds, not at the next poll: ``alarm_rules`` (EventBridge rules on
    CloudWatch's "Alarm State Change" events of exactly these alarms, by ARN:
    metric and composite alarms, imported ones too) invoke
    ``alarm_function``, which marks the shift rolled back in the endpoint's
    tags and restores the weights recorded when it started; the execution's
    next poll sees the mark and ends ``RolledBack``. It touches only this
    endpoint, and only a shift run by an execution of this state machine
    (not one run from the command line). An alarm that goes to ``ALARM``
    after the last step was judged healthy changes nothing: the promotion
    was decided. The poll still checks every alarm: an event lost or late
    rolls back at the next poll, as before.

    The props are checked at synth time with the function's own request
    (``lambda/traffic_shift/plan.py``): a shift the construct accepts is
    one its function runs. The variants are checked against the endpoint's
    production variants when it knows them (an :class:`Endpoint`, or one
    imported with ``Endpoint.from_endpoint_attributes(variants=...)``); an
    endpoint imported by name or ARN knows none, so any variant names pass
    here and the function checks them when a shift starts.

    Construct IDs (a public contract, those of every
    ``Workflow``): ``Key`` (when
    created), ``Topic`` (when created), ``Resource`` (the state machine),
    ``Role``, ``Policy``, ``RoleRef``, ``Logs``, ``FailedAlarm``,
    ``Function``, ``FunctionRole``, ``FunctionPolicy``, ``FunctionRoleRef``,
    ``FunctionLogs``, ``DefaultBus`` (when no bus is given), ``AbortRule``,
    ``DeadLetterQueue``, ``DeadLetterAlarm``; with gating alarms
    ``AlarmFunction``, ``AlarmFunctionRole``, ``AlarmFunctionPolicy``,
    ``AlarmFunctionRoleRef``, ``AlarmFunctionLogs`` and ``AlarmRule`` (then
    ``AlarmRule2``, ... when the alarms' ARNs do not fit one event pattern
    of EventBridge's 2,048 characters); the states ``Start``,
    ``Apply``, ``Check``, ``RollBack``, ``RollBackAfterError``, ``Finish``
    and their choices and waits.

    :param endpoint: the endpoint whose variants trade traffic.
    :param source_variant: the variant losing traffic.
    :param target_variant: the variant gaining it.
    :param steps: the target's share of the pair's traffic at each step, in
        percent; strictly increasing, ending at 100. Steps at or below the
        target's share when the shift starts are skipped. Default: 10, 25, 50, 100.
    :param bake_time: how long each step runs before it is judged; an alarm
        going to ``ALARM`` during the bake rolls back at once (its event;
        the poll if the event is lost). Default: 10 minutes.
    :param data_timeout: after the bake, how long a step may wait for gating
        data (no alarm in ``INSUFFICIENT_DATA``, enough invocations to
        compare) before it rolls back. Default: the bake time.
    :param poll_interval: pause between two looks at the endpoint and the
        alarms, at most the bake time. Default: 30 seconds.
    :param alarms: alarms that gate every step, in the shift's account and
        Region (CloudWatch sends an alarm's events to its own account's and
        Region's default bus). Default: none besides ``monitoring``'s.
    :param monitoring: the endpoint's :class:`EndpointMonitoring`: its
        errors and latency alarms of the target variant and its composite
        health alarm gate every step. Default: none.
    :param comparison: compare the target's errors and latency with the
        source's (:data:`MetricComparison`). Default: no comparison.
    :param topic: where outcomes are published and the alarms notify.
        Default: a new KMS-encrypted, TLS-only topic.
    :param event_bus: where outcome events go. Default: the account's default bus.
    :param timeout: the execution's time limit (a timed-out shift is rolled
        back); it must allow every step its worst case. Default: per step,
        bake + data timeout + 30 minutes.
    :param encryption_key: KMS key of the log groups, the dead-letter queue
        and a created topic. Default: a new key with rotation.
    :param removal_policy: for a created key and the log groups. Default: ``RETAIN``.
    :param log_retention: of the log groups. Default: one year.

    The state machine looks at the endpoint every ``poll_interval``; a shift
    may need at most 2,500 looks (a Step Functions execution keeps at most
    25,000 history events), which bounds steps x (bake + data timeout + 30
    minutes) / poll interval.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: EndpointBase,
        source_variant: str,
        target_variant: str,
        steps: Sequence[float] = (10, 25, 50, 100),
        bake_time: Duration | None = None,
        data_timeout: Duration | None = None,
        poll_interval: Duration | None = None,
        alarms: Sequence[cloudwatch.IAlarm] = (),
        monitoring: EndpointMonitoring | None = None,
        comparison: shift_plan.Comparison | None = None,
        topic: sns.ITopic | None = None,
        event_bus: events.IEventBus | None = None,
        timeout: Duration | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            key_use="traffic shift logs, outcomes and dead letters",
            encryption_key=encryption_key,
            topic=topic,
            removal_policy=removal_policy,
            log_retention=log_retention,
        )
        validation.check_type(self, "endpoint", endpoint, EndpointBase, "an Endpoint")
        for prop, value, kind, what in (
            ("bake_time", bake_time, Duration, "a Duration"),
            ("data_timeout", data_timeout, Duration, "a Duration"),
            ("poll_interval", poll_interval, Duration, "a Duration"),
            ("timeout", timeout, Duration, "a Duration"),
            ("monitoring", monitoring, EndpointMonitoring, "an EndpointMonitoring"),
            ("comparison", comparison, MetricComparison, "a MetricComparison"),
        ):
            validation.check_optional_type(self, prop, value, kind, what)
        for i, alarm in enumerate(alarms):
            validation.check_type(self, f"alarms[{i}]", alarm, cloudwatch.IAlarm, "an IAlarm")
            self._check_alarm_place(f"alarms[{i}]", alarm)
        bake_time = bake_time or Duration.minutes(10)
        data_timeout = data_timeout or bake_time
        poll_interval = poll_interval or Duration.seconds(30)
        self.endpoint = endpoint
        self.source_variant = source_variant
        self.target_variant = target_variant
        gating = list(alarms)
        if monitoring is not None:
            gating += [*monitoring.rollback_alarms(target_variant), monitoring.health]
        self.alarms: list[cloudwatch.IAlarm] = gating
        if isinstance(steps, str):
            validation.fail(
                self, "steps", steps, "must be a list of percentages, e.g. [10, 50, 100]"
            )
        self.request = shift_plan.Request(
            endpoint=endpoint.endpoint_name,
            source=source_variant,
            target=target_variant,
            steps=tuple(steps),
            bake_seconds=validation.whole_seconds(self, "bake_time", bake_time),
            alarms=tuple(a.alarm_name for a in gating),
            data_timeout_seconds=validation.whole_seconds(self, "data_timeout", data_timeout),
            poll_seconds=validation.whole_seconds(self, "poll_interval", poll_interval),
            comparison=comparison,
        )
        self.timeout = timeout or Duration.seconds(
            shift_plan.worst_case_seconds(
                len(steps), bake_time.to_seconds(), data_timeout.to_seconds()
            )
        )
        self._check(steps)
        if not gating:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:NoGatingAlarms",
                "no alarm gates the shift: give alarms or monitoring, or every step passes "
                "once its bake time is over",
            )
        stack = Stack.of(self)
        self.event_bus = self._default_event_bus(event_bus)
        grantee = self._add_function(
            "traffic_shift",
            description=f"Shifts traffic between variants of {endpoint.node.path}",
            # Actions return within seconds; rolling back a stopped execution
            # waits for the endpoint to settle.
            timeout=Duration.minutes(5),
            environment={
                # The request as the function reads it (plan.Request.from_json).
                "SHIFT_DEFAULTS": stack.to_json_string(self.request.to_json()),
                "SHIFT_TIMEOUT_SECONDS": str(int(self.timeout.to_seconds())),
                "TOPIC_ARN": self.topic.topic_arn,
                "EVENT_BUS_NAME": self.event_bus.event_bus_name,
            },
        )
        self._grant(grantee, gating)
        self._add_state_machine(
            self._definition(),
            timeout=self.timeout,
            comment=(
                f"Shift {endpoint.node.path} from {source_variant} to {target_variant} "
                f"in steps of {', '.join(f'{s:g}' for s in steps)} %"
            ),
            role_description=f"Runs the traffic shifts of {self.node.path}",
            functions=[self.function],
            failed_label="Shifts rolled back, failed, timed out or stopped",
            failed_description=(
                f"A traffic shift of {endpoint.endpoint_name} from {source_variant} to "
                f"{target_variant} rolled back, failed, timed out or was stopped: see the "
                "execution history and the outcome published to the topic"
            ),
        )
        # Abort events not delivered, and rollbacks the abort rule started
        # that still failed (the function's on-failure destination).
        queue = self._add_dead_letter_queue(
            dead_letter_of=(
                "the abort and alarm rules' targets and the functions' on-failure destinations"
            ),
            alarm_description=(
                "A stopped traffic shift could not be rolled back automatically, or a gating "
                "alarm's event could not roll a shift back at once (the state machine's poll "
                f"still does): check the weights of {endpoint.endpoint_name} and its shift "
                "lock tags"
            ),
        )
        self.function.configure_async_invoke(
            on_failure=lambda_destinations.SqsDestination(queue),
            retry_attempts=2,
        )
        queue.grant_send_messages(grantee)
        compliance.acknowledge(
            grantee.policy,
            "Sending to the KMS-encrypted dead-letter queue needs the key's data-key and "
            "re-encrypt families (kms:GenerateDataKey*, kms:ReEncrypt*) on that one key.",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
        )
        self.abort_rule = events.Rule(
            self,
            "AbortRule",
            description="Rolls back a traffic shift whose execution stopped before it finished",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": ["ABORTED", "TIMED_OUT", "FAILED"],
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    retry_attempts=2,
                    dead_letter_queue=queue,
                )
            ],
        )
        #: The fast rollback's function (``AlarmFunction``); None without gating alarms.
        self.alarm_function: aws_lambda.Function | None = None
        #: The rules on the gating alarms' state-change events (``AlarmRule``, ...).
        self.alarm_rules: list[events.Rule] = []
        if gating:
            self._add_alarm_rollback(gating, queue)

    def _check(self, steps: Sequence[float]) -> None:
        """What only the construct knows (a shadow), then the function's own checks."""
        endpoint = self.endpoint
        shadow = endpoint.shadow_variant_name
        for prop, name in (
            ("source_variant", self.source_variant),
            ("target_variant", self.target_variant),
        ):
            if shadow is not None and name == shadow:
                validation.fail(
                    self,
                    prop,
                    name,
                    "must be a production variant (a shadow variant takes no weight)",
                )
        problems = self.request.problems()
        known = endpoint.production_variant_names
        if known:
            problems += shift_plan.variant_problems(self.request, known)
        problems += shift_plan.budget_problems(self.request, self.timeout.to_seconds())
        # Values known only at deploy time (a token) are the function's to check.
        refuse(
            self,
            [p for p in problems if not validation.is_token(p.value)],
            props=_PROPS,
            seconds=_SECONDS,
            shown={"steps": lambda _: list(steps), "endpoint": lambda _: endpoint.node.path},
        )

    def _check_alarm_place(self, prop: str, alarm: cloudwatch.IAlarm) -> None:
        """An alarm of another account or Region cannot gate: its events and state are there."""
        stack = Stack.of(self)
        account, region = alarm.env.account, alarm.env.region
        if not Token.is_unresolved(alarm.alarm_arn):
            # An alarm imported by ARN has the importing stack's env: read the ARN.
            parts = Arn.split(alarm.alarm_arn, ArnFormat.COLON_RESOURCE_NAME)
            account, region = parts.account or account, parts.region or region
        for what, theirs, ours in (
            ("account", account, stack.account),
            ("Region", region, stack.region),
        ):
            if Token.is_unresolved(theirs) or Token.is_unresolved(ours) or theirs == ours:
                continue
            validation.fail(
                self,
                prop,
                alarm.alarm_arn if not Token.is_unresolved(alarm.alarm_arn) else alarm.node.path,
                f"must be in the shift's {what} ({ours}), not {theirs}: CloudWatch sends an "
                f"alarm's state-change events to the default event bus of its own {what}, "
                "and the function reads alarms there; gate on an alarm in this account and "
                "Region (a metric alarm can read another account's metrics)",
            )

    # --- building blocks -----------------------------------------------------

    def _grant(self, fn: ManagedPolicyPrincipal, gating: Sequence[cloudwatch.IAlarm]) -> None:
        """What the function does: the endpoint's weights and lock tags, alarms, metrics."""
        arn = self.endpoint.endpoint_arn
        fn.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:UpdateEndpointWeightsAndCapacities",
                    "sagemaker:ListTags",
                ],
                resources=[arn],
            )
        )
        fn.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:AddTags", "sagemaker:DeleteTags"],
                resources=[arn],
                conditions={"ForAllValues:StringLike": {"aws:TagKeys": [LOCK_TAG_PATTERN]}},
            )
        )
        if gating:
            # CloudWatch returns composite alarms only to a DescribeAlarms allowed
            # on '*' (DescribeAlarms API reference); an imported alarm may be one.
            metric_only = all(isinstance(a, cloudwatch.Alarm) for a in gating)
            fn.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[a.alarm_arn for a in gating] if metric_only else ["*"],
                )
            )
            if not metric_only:
                compliance.acknowledge(
                    fn.policy,
                    "cloudwatch:DescribeAlarms returns composite alarms only to a caller "
                    "allowed it on '*' (DescribeAlarms API reference); a gating alarm is "
                    "composite or imported (which may be composite). It reads alarm "
                    "configurations and states only.",
                    "AwsSolutions-IAM5[Resource::*]",
                    parliament=["RESOURCE_STAR"],
                )
        fn.add_to_principal_policy(
            iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"])
        )
        compliance.acknowledge(
            fn.policy,
            "cloudwatch:GetMetricData takes no resource (AWS documents Resource '*'); it reads "
            "metrics only, and the comparison reads the endpoint's own variants.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        self.topic.grant_publish(fn)
        compliance.acknowledge(
            fn.policy,
            "Publishing to the KMS-encrypted topic needs kms:GenerateDataKey* (the family of "
            "data-key calls SNS makes) on that one key.",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        )
        self.event_bus.grant_put_events_to(fn)

    def _add_alarm_rollback(self, gating: Sequence[cloudwatch.IAlarm], queue: sqs.IQueue) -> None:
        """``AlarmFunction`` and the ``AlarmRule`` s that invoke it as the gating alarms fire."""
        stack = Stack.of(self)
        function, grantee = handler_function(
            self,
            "AlarmFunction",
            function="traffic_shift",
            key=self.encryption_key,
            description=(
                f"Rolls back a traffic shift of {self.endpoint.node.path} the moment a "
                "gating alarm goes to ALARM"
            ),
            # Returns within seconds; waits for an endpoint mid-update to settle.
            timeout=Duration.minutes(5),
            environment={
                "SHIFT_DEFAULTS": stack.to_json_string(self.request.to_json()),
                "STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
                "ALARM_ARNS": stack.to_json_string([a.alarm_arn for a in gating]),
            },
            retention=self.log_retention,
            removal_policy=self.removal_policy,
        )
        self.alarm_function = function
        arn = self.endpoint.endpoint_arn
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:UpdateEndpointWeightsAndCapacities",
                    "sagemaker:ListTags",
                ],
                resources=[arn],
            )
        )
        # Its mark only: it can neither take nor drop a shift's lock.
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:AddTags", "sagemaker:DeleteTags"],
                resources=[arn],
                conditions={
                    "ForAllValues:StringEquals": {"aws:TagKeys": list(shift_aws.ROLLBACK_TAGS)}
                },
            )
        )
        function.configure_async_invoke(
            on_failure=lambda_destinations.SqsDestination(queue),
            retry_attempts=2,
        )
        queue.grant_send_messages(grantee)
        compliance.acknowledge(
            grantee.policy,
            "Sending to the KMS-encrypted dead-letter queue needs the key's data-key and "
            "re-encrypt families (kms:GenerateDataKey*, kms:ReEncrypt*) on that one key.",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
        )
        for i, batch in enumerate(_pattern_batches(gating)):
            self.alarm_rules.append(
                events.Rule(
                    self,
                    "AlarmRule" if i == 0 else f"AlarmRule{i + 1}",
                    description=(
                        "Rolls back a running traffic shift the moment one of its gating "
                        "alarms goes to ALARM"
                    ),
                    event_pattern=events.EventPattern(
                        source=[shift_core.ALARM_EVENT_SOURCE],
                        detail_type=[shift_core.ALARM_EVENT_DETAIL_TYPE],
                        resources=[a.alarm_arn for a in batch],
                        detail={"state": {"value": ["ALARM"]}},
                    ),
                    targets=[
                        targets.LambdaFunction(function, retry_attempts=2, dead_letter_queue=queue)
                    ],
                )
            )

    def _invoke(
        self, construct_id: str, payload: dict[str, object], comment: str
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            construct_id,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            result_path="$.state",
            comment=comment,
            # Lambda's own transient errors are retried (the default);
            # the handler's errors are not: botocore already retried
            # throttling, and a bad request must not be repeated.
            retry_on_service_exceptions=True,
        )
        # Throttled by Lambda (an account at its concurrency limit): try again.
        task.add_retry(
            errors=["Lambda.TooManyRequestsException"],
            interval=Duration.seconds(2),
            max_attempts=6,
            backoff_rate=2,
        )
        return task

    def _definition(self) -> sfn.IChainable:
        state = {"state.$": "$.state"}
        poll = sfn.WaitTime.seconds_path("$.state.request.poll_seconds")
        refused = sfn.Fail(
            self,
            "Refused",
            error="Refused",
            cause_path="$.error.Cause",
            comment="Nothing changed: bad input, or another shift holds the endpoint",
        )
        start = self._invoke(
            "Start",
            {
                "action": "start",
                "request.$": "$$.Execution.Input",
                "owner.$": "$$.Execution.Id",
            },
            "Check the request against the endpoint, lock it, record its weights",
        )
        # An endpoint in an update reports weights about to change: wait.
        start.add_retry(
            errors=["EndpointNotReady"],
            interval=Duration.seconds(30),
            max_attempts=shift_plan.UPDATE_ALLOWANCE_SECONDS // 30,
            backoff_rate=1,
        )
        start.add_catch(refused, errors=["States.ALL"], result_path="$.error")
        apply = self._invoke(
            "Apply", {"action": "apply", **state}, "Move towards the step's weights"
        )
        check = self._invoke(
            "Check", {"action": "check", **state}, "Judge the step: alarms, then comparison"
        )
        roll_back_after_error = self._invoke(
            "RollBackAfterError",
            {"action": "rollback", **state, "error.$": "$.error"},
            "An action failed: turn back to the recorded weights",
        )
        roll_back = self._invoke(
            "RollBack", {"action": "rollback", **state}, "Turn back to the recorded weights"
        )
        finish = self._invoke(
            "Finish", {"action": "finish", **state}, "Unlock, publish the outcome"
        )
        failed = sfn.Fail(
            self,
            "RollbackFailed",
            error="RollbackFailed",
            cause_path="$.error.Cause",
            comment="The abort rule tries the rollback again",
        )
        for task in (apply, check):
            task.add_catch(roll_back_after_error, errors=["States.ALL"], result_path="$.error")
        for task in (roll_back_after_error, roll_back, finish):
            task.add_catch(failed, errors=["States.ALL"], result_path="$.error")

        promoted = sfn.Succeed(self, "Promoted")
        rolled_back = sfn.Fail(
            self,
            "RolledBack",
            error="RolledBack",
            cause_path="$.state.reason",
        )
        outcome = (
            sfn.Choice(self, "Outcome")
            .when(sfn.Condition.string_equals("$.state.result", "promoted"), promoted)
            .otherwise(rolled_back)
        )
        finish.next(outcome)

        rolled = sfn.Choice(self, "WeightsRestored")
        wait_rollback = sfn.Wait(self, "WaitForRollback", time=poll)
        wait_rollback.next(roll_back)
        rolled.when(sfn.Condition.boolean_equals("$.state.ready", True), finish).otherwise(
            wait_rollback
        )
        roll_back.next(rolled)
        roll_back_after_error.next(rolled)

        wait_apply = sfn.Wait(self, "WaitForWeights", time=poll)
        wait_apply.next(apply)
        wait_check = sfn.Wait(self, "Bake", time=poll)
        wait_check.next(check)
        apply.next(
            sfn.Choice(self, "WeightsInPlace")
            .when(sfn.Condition.boolean_equals("$.state.ready", True), check)
            .otherwise(wait_apply)
        )
        check.next(
            sfn.Choice(self, "Verdict")
            .when(sfn.Condition.string_equals("$.state.verdict", "fail"), roll_back)
            .when(sfn.Condition.string_equals("$.state.verdict", "wait"), wait_check)
            .when(sfn.Condition.boolean_equals("$.state.done", True), finish)
            .otherwise(apply)
        )
        return start.next(
            sfn.Choice(self, "AlreadyPromoted")
            .when(sfn.Condition.boolean_equals("$.state.done", True), finish)
            .otherwise(apply)
        )


def _pattern_batches(alarms: Sequence[cloudwatch.IAlarm]) -> list[list[cloudwatch.IAlarm]]:
    """The alarms in groups whose ARNs fit one event pattern (:data:`EVENT_PATTERN_MAX_CHARS`).

    An ARN known only at deploy time counts as the longest an alarm ARN may be.
    """
    base = len(
        json.dumps(
            {
                "source": [shift_core.ALARM_EVENT_SOURCE],
                "detail-type": [shift_core.ALARM_EVENT_DETAIL_TYPE],
                "resources": [],
                "detail": {"state": {"value": ["ALARM"]}},
            }
        )
    )
    batches: list[list[cloudwatch.IAlarm]] = []
    size = EVENT_PATTERN_MAX_CHARS
    for alarm in alarms:
        arn = alarm.alarm_arn
        chars = (_ALARM_ARN_MAX_CHARS if Token.is_unresolved(arn) else len(arn)) + 4
        if size + chars > EVENT_PATTERN_MAX_CHARS:
            batches.append([])
            size = base
        batches[-1].append(alarm)
        size += chars
    return batches
