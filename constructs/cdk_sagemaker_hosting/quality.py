"""Model-quality monitoring: captured predictions joined with ground truth on a schedule.

An EventBridge schedule (any rate, minutes included) starts a Step Functions
state machine. Its first step lists the window's capture and ground-truth
objects; a small window is joined in one Lambda invocation, a large one by
two Distributed Maps (the objects' lines split into shards by a hash of
their ID, then one shard joined per child, so no worker holds more than one
shard) and a last step that merges the mergeable counts. Both ways end in
the same code: a JSON report and an HTML page per window, CloudWatch metrics
and an EventBridge event per variant, and an alarm per variant on degraded
quality.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Annotations, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting._lambda.quality import monitor
from cdk_sagemaker_hosting._lambda.quality.counts import PROBLEMS
from cdk_sagemaker_hosting._lambda.quality.monitor import EVENT_DETAIL_TYPE, EVENT_SOURCE
from cdk_sagemaker_hosting._lambda.quality.report import (
    Constraint,
    ConstraintsError,
    constraints_of,
)
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, BucketLike
from cdk_sagemaker_hosting.endpoint import EndpointBase
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
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

__all__ = ["ModelQualityMonitor", "QualityBaseline", "QualityThreshold"]

#: Where the metrics go unless told otherwise.
DEFAULT_NAMESPACE = "SageMakerHosting/ModelQuality"
#: Memory of the function: 1,769 MB is one full vCPU, which the join uses alone.
DEFAULT_MEMORY_MB = 1769

#: When one metric is degraded: the function's own type (``lambda/quality/monitor.py``).
#:
#: ``absolute``: a bound (below it for scores such as accuracy, F1, AUC, R²;
#: above it for errors such as MAE, RMSE, MAPE); ``relative``: a share of the
#: metric's baseline value (``0.05``: more than 5 % worse than the baseline),
#: which needs :meth:`QualityBaseline.from_metrics`. One or both.
QualityThreshold = monitor.MetricThreshold

#: The function's configuration fields, by the construct's names for them.
_PROPS = {
    "variants": "variant_names",
    "problem": "problem_type",
    "key": "join_on",
    "window_seconds": "window",
    "label_delay_seconds": "label_delay",
    "capture_delay_seconds": "capture_delay",
    "max_objects": "max_objects_per_invocation",
    "partition_mb": "partition_size_mb",
    "namespace": "metric_namespace",
    "constraints": "baseline",
    "constraints_key": "baseline",
    "baseline_metrics": "baseline",
}
_SECONDS = ("window_seconds", "label_delay_seconds", "capture_delay_seconds")


@dataclasses.dataclass(frozen=True)
class QualityBaseline:
    """What a window's quality is judged against, besides per-metric thresholds.

    Make one with :meth:`from_constraints_file` (a Model Monitor
    model-quality ``constraints.json`` in the app, read and checked at synth
    time), :meth:`from_constraints_object` (one in S3, read by each check) or
    :meth:`from_metrics` (the baseline's metric values, which relative
    :data:`QualityThreshold`\\ s compare with). ``cdk-sagemaker-hosting
    quality`` over a labelled validation set gives both.
    """

    path: str | None = None
    bucket: BucketLike | None = None
    key: str | None = None
    encryption_key: kms.IKey | None = None
    metrics: Mapping[str, float] | None = None

    @staticmethod
    def from_constraints_file(path: str) -> QualityBaseline:
        """A Model Monitor constraints file in the app (its constraints go into the function)."""
        return QualityBaseline(path=path)

    @staticmethod
    def from_constraints_object(
        bucket: BucketLike, key: str, *, encryption_key: kms.IKey | None = None
    ) -> QualityBaseline:
        """A Model Monitor constraints file in S3, read by every check (the function may read it).

        ``encryption_key``: the object's KMS key, for a bucket that does not carry it.
        """
        return QualityBaseline(bucket=bucket, key=key, encryption_key=encryption_key)

    @staticmethod
    def from_metrics(metrics: Mapping[str, float]) -> QualityBaseline:
        """The baseline's metric values (e.g. ``{"accuracy": 0.93}``), for relative thresholds."""
        return QualityBaseline(metrics=metrics)

    def _constraints(
        self, scope: Construct, problem: str
    ) -> tuple[tuple[Constraint, ...], list[str]]:
        """The constraints of the file at ``path``, and those it holds that cannot be checked."""
        assert self.path is not None
        try:
            document = json.loads(Path(self.path).read_text(encoding="utf-8"))
            found, skipped = constraints_of(document, problem)
        except (OSError, ValueError, ConstraintsError) as error:
            validation.fail(
                scope,
                "baseline",
                self.path,
                f"must be a readable Model Monitor model-quality constraints file: {error}",
            )
        return tuple(found), skipped


