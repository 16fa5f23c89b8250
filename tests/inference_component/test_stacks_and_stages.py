"""Components on an endpoint of another stack, and in another Stage."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from cdk_sagemaker_hosting import (
    ComponentContainer,
    ComponentVariant,
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    InferenceComponent,
    ManagedInstanceScaling,
    Model,
    ModelData,
    ValidationError,
)

from constructs import Construct
from tests.conftest import new_app
from tests.inference_component.helpers import ENV, GPU, IMAGE


def endpoint(scope: cdk.Stack) -> Endpoint:
    return Endpoint(
        scope,
        "Endpoint",
        endpoint_name="gpu",
        variants=[
            ComponentVariant(
                instance_type="ml.g5.12xlarge",
                managed_scaling=ManagedInstanceScaling(min_instances=2, max_instances=4),
            )
        ],
    )


def test_a_component_in_another_stack_waits_for_the_endpoints_stack() -> None:
    app = new_app()
    hosting = cdk.Stack(app, "Hosting", env=ENV)
    models = cdk.Stack(app, "Models", env=ENV)
    gpu = endpoint(hosting)
    component = InferenceComponent(
        models,
        "Chat",
        endpoint=gpu,
        model=Model(models, "Model", image=ContainerImage.from_registry(IMAGE)),
        requirements=GPU,
    )
    component.auto_scale_copies(min_copies=2, max_copies=4).scale_on_invocations(target_per_copy=10)
    assembly = app.synth()
    assert hosting in models.dependencies
    props = assembly.get_stack_by_name("Models").template["Resources"][
        models.get_logical_id(component.resource)
    ]["Properties"]
    assert props["EndpointName"] == "gpu"


def test_components_in_a_stage() -> None:
    app = new_app()
    stage = cdk.Stage(app, "Prod", env=ENV)
    stack = cdk.Stack(stage, "Components")
    component = InferenceComponent(
        stack,
        "Chat",
        endpoint=endpoint(stack),
        model=Model(stack, "Model", image=ContainerImage.from_registry(IMAGE)),
        requirements=GPU,
    )
    template = stage.synth().get_stack_by_name(stack.stack_name).template
    resource = template["Resources"][stack.get_logical_id(component.resource)]
    assert resource["Properties"]["InferenceComponentName"] == component.component_name
    assert component.component_name.startswith("ProdComponents-Chat-")


def container_and_adapter(stack: cdk.Stack, gpu: Endpoint) -> tuple[InferenceComponent, ...]:
    """A container component with its artifact, and an adapter of it, in ``stack``."""
    bucket = EncryptedBucket(stack, "Artifacts")
    base = InferenceComponent(
        stack,
        "Chat",
        endpoint=gpu,
        container=ComponentContainer(
            image=ContainerImage.from_registry(IMAGE),
            model_data=ModelData.from_bucket(bucket, "llm/model.tar.gz"),
        ),
        requirements=GPU,
    )
    adapter = InferenceComponent(
        stack,
        "Lora",
        endpoint=gpu,
        base_component=base,
        adapter_data=ModelData.from_bucket(bucket, "lora/adapter.tar.gz"),
    )
    return base, adapter


def grants_of(template: dict[str, Any], component: InferenceComponent) -> str:
    """The managed policy the component waits for, as text (checks it is attached)."""
    resources = template["Resources"]
    stack = cdk.Stack.of(component)
    resource = resources[stack.get_logical_id(component.resource)]
    policy_id = stack.get_logical_id(
        component.node.find_child("ExecutionPolicy").node.default_child  # type: ignore[arg-type]
    )
    assert policy_id in resource["DependsOn"]
    policy = resources[policy_id]["Properties"]
    assert len(policy["Roles"]) == 1
    return str(policy["PolicyDocument"])


@pytest.mark.parametrize("in_stage", [False, True], ids=["app", "stage"])
def test_container_and_adapter_components_in_another_stack_grant_there(in_stage: bool) -> None:
    app = new_app()
    root: Construct = cdk.Stage(app, "Prod", env=ENV) if in_stage else app
    env = None if in_stage else ENV
    hosting = cdk.Stack(root, "Hosting", env=env)
    models = cdk.Stack(root, "Models", env=env)
    gpu = endpoint(hosting)
    base, adapter = container_and_adapter(models, gpu)
    assembly = (root if isinstance(root, cdk.Stage) else app).synth()
    assert hosting in models.dependencies
    assert models not in hosting.dependencies
    template = assembly.get_stack_by_name(models.stack_name).template
    assert "llm/model.tar.gz" in grants_of(template, base)
    assert "huggingface-pytorch-tgi-inference" in grants_of(template, base)
    assert "lora/adapter.tar.gz" in grants_of(template, adapter)
    hosting_text = str(assembly.get_stack_by_name(hosting.stack_name).template)
    assert "model.tar.gz" not in hosting_text
    assert "adapter.tar.gz" not in hosting_text


def test_a_component_in_another_stage_than_its_endpoint_is_refused() -> None:
    app = new_app()
    gpu = endpoint(cdk.Stack(app, "Hosting", env=ENV))
    other = cdk.Stack(cdk.Stage(app, "Other", env=ENV), "Models")
    with pytest.raises(
        ValidationError,
        match=r"Other/Models/Chat: endpoint='Hosting/Endpoint' is invalid: is in another Stage",
    ):
        container_and_adapter(other, gpu)
