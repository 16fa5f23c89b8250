"""ModelQualityMonitor: snapshot, least privilege, schedule, alarms, the Maps, gates, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import (
    ContainerImage,
    DataCapture,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ModelQualityMonitor,
    QualityBaseline,
    QualityThreshold,
    ValidationError,
    VariantAttributes,
)
from cdk_sagemaker_hosting._lambda.quality import monitor
from cdk_sagemaker_hosting._lambda.quality.report import Constraint
from cdk_sagemaker_hosting.compliance import acknowledge

from tests.conftest import new_app
from tests.drift.test_construct import definition_of, literal_paths, select
from tests.gates import PACKS, cfn_lint, nag_findings
from tests.snapshots import construct_snapshot, json_snapshot

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
KEY_ARN = "arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555"
CONSTRAINTS = {
    "version": 0.0,
    "binary_classification_constraints": {
        "accuracy": {"threshold": 0.85, "comparison_operator": "LessThanThreshold"},
        "auc": {"threshold": 0.8, "comparison_operator": "LessThanThreshold"},
    },
}


def single_region(bucket: EncryptedBucket) -> None:
    """Test buckets have no replication destination."""
    for target in (bucket.bucket, bucket.access_logs_bucket):
        acknowledge(
            target,
            "Test data of the model-quality tests stays in one Region; replication has no "
            "destination in a single-Region test deployment.",
            "HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
        )


def ab_endpoint(stack: cdk.Stack) -> tuple[Endpoint, EncryptedBucket]:
    """An A/B endpoint capturing its traffic, and the bucket its labels go to."""
    capture = EncryptedBucket(stack, "Capture")
    truth = EncryptedBucket(stack, "Labels")
    single_region(capture)
    single_region(truth)
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        endpoint_name="fraud",
        variants=[
            InstanceVariant(model=model, variant_name="Champion"),
            InstanceVariant(model=model, variant_name="Challenger"),
        ],
        data_capture=DataCapture(destination=capture),
    )
    return endpoint, truth


@pytest.fixture(scope="module")
def constraints_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("baseline") / "constraints.json"
    path.write_text(json.dumps(CONSTRAINTS))
    return str(path)


@pytest.fixture(scope="module")
def synthesised(constraints_file: str) -> dict[str, Any]:
    app = new_app()
    stack = cdk.Stack(app, "QualityTest")
    endpoint, truth = ab_endpoint(stack)
    quality = ModelQualityMonitor(
        stack,
        "Quality",
        endpoint=endpoint,
        problem_type="binary",
        ground_truth_bucket=truth,
        ground_truth_prefix="ground-truth/fraud/",
        baseline=QualityBaseline.from_constraints_file(constraints_file),
        thresholds={"f1": QualityThreshold(absolute=0.6)},
        reference_variant="Champion",
        window=Duration.minutes(15),
        label_delay=Duration.hours(2),
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
    rule = quality.on_degraded("OnDegraded", target=targets.SqsQueue(retrain))
    acknowledge(
        rule,
        "The retraining stand-in of a test stack needs no dead-letter queue of its own.",
        "Serverless-EventBusDLQ",
    )
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return {"app": app, "stack": stack, "quality": quality, "template": template}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def statements_of(stack: cdk.Stack, prefix: str) -> list[dict[str, Any]]:
    template = Template.from_stack(stack).to_json()
    (policy,) = [
        r for k, r in resources(template, "AWS::IAM::ManagedPolicy").items() if k.startswith(prefix)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def by_action(statements: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for s in statements:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            found.setdefault(action, []).append(s)
    return found


def annotations(construct: Any, level: str) -> list[str]:
    return [
        str(entry.data)
        for node in construct.node.find_all()
        for entry in node.node.metadata
        if entry.type == f"aws:cdk:{level}"
    ]


def test_snapshot(synthesised: dict[str, Any], snapshot: Any) -> None:
    """The one full snapshot of ModelQualityMonitor (rule: ``tests/snapshots.py``).

    The endpoint, model and buckets it watches are stubs here; the retraining
    queue its rule targets is in full.
    """
    stack, quality = synthesised["stack"], synthesised["quality"]
    template = construct_snapshot(stack, synthesised["template"], [quality])
    assert template == json_snapshot(snapshot)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(synthesised: dict[str, Any], pack: Any) -> None:
    findings = nag_findings(synthesised["app"], pack)
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(synthesised: dict[str, Any], tmp_path: Path) -> None:
    found, stderr = cfn_lint({"quality": synthesised["template"]}, tmp_path)
    assert found == [], stderr


def test_function_permissions_are_scoped_to_exact_prefixes(synthesised: dict[str, Any]) -> None:
    statements = statements_of(synthesised["stack"], "QualityFunctionPolicy")
    actions = by_action(statements)
    (metrics,) = actions["cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "SageMakerHosting/ModelQuality"}
    }
    (put_events,) = actions["events:PutEvents"]
    assert "event-bus/default" in json.dumps(put_events["Resource"])
    lists = sorted(json.dumps(s["Condition"]) for s in actions["s3:ListBucket"])
    assert lists == sorted(
        json.dumps({"StringLike": {"s3:prefix": [p]}})
        for p in ("data-capture/fraud/*", "ground-truth/fraud/*", "quality-reports/_runs/fraud/*")
    )
    reads = sorted(
        r["Fn::Join"][1][1] for s in actions["s3:GetObject"] for r in _listed(s["Resource"])
    )
    assert reads == [
        "/data-capture/fraud/*",
        "/ground-truth/fraud/*",
        "/quality-reports/_runs/fraud/*",
    ]
    # Its endpoint's reports and its own scratch: not every report under the prefix.
    writes = sorted(
        r["Fn::Join"][1][1] for s in actions["s3:PutObject"] for r in _listed(s["Resource"])
    )
    assert writes == ["/quality-reports/_runs/fraud/*", "/quality-reports/fraud/*"]
    for s in actions["kms:Decrypt"]:
        assert "kms:ViaService" in s["Condition"]["StringEquals"]
    text = json.dumps(statements)
    for action in ("s3:*", "s3:DeleteObject", "cloudwatch:*", "events:*", "sagemaker:"):
        assert action not in text


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_state_machine_permissions_and_no_inline_policy(synthesised: dict[str, Any]) -> None:
    statements = statements_of(synthesised["stack"], "QualityPolicy")
    text = json.dumps(statements)
    assert "lambda:InvokeFunction" in text and "states:StartExecution" in text
    assert ":execution:QualityTest-Quality-" in text
    assert "/quality-reports/_runs/fraud/*" in text
    assert not resources(synthesised["template"], "AWS::IAM::Policy"), "no inline policy"


def test_roles_carry_confused_deputy_conditions(synthesised: dict[str, Any]) -> None:
    roles = resources(synthesised["template"], "AWS::IAM::Role")
    for key, role in roles.items():
        if not key.startswith("Quality"):
            continue
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        service = statement["Principal"]["Service"]
        if service != "lambda.amazonaws.com":
            assert "aws:SourceAccount" in json.dumps(statement["Condition"]), key


def test_schedule_follows_the_window_even_under_an_hour(synthesised: dict[str, Any]) -> None:
    (rule,) = [
        r
        for r in resources(synthesised["template"], "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert rule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert target["InputTransformer"]["InputPathsMap"] == {"time": "$.time"}
    assert "DeadLetterConfig" in target


def test_the_fan_out_splits_by_batch_then_joins_one_shard_per_child(
    synthesised: dict[str, Any],
) -> None:
    states = definition_of(synthesised["template"])["States"]
    assert set(states) == {"Plan", "OneOrMany", "Check", "Split", "Join", "Finish"}
    assert literal_paths(definition_of(synthesised["template"])) == []
    split, join = states["Split"], states["Join"]
    assert split["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert split["ItemReader"]["Parameters"]["Key.$"] == "$.plan.manifest.key"
    assert split["ItemBatcher"] == {"MaxItemsPerBatch": 50}
    assert (split["Next"], join["Next"]) == ("Join", "Finish")
    assert join["ItemsPath"] == "$.plan.partitions"
    assert join["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    # The handler's input, as Step Functions builds it from the selectors.
    plan = {"mode": "map", "run": "exec-7", "partition_count": 3, "partitions": [0, 1, 2]}
    item = {"kind": "capture", "variant": "Champion", "key": "k", "size": 1}
    selected = select(split["ItemSelector"], {"plan": plan}, {"Map": {"Item": {"Value": item}}})
    event = select(
        split["ItemProcessor"]["States"]["SplitBatch"]["Parameters"], {"Items": [selected]}, {}
    )
    assert event == {"action": "split", "items": [{"run": "exec-7", "partitions": 3, "item": item}]}
    child = select(join["ItemSelector"], {"plan": plan}, {"Map": {"Item": {"Value": 2}}})
    event = select(join["ItemProcessor"]["States"]["JoinShard"]["Parameters"], child, {})
    assert event == {"action": "join", "run": "exec-7", "partition": 2}


def test_logging_tracing_and_encryption(synthesised: dict[str, Any]) -> None:
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
        {"TracingConfig": {"Mode": "Active"}, "Handler": "quality.index.handler"},
    )
    groups = [
        g
        for k, g in resources(synthesised["template"], "AWS::Logs::LogGroup").items()
        if k.startswith("Quality")
    ]
    assert len(groups) == 2 and all("KmsKeyId" in g["Properties"] for g in groups)
    template.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})


def test_an_alarm_per_variant_on_degraded(synthesised: dict[str, Any]) -> None:
    quality = synthesised["quality"]
    assert set(quality.alarms) == {"Champion", "Challenger"}
    alarms = {
        k: a
        for k, a in resources(synthesised["template"], "AWS::CloudWatch::Alarm").items()
        if "Degraded" in k
    }
    assert len(alarms) == 2
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["MetricName"] == "Degraded"
        assert props["Namespace"] == "SageMakerHosting/ModelQuality"
        assert props["Period"] == 900 and props["EvaluationPeriods"] == 2
        assert props["TreatMissingData"] == "missing"
        assert len(props["AlarmActions"]) == 1


def test_on_degraded_rule_matches_this_endpoints_degraded_events(
    synthesised: dict[str, Any],
) -> None:
    (rule,) = [
        r
        for k, r in resources(synthesised["template"], "AWS::Events::Rule").items()
        if k.startswith("QualityOnDegraded")
    ]
    assert rule["Properties"]["EventPattern"] == {
        "source": [monitor.EVENT_SOURCE],
        "detail-type": [monitor.EVENT_DETAIL_TYPE],
        "detail": {"endpoint": ["fraud"], "verdict": ["degraded"]},
    }


def test_the_function_reads_the_configuration_the_construct_checked(
    synthesised: dict[str, Any],
) -> None:
    (function,) = resources(synthesised["template"], "AWS::Lambda::Function").values()
    parts = function["Properties"]["Environment"]["Variables"]["QUALITY_CONFIG"]["Fn::Join"][1]
    rendered = "".join(p if isinstance(p, str) else "x" for p in parts)
    config = monitor.Config.from_json(json.loads(rendered))
    assert config.variants == ("Champion", "Challenger")
    assert config.constraints == (
        Constraint("accuracy", 0.85, "LessThanThreshold"),
        Constraint("roc_auc", 0.8, "LessThanThreshold"),
    )
    assert config.thresholds == {"f1": QualityThreshold(absolute=0.6)}
    assert (config.window_seconds, config.label_delay_seconds) == (900, 7200)
    assert config.reference_variant == "Champion"


def test_scratch_expires_on_this_stacks_bucket(synthesised: dict[str, Any]) -> None:
    Template.from_json(synthesised["template"]).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {"Prefix": "quality-reports/_runs/fraud/", "ExpirationInDays": 7}
                        )
                    ]
                )
            }
        },
    )
    (info,) = [m for m in annotations(synthesised["quality"], "info") if "lifecycle" in m]
    assert "quality-reports/_runs/fraud/" in info


def test_known_keys_give_no_key_warning(synthesised: dict[str, Any]) -> None:
    assert not [m for m in annotations(synthesised["quality"], "warning") if "KeyUnknown" in m]


def test_a_constraint_the_check_cannot_evaluate_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "binary_classification_constraints": {
                    "accuracy": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"},
                    "true_positive_rate": {
                        "threshold": 0.9,
                        "comparison_operator": "LessThanThreshold",
                    },
                },
                "regression_constraints": {
                    "mae": {"threshold": 3, "comparison_operator": "GreaterThanThreshold"}
                },
            }
        )
    )
    stack = cdk.Stack(new_app(), "Unchecked")
    endpoint, truth = ab_endpoint(stack)
    quality = ModelQualityMonitor(
        stack,
        "Quality",
        endpoint=endpoint,
        problem_type="binary",
        ground_truth_bucket=truth,
        ground_truth_prefix="labels/",
        baseline=QualityBaseline.from_constraints_file(str(path)),
    )
    (warning,) = [m for m in annotations(quality, "warning") if "NotChecked" in m]
    assert "binary_classification_constraints.true_positive_rate" in warning
    assert "regression_constraints.*" in warning


# --- imported endpoints, other stacks, other stages ----------------------------------


@pytest.fixture(scope="module")
def imported() -> dict[str, Any]:
    """An endpoint imported by name, its capture and labels in imported buckets."""
    app = new_app()
    stack = cdk.Stack(app, "Imports")
    capture = s3.Bucket.from_bucket_attributes(
        stack,
        "CaptureBucket",
        bucket_name="team-capture",
        encryption_key=kms.Key.from_key_arn(stack, "CaptureKey", KEY_ARN),
    )
    labels = s3.Bucket.from_bucket_name(stack, "LabelBucket", "team-labels")
    baseline = s3.Bucket.from_bucket_name(stack, "BaselineBucket", "team-baselines")
    endpoint = Endpoint.from_endpoint_name(stack, "Endpoint", "churn")
    quality = ModelQualityMonitor(
        stack,
        "Quality",
        endpoint=endpoint,
        variant_names=["AllTraffic"],
        capture_bucket=capture,
        capture_prefix="capture/",
        problem_type="regression",
        ground_truth_bucket=labels,
        ground_truth_prefix="labels/churn/",
        baseline=QualityBaseline.from_constraints_object(baseline, "churn/constraints.json"),
        report_bucket=labels,
        report_prefix="quality/",
        schedule=events.Schedule.cron(minute="10", hour="*"),
        alarm=False,
    )
    return {"app": app, "stack": stack, "quality": quality}


def test_an_imported_endpoint_is_read_through_the_buckets_given(imported: dict[str, Any]) -> None:
    config = imported["quality"].config
    assert (config.capture_bucket, config.ground_truth_bucket, config.report_bucket) == (
        "team-capture",
        "team-labels",
        "team-labels",
    )
    assert (config.constraints_bucket, config.constraints_key) == (
        "team-baselines",
        "churn/constraints.json",
    )
    actions = by_action(statements_of(imported["stack"], "QualityFunctionPolicy"))
    reads = json.dumps([s["Resource"] for s in actions["s3:GetObject"]])
    for where in (
        "team-capture/capture/churn/*",
        "team-labels/labels/churn/*",
        "team-baselines/churn/constraints.json",
        "team-labels/quality/_runs/churn/*",
    ):
        assert where in reads
    (decrypt,) = actions["kms:Decrypt"]
    assert decrypt["Resource"] == KEY_ARN


def test_imported_buckets_are_left_alone_with_warnings(imported: dict[str, Any]) -> None:
    quality = imported["quality"]
    warnings = annotations(quality, "warning")
    (scratch,) = [m for m in warnings if "QualityScratchNotExpired" in m]
    assert "Imports/LabelBucket is imported" in scratch and "quality/_runs/" in scratch
    (keys,) = [m for m in warnings if "QualityBucketKeyUnknown" in m]
    assert "Imports/LabelBucket (pass ground_truth_encryption_key=)" in keys
    assert "Imports/BaselineBucket (pass baseline.encryption_key=)" in keys
    assert [m for m in warnings if "NoQualityAlarm" in m]
    assert quality.alarms == {}
    assert Template.from_stack(imported["stack"]).find_resources("AWS::S3::Bucket") == {}


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_imports_pass_cdk_nag(imported: dict[str, Any], pack: Any) -> None:
    findings = nag_findings(imported["app"], pack)
    assert findings == [], "\n".join(findings)


class Scoring(cdk.Stage):
    """A hosting stack and an ops stack watching it, in one stage of its own account."""

    def __init__(self, scope: Any, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.hosting = cdk.Stack(self, "Hosting")
        endpoint, truth = ab_endpoint(self.hosting)
        self.ops = cdk.Stack(self, "Ops")
        self.quality = ModelQualityMonitor(
            self.ops,
            "Quality",
            endpoint=endpoint,
            problem_type="multiclass",
            ground_truth_bucket=truth,
            ground_truth_prefix="labels/",
            thresholds={"macro_f1": QualityThreshold(absolute=0.7)},
        )


@pytest.fixture(scope="module")
def stages() -> dict[str, Any]:
    app = new_app()
    found = {
        name: Scoring(app, name, env=cdk.Environment(account=account, region="us-east-1"))
        for name, account in (("Staging", "111111111111"), ("Production", "222222222222"))
    }
    app.synth()
    return {"app": app, "stages": found}


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_a_monitor_in_another_stack_and_stage_passes_cdk_nag(
    stages: dict[str, Any], pack: Any
) -> None:
    findings = [f for stage in stages["stages"].values() for f in nag_findings(stage, pack)]
    assert findings == [], "\n".join(findings)


def test_a_monitor_in_another_stack_and_stage_passes_cfn_lint(
    stages: dict[str, Any], tmp_path: Path
) -> None:
    templates = {}
    for name, stage in stages["stages"].items():
        assembly = stage.synth()
        for stack in (stage.hosting, stage.ops):
            templates[f"{name}-{stack.stack_name}"] = assembly.get_stack_by_name(
                stack.stack_name
            ).template
    found, stderr = cfn_lint(templates, tmp_path)
    assert found == [], stderr


def test_a_monitor_in_another_stack_reads_through_exports_and_changes_nothing_there(
    stages: dict[str, Any],
) -> None:
    stage = stages["stages"]["Staging"]
    reads = [
        s
        for s in statements_of(stage.ops, "QualityFunctionPolicy")
        if s["Action"] == "s3:GetObject"
    ]
    assert all("Fn::ImportValue" in json.dumps(s["Resource"]) for s in reads)
    hosting = Template.from_stack(stage.hosting).to_json()
    prefixes = [
        rule.get("Prefix")
        for bucket in resources(hosting, "AWS::S3::Bucket").values()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    ]
    assert not [p for p in prefixes if "quality-reports/_runs/" in json.dumps(p)]
    (warning,) = [m for m in annotations(stage.quality, "warning") if "ScratchNotExpired" in m]
    assert "is in another stack" in warning


# --- bad input ------------------------------------------------------------------------


def build(props: dict[str, Any], stack_name: str = "Bad") -> ModelQualityMonitor:
    stack = cdk.Stack(new_app(), stack_name)
    endpoint, truth = ab_endpoint(stack)
    base: dict[str, Any] = {
        "endpoint": endpoint,
        "problem_type": "binary",
        "ground_truth_bucket": truth,
        "ground_truth_prefix": "labels/",
        "thresholds": {"accuracy": QualityThreshold(absolute=0.8)},
    }
    return ModelQualityMonitor(stack, "Quality", **{**base, **props})


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    (
        "problem type",
        {"problem_type": "ranking"},
        "problem_type='ranking' is invalid: must be one of binary, multiclass, regression",
    ),
    (
        "join key",
        {"join_on": "requestId"},
        "join_on='requestId' is invalid: must be one of auto, eventId, inferenceId",
    ),
    (
        "window under a minute",
        {"window": Duration.seconds(30)},
        "window='30 s' is invalid: must be whole minutes, from 1 minute to 1 day",
    ),
    ("window over a day", {"window": Duration.days(2)}, "window='172800 s' is invalid"),
    (
        "label delay over a week",
        {"label_delay": Duration.days(8)},
        "label_delay='691200 s' is invalid: must be a whole number from 0 to 604800 s",
    ),
    (
        "capture delay",
        {"capture_delay": Duration.hours(2)},
        "capture_delay='7200 s' is invalid: must be a whole number from 0 to 3600 s",
    ),
    (
        "threshold",
        {"threshold": 1.5},
        "threshold=1.5 is invalid: must be a score from 0 to 1 (binary)",
    ),
    ("bins", {"bins": 0}, "bins=0 is invalid: must be a whole number from 1 to 100000"),
    (
        "a score threshold for a regression",
        {"problem_type": "regression", "threshold": 0.7, "thresholds": None},
        "threshold=0.7 is invalid: applies to binary problems only (scores); a regression "
        "check would ignore it",
    ),
    (
        "min records",
        {"min_records": 0},
        "min_records=0 is invalid: must be a whole number from 1 to 1000000000",
    ),
    (
        "prediction column",
        {"prediction_column": -1},
        "prediction_column=-1 is invalid: must be a whole number from 0 to 10000",
    ),
    (
        "empty attribute",
        {"label_attribute": " "},
        "label_attribute=' ' is invalid: must be a dotted path",
    ),
    (
        "ground truth prefix without slash",
        {"ground_truth_prefix": "labels"},
        "ground_truth_prefix='labels' is invalid: must be an S3 key prefix of 1-512 characters "
        "ending with '/'",
    ),
    (
        "ground truth prefix a URL",
        {"ground_truth_prefix": "s3://labels/"},
        "ground_truth_prefix='s3://labels/' is invalid: must be a key prefix within the bucket",
    ),
    (
        "reports among the captured traffic",
        {"report_prefix": "data-capture/reports/"},
        "report_prefix='data-capture/reports/' is invalid: must not overlap the capture prefix "
        "'data-capture/' in the same bucket",
    ),
    (
        "metric of another problem",
        {"thresholds": {"rmse": QualityThreshold(absolute=3)}},
        "thresholds.rmse='rmse' is invalid: must name a binary metric: accuracy, precision",
    ),
    (
        "threshold with neither bound",
        {"thresholds": {"accuracy": QualityThreshold()}},
        "thresholds.accuracy.absolute=None is invalid: give absolute, relative or both",
    ),
    (
        "relative threshold without a baseline value",
        {"thresholds": {"accuracy": QualityThreshold(relative=0.05)}},
        "thresholds.accuracy.relative=0.05 is invalid: is relative to the baseline value of "
        "accuracy, which the baseline metrics do not give",
    ),
    (
        "relative threshold of zero",
        {
            "thresholds": {"accuracy": QualityThreshold(relative=0)},
            "baseline": QualityBaseline.from_metrics({"accuracy": 0.9}),
        },
        "thresholds.accuracy.relative=0 is invalid: must be a share of the baseline value",
    ),
    (
        "a baseline metric nothing uses",
        {
            "thresholds": {"accuracy": QualityThreshold(relative=0.05)},
            "baseline": QualityBaseline.from_metrics({"accuracy": 0.9, "f1": 0.8}),
        },
        "baseline.f1=0.8 is invalid: no relative threshold uses it",
    ),
    (
        "nothing to judge by",
        {"thresholds": None},
        "baseline=[] is invalid: nothing to judge a window by: give a baseline",
    ),
    (
        "reference variant",
        {"reference_variant": "Blue"},
        "reference_variant='Blue' is invalid: must be one of the variants checked: Champion, "
        "Challenger",
    ),
    (
        "variant of another endpoint",
        {"variant_names": ["Champion", "Blue"]},
        "variant_names[1]='Blue' is invalid: must be a variant of Bad/Endpoint: Champion, "
        "Challenger",
    ),
    (
        "a variant twice",
        {"variant_names": ["Champion", "Champion"]},
        "variant_names[1]='Champion' is invalid: names a variant twice",
    ),
    (
        "namespace",
        {"metric_namespace": "AWS/SageMaker"},
        "metric_namespace='AWS/SageMaker' is invalid: 1-255 letters",
    ),
    (
        "max objects",
        {"max_objects_per_invocation": 0},
        "max_objects_per_invocation=0 is invalid: must be a whole number from 1 to 100000",
    ),
    (
        "partition size",
        {"partition_size_mb": 20_000},
        "partition_size_mb=20000 is invalid: must be a whole number from 1 to 10240 MB",
    ),
    ("batch", {"objects_per_batch": 0}, "objects_per_batch=0 is invalid"),
    ("concurrency", {"max_concurrency": 1.5}, "max_concurrency=1.5 is invalid"),
    ("memory", {"memory_size_mb": 64}, "memory_size_mb=64 is invalid"),
    ("timeout", {"timeout": Duration.minutes(20)}, "timeout=1200 is invalid"),
    ("alarm", {"alarm": "yes"}, "alarm='yes' is invalid: must be True or False"),
    (
        "schedule",
        {"schedule": events.Schedule.expression("rate(1 minutes)")},
        "schedule='rate(1 minutes)' is invalid: a rate is a positive whole number",
    ),
    (
        "scratch expiration",
        {"scratch_expiration": Duration.hours(12)},
        "scratch_expiration='0.5 days' is invalid: must be whole days",
    ),
    ("window type", {"window": 3600}, "window=3600 is invalid: must be a Duration, not int"),
    (
        "baseline type",
        {"baseline": "constraints.json"},
        "baseline='constraints.json' is invalid: must be a QualityBaseline",
    ),
    (
        "thresholds type",
        {"thresholds": [QualityThreshold(absolute=1)]},
        "thresholds=",
    ),
    (
        "a threshold that is not a QualityThreshold",
        {"thresholds": {"accuracy": 0.8}},
        "thresholds.accuracy=0.8 is invalid: must be a MetricThreshold",
    ),
    (
        "unreadable constraints file",
        {"baseline": QualityBaseline.from_constraints_file("/no/such/constraints.json")},
        "baseline='/no/such/constraints.json' is invalid: must be a readable Model Monitor "
        "model-quality constraints file",
    ),
    (
        "a baseline made by hand with two sources",
        {"baseline": QualityBaseline(path="c.json", metrics={"accuracy": 0.9})},
        "baseline=['path', 'metrics'] is invalid: make it with one of",
    ),
    (
        "a capture bucket other than the endpoint's",
        {"capture_prefix": "elsewhere/"},
        "capture_prefix='elsewhere/' is invalid: Bad/Endpoint captures its traffic elsewhere",
    ),
    (
        "a capture key beside the endpoint's own capture",
        {"capture_encryption_key": "KEY"},
        "capture_encryption_key",
    ),
    (
        "a key for the capture bucket itself",
        {"report_encryption_key": "KEY"},
        "report_encryption_key",
    ),
    ("endpoint type", {"endpoint": "fraud"}, "endpoint='fraud' is invalid: must be an"),
]


@pytest.mark.parametrize(
    ("props", "message"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input(props: dict[str, Any], message: str) -> None:
    keyed = [prop for prop, value in props.items() if value == "KEY"]
    if keyed:
        stack = cdk.Stack(new_app(), "Bad")
        props = {keyed[0]: kms.Key.from_key_arn(stack, "K", KEY_ARN)}
        with pytest.raises(ValidationError, match=keyed[0]) as error:
            build_in(stack, props)
        assert "Bad/Quality" in str(error.value)
        return
    with pytest.raises(ValidationError) as error:
        build(props)
    assert message in str(error.value)
    assert "Bad/Quality" in str(error.value)


def build_in(stack: cdk.Stack, props: dict[str, Any]) -> ModelQualityMonitor:
    endpoint, truth = ab_endpoint(stack)
    return ModelQualityMonitor(
        stack,
        "Quality",
        endpoint=endpoint,
        problem_type="binary",
        ground_truth_bucket=truth,
        ground_truth_prefix="labels/",
        thresholds={"accuracy": QualityThreshold(absolute=0.8)},
        **props,
    )


def test_an_endpoint_that_captures_no_output_is_refused() -> None:
    stack = cdk.Stack(new_app(), "NoOutput")
    truth = EncryptedBucket(stack, "Labels")
    endpoint = Endpoint.from_endpoint_attributes(
        stack,
        "Endpoint",
        endpoint_name="churn",
        variants=[VariantAttributes(variant_name="AllTraffic", instance_type="ml.m5.large")],
        data_capture=DataCapture(destination=EncryptedBucket(stack, "C"), capture_output=False),
    )
    with pytest.raises(ValidationError, match=r"capture_output=False\), so no prediction"):
        ModelQualityMonitor(
            stack,
            "Quality",
            endpoint=endpoint,
            problem_type="binary",
            ground_truth_bucket=truth,
            ground_truth_prefix="labels/",
            thresholds={"accuracy": QualityThreshold(absolute=0.8)},
        )


def test_an_endpoint_without_known_capture_or_variants_is_refused_with_the_fix() -> None:
    stack = cdk.Stack(new_app(), "Unknown")
    truth = EncryptedBucket(stack, "Labels")
    endpoint = Endpoint.from_endpoint_name(stack, "Endpoint", "churn")
    base: dict[str, Any] = {
        "endpoint": endpoint,
        "problem_type": "binary",
        "ground_truth_bucket": truth,
        "ground_truth_prefix": "labels/",
        "thresholds": {"accuracy": QualityThreshold(absolute=0.8)},
    }
    with pytest.raises(ValidationError, match="variant_names=None is invalid: name the variants"):
        ModelQualityMonitor(stack, "NoVariants", **base)
    with pytest.raises(ValidationError, match="pass capture_bucket="):
        ModelQualityMonitor(stack, "NoCapture", variant_names=["AllTraffic"], **base)


def test_a_schedule_slower_than_the_window_is_a_warning() -> None:
    quality = build({"schedule": events.Schedule.rate(Duration.hours(2))}, "Slow")
    (warning,) = [m for m in annotations(quality, "warning") if "WindowsSkipped" in m]
    assert "rate(2 hours)" in warning and "never judged" in warning


@jsii.implements(sagemaker.IEndpoint)
class ForeignEndpoint(cdk.Resource):
    """An endpoint construct of another library: only ``aws_sagemaker.IEndpoint``."""

    def __init__(self, scope: Any, construct_id: str, name: str) -> None:
        super().__init__(scope, construct_id)
        self._name = name

    @property
    def endpoint_name(self) -> str:
        return self._name

    @property
    def endpoint_arn(self) -> str:
        return cdk.Stack.of(self).format_arn(
            service="sagemaker", resource="endpoint", resource_name=self._name.lower()
        )

    @property
    def endpoint_ref(self) -> Any:
        return None

    def grant_invoke(self, grantee: Any) -> Any:
        return None


def test_any_iendpoint_is_monitored_through_the_capture_it_is_given() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Foreign")
    capture = EncryptedBucket(stack, "Capture")
    single_region(capture)
    quality = ModelQualityMonitor(
        stack,
        "Quality",
        endpoint=ForeignEndpoint(stack, "Endpoint", "Scoring"),
        variant_names=["AllTraffic"],
        capture_bucket=capture,
        capture_prefix="captured/",
        problem_type="regression",
        ground_truth_bucket=capture,
        ground_truth_prefix="labels/",
        thresholds={"rmse": QualityThreshold(absolute=25)},
    )
    config = quality.config
    assert (config.endpoint, config.variants, config.capture_prefix) == (
        "Scoring",
        ("AllTraffic",),
        "captured/",
    )
    lists = [
        s["Condition"]["StringLike"]["s3:prefix"]
        for s in statements_of(stack, "QualityFunctionPolicy")
        if s["Action"] == "s3:ListBucket"
    ]
    assert ["captured/Scoring/*"] in lists and ["labels/*"] in lists
    app.synth()
    for pack in PACKS:
        assert nag_findings(app, pack) == []
