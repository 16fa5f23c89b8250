"""Data-drift monitoring: a scheduled, streaming check of captured traffic against a baseline.

An EventBridge schedule starts a Step Functions state machine. Its first step
lists the capture objects of the window and either reads them in one Lambda
invocation or, past ``max_objects_per_invocation``, fans out over them with a
Distributed Map whose batches write partial counts to S3; a last step sums
them. Both ways end in the same code, which scores each feature, writes a
JSON report, publishes CloudWatch metrics and emits an EventBridge event.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting._lambda.drift import monitor, report
from cdk_sagemaker_hosting._lambda.drift.monitor import EVENT_DETAIL_TYPE, EVENT_SOURCE
from cdk_sagemaker_hosting.data_capture import DataCapture
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, BucketLike
from cdk_sagemaker_hosting.endpoint import EndpointBase
from cdk_sagemaker_hosting.workflow import (
    Workflow,
    check_map_and_function,
    check_schedule,
    distributed_map_statements,
    expire_scratch,
    function_step,
    grant_distributed_maps,
    grant_metrics_and_events,
    manifest_map,
    refuse,
    same_bucket,
    scratch_rule,
    variant_alarms,
    verdict_rule,
    warn_of_unknown_keys,
    warn_of_window_schedule,
    window_metric,
)
from constructs import Construct

#: Where the metrics go unless told otherwise.
DEFAULT_NAMESPACE = "SageMakerHosting/DataDrift"
#: Memory of the function: 1,769 MB is one full vCPU, which the check uses alone.
DEFAULT_MEMORY_MB = 1769

#: When a feature, and the dataset, drift: the function's own thresholds
#: (``lambda/drift/report.py``), so the construct and its function read one
#: set of fields, defaults and rules (the README explains each choice).
#:
#: ``psi`` (numeric features, default 0.2), ``jensen_shannon`` (categorical,
#: base 2, 0-1, default 0.1), ``linf`` (categorical, when it is the metric,
#: default 0.1), ``categorical_metric`` (``"jensen_shannon"`` or ``"linf"``),
#: ``dataset_share`` (share of the features scored that must drift for the
#: dataset to drift; default ``None``: any feature drifting makes it drift),
#: ``min_records`` (fewer records, or values of a feature, give
#: "insufficient_data", never "no_drift"; default 500),
#: ``new_categories`` (share of values in categories the baseline did not
#: keep at which a categorical feature drifts, default 0.05), ``epsilon``
#: (proportion an empty PSI bin counts as; default ``None``: half a value of
#: its own sample).
DriftThresholds = report.Thresholds

#: The function's configuration fields, by the construct's names for them.
_PROPS = {
    "variants": "variant_names",
    "capture_prefix": "data_capture.prefix",
    "window_seconds": "window",
    "delay_seconds": "capture_delay",
    "max_objects": "max_objects_per_invocation",
    "namespace": "metric_namespace",
}
_SECONDS = ("window_seconds", "delay_seconds")


class DriftMonitor(Workflow):
    """Check an endpoint's captured traffic for data drift on a schedule.

    Every ``schedule`` tick (default hourly) the check reads the capture
    objects of each variant written in the last ``window`` (default one hour,
    aligned, ending ``capture_delay`` before the scheduled time so late
    objects are in), compares each feature's distribution with the baseline
    at ``baseline_key`` (see ``cdk-sagemaker-hosting baseline``; a Model
    Monitor ``statistics.json`` works too), and per variant:

    * writes a JSON report to
      ``<report_prefix><endpoint>/<variant>/yyyy/mm/dd/HHMM.json`` (window start)
      and the same report for people, one self-contained HTML page with a
      chart per feature, beside it (``HHMM.html``);
    * publishes metrics in ``metric_namespace`` with dimensions
      ``EndpointName`` and ``VariantName``: ``DatasetDrift`` (1 or 0; absent
      when data is insufficient), ``DriftShare``, ``InsufficientData``,
      ``RecordsRead``, ``RecordsRejected``, ``LinesRejected``, and
      ``FeatureDriftScore`` (with ``FeatureName`` too);
    * emits an event (source ``cdk-sagemaker-hosting.drift``, detail-type
      ``SageMaker Data Drift Check``) on ``event_bus``: see :meth:`on_drift`.

    An alarm per variant on ``DatasetDrift`` (by default: any monitored
    feature drifted) notifies ``topic``; so does
    ``failed_alarm`` on failed runs and ``dead_letter_alarm`` on schedule
    events that could not be delivered. Windows holding more than
    ``max_objects_per_invocation`` objects are read by a Step Functions
    Distributed Map, ``objects_per_batch`` objects per child, at most
    ``max_concurrency`` at once.

    The props are checked at synth time with the function's own
    configuration (``lambda/drift/monitor.py``, the ``DRIFT_CONFIG`` it
    reads) and thresholds: a monitor the construct accepts is one its
    function runs.

    Buckets: the capture bucket is the endpoint's (``data_capture``); the
    baseline and the reports are in it too unless ``baseline_bucket`` or
    ``report_bucket`` say otherwise. Each may be any ``s3.IBucket`` (created
    anywhere, or imported) with its KMS key (``*_encryption_key``, or the
    bucket's own), or an :class:`EncryptedBucket`. The monitor writes no
    resource policy to any of them: its grants are its own roles' policies.

    Scratch files (manifests and partial counts under
    ``<report_prefix>_runs/<endpoint>/``) expire through
    :attr:`scratch_lifecycle_rule`.
    The monitor adds that rule to the report bucket itself only when the
    bucket is an ``s3.Bucket`` (or :class:`EncryptedBucket`) of the
    monitor's own stack, and says so in an info annotation; any other bucket
    (imported, or in another stack, which the monitor must not change behind
    its owner's back) gets a warning annotation naming the rule to add.
    ``add_scratch_lifecycle_rule=False`` leaves every bucket alone, silently:
    you manage the expiry. Reports and scratch are per endpoint, so monitors
    of several endpoints may share a bucket and prefix without reading or
    overwriting each other's.

    Least privilege: the function may read the endpoint's capture folder
    (``<capture prefix><endpoint>/``), the baseline object, its own scratch
    folder (``<report_prefix>_runs/<endpoint>/``); write its endpoint's
    reports (``<report_prefix><endpoint>/``) and its scratch folder only; put
    metrics in its namespace only and events on its bus only; the state
    machine reads the manifests in that scratch folder only. Grants go to
    customer-managed policies.

    Construct IDs (a public contract, those of every
    ``Workflow``): ``Key`` (when
    created), ``Topic`` (when created), ``Function``, ``FunctionRole``,
    ``FunctionPolicy``, ``FunctionRoleRef``, ``FunctionLogs``, ``Resource``
    (the ``AWS::StepFunctions::StateMachine``), ``Role``, ``Policy``,
    ``RoleRef``, ``Logs``, ``FailedAlarm``, ``Schedule``, ``ScheduleRole``,
    ``SchedulePolicy``, ``DeadLetterQueue``, ``DeadLetterAlarm``,
    ``DefaultBus`` (when no bus is given), ``<variant>DatasetDrift`` (the
    alarms); the states ``Plan``, ``OneOrMany``, ``Check``,
    ``CountBatches``, ``Count``, ``Finish``.

    :param endpoint: the endpoint whose traffic is captured.
    :param data_capture: the endpoint's data capture (bucket, key and
        prefix); it must capture input. Default: the endpoint's own (an
        :class:`Endpoint`'s, or what ``Endpoint.from_endpoint_attributes``
        was given); an endpoint that captures nothing is refused.
    :param baseline_key: the baseline's key in ``baseline_bucket``.
    :param baseline_bucket: Default: the capture bucket.
    :param baseline_encryption_key: the KMS key of the baseline object, for
        a bucket that does not carry it. Default: the bucket's own.
    :param variant_names: the variants to check. Default: the endpoint's
        (shadow included); required for an endpoint that knows no variants
        (imported by name or ARN).
    :param report_bucket: where reports go. Default: the capture bucket.
    :param report_encryption_key: the KMS key reports are written with, for
        a bucket that does not carry it. Default: the bucket's own.
    :param report_prefix: ending with ``/``. Default: ``"drift-reports/"``.
    :param schedule: when to check. Default: ``rate(1 hour)``.
    :param window: how much traffic a check reads, 5 minutes to 1 day, in
        whole minutes. Default: 1 hour.
    :param capture_delay: how long after a window ends its check waits for
        late capture objects, 0 to 1 hour. Default: 5 minutes.
    :param thresholds: Default: :data:`DriftThresholds` defaults.
    :param max_objects_per_invocation: a window with more capture objects is
        read by a Distributed Map (a whole number, 1-100,000). Default: 200.
    :param objects_per_batch: capture objects per child of the Map (1-1000).
        Default: 50.
    :param max_concurrency: children of the Map at once (1-1000). Default: 10.
    :param memory_size_mb: of the function (128-10,240). Default: 1769 (one vCPU).
    :param timeout: of one invocation (1-15 minutes). Default: 15 minutes.
    :param metric_namespace: Default: ``"SageMakerHosting/DataDrift"``.
    :param event_bus: where events go. Default: the account's default bus.
    :param topic: where alarms notify. Default: a new encrypted, TLS-only topic.
    :param alarm: an alarm per variant on dataset drift. Default: ``True``;
        ``False`` adds a warning.
    :param scratch_expiration: how long manifests and partial counts are
        kept (:attr:`scratch_lifecycle_rule`). Default: 7 days.
    :param add_scratch_lifecycle_rule: add that rule to the report bucket
        when the monitor may (see above). Default: ``True``.
    :param encryption_key: KMS key of the log groups, dead-letter queue and
        a created topic. Default: a new key with rotation.
    :param log_retention: Default: one year.
    :param removal_policy: for a created key and the log groups. Default: ``RETAIN``.
    """

    #: The schedule (``Schedule``).
    rule: events.Rule

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: EndpointBase,
        baseline_key: str,
        data_capture: DataCapture | None = None,
        baseline_bucket: BucketLike | None = None,
        baseline_encryption_key: kms.IKey | None = None,
        variant_names: Sequence[str] | None = None,
        report_bucket: BucketLike | None = None,
        report_encryption_key: kms.IKey | None = None,
        report_prefix: str = "drift-reports/",
        schedule: events.Schedule | None = None,
        window: Duration | None = None,
        capture_delay: Duration | None = None,
        thresholds: report.Thresholds | None = None,
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
        add_scratch_lifecycle_rule: bool = True,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            key_use="drift checks' logs, alarm topic and dead-letter queue",
            encryption_key=encryption_key,
            topic=topic,
            removal_policy=removal_policy,
            log_retention=log_retention,
        )
        validation.check_type(self, "endpoint", endpoint, EndpointBase, "an Endpoint")
        for prop, value, kind, what in (
            ("data_capture", data_capture, DataCapture, "a DataCapture"),
            ("schedule", schedule, events.Schedule, "an events.Schedule"),
            ("window", window, Duration, "a Duration"),
            ("capture_delay", capture_delay, Duration, "a Duration"),
            ("timeout", timeout, Duration, "a Duration"),
            ("scratch_expiration", scratch_expiration, Duration, "a Duration"),
            ("thresholds", thresholds, DriftThresholds, "a DriftThresholds"),
        ):
            validation.check_optional_type(self, prop, value, kind, what)
        schedule = schedule or events.Schedule.rate(Duration.hours(1))
        window = window or Duration.hours(1)
        capture_delay = capture_delay if capture_delay is not None else Duration.minutes(5)
        timeout = timeout or Duration.minutes(15)
        thresholds = thresholds or DriftThresholds()
        capture = self._capture(endpoint, data_capture)
        names = self._variant_names(endpoint, variant_names)
        check_schedule(self, "schedule", schedule)
        self.capture_access = capture.bucket_access(self, "data_capture")
        self.baseline_access = (
            BucketAccess.of(self, "baseline_bucket", baseline_bucket, baseline_encryption_key)
            if baseline_bucket is not None
            else same_bucket(
                self, "baseline_encryption_key", baseline_encryption_key, self.capture_access
            )
        )
        self.report_access = (
            BucketAccess.of(self, "report_bucket", report_bucket, report_encryption_key)
            if report_bucket is not None
            else same_bucket(
                self, "report_encryption_key", report_encryption_key, self.capture_access
            )
        )
        warn_of_unknown_keys(
            self,
            "DriftBucketKeyUnknown",
            [
                ("data_capture.encryption_key", self.capture_access),
                ("baseline_encryption_key", self.baseline_access),
                ("report_encryption_key", self.report_access),
            ],
        )
        self.endpoint = endpoint
        self.data_capture = capture
        self.variant_names = names
        self.metric_namespace = metric_namespace
        self.window = window
        self.report_prefix = report_prefix
        self.event_bus = self._default_event_bus(event_bus)
        self.config = monitor.Config(
            endpoint=endpoint.endpoint_name,
            variants=tuple(names),
            capture_bucket=self.capture_access.bucket_name,
            capture_prefix=capture.prefix,
            baseline_bucket=self.baseline_access.bucket_name,
            baseline_key=baseline_key,
            report_bucket=self.report_access.bucket_name,
            report_prefix=report_prefix,
            namespace=metric_namespace,
            event_bus=self.event_bus.event_bus_arn,
            window_seconds=validation.whole_seconds(self, "window", window),
            delay_seconds=validation.whole_seconds(self, "capture_delay", capture_delay),
            max_objects=max_objects_per_invocation,
            thresholds=thresholds,
        )
        refuse(
            self,
            self.config.problems(validation.is_token),
            props=_PROPS,
            seconds=_SECONDS,
        )
        check_map_and_function(
            self,
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            alarm=alarm,
        )
        warn_of_window_schedule(
            self,
            code="Drift",
            schedule=schedule,
            window_seconds=self.config.window_seconds,
            repeated="its report rewritten and its drift event emitted each time",
        )
        stack = Stack.of(self)
        if not alarm:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:NoDriftAlarm",
                "alarm=False: dataset drift is reported and emitted as an event, but no alarm "
                "notifies anyone.",
            )
        # The endpoint's own scratch folder, as the function derives it: not
        # another endpoint's manifests and partial counts under the same prefix.
        scratch = self.config.scratch_prefix()
        #: Expires the scratch files; see the class documentation for where it goes.
        self.scratch_lifecycle_rule = scratch_rule(self, scratch, scratch_expiration, name="drift")
        if add_scratch_lifecycle_rule:
            expire_scratch(
                self,
                self.report_access.bucket,
                self.scratch_lifecycle_rule,
                what="the drift checks' manifests and partial counts",
                warning="DriftScratchNotExpired",
                bucket_label="report bucket",
            )

        principal = self._add_function(
            "drift",
            description=f"Drift check of {self.node.path}: plan, check, count, finish",
            timeout=timeout,
            memory_size=memory_size_mb,
            # The configuration as the function reads it (monitor.Config.from_json).
            environment={"DRIFT_CONFIG": stack.to_json_string(self.config.to_json())},
        )
        grant_metrics_and_events(principal, namespace=metric_namespace, event_bus=self.event_bus)
        self.capture_access.grant_read_prefix(
            principal, f"{capture.prefix}{endpoint.endpoint_name}/"
        )
        self.baseline_access.grant_read_object(principal, baseline_key)
        # Its endpoint's reports and its scratch only: not another endpoint's
        # reports under the same prefix, nor its scratch.
        self.report_access.grant_write_prefix(principal, self.config.report_folder())
        self.report_access.grant_write_prefix(principal, scratch)
        self.report_access.grant_read_prefix(principal, scratch)

        self._state_machine(
            scratch=scratch,
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
            timeout=timeout,
        )
        self.rule = self._add_schedule(
            schedule,
            description=f"Starts the drift check {self.node.path}",
            role_description=f"Starts the drift checks of {self.node.path} on schedule",
            dead_letter_description=f"The schedule of {self.node.path} could not start a drift "
            "check; the undelivered event is in the dead-letter queue",
            # The scheduled time: the window, and so the report, follow from it.
            rule_input=events.RuleTargetInput.from_object({"time": events.EventField.time}),
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        if alarm:
            self.alarms = variant_alarms(
                self,
                names,
                suffix="DatasetDrift",
                metric=self.metric_dataset_drift,
                description=lambda name: (
                    f"Data drift in variant {name} of "
                    f"{endpoint.endpoint_name}: {_drifted(thresholds)} from the baseline; "
                    "see the drift report"
                ),
                topic=self.topic,
                window_seconds=int(window.to_seconds()),
            )

    # --- props -----------------------------------------------------------------

    def _capture(self, endpoint: EndpointBase, given: DataCapture | None) -> DataCapture:
        """The endpoint's capture: it must exist and hold the requests."""
        own = endpoint.data_capture
        if given is not None and own is not None and given != own:
            validation.fail(
                self,
                "data_capture",
                "another DataCapture",
                f"is not the capture of {endpoint.node.path}, so its objects are not where "
                "the endpoint writes; leave data_capture out to read the endpoint's own",
            )
        capture = given or own
        if capture is None:
            validation.fail(
                self,
                "data_capture",
                None,
                f"{endpoint.node.path} captures no traffic, so every check would find no "
                "data: give the endpoint a DataCapture (or, for an imported endpoint, pass "
                "data_capture= or Endpoint.from_endpoint_attributes(data_capture=...))",
            )
        if capture.sampling_percentage == 0:
            validation.fail(
                self,
                "data_capture.sampling_percentage",
                0,
                "the endpoint captures no request, so every check would report insufficient "
                "data; capture a share of the traffic (1-100)",
            )
        if not capture.capture_input:
            validation.fail(
                self,
                "data_capture.capture_input",
                False,
                "the drift check reads the captured requests, so every check would report "
                "insufficient data; capture input (DataCapture(capture_input=True))",
            )
        return capture

    def _variant_names(
        self, endpoint: EndpointBase, variant_names: Sequence[str] | None
    ) -> list[str]:
        """The variants to check: given, or every variant the endpoint knows."""
        known = [v.variant_name for v in endpoint.variant_attributes]
        if variant_names is None:
            if not known:
                validation.fail(
                    self,
                    "variant_names",
                    [],
                    f"name the variants of {endpoint.node.path}: it knows none (imported by "
                    "name or ARN); or import it with Endpoint.from_endpoint_attributes("
                    "variants=...)",
                )
            return known
        if isinstance(variant_names, str):
            validation.fail(self, "variant_names", variant_names, "must be a list of variant names")
        names = list(variant_names)
        for i, name in enumerate(names):
            if known and name not in known and not validation.is_token(name):
                validation.fail(
                    self,
                    f"variant_names[{i}]",
                    name,
                    f"must be a variant of {endpoint.node.path}: {', '.join(known)}",
                )
        return names

    # --- the state machine -----------------------------------------------------

    def _state_machine(
        self,
        *,
        scratch: str,
        objects_per_batch: int,
        max_concurrency: int,
        timeout: Duration,
    ) -> None:
        name = Names.unique_resource_name(self, max_length=80, separator="-")

        def invoke(
            construct_id: str, comment: str, payload: dict[str, object]
        ) -> tasks.LambdaInvoke:
            return function_step(
                self,
                construct_id,
                function=self.function,
                comment=comment,
                payload=payload,
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
        count_batches = manifest_map(
            self,
            "CountBatches",
            comment="Each batch of capture objects writes its partial counts to S3",
            manifests=self.report_access,
            item_selector={
                "run": sfn.JsonPath.string_at("$.plan.run"),
                "item": sfn.JsonPath.object_at("$$.Map.Item.Value"),
            },
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
        )
        count_batches.item_processor(
            function_step(
                self,
                "Count",
                function=self.function,
                comment="Count one batch of capture objects",
                payload={"action": "count", "items": sfn.JsonPath.list_at("$.Items")},
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
        principal = self._add_state_machine(
            plan.next(choice),
            timeout=Duration.minutes(max(60, 3 * int(timeout.to_minutes()) + 15)),
            comment=f"Data drift check of {self.node.path}",
            role_description=f"Runs the drift checks of {self.node.path}",
            functions=[self.function],
            statements=distributed_map_statements(self, name),
            state_machine_name=name,
            failed_label="Drift checks failed, timed out or aborted",
            failed_description=f"A drift check of {self.endpoint.endpoint_name} failed, timed "
            "out or was aborted: no verdict for its window; see the execution history",
        )
        # CDK's inline Map policy goes; the Map's item reader may read the
        # manifest the plan step wrote.
        grant_distributed_maps(
            self.state_machine,
            principal,
            name=name,
            manifests=self.report_access,
            scratch=scratch,
        )

    # --- public helpers --------------------------------------------------------

    def metric(
        self, metric_name: str, variant_name: str, *, statistic: str = "Maximum", **extra: str
    ) -> cloudwatch.Metric:
        """A drift metric of one variant, over one window."""
        return window_metric(
            namespace=self.metric_namespace,
            metric_name=metric_name,
            endpoint_name=self.endpoint.endpoint_name,
            variant_name=variant_name,
            window=self.window,
            statistic=statistic,
            dimensions=extra,
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
        return verdict_rule(
            self,
            construct_id,
            event_bus=self.event_bus,
            description=f"Dataset drift found by {self.node.path}",
            source=EVENT_SOURCE,
            detail_type=EVENT_DETAIL_TYPE,
            endpoint_name=self.endpoint.endpoint_name,
            verdict="drift",
            target=target,
        )

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run a check outside the schedule (input ``{"time": ISO 8601}``)."""
        return self.state_machine.grant_start_execution(grantee)


def _drifted(thresholds: DriftThresholds) -> str:
    """What makes the dataset drift, for the alarm's description."""
    if thresholds.dataset_share is None:
        return "a monitored feature drifted"
    return f"at least {thresholds.dataset_share:.0%} of the features drifted"
