"""Components on an endpoint of another stack, and in another Stage."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_sagemaker_hosting import (
    ComponentVariant,
    ContainerImage,
    Endpoint,
    InferenceComponent,
    ManagedInstanceScaling,
    Model,
)

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
