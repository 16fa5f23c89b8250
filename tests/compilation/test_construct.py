"""CompiledModel at synth: what it writes, what it refuses, and the hosts it checks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import (
    CompilationTarget,
    CompiledModel,
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ModelData,
    ServerlessVariant,
    ValidationError,
)
from cdk_sagemaker_hosting.compilation import WARNING_OUTPUT_KEY, WARNING_OWN_IMAGE

from tests.conftest import new_app

NEO_IMAGE = "785573368785.dkr.ecr.us-east-1.amazonaws.com/sagemaker-inference-pytorch:2.0-cpu-py3"
OWN_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-dlr-server:1"


def compiled(stack: cdk.Stack, bucket: Any = None, **props: Any) -> CompiledModel:
    bucket = bucket or EncryptedBucket(stack, "Artifacts")
    arguments: dict[str, Any] = {
        "source": ModelData.from_bucket(bucket, "models/resnet/model.tar.gz"),
        "framework": "PYTORCH",
        "framework_version": "2.0",
        "data_input_config": {"input0": [1, 3, 224, 224]},
        "target": CompilationTarget.device("ml_c5"),
        "output": bucket,
        **props,
    }
    return CompiledModel(stack, "Compiled", **arguments)


def hosted(
    stack: cdk.Stack,
    compiled_model: CompiledModel,
    instance_type: str = "ml.c5.xlarge",
    image: str = NEO_IMAGE,
) -> Model:
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(image),
        model_data=ModelData.from_compilation(compiled_model),
    )
    Endpoint(stack, "Endpoint", model=model, instance_type=instance_type)
    return model


def synth_error(app: cdk.App) -> str:
    with pytest.raises(Exception) as raised:
        app.synth()
    return str(raised.value)


# --- what it writes -----------------------------------------------------------------------------


def test_the_resource_asks_for_one_compilation_of_these_inputs(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    hosted(stack, compiled(stack))
    template = template_of(stack)
    template.has_resource(
        "Custom::NeoCompilation",
        {
            "DeletionPolicy": "Delete",
            "Properties": {
                "InputConfig": {
                    "Framework": "PYTORCH",
                    "FrameworkVersion": "2.0",
                    "DataInputConfig": '{"input0":[1,3,224,224]}',
                    "S3Uri": Match.any_value(),
                },
                "OutputConfig": {
                    "TargetDevice": "ml_c5",
                    "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("ArtifactsKey"), "Arn"]},
                    "S3OutputLocation": Match.any_value(),
                },
                "MaxRuntimeInSeconds": 900,
                "RemovalPolicy": "retain",
                "JobNamePrefix": Match.string_like_regexp("^teststack-compiled-[0-9a-f]{8}$"),
                "ServiceTimeout": "2100",
            },
        },
    )
    # the model's data is the artifact the job reports
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": {
                "ModelDataUrl": {
                    "Fn::GetAtt": [Match.string_like_regexp("Compiled"), "ModelArtifacts"]
                }
            }
        },
    )


def test_sagemaker_may_assume_the_compilation_role_for_this_account_only(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    compiled(stack)
    template_of(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                        },
                    }
                ]
            },
            "Description": Match.string_like_regexp("Compilation role"),
        },
    )


def statements(template: Template, logical_prefix: str) -> list[dict[str, Any]]:
    found = template.find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = [v for k, v in found.items() if k.startswith(logical_prefix)]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_the_compilation_role_reads_the_source_and_writes_the_output_prefix_only(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    made = compiled(stack)
    prefix = made.output_prefix
    text = json.dumps(statements(template_of(stack), "CompiledPolicy"))
    assert '"s3:GetObject"' in text and "/models/resnet/model.tar.gz" in text
    assert '"s3:PutObject"' in text and f"/{prefix}*" in text
    assert "s3:DeleteObject" not in text and "s3:ListBucket" not in text
    assert prefix == f"neo/{made.job_name_prefix}/"


def test_the_step_function_manages_this_constructs_jobs_and_passes_its_role_only(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    made = compiled(stack, removal_policy=cdk.RemovalPolicy.DESTROY)
    found = statements(template_of(stack), "CompiledStepPolicy")
    by_action = {json.dumps(s["Action"]): s for s in found}
    jobs = by_action[
        json.dumps(
            [
                "sagemaker:CreateCompilationJob",
                "sagemaker:DescribeCompilationJob",
                "sagemaker:StopCompilationJob",
            ]
        )
    ]
    assert f":compilation-job/{made.job_name_prefix}-*" in json.dumps(jobs["Resource"])
    passing = by_action['"iam:PassRole"']
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    (deleting,) = [st for st in found if "s3:DeleteObject" in json.dumps(st["Action"])]
    assert f"/{made.output_prefix}*" in json.dumps(deleting["Resource"])


def test_response_urls_wait_in_secure_strings_of_this_construct_only(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    """The request function keeps each ResponseURL; the workflow's step reads and deletes it."""
    made = compiled(stack)
    template = template_of(stack)
    root = f"/cdk-sagemaker-hosting/compilation/{made.job_name_prefix}"
    for policy, ssm_actions, kms_actions in (
        ("CompiledRequestPolicy", ["ssm:PutParameter", "ssm:DeleteParameter"], None),
        ("CompiledStepPolicy", ["ssm:GetParameter", "ssm:DeleteParameter"], "kms:Decrypt"),
    ):
        found = statements(template, policy)
        (ssm,) = [st for st in found if "ssm:DeleteParameter" in st["Action"]]
        assert sorted(ssm["Action"]) == sorted(ssm_actions)
        assert f":parameter{root}/*" in json.dumps(ssm["Resource"])
        (kms,) = [st for st in found if "PARAMETER_ARN" in json.dumps(st.get("Condition"))]
        assert kms_actions is None or kms["Action"] in (kms_actions, [kms_actions])
        assert "kms:EncryptionContext:PARAMETER_ARN" in kms["Condition"]["StringLike"]
    functions = template.find_resources("AWS::Lambda::Function")
    for function in functions.values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["RESPONSE_PARAMETERS"] == root
        assert "RESPONSE_KEY_ID" in variables


