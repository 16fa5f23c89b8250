"""SageMaker Neo: compile a model for the hardware that hosts it, as a step of ``cdk deploy``.

CloudFormation has no compilation-job resource, so :class:`CompiledModel` is
a custom resource answered by a Step Functions workflow: it starts one
``CreateCompilationJob`` per set of inputs (its name is their hash) and
polls until the job completes, failing the deploy with the job's
``FailureReason`` otherwise (``lambda/compilation/``). Its output,
:attr:`CompiledModel.model_data` (or ``ModelData.from_compilation``), is the
compiled artifact's S3 location, which a :class:`Model`
uses like any model data.

At synth, the target is checked against botocore's enums, the data shape,
framework version and compiler options against what Neo accepts for it,
and, once the app is complete, against every variant, inference component
or batch transform that serves the compiled model (``ml_c5`` runs on
``ml.c5.*`` only) and the model's container image (a Neo inference image
for that framework and processor, or the user's own, with a warning).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import (
    Annotations,
    Arn,
    ArnComponents,
    ArnFormat,
    CustomResource,
    Duration,
    Names,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from cdk_sagemaker_hosting import compliance, validation
from cdk_sagemaker_hosting._lambda.compilation.job import PREFIX_MAX_LENGTH, ThrottledError
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, BucketLike
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from cdk_sagemaker_hosting.model import ModelData
from constructs import Construct, IConstruct, IValidation

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

    from cdk_sagemaker_hosting.model import Model

__all__ = ["CompilationTarget", "CompiledModel"]

#: The warning a model image that is not a Neo inference image gets.
WARNING_OWN_IMAGE = "cdk-sagemaker-hosting:CompiledModelOwnImage"
#: The warning compiled output without a customer-managed key gets.
WARNING_OUTPUT_KEY = "cdk-sagemaker-hosting:CompilationOutputKeyUnknown"
#: The warning a target SageMaker offers in one Region only gets.
WARNING_TARGET_REGION = "cdk-sagemaker-hosting:CompilationTargetRegion"

#: Hosting instance families each cloud target device compiles for ("d" variants share the CPU).
DEVICE_FAMILIES: dict[str, tuple[str, ...]] = {
    "ml_c4": ("c4",),
    "ml_c5": ("c5", "c5d"),
    "ml_c6g": ("c6g", "c6gd", "c6gn"),
    "ml_m4": ("m4",),
    "ml_m5": ("m5", "m5d"),
    "ml_m6g": ("m6g", "m6gd"),
    "ml_p2": ("p2",),
    "ml_p3": ("p3", "p3dn"),
    "ml_g4dn": ("g4dn",),
    "ml_inf1": ("inf1",),
    "ml_inf2": ("inf2",),
    "ml_trn1": ("trn1", "trn1n"),
}
#: Targets whose code runs on a GPU (the Neo image's "gpu" processor), or on AWS Inferentia.
GPU_DEVICES = frozenset({"ml_p2", "ml_p3", "ml_g4dn"})
NEURON_DEVICES = frozenset({"ml_inf1", "ml_inf2", "ml_trn1"})
#: Frameworks Neo compiles for cloud instances, and the versions it supports for CPU and GPU
#: targets: SageMaker Developer Guide, "Supported Instance Types and Frameworks" (cloud
#: instances). ``None``: versions are not checked (``FrameworkVersion`` does not apply).
CLOUD_FRAMEWORK_VERSIONS: dict[str, tuple[str, ...] | None] = {
    "MXNET": ("1.8",),
    "PYTORCH": ("1.4", "1.5", "1.6", "1.7", "1.8", "1.12", "1.13", "2.0"),
    "TENSORFLOW": ("1.15", "2.9"),
    "KERAS": None,
    "ONNX": None,
    "XGBOOST": None,
}
#: Frameworks whose ``FrameworkVersion`` SageMaker reads (its API reference).
VERSIONED_FRAMEWORKS = frozenset({"MXNET", "PYTORCH", "TENSORFLOW", "TFLITE"})
#: Frameworks that need the input's name and shape (all but XGBoost, says the API reference).
SHAPE_FREE_FRAMEWORKS = frozenset({"XGBOOST", "SKLEARN"})
#: Neo's inference images: repository per framework (CPU/GPU instances, then Inferentia 1).
NEO_REPOSITORIES: dict[str, tuple[str, str | None]] = {
    "MXNET": ("sagemaker-inference-mxnet", "sagemaker-neo-mxnet"),
    "PYTORCH": ("sagemaker-inference-pytorch", "sagemaker-neo-pytorch"),
    "TENSORFLOW": ("sagemaker-inference-tensorflow", "sagemaker-neo-tensorflow"),
    "KERAS": ("sagemaker-neo-keras", None),
    "ONNX": ("sagemaker-neo-onnx", None),
    "XGBOOST": ("xgboost-neo", None),
}
#: The compiler options an NVIDIA platform needs (API reference, ``TargetPlatform``).
NVIDIA_OPTIONS = ("gpu-code", "trt-ver", "cuda-ver")
#: Where Neo compilation jobs write their logs (a log group SageMaker creates).
LOG_GROUP = "/aws/sagemaker/CompilationJobs"
#: How often the workflow asks whether the job is done.
QUERY_INTERVAL = Duration.seconds(30)
#: The error a step throttled past botocore's retries raises (Lambda reports the class name).
THROTTLED_ERROR = ThrottledError.__name__
#: The workflow waits at most 45 minutes: CloudFormation waits an hour for an answer.
TOTAL_TIMEOUT_MAX = Duration.minutes(45)
#: Time the framework leaves around the job's own limit (queueing, start, upload).
TIMEOUT_MARGIN = Duration.minutes(10)

_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*$")
_GPU = re.compile(r"^(g|p)\d")


def _family(instance_type: str) -> str:
    """``ml.c5.xlarge`` -> ``c5``."""
    parts = instance_type.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "ml" else instance_type


@dataclasses.dataclass(frozen=True)
class CompilationTarget:
    """What Neo compiles for: a SageMaker target device, or an OS/architecture/accelerator.

    Use :meth:`device` (``"ml_c5"``, ``"ml_inf2"``...) for a hosting instance
    family, or :meth:`platform` (e.g. ``LINUX``/``X86_64``/``NVIDIA`` for GPU
    families with no device of their own, such as ``ml.g5``).
    """

    target_device: str | None = None
    os: str | None = None
    arch: str | None = None
    accelerator: str | None = None

    @staticmethod
    def device(name: str) -> CompilationTarget:
        """A target device of botocore's ``TargetDevice`` enum, one of the ``ml_*`` ones."""
        return CompilationTarget(target_device=name)

    @staticmethod
    def platform(*, os: str, arch: str, accelerator: str | None = None) -> CompilationTarget:
        """A target platform (botocore's ``TargetPlatformOs``/``Arch``/``Accelerator``)."""
        return CompilationTarget(os=os, arch=arch, accelerator=accelerator)

    def __str__(self) -> str:
        if self.target_device is not None:
            return self.target_device
        return "/".join(p for p in (self.os, self.arch, self.accelerator) if p)

    @property
    def processor(self) -> str:
        """``cpu``, ``gpu`` or ``inf``: the processor of the Neo image that runs the result."""
        if self.target_device in NEURON_DEVICES:
            return "inf"
        if self.target_device in GPU_DEVICES or self.accelerator == "NVIDIA":
            return "gpu"
        return "cpu"

    def check(self, scope: IConstruct, prop: str) -> None:
        """A hosting target of botocore's enums, or a :class:`ValidationError`."""
        if self.target_device is not None:
            self._check_device(scope, prop)
            return
        for member, value, shape in (
            ("os", self.os, "TargetPlatformOs"),
            ("arch", self.arch, "TargetPlatformArch"),
            ("accelerator", self.accelerator, "TargetPlatformAccelerator"),
        ):
            allowed = validation.service_enum(shape)
            if (value is not None or member != "accelerator") and value not in allowed:
                validation.fail(
                    scope, f"{prop}.{member}", value, f"must be one of {sorted(allowed)}"
                )
        hostable = (
            self.os == "LINUX"
            and self.accelerator in (None, "NVIDIA")
            and self.arch in ("X86_64", "ARM64")
        )
        if not hostable:
            validation.fail(
                scope,
                prop,
                str(self),
                "SageMaker hosting runs LINUX on X86_64 or ARM64, with no accelerator or "
                "NVIDIA; the other platforms are edge devices",
            )

    def _check_device(self, scope: IConstruct, prop: str) -> None:
        device = self.target_device
        allowed = validation.service_enum("TargetDevice")
        if device not in allowed:
            validation.fail(scope, prop, device, f"must be one of botocore's {sorted(allowed)}")
        if device == "ml_eia2":
            validation.fail(scope, prop, device, validation.ELASTIC_INFERENCE_ENDED)
        if device not in DEVICE_FAMILIES:
            validation.fail(
                scope,
                prop,
                device,
                "is an edge device; a model hosted by SageMaker compiles for one of "
                f"{sorted(DEVICE_FAMILIES)}, or a CompilationTarget.platform",
            )

    def families(self) -> str:
        """The hosting instance types it runs on, for messages."""
        if self.target_device is not None:
            return ", ".join(f"ml.{f}.*" for f in DEVICE_FAMILIES[self.target_device])
        if self.accelerator == "NVIDIA":
            return "GPU instances (ml.g*, ml.p*)" + (
                " with Graviton CPUs (ml.g5g.*)" if self.arch == "ARM64" else ""
            )
        if self.arch == "ARM64":
            return "Graviton instances (ml.c6g.*, ml.m7g.*...)"
        return "x86 instances (not Graviton), or serverless"

    def serves(self, instance_type: str | None) -> bool:
        """Whether code compiled for it runs on ``instance_type`` (``None``: serverless)."""
        if instance_type is None:
            return self.target_device is None and self.accelerator is None and self.arch == "X86_64"
        family = _family(instance_type)
        if self.target_device is not None:
            return family in DEVICE_FAMILIES.get(self.target_device, ())
        graviton = bool(_GRAVITON.match(family))
        if self.accelerator == "NVIDIA":
            return bool(_GPU.match(family)) and graviton == (self.arch == "ARM64")
        return graviton == (self.arch == "ARM64")

    def render(self) -> dict[str, Any]:
        """The target's members of ``OutputConfig``."""
        if self.target_device is not None:
            return {"TargetDevice": self.target_device}
        platform = {"Os": self.os, "Arch": self.arch}
        if self.accelerator is not None:
            platform["Accelerator"] = self.accelerator
        return {"TargetPlatform": platform}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


