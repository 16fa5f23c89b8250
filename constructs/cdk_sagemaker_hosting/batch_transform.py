"""Scheduled batch transform: EventBridge starts Step Functions, which runs a SageMaker job.

CloudFormation has no resource for a transform job; this construct is the glue
users would otherwise write: a schedule, a state machine that runs one
transform job per execution and waits for it, and an alarm when a run fails.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from aws_cdk import (
    Annotations,
    Arn,
    ArnComponents,
    ArnFormat,
    Duration,
    Names,
    RemovalPolicy,
    Size,
    Stack,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.compliance import acknowledge, acknowledge_resource
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, BucketLike
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from cdk_sagemaker_hosting.model import InferenceExecution, Model
from cdk_sagemaker_hosting.workflow import Workflow, check_schedule
from constructs import Construct

DEFAULT_TRANSFORM_INSTANCE_TYPE = "ml.m5.large"
#: SageMaker's log group of every transform job in an account and Region.
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
#: The rule Step Functions manages to learn when a ``.sync`` transform job ends.
SYNC_RULE = "StepFunctionsGetEventsForSageMakerTransformJobsRule"

# CreateTransformJob's limits: botocore's SageMaker model where it holds them
# (validation.service_range), the API reference where it does not.

#: Each run's job is ``<prefix>-<States.UUID()>``: a hyphen and 36 characters.
TRANSFORM_JOB_SUFFIX_LENGTH = 37
#: ``TransformResources.InstanceCount``: "The default value is 1, and the maximum is 100."
TRANSFORM_MAX_INSTANCES = 100
#: ``MaxPayloadInMB`` at most 100 and, with ``MaxConcurrentTransforms``, their
#: product at most 100 MB; unset, the payload is 6 MB.
TRANSFORM_MAX_PAYLOAD_MB = 100
TRANSFORM_DEFAULT_PAYLOAD_MB = 6
#: A Step Functions standard workflow runs for at most one year.
STATE_MACHINE_MAX_SECONDS = 365 * 24 * 3600


def transform_job_prefix_max_length() -> int:
    """The longest job name prefix: a 63-character ``TransformJobName`` less the run's suffix."""
    _, longest = validation.service_range("TransformJobName")
    return int(longest or 63) - TRANSFORM_JOB_SUFFIX_LENGTH


class JoinSource(enum.Enum):
    """What a transform job joins to each output record (``DataProcessing.JoinSource``)."""

    #: The output holds the predictions only.
    NONE = "None"
    #: Each output record is its input record followed by the prediction.
    INPUT = "Input"


class _TransformJobTask(tasks.SageMakerCreateTransformJob):
    """CDK's transform-job task, plus ``DataProcessing``, which the CDK does not render.

    The join and the input/output filters are added to the rendered state's
    parameters; everything else is the CDK task as it is.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_processing: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._data_processing = dict(data_processing)

    def to_state_json(
        self, state_machine_query_language: sfn.QueryLanguage | None = None
    ) -> Mapping[Any, Any]:
        """The CDK's rendering, with ``DataProcessing`` among the parameters."""
        rendered = dict(super().to_state_json(state_machine_query_language))
        if self._data_processing:
            rendered["Parameters"] = {
                **rendered["Parameters"],
                "DataProcessing": self._data_processing,
            }
        return rendered