def test_the_model_reads_the_compiled_output_prefix(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    made = compiled(stack)
    hosted(stack, made)
    text = json.dumps(statements(template_of(stack), "ModelPolicy"))
    assert f"/{made.output_prefix}*" in text


def test_the_workflow_is_traced_and_logged(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    compiled(stack)
    template = template_of(stack)
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        },
    )
    (definition,) = [
        r["Properties"]["DefinitionString"]
        for r in template.find_resources("AWS::StepFunctions::StateMachine").values()
    ]
    text = json.dumps(definition)
    for state in ("OnEvent", "Wait", "IsComplete", "Compiled", "Respond", "RespondFailed"):
        assert f'\\"{state}\\"' in text
    template.resource_count_is("AWS::Lambda::Function", 2)


def definition(template: Template) -> dict[str, Any]:
    """The state machine's definition, parsed (tokens of Fn::Join stand in as their JSON)."""
    ((machine),) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    return dict(json.loads(text))


def test_every_step_that_can_fail_answers_cloudformation_before_its_timeout(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    """OnEvent and IsComplete catch everything into the FAILED answer, and the workflow's own
    timeout ends before CloudFormation gives up on the resource."""
    made = compiled(stack, max_runtime=cdk.Duration.minutes(35))
    template = template_of(stack)
    parsed = definition(template)
    states = parsed["States"]
    for name in ("OnEvent", "IsComplete"):
        catches = states[name]["Catch"]
        assert {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.Error",
            "Next": "RespondFailed",
        } in (catches)
        retried = [e for r in states[name]["Retry"] for e in r["ErrorEquals"]]
        assert "ThrottledError" in retried and "States.ALL" not in retried
    assert states["RespondFailed"]["Parameters"]["action"] == "respond"
    assert states["RespondFailed"]["Next"] == "Failed"
    assert states["Respond"]["Next"] == "Done"
    ((resource),) = template.find_resources("Custom::NeoCompilation").values()
    service_timeout = int(resource["Properties"]["ServiceTimeout"])
    assert parsed["TimeoutSeconds"] < service_timeout <= 3600
    assert parsed["TimeoutSeconds"] == made.timeout.to_seconds() + 5 * 60


def test_output_without_a_customer_managed_key_is_a_warning(stack: cdk.Stack) -> None:
    bucket = s3.Bucket(stack, "Plain", enforce_ssl=True)
    compiled(stack, bucket)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("aws/s3"))
    assert warnings and WARNING_OUTPUT_KEY in json.dumps(warnings[0].entry.data)