@jsii.implements(iam.IGrantable)
class CompiledModel(Construct):
    """A model compiled by SageMaker Neo for its hosting hardware, once per set of inputs.

    The compilation job runs during ``cdk deploy`` (a custom resource whose
    Step Functions workflow polls the job); a deploy with the same
    inputs compiles nothing, changed inputs compile anew, and a failed job
    fails the deploy with SageMaker's ``FailureReason``. Use
    :attr:`model_data` (or ``ModelData.from_compilation(compiled)``) as a
    :class:`Model`'s model data.

    The compilation role may read the source artifact only, and write (with
    the output bucket's key) under ``output_prefix`` only. The handler
    functions may start, describe and stop this construct's jobs only, pass
    that role to SageMaker only, and read (and, with ``RemovalPolicy.DESTROY``,
    delete) the output prefix only; the workflow and the functions log to
    encrypted log groups and are traced. CloudFormation's presigned response
    URL never enters the workflow (its input, history or logs): the
    ``Request`` function keeps it in an SSM SecureString encrypted with
    ``encryption_key`` under ``/cdk-sagemaker-hosting/compilation/<prefix>/``,
    and the workflow's answer reads it back and deletes it.

    Construct IDs (a public contract): ``Role``, ``Policy`` (the compilation
    role's managed policy), ``Key`` (when no ``encryption_key``),
    ``Request`` (the service token: starts the workflow) and ``Step`` (the
    workflow's states), each with its ``Role``, ``Policy`` and ``Logs``;
    ``Workflow`` (the state machine, with its ``Role``, ``Policy`` and
    ``Logs``) and ``Resource`` (the ``Custom::NeoCompilation``).

    :param source: the trained artifact (``ModelData.from_bucket`` or
        ``from_asset``; a ``.tar.gz``).
    :param framework: botocore's ``Framework`` enum, e.g. ``"PYTORCH"``.
    :param target: what to compile for, e.g. ``CompilationTarget.device("ml_c5")``.
    :param output: the bucket the compiled artifact goes to.
    :param framework_version: e.g. ``"2.0"`` (MXNet, PyTorch, TensorFlow and
        TFLite only). Default: Neo's default for the framework.
    :param data_input_config: the inputs' names and shapes, e.g.
        ``{"input0": [1, 3, 224, 224]}`` (PyTorch also takes a list of
        shapes), or that JSON as a string. Required except for XGBoost.
    :param compiler_options: the target's compiler options, as a mapping
        (written as JSON) or a string. Default: none.
    :param output_prefix: where in ``output`` the artifacts go; each
        compilation job gets a folder of its own under it, named by the job
        (its inputs' hash, and the try). Default: ``neo/<unique id>/``.
    :param output_encryption_key: the key SageMaker encrypts the artifact
        with. Default: the output bucket's.
    :param max_runtime: the job's limit, at most 35 minutes (the workflow
        waits 10 minutes more, and CloudFormation an hour in all). Default:
        15 minutes, SageMaker's advice.
    :param removal_policy: what happens to the compiled artifacts when the
        resource is replaced (changed inputs) or deleted. Default:
        ``RemovalPolicy.RETAIN``; ``DESTROY`` deletes that input's folder.
        A running job is stopped either way.
    :param encryption_key: the key of the handler functions' logs and
        environment. Default: a new key with rotation.
    :param log_retention: of the functions' and the waiter's logs. Default: one year.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: ModelData,
        framework: str,
        target: CompilationTarget,
        output: BucketLike,
        framework_version: str | None = None,
        data_input_config: Mapping[str, Any] | Sequence[Any] | str | None = None,
        compiler_options: Mapping[str, Any] | str | None = None,
        output_prefix: str | None = None,
        output_encryption_key: kms.IKey | None = None,
        max_runtime: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        validation.check_type(self, "source", source, ModelData, "a ModelData")
        if source.is_prefix:
            validation.fail(
                self,
                "source",
                "a prefix",
                "Neo compiles one artifact: use ModelData.from_bucket(bucket, key) or from_asset",
            )
        validation.check_type(self, "target", target, CompilationTarget, "a CompilationTarget")
        target.check(self, "target")
        if removal_policy not in (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY):
            validation.fail(
                self, "removal_policy", removal_policy, "must be RemovalPolicy.RETAIN or DESTROY"
            )
        self.target = target
        self.framework = self._check_framework(framework, framework_version)
        self.framework_version = framework_version
        runtime = self._check_runtime(max_runtime or Duration.minutes(15))
        shapes = self._data_input_config(data_input_config)
        options = self._compiler_options(compiler_options)
        self._warn_region()

        stack = Stack.of(self)
        #: The compilation jobs' names start with this (lower case: SageMaker's ARNs are).
        self.job_name_prefix = Names.unique_resource_name(
            self, max_length=PREFIX_MAX_LENGTH, separator="-"
        ).lower()
        prefix = output_prefix if output_prefix is not None else f"neo/{self.job_name_prefix}/"
        validation.check_s3_prefix(self, "output_prefix", prefix)
        self.output_prefix = prefix

        self.role = iam.Role(
            self,
            "Role",
            description=f"Compilation role of the SageMaker Neo model {self.node.path}",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        self._principal = ManagedPolicyPrincipal(self, "Policy", role=self.role)
        source_url = source.bind(self, self, "source")
        access = BucketAccess.of(self, "output", output, output_encryption_key)
        self._output = access
        access.grant_write_prefix(self, prefix)
        self._grant_logs_and_metrics(stack)
        if access.key_arn is None:
            Annotations.of(self).add_warning_v2(
                WARNING_OUTPUT_KEY,
                f"output {access.bucket.node.path} carries no customer-managed KMS key, so "
                "SageMaker encrypts the compiled artifact with the account's aws/s3 key. Use an "
                "EncryptedBucket, or pass output_encryption_key.",
            )

        input_config: dict[str, Any] = {"S3Uri": source_url, "Framework": self.framework}
        if framework_version is not None:
            input_config["FrameworkVersion"] = framework_version
        if shapes is not None:
            input_config["DataInputConfig"] = shapes
        output_config: dict[str, Any] = {
            "S3OutputLocation": access.s3_url_for_object(prefix),
            **target.render(),
        }
        if options is not None:
            output_config["CompilerOptions"] = options
        if access.key_arn is not None:
            output_config["KmsKeyId"] = access.key_arn

        provider = self._provider(
            stack,
            runtime=runtime,
            removal_policy=removal_policy,
            encryption_key=encryption_key,
            log_retention=log_retention,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider,
            resource_type="Custom::NeoCompilation",
            # CloudFormation fails the request if nobody answers by then.
            service_timeout=self.timeout.plus(Duration.minutes(10)),
            properties={
                "JobNamePrefix": self.job_name_prefix,
                "RoleArn": self.role.role_arn,
                "InputConfig": input_config,
                "OutputConfig": output_config,
                "MaxRuntimeInSeconds": runtime,
                "RemovalPolicy": "destroy" if removal_policy is RemovalPolicy.DESTROY else "retain",
            },
        )
        # SageMaker checks the role when the job starts: its policy must exist by then.
        self.resource.node.add_dependency(self._principal.policy)
        self._models: list[tuple[Model, str]] = []
        self.node.add_validation(_CheckHosts(self))

    # --- synth-time checks -------------------------------------------------------------------

    def _check_framework(self, framework: str, version: str | None) -> str:
        allowed = validation.service_enum("Framework")
        if framework not in allowed:
            validation.fail(self, "framework", framework, f"must be one of {sorted(allowed)}")
        if framework not in CLOUD_FRAMEWORK_VERSIONS:
            validation.fail(
                self,
                "framework",
                framework,
                "Neo compiles it for edge devices only; for SageMaker hosting it compiles "
                f"{sorted(CLOUD_FRAMEWORK_VERSIONS)}",
            )
        if version is None:
            return framework
        low, high = (int(n or 0) for n in validation.service_range("FrameworkVersion"))
        if not isinstance(version, str) or not re.fullmatch(r"[0-9]\.[A-Za-z0-9.]+", version):
            validation.fail(self, "framework_version", version, "must look like 2.0 or 1.15.3")
        if not low <= len(version) <= high:
            validation.fail(self, "framework_version", version, f"takes {low}-{high} characters")
        if framework not in VERSIONED_FRAMEWORKS:
            validation.fail(
                self,
                "framework_version",
                version,
                f"SageMaker reads it for {sorted(VERSIONED_FRAMEWORKS)} only; leave it out "
                f"for {framework}",
            )
        supported = CLOUD_FRAMEWORK_VERSIONS[framework]
        if self.target.processor == "inf":
            Annotations.of(self).add_info(
                f"framework_version={version!r} is not checked at synth for "
                f"{self.target}: see Neo's Inferentia and Trainium framework support"
            )
        elif supported is not None and not any(
            _version_key(version)[: len(_version_key(s))] == _version_key(s) for s in supported
        ):
            validation.fail(
                self,
                "framework_version",
                version,
                f"Neo compiles {framework} {', '.join(supported)} for {self.target}",
            )
        return framework

    def _check_runtime(self, max_runtime: Duration) -> int:
        seconds = validation.whole_seconds(self, "max_runtime", max_runtime)
        low, _ = validation.service_range("MaxRuntimeInSeconds")
        high = TOTAL_TIMEOUT_MAX.to_seconds() - TIMEOUT_MARGIN.to_seconds()
        validation.check_range(
            self, "max_runtime", seconds, low=int(low or 1), high=int(high), unit=" seconds"
        )
        return seconds

    def _data_input_config(self, shapes: Mapping[str, Any] | Sequence[Any] | str | None) -> Any:
        """The data shape as the JSON string SageMaker takes, checked."""
        if shapes is None:
            if self.framework not in SHAPE_FREE_FRAMEWORKS:
                validation.fail(
                    self,
                    "data_input_config",
                    None,
                    f"{self.framework} needs the inputs' names and shapes, e.g. "
                    '{"input0": [1, 3, 224, 224]}',
                )
            return None
        if validation.is_token(shapes):
            return shapes
        parsed: Any = shapes
        if isinstance(shapes, str):
            try:
                parsed = json.loads(shapes)
            except ValueError:
                validation.fail(self, "data_input_config", shapes, "must be JSON")
        valid = (
            isinstance(parsed, Mapping)
            and parsed
            and all(isinstance(k, str) and k and _is_shape(v) for k, v in parsed.items())
        )
        if self.framework == "PYTORCH" and isinstance(parsed, Sequence) and parsed:
            valid = not isinstance(parsed, str) and all(_is_shape(v) for v in parsed)
        if not valid:
            listed = " or a list of shapes" if self.framework == "PYTORCH" else ""
            validation.fail(
                self,
                "data_input_config",
                validation.shown(shapes),
                "must map each input's name to its shape, a list of positive whole numbers "
                f'(e.g. {{"input0": [1, 3, 224, 224]}}){listed}',
            )
        text = shapes if isinstance(shapes, str) else json.dumps(parsed, separators=(",", ":"))
        low, high = validation.service_range("DataInputConfig")
        if not (low or 1) <= len(text) <= (high or 16384):
            validation.fail(
                self, "data_input_config", f"{len(text)} characters", f"takes {low}-{high}"
            )
        return text

    def _compiler_options(self, options: Mapping[str, Any] | str | None) -> str | None:
        if self.target.accelerator == "NVIDIA" and not validation.is_token(options):
            given: Any = options
            if isinstance(options, str):
                try:
                    given = json.loads(options)
                except ValueError:
                    given = None
            given = given if isinstance(given, Mapping) else {}
            missing = [o for o in NVIDIA_OPTIONS if o not in given]
            if missing:
                validation.fail(
                    self,
                    "compiler_options",
                    validation.shown(options),
                    f"an NVIDIA target needs {', '.join(NVIDIA_OPTIONS)} (missing "
                    f"{', '.join(missing)}), as a mapping or its JSON, e.g. "
                    '{"gpu-code": "sm_86", "trt-ver": "8.6.1", "cuda-ver": "12.1"}',
                )
        if options is None:
            return None
        if isinstance(options, Mapping):
            text = json.dumps(dict(options), separators=(",", ":"))
        elif isinstance(options, str):
            text = options
        else:
            validation.fail(self, "compiler_options", options, "must be a mapping or a string")
        low, high = validation.service_range("CompilerOptions")
        if not validation.is_token(text) and not (low or 3) <= len(text) <= (high or 1024):
            validation.fail(self, "compiler_options", text, f"takes {low}-{high} characters")
        return text

    def _warn_region(self) -> None:
        """botocore's model says ml_inf2 and ml_trn1 compile in one Region only."""
        only = {"ml_inf2": "us-east-2", "ml_trn1": "us-east-1"}.get(self.target.target_device or "")
        region = Stack.of(self).region
        if only and (validation.is_token(region) or region != only):
            where = "a Region known at deploy time" if validation.is_token(region) else region
            Annotations.of(self).add_warning_v2(
                WARNING_TARGET_REGION,
                f"SageMaker's API reference says {self.target} compiles in {only} only; "
                f"this stack deploys to {where}.",
            )

    # --- permissions -------------------------------------------------------------------------

    def _grant_logs_and_metrics(self, stack: Stack) -> None:
        log_group = Arn.format(
            ArnComponents(
                service="logs",
                resource="log-group",
                resource_name=LOG_GROUP,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            stack,
        )
        self._principal.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=[log_group, f"{log_group}:log-stream:*"],
            )
        )
        self._principal.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        compliance.acknowledge(
            self._principal.policy,
            "cloudwatch:PutMetricData has no resource-level permissions (limited to the "
            f"/aws/sagemaker/* namespace); the log streams of {LOG_GROUP}, the log group Neo "
            "writes to, are named by SageMaker per job. The artifacts are exact objects or "
            "this construct's output prefix.",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:{LOG_GROUP}:log-stream:*]",
        )

    def _provider(
        self,
        stack: Stack,
        *,
        runtime: int,
        removal_policy: RemovalPolicy,
        encryption_key: kms.IKey | None,
        log_retention: logs.RetentionDays | None,
    ) -> str:
        """The resource's service token: a function starting the compilation workflow.

        The workflow (a state machine of :func:`workflow.logged_state_machine`)
        runs ``on_event``, polls ``is_complete`` every :data:`QUERY_INTERVAL`
        and answers CloudFormation; every function is a
        :func:`workflow.handler_function` with encrypted logs.
        """
        from aws_cdk import aws_stepfunctions as sfn  # noqa: PLC0415 - only where compiled
        from aws_cdk import aws_stepfunctions_tasks as tasks  # noqa: PLC0415

        from cdk_sagemaker_hosting import workflow  # noqa: PLC0415
        from cdk_sagemaker_hosting.encryption import (  # noqa: PLC0415
            encryption_key as new_key,
        )

        key = encryption_key or new_key(
            self, "Key", f"Logs of the SageMaker Neo compilation {self.node.path}"
        )
        self.encryption_key = key
        retention = log_retention or workflow.LOG_RETENTION
        #: How long the workflow waits for the job: its limit and a margin, within one hour.
        self.timeout = Duration.seconds(
            min(runtime + TIMEOUT_MARGIN.to_seconds(), TOTAL_TIMEOUT_MAX.to_seconds())
        )
        jobs = Arn.format(
            ArnComponents(
                service="sagemaker",
                resource="compilation-job",
                resource_name=f"{self.job_name_prefix}-*",
            ),
            stack,
        )
        # Each request's ResponseURL waits here (SSM SecureStrings under the construct's own
        # path, encrypted with its key), never in the workflow's input, history or logs.
        url_root = f"/cdk-sagemaker-hosting/compilation/{self.job_name_prefix}"
        url_parameters = Arn.format(
            ArnComponents(
                service="ssm",
                resource="parameter",
                resource_name=f"{url_root.lstrip('/')}/*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
            stack,
        )
        url_environment = {"RESPONSE_PARAMETERS": url_root, "RESPONSE_KEY_ID": key.key_arn}

        def grant_urls(
            grantee: ManagedPolicyPrincipal, ssm_actions: list[str], kms_actions: list[str]
        ) -> None:
            grantee.add_to_principal_policy(
                iam.PolicyStatement(actions=ssm_actions, resources=[url_parameters])
            )
            compliance.acknowledge_resource(
                grantee.policy,
                "One SecureString per CloudFormation request, named by its request ID (unknown "
                "at deploy time), under this construct's own parameter path only.",
                "AwsSolutions-IAM5",
                url_parameters,
            )
            grantee.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=kms_actions,
                    resources=[key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"ssm.{stack.region}.amazonaws.com"},
                        "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": url_parameters},
                    },
                )
            )

        step, principal = workflow.handler_function(
            self,
            "Step",
            function="compilation",
            key=key,
            description=f"Neo compilation {self.node.path}: the workflow's steps",
            timeout=Duration.minutes(2),
            environment={"COMPILATION_STEP": "workflow", **url_environment},
            retention=retention,
        )
        grant_urls(principal, ["ssm:GetParameter", "ssm:DeleteParameter"], ["kms:Decrypt"])
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateCompilationJob",
                    "sagemaker:DescribeCompilationJob",
                    "sagemaker:StopCompilationJob",
                ],
                resources=[jobs],
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                # Finds the tries of one input in one call; it has no resource-level permission.
                actions=["sagemaker:ListCompilationJobs"],
                resources=["*"],
            )
        )
        compliance.acknowledge_resource(
            principal.policy,
            "The function starts, describes and stops this construct's compilation jobs only: "
            "their names are its prefix and a hash of the inputs, known at deploy time.",
            "AwsSolutions-IAM5",
            jobs,
        )
        compliance.acknowledge(
            principal.policy,
            "iam:PassRole on the compilation role only, and only to SageMaker "
            "(iam:PassedToService): CreateCompilationJob runs the job with the role it is passed.",
            parliament=["PERMISSIONS_MANAGEMENT_ACTIONS"],
        )
        # Whether an earlier artifact is still there, and (DESTROY) deleting it.
        self._output.add_read_prefix(principal, self.output_prefix)
        if removal_policy is RemovalPolicy.DESTROY:
            principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:DeleteObject"],
                    resources=[self._output.arn_for_objects(f"{self.output_prefix}*")],
                )
            )

        def invoke(construct_id: str, action: str, result_path: str | None) -> tasks.LambdaInvoke:
            task = tasks.LambdaInvoke(
                self,
                construct_id,
                lambda_function=step,
                payload=sfn.TaskInput.from_object({"action": action, "event.$": "$"}),
                payload_response_only=True,
                result_path=result_path or sfn.JsonPath.DISCARD,
                retry_on_service_exceptions=True,
            )
            task.add_retry(
                errors=["Lambda.TooManyRequestsException"],
                interval=Duration.seconds(2),
                max_attempts=6,
                backoff_rate=2,
            )
            # SageMaker or S3 throttled past botocore's retries: the step is run again.
            task.add_retry(
                errors=[THROTTLED_ERROR],
                interval=Duration.seconds(10),
                max_attempts=6,
                backoff_rate=2,
            )
            return task

        answer_failed = invoke("RespondFailed", "respond", None)
        answer_done = invoke("Respond", "respond", None)
        for answer in (answer_failed, answer_done):
            # The same answer put again is harmless; no answer leaves CloudFormation waiting.
            answer.add_retry(
                errors=["States.TaskFailed"],
                interval=Duration.seconds(5),
                max_attempts=3,
                backoff_rate=2,
            )
        respond_failed = answer_failed.next(
            sfn.Fail(self, "Failed", error="CompilationFailed", cause_path="$.Error.Cause")
        )
        respond_done = answer_done.next(sfn.Succeed(self, "Done"))
        on_event = invoke("OnEvent", "on_event", "$.OnEvent")
        on_event.add_catch(respond_failed, errors=["States.ALL"], result_path="$.Error")
        is_complete = invoke("IsComplete", "is_complete", "$.IsComplete")
        is_complete.add_catch(respond_failed, errors=["States.ALL"], result_path="$.Error")
        wait = sfn.Wait(self, "Wait", time=sfn.WaitTime.duration(QUERY_INTERVAL))
        definition = on_event.next(
            sfn.Choice(self, "Deleting")
            .when(sfn.Condition.string_equals("$.RequestType", "Delete"), respond_done)
            .otherwise(
                wait.next(is_complete).next(
                    sfn.Choice(self, "Compiled")
                    .when(
                        sfn.Condition.boolean_equals("$.IsComplete.IsComplete", True),
                        respond_done,
                    )
                    .otherwise(wait)
                )
            )
        )
        machine = workflow.logged_state_machine(
            self,
            "Workflow",
            definition=definition,
            key=key,
            # The handler fails the job past the deadline; this is the backstop.
            timeout=self.timeout.plus(Duration.minutes(5)),
            comment=f"Runs the Neo compilation of {self.node.path} for CloudFormation",
            functions=[step],
            retention=retention,
        )
        request, request_principal = workflow.handler_function(
            self,
            "Request",
            function="compilation",
            key=key,
            description=f"Neo compilation {self.node.path}: starts the workflow per request",
            timeout=Duration.minutes(1),
            environment={
                "COMPILATION_STEP": "request",
                "STATE_MACHINE_ARN": machine.state_machine.state_machine_arn,
                "TIMEOUT_SECONDS": str(int(self.timeout.to_seconds())),
                **url_environment,
            },
            retention=retention,
        )
        grant_urls(
            request_principal,
            ["ssm:PutParameter", "ssm:DeleteParameter"],
            ["kms:Encrypt", "kms:GenerateDataKey"],
        )
        request_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"],
                resources=[machine.state_machine.state_machine_arn],
            )
        )
        self.state_machine = machine.state_machine
        return request.function_arn

    # --- what a Model reads ----------------------------------------------------------------

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """Grants to the compilation land in its role's managed policy."""
        return self._principal

    @property
    def model_data(self) -> ModelData:
        """The compiled artifact, as a :class:`Model`'s model data."""
        return _CompiledModelData(self)

    @property
    def model_artifacts(self) -> str:
        """The compiled artifact's ``s3://`` URL (known at deploy time)."""
        return self.resource.get_att_string("ModelArtifacts")

    @property
    def job_name(self) -> str:
        """The compilation job that made the artifact (known at deploy time)."""
        return self.resource.get_att_string("JobName")

    @property
    def inference_image_uri(self) -> str:
        """The Neo inference image SageMaker names for the artifact (known at deploy time)."""
        return self.resource.get_att_string("InferenceImage")

    def _bound(self, model: Model, prop: str) -> None:
        self._models.append((model, prop))


