"""A component-mode endpoint on GPU instances, for the inference component tests."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template
from cdk_sagemaker_hosting import (
    ComponentVariant,
    ComputeRequirements,
    ContainerImage,
    Endpoint,
    InferenceComponent,
    ManagedInstanceScaling,
    Model,
)

from tests.conftest import new_app

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-gpu"
ENV = cdk.Environment(account="123456789012", region="us-east-1")
GPU = ComputeRequirements(min_memory_mb=16384, cpu_cores=4, accelerators=1)


class Ctx:
    """One stack, one component-mode endpoint (built on first use), its components."""

    def __init__(self, **endpoint: Any) -> None:
        self.app = new_app()
        self.stack = cdk.Stack(self.app, "Components", env=ENV)
        self._endpoint_props = endpoint
        self._endpoint: Endpoint | None = None
        self._models = 0

    def variant(self, **props: Any) -> ComponentVariant:
        props.setdefault("instance_type", "ml.g5.12xlarge")
        props.setdefault(
            "managed_scaling", ManagedInstanceScaling(min_instances=2, max_instances=4)
        )
        return ComponentVariant(**props)

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            props = dict(self._endpoint_props)
            props.setdefault("variants", [self.variant()])
            self._endpoint = Endpoint(self.stack, "Endpoint", endpoint_name="gpu", **props)
        return self._endpoint

    def model(self, **props: Any) -> Model:
        self._models += 1
        return Model(
            self.stack, f"Model{self._models}", image=ContainerImage.from_registry(IMAGE), **props
        )

    def component(self, cid: str = "Chat", **props: Any) -> InferenceComponent:
        if not {"model", "container", "base_component"} & set(props):
            props["model"] = self.model()
        if "base_component" not in props and "specifications" not in props:
            props.setdefault("requirements", GPU)
        return InferenceComponent(self.stack, cid, endpoint=self.endpoint, **props)

    def template(self) -> Template:
        return Template.from_stack(self.stack)

    def resources(self, rtype: str) -> dict[str, Any]:
        return self.template().find_resources(rtype)