# --- refused at synth ---------------------------------------------------------------------------

BAD: list[tuple[dict[str, Any], str]] = [
    ({"framework": "CAFFE"}, "framework='CAFFE' is invalid: must be one of ['DARKNET'"),
    ({"framework": "TFLITE"}, "Neo compiles it for edge devices only"),
    ({"framework": "ONNX"}, "framework_version='2.0' is invalid: SageMaker reads it for"),
    ({"framework_version": "1.9"}, "Neo compiles PYTORCH 1.4, 1.5, 1.6, 1.7, 1.8, 1.12, 1.13, 2.0"),
    ({"framework_version": "two"}, "must look like 2.0 or 1.15.3"),
    ({"data_input_config": None}, "PYTORCH needs the inputs' names and shapes"),
    ({"data_input_config": {"input0": [1, 0, 224]}}, "must map each input's name to its shape"),
    ({"data_input_config": "{not json"}, "data_input_config='{not json' is invalid: must be JSON"),
    ({"target": CompilationTarget.device("ml_c9")}, "must be one of botocore's"),
    ({"target": CompilationTarget.device("jetson_nano")}, "is an edge device"),
    ({"target": CompilationTarget.device("ml_eia2")}, "Elastic Inference ended"),
    ({"target": CompilationTarget.platform(os="ANDROID", arch="ARM64")}, "edge devices"),
    ({"target": CompilationTarget.platform(os="LINUX", arch="SPARC")}, "target.arch='SPARC'"),
    (
        {"target": CompilationTarget.platform(os="LINUX", arch="X86_64", accelerator="NVIDIA")},
        "an NVIDIA target needs gpu-code, trt-ver, cuda-ver",
    ),
    ({"max_runtime": cdk.Duration.minutes(40)}, "must be between 1 and 2100 seconds"),
    ({"compiler_options": "x"}, "compiler_options='x' is invalid: takes 3-1024 characters"),
    ({"removal_policy": cdk.RemovalPolicy.SNAPSHOT}, "must be RemovalPolicy.RETAIN or DESTROY"),
    ({"output_prefix": "/abs/"}, "output_prefix"),
]


