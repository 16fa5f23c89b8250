"""Progressive traffic shifting between two live variants of one endpoint.

SageMaker's deployment guardrails move traffic only from an old fleet to a
new one during an endpoint update. :class:`TrafficShift` promotes one live
production variant over another: a state machine moves the pair's traffic to
the target step by step (``UpdateEndpointWeightsAndCapacities``), bakes each
step, gates it on alarms (and optionally on a comparison of the target's
errors and latency with the source's), and either promotes the target (all
of the pair's traffic) or rolls back to the weights it found. The handler
code is ``lambda/traffic_shift/``, the same code ``cdk-sagemaker-hosting
shift`` runs from a terminal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as lambda_destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from cdk_sagemaker_hosting import compliance, serverless, validation
from cdk_sagemaker_hosting._lambda.traffic_shift import plan as shift_plan
from cdk_sagemaker_hosting.endpoint import EndpointBase
from cdk_sagemaker_hosting.monitoring import EndpointMonitoring
from constructs import Construct

#: The tags of the endpoint lock (``lambda/traffic_shift/aws.py``).
LOCK_TAG_PATTERN = "cdk-sagemaker-hosting:shift-*"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MetricComparison:
    """Compare the target with the source over each step's bake window.

    A step fails when the target's 5XX rate (errors per invocation) exceeds
    the source's by more than ``max_error_rate_increase``, or its p99 model
    latency exceeds the source's by more than ``max_latency_increase``; it
    has no verdict (and waits for data) while the target has served fewer
    than ``min_invocations`` requests in the window.

    :param max_error_rate_increase: Default: 0.01 (one point of error rate).
    :param max_latency_increase: a fraction. Default: 0.2 (20 % slower).
    :param min_invocations: Default: 100.
    """

    max_error_rate_increase: float = 0.01
    max_latency_increase: float = 0.2
    min_invocations: int = 100


class TrafficShift(Construct):
    """A state machine that moves an endpoint's traffic from one variant to another.

    Start an execution (input ``{}``, or overrides of ``steps`` and
    ``bake_seconds`` within the execution's time limit) to run a shift; it ends promoted (the
    execution succeeds) or rolled back (it fails with ``RolledBack``), and
    publishes the outcome to ``topic`` and as an EventBridge event (source
    ``cdk-sagemaker-hosting.traffic-shift``, detail type ``SageMaker Traffic
    Shift Finished``). Stopping an execution (or its timing out, or failing)
    rolls its shift back too. A second shift on the same endpoint is refused
    while one runs (a lock kept in the endpoint's tags).

    Construct IDs (a public contract): ``Resource`` (the state machine),
    ``ResourceRole``, ``ResourcePolicy``, ``ResourceLogs``, ``Function``,
    ``FunctionRole``, ``FunctionPolicy``, ``FunctionLogs``, ``Key``, ``Topic``
    (when created), ``DefaultBus``, ``AbortRule``, ``AbortDeadLetterQueue``,
    ``AbortDeadLetterAlarm``.

    :param endpoint: the endpoint whose variants trade traffic.
    :param source_variant: the variant losing traffic.
    :param target_variant: the variant gaining it.
    :param steps: the target's share of the pair's traffic at each step, in
        percent; strictly increasing, ending at 100. Steps at or below the
        target's share when the shift starts are skipped. Default: 10, 25, 50, 100.
    :param bake_time: how long each step runs before it is judged; an alarm
        in ``ALARM`` during the bake rolls back at once. Default: 10 minutes.
    :param data_timeout: after the bake, how long a step may wait for gating
        data (no alarm in ``INSUFFICIENT_DATA``, enough invocations to
        compare) before it rolls back. Default: the bake time.
    :param poll_interval: pause between two looks at the endpoint and the
        alarms. Default: 30 seconds.
    :param alarms: alarms that gate every step. Default: none besides ``monitoring``'s.
    :param monitoring: the endpoint's :class:`EndpointMonitoring`: its
        errors and latency alarms of the target variant and its composite
        health alarm gate every step. Default: none.
    :param comparison: compare the target's errors and latency with the
        source's. Default: no comparison.
    :param topic: where outcomes are published. Default: a new KMS-encrypted,
        TLS-only topic.
    :param event_bus: where outcome events go. Default: the account's default bus.
    :param timeout: the execution's time limit (a timed-out shift is rolled
        back). Default: per step, bake + data timeout + 30 minutes.

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
        comparison: MetricComparison | None = None,
        topic: sns.ITopic | None = None,
        event_bus: events.IEventBus | None = None,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        bake_time = bake_time or Duration.minutes(10)
        data_timeout = data_timeout or bake_time
        poll_interval = poll_interval or Duration.seconds(30)
        validation.check_traffic_shift(
            self,
            endpoint=endpoint,
            source_variant=source_variant,
            target_variant=target_variant,
            steps=steps,
            bake_time=bake_time,
            data_timeout=data_timeout,
            poll_interval=poll_interval,
            comparison=comparison,
        )
        self.endpoint = endpoint
        self.source_variant = source_variant
        self.target_variant = target_variant
        gating = list(alarms)
        if monitoring is not None:
            gating += [*monitoring.rollback_alarms(target_variant), monitoring.health]
        self.alarms: list[cloudwatch.IAlarm] = gating
        if not gating:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:NoGatingAlarms",
                "no alarm gates the shift: give alarms or monitoring, or every step passes "
                "once its bake time is over",
            )
        stack = Stack.of(self)
        self.key: kms.IKey = serverless.encryption_key(
            self, "Key", f"Encrypts the traffic shift logs and outcomes of {endpoint.node.path}"
        )
        self.topic = topic or serverless.encrypted_topic(self, "Topic", self.key)
        self.event_bus = event_bus or events.EventBus.from_event_bus_name(
            self, "DefaultBus", "default"
        )
        self.timeout = timeout or Duration.seconds(
            shift_plan.worst_case_seconds(
                len(steps), bake_time.to_seconds(), data_timeout.to_seconds()
            )
        )
        defaults = {
            "endpoint": endpoint.endpoint_name,
            "source": source_variant,
            "target": target_variant,
            "steps": list(steps),
            "bake_seconds": int(bake_time.to_seconds()),
            "data_timeout_seconds": int(data_timeout.to_seconds()),
            "poll_seconds": int(poll_interval.to_seconds()),
            "alarms": [a.alarm_name for a in gating],
            "comparison": dataclasses.asdict(comparison) if comparison else None,
        }
        self.function, self._function_grantee = serverless.handler_function(
            self,
            "Function",
            function="traffic_shift",
            key=self.key,
            description=f"Shifts traffic between variants of {endpoint.node.path}",
            # Actions return within seconds; rolling back a stopped execution
            # waits for the endpoint to settle.
            timeout=Duration.minutes(5),
            environment={
                "SHIFT_DEFAULTS": stack.to_json_string(defaults),
                "SHIFT_TIMEOUT_SECONDS": str(int(self.timeout.to_seconds())),
                "TOPIC_ARN": self.topic.topic_arn,
                "EVENT_BUS_NAME": self.event_bus.event_bus_name,
            },
        )
        self._grant(gating)
        self.state_machine = serverless.logged_state_machine(
            self,
            "Resource",
            definition=self._definition(),
            key=self.key,
            timeout=self.timeout,
            functions=[self.function],
            comment=(
                f"Shift {endpoint.node.path} from {source_variant} to {target_variant} "
                f"in steps of {', '.join(f'{s:g}' for s in steps)} %"
            ),
        ).state_machine
        self.dead_letter_queue = self._dead_letter_queue()
        # A rollback the abort rule started that still fails lands here too.
        self.function.configure_async_invoke(
            on_failure=lambda_destinations.SqsDestination(self.dead_letter_queue),
            retry_attempts=2,
        )
        self.dead_letter_queue.grant_send_messages(self._function_grantee)
        compliance.acknowledge(
            self._function_grantee.policy,
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
                    dead_letter_queue=self.dead_letter_queue,
                )
            ],
        )

    # --- public API ----------------------------------------------------------

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.state_machine_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start a shift."""
        return self.state_machine.grant_start_execution(grantee)

    def metric_succeeded(self) -> cloudwatch.Metric:
        """Shifts that promoted their target (sum per 5 minutes)."""
        return self.state_machine.metric_succeeded()

    def metric_failed(self) -> cloudwatch.Metric:
        """Shifts that rolled back or failed (sum per 5 minutes)."""
        return self.state_machine.metric_failed()

    # --- building blocks -----------------------------------------------------

    def _dead_letter_queue(self) -> sqs.Queue:
        """Abort events not delivered or whose rollback failed, with an alarm on any of them."""
        queue = serverless.dead_letter_queue(
            self,
            "AbortDeadLetterQueue",
            key=self.key,
            dead_letter_of="the abort rule's target and the function's on-failure destination",
        )
        serverless.dead_letter_alarm(
            self,
            "AbortDeadLetterAlarm",
            queue=queue,
            topic=self.topic,
            description=(
                "A stopped traffic shift could not be rolled back automatically: check the "
                f"weights of {self.endpoint.endpoint_name} and its shift lock tags"
            ),
        )
        return queue

    def _grant(self, gating: Sequence[cloudwatch.IAlarm]) -> None:
        fn = self._function_grantee
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
            fn.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[a.alarm_arn for a in gating],
                )
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
