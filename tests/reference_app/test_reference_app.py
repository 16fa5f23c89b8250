"""What matters in the reference deployment, checked resource by resource."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from stacks.config import ConfigError, EnvironmentConfig, load_environments
from tests.conftest import new_app


def test_prod_endpoint_is_multi_az_and_dev_is_a_visible_opt_out(
    reference_templates: dict[str, Any], reference_app: Any
) -> None:
    prod = Template.from_json(reference_templates["prod-hosting"])
    prod.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like({"InitialInstanceCount": 2}),
                Match.object_like({"InitialInstanceCount": 2}),
            ]
        },
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


def test_prod_is_an_ab_test_of_the_champion_against_the_approved_registry_version(
    reference_templates: dict[str, Any],
) -> None:
    template = reference_templates["prod-hosting"]
    (config,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::EndpointConfig"
    ]
    champion, challenger = config["ProductionVariants"]
    assert (champion["VariantName"], champion["InitialVariantWeight"]) == ("Champion", 50)
    assert (challenger["VariantName"], challenger["InitialVariantWeight"]) == ("Challenger", 50)
    package = template["Resources"][challenger["ModelName"]["Fn::GetAtt"][0]]["Properties"]
    container = package["PrimaryContainer"]
    # The version recorded at approval, resolved by CloudFormation at each deploy.
    parameter = template["Parameters"][container["ModelPackageName"]["Ref"]]
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/cdk-sagemaker-hosting/fraud-detection/approved-version",
    }
    registry = reference_templates["prod-registry"]["Resources"]
    (group,) = [r for r in registry.values() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert group["Properties"]["ModelPackageGroupName"] == "fraud-detection"
    (trigger,) = [r for r in registry.values() if r["Type"] == "AWS::Lambda::Function"]
    variables = trigger["Properties"]["Environment"]["Variables"]
    assert variables["PARAMETER_NAME"] == parameter["Default"]
    capture = config["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == 20
    assert capture["CaptureContentTypeHeader"]["CsvContentTypes"] == ["text/csv"]


def test_a_pipelines_deploy_pins_prods_challenger_to_its_version() -> None:
    """PromotionPipeline's deploy passes ``-c modelPackageArn=<version>``: that exact version."""
    from stacks import add_reference_stacks

    version = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection/7"
    app = new_app(modelPackageArn=version)
    stacks = {s.stack_name: s for s in add_reference_stacks(app)}
    template = Template.from_stack(stacks["prod-hosting"]).to_json()
    packages = [
        r["Properties"]["PrimaryContainer"]["ModelPackageName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::Model"
        and "ModelPackageName" in r["Properties"].get("PrimaryContainer", {})
    ]
    assert packages == [version]
    assert not any(
        p.get("Type") == "AWS::SSM::Parameter::Value<String>"
        and "approved-version" in str(p.get("Default"))
        for p in template.get("Parameters", {}).values()
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"registry": {"group_name": "g"}},
            r"prod\.registry: the registry's approved version is hosted as the challenger",
        ),
        (
            {"registry": {"group_name": "g"}, "challenger": {"model_data_key": "k"}},
            r"prod\.challenger: \['model_data_key'\] would be ignored",
        ),
        (
            {"challenger": {"model_data_key": "k"}},
            r"prod\.challenger: missing \['preprocess_image', 'preprocess_data_key'\]",
        ),
        ({"registry": {"group": "g"}}, r"prod: .*unexpected keyword argument 'group'"),
    ],
)
def test_config_names_a_challenger_without_one_source(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EnvironmentConfig.from_mapping("prod", {"model_image": "x", "model_data_key": "k", **raw})


def test_prod_updates_are_canaries_that_roll_back_on_each_variants_alarms(
    reference_templates: dict[str, Any],
) -> None:
    template = reference_templates["prod-hosting"]
    (endpoint,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::Endpoint"
    ]
    policy = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 600,
    }
    alarms = [
        template["Resources"][a["AlarmName"]["Ref"]]["Properties"]
        for a in endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    ]
    watched = sorted((a["MetricName"], a["Dimensions"][1]["Value"]) for a in alarms)
    assert watched == [
        ("Invocation5XXErrors", "Challenger"),
        ("Invocation5XXErrors", "Champion"),
        ("ModelLatency", "Challenger"),
        ("ModelLatency", "Champion"),
    ]
    for alarm in alarms:
        assert alarm["AlarmActions"], "every alarm notifies the encrypted alarm topic"


def test_dev_is_a_single_variant_without_capture_or_guardrails(
    reference_templates: dict[str, Any],
) -> None:
    template = reference_templates["dev-hosting"]
    (config,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::EndpointConfig"
    ]
    assert [v["VariantName"] for v in config["ProductionVariants"]] == ["Champion"]
    assert "DataCaptureConfig" not in config
    (endpoint,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SageMaker::Endpoint"
    ]
    assert "DeploymentConfig" not in endpoint


