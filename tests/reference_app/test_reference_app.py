"""What matters in the reference deployment, checked resource by resource."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.config import ConfigError, EnvironmentConfig, load_environments


def test_prod_endpoint_is_multi_az_and_dev_is_a_visible_opt_out(
    reference_templates: dict[str, Any], reference_app: Any
) -> None:
    prod = Template.from_json(reference_templates["prod-hosting"])
    prod.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"ProductionVariants": [Match.object_like({"InitialInstanceCount": 2})]},
    )
    dev = Template.from_json(reference_templates["dev-hosting"])
    dev.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"ProductionVariants": [Match.object_like({"InitialInstanceCount": 1})]},
    )
    _, stacks, _ = reference_app
    dev_stack = next(s for s in stacks if s.stack_name == "dev-hosting")
    warnings = [
        m.data
        for c in dev_stack.node.find_all()
        for m in c.node.metadata
        if m.type == "aws:cdk:warning"
    ]
    assert any("multi_az=False" in str(w) for w in warnings)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_endpoint_names_follow_the_environment(
    reference_templates: dict[str, Any], env: str
) -> None:
    template = Template.from_json(reference_templates[f"{env}-hosting"])
    template.has_resource_properties(
        "AWS::SageMaker::Endpoint", {"EndpointName": f"{env}-fraud-detection"}
    )
    template.has_output("EndpointName", {"Value": f"{env}-fraud-detection"})


def test_model_reads_its_artifact_from_the_artifacts_stack(
    reference_templates: dict[str, Any],
) -> None:
    template = Template.from_json(reference_templates["prod-hosting"])
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:GetObject",
                                "Resource": {
                                    "Fn::Join": [
                                        "",
                                        [
                                            {
                                                "Fn::ImportValue": Match.string_like_regexp(
                                                    "prod-artifacts:.*ModelArtifacts.*Arn"
                                                )
                                            },
                                            "/fraud-detection/v1/model.tar.gz",
                                        ],
                                    ]
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_config_rejects_unknown_and_missing_keys() -> None:
    with pytest.raises(ConfigError, match=r"environments\.dev: unknown keys \['instance_typo'\]"):
        EnvironmentConfig.from_mapping(
            "dev", {"model_image": "x", "model_data_key": "k", "instance_typo": "ml.m5.large"}
        )
    with pytest.raises(ConfigError, match=r"environments\.dev: .*model_data_key"):
        EnvironmentConfig.from_mapping("dev", {"model_image": "x"})
    with pytest.raises(ConfigError, match=r"context key .* is missing"):
        load_environments(None)
