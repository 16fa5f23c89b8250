"""Each fix in scripts/moto_server.py mends a gap that moto really has.

Every gap test asserts the gap in plain moto, so it fails the day moto
closes it (then delete the fix); the fixed test asserts the behaviour AWS has.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from moto.sagemaker import models as sagemaker_models

from scripts.moto_server import FIXES, PATCHES

REGION = "us-east-1"


@contextlib.contextmanager
def emulator(*, fixed: bool) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        if fixed:
            for target, attribute, replacement in PATCHES:
                stack.enter_context(mock.patch.object(target, attribute, replacement))
        stack.enter_context(mock_aws())
        yield


def create_by_change_set(name: str, template: dict[str, Any]) -> Any:
    cfn = boto3.client("cloudformation", REGION)
    cfn.create_change_set(
        StackName=name,
        ChangeSetName="c1",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(template),
    )
    cfn.execute_change_set(StackName=name, ChangeSetName="c1")
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


EXPORTER = {
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
    "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}, "Export": {"Name": "shared-bucket"}}},
}
IMPORTER = {
    "Resources": {
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::Join": ["-", [{"Fn::ImportValue": "shared-bucket"}, "q"]]}
            },
        }
    }
}
ENDPOINT = {
    "Resources": {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
                "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"},
            },
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "InstanceType": "ml.m5.large",
                        "InitialInstanceCount": 2,
                        "InitialVariantWeight": 1,
                    }
                ]
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "named-endpoint",
                "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
            },
        },
    }
}
KEY = {
    "Resources": {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        }
    }
}


def test_every_fix_is_covered_here() -> None:
    assert FIXES == (
        "change-set-outputs",
        "change-set-imports",
        "endpoint-name",
        "pipeline-model",
        "getatt-not-emulated",
        "ref-not-emulated",
        "schedule-rule-events",
        "kms-key-policy",
        "instance-types",
        "component-variants",
        "change-set-depends-on",
        "lambda-without-docker",
        "state-machines-from-cloudformation",
        "item-batcher",
        "map-tolerated-failures",
        "sagemaker-sync",
        "model-package-update",
    )


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_change_set_outputs(fixed: bool) -> None:
    with emulator(fixed=fixed):
        outputs = create_by_change_set("exporter", EXPORTER).get("Outputs")
        if fixed:
            assert [o["OutputKey"] for o in outputs] == ["BucketName"]
        else:
            assert outputs is None, "moto now evaluates change-set outputs: drop the fix"


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_change_set_imports(fixed: bool) -> None:
    with emulator(fixed=fixed):
        create_by_change_set("exporter", EXPORTER)
        if fixed:
            create_by_change_set("importer", IMPORTER)
            queues = boto3.client("sqs", REGION).list_queues()["QueueUrls"]
            assert len(queues) == 1 and queues[0].endswith("-q")
        else:
            with pytest.raises(Exception, match="No export named shared-bucket"):
                create_by_change_set("importer", IMPORTER)


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_endpoint_name(fixed: bool) -> None:
    with emulator(fixed=fixed):
        boto3.client("cloudformation", REGION).create_stack(
            StackName="ep", TemplateBody=json.dumps(ENDPOINT)
        )
        names = [
            e["EndpointName"]
            for e in boto3.client("sagemaker", REGION).list_endpoints()["Endpoints"]
        ]
        if fixed:
            assert names == ["named-endpoint"]
        else:
            assert names != ["named-endpoint"], "moto now honours EndpointName: drop the fix"


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_kms_key_policy(fixed: bool) -> None:
    with emulator(fixed=fixed):
        boto3.client("cloudformation", REGION).create_stack(
            StackName="key", TemplateBody=json.dumps(KEY)
        )
        kms = boto3.client("kms", REGION)
        (key,) = kms.list_keys()["Keys"]
        if fixed:
            assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyManager"] == "CUSTOMER"
        else:
            with pytest.raises(TypeError, match="must be str, bytes or bytearray, not dict"):
                kms.describe_key(KeyId=key["KeyId"])


PIPELINE = {
    "Resources": {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r",
                "InferenceExecutionConfig": {"Mode": "Serial"},
                "Containers": [
                    {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pre:1"},
                    {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
                ],
            },
        }
    }
}


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_pipeline_model(fixed: bool) -> None:
    with emulator(fixed=fixed):
        cfn = boto3.client("cloudformation", REGION)
        if fixed:
            cfn.create_stack(StackName="pipeline", TemplateBody=json.dumps(PIPELINE))
            sm = boto3.client("sagemaker", REGION)
            (model,) = sm.list_models()["Models"]
            containers = sm.describe_model(ModelName=model["ModelName"])["Containers"]
            assert [c["Image"].rsplit("/", 1)[1] for c in containers] == ["pre:1", "model:1"]
        else:
            with pytest.raises(KeyError, match="PrimaryContainer"):
                cfn.create_stack(StackName="pipeline", TemplateBody=json.dumps(PIPELINE))


DASHBOARD = {
    "Resources": {
        "Health": {
            "Type": "AWS::CloudWatch::CompositeAlarm",
            "Properties": {"AlarmRule": "ALARM(x)"},
        },
        "Board": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardBody": {
                    "Fn::Join": ["", ['{"alarms":["', {"Fn::GetAtt": ["Health", "Arn"]}, '"]}']]
                }
            },
        },
    }
}


@pytest.mark.filterwarnings("ignore:Tried to parse")
@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_getatt_not_emulated(fixed: bool) -> None:
    with emulator(fixed=fixed):
        cfn = boto3.client("cloudformation", REGION)
        if fixed:
            cfn.create_stack(StackName="board", TemplateBody=json.dumps(DASHBOARD))
            body = boto3.client("cloudwatch", REGION).get_dashboard(
                DashboardName=boto3.client("cloudwatch", REGION).list_dashboards()[
                    "DashboardEntries"
                ][0]["DashboardName"]
            )["DashboardBody"]
            assert "arn:aws:not-emulated:::Health.Arn" in body
        else:
            with pytest.raises(Exception, match="references undefined resource Health"):
                cfn.create_stack(StackName="board", TemplateBody=json.dumps(DASHBOARD))


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_schedule_rule_events(fixed: bool) -> None:
    with emulator(fixed=fixed):
        events = boto3.client("events", REGION)
        events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
        events.put_targets(
            Rule="hourly",
            Targets=[
                {
                    "Id": "machine",
                    "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:check",
                    "RoleArn": "arn:aws:iam::123456789012:role/events",
                }
            ],
        )
        entry = {"Source": "demo", "DetailType": "Demo", "Detail": "{}"}
        if fixed:
            assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        else:
            with pytest.raises(NotImplementedError, match="Expr not defined"):
                events.put_events(Entries=[entry])


def component_endpoint_config(instance_type: str, *, with_model: bool = False) -> dict[str, Any]:
    """A component-mode endpoint config (no ModelName), or one with a model."""
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "InstanceType": instance_type,
        "InitialInstanceCount": 1,
    }
    if with_model:
        variant["ModelName"] = "missing"
    return {
        "Resources": {
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {"ProductionVariants": [variant]},
            }
        }
    }


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_instance_types(fixed: bool) -> None:
    with emulator(fixed=fixed):
        sm = boto3.client("sagemaker", REGION)
        variant = {"VariantName": "v", "InstanceType": "ml.g5.12xlarge", "InitialInstanceCount": 1}
        if fixed:
            with mock.patch.object(
                sagemaker_models.SageMakerModelBackend,
                "validate_production_variants",
                lambda self, variants: None,
            ):
                sm.create_endpoint_config(EndpointConfigName="gpu", ProductionVariants=[variant])
            assert sm.describe_endpoint_config(EndpointConfigName="gpu")["ProductionVariants"]
            with pytest.raises(Exception, match=r"ml\.nope\.large"):
                sm.create_endpoint_config(
                    EndpointConfigName="bad",
                    ProductionVariants=[{**variant, "InstanceType": "ml.nope.large"}],
                )
        else:
            with pytest.raises(Exception, match=r"'ml\.g5\.12xlarge' at 'instanceType'"):
                sm.create_endpoint_config(
                    EndpointConfigName="gpu", ProductionVariants=[{**variant, "ModelName": "m"}]
                )


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_component_variants(fixed: bool) -> None:
    with emulator(fixed=fixed):
        cfn = boto3.client("cloudformation", REGION)
        template = json.dumps(component_endpoint_config("ml.m5.large"))
        if fixed:
            cfn.create_stack(StackName="components", TemplateBody=template)
            (config,) = boto3.client("sagemaker", REGION).list_endpoint_configs()["EndpointConfigs"]
            assert config["EndpointConfigName"]
            # Variants that do name a model are still looked up.
            with pytest.raises(Exception, match="Could not find model"):
                cfn.create_stack(
                    StackName="models",
                    TemplateBody=json.dumps(
                        component_endpoint_config("ml.m5.large", with_model=True)
                    ),
                )
        else:
            with pytest.raises(KeyError, match="ModelName"):
                cfn.create_stack(StackName="components", TemplateBody=template)


#: An API whose deployment comes before the method it depends on, as the CDK writes it.
API_DEPLOYED_BEFORE_ITS_METHOD = {
    "Resources": {
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "Api"}},
            "DependsOn": ["Method"],
        },
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "front"}},
        "Method": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "HttpMethod": "POST",
                "AuthorizationType": "AWS_IAM",
                "Integration": {"Type": "MOCK", "IntegrationHttpMethod": "POST", "Uri": ""},
            },
        },
    }
}


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_change_set_depends_on(fixed: bool) -> None:
    with emulator(fixed=fixed):
        if fixed:
            create_by_change_set("front", API_DEPLOYED_BEFORE_ITS_METHOD)
            (api,) = boto3.client("apigateway", REGION).get_rest_apis()["items"]
            deployments = boto3.client("apigateway", REGION).get_deployments(restApiId=api["id"])
            assert len(deployments["items"]) == 1
        else:
            with pytest.raises(Exception, match="contain any methods"):
                create_by_change_set("front", API_DEPLOYED_BEFORE_ITS_METHOD)


HANDLER = b"""
import os
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    left = context.get_remaining_time_in_millis() > 0
    return {"echo": event, "greeting": os.environ["GREETING"], "left": left}