def _is_shape(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value)
    )


class _CompiledModelData(ModelData):
    """The compiled artifact: read access to the output prefix, the URL from the job."""

    def __init__(self, compiled: CompiledModel) -> None:
        self._compiled = compiled

    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_data") -> str:
        from cdk_sagemaker_hosting.model import Model  # noqa: PLC0415 - model imports this lazily

        compiled = self._compiled
        compiled._output.add_read_prefix(grantee.grant_principal, compiled.output_prefix)
        if isinstance(scope, Model):
            compiled._bound(scope, prop)
        return compiled.model_artifacts


# --- the hosts of a compiled model, checked once the app is complete -------------------------


def _hosts(root: IConstruct, model: Model) -> list[tuple[str, str | None]]:
    """Where ``model`` is served: (what, instance type), ``None`` for serverless."""
    from cdk_sagemaker_hosting.batch_transform import ScheduledBatchTransform  # noqa: PLC0415
    from cdk_sagemaker_hosting.endpoint import Endpoint  # noqa: PLC0415
    from cdk_sagemaker_hosting.inference_component import InferenceComponent  # noqa: PLC0415
    from cdk_sagemaker_hosting.variants import InstanceVariant, ServerlessVariant  # noqa: PLC0415

    hosts: list[tuple[str, str | None]] = []
    for node in root.node.find_all():
        if isinstance(node, Endpoint):
            for variant in node.variants:
                if getattr(variant, "model", None) is not model:
                    continue
                where = f"variant {variant.variant_name} of {node.node.path}"
                if isinstance(variant, InstanceVariant):
                    hosts += [(where, t) for t in variant.instance_types]
                elif isinstance(variant, ServerlessVariant):
                    hosts.append((where, None))
            hosts += _shadow_hosts(node, model)
        elif isinstance(node, InferenceComponent):
            if node.model is model:
                where = f"inference component {node.node.path}"
                hosts += [(where, t) for t in node.variant.instance_types if t]
            for spec in node.specifications:
                if spec.model is model:
                    hosts.append((f"inference component {node.node.path}", spec.instance_type))
        elif isinstance(node, ScheduledBatchTransform) and node.model is model:
            hosts.append((f"batch transform {node.node.path}", node.instance_type))
    return hosts