class ScheduledBatchTransform(Workflow):
    """Run a SageMaker batch transform job of a :class:`Model` on a schedule.

    An EventBridge rule starts a Step Functions state machine on ``schedule``;
    the state machine names the run ``<job_name_prefix>-<UUID>`` and runs one
    transform job (``createTransformJob.sync``), waiting until it ends. The job
    reads every object under ``input_prefix`` and writes its output under
    ``output_prefix`` (by default in a folder per run,
    ``<output_prefix><job name>/``), encrypted with the output bucket's KMS key;
    its instances' storage volumes are encrypted with ``encryption_key``
    (except on instance types with local NVMe storage, which SageMaker
    encrypts in hardware and for which it refuses a volume key). Network
    isolation and VPC are the model's own: a transform job takes them from
    the model, and nothing here overrides them.

    A run that fails, times out or is aborted sets off an alarm that notifies
    ``topic`` (by default a new KMS-encrypted, TLS-only topic); so does a
    scheduled start that EventBridge could not deliver (it lands in an
    encrypted dead-letter queue). The state
    machine logs every event to a KMS-encrypted log group and is traced with
    X-Ray.

    Least privilege: the state machine's role may create, describe and stop
    transform jobs named ``<job_name_prefix>-*`` only, pass the model's role
    only, and manage the one EventBridge rule ``.sync`` needs; the model's
    role may read ``input_prefix``, write ``output_prefix`` and the job's log
    streams. Grants go to customer-managed policies, never inline ones.

    Construct IDs (a public contract, those of every
    ``Workflow``): ``Key`` (when
    created), ``Topic`` (when created), ``Resource`` (the
    ``AWS::StepFunctions::StateMachine``), ``Role`` and ``Policy`` (the state
    machine's role and its managed policy), ``RoleRef`` (the state machine's
    immutable reference to ``Role``), ``Logs``, ``FailedAlarm``, ``Schedule``
    (the ``AWS::Events::Rule``), ``ScheduleRole`` and ``SchedulePolicy``,
    ``DeadLetterQueue`` (events the schedule could not deliver),
    ``DeadLetterAlarm``; the states ``NameRun`` and ``Transform``.

    Buckets: the input and output buckets may be any ``s3.IBucket`` (created
    anywhere, or imported) with the KMS key of their objects
    (``input_encryption_key``/``output_encryption_key``, or the bucket's own),
    or an :class:`EncryptedBucket`. The job writes its output with the output
    key (a warning says when none is known: SageMaker then uses the bucket's
    default encryption; another when the input's is unknown, as the model then
    cannot decrypt KMS-encrypted input). The construct writes no resource
    policy to either bucket: grants go to the model's role.

    :param model: the model to run; not multi-model, not direct invocation.
    :param input_bucket: where the input is.
    :param input_encryption_key: the KMS key of the input objects, for a
        bucket that does not carry it (the model may decrypt with it).
        Default: the bucket's own; none for an SSE-S3 bucket.
    :param input_prefix: the input's key prefix, ending with ``/``.
    :param output_prefix: the output's key prefix, ending with ``/``; must not
        overlap ``input_prefix`` in the same bucket.
    :param schedule: when to run, e.g. ``events.Schedule.cron(minute="0",
        hour="3", week_day="SUN")``.
    :param output_bucket: where the output goes. Default: ``input_bucket``.
    :param output_encryption_key: the KMS key the output is written with,
        for a bucket that does not carry it. Default: the bucket's own (with
        no ``output_bucket``, the input's).
    :param output_per_run: write each run's output under
        ``<output_prefix><job name>/``, so no run overwrites another. Default:
        ``True``; ``False`` writes straight under ``output_prefix``.
    :param instance_type: Default: ``"ml.m5.large"``.
    :param instance_count: 1-100 instances (a whole number). Default: 1.
    :param content_type: MIME type of the input. Default: none (the container's default).
    :param accept: MIME type of the output. Default: none (the container's default).
    :param split_type: how input objects are split into records. Default:
        SageMaker's (``None``: whole objects).
    :param compression_type: Default: SageMaker's (uncompressed).
    :param batch_strategy: one or many records per request; needs a
        ``split_type`` other than ``NONE``. Default: SageMaker's (none).
    :param assemble_with: how output records are joined in an output object.
        Default: SageMaker's (``None``: concatenated).
    :param max_payload_mb: 0-100 MB per request, a whole number (0: chunked,
        for algorithms that support it). Default: SageMaker's (6 MB).
    :param max_concurrent_transforms: parallel requests per instance, a
        whole number; with
        ``max_payload_mb``, their product is at most 100 MB. Default:
        SageMaker's (the algorithm's setting, else 1).
    :param join_source: join each input record to its prediction. Default:
        ``JoinSource.NONE``.
    :param input_filter: JSONPath selecting what of each record the model
        sees, e.g. ``"$[1:]"`` to drop an ID column. Default: none (``$``).
    :param output_filter: JSONPath selecting what of the (joined) record is
        written, e.g. ``"$[0,-1]"``. Default: none (``$``).
    :param environment: up to 16 more environment variables for the
        containers. Default: none.
    :param invocations_timeout: how long one request may take (1 s - 1 h).
        Default: SageMaker's (60 s).
    :param invocations_max_retries: retries of a failed request (0-3).
        Default: SageMaker's (0).
    :param job_name_prefix: 1-26 characters; each job is named
        ``<prefix>-<UUID>``. Default: derived from the construct path.
    :param timeout: how long a run may take before it fails. Default: 24 hours.
    :param enabled: whether the schedule starts runs. Default: ``True``.
    :param encryption_key: KMS key for the instances' volumes, the log group,
        the dead-letter queue and a created topic. Default: a new key with rotation.
    :param topic: where the alarms notify. Default: a new encrypted, TLS-only topic.
    :param log_retention: Default: one year.
    :param removal_policy: for a created key and the log group. Default: ``RETAIN``.
    """

    #: The schedule (``Schedule``).
    rule: events.Rule

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: Model,
        input_bucket: BucketLike,
        input_prefix: str,
        output_prefix: str,
        schedule: events.Schedule,
        input_encryption_key: kms.IKey | None = None,
        output_bucket: BucketLike | None = None,
        output_encryption_key: kms.IKey | None = None,
        output_per_run: bool = True,
        instance_type: str = DEFAULT_TRANSFORM_INSTANCE_TYPE,
        instance_count: int = 1,
        content_type: str | None = None,
        accept: str | None = None,
        split_type: tasks.SplitType | None = None,
        compression_type: tasks.CompressionType | None = None,
        batch_strategy: tasks.BatchStrategy | None = None,
        assemble_with: tasks.AssembleWith | None = None,
        max_payload_mb: int | None = None,
        max_concurrent_transforms: int | None = None,
        join_source: JoinSource = JoinSource.NONE,
        input_filter: str | None = None,
        output_filter: str | None = None,
        environment: Mapping[str, str] | None = None,
        invocations_timeout: Duration | None = None,
        invocations_max_retries: int | None = None,
        job_name_prefix: str | None = None,
        timeout: Duration | None = None,
        enabled: bool = True,
        encryption_key: kms.IKey | None = None,
        topic: sns.ITopic | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            key_use="transform volumes, logs, alarm topic and dead-letter queue",
            encryption_key=encryption_key,
            topic=topic,
            removal_policy=removal_policy,
            log_retention=log_retention,
        )
        validation.check_type(self, "model", model, Model, "a Model")
        for prop, value, kind, what in (
            ("timeout", timeout, Duration, "a Duration"),
            ("invocations_timeout", invocations_timeout, Duration, "a Duration"),
            ("join_source", join_source, JoinSource, "a JoinSource"),
        ):
            validation.check_optional_type(self, prop, value, kind, what)
        timeout = timeout or Duration.hours(24)
        env = dict(environment or {})
        check_schedule(self, "schedule", schedule)
        self.input_access = BucketAccess.of(
            self, "input_bucket", input_bucket, input_encryption_key
        )
        self.output_access = (
            BucketAccess.of(self, "output_bucket", output_bucket, output_encryption_key)
            if output_bucket is not None
            else self._output_in_input_bucket(output_encryption_key)
        )
        self._check_model(model)
        self._check_data(input_prefix, output_prefix, input_filter, output_filter)
        self._check_job(
            instance_type=instance_type,
            instance_count=instance_count,
            split_type=split_type,
            batch_strategy=batch_strategy,
            max_payload_mb=max_payload_mb,
            max_concurrent_transforms=max_concurrent_transforms,
            environment=env,
            invocations_timeout=invocations_timeout,
            invocations_max_retries=invocations_max_retries,
            timeout=timeout,
        )
        self.job_name_prefix: str = job_name_prefix or Names.unique_resource_name(
            self, max_length=transform_job_prefix_max_length(), separator="-"
        )
        self._check_job_name_prefix(self.job_name_prefix)

        self.model = model
        self.instance_type = instance_type
        #: The buckets read and written (``input_access``/``output_access`` add their keys).
        self.input_bucket = self.input_access.bucket
        self.output_bucket = self.output_access.bucket
        stack = Stack.of(self)
        output_key = self.output_access.encryption_key
        if self.output_access.key_unknown:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:TransformOutputKeyUnknown",
                f"the output bucket {self.output_access.bucket.node.path} carries no KMS key: "
                "the transform output is written with the bucket's default encryption. Pass "
                "output_encryption_key= (the bucket's KMS key) so SageMaker encrypts with it.",
            )
        if self.input_access.key_unknown:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:TransformInputKeyUnknown",
                f"the input bucket {self.input_access.bucket.node.path} carries no KMS key, so "
                "the model may not decrypt: if its objects are KMS-encrypted, pass "
                "input_encryption_key= (their key), or every run fails with AccessDenied.",
            )

        # The model's role is what SageMaker assumes to run the job.
        self.input_access.grant_read_prefix(model, input_prefix)
        self.output_access.grant_write_prefix(model, output_prefix)
        self._grant_job_logs(stack)
        volume_key = None
        if not validation.has_local_storage(instance_type):
            volume_key = self.encryption_key
            # SageMaker creates a grant on the volume key with the passed role.
            model.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[self.encryption_key.key_arn],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
            # kms:GrantIsForAWSResource exists on grant operations only: a
            # DescribeKey under that condition would always be denied.
            model.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:DescribeKey"], resources=[self.encryption_key.key_arn]
                )
            )
            if isinstance(model.grant_principal, ManagedPolicyPrincipal):
                acknowledge(
                    model.grant_principal.policy,
                    "kms:CreateGrant on the job's volume key only, and only for an AWS "
                    "resource (kms:GrantIsForAWSResource): SageMaker grants the transform "
                    "instances' volumes use of the key with the model's role.",
                    parliament=["PERMISSIONS_MANAGEMENT_ACTIONS"],
                )

        name_run = sfn.Pass(
            self,
            "NameRun",
            comment="A unique transform job name for this run",
            parameters={
                "JobName": sfn.JsonPath.format(f"{self.job_name_prefix}-{{}}", sfn.JsonPath.uuid())
            },
            result_path="$.run",
        )
        job_name = sfn.JsonPath.string_at("$.run.JobName")
        output_bucket_name = self.output_access.bucket_name
        output_path = (
            sfn.JsonPath.format(f"s3://{output_bucket_name}/{output_prefix}{{}}/", job_name)
            if output_per_run
            else f"s3://{output_bucket_name}/{output_prefix}"
        )
        data_processing = {
            key: value
            for key, value in (
                ("InputFilter", input_filter),
                ("OutputFilter", output_filter),
                ("JoinSource", join_source.value if join_source is JoinSource.INPUT else None),
            )
            if value is not None
        }
        self.task = _TransformJobTask(
            self,
            "Transform",
            comment=f"Batch transform with model {model.node.path}",
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            model_name=model.model_name,
            role=model.role,
            transform_job_name=job_name,
            transform_input=tasks.TransformInput(
                transform_data_source=tasks.TransformDataSource(
                    s3_data_source=tasks.TransformS3DataSource(
                        s3_uri=self.input_access.s3_url_for_object(input_prefix),
                        s3_data_type=tasks.S3DataType.S3_PREFIX,
                    )
                ),
                content_type=content_type,
                split_type=split_type,
                compression_type=compression_type,
            ),
            transform_output=tasks.TransformOutput(
                s3_output_path=output_path,
                encryption_key=output_key,
                accept=accept,
                assemble_with=assemble_with,
            ),
            transform_resources=tasks.TransformResources(
                instance_count=instance_count,
                instance_type=ec2.InstanceType(instance_type.removeprefix("ml.")),
                volume_encryption_key=volume_key,
            ),
            batch_strategy=batch_strategy,
            environment=env or None,
            max_concurrent_transforms=max_concurrent_transforms,
            max_payload=Size.mebibytes(max_payload_mb) if max_payload_mb is not None else None,
            model_client_options=tasks.ModelClientOptions(
                invocations_max_retries=invocations_max_retries,
                invocations_timeout=invocations_timeout,
            )
            if invocations_timeout is not None or invocations_max_retries is not None
            else None,
            task_timeout=sfn.Timeout.duration(timeout),
            data_processing=data_processing,
        )

        # The state machine gets the role by reference, immutable: the CDK's own
        # statements (transform-job/*, sagemaker:ListTags on *) are replaced by
        # the narrower ones of _state_machine_statements, in the managed policy.
        principal = self._add_state_machine(
            name_run.next(self.task),
            timeout=timeout.plus(Duration.minutes(10)),
            comment=f"Scheduled batch transform {self.node.path}",
            role_description=f"Runs the transform jobs of {self.node.path}",
            statements=self._state_machine_statements(stack),
            failed_label="Runs failed, timed out or aborted",
            failed_description=f"A run of the batch transform {self.node.path} failed, timed "
            "out or was aborted; see the state machine's execution history",
        )
        acknowledge_resource(
            principal.policy,
            "The transform jobs are named at run time, so they are matched by their prefix "
            f"({self.job_name_prefix}-*), the narrowest resource IAM can name for them.",
            "AwsSolutions-IAM5",
            self._job_arn_pattern(stack),
        )
        acknowledge(
            principal.policy,
            "iam:PassRole on the model's role only, and only to SageMaker "
            "(iam:PassedToService): CreateTransformJob runs the job with the role it is passed.",
            parliament=["PERMISSIONS_MANAGEMENT_ACTIONS"],
        )
        self.rule = self._add_schedule(
            schedule,
            description=f"Starts the batch transform {self.node.path}",
            role_description=f"Starts the runs of {self.node.path} on schedule",
            dead_letter_description=f"The schedule of {self.node.path} could not start a run; "
            "the undelivered event is in the dead-letter queue",
            enabled=enabled,
        )

    # --- checks: CreateTransformJob's rules, at synth -----------------------------

    def _output_in_input_bucket(self, key: kms.IKey | None) -> BucketAccess:
        """The input bucket, where no output bucket is given; its key is the input's."""
        if key is not None:
            validation.fail(
                self,
                "output_encryption_key",
                key.node.path,
                "the output goes to the input bucket, whose key is input_encryption_key; "
                "leave it out, or give output_bucket too",
            )
        return self.input_access

    def _check_model(self, model: Model) -> None:
        """A transform job sends neither a target model nor a target container."""
        if model.multi_model:
            validation.fail(
                self,
                "model",
                model.node.path,
                "a multi-model model cannot run a transform job: batch transform sends no "
                "TargetModel, so the container cannot tell which artifact to load; build a "
                "one-artifact Model for the batch job",
            )
        if model.inference_execution is InferenceExecution.DIRECT:
            validation.fail(
                self,
                "model",
                model.node.path,
                "a model with InferenceExecution.DIRECT cannot run a transform job: batch "
                "transform sends no TargetContainerHostname; use InferenceExecution.SERIAL "
                "(an inference pipeline)",
            )

    def _check_data(
        self,
        input_prefix: str,
        output_prefix: str,
        input_filter: str | None,
        output_filter: str | None,
    ) -> None:
        """Where the job reads and writes, and what of each record it keeps."""
        validation.check_s3_prefix(self, "input_prefix", input_prefix)
        validation.check_s3_prefix(self, "output_prefix", output_prefix)
        if (
            self.input_access.same_bucket(self.output_access)
            and not (validation.is_token(input_prefix) or validation.is_token(output_prefix))
            and (input_prefix.startswith(output_prefix) or output_prefix.startswith(input_prefix))
        ):
            validation.fail(
                self,
                "output_prefix",
                output_prefix,
                f"overlaps input_prefix {input_prefix!r} in the same bucket: the next run would "
                "read this run's output as input; use prefixes that do not contain each other",
            )
        longest = int(validation.service_range("JsonPath")[1] or 63)
        for prop, value in (("input_filter", input_filter), ("output_filter", output_filter)):
            if value is None or validation.is_token(value):
                continue
            if not isinstance(value, str) or not value.startswith("$") or len(value) > longest:
                validation.fail(
                    self,
                    prop,
                    value,
                    f"must be a JSONPath expression starting with '$' of at most {longest} "
                    "characters, e.g. '$[1:]'",
                )

    def _check_job(
        self,
        *,
        instance_type: str,
        instance_count: int,
        split_type: tasks.SplitType | None,
        batch_strategy: tasks.BatchStrategy | None,
        max_payload_mb: int | None,
        max_concurrent_transforms: int | None,
        environment: dict[str, str],
        invocations_timeout: Duration | None,
        invocations_max_retries: int | None,
        timeout: Duration,
    ) -> None:
        """The job's resources, requests and limits."""
        validation.check_transform_instance_type(self, "instance_type", instance_type)
        validation.check_int(
            self,
            "instance_count",
            instance_count,
            low=1,
            high=TRANSFORM_MAX_INSTANCES,
            unit=" instances",
        )
        if batch_strategy is not None and split_type in (None, tasks.SplitType.NONE):
            validation.fail(
                self,
                "batch_strategy",
                batch_strategy.name,
                "needs split_type Line, RecordIO or TFRecord: without splitting, each request "
                "carries one whole input object, so there are no records to batch",
            )
        validation.check_int(
            self, "max_payload_mb", max_payload_mb, low=0, high=TRANSFORM_MAX_PAYLOAD_MB, unit=" MB"
        )
        validation.check_service_int(
            self, "max_concurrent_transforms", max_concurrent_transforms, "MaxConcurrentTransforms"
        )
        if max_concurrent_transforms is not None and not validation.is_token(
            max_concurrent_transforms
        ):
            # Unset, the payload is SageMaker's default of 6 MB.
            payload = TRANSFORM_DEFAULT_PAYLOAD_MB if max_payload_mb is None else max_payload_mb
            in_flight = payload * max_concurrent_transforms
            if not validation.is_token(payload) and in_flight > TRANSFORM_MAX_PAYLOAD_MB:
                validation.fail(
                    self,
                    "max_concurrent_transforms",
                    max_concurrent_transforms,
                    f"max_concurrent_transforms x max_payload_mb = {in_flight} MB"
                    + (" (6 MB is SageMaker's default payload)" if max_payload_mb is None else "")
                    + f"; SageMaker allows at most {TRANSFORM_MAX_PAYLOAD_MB} MB in flight per "
                    "instance",
                )
        most = int(validation.service_range("TransformEnvironmentMap")[1] or 16)
        if len(environment) > most:
            validation.fail(
                self,
                "environment",
                f"{len(environment)} entries",
                f"a transform job takes at most {most} environment variables",
            )
        _, longest = validation.service_range("TransformEnvironmentValue")
        validation.check_environment(
            self, "environment", environment, value_max_length=int(longest or 10240)
        )
        low, high = validation.service_range("InvocationsTimeoutInSeconds")
        validation.check_range(
            self,
            "invocations_timeout",
            invocations_timeout.to_seconds() if invocations_timeout is not None else None,
            low=low or 1,
            high=high or 3600,
            unit=" s",
        )
        validation.check_service_int(
            self, "invocations_max_retries", invocations_max_retries, "InvocationsMaxRetries"
        )
        validation.check_range(
            self,
            "timeout",
            timeout.to_seconds(),
            low=60,
            high=STATE_MACHINE_MAX_SECONDS,
            unit=" s",
        )

    def _check_job_name_prefix(self, value: str) -> None:
        """A prefix that leaves room for the unique suffix in a 63-character job name."""
        longest = transform_job_prefix_max_length()
        if validation.is_token(value):
            validation.fail(
                self,
                "job_name_prefix",
                "<token>",
                "must be known at synth time: IAM policies are scoped to it",
            )
        if (
            not isinstance(value, str)
            or not value
            or len(value) > longest
            or not validation.NAME_PATTERN.match(value)
        ):
            validation.fail(
                self,
                "job_name_prefix",
                value,
                f"use 1-{longest} letters, digits and hyphens, starting and ending with a "
                "letter or digit: each run appends '-' and a 36-character UUID, and a transform "
                "job name has at most 63 characters",
            )

    # --- IAM -------------------------------------------------------------------

    def _job_arn_pattern(self, stack: Stack) -> str:
        # SageMaker ARNs carry the job name in lower case.
        return Arn.format(
            ArnComponents(
                service="sagemaker",
                resource="transform-job",
                resource_name=f"{self.job_name_prefix.lower()}-*",
            ),
            stack,
        )

    def _state_machine_statements(self, stack: Stack) -> list[iam.PolicyStatement]:
        """Run, watch and stop the transform jobs; log delivery and X-Ray come with the machine."""
        return [
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                resources=[self._job_arn_pattern(stack)],
            ),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.model.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    Arn.format(
                        ArnComponents(service="events", resource="rule", resource_name=SYNC_RULE),
                        stack,
                    )
                ],
            ),
        ]

    def _grant_job_logs(self, stack: Stack) -> None:
        """The job's containers log to SageMaker's shared log group, in streams named after it."""
        group = Arn.format(
            ArnComponents(
                service="logs",
                resource="log-group",
                resource_name=TRANSFORM_LOG_GROUP,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            stack,
        )
        group_actions = f"{group}:*"
        streams = f"{group}:log-stream:{self.job_name_prefix}-*"
        self.model.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                # CloudWatch Logs authorises these against "<group>:log-stream:".
                resources=[group_actions],
            )
        )
        self.model.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[streams],
            )
        )
        policy = getattr(self.model.grant_principal, "policy", None)
        if not isinstance(policy, Construct):
            return
        acknowledge_resource(
            policy,
            f"SageMaker names a transform job's log streams <job name>/<instance>; the jobs "
            f"of {self.node.path} are named at run time, so their streams are matched by the "
            f"job name prefix ({self.job_name_prefix}-*) in SageMaker's own log group.",
            "AwsSolutions-IAM5",
            streams,
        )
        acknowledge_resource(
            policy,
            "logs:CreateLogGroup and logs:DescribeLogStreams are authorised against "
            f"'<log group>:log-stream:'; ':*' here is SageMaker's own {TRANSFORM_LOG_GROUP} "
            "log group, no other.",
            "AwsSolutions-IAM5",
            group_actions,
        )