"""


def function_package() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as package:
        package.writestr("app/__init__.py", b"")
        package.writestr("app/index.py", HANDLER)
    return buf.getvalue()


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_lambda_without_docker(fixed: bool) -> None:
    with emulator(fixed=fixed):
        iam = boto3.client("iam", REGION)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        aws_lambda = boto3.client("lambda", REGION)
        aws_lambda.create_function(
            FunctionName="fn",
            Runtime="python3.12",
            Role=role,
            Handler="app.index.handler",
            Code={"ZipFile": function_package()},
            Environment={"Variables": {"GREETING": "hello"}},
            Timeout=30,
        )
        answer = aws_lambda.invoke(FunctionName="fn", Payload=json.dumps({"n": 1}))
        body = answer["Payload"].read().decode()
        if fixed:
            payload = json.loads(body)
            assert "FunctionError" not in answer
            assert payload == {"echo": {"n": 1}, "greeting": "hello", "left": True}
            failed = aws_lambda.invoke(FunctionName="fn", Payload=json.dumps({"fail": True}))
            assert failed["FunctionError"]
            error = json.loads(failed["Payload"].read())
            assert (error["errorType"], error["errorMessage"]) == ("ValueError", "asked to fail")
        else:
            assert answer.get("FunctionError"), "moto now runs Lambda without Docker: drop the fix"
            assert body.startswith("error running docker")


PASS_MACHINE = {
    "Resources": {
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/sfn",
                "DefinitionString": json.dumps(
                    {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}}
                ),
            },
        }
    }
}


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_state_machines_from_cloudformation(fixed: bool) -> None:
    with contextlib.ExitStack() as stack:
        if fixed:
            for target, attribute, replacement in PATCHES:
                stack.enter_context(mock.patch.object(target, attribute, replacement))
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        boto3.client("cloudformation", REGION).create_stack(
            StackName="sfn", TemplateBody=json.dumps(PASS_MACHINE)
        )
        sfn = boto3.client("stepfunctions", REGION)
        machines = sfn.list_state_machines()["stateMachines"]
        if fixed:
            (machine,) = machines
            arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
            for _ in range(50):
                execution = sfn.describe_execution(executionArn=arn)
                if execution["status"] != "RUNNING":
                    break
                time.sleep(0.1)
            assert (execution["status"], execution["output"]) == ("SUCCEEDED", "1")
        else:
            assert machines == [], "the interpreter now sees CloudFormation's state machines"


#: A parameter holding an alarm's name; moto's CloudFormation skips the alarm.
NAMED_AFTER_AN_ALARM = {
    "Resources": {
        "Alarm": {
            "Type": "AWS::CloudWatch::CompositeAlarm",
            "Properties": {"AlarmRule": "TRUE"},
        },
        "Parameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": "alarms",
                "Type": "String",
                "Value": {"Fn::Join": [",", [{"Ref": "Alarm"}]]},
            },
        },
    }
}


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_ref_not_emulated(fixed: bool) -> None:
    with emulator(fixed=fixed):
        boto3.client("cloudformation", REGION).create_stack(
            StackName="named", TemplateBody=json.dumps(NAMED_AFTER_AN_ALARM)
        )
        value = boto3.client("ssm", REGION).get_parameter(Name="alarms")["Parameter"]["Value"]
        if fixed:
            assert value == "not-emulated:Alarm"
        else:
            assert value == "None", "moto now resolves Ref of skipped resources"


def batched_map(batcher: dict[str, Any]) -> dict[str, Any]:
    """A Distributed Map over ``$.items`` whose children return their input, batched."""
    return {
        "StartAt": "Batches",
        "States": {
            "Batches": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"run.$": "$.run", "item.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Echo",
                    "States": {"Echo": {"Type": "Pass", "End": True}},
                },
                "ItemBatcher": batcher,
                "End": True,
            }
        },
    }


def run_to_the_end(definition: dict[str, Any], execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", REGION)
    arn = sfn.create_state_machine(
        name=f"batched-{time.monotonic_ns()}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    # The definition is kept as given, whatever the interpreter parses.
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == json.dumps(definition)
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))
    for _ in range(100):
        execution = sfn.describe_execution(executionArn=started["executionArn"])
        if execution["status"] != "RUNNING":
            return dict(execution)
        time.sleep(0.1)
    raise AssertionError("the execution did not end in 10 s")


def item(n: int) -> dict[str, Any]:
    return {"run": "r1", "item": n}


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_item_batcher(fixed: bool) -> None:
    with contextlib.ExitStack() as stack:
        if fixed:
            for target, attribute, replacement in PATCHES:
                stack.enter_context(mock.patch.object(target, attribute, replacement))
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        five = {"run": "r1", "n": 4, "items": [1, 2, 3, 4, 5]}
        if not fixed:
            with pytest.raises(Exception, match=r'ASLParserException.*at "ItemBatcher"'):
                run_to_the_end(batched_map({"MaxItemsPerBatch": 2}), five)
            return
        # The ItemSelector applies to each item, then items are batched in order.
        by_count = run_to_the_end(
            batched_map({"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run", "fixed": 1}}),
            five,
        )
        shared = {"BatchInput": {"run": "r1", "fixed": 1}}
        assert json.loads(by_count["output"]) == [
            {**shared, "Items": [item(1), item(2)]},
            {**shared, "Items": [item(3), item(4)]},
            {**shared, "Items": [item(5)]},
        ]
        by_path = run_to_the_end(batched_map({"MaxItemsPerBatchPath": "$.n"}), five)
        assert [len(b["Items"]) for b in json.loads(by_path["output"])] == [4, 1]
        # {"Items":[two items]} is 57 bytes as compact JSON, three are 80.
        by_size = run_to_the_end(batched_map({"MaxInputBytesPerBatch": 60}), five)
        assert [len(b["Items"]) for b in json.loads(by_size["output"])] == [2, 2, 1]
        both = run_to_the_end(
            batched_map({"MaxItemsPerBatch": 3, "MaxInputBytesPerBatch": 60}), five
        )
        assert [len(b["Items"]) for b in json.loads(both["output"])] == [2, 2, 1]
        too_big = run_to_the_end(batched_map({"MaxInputBytesPerBatch": 20}), five)
        assert (too_big["status"], too_big["error"]) == ("FAILED", "States.DataLimitExceeded")


def test_item_batcher_counts_the_utf8_bytes_of_a_batch() -> None:
    """Step Functions measures a payload as a UTF-8 string: "é" is 2 bytes, not 6 ("\\u00e9")."""
    with contextlib.ExitStack() as stack:
        for target, attribute, replacement in PATCHES:
            stack.enter_context(mock.patch.object(target, attribute, replacement))
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        accents = {"run": "r1", "items": ["\u00e9\u00e9\u00e9"] * 4}
        # {"Items":[two items]} is 69 bytes in UTF-8 (93 with every "é" escaped as \u00e9).
        done = run_to_the_end(batched_map({"MaxInputBytesPerBatch": 70}), accents)
        assert [len(b["Items"]) for b in json.loads(done["output"])] == [2, 2]


#: One batch transform as the BatchTransform construct writes it, reduced to its task.
TRANSFORM = {
    "StartAt": "Transform",
    "States": {
        "Transform": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync",
            "Parameters": {
                "TransformJobName.$": "$.name",
                "ModelName": "forecast",
                "TransformInput": {
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data-b/in/"}
                    }
                },
                "TransformOutput": {"S3OutputPath": "s3://data-b/out/"},
                "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            },
            "End": True,
        }
    },
}


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_sagemaker_sync(fixed: bool) -> None:
    with contextlib.ExitStack() as stack:
        if fixed:
            for target, attribute, replacement in PATCHES:
                stack.enter_context(mock.patch.object(target, attribute, replacement))
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        s3 = boto3.client("s3", REGION)
        s3.create_bucket(Bucket="data-b")
        s3.put_object(Bucket="data-b", Key="in/week.csv", Body=b"1,2\n")
        done = run_to_the_end(TRANSFORM, {"name": "weekly-1"})
        jobs = boto3.client("sagemaker", REGION).list_transform_jobs()["TransformJobSummaries"]
        if not fixed:
            assert (done["status"], done["error"]) == ("FAILED", "States.Runtime")
            assert "Unsupported sync callback" in done["cause"]
            assert jobs == [], "moto now runs SageMaker .sync jobs: drop the fix"
            return
        assert done["status"] == "SUCCEEDED"
        output = json.loads(done["output"])
        assert (output["TransformJobName"], output["TransformJobStatus"]) == (
            "weekly-1",
            "Completed",
        )
        assert isinstance(output["CreationTime"], int)
        # The rehearsal's stand-in fails a job with no input, as SageMaker does.
        s3.delete_object(Bucket="data-b", Key="in/week.csv")
        failed = run_to_the_end(TRANSFORM, {"name": "weekly-2"})
        assert (failed["status"], failed["error"]) == ("FAILED", "States.TaskFailed")
        cause = json.loads(failed["cause"])
        assert cause["TransformJobStatus"] == "Failed"
        assert cause["FailureReason"].startswith("ClientError: No S3 objects found under S3 URL")


def registered_version() -> str:
    """Version 1 of a group, approved, with a description and one metadata property."""
    sagemaker = boto3.client("sagemaker", REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName="g")
    return str(
        sagemaker.create_model_package(
            ModelPackageGroupName="g",
            ModelApprovalStatus="Approved",
            CustomerMetadataProperties={"owner": "ml", "stage": "new"},
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/i:1",
                        "ModelDataUrl": "s3://b/g/1/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    )


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_model_package_update(fixed: bool) -> None:
    with emulator(fixed=fixed):
        sagemaker = boto3.client("sagemaker", REGION)
        arn = registered_version()
        sagemaker.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="reviewed"
        )
        # A write-back of metadata alone (what the promotion handlers do).
        sagemaker.update_model_package(
            ModelPackageArn=arn, CustomerMetadataProperties={"stage": "deployed", "at": "t1"}
        )
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        approved = sagemaker.list_model_packages(
            ModelPackageGroupName="g", ModelApprovalStatus="Approved"
        )["ModelPackageSummaryList"]
        if not fixed:
            assert described.get("ModelApprovalStatus") is None, (
                "moto now keeps the fields an update leaves out: drop the fix"
            )
            assert described.get("ApprovalDescription") is None
            assert described["CustomerMetadataProperties"] == {"stage": "deployed", "at": "t1"}
            assert approved == []
            return
        assert described["ModelApprovalStatus"] == "Approved"
        assert described["ApprovalDescription"] == "reviewed"
        assert described["CustomerMetadataProperties"] == {
            "owner": "ml",
            "stage": "deployed",
            "at": "t1",
        }
        assert [v["ModelPackageArn"] for v in approved] == [arn]
        # Properties are removed by name; a status alone changes only the status.
        sagemaker.update_model_package(
            ModelPackageArn=arn,
            CustomerMetadataPropertiesToRemove=["at", "missing"],
            CustomerMetadataProperties={"stage": "rolled-back"},
        )
        sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
        described = sagemaker.describe_model_package(ModelPackageName=arn)
        assert described["ModelApprovalStatus"] == "Rejected"
        assert described["ApprovalDescription"] == "reviewed"
        assert described["CustomerMetadataProperties"] == {"owner": "ml", "stage": "rolled-back"}
        # An unknown status is still refused, as by moto and SageMaker.
        with pytest.raises(Exception, match="Maybe"):
            sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Maybe")


def failing_children(**tolerance: int) -> dict[str, Any]:
    """A Distributed Map over ``$.items`` whose children fail on items above 2."""
    return {
        "StartAt": "Children",
        "States": {
            "Children": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Small",
                    "States": {
                        "Small": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Boom"}],
                            "Default": "Done",
                        },
                        "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "a child failed"},
                        "Done": {"Type": "Succeed"},
                    },
                },
                **tolerance,
                "End": True,
            }
        },
    }


@pytest.mark.parametrize("fixed", [False, True], ids=["moto-gap", "fixed"])
def test_map_tolerated_failures(fixed: bool) -> None:
    with contextlib.ExitStack() as stack:
        if fixed:
            for target, attribute, replacement in PATCHES:
                stack.enter_context(mock.patch.object(target, attribute, replacement))
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        four = {"items": [1, 2, 3, 4]}
        untolerated = run_to_the_end(failing_children(), four)
        if not fixed:
            assert untolerated["status"] == "SUCCEEDED", "moto now fails the Map: drop the fix"
            assert json.loads(untolerated["output"]) == [1, 2, None, None]
            return
        assert (untolerated["status"], untolerated["error"]) == (
            "FAILED",
            "States.ExceedToleratedFailureThreshold",
        )
        assert "2 of 4 items failed" in untolerated["cause"]
        assert run_to_the_end(failing_children(**{"ToleratedFailureCount": 2}), four)["status"] == (
            "SUCCEEDED"
        )
        assert run_to_the_end(failing_children(**{"ToleratedFailureCount": 1}), four)["status"] == (
            "FAILED"
        )
        # 50.0, not 50: moto's grammar refuses an integer percentage (a gap not mended).
        assert (
            run_to_the_end(failing_children(**{"ToleratedFailurePercentage": 50.0}), four)["status"]
            == "SUCCEEDED"
        )
        # A failed child of a batch fails every item of its batch: 3 and 4 together.
        batched = failing_children(**{"ToleratedFailureCount": 1})
        batched["States"]["Children"]["ItemBatcher"] = {"MaxItemsPerBatch": 2}
        batched["States"]["Children"]["ItemProcessor"]["States"]["Small"]["Choices"][0][
            "Variable"
        ] = "$.Items[0]"
        done = run_to_the_end(batched, four)
        assert (done["status"], done["error"]) == (
            "FAILED",
            "States.ExceedToleratedFailureThreshold",
        )
        assert "2 of 4 items failed" in done["cause"]


@contextlib.contextmanager
def fixed_interpreter() -> Iterator[None]:
    """moto with every fix of scripts/moto_server.py and its ASL interpreter on."""
    with contextlib.ExitStack() as stack:
        for target, attribute, replacement in PATCHES:
            stack.enter_context(mock.patch.object(target, attribute, replacement))
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        yield


def test_gap_not_mended_integer_tolerated_failure_percentage() -> None:
    # The smallest reproduction in scripts/moto_server.py; fails once moto accepts it.
    with fixed_interpreter(), pytest.raises(Exception, match="no viable alternative"):
        run_to_the_end(failing_children(ToleratedFailurePercentage=50), {"items": [1]})


def test_gap_not_mended_mock_configuration() -> None:
    with fixed_interpreter():
        sfn = boto3.client("stepfunctions", REGION)
        arn = sfn.create_state_machine(
            name="mocked",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
            sfn.start_execution(stateMachineArn=f"{arn}#HappyPath")


def test_gap_not_mended_other_sagemaker_sync_actions() -> None:
    training = {
        "StartAt": "Train",
        "States": {
            "Train": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
                "Parameters": {
                    "TrainingJobName": "t",
                    "AlgorithmSpecification": {
                        "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1",
                        "TrainingInputMode": "File",
                    },
                    "RoleArn": "arn:aws:iam::123456789012:role/sm",
                    "OutputDataConfig": {"S3OutputPath": "s3://data-b/out/"},
                    "ResourceConfig": {
                        "InstanceType": "ml.m5.xlarge",
                        "InstanceCount": 1,
                        "VolumeSizeInGB": 10,
                    },
                    "StoppingCondition": {"MaxRuntimeInSeconds": 60},
                },
                "End": True,
            }
        },
    }
    with fixed_interpreter():
        done = run_to_the_end(training, {})
        jobs = boto3.client("sagemaker", REGION).list_training_jobs()["TrainingJobSummaries"]
    assert (done["status"], done["error"]) == ("FAILED", "States.Runtime")
    assert "Unsupported sync callback" in done["cause"]
    # Refused before the action runs, as in plain moto: no job is left behind.
    assert jobs == []
