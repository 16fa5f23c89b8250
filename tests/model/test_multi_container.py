"""Inference pipelines, direct multi-container models, multi-model mode, asset artifacts."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template
from cdk_sagemaker_hosting import (
    ContainerDefinition,
    ContainerImage,
    EncryptedBucket,
    InferenceExecution,
    Model,
    ModelData,
)

from tests.conftest import new_app

PRE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/preprocess:3"
XGB = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def model_props(stack: cdk.Stack) -> dict[str, Any]:
    (model,) = Template.from_stack(stack).find_resources("AWS::SageMaker::Model").values()
    props: dict[str, Any] = model["Properties"]
    return props


def statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy").values()
    found: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_inference_pipeline_runs_containers_in_series() -> None:
    stack = cdk.Stack(new_app(), "S")
    bucket = EncryptedBucket(stack, "Artifacts")
    Model(
        stack,
        "Pipeline",
        containers=[
            ContainerDefinition(
                image=ContainerImage.from_registry(PRE),
                model_data=ModelData.from_bucket(bucket, "pre/model.tar.gz"),
                environment={"FEATURES": "amount,merchant"},
            ),
            ContainerDefinition(
                image=ContainerImage.from_registry(XGB),
                model_data=ModelData.from_bucket(bucket, "xgb/model.tar.gz"),
            ),
        ],
    )
    props = model_props(stack)
    assert "PrimaryContainer" not in props
    assert props["InferenceExecutionConfig"] == {"Mode": "Serial"}
    first, second = props["Containers"]
    assert (first["Image"], second["Image"]) == (PRE, XGB)
    assert first["Environment"] == {"FEATURES": "amount,merchant"}

    def tails(action: str) -> list[str]:
        """Last literal part of every resource of the statements with ``action``."""
        found = []
        for st in statements(stack):
            if action in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]):
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                found += [r["Fn::Join"][1][-1] for r in resources]
        return sorted(found)

    # minimizePolicies (cdk.json) merges same-action statements: one per action here.
    assert tails("s3:GetObject") == ["/pre/model.tar.gz", "/xgb/model.tar.gz"]
    assert [t.rsplit(":", 1)[-1] for t in tails("ecr:BatchGetImage")] == [
        "repository/preprocess",
        "repository/sagemaker-xgboost",
    ]


def test_direct_invocation_names_each_container() -> None:
    stack = cdk.Stack(new_app(), "S")
    Model(
        stack,
        "Direct",
        inference_execution=InferenceExecution.DIRECT,
        containers=[
            ContainerDefinition(image=ContainerImage.from_registry(PRE), hostname="fraud"),
            ContainerDefinition(image=ContainerImage.from_registry(XGB), hostname="churn"),
        ],
    )
    props = model_props(stack)
    assert props["InferenceExecutionConfig"] == {"Mode": "Direct"}
    assert [c["ContainerHostname"] for c in props["Containers"]] == ["fraud", "churn"]


def test_multi_model_reads_a_prefix_and_may_list_it() -> None:
    stack = cdk.Stack(new_app(), "S")
    bucket = EncryptedBucket(stack, "Artifacts")
    Model(
        stack,
        "Many",
        image=ContainerImage.from_registry(XGB),
        multi_model=True,
        model_data=ModelData.from_bucket_prefix(bucket, "tenants/"),
    )
    container = model_props(stack)["PrimaryContainer"]
    assert container["Mode"] == "MultiModel"
    assert container["ModelDataUrl"]["Fn::Join"][1][-1] == "/tenants/"
    (listing,) = [st for st in statements(stack) if st["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["tenants/*"]}}
    (get,) = [st for st in statements(stack) if st["Action"] == "s3:GetObject"]
    assert get["Resource"]["Fn::Join"][1][-1] == "/tenants/*"


def test_local_archive_becomes_a_file_asset_the_role_may_read(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"weights"
        info = tarfile.TarInfo("model.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    stack = cdk.Stack(new_app(), "S")
    Model(
        stack,
        "Local",
        image=ContainerImage.from_registry(XGB),
        model_data=ModelData.from_asset(str(archive)),
    )
    url = model_props(stack)["PrimaryContainer"]["ModelDataUrl"]
    assert url["Fn::Sub"].startswith("s3://cdk-hnb659fds-assets-")
    (get,) = [st for st in statements(stack) if st["Action"] == "s3:GetObject"]
    assert "cdk-hnb659fds-assets-" in str(get["Resource"])
