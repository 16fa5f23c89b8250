"""Data-drift monitoring: a scheduled, streaming check of captured traffic against a baseline.

An EventBridge schedule starts a Step Functions state machine. Its first step
lists the capture objects of the window and either reads them in one Lambda
invocation or, past ``max_objects_per_invocation``, fans out over them with a
Distributed Map whose batches write partial counts to S3; a last step sums
them. Both ways end in the same code, which scores each feature, writes a
JSON report, publishes CloudWatch metrics and emits an EventBridge event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

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
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from cdk_sagemaker_hosting import serverless, validation
from cdk_sagemaker_hosting._lambda.drift.monitor import EVENT_DETAIL_TYPE, EVENT_SOURCE
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.data_capture import DataCapture
from cdk_sagemaker_hosting.encrypted_bucket import EncryptedBucket
from cdk_sagemaker_hosting.endpoint import EndpointBase
from constructs import Construct

#: Where the metrics go unless told otherwise.
DEFAULT_NAMESPACE = "SageMakerHosting/DataDrift"
#: Memory of the function: 1,769 MB is one full vCPU, which the check uses alone.
DEFAULT_MEMORY_MB = 1769


@dataclasses.dataclass(frozen=True, kw_only=True)
class DriftThresholds:
    """When a feature, and the dataset, drift (the README explains each choice).

    :param psi: Population Stability Index of a numeric feature. Default: 0.2.
    :param jensen_shannon: Jensen-Shannon distance (base 2, 0-1) of a
        categorical feature. Default: 0.1.
    :param linf: L-infinity distance of a categorical feature, when it is the
        metric. Default: 0.1.
    :param categorical_metric: ``"jensen_shannon"`` or ``"linf"``. Default:
        ``"jensen_shannon"``.
    :param dataset_share: share of the features scored that must drift for
        the dataset to drift. Default: 0.5.
    :param min_records: fewer records used in a window (or values of a
        feature) give "insufficient_data", never "no_drift". Default: 500.
    :param epsilon: proportion an empty PSI bin counts as. Default: 1e-4.
    """

    psi: float = 0.2
    jensen_shannon: float = 0.1
    linf: float = 0.1
    categorical_metric: str = "jensen_shannon"
    dataset_share: float = 0.5
    min_records: int = 500
    epsilon: float = 1e-4


class DriftMonitor(Construct):
    """Check an endpoint's captured traffic for data drift on a schedule.

    Every ``schedule`` tick (default hourly) the check reads the capture
    objects of each variant written in the last ``window`` (default one hour,
    aligned, ending ``capture_delay`` before the scheduled time so late
    objects are in), compares each feature's distribution with the baseline
    at ``baseline_key`` (see ``cdk-sagemaker-hosting baseline``; a Model
    Monitor ``statistics.json`` works too), and per variant:

    * writes a JSON report to
      ``<report_prefix><endpoint>/<variant>/yyyy/mm/dd/HHMM.json`` (window start);
    * publishes metrics in ``metric_namespace`` with dimensions
      ``EndpointName`` and ``VariantName``: ``DatasetDrift`` (1 or 0; absent
      when data is insufficient), ``DriftShare``, ``InsufficientData``,
      ``RecordsRead``, ``RecordsRejected``, ``LinesRejected``, and
      ``FeatureDriftScore`` (with ``FeatureName`` too);
    * emits an event (source ``cdk-sagemaker-hosting.drift``, detail-type
      ``SageMaker Data Drift Check``) on ``event_bus``: see :meth:`on_drift`.

    An alarm per variant on ``DatasetDrift`` notifies ``topic``; so does an
    alarm on failed runs and on schedule events that could not be delivered.
    Windows holding more than ``max_objects_per_invocation`` objects are
    read by a Step Functions Distributed Map, ``objects_per_batch`` objects
    per child, at most ``max_concurrency`` at once.

    Least privilege: the function may read the endpoint's capture folder
    (``<capture prefix><endpoint>/``), the baseline object, its own scratch
    folder (``<report_prefix>_runs/``), write under ``report_prefix``, put
    metrics in its namespace only and events on its bus only. Grants go to
    customer-managed policies.

    Construct IDs (a public contract): ``Key`` (when created), ``FunctionLogs``,
    ``FunctionRole``, ``FunctionPolicy``, ``FunctionRoleRef``, ``Function``,
    ``StateMachineLogs``, ``Role``, ``Policy``, ``RoleRef``, ``Plan``,
    ``OneOrMany``, ``Check``, ``CountBatches``, ``Count``, ``Finish`` (the
    states), ``Resource`` (the ``AWS::StepFunctions::StateMachine``),
    ``Schedule``, ``ScheduleRole``, ``SchedulePolicy``, ``DeadLetterQueue``,
    ``DefaultBus`` (when no bus is given), ``Topic`` (when created),
    ``<variant>DatasetDrift`` (the alarms), ``FailedAlarm``, ``DeadLetterAlarm``.

    :param endpoint: the endpoint whose traffic is captured.
    :param data_capture: the endpoint's data capture (bucket and prefix); it
        must capture input.
    :param baseline_key: the baseline's key in ``baseline_bucket``.
    :param baseline_bucket: Default: the capture bucket.
    :param variant_names: the variants to check. Default: the endpoint's
        (shadow included); required for an imported endpoint.
    :param report_bucket: where reports go. Default: the capture bucket.
    :param report_prefix: ending with ``/``. Default: ``"drift-reports/"``.
    :param schedule: when to check. Default: ``rate(1 hour)``.
    :param window: how much traffic a check reads, 5 minutes to 1 day, in
        whole minutes. Default: 1 hour.
    :param capture_delay: how long after a window ends its check waits for
        late capture objects, 0 to 1 hour. Default: 5 minutes.
    :param thresholds: Default: :class:`DriftThresholds` defaults.
    :param max_objects_per_invocation: a window with more capture objects is
        read by a Distributed Map. Default: 200.
    :param objects_per_batch: capture objects per child of the Map (1-1000).
        Default: 50.
    :param max_concurrency: children of the Map at once (1-1000). Default: 10.
    :param memory_size_mb: of the function. Default: 1769 (one vCPU).
    :param timeout: of one invocation (1-15 minutes). Default: 15 minutes.
    :param metric_namespace: Default: ``"SageMakerHosting/DataDrift"``.
    :param event_bus: where events go. Default: the account's default bus.
    :param topic: where alarms notify. Default: a new encrypted, TLS-only topic.
    :param alarm: an alarm per variant on dataset drift. Default: ``True``;
        ``False`` adds a warning.
    :param scratch_expiration: how long manifests and partial counts are kept
        (a lifecycle rule on the report bucket). Default: 7 days.
    :param encryption_key: KMS key for the log groups, dead-letter queue and
        topic. Default: a new key with rotation.
    :param log_retention: Default: one year.
    :param removal_policy: for the key and the log groups. Default: ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: EndpointBase,
        data_capture: DataCapture,
        baseline_key: str,
        baseline_bucket: EncryptedBucket | None = None,
        variant_names: Sequence[str] | None = None,
        report_bucket: EncryptedBucket | None = None,
        report_prefix: str = "drift-reports/",
        schedule: events.Schedule | None = None,
        window: Duration | None = None,
        capture_delay: Duration | None = None,
        thresholds: DriftThresholds | None = None,
        max_objects_per_invocation: int = 200,
        objects_per_batch: int = 50,
        max_concurrency: int = 10,
        memory_size_mb: int = DEFAULT_MEMORY_MB,
        timeout: Duration | None = None,
        metric_namespace: str = DEFAULT_NAMESPACE,
        event_bus: events.IEventBus | None = None,
        topic: sns.ITopic | None = None,
        alarm: bool = True,
        scratch_expiration: Duration | None = None,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        schedule = schedule or events.Schedule.rate(Duration.hours(1))
        window = window or Duration.hours(1)
        capture_delay = capture_delay if capture_delay is not None else Duration.minutes(5)
        timeout = timeout or Duration.minutes(15)
        thresholds = thresholds or DriftThresholds()
        shadow = getattr(endpoint, "shadow_variant", None)
        known = [*getattr(endpoint, "variants", []), *([shadow] if shadow else [])]
        names = list(variant_names or [v.variant_name for v in known])
        self.baseline_bucket = baseline_bucket or data_capture.destination
        self.report_bucket = report_bucket or data_capture.destination
        validation.check_schedule_expression(self, "schedule", schedule.expression_string)
        validation.check_drift_monitor(
            self,
            variant_names=names,
            capture_input=data_capture.capture_input,
            capture_prefix=data_capture.prefix,
            same_bucket=self.report_bucket is data_capture.destination,
            baseline_key=baseline_key,
            report_prefix=report_prefix,
            window_seconds=window.to_seconds(),
            capture_delay_seconds=capture_delay.to_seconds(),
            thresholds=thresholds,
            max_objects_per_invocation=max_objects_per_invocation,
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
            memory_size_mb=memory_size_mb,
            timeout_seconds=timeout.to_seconds(),
            metric_namespace=metric_namespace,
        )
        self.endpoint = endpoint
        self.variant_names = names
        self.metric_namespace = metric_namespace
        self.window = window
        self.report_prefix = report_prefix
        stack = Stack.of(self)
        if not alarm:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:NoDriftAlarm",
                "alarm=False: dataset drift is reported and emitted as an event, but no alarm "
                "notifies anyone.",
            )

        self.encryption_key: kms.IKey = encryption_key or serverless.encryption_key(
            self,
            "Key",
            f"Encrypts the logs, dead-letter queue and alarms of {self.node.path}",
            removal_policy,
        )
        self.event_bus: events.IEventBus = event_bus or events.EventBus.from_event_bus_name(
            self, "DefaultBus", "default"
        )
        scratch = f"{report_prefix}_runs/"
        self.report_bucket.bucket.add_lifecycle_rule(
            id=f"expire-drift-scratch-{Names.unique_id(self)[-8:]}",
            prefix=scratch,
            expiration=scratch_expiration or Duration.days(7),
        )

        self.function = self._function(
            stack,
            config={
                "endpoint": endpoint.endpoint_name,
                "variants": names,
                "capture_bucket": data_capture.destination.bucket_name,
                "capture_prefix": data_capture.prefix,
                "baseline_bucket": self.baseline_bucket.bucket_name,
                "baseline_key": baseline_key,
                "report_bucket": self.report_bucket.bucket_name,
                "report_prefix": report_prefix,
                "namespace": metric_namespace,
                "event_bus": self.event_bus.event_bus_arn,
                "window_seconds": int(window.to_seconds()),
                "delay_seconds": int(capture_delay.to_seconds()),
                "max_objects": max_objects_per_invocation,
                "thresholds": dataclasses.asdict(thresholds),
            },
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        data_capture.destination.grant_read_prefix(
            self._function_principal, f"{data_capture.prefix}{endpoint.endpoint_name}/"
        )
        self.baseline_bucket.grant_read_object(self._function_principal, baseline_key)
        self.report_bucket.grant_write_prefix(self._function_principal, report_prefix)
        self.report_bucket.grant_read_prefix(self._function_principal, scratch)

        self.state_machine = self._state_machine(
            stack,
            scratch=scratch,
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
            timeout=timeout,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.rule, self.dead_letter_queue = serverless.scheduled_execution(
            self,
            "Schedule",
            state_machine=self.state_machine,
            schedule=schedule,
            key=self.encryption_key,
            dead_letter_queue_id="DeadLetterQueue",
            description=f"Starts the drift check {self.node.path}",
            role_description=f"Starts the drift checks of {self.node.path} on schedule",
            # The scheduled time: the window, and so the report, follow from it.
            rule_input=events.RuleTargetInput.from_object({"time": events.EventField.time}),
        )
        self.topic: sns.ITopic = topic or serverless.encrypted_topic(
            self, "Topic", self.encryption_key
        )
        action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        if alarm:
            period = min(int(window.to_seconds()), 86400)
            periods = 2 if period <= 43200 else 1
            for name in names:
                drift_alarm = cloudwatch.Alarm(
                    self,
                    f"{name}DatasetDrift",
                    metric=self.metric_dataset_drift(name),
                    threshold=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    evaluation_periods=periods,
                    datapoints_to_alarm=1,
                    # No datapoint means no verdict (too little data, or no check):
                    # the alarm says INSUFFICIENT_DATA rather than OK.
                    treat_missing_data=cloudwatch.TreatMissingData.MISSING,
                    alarm_description=f"Data drift in variant {name} of "
                    f"{endpoint.endpoint_name}: at least {thresholds.dataset_share:.0%} of the "
                    "features drifted from the baseline; see the drift report",
                )
                drift_alarm.add_alarm_action(action)
                self.alarms[name] = drift_alarm
        self.failed_alarm = serverless.failed_executions_alarm(
            self,
            "FailedAlarm",
            state_machine=self.state_machine,
            topic=self.topic,
            label="Drift checks failed, timed out or aborted",
            description=f"A drift check of {endpoint.endpoint_name} failed, timed out or "
            "was aborted: no verdict for its window; see the execution history",
        )
        self.dead_letter_alarm = serverless.dead_letter_alarm(
            self,
            "DeadLetterAlarm",
            queue=self.dead_letter_queue,
            topic=self.topic,
            description=f"The schedule of {self.node.path} could not start a drift "
            "check; the undelivered event is in the dead-letter queue",
        )

    # --- the function ----------------------------------------------------------

    def _function(
        self,
        stack: Stack,
        *,
        config: dict[str, object],
        memory_size_mb: int,
        timeout: Duration,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> aws_lambda.Function:
        function, principal = serverless.handler_function(
            self,
            "Function",
            function="drift",
            key=self.encryption_key,
            description=f"Drift check of {self.node.path}: plan, check, count, finish",
            timeout=timeout,
            memory_size=memory_size_mb,
            environment={"DRIFT_CONFIG": stack.to_json_string(config)},
            retention=retention,
            removal_policy=removal_policy,
        )
        self._function_principal = principal
        add = principal.add_to_policy
        add(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": self.metric_namespace}},
            )
        )
        add(
            iam.PolicyStatement(
                actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn]
            )
        )
        acknowledge(
            principal.policy,
            "cloudwatch:PutMetricData has no resource-level permission; it is limited to the "
            f"namespace {self.metric_namespace} by condition.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        return function

    # --- the state machine -----------------------------------------------------

    def _state_machine(
        self,
        stack: Stack,
        *,
        scratch: str,
        objects_per_batch: int,
        max_concurrency: int,
        timeout: Duration,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> sfn.StateMachine:
        name = Names.unique_resource_name(self, max_length=80, separator="-")

        def invoke(
            construct_id: str, comment: str, payload: dict[str, object]
        ) -> tasks.LambdaInvoke:
            return tasks.LambdaInvoke(
                self,
                construct_id,
                comment=comment,
                lambda_function=self.function,
                payload=sfn.TaskInput.from_object(payload),
                payload_response_only=True,
                retry_on_service_exceptions=True,
                result_path="$.result" if construct_id != "Plan" else "$.plan",
            )

        plan = invoke(
            "Plan",
            "List the window's capture objects into a manifest; one pass or a Map?",
            {
                "action": "plan",
                "time": sfn.JsonPath.string_at("$.time"),
                "run": sfn.JsonPath.execution_name,
            },
        )
        check = invoke(
            "Check",
            "Read every object in this invocation; score, report, publish",
            {"action": "check", "plan": sfn.JsonPath.object_at("$.plan")},
        )
        count_batches = sfn.DistributedMap(
            self,
            "CountBatches",
            comment="Each batch of capture objects writes its partial counts to S3",
            item_reader=sfn.S3JsonItemReader(
                bucket=self.report_bucket.bucket,
                key=sfn.JsonPath.string_at("$.plan.manifest.key"),
            ),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=objects_per_batch,
                batch_input={"run": sfn.JsonPath.string_at("$.plan.run")},
            ),
            max_concurrency=max_concurrency,
            # Children write their counts to S3; their outputs would only
            # swell the state past Step Functions' 256 KB payload limit.
            result_path=sfn.JsonPath.DISCARD,
            label="CountBatches",
        )
        count_batches.item_processor(
            tasks.LambdaInvoke(
                self,
                "Count",
                comment="Count one batch of capture objects",
                lambda_function=self.function,
                payload=sfn.TaskInput.from_object(
                    {
                        "action": "count",
                        "run": sfn.JsonPath.string_at("$.BatchInput.run"),
                        "items": sfn.JsonPath.list_at("$.Items"),
                    }
                ),
                payload_response_only=True,
                retry_on_service_exceptions=True,
            )
        )
        finish = invoke(
            "Finish",
            "Sum the partial counts; score, report, publish",
            {"action": "finish", "plan": sfn.JsonPath.object_at("$.plan")},
        )
        choice = (
            sfn.Choice(self, "OneOrMany", comment="Few objects: one pass; many: a Map")
            .when(sfn.Condition.string_equals("$.plan.mode", "map"), count_batches.next(finish))
            .otherwise(check)
        )
        built = serverless.logged_state_machine(
            self,
            "Resource",
            definition=plan.next(choice),
            key=self.encryption_key,
            timeout=Duration.minutes(max(60, 3 * int(timeout.to_minutes()) + 15)),
            comment=f"Data drift check of {self.node.path}",
            functions=[self.function],
            statements=self._state_machine_statements(stack, name),
            state_machine_name=name,
            role_description=f"Runs the drift checks of {self.node.path}",
            trust_account_only=True,
            id_prefix="",
            log_group_id="StateMachineLogs",
            log_name_suffix="-states",
            retention=retention,
            removal_policy=removal_policy,
        )
        # The Distributed Map's own inline policy would never be attached (the
        # role is immutable); the managed policy holds its narrower statements.
        built.state_machine.node.try_remove_child("DistributedMapPolicy")
        # The Map's item reader reads the manifest the plan step wrote.
        self.report_bucket.grant_read_object(built.principal, f"{scratch}*")
        bucket_id = Stack.of(self.report_bucket).get_logical_id(
            self.report_bucket.bucket.node.default_child  # type: ignore[arg-type]
        )
        acknowledge(
            built.principal.policy,
            "The Map's child executions are named at run time (matched under this state "
            f"machine, {name}/*); the manifests are written per run under {scratch}.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
            f"<AWS::AccountId>:execution:{name}/*]",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{scratch}*]",
        )
        return built.state_machine

    def _state_machine_statements(self, stack: Stack, name: str) -> list[iam.PolicyStatement]:
        """The Distributed Map runs child workflows of this state machine."""
        machine_arn = Arn.format(
            ArnComponents(
                service="states",
                resource="stateMachine",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            stack,
        )
        executions = Arn.format(
            ArnComponents(
                service="states",
                resource="execution",
                resource_name=f"{name}/*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            stack,
        )
        return [
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine_arn]),
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[executions],
            ),
        ]

    # --- public helpers --------------------------------------------------------

    def metric(
        self, metric_name: str, variant_name: str, *, statistic: str = "Maximum", **extra: str
    ) -> cloudwatch.Metric:
        """A drift metric of one variant, over one window."""
        return cloudwatch.Metric(
            namespace=self.metric_namespace,
            metric_name=metric_name,
            dimensions_map={
                "EndpointName": self.endpoint.endpoint_name,
                "VariantName": variant_name,
                **extra,
            },
            statistic=statistic,
            period=Duration.seconds(min(int(self.window.to_seconds()), 86400)),
        )

    def metric_dataset_drift(self, variant_name: str) -> cloudwatch.Metric:
        """1 when the variant's window drifted, 0 when not; absent on insufficient data."""
        return self.metric("DatasetDrift", variant_name)

    def metric_drift_share(self, variant_name: str) -> cloudwatch.Metric:
        """Share of the features scored that drifted."""
        return self.metric("DriftShare", variant_name)

    def metric_feature_drift(self, variant_name: str, feature_name: str) -> cloudwatch.Metric:
        """One feature's score (PSI, or the categorical distance)."""
        return self.metric("FeatureDriftScore", variant_name, FeatureName=feature_name)

    def on_drift(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule matching this endpoint's dataset-drift events, e.g. to start retraining."""
        return events.Rule(
            self,
            construct_id,
            event_bus=self.event_bus,
            description=f"Dataset drift found by {self.node.path}",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=[EVENT_DETAIL_TYPE],
                detail={"endpoint": [self.endpoint.endpoint_name], "verdict": ["drift"]},
            ),
            targets=[target] if target else None,
        )

    @property
    def state_machine_arn(self) -> str:
        """The state machine's ARN."""
        return self.state_machine.state_machine_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run a check outside the schedule (input ``{"time": ISO 8601}``)."""
        return self.state_machine.grant_start_execution(grantee)