def _shadow_hosts(endpoint: IConstruct, model: Model) -> list[tuple[str, str | None]]:
    """A shadow variant is only in the endpoint config: matched by the model's name."""
    from aws_cdk import aws_sagemaker as sagemaker  # noqa: PLC0415

    found: list[tuple[str, str | None]] = []
    for node in endpoint.node.find_all():
        if not isinstance(node, sagemaker.CfnEndpointConfig):
            continue
        stack = Stack.of(node)
        for variant in stack.resolve(node.shadow_production_variants) or []:
            if variant.get("modelName") == stack.resolve(model.model_name):
                where = f"shadow variant {variant.get('variantName')} of {endpoint.node.path}"
                found.append((where, variant.get("instanceType")))
    return found


def _image(model: Model, prop: str) -> str | None:
    """The image URI of the container whose model data is ``prop``."""
    resource = model.resource
    match = re.match(r"containers\[(\d+)\]\.", prop)
    containers = resource.containers if match else [resource.primary_container]
    container = containers[int(match[1])] if match else containers[0]  # type: ignore[index]
    return getattr(container, "image", None)


@jsii.implements(IValidation)
class _CheckHosts:
    """Every host of the compiled model runs its target; its image runs its framework."""

    def __init__(self, compiled: CompiledModel) -> None:
        self._compiled = compiled

    def validate(self) -> list[str]:
        compiled = self._compiled
        errors = []
        for model, prop in compiled._models:
            for where, instance_type in _hosts(compiled.node.root, model):
                if validation.is_token(instance_type) or compiled.target.serves(instance_type):
                    continue
                errors.append(
                    f"model {model.node.path} is compiled for {compiled.target} "
                    f"({compiled.target.families()}) but {where} runs it on "
                    f"{instance_type or 'serverless hosts'}: compile for that "
                    "instance family or host it on the target's"
                )
            self._check_image(model, prop)
        return errors

    def _check_image(self, model: Model, prop: str) -> None:
        compiled = self._compiled
        image = _image(model, prop)
        cpu_gpu, inferentia = NEO_REPOSITORIES.get(compiled.framework, (None, None))
        processor = compiled.target.processor
        repository = inferentia if processor == "inf" else cpu_gpu
        parsed = validation.ECR_IMAGE_PATTERN.match(image) if isinstance(image, str) else None
        if (
            parsed is not None
            and repository is not None
            and parsed["repository"] == repository
            and (repository == "xgboost-neo" or processor in (parsed["tag"] or ""))
        ):
            return
        expected = (
            f"{repository}:<version>-{processor}-py3" if repository else "none for this target"
        )
        Annotations.of(model).add_warning_v2(
            WARNING_OWN_IMAGE,
            f"{prop} is compiled by Neo for {compiled.framework} on {compiled.target}, but the "
            f"image {image} is not Neo's inference image for it (repository {expected}, or "
            f"the InferenceImage the job reports: {compiled.node.path}.inference_image_uri). "
            "Fine if your own container loads Neo's compiled artifact (the DLR runtime).",
        )