def test_prod_variants_scale_on_invocations_and_are_watched(
    reference_templates: dict[str, Any],
) -> None:
    template = Template.from_json(reference_templates["prod-hosting"])
    targets = template.find_resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert sorted(
        (
            t["Properties"]["ResourceId"],
            t["Properties"]["MinCapacity"],
            t["Properties"]["MaxCapacity"],
        )
        for t in targets.values()
    ) == [
        ("endpoint/prod-fraud-detection/variant/Challenger", 2, 6),
        ("endpoint/prod-fraud-detection/variant/Champion", 2, 6),
    ]
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 2)
    template.resource_count_is("AWS::CloudWatch::CompositeAlarm", 1)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    # per variant: 5XX, 4XX rate, model and overhead latency, CPU, memory, disk, at max;
    # the promotion's dead-letter alarm; per variant dataset drift, and the drift
    # monitor's failed-run and dead-letter alarms; per variant degraded quality, and
    # the quality monitor's failed-run and dead-letter alarms; the HTTPS front's
    # 4XX and 5XX rates and latency
    template.resource_count_is("AWS::CloudWatch::Alarm", 29)


def test_prod_has_an_https_front_that_joins_the_endpoints_topic(
    reference_templates: dict[str, Any],
) -> None:
    prod = Template.from_json(reference_templates["prod-hosting"])
    prod.resource_count_is("AWS::ApiGateway::RestApi", 1)
    prod.resource_count_is("AWS::WAFv2::WebACL", 1)
    prod.resource_count_is("AWS::SNS::Topic", 1)
    assert "FraudApiUrl" in prod.to_json()["Outputs"]
    dev = Template.from_json(reference_templates["dev-hosting"])
    dev.resource_count_is("AWS::ApiGateway::RestApi", 0)


def test_prod_checks_captured_traffic_for_drift(reference_templates: dict[str, Any]) -> None:
    template = Template.from_json(reference_templates["prod-hosting"])
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "drift.index.handler", "Runtime": "python3.14"}
    )
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(1 hour)", "State": "ENABLED"}
    )
    (fn,) = [
        r
        for r in reference_templates["prod-hosting"]["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Handler"] == "drift.index.handler"
    ]
    config = json.dumps(fn["Properties"]["Environment"]["Variables"]["DRIFT_CONFIG"])
    assert "drift-baselines/fraud-detection/v1/baseline.json" in config
    assert "prod-fraud-detection" in config
    dashboard = json.dumps(template.find_resources("AWS::CloudWatch::Dashboard"))
    assert "Data drift" in dashboard and "DriftShare" in dashboard
    assert "DataCaptureBucketName" in reference_templates["prod-hosting"]["Outputs"]


def test_prod_promotes_the_challenger_on_its_alarms(reference_templates: dict[str, Any]) -> None:
    template = reference_templates["prod-hosting"]
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    shifts = [f for f in functions if f["Properties"]["Handler"] == "traffic_shift.index.handler"]
    # the state machine's function, and the alarm rule's (it knows the state machine)
    (shift,) = [
        f for f in shifts if "STATE_MACHINE_ARN" not in f["Properties"]["Environment"]["Variables"]
    ]
    (alarm_function,) = [f for f in shifts if f is not shift]
    parts = shift["Properties"]["Environment"]["Variables"]["SHIFT_DEFAULTS"]["Fn::Join"][1]
    defaults = json.loads("".join(p if isinstance(p, str) else "<ref>" for p in parts))
    assert defaults["endpoint"] == "prod-fraud-detection"
    assert (defaults["source"], defaults["target"]) == ("Champion", "Challenger")
    assert defaults["steps"] == [10, 25, 50, 75, 100]
    assert defaults["bake_seconds"] == 900
    assert defaults["comparison"] == {
        "max_error_rate_increase": 0.01,
        "max_latency_increase": 0.2,
        "min_invocations": 100,
    }
    # the challenger's errors and latency alarms and the endpoint's health
    assert len(defaults["alarms"]) == 3
    # ... whose state changes to ALARM roll the shift back at once
    alarm_arns = alarm_function["Properties"]["Environment"]["Variables"]["ALARM_ARNS"]
    assert len([p for p in alarm_arns["Fn::Join"][1] if isinstance(p, dict)]) == 3
    assert "PromoteChallengerStateMachineArn" in template["Outputs"]
    assert not any(
        f["Properties"]["Handler"] == "traffic_shift.index.handler"
        for f in reference_templates["dev-hosting"]["Resources"].values()
        if f["Type"] == "AWS::Lambda::Function"
    )


def test_prod_judges_each_variants_quality_against_ground_truth(
    reference_templates: dict[str, Any],
) -> None:
    from cdk_sagemaker_hosting._lambda.quality.monitor import Config

    template = reference_templates["prod-hosting"]
    (function,) = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"]["Handler"] == "quality.index.handler"
    ]
    parts = function["Properties"]["Environment"]["Variables"]["QUALITY_CONFIG"]["Fn::Join"][1]
    config = Config.from_json(json.loads("".join(p if isinstance(p, str) else "x" for p in parts)))
    assert config.variants == ("Champion", "Challenger")
    assert config.reference_variant == "Champion"
    assert config.ground_truth_prefix == "ground-truth/fraud-detection/"
    assert (config.window_seconds, config.label_delay_seconds) == (3600, 86400)
    assert set(config.thresholds) == {"roc_auc", "recall"}
    assert not [
        r
        for r in reference_templates["dev-hosting"]["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and r["Properties"].get("Handler") == "quality.index.handler"
    ]
