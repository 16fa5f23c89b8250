"""DriftMonitor: snapshot, least privilege, schedule, alarms, Distributed Map, gates, bad input."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import (
    ContainerImage,
    DataCapture,
    DriftMonitor,
    DriftThresholds,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ValidationError,
)
from cdk_sagemaker_hosting._lambda.drift import monitor
from cdk_sagemaker_hosting._lambda.drift.report import Thresholds
from cdk_sagemaker_hosting.compliance import acknowledge
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import new_app, normalise
from tests.gates import PACKS, cfn_lint, nag_findings

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def single_region(bucket: EncryptedBucket) -> None:
    """Test buckets have no replication destination."""
    for target in (bucket.bucket, bucket.access_logs_bucket):
        acknowledge(
            target,
            "Test data of the drift-monitor tests stays in one Region; replication has no "
            "destination in a single-Region test deployment.",
            "HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
        )


def endpoint_with_capture(stack: cdk.Stack) -> tuple[Endpoint, DataCapture]:
    bucket = EncryptedBucket(stack, "Capture")
    single_region(bucket)
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    capture = DataCapture(destination=bucket)
    endpoint = Endpoint(
        stack,
        "Endpoint",
        endpoint_name="fraud",
        variants=[
            InstanceVariant(model=model, variant_name="Blue"),
            InstanceVariant(model=model, variant_name="Green"),
        ],
        data_capture=capture,
    )
    return endpoint, capture


@pytest.fixture(scope="module")
def synthesised() -> dict[str, Any]:
    app = new_app()
    stack = cdk.Stack(app, "DriftMonitorTest")
    endpoint, capture = endpoint_with_capture(stack)
    drift = DriftMonitor(
        stack,
        "Drift",
        endpoint=endpoint,
        data_capture=capture,
        baseline_key="baselines/fraud.json",
    )
    retrain = sqs.Queue(stack, "Retrain", enforce_ssl=True)
    acknowledge(
        retrain,
        "A stand-in for a retraining pipeline in a test stack: it only proves the event rule.",
        "AwsSolutions-SQS3",
        "AwsSolutions-SQS4",
        "HIPAA.Security-SQSQueueSSLRequestsOnly",
        "NIST.800.53.R5-SQSQueueSSLRequestsOnly",
        "PCI.DSS.321-SQSQueueSSLRequestsOnly",
        "Serverless-SQSRedrivePolicy",
    )
    rule = drift.on_drift("OnDrift", target=targets.SqsQueue(retrain))
    acknowledge(
        rule,
        "The retraining stand-in of a test stack needs no dead-letter queue of its own.",
        "Serverless-EventBusDLQ",
    )
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return {"app": app, "stack": stack, "drift": drift, "template": template}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def policy_of(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    (policy,) = [
        r for k, r in resources(template, "AWS::IAM::ManagedPolicy").items() if k.startswith(prefix)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_snapshot(synthesised: dict[str, Any], snapshot: Any) -> None:
    assert normalise(synthesised["template"]) == snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(synthesised: dict[str, Any], pack: Any) -> None:
    findings = nag_findings(synthesised["app"], pack)
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(synthesised: dict[str, Any], tmp_path: Path) -> None:
    found, stderr = cfn_lint({"drift": synthesised["template"]}, tmp_path)
    assert found == [], stderr


def test_function_permissions_are_scoped(synthesised: dict[str, Any]) -> None:
    statements = policy_of(synthesised["template"], "DriftFunctionPolicy")
    text = json.dumps(statements)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for s in statements:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action.setdefault(action, []).append(s)
    (metrics,) = by_action["cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "SageMakerHosting/DataDrift"}
    }
    (put_events,) = by_action["events:PutEvents"]
    assert "event-bus/default" in json.dumps(put_events["Resource"])
    lists = [json.dumps(s["Condition"]) for s in by_action["s3:ListBucket"]]
    assert sorted(lists) == sorted(
        [
            json.dumps({"StringLike": {"s3:prefix": ["data-capture/fraud/*"]}}),
            json.dumps({"StringLike": {"s3:prefix": ["drift-reports/_runs/*"]}}),
        ]
    )
    (reads,) = by_action["s3:GetObject"]
    assert sorted(r["Fn::Join"][1][1] for r in reads["Resource"]) == [
        "/baselines/fraud.json",
        "/data-capture/fraud/*",
        "/drift-reports/_runs/*",
    ]
    (writes,) = by_action["s3:PutObject"]
    assert writes["Resource"]["Fn::Join"][1][1] == "/drift-reports/*"
    for action in ("s3:*", "s3:DeleteObject", "cloudwatch:*", "events:*", "sagemaker:"):
        assert action not in text


def test_state_machine_permissions_are_scoped(synthesised: dict[str, Any]) -> None:
    statements = policy_of(synthesised["template"], "DriftPolicy")
    text = json.dumps(statements)
    assert "lambda:InvokeFunction" in text and "states:StartExecution" in text
    assert ":execution:DriftMonitorTest-Drift-" in text
    assert "/drift-reports/_runs/*" in text
    assert not resources(synthesised["template"], "AWS::IAM::Policy"), "no inline policy"


def test_schedule_is_hourly_and_passes_the_scheduled_time(synthesised: dict[str, Any]) -> None:
    (rule,) = [
        r
        for r in resources(synthesised["template"], "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    props = rule["Properties"]
    assert props["ScheduleExpression"] == "rate(1 hour)"
    (target,) = props["Targets"]
    assert target["InputTransformer"]["InputPathsMap"] == {"time": "$.time"}
    assert "DeadLetterConfig" in target


def test_distributed_map_reads_the_manifest_in_batches(synthesised: dict[str, Any]) -> None:
    (machine,) = resources(synthesised["template"], "AWS::StepFunctions::StateMachine").values()
    definition = "".join(
        p if isinstance(p, str) else "<ref>"
        for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    )
    assert '"Mode":"DISTRIBUTED"' in definition
    assert '"ItemReader":{"Resource":"arn:<ref>:states:::s3:getObject"' in definition
    assert '"Key.$":"$.plan.manifest.key"' in definition
    assert '"MaxItemsPerBatch":50' in definition and '"MaxConcurrency":10' in definition
    assert '"ResultPath":null' in definition  # nothing big comes back into the state
    assert '"run.$":"$$.Execution.Name"' in definition
    for state in ("Plan", "OneOrMany", "Check", "CountBatches", "Count", "Finish"):
        assert f'"{state}":{{' in definition


def test_logging_and_tracing(synthesised: dict[str, Any]) -> None:
    template = Template.from_json(synthesised["template"])
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True},
            "TracingConfiguration": {"Enabled": True},
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "TracingConfig": {"Mode": "Active"},
            "Handler": "drift.index.handler",
            "MemorySize": 1769,
            "Timeout": 900,
        },
    )
    for group in resources(synthesised["template"], "AWS::Logs::LogGroup").values():
        props = group["Properties"]
        if "Drift" in json.dumps(props.get("KmsKeyId", "")):
            assert props["RetentionInDays"] == 365
    groups = [
        g
        for k, g in resources(synthesised["template"], "AWS::Logs::LogGroup").items()
        if k.startswith("Drift")
    ]
    assert len(groups) == 2 and all("KmsKeyId" in g["Properties"] for g in groups)


def test_alarms_per_variant_and_on_failed_runs(synthesised: dict[str, Any]) -> None:
    alarms = resources(synthesised["template"], "AWS::CloudWatch::Alarm")
    drift = {k: a["Properties"] for k, a in alarms.items() if "DatasetDrift" in k}
    assert sorted(re.sub(r"[0-9A-F]{8}$", "", k) for k in drift) == [
        "DriftBlueDatasetDrift",
        "DriftGreenDatasetDrift",
    ]
    blue = next(p for k, p in drift.items() if k.startswith("DriftBlueDatasetDrift"))
    assert (blue["MetricName"], blue["Namespace"], blue["Statistic"]) == (
        "DatasetDrift",
        "SageMakerHosting/DataDrift",
        "Maximum",
    )
    assert blue["Dimensions"] == [
        {"Name": "EndpointName", "Value": "fraud"},
        {"Name": "VariantName", "Value": "Blue"},
    ]
    assert (blue["Threshold"], blue["Period"], blue["TreatMissingData"]) == (1, 3600, "missing")
    assert all(a["Properties"]["AlarmActions"] for a in alarms.values())
    assert any(k.startswith("DriftFailedAlarm") for k in alarms)
    assert any(k.startswith("DriftDeadLetterAlarm") for k in alarms)


def test_on_drift_rule_matches_this_endpoints_drift_events(synthesised: dict[str, Any]) -> None:
    (rule,) = [
        r
        for k, r in resources(synthesised["template"], "AWS::Events::Rule").items()
        if k.startswith("DriftOnDrift")
    ]
    assert rule["Properties"]["EventPattern"] == {
        "source": [monitor.EVENT_SOURCE],
        "detail-type": [monitor.EVENT_DETAIL_TYPE],
        "detail": {"endpoint": ["fraud"], "verdict": ["drift"]},
    }


def test_function_config_matches_what_the_handler_reads(synthesised: dict[str, Any]) -> None:
    (function,) = resources(synthesised["template"], "AWS::Lambda::Function").values()
    parts = function["Properties"]["Environment"]["Variables"]["DRIFT_CONFIG"]["Fn::Join"][1]
    rendered = "".join(p if isinstance(p, str) else "x" for p in parts)
    config = monitor.Config.from_json(json.loads(rendered))
    assert config.variants == ("Blue", "Green") and config.capture_prefix == "data-capture/"
    assert config.thresholds == Thresholds()


def test_thresholds_defaults_match_the_handlers() -> None:
    assert dataclasses.asdict(DriftThresholds()) == Thresholds().to_json()


def test_scratch_expires(synthesised: dict[str, Any]) -> None:
    template = Template.from_json(synthesised["template"])
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": "drift-reports/_runs/", "ExpirationInDays": 7})]
                )
            }
        },
    )


def test_options_imported_endpoint_cron_and_no_alarm() -> None:
    stack = cdk.Stack(new_app(), "Options")
    bucket = EncryptedBucket(stack, "Capture")
    imported = Endpoint.from_endpoint_name(stack, "Imported", "churn")
    drift = DriftMonitor(
        stack,
        "Drift",
        endpoint=imported,
        variant_names=["AllTraffic"],
        data_capture=DataCapture(destination=bucket, prefix="capture/"),
        baseline_key="statistics.json",
        schedule=events.Schedule.cron(minute="30", hour="2"),
        window=Duration.days(1),
        thresholds=DriftThresholds(categorical_metric="linf", min_records=50),
        alarm=False,
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "cron(30 2 * * ? *)"}
    )
    assert drift.alarms == {}
    messages = [
        str(entry.data)
        for node in drift.node.find_all()
        for entry in node.node.metadata
        if entry.type == "aws:cdk:warning"
    ]
    assert any("alarm=False" in m for m in messages)


def bad(**props: Any) -> None:
    stack = cdk.Stack(new_app(), "Bad")
    endpoint, capture = endpoint_with_capture(stack)
    base: dict[str, Any] = {
        "endpoint": endpoint,
        "data_capture": capture,
        "baseline_key": "baselines/fraud.json",
    }
    DriftMonitor(stack, "Drift", **{**base, **props})


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    (
        "window too short",
        {"window": Duration.minutes(1)},
        "window='60 s' is invalid: must be whole minutes, from 5 minutes to 1 day",
    ),
    ("window not whole minutes", {"window": Duration.seconds(330)}, "window='330 s' is invalid"),
    (
        "delay too long",
        {"capture_delay": Duration.hours(2)},
        "capture_delay=7200 is invalid: must be between 0 and 3600 s",
    ),
    (
        "psi threshold",
        {"thresholds": DriftThresholds(psi=0)},
        "thresholds.psi=0 is invalid: must be a positive number",
    ),
    (
        "dataset share",
        {"thresholds": DriftThresholds(dataset_share=1.5)},
        "thresholds.dataset_share=1.5 is invalid: must be above 0 and at most 1",
    ),
    (
        "metric",
        {"thresholds": DriftThresholds(categorical_metric="chi2")},
        "thresholds.categorical_metric='chi2' is invalid: one of jensen_shannon, linf",
    ),
    (
        "min records",
        {"thresholds": DriftThresholds(min_records=0)},
        "thresholds.min_records=0 is invalid",
    ),
    (
        "batch",
        {"objects_per_batch": 0},
        "objects_per_batch=0 is invalid: must be between 1 and 1000",
    ),
    ("concurrency", {"max_concurrency": 5000}, "max_concurrency=5000 is invalid"),
    (
        "memory",
        {"memory_size_mb": 64},
        "memory_size_mb=64 is invalid: must be between 128 and 10240 MB",
    ),
    (
        "timeout",
        {"timeout": Duration.minutes(20)},
        "timeout=1200 is invalid: must be between 60 and 900 s",
    ),
    (
        "namespace",
        {"metric_namespace": "AWS/SageMaker"},
        "metric_namespace='AWS/SageMaker' is invalid: 1-255 letters",
    ),
    (
        "report prefix",
        {"report_prefix": "reports"},
        "report_prefix='reports' is invalid: must be an S3 key prefix",
    ),
    (
        "overlap",
        {"report_prefix": "data-capture/reports/"},
        "report_prefix='data-capture/reports/' is invalid: must not overlap the capture prefix",
    ),
    ("baseline key", {"baseline_key": "/abs.json"}, "baseline_key='/abs.json' is invalid"),
    (
        "schedule",
        {"schedule": events.Schedule.expression("rate(1 hours)")},
        "schedule='rate(1 hours)' is invalid",
    ),
    (
        "variant",
        {"variant_names": ["no_underscores"]},
        "variant_names[0]='no_underscores' is invalid",
    ),
]


@pytest.mark.parametrize(
    ("props", "message"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"Bad/Drift: {message}")):
        bad(**props)


def test_capture_without_input_is_refused() -> None:
    stack = cdk.Stack(new_app(), "NoInput")
    bucket = EncryptedBucket(stack, "Capture")
    imported = Endpoint.from_endpoint_name(stack, "Imported", "churn")
    with pytest.raises(
        ValidationError, match=re.escape("data_capture.capture_input=False is invalid")
    ):
        DriftMonitor(
            stack,
            "Drift",
            endpoint=imported,
            variant_names=["AllTraffic"],
            data_capture=DataCapture(destination=bucket, capture_input=False),
            baseline_key="b.json",
        )
    with pytest.raises(
        ValidationError, match=re.escape("variant_names=[] is invalid: name the variants")
    ):
        DriftMonitor(
            stack,
            "Nameless",
            endpoint=imported,
            data_capture=DataCapture(destination=bucket),
            baseline_key="b.json",
        )
