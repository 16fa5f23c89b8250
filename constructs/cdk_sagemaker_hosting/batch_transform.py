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
    Arn,
    ArnComponents,
    ArnFormat,
    Duration,
    Names,
    RemovalPolicy,
    Size,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from cdk_sagemaker_hosting import serverless, validation
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.encrypted_bucket import EncryptedBucket
from cdk_sagemaker_hosting.model import Model
from constructs import Construct

DEFAULT_TRANSFORM_INSTANCE_TYPE = "ml.m5.large"
#: SageMaker's log group of every transform job in an account and Region.
TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
#: The rule Step Functions manages to learn when a ``.sync`` transform job ends.
SYNC_RULE = "StepFunctionsGetEventsForSageMakerTransformJobsRule"


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


class ScheduledBatchTransform(Construct):
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

    Construct IDs (a public contract): ``Key`` (when created), ``LogGroup``,
    ``Role`` and ``Policy`` (the state machine's role and its managed policy),
    ``RoleRef`` (the state machine's immutable reference to ``Role``),
    ``NameRun`` and ``Transform`` (the states), ``Resource`` (the
    ``AWS::StepFunctions::StateMachine``), ``Schedule`` (the
    ``AWS::Events::Rule``), ``ScheduleRole`` and ``SchedulePolicy``,
    ``DeadLetterQueue`` (events the schedule could not deliver), ``Topic``
    (when created), ``FailedAlarm``, ``DeadLetterAlarm``.

    :param model: the model to run; not multi-model, not direct invocation.
    :param input_bucket: where the input is.
    :param input_prefix: the input's key prefix, ending with ``/``.
    :param output_prefix: the output's key prefix, ending with ``/``; must not
        overlap ``input_prefix`` in the same bucket.
    :param schedule: when to run, e.g. ``events.Schedule.cron(minute="0",
        hour="3", week_day="SUN")``.
    :param output_bucket: where the output goes. Default: ``input_bucket``.
    :param output_per_run: write each run's output under
        ``<output_prefix><job name>/``, so no run overwrites another. Default:
        ``True``; ``False`` writes straight under ``output_prefix``.
    :param instance_type: Default: ``"ml.m5.large"``.
    :param instance_count: 1-100 instances. Default: 1.
    :param content_type: MIME type of the input. Default: none (the container's default).
    :param accept: MIME type of the output. Default: none (the container's default).
    :param split_type: how input objects are split into records. Default:
        SageMaker's (``None``: whole objects).
    :param compression_type: Default: SageMaker's (uncompressed).
    :param batch_strategy: one or many records per request; needs a
        ``split_type`` other than ``NONE``. Default: SageMaker's (none).
    :param assemble_with: how output records are joined in an output object.
        Default: SageMaker's (``None``: concatenated).
    :param max_payload_mb: 0-100 MB per request (0: chunked, for algorithms
        that support it). Default: SageMaker's (6 MB).
    :param max_concurrent_transforms: parallel requests per instance; with
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
        the dead-letter queue and the topic. Default: a new key with rotation.
    :param topic: where the failure alarm notifies. Default: a new encrypted topic.
    :param log_retention: Default: one year.
    :param removal_policy: for the key and the log group. Default: ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: Model,
        input_bucket: EncryptedBucket,
        input_prefix: str,
        output_prefix: str,
        schedule: events.Schedule,
        output_bucket: EncryptedBucket | None = None,
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
        super().__init__(scope, construct_id)
        output_bucket = output_bucket or input_bucket
        timeout = timeout or Duration.hours(24)
        env = dict(environment or {})
        validation.check_schedule_expression(self, "schedule", schedule.expression_string)
        validation.check_batch_transform(
            self,
            model=model,
            input_bucket=input_bucket,
            input_prefix=input_prefix,
            output_bucket=output_bucket,
            output_prefix=output_prefix,
            instance_type=instance_type,
            instance_count=instance_count,
            split_type=split_type.name if split_type is not None else None,
            batch_strategy=batch_strategy.name if batch_strategy is not None else None,
            max_payload_mb=max_payload_mb,
            max_concurrent_transforms=max_concurrent_transforms,
            input_filter=input_filter,
            output_filter=output_filter,
            environment=env,
            invocations_timeout_seconds=invocations_timeout.to_seconds()
            if invocations_timeout is not None
            else None,
            invocations_max_retries=invocations_max_retries,
            timeout_seconds=timeout.to_seconds(),
        )
        self.job_name_prefix: str = job_name_prefix or Names.unique_resource_name(
            self, max_length=validation.TRANSFORM_JOB_PREFIX_MAX_LENGTH, separator="-"
        )
        validation.check_transform_job_prefix(self, "job_name_prefix", self.job_name_prefix)

        self.model = model
        self.input_bucket = input_bucket
        self.output_bucket = output_bucket
        self.instance_type = instance_type
        stack = Stack.of(self)
        self.encryption_key: kms.IKey = encryption_key or serverless.encryption_key(
            self,
            "Key",
            f"Encrypts the transform volumes, logs and alarms of {self.node.path}",
            removal_policy,
        )

        # The model's role is what SageMaker assumes to run the job.
        input_bucket.grant_read_prefix(model, input_prefix)
        output_bucket.grant_write_prefix(model, output_prefix)
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
        output_path = (
            sfn.JsonPath.format(
                f"s3://{output_bucket.bucket_name}/{output_prefix}{{}}/",
                job_name,
            )
            if output_per_run
            else f"s3://{output_bucket.bucket_name}/{output_prefix}"
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
                        s3_uri=input_bucket.s3_url_for_object(input_prefix),
                        s3_data_type=tasks.S3DataType.S3_PREFIX,
                    )
                ),
                content_type=content_type,
                split_type=split_type,
                compression_type=compression_type,
            ),
            transform_output=tasks.TransformOutput(
                s3_output_path=output_path,
                encryption_key=output_bucket.encryption_key,
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
        built = serverless.logged_state_machine(
            self,
            "Resource",
            definition=name_run.next(self.task),
            key=self.encryption_key,
            timeout=timeout.plus(Duration.minutes(10)),
            comment=f"Scheduled batch transform {self.node.path}",
            statements=self._state_machine_statements(stack),
            role_description=f"Runs the transform jobs of {self.node.path}",
            trust_account_only=True,
            id_prefix="",
            log_group_id="LogGroup",
            log_name_suffix="",
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.state_machine = built.state_machine
        self.role = built.role
        self.log_group = built.log_group
        acknowledge(
            built.principal.policy,
            "The transform jobs are named at run time, so they are matched by their prefix "
            f"({self.job_name_prefix}-*), the narrowest resource IAM can name for them.",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
            f"<AWS::AccountId>:transform-job/{self.job_name_prefix.lower()}-*]",
        )

        self.rule, self.dead_letter_queue = serverless.scheduled_execution(
            self,
            "Schedule",
            state_machine=self.state_machine,
            schedule=schedule,
            key=self.encryption_key,
            dead_letter_queue_id="DeadLetterQueue",
            description=f"Starts the batch transform {self.node.path}",
            role_description=f"Starts the runs of {self.node.path} on schedule",
            enabled=enabled,
        )
        self.topic: sns.ITopic = topic or serverless.encrypted_topic(
            self, "Topic", self.encryption_key
        )
        self.alarm = serverless.failed_executions_alarm(
            self,
            "FailedAlarm",
            state_machine=self.state_machine,
            topic=self.topic,
            label="Runs failed, timed out or aborted",
            description=f"A run of the batch transform {self.node.path} failed, timed "
            "out or was aborted; see the state machine's execution history",
        )
        self.dead_letter_alarm = serverless.dead_letter_alarm(
            self,
            "DeadLetterAlarm",
            queue=self.dead_letter_queue,
            topic=self.topic,
            description=f"The schedule of {self.node.path} could not start a run; the "
            "undelivered event is in the dead-letter queue",
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
        self.model.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                # CloudWatch Logs authorises these against "<group>:log-stream:".
                resources=[f"{group}:*"],
            )
        )
        self.model.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{group}:log-stream:{self.job_name_prefix}-*"],
            )
        )
        policy = getattr(self.model.grant_principal, "policy", None)
        if not isinstance(policy, Construct):
            return
        acknowledge(
            policy,
            f"SageMaker names a transform job's log streams <job name>/<instance>; the jobs "
            f"of {self.node.path} are named at run time, so their streams are matched by the "
            f"job name prefix ({self.job_name_prefix}-*) in SageMaker's own log group.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            f"<AWS::AccountId>:log-group:{TRANSFORM_LOG_GROUP}:log-stream:"
            f"{self.job_name_prefix}-*]",
        )
        acknowledge(
            policy,
            "logs:CreateLogGroup and logs:DescribeLogStreams are authorised against "
            f"'<log group>:log-stream:'; ':*' here is SageMaker's own {TRANSFORM_LOG_GROUP} "
            "log group, no other.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            f"<AWS::AccountId>:log-group:{TRANSFORM_LOG_GROUP}:*]",
        )

    # --- public helpers --------------------------------------------------------

    @property
    def state_machine_arn(self) -> str:
        """The state machine's ARN."""
        return self.state_machine.state_machine_arn

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start a run outside the schedule (``states:StartExecution``)."""
        return self.state_machine.grant_start_execution(grantee)

    def metric_failed(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Runs that failed (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_failed(period=period or Duration.minutes(5))

    def metric_timed_out(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Runs that timed out (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_timed_out(period=period or Duration.minutes(5))

    def metric_aborted(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Runs that were stopped (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_aborted(period=period or Duration.minutes(5))

    def metric_succeeded(self, period: Duration | None = None) -> cloudwatch.Metric:
        """Runs that succeeded (sum per ``period``, default 5 minutes)."""
        return self.state_machine.metric_succeeded(period=period or Duration.minutes(5))