class ModelQualityMonitor(Workflow):
    """Join an endpoint's captured predictions with ground truth on a schedule; judge each variant.

    Every ``schedule`` tick (default: every ``window``) the check judges the
    predictions of one ``window`` (default one hour; any whole number of
    minutes from one minute to one day, so checks may run every few minutes,
    not only hourly), aligned and ending ``capture_delay + label_delay``
    before the scheduled time, so every prediction had ``label_delay``
    (default one hour, up to 7 days) for its label to arrive. It reads the
    predictions from the endpoint's data capture (``endpointOutput``) and the
    labels from ``<ground_truth_prefix>yyyy/mm/dd/hh/`` (Model Monitor's
    ground-truth layout, ``groundTruthData`` and ``eventMetadata.eventId``),
    joins them by each record's inference ID when it has one, else its event
    ID (Model Monitor's rule; ``join_on``), and for the window:

    * writes a JSON report to ``<report_prefix><endpoint>/yyyy/mm/dd/HHMM.json``
      (window start) with the whole window's and each variant's records,
      rejections by reason, metrics, violations and verdict, and each
      variant compared with ``reference_variant``; an HTML page beside it;
    * publishes metrics in ``metric_namespace`` with dimensions
      ``EndpointName`` and ``VariantName``: ``Degraded`` (1 or 0; absent on
      insufficient data), ``InsufficientData``, ``RecordsJoined``,
      ``PredictionRecords``, ``LabelRecords``, ``RecordsRejected`` and each
      metric the counts define under its own name (``accuracy``, ``f1``,
      ``roc_auc``, ``rmse``...), timestamped when the check runs;
    * emits an event per variant (source ``cdk-sagemaker-hosting.quality``,
      detail-type ``SageMaker Model Quality Check``) on ``event_bus``: see
      :meth:`on_degraded`.

    A variant is ``degraded`` when a constraint of ``baseline`` or a
    ``thresholds`` entry is violated, ``insufficient_data`` (never ``ok``)
    when fewer than ``min_records`` records joined. An alarm per variant on
    ``Degraded`` notifies ``topic``, as do ``failed_alarm`` (a check failed)
    and ``dead_letter_alarm`` (a schedule event was not delivered).

    The props are checked at synth time with the function's own
    configuration (``lambda/quality/monitor.py``, the ``QUALITY_CONFIG`` it
    reads): a monitor the construct accepts is one its function runs.

    Buckets: capture, ground truth, baseline and reports may be any
    ``s3.IBucket`` (of this stack, another one, or imported) with its KMS key
    (``*_encryption_key``, or the bucket's own), or an
    :class:`EncryptedBucket`. The monitor writes no resource policy to any of
    them. Scratch files (manifests, shards, partial counts under
    ``<report_prefix>_runs/<endpoint>/``) expire through
    :attr:`scratch_lifecycle_rule`, added to the report bucket if it is an
    ``s3.Bucket`` of this stack (an info annotation says so), else named in a
    warning. Reports and scratch are per endpoint, so monitors of several
    endpoints may share a bucket and prefix without reading each other's.

    Least privilege: the function may list and read the endpoint's capture
    folder (``<capture_prefix><endpoint>/``), the ground-truth prefix, the
    constraints object, its own scratch folder; write its endpoint's reports
    and its scratch folder only; put metrics in its namespace only and events
    on its bus only. Grants go to customer-managed policies.

    Construct IDs (those of every ``Workflow``): ``Key``, ``Topic`` (when
    created), ``Function``, ``FunctionRole``, ``FunctionPolicy``,
    ``FunctionRoleRef``, ``FunctionLogs``, ``Resource``, ``Role``,
    ``Policy``, ``RoleRef``, ``Logs``, ``FailedAlarm``, ``Schedule``,
    ``ScheduleRole``, ``SchedulePolicy``, ``DeadLetterQueue``,
    ``DeadLetterAlarm``, ``DefaultBus`` (when no bus is given),
    ``<variant>Degraded`` (the alarms); the states ``Plan``, ``OneOrMany``,
    ``Check``, ``Split``, ``SplitBatch``, ``Join``, ``JoinShard``, ``Finish``.

    :param endpoint: the endpoint (any ``aws_sagemaker.IEndpoint``: an
        :class:`Endpoint`, one imported with ``Endpoint.from_endpoint_*``, or
        another library's).
    :param problem_type: ``"binary"`` (a score from 0 to 1 per prediction),
        ``"multiclass"`` (a class) or ``"regression"`` (a number).
    :param ground_truth_bucket: where the labels are.
    :param ground_truth_prefix: their prefix, ending with ``/``: labels are
        read from ``<prefix>yyyy/mm/dd/hh/``.
    :param ground_truth_encryption_key: the labels' KMS key, for a bucket
        that does not carry it. Default: the bucket's own.
    :param capture_bucket: where the endpoint captures its traffic. Default:
        the endpoint's own data capture (an :class:`Endpoint`'s, or what
        ``Endpoint.from_endpoint_attributes(data_capture=...)`` was given);
        required for any other endpoint.
    :param capture_prefix: the capture's prefix (ending with ``/``). Default:
        the endpoint's data capture's, else ``"data-capture/"``.
    :param capture_encryption_key: the capture's KMS key, for a bucket that
        does not carry it. Default: the bucket's own.
    :param variant_names: the variants to judge. Default: the endpoint's
        (shadow included); required for an endpoint that knows no variants.
    :param reference_variant: the variant the others are compared with in the
        report (e.g. the champion of an A/B test). Default: the one with the
        most joined records.
    :param join_on: the capture's ``eventMetadata`` field the ground truth's
        ``eventId`` names: ``"auto"`` (default: a record's ``inferenceId``
        when it has one, else its ``eventId``, as Model Monitor joins),
        ``"eventId"`` or ``"inferenceId"`` (that field for every record).
    :param prediction_attribute: where a JSON prediction holds its value
        (dotted, e.g. ``"predictions.0.score"``). Default: the first value.
    :param prediction_column: the CSV column of the prediction. Default: 0.
    :param label_attribute: where a JSON label holds its value (dotted).
    :param label_column: the CSV column of the label. Default: 0.
    :param threshold: binary: a score at or above it predicts positive (0-1).
        Default: 0.5.
    :param bins: binary: score bins for ROC AUC and PR AUC (1-100,000).
        Default: 1000.
    :param baseline: a :class:`QualityBaseline`. Default: none (then
        ``thresholds`` must say what degraded means).
    :param thresholds: per metric (``accuracy``, ``f1``, ``roc_auc``,
        ``mae``...), a :data:`QualityThreshold`. Default: none.
    :param min_records: fewer joined records give ``insufficient_data``.
        Default: 100.
    :param window: how much traffic a check judges: whole minutes, 1 minute to
        1 day. Default: 1 hour.
    :param label_delay: how long labels may take to arrive, 0 to 7 days.
        Default: 1 hour.
    :param capture_delay: how long after a window (and its labels' delay) the
        check waits for late capture objects, 0 to 1 hour. Default: 5 minutes.
    :param schedule: when to check. Default: ``rate(<window>)``.
    :param report_bucket: where reports go. Default: the capture bucket.
    :param report_encryption_key: the KMS key reports are written with, for a
        bucket that does not carry it. Default: the bucket's own.
    :param report_prefix: ending with ``/``. Default: ``"quality-reports/"``.
    :param max_objects_per_invocation: a window with more objects fans out
        (1-100,000). Default: 200.
    :param objects_per_batch: objects per child of the split Map (1-1000).
        Default: 50.
    :param max_concurrency: children of each Map at once (1-1000). Default: 10.
    :param partition_size_mb: objects' megabytes per shard of a fanned-out
        join (1-10,240; at most 1000 shards). Default: 256.
    :param memory_size_mb: of the function (128-10,240). Default: 1769 (one vCPU).
    :param timeout: of one invocation (1-15 minutes). Default: 15 minutes.
    :param metric_namespace: Default: ``"SageMakerHosting/ModelQuality"``.
    :param event_bus: where events go. Default: the account's default bus.
    :param topic: where alarms notify. Default: a new encrypted, TLS-only topic.
    :param alarm: an alarm per variant on degraded quality. Default: ``True``;
        ``False`` adds a warning.
    :param scratch_expiration: how long scratch files are kept (whole days).
        Default: 7 days.
    :param add_scratch_lifecycle_rule: add that rule to the report bucket when
        the monitor may. Default: ``True``.
    :param encryption_key: KMS key of the log groups, dead-letter queue and a
        created topic. Default: a new key with rotation.
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
        endpoint: sagemaker.IEndpoint,
        problem_type: str,
        ground_truth_bucket: BucketLike,
        ground_truth_prefix: str,
        ground_truth_encryption_key: kms.IKey | None = None,
        capture_bucket: BucketLike | None = None,
        capture_prefix: str | None = None,
        capture_encryption_key: kms.IKey | None = None,
        variant_names: Sequence[str] | None = None,
        reference_variant: str | None = None,
        join_on: str = "auto",
        prediction_attribute: str | None = None,
        prediction_column: int = 0,
        label_attribute: str | None = None,
        label_column: int = 0,
        threshold: float = 0.5,
        bins: int = 1000,
        baseline: QualityBaseline | None = None,
        thresholds: Mapping[str, monitor.MetricThreshold] | None = None,
        min_records: int = 100,
        window: Duration | None = None,
        label_delay: Duration | None = None,
        capture_delay: Duration | None = None,
        schedule: events.Schedule | None = None,
        report_bucket: BucketLike | None = None,
        report_encryption_key: kms.IKey | None = None,
        report_prefix: str = "quality-reports/",
        max_objects_per_invocation: int = 200,
        objects_per_batch: int = 50,
        max_concurrency: int = 10,
        partition_size_mb: int = 256,
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
            key_use="model-quality checks' logs, alarm topic and dead-letter queue",
            encryption_key=encryption_key,
            topic=topic,
            removal_policy=removal_policy,
            log_retention=log_retention,
        )
        validation.check_type(
            self, "endpoint", endpoint, sagemaker.IEndpoint, "an aws_sagemaker.IEndpoint"
        )
        for prop, value, kind, what in (
            ("schedule", schedule, events.Schedule, "an events.Schedule"),
            ("window", window, Duration, "a Duration"),
            ("label_delay", label_delay, Duration, "a Duration"),
            ("capture_delay", capture_delay, Duration, "a Duration"),
            ("timeout", timeout, Duration, "a Duration"),
            ("scratch_expiration", scratch_expiration, Duration, "a Duration"),
            ("baseline", baseline, QualityBaseline, "a QualityBaseline"),
        ):
            validation.check_optional_type(self, prop, value, kind, what)
        if thresholds is not None and not isinstance(thresholds, Mapping):
            validation.fail(
                self, "thresholds", thresholds, "must map metric names to QualityThreshold"
            )
        window = window or Duration.hours(1)
        label_delay = label_delay if label_delay is not None else Duration.hours(1)
        capture_delay = capture_delay if capture_delay is not None else Duration.minutes(5)
        timeout = timeout or Duration.minutes(15)
        window_seconds = validation.whole_seconds(self, "window", window)
        schedule = schedule or _every(window_seconds)
        check_schedule(self, "schedule", schedule)
        self.endpoint = endpoint
        names = self._variant_names(endpoint, variant_names)
        prefix = self._capture(endpoint, capture_bucket, capture_prefix, capture_encryption_key)
        self.ground_truth_access = BucketAccess.of(
            self, "ground_truth_bucket", ground_truth_bucket, ground_truth_encryption_key
        )
        self.report_access = (
            BucketAccess.of(self, "report_bucket", report_bucket, report_encryption_key)
            if report_bucket is not None
            else same_bucket(
                self, "report_encryption_key", report_encryption_key, self.capture_access
            )
        )
        constraints, unchecked, baseline_access, baseline_key, baseline_metrics = self._baseline(
            baseline, problem_type
        )
        self.baseline_access = baseline_access
        warn_of_unknown_keys(
            self,
            "QualityBucketKeyUnknown",
            [
                ("capture_encryption_key", self.capture_access),
                ("ground_truth_encryption_key", self.ground_truth_access),
                ("baseline.encryption_key", self.baseline_access),
                ("report_encryption_key", self.report_access),
            ],
        )
        self.variant_names = names
        self.metric_namespace = metric_namespace
        self.window = window
        self.report_prefix = report_prefix
        self.event_bus = self._default_event_bus(event_bus)
        self.config = monitor.Config(
            endpoint=endpoint.endpoint_name,
            variants=tuple(names),
            problem=problem_type,
            capture_bucket=self.capture_access.bucket_name,
            capture_prefix=prefix,
            ground_truth_bucket=self.ground_truth_access.bucket_name,
            ground_truth_prefix=ground_truth_prefix,
            report_bucket=self.report_access.bucket_name,
            report_prefix=report_prefix,
            namespace=metric_namespace,
            event_bus=self.event_bus.event_bus_arn,
            key=join_on,
            prediction_attribute=prediction_attribute,
            prediction_column=prediction_column,
            label_attribute=label_attribute,
            label_column=label_column,
            threshold=threshold,
            bins=bins,
            min_records=min_records,
            reference_variant=reference_variant,
            window_seconds=window_seconds,
            label_delay_seconds=validation.whole_seconds(self, "label_delay", label_delay),
            capture_delay_seconds=validation.whole_seconds(self, "capture_delay", capture_delay),
            constraints=constraints,
            constraints_bucket=baseline_access.bucket_name if baseline_access else None,
            constraints_key=baseline_key,
            baseline_metrics=dict(baseline_metrics),
            thresholds=dict(thresholds or {}),
            max_objects=max_objects_per_invocation,
            partition_mb=partition_size_mb,
        )
        refuse(self, self.config.problems(validation.is_token), props=_PROPS, seconds=_SECONDS)
        check_map_and_function(
            self,
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
            memory_size_mb=memory_size_mb,
            timeout=timeout,
            alarm=alarm,
        )
        self._warn_of(unchecked, schedule, window_seconds, alarm)
        stack = Stack.of(self)
        # The endpoint's own scratch folder: shards are copies of its captured traffic.
        scratch = self.config.scratch_prefix()
        #: Expires the scratch files; see the class documentation for where it goes.
        self.scratch_lifecycle_rule = scratch_rule(
            self, scratch, scratch_expiration, name="quality"
        )
        if add_scratch_lifecycle_rule:
            expire_scratch(
                self,
                self.report_access.bucket,
                self.scratch_lifecycle_rule,
                what="the quality checks' manifests, shards and partial counts",
                warning="QualityScratchNotExpired",
            )

        principal = self._add_function(
            "quality",
            description=f"Model-quality check of {self.node.path}: plan, check, split, join, "
            "finish",
            timeout=timeout,
            memory_size=memory_size_mb,
            # The configuration as the function reads it (monitor.Config.from_json).
            environment={"QUALITY_CONFIG": stack.to_json_string(self.config.to_json())},
        )
        self._grant_function(principal, f"{prefix}{endpoint.endpoint_name}/", scratch)
        if baseline_access is not None and baseline_key is not None:
            baseline_access.grant_read_object(principal, baseline_key)
        self.ground_truth_access.grant_read_prefix(principal, ground_truth_prefix)
        self._state_machine(
            scratch=scratch,
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
            timeout=timeout,
        )
        self.rule = self._add_schedule(
            schedule,
            description=f"Starts the model-quality check {self.node.path}",
            role_description=f"Starts the model-quality checks of {self.node.path} on schedule",
            dead_letter_description=f"The schedule of {self.node.path} could not start a "
            "model-quality check; the undelivered event is in the dead-letter queue",
            # The scheduled time: the window, and so the report, follow from it.
            rule_input=events.RuleTargetInput.from_object({"time": events.EventField.time}),
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        if alarm:
            self._add_alarms(names, window_seconds)

    # --- props -----------------------------------------------------------------

    def _variant_names(
        self, endpoint: sagemaker.IEndpoint, variant_names: Sequence[str] | None
    ) -> list[str]:
        """The variants to judge: given, or every variant the endpoint knows."""
        known = (
            [v.variant_name for v in endpoint.variant_attributes]
            if isinstance(endpoint, EndpointBase)
            else []
        )
        if variant_names is None:
            if not known:
                validation.fail(
                    self,
                    "variant_names",
                    None,
                    f"name the variants of {endpoint.node.path}: it knows none (imported by "
                    "name or ARN, or not an Endpoint of this library); or import it with "
                    "Endpoint.from_endpoint_attributes(variants=...)",
                )
            return known
        if isinstance(variant_names, str) or not isinstance(variant_names, Sequence):
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

    def _capture(
        self,
        endpoint: sagemaker.IEndpoint,
        bucket: BucketLike | None,
        prefix: str | None,
        key: kms.IKey | None,
    ) -> str:
        """The capture bucket (``capture_access``) and prefix: given, or the endpoint's own."""
        own = endpoint.data_capture if isinstance(endpoint, EndpointBase) else None
        if own is not None:
            if not own.capture_output:
                validation.fail(
                    self,
                    "endpoint",
                    endpoint.node.path,
                    "its data capture records no responses (capture_output=False), so no "
                    "prediction could be joined with a label: capture the output "
                    "(DataCapture(capture_output=True))",
                )
            if own.sampling_percentage == 0:
                validation.fail(
                    self,
                    "endpoint",
                    endpoint.node.path,
                    "its data capture samples no request (sampling_percentage=0), so every "
                    "check would report insufficient data; capture a share of the traffic",
                )
            for prop, given, mine in (
                ("capture_bucket", bucket, own.destination),
                ("capture_prefix", prefix, own.prefix),
            ):
                if given is not None and given is not mine and given != mine:
                    validation.fail(
                        self,
                        prop,
                        validation.shown(given),
                        f"{endpoint.node.path} captures its traffic elsewhere (its own data "
                        "capture), so the check would read nothing it writes; leave "
                        f"{prop} out to read the endpoint's own",
                    )
            if key is not None and key is not own.encryption_key:
                validation.fail(
                    self,
                    "capture_encryption_key",
                    validation.shown(key),
                    f"the capture of {endpoint.node.path} is read with its own DataCapture's "
                    "key (or its bucket's); give the key there (DataCapture(encryption_key=...)) "
                    "and leave capture_encryption_key out",
                )
            self.capture_access = own.bucket_access(self, "endpoint.data_capture")
            return own.prefix
        if bucket is None:
            validation.fail(
                self,
                "capture_bucket",
                None,
                f"{endpoint.node.path} has no data capture the monitor knows of: pass "
                "capture_bucket= (and capture_prefix=) where it captures its traffic, or "
                "import it with Endpoint.from_endpoint_attributes(data_capture=...)",
            )
        self.capture_access = BucketAccess.of(self, "capture_bucket", bucket, key)
        return prefix if prefix is not None else "data-capture/"

    def _baseline(
        self, baseline: QualityBaseline | None, problem: str
    ) -> tuple[
        tuple[Constraint, ...], list[str], BucketAccess | None, str | None, Mapping[str, float]
    ]:
        """Constraints known now, those not checked, a constraints object, baseline metrics."""
        if baseline is None:
            return (), [], None, None, {}
        given = [
            name
            for name, value in (
                ("path", baseline.path),
                ("bucket", baseline.bucket),
                ("metrics", baseline.metrics),
            )
            if value is not None
        ]
        if len(given) != 1:
            validation.fail(
                self,
                "baseline",
                given,
                "make it with one of QualityBaseline.from_constraints_file, "
                "from_constraints_object or from_metrics",
            )
        if baseline.path is not None:
            if problem not in PROBLEMS:
                return (), [], None, None, {}  # the configuration names the problem type
            constraints, skipped = baseline._constraints(self, problem)
            return constraints, skipped, None, None, {}
        if baseline.bucket is not None:
            access = BucketAccess.of(
                self, "baseline.bucket", baseline.bucket, baseline.encryption_key
            )
            return (), [], access, baseline.key, {}
        metrics = baseline.metrics
        if not isinstance(metrics, Mapping):
            validation.fail(self, "baseline.metrics", metrics, "must map metric names to values")
        return (), [], None, None, metrics

    def _warn_of(
        self, unchecked: list[str], schedule: events.Schedule, window_seconds: int, alarm: bool
    ) -> None:
        """Options that cannot all apply are named, never dropped silently."""
        if unchecked:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:QualityConstraintsNotChecked",
                f"the baseline's constraints {', '.join(unchecked)} cannot be checked (another "
                f"problem type's, or a metric this check does not compute): each report lists "
                "them under constraints_not_checked.",
            )
        warn_of_window_schedule(
            self,
            code="Quality",
            schedule=schedule,
            window_seconds=window_seconds,
            repeated="its report rewritten and its event (degraded ones too) emitted each time",
            verb="judged",
        )
        if not alarm:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:NoQualityAlarm",
                "alarm=False: degraded quality is reported and emitted as an event, but no "
                "alarm notifies anyone.",
            )

    # --- the function ----------------------------------------------------------

    def _grant_function(
        self, principal: ManagedPolicyPrincipal, capture_folder: str, scratch: str
    ) -> None:
        """The buckets' exact prefixes, metrics in its namespace, events on its bus."""
        self.capture_access.grant_read_prefix(principal, capture_folder)
        # Its endpoint's reports and its scratch only: not another endpoint's
        # reports under the same prefix, nor their scratch (their captured traffic).
        self.report_access.grant_write_prefix(principal, self.config.report_folder())
        self.report_access.grant_write_prefix(principal, scratch)
        self.report_access.grant_read_prefix(principal, scratch)
        grant_metrics_and_events(
            principal, namespace=self.metric_namespace, event_bus=self.event_bus
        )

    # --- the state machine -----------------------------------------------------

    def _step(
        self, construct_id: str, comment: str, payload: dict[str, object]
    ) -> sfn.TaskStateBase:
        return function_step(
            self,
            construct_id,
            function=self.function,
            comment=comment,
            payload=payload,
            result_path="$.plan" if construct_id == "Plan" else "$.result",
        )

    def _child_step(
        self, construct_id: str, comment: str, payload: dict[str, object]
    ) -> sfn.TaskStateBase:
        return function_step(
            self, construct_id, function=self.function, comment=comment, payload=payload
        )

    def _state_machine(
        self, *, scratch: str, objects_per_batch: int, max_concurrency: int, timeout: Duration
    ) -> None:
        name = Names.unique_resource_name(self, max_length=80, separator="-")
        plan = self._step(
            "Plan",
            "List the window's capture and ground-truth objects; one pass or a fan-out?",
            {
                "action": "plan",
                "time": sfn.JsonPath.string_at("$.time"),
                "run": sfn.JsonPath.execution_name,
            },
        )
        check = self._step(
            "Check",
            "Join every object in this invocation; judge, report, publish",
            {"action": "check", "plan": sfn.JsonPath.object_at("$.plan")},
        )
        split = manifest_map(
            self,
            "Split",
            comment="Each batch of objects writes its lines into shards by ID partition",
            manifests=self.report_access,
            item_selector={
                "run": sfn.JsonPath.string_at("$.plan.run"),
                "partitions": sfn.JsonPath.number_at("$.plan.partition_count"),
                "item": sfn.JsonPath.object_at("$$.Map.Item.Value"),
            },
            objects_per_batch=objects_per_batch,
            max_concurrency=max_concurrency,
        )
        split.item_processor(
            self._child_step(
                "SplitBatch",
                "Split one batch of objects into shards",
                {"action": "split", "items": sfn.JsonPath.list_at("$.Items")},
            )
        )
        join = sfn.DistributedMap(
            self,
            "Join",
            comment="Each child joins one shard and writes its partial counts",
            items_path="$.plan.partitions",
            item_selector={
                "run": sfn.JsonPath.string_at("$.plan.run"),
                "partition": sfn.JsonPath.number_at("$$.Map.Item.Value"),
            },
            max_concurrency=max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
            label="Join",
        )
        join.item_processor(
            self._child_step(
                "JoinShard",
                "Join one shard",
                {
                    "action": "join",
                    "run": sfn.JsonPath.string_at("$.run"),
                    "partition": sfn.JsonPath.number_at("$.partition"),
                },
            )
        )
        finish = self._step(
            "Finish",
            "Merge the partial counts; judge, report, publish",
            {"action": "finish", "plan": sfn.JsonPath.object_at("$.plan")},
        )
        choice = (
            sfn.Choice(self, "OneOrMany", comment="Few objects: one pass; many: a fan-out")
            .when(
                sfn.Condition.string_equals("$.plan.mode", "map"),
                split.next(join).next(finish),
            )
            .otherwise(check)
        )
        principal = self._add_state_machine(
            plan.next(choice),
            timeout=Duration.minutes(max(60, 4 * int(timeout.to_minutes()) + 15)),
            comment=f"Model-quality check of {self.node.path}",
            role_description=f"Runs the model-quality checks of {self.node.path}",
            functions=[self.function],
            statements=distributed_map_statements(self, name),
            state_machine_name=name,
            failed_label="Quality checks failed, timed out or aborted",
            failed_description=f"A model-quality check of {self.endpoint.endpoint_name} "
            "failed, timed out or was aborted: no verdict for its window; see the execution "
            "history",
        )
        grant_distributed_maps(
            self.state_machine,
            principal,
            name=name,
            manifests=self.report_access,
            scratch=scratch,
            maps=2,
        )

    def _add_alarms(self, names: Sequence[str], window_seconds: int) -> None:
        self.alarms.update(
            variant_alarms(
                self,
                names,
                suffix="Degraded",
                metric=self.metric_degraded,
                description=lambda name: (
                    f"Model quality of variant {name} of "
                    f"{self.endpoint.endpoint_name} degraded: a metric broke its baseline "
                    "constraint or threshold; see the quality report"
                ),
                topic=self.topic,
                window_seconds=window_seconds,
            )
        )

    # --- public helpers --------------------------------------------------------

    def metric(
        self, metric_name: str, variant_name: str, *, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """A quality metric of one variant (``accuracy``, ``rmse``, ``RecordsJoined``...)."""
        return window_metric(
            namespace=self.metric_namespace,
            metric_name=metric_name,
            endpoint_name=self.endpoint.endpoint_name,
            variant_name=variant_name,
            window=self.window,
            statistic=statistic,
        )

    def metric_degraded(self, variant_name: str) -> cloudwatch.Metric:
        """1 when the variant's window was degraded, 0 when not; absent on insufficient data."""
        return self.metric("Degraded", variant_name)

    def metric_records_joined(self, variant_name: str) -> cloudwatch.Metric:
        """Predictions of the variant joined with a label, per window."""
        return self.metric("RecordsJoined", variant_name)

    def on_degraded(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule matching this endpoint's degraded-quality events, e.g. to start retraining."""
        return verdict_rule(
            self,
            construct_id,
            event_bus=self.event_bus,
            description=f"Degraded model quality found by {self.node.path}",
            source=EVENT_SOURCE,
            detail_type=EVENT_DETAIL_TYPE,
            endpoint_name=self.endpoint.endpoint_name,
            verdict="degraded",
            target=target,
        )

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` run a check outside the schedule (input ``{"time": ISO 8601}``)."""
        return self.state_machine.grant_start_execution(grantee)


def _every(seconds: int) -> events.Schedule:
    """A rate schedule of ``seconds`` (whole minutes), in the largest whole unit."""
    for unit, size in (("days", 86400), ("hours", 3600)):
        if seconds % size == 0:
            return events.Schedule.rate(getattr(Duration, unit)(seconds // size))
    return events.Schedule.rate(Duration.minutes(max(1, seconds // 60)))
