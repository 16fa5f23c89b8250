"""End to end: the real CDK CLI deploys the reference app into moto's server.

What moto creates is checked through the AWS APIs, as a person would check
an account after a deploy. What moto does not create is asserted too, so the
list printed by `make deploy-local` stays true.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import local_deploy

pytestmark = pytest.mark.emulator


def test_every_stack_is_created(deployed: dict[str, Any]) -> None:
    assert deployed["summary"]["stacks"] == {
        "dev-artifacts": "CREATE_COMPLETE",
        "dev-hosting": "CREATE_COMPLETE",
        "dev-batch": "CREATE_COMPLETE",
        "dev-components": "CREATE_COMPLETE",
        "prod-artifacts": "CREATE_COMPLETE",
        "prod-registry": "CREATE_COMPLETE",
        "prod-hosting": "CREATE_COMPLETE",
        "prod-batch": "CREATE_COMPLETE",
        "prod-components": "CREATE_COMPLETE",
    }
    machines = deployed["summary"]["state_machines"]
    assert [m.rsplit("-", 1)[0] for m in machines] == [
        "dev-batch-WeeklyForecast6068FD96",
        "prod-batch-WeeklyForecast6068FD96",
        "prod-hosting-PromoteChallengerF4F12EBE",
        "prodhosting-DriftMonitor",
        "prodhosting-QualityMonitor",
    ]


@pytest.mark.parametrize(
    ("endpoint", "variants", "instances", "instance_type", "capture"),
    [
        ("dev-fraud-detection", {"Champion": (1.0, 1)}, 1, "ml.m5.large", None),
        (
            "prod-fraud-detection",
            {"Champion": (50.0, 1), "Challenger": (50.0, 1)},
            2,
            "ml.m5.xlarge",
            20,
        ),
    ],
)
def test_endpoint_serves_its_variants_from_the_artifacts_bucket(
    deployed: dict[str, Any],
    endpoint: str,
    variants: dict[str, tuple[float, int]],
    instances: int,
    instance_type: str,
    capture: int | None,
) -> None:
    ep = deployed["summary"]["endpoints"][endpoint]
    assert ep["status"] == "InService"
    assert ep["data_capture_percentage"] == capture
    assert {n: (v["weight"], v["containers"]) for n, v in ep["variants"].items()} == variants
    env = endpoint.split("-", maxsplit=1)[0]
    s3 = deployed["emulator"].client("s3")
    for variant in ep["variants"].values():
        assert variant["instances"] == instances
        assert variant["instance_type"] == instance_type
        for url in variant["model_data"]:
            assert url.startswith(f"s3://{env}-artifacts-modelartifacts")
            bucket, key = url.removeprefix("s3://").split("/", 1)
            s3.head_object(Bucket=bucket, Key=key)


def test_prods_challenger_is_the_approved_registry_version(deployed: dict[str, Any]) -> None:
    emulator = deployed["emulator"]
    challenger = deployed["summary"]["endpoints"]["prod-fraud-detection"]["variants"]["Challenger"]
    (package,) = challenger["model_packages"]
    assert package.endswith(":model-package/fraud-detection/1")
    recorded = emulator.client("ssm").get_parameter(
        Name="/cdk-sagemaker-hosting/fraud-detection/approved-version"
    )["Parameter"]["Value"]
    assert recorded == package
    metadata = emulator.client("sagemaker").describe_model_package(ModelPackageName=package)[
        "CustomerMetadataProperties"
    ]
    assert metadata["cdk-sagemaker-hosting:rollout"] == "recorded"
    # The version's artifact is in the registry's bucket, under the group's prefix.
    url = emulator.client("sagemaker").describe_model_package(ModelPackageName=package)[
        "InferenceSpecification"
    ]["Containers"][0]["ModelDataUrl"]
    assert url.startswith("s3://prod-registry-registryartifacts")
    assert "/fraud-detection/" in url
    assert "model-package-group" in local_deploy.STAND_INS
    assert "approval-event" in local_deploy.STAND_INS


def test_model_is_network_isolated_with_its_own_role_and_managed_policy(
    deployed: dict[str, Any],
) -> None:
    sm = deployed["emulator"].client("sagemaker")
    iam = deployed["emulator"].client("iam")
    ep = deployed["summary"]["endpoints"]["prod-fraud-detection"]
    model = sm.describe_model(ModelName=ep["variants"]["Champion"]["model"])
    # EnableNetworkIsolation is dropped by moto: see test_summary_names_what_the_emulator_skipped
    role = model["ExecutionRoleArn"].rsplit("/", 1)[1]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []
    (attached,) = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
    document = iam.get_policy_version(
        PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    actions = sorted(
        a
        for statement in document["Statement"]
        for a in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    )
    assert "s3:GetObject" in actions
    assert not [a for a in actions if a.endswith("*")]
    # The only writes: captured traffic, in this endpoint's folder of the prefix.
    for statement in document["Statement"]:
        if statement["Action"] == "s3:PutObject":
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                assert resource.endswith("/data-capture/prod-fraud-detection/*"), resource


def test_endpoint_config_volume_and_every_key_are_kms_with_rotation(
    deployed: dict[str, Any],
) -> None:
    summary = deployed["summary"]
    kms = deployed["emulator"].client("kms")
    for name, ep in summary["endpoints"].items():
        if name.endswith("-fraud-assistants"):
            # ml.g5 instances have local NVMe storage, which SageMaker encrypts
            # itself and for which it refuses KmsKeyId (the template test checks it).
            assert ep["kms_key"] is None
            continue
        key = kms.describe_key(KeyId=ep["kms_key"])["KeyMetadata"]
        assert key["KeyManager"] == "CUSTOMER"
        key_id = key["KeyId"]
        assert summary["kms_keys"][key_id] is True
    # per environment: artifacts, endpoint, forecast data and forecast workflow keys;
    # in prod also capture, alarm-topic, promotion and drift-monitor keys
    # and the components endpoint's key per environment; in prod the HTTPS
    # front's and the components' alarm-topic keys; in prod the registry's
    # artifact key and its promotion trigger's key; in prod the quality monitor's key
    assert len(summary["kms_keys"]) == 19
    assert all(summary["kms_keys"].values())


def test_artifacts_bucket_is_kms_encrypted_with_a_log_bucket_beside_it(
    deployed: dict[str, Any],
) -> None:
    s3 = deployed["emulator"].client("s3")
    (bucket,) = [
        b for b in deployed["summary"]["buckets"] if b.startswith("prod-artifacts-modelartifactsc")
    ]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"].startswith("arn:aws:kms:")
    assert [
        b
        for b in deployed["summary"]["buckets"]
        if b.startswith("prod-artifacts-modelartifactsaccesslogs")
    ]


def test_endpoint_log_group_is_encrypted_with_a_retention(deployed: dict[str, Any]) -> None:
    logs = deployed["emulator"].client("logs")
    (group,) = logs.describe_log_groups(
        logGroupNamePrefix="/aws/sagemaker/Endpoints/prod-fraud-detection"
    )["logGroups"]
    assert group["logGroupName"] == "/aws/sagemaker/Endpoints/prod-fraud-detection"
    assert group["retentionInDays"] == 365


def test_summary_names_what_the_emulator_skipped(
    deployed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Fails once moto creates bucket policies: then update this and the README.
    assert deployed["summary"]["not_emulated"] == {
        # The HTTPS front: moto keeps the API and its resource but not these
        # (https_front_demo lists what that leaves unrehearsed).
        "AWS::ApiGateway::Deployment": 1,
        "AWS::ApiGateway::Method": 1,
        "AWS::ApiGateway::Model": 1,
        "AWS::ApiGateway::RequestValidator": 1,
        "AWS::ApiGateway::Stage": 1,
        "AWS::ApplicationAutoScaling::ScalableTarget": 6,
        "AWS::ApplicationAutoScaling::ScalingPolicy": 8,
        "AWS::CloudWatch::Alarm": 54,
        "AWS::CloudWatch::CompositeAlarm": 3,
        "AWS::Lambda::EventInvokeConfig": 2,
        "AWS::Lambda::Permission": 3,
        "AWS::S3::BucketPolicy": 12,
        "AWS::SNS::TopicPolicy": 5,
        "AWS::SQS::QueuePolicy": 6,
        # moto has no inference components at all (neither API nor resource).
        "AWS::SageMaker::InferenceComponent": 4,
        # moto's CloudFormation has no model package group (its API has).
        "AWS::SageMaker::ModelPackageGroup": 1,
        "AWS::WAFv2::LoggingConfiguration": 1,
        "AWS::WAFv2::WebACL": 1,
        "AWS::WAFv2::WebACLAssociation": 1,
    }
    assert len(deployed["summary"]["dashboards"]) == 3
    assert deployed["summary"]["dropped_properties"] == [
        "AWS::Logs::LogGroup KmsKeyId (reads back unset)",
        "AWS::S3::Bucket BucketKeyEnabled (reads back false)",
        "AWS::S3::Bucket LoggingConfiguration (reads back unset)",
        "AWS::S3::Bucket PublicAccessBlockConfiguration (reads back unset)",
        "AWS::S3::Bucket VersioningConfiguration (reads back unset)",
        "AWS::SageMaker::Model EnableNetworkIsolation (reads back false)",
    ]
    local_deploy.print_summary(deployed["summary"])
    out = capsys.readouterr().out
    assert "NOT EMULATED" in out
    assert "AWS::S3::BucketPolicy x12" in out
    assert "ACCEPTED BUT NOT STORED" in out
    assert "Dashboards: " in out
    assert "getatt-not-emulated, ref-not-emulated, schedule-rule-events, kms-key-policy" in out


def run_shift(deployed: dict[str, Any], *argv: str) -> tuple[int, dict[str, Any], str]:
    """`cdk-sagemaker-hosting shift` as a person runs it, against the emulator."""
    env = deployed["emulator"].env()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cdk-sagemaker-hosting"), "shift", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, json.loads(result.stdout.strip().splitlines()[-1]), result.stdout


def test_the_command_line_shifts_traffic_both_ways(deployed: dict[str, Any]) -> None:
    endpoint = ("--endpoint", "prod-fraud-detection", "--bake-seconds", "0", "--poll-seconds", "1")
    code, summary, out = run_shift(
        deployed, *endpoint, "--from", "Champion", "--to", "Challenger", "--steps", "75,100"
    )
    assert (code, summary) == (
        0,
        {"result": "promoted", "weights": {"Champion": 0.0, "Challenger": 100.0}},
    )
    assert "step 1/2 (75%): Champion=25 Challenger=75" in out
    code, summary, _ = run_shift(
        deployed, *endpoint, "--from", "Challenger", "--to", "Champion", "--steps", "50,100"
    )
    assert (code, summary) == (
        0,
        {"result": "promoted", "weights": {"Champion": 100.0, "Challenger": 0.0}},
    )
    code, summary, _ = run_shift(
        deployed, *endpoint, "--from", "Champion", "--to", "Shadow", "--steps", "100"
    )
    assert code == 2
    refusal = "target='Shadow' is invalid: must be a production variant of the endpoint"
    assert refusal in summary["error"]


@pytest.mark.xfail(
    strict=True,
    reason="moto 5.2.5's CloudFormation cannot run stack updates: the CDK CLI's clean-up of a "
    "missing change set makes delete_change_set raise UnboundLocalError, an executed change set "
    "does not replace the SageMaker model or endpoint config, and --method=direct fails on the "
    "BootstrapVersion parameter; here the CLI waits for an update that never completes. "
    "The update path is proven at synth level in "
    "tests/endpoint/test_endpoint.py. When this passes, drop the xfail.",
)
def test_new_model_version_updates_the_endpoint_in_place(deployed: dict[str, Any]) -> None:
    emulator = deployed["emulator"]
    envs = copy.deepcopy(local_deploy.environments())
    for env in envs.values():
        env["model_data_key"] = "fraud-detection/v2/model.tar.gz"
    before = deployed["summary"]["endpoints"]["prod-fraud-detection"]
    # moto leaves the update of the hosting stack in progress for good: bound the wait.
    local_deploy.deploy_reference_app(
        emulator, Path(deployed["assembly"]).with_name("v2.out"), envs, timeout=90
    )
    after = local_deploy.summarize(emulator, deployed["assembly"], deployed["stacks"])
    endpoint = after["endpoints"]["prod-fraud-detection"]
    assert endpoint["config"] != before["config"]
    assert endpoint["variants"]["Champion"]["model_data"][0].endswith("/v2/model.tar.gz")