@pytest.mark.parametrize(("props", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_props_are_refused_naming_the_property(
    stack: cdk.Stack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        compiled(stack, **props)


def test_a_prefix_of_artifacts_is_refused(stack: cdk.Stack) -> None:
    bucket = EncryptedBucket(stack, "Artifacts")
    with pytest.raises(ValidationError, match="Neo compiles one artifact"):
        compiled(stack, bucket, source=ModelData.from_bucket_prefix(bucket, "tenants/"))


def test_xgboost_needs_no_shape_and_no_version(stack: cdk.Stack) -> None:
    made = compiled(stack, framework="XGBOOST", framework_version=None, data_input_config=None)
    assert made.framework == "XGBOOST"


def test_pytorch_takes_a_list_of_shapes(stack: cdk.Stack) -> None:
    compiled(stack, data_input_config=[[1, 3, 224, 224], [1, 3, 160, 160]])


def test_an_nvidia_platform_with_its_options_compiles_for_g5(stack: cdk.Stack) -> None:
    made = compiled(
        stack,
        target=CompilationTarget.platform(os="LINUX", arch="X86_64", accelerator="NVIDIA"),
        compiler_options={"gpu-code": "sm_86", "trt-ver": "8.6.1", "cuda-ver": "12.1"},
    )
    hosted(stack, made, "ml.g5.xlarge", NEO_IMAGE.replace("cpu", "gpu"))
    stack.node.root.synth()  # type: ignore[attr-defined]


NVIDIA = CompilationTarget.platform(os="LINUX", arch="X86_64", accelerator="NVIDIA")
NVIDIA_OPTIONS = {"gpu-code": "sm_86", "trt-ver": "8.6.1", "cuda-ver": "12.1"}


def test_an_nvidia_platforms_options_may_be_given_as_their_json(
    stack: cdk.Stack, template_of: Callable[[cdk.Stack], Template]
) -> None:
    text = json.dumps(NVIDIA_OPTIONS)
    compiled(stack, target=NVIDIA, compiler_options=text)
    template_of(stack).has_resource_properties(
        "Custom::NeoCompilation", {"OutputConfig": Match.object_like({"CompilerOptions": text})}
    )


@pytest.mark.parametrize(
    ("options", "missing"),
    [
        ({"gpu-code": "sm_86"}, "trt-ver, cuda-ver"),
        ('{"gpu-code": "sm_86", "trt-ver": "8.6.1"}', "cuda-ver"),
        ("gpu-code=sm_86", "gpu-code, trt-ver, cuda-ver"),
        ('["gpu-code"]', "gpu-code, trt-ver, cuda-ver"),
        (None, "gpu-code, trt-ver, cuda-ver"),
    ],
)
def test_an_nvidia_platform_without_its_options_is_refused(
    stack: cdk.Stack, options: Any, missing: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        compiled(stack, target=NVIDIA, compiler_options=options)
    message = str(raised.value)
    assert f"an NVIDIA target needs gpu-code, trt-ver, cuda-ver (missing {missing})" in message
    assert 'e.g. {"gpu-code": "sm_86", "trt-ver": "8.6.1", "cuda-ver": "12.1"}' in message
    assert "}}" not in message


# --- every host checked once the app is complete ------------------------------------------------


@pytest.mark.parametrize(
    ("target", "instance_type"),
    [
        (CompilationTarget.device("ml_c5"), "ml.m5.large"),
        (CompilationTarget.device("ml_inf2"), "ml.c5.xlarge"),
        (CompilationTarget.device("ml_g4dn"), "ml.g5.xlarge"),
        (CompilationTarget.platform(os="LINUX", arch="ARM64"), "ml.c5.xlarge"),
        (CompilationTarget.platform(os="LINUX", arch="X86_64"), "ml.c7g.xlarge"),
    ],
)
def test_a_host_of_another_family_fails_the_synth(
    target: CompilationTarget, instance_type: str
) -> None:
    app = new_app()
    stack = cdk.Stack(app, "S")
    hosted(stack, compiled(stack, target=target, framework_version=None), instance_type)
    message = synth_error(app)
    assert f"model S/Model is compiled for {target}" in message
    assert f"runs it on {instance_type}" in message


@pytest.mark.parametrize("instance_type", ["ml.c5.xlarge", "ml.c5d.2xlarge"])
def test_the_targets_family_passes(instance_type: str) -> None:
    app = new_app()
    stack = cdk.Stack(app, "S")
    hosted(stack, compiled(stack), instance_type)
    app.synth()


def test_serverless_hosts_take_a_generic_x86_compilation_only() -> None:
    app = new_app()
    stack = cdk.Stack(app, "S")
    made = compiled(stack)
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(NEO_IMAGE),
        model_data=ModelData.from_compilation(made),
        network_isolation=False,
    )
    Endpoint(stack, "Endpoint", variants=[ServerlessVariant(model=model)])
    assert "runs it on serverless hosts" in synth_error(app)

    app = new_app()
    stack = cdk.Stack(app, "S")
    made = compiled(stack, target=CompilationTarget.platform(os="LINUX", arch="X86_64"))
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(NEO_IMAGE),
        model_data=ModelData.from_compilation(made),
        network_isolation=False,
    )
    Endpoint(stack, "Endpoint", variants=[ServerlessVariant(model=model)])
    app.synth()


def test_every_variant_and_the_shadow_are_checked() -> None:
    app = new_app()
    stack = cdk.Stack(app, "S")
    made = compiled(stack)
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(NEO_IMAGE),
        model_data=ModelData.from_compilation(made),
    )
    Endpoint(
        stack,
        "Endpoint",
        variants=[InstanceVariant(model=model, variant_name="A", instance_type="ml.c5.xlarge")],
        shadow_variant=InstanceVariant(model=model, variant_name="S", instance_type="ml.m5.xlarge"),
    )
    # another model's endpoint on another family is none of its business
    plain = Model(stack, "Plain", image=ContainerImage.from_registry(NEO_IMAGE))
    Endpoint(stack, "Other", model=plain, instance_type="ml.m5.large")
    message = synth_error(app)
    assert "shadow variant S of S/Endpoint runs it on ml.m5.xlarge" in message
    assert "variant A" not in message and "S/Other" not in message


def test_a_host_in_another_stack_and_stage_is_checked() -> None:
    app = new_app()
    stage = cdk.Stage(app, "Prod", env=cdk.Environment(account="111111111111", region="us-east-1"))
    compiling = cdk.Stack(stage, "Compiling")
    hosting = cdk.Stack(stage, "Hosting")
    made = compiled(compiling)
    hosted(hosting, made, "ml.m5.large")
    assert "Prod/Hosting/Model is compiled for ml_c5" in synth_error(app)

    app = new_app()
    stage = cdk.Stage(app, "Prod", env=cdk.Environment(account="111111111111", region="us-east-1"))
    compiling = cdk.Stack(stage, "Compiling")
    hosting = cdk.Stack(stage, "Hosting")
    hosted(hosting, compiled(compiling))
    assembly = stage.synth()
    template = assembly.get_stack_by_name(hosting.stack_name).template
    (model,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Model"]
    assert "Fn::ImportValue" in model["Properties"]["PrimaryContainer"]["ModelDataUrl"]


# --- the image ----------------------------------------------------------------------------------


def test_a_neo_image_for_the_framework_and_processor_passes_silently(stack: cdk.Stack) -> None:
    hosted(stack, compiled(stack))
    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp("not Neo's"))


@pytest.mark.parametrize(
    "image",
    [OWN_IMAGE, NEO_IMAGE.replace("cpu", "gpu"), NEO_IMAGE.replace("pytorch", "mxnet")],
)
def test_another_image_is_a_warning_naming_neos(stack: cdk.Stack, image: str) -> None:
    hosted(stack, compiled(stack), image=image)
    warnings = Annotations.from_stack(stack).find_warning(
        "/TestStack/Model", Match.string_like_regexp("not Neo's inference image")
    )
    assert len(warnings) == 1
    text = json.dumps(warnings[0].entry.data)
    assert "sagemaker-inference-pytorch:<version>-cpu-py3" in text
    assert WARNING_OWN_IMAGE in text


def test_an_inference_component_is_checked_on_its_variants_instance_type() -> None:
    from cdk_sagemaker_hosting import ComponentVariant, ComputeRequirements, InferenceComponent

    app = new_app()
    stack = cdk.Stack(app, "S")
    made = compiled(stack)
    endpoint = Endpoint(
        stack,
        "Endpoint",
        variants=[ComponentVariant(instance_type="ml.m5.xlarge", initial_instance_count=2)],
    )
    InferenceComponent(
        stack,
        "Component",
        endpoint=endpoint,
        model=Model(
            stack,
            "Model",
            image=ContainerImage.from_registry(NEO_IMAGE),
            model_data=ModelData.from_compilation(made),
        ),
        requirements=ComputeRequirements(min_memory_mb=1024, cpu_cores=1),
    )
    message = synth_error(app)
    assert "inference component S/Component runs it on ml.m5.xlarge" in message


def test_a_scheduled_batch_transform_is_checked_on_its_instance_type() -> None:
    from aws_cdk import aws_events as events
    from cdk_sagemaker_hosting import ScheduledBatchTransform

    app = new_app()
    stack = cdk.Stack(app, "S")
    bucket = EncryptedBucket(stack, "Artifacts")
    made = compiled(stack, bucket)
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(NEO_IMAGE),
        model_data=ModelData.from_compilation(made),
    )
    ScheduledBatchTransform(
        stack,
        "Nightly",
        model=model,
        input_bucket=bucket,
        input_prefix="batch/in/",
        output_prefix="batch/out/",
        schedule=events.Schedule.cron(hour="2", minute="0"),
        instance_type="ml.m5.xlarge",
    )
    assert "batch transform S/Nightly runs it on ml.m5.xlarge" in synth_error(app)
