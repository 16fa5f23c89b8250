"""The Endpoint construct: multi-AZ, encrypted, logged, replaceable configs."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import ContainerImage, EncryptedBucket, Endpoint, Model, ModelData

from tests.conftest import new_app
from tests.replacement import plan

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"


def hosting_stack(
    model_key: str = "models/v1/model.tar.gz", **endpoint_props: Any
) -> tuple[cdk.Stack, Endpoint]:
    stack = cdk.Stack(new_app(), "Hosting")
    bucket = EncryptedBucket(stack, "Artifacts")
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(IMAGE),
        model_data=ModelData.from_bucket(bucket, model_key),
    )
    return stack, Endpoint(stack, "Endpoint", model=model, **endpoint_props)


def changed_resources(before: cdk.Stack, after: cdk.Stack) -> dict[str, str]:
    """Resource type -> what CloudFormation would do to it, for every resource that changes."""
    t1, t2 = Template.from_stack(before).to_json(), Template.from_stack(after).to_json()
    return {
        t2["Resources"][lid]["Type"]: action
        for lid, action in plan(t1, t2).items()
        if action != "keep"
    }


def test_defaults_are_two_instances_on_one_weighted_variant() -> None:
    stack, _ = hosting_stack()
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SageMaker::EndpointConfig", 1)
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 2,
                    "InitialVariantWeight": 1,
                    "ModelName": {"Fn::GetAtt": [Match.string_like_regexp("^Model"), "ModelName"]},
                }
            ],
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^EndpointKey"), "Arn"]},
        },
    )


def test_config_name_is_generated_so_changes_replace_it() -> None:
    stack, _ = hosting_stack()
    config = Template.from_stack(stack).find_resources("AWS::SageMaker::EndpointConfig")
    (props,) = [c["Properties"] for c in config.values()]
    assert "EndpointConfigName" not in props


def test_default_endpoint_name_is_derived_from_the_path_and_valid() -> None:
    _, endpoint = hosting_stack()
    name = cdk.Stack.of(endpoint).resolve(endpoint.endpoint_name)
    assert name.startswith("Hosting-Endpoint-")
    assert len(name) <= 63


def test_log_group_is_the_one_sagemaker_writes_to_encrypted_and_retained() -> None:
    stack, _ = hosting_stack(endpoint_name="fraud")
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": "/aws/sagemaker/Endpoints/fraud",
                "RetentionInDays": 365,
                "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^EndpointKey"), "Arn"]},
            },
            "DeletionPolicy": "Retain",
        },
    )
    # The endpoint waits for its log group and its model's permissions.
    endpoint = template.find_resources("AWS::SageMaker::Endpoint")
    (depends_on,) = [e["DependsOn"] for e in endpoint.values()]
    assert any(d.startswith("EndpointLogGroup") for d in depends_on)
    assert any(d.startswith("ModelPolicy") for d in depends_on)


def test_key_rotates_and_lets_cloudwatch_logs_use_it_for_this_log_group_only() -> None:
    stack, _ = hosting_stack(endpoint_name="fraud")
    template = Template.from_stack(stack).to_json()
    (key,) = [
        r["Properties"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::KMS::Key" and lid.startswith("EndpointKey")
    ]
    assert key["EnableKeyRotation"] is True
    (logs_statement,) = [
        st for st in key["KeyPolicy"]["Statement"] if "Service" in st.get("Principal", {})
    ]
    assert "logs." in json.dumps(logs_statement["Principal"])
    context = logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert json.dumps(context).endswith(':log-group:/aws/sagemaker/Endpoints/fraud"]]}')


def test_model_role_may_write_to_the_endpoint_log_group_only() -> None:
    stack, _ = hosting_stack(endpoint_name="fraud")
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:DescribeLogStreams",
                                "logs:PutLogEvents",
                            ],
                            "Effect": "Allow",
                            "Resource": {
                                "Fn::GetAtt": [Match.string_like_regexp("^EndpointLogGroup"), "Arn"]
                            },
                        }
                    ]
                )
            }
        },
    )


def test_single_az_opt_out_is_a_warning_not_silent() -> None:
    stack, _ = hosting_stack(instance_count=1, multi_az=False)
    Annotations.from_stack(stack).has_warning(
        "/Hosting/Endpoint", Match.string_like_regexp("multi_az=False")
    )


def test_multi_az_endpoint_has_no_warning() -> None:
    stack, _ = hosting_stack()
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_vpc_subnets_in_two_zones_pass_the_multi_az_check() -> None:
    stack = cdk.Stack(new_app(), "Hosting")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(IMAGE),
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
    )
    Endpoint(stack, "Endpoint", model=model)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {"VpcConfig": {"Subnets": Match.any_value(), "SecurityGroupIds": Match.any_value()}},
    )
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupEgress": [
                Match.object_like({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})
            ]
        },
    )


def test_grant_invoke_names_the_endpoint_only() -> None:
    stack, endpoint = hosting_stack(endpoint_name="fraud")
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": [
                            "sagemaker:InvokeEndpoint",
                            "sagemaker:InvokeEndpointAsync",
                            "sagemaker:InvokeEndpointWithResponseStream",
                        ],
                        "Effect": "Allow",
                        "Resource": {"Ref": Match.string_like_regexp("^Endpoint")},
                    }
                ]
            }
        },
    )


def test_new_model_version_replaces_model_and_config_but_updates_the_endpoint() -> None:
    """The update path, proven at synth level (moto cannot rehearse updates yet)."""
    v1, _ = hosting_stack("models/v1/model.tar.gz", endpoint_name="fraud")
    v2, _ = hosting_stack("models/v2/model.tar.gz", endpoint_name="fraud")
    t2 = Template.from_stack(v2).to_json()

    def by_type(template: dict[str, Any], rtype: str) -> str:
        (lid,) = [k for k, v in template["Resources"].items() if v["Type"] == rtype]
        return lid

    assert changed_resources(v1, v2) == {
        "AWS::SageMaker::Model": "replace",
        "AWS::SageMaker::EndpointConfig": "replace",
        "AWS::SageMaker::Endpoint": "update",
        # the role may now read the new artifact (and only that one)
        "AWS::IAM::ManagedPolicy": "update",
    }
    # ...and the updated endpoint keeps its name while pointing at the new config.
    endpoint = t2["Resources"][by_type(t2, "AWS::SageMaker::Endpoint")]["Properties"]
    assert endpoint["EndpointName"] == "fraud"
    assert endpoint["EndpointConfigName"] == {
        "Fn::GetAtt": [by_type(t2, "AWS::SageMaker::EndpointConfig"), "EndpointConfigName"]
    }


def test_changing_only_the_instance_count_replaces_only_the_config() -> None:
    s1, _ = hosting_stack(endpoint_name="fraud", instance_count=2)
    s2, _ = hosting_stack(endpoint_name="fraud", instance_count=4)
    assert changed_resources(s1, s2) == {
        "AWS::SageMaker::EndpointConfig": "replace",
        "AWS::SageMaker::Endpoint": "update",
    }
