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
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
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
    VariantAttributes,
)
from cdk_sagemaker_hosting._lambda.drift import monitor
from cdk_sagemaker_hosting._lambda.drift.report import Thresholds
from cdk_sagemaker_hosting.compliance import acknowledge

from tests.conftest import new_app
from tests.gates import PACKS, cfn_lint, nag_findings
from tests.snapshots import construct_snapshot, json_snapshot

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
    """The one full snapshot of DriftMonitor (rule: ``tests/snapshots.py``).

    The capture bucket, model and endpoint it watches are stubs here (held in
    full by the stack snapshots; the lifecycle rule it adds to its report
    bucket shows in ``prod-hosting``'s); the retraining queue its rule targets
    is in full. The reference app's ``prod-hosting`` stubs its ``DriftMonitor``
    and points here.
    """
    stack, drift = synthesised["stack"], synthesised["drift"]
    template = construct_snapshot(stack, synthesised["template"], [drift])
    assert template == json_snapshot(snapshot)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(synthesised: dict[str, Any], pack: Any) -> None:
    findings = nag_findings(synthesised["app"], pack)
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(synthesised: dict[str, Any], tmp_path: Path) -> None:
    found, stderr = cfn_lint({"drift": synthesised["template"]}, tmp_path)
    assert found == [], stderr


def _listed(statement: dict[str, Any]) -> list[Any]:
    found = statement["Resource"]
    return found if isinstance(found, list) else [found]


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
            json.dumps({"StringLike": {"s3:prefix": ["drift-reports/_runs/fraud/*"]}}),
        ]
    )
    (reads,) = by_action["s3:GetObject"]
    assert sorted(r["Fn::Join"][1][1] for r in reads["Resource"]) == [
        "/baselines/fraud.json",
        "/data-capture/fraud/*",
        "/drift-reports/_runs/fraud/*",
    ]
    # Its endpoint's reports and its own scratch: not every report under the prefix.
    writes = sorted(r["Fn::Join"][1][1] for s in by_action["s3:PutObject"] for r in _listed(s))
    assert writes == ["/drift-reports/_runs/fraud/*", "/drift-reports/fraud/*"]
    for action in ("s3:*", "s3:DeleteObject", "cloudwatch:*", "events:*", "sagemaker:"):
        assert action not in text


def test_state_machine_permissions_are_scoped(synthesised: dict[str, Any]) -> None:
    statements = policy_of(synthesised["template"], "DriftPolicy")
    text = json.dumps(statements)
    assert "lambda:InvokeFunction" in text and "states:StartExecution" in text
    assert ":execution:DriftMonitorTest-Drift-" in text
    assert "/drift-reports/_runs/fraud/*" in text
    assert "/drift-reports/_runs/*" not in text
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


def definition_of(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine's definition, its tokens (Ref, GetAtt) as placeholders."""
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    parsed: dict[str, Any] = json.loads(
        "".join(p if isinstance(p, str) else "<token>" for p in parts)
    )
    return parsed


#: Fields whose value is a path by definition (JSONPath): the rest of a
#: definition's strings are literals unless their key ends in ``.$``.
PATH_FIELDS = re.compile(r".*Path$|Variable$")


def literal_paths(node: Any, where: str = "") -> list[str]:
    """Where a string that reads as a path sits under a key that makes it a literal."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}"
            if isinstance(value, str):
                if value.startswith("$") and not (key.endswith(".$") or PATH_FIELDS.match(key)):
                    found.append(f"{here}={value}")
            else:
                found += literal_paths(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += literal_paths(value, f"{where}[{i}]")
    return found


def select(template: Any, state: Any, context: dict[str, Any]) -> Any:
    """A JSONPath payload template applied the way Step Functions documents it.

    Keys ending in ``.$`` take the value at their path (``$`` the input,
    ``$$`` the context object); every other value is copied as written. Only
    the dotted paths this definition uses are supported.
    """
    if isinstance(template, list):
        return [select(v, state, context) for v in template]
    if not isinstance(template, dict):
        return template
    out = {}
    for key, value in template.items():
        if key.endswith(".$"):
            root, path = (context, value[3:]) if value.startswith("$$.") else (state, value[2:])
            assert re.fullmatch(r"[A-Za-z]\w*(\.[A-Za-z]\w*)*", path), value
            for name in path.split("."):
                root = root[name]
            out[key[:-2]] = root
        else:
            out[key] = select(value, state, context)
    return out


def test_every_path_in_the_definition_is_one_step_functions_reads_as_a_path(
    synthesised: dict[str, Any],
) -> None:
    assert literal_paths(definition_of(synthesised["template"])) == []


def test_each_count_batch_receives_the_executions_run(synthesised: dict[str, Any]) -> None:
    """The Map's items and batches as AWS documents them, down to the handler's input.

    Step Functions applies ItemReader, then ItemSelector per item (``$`` the
    Map's input, ``$$.Map.Item.Value`` the item), then ItemBatcher: a child
    receives ``{"Items": [...]}`` plus ``BatchInput`` as fixed JSON.
    """
    states = definition_of(synthesised["template"])["States"]
    mapped = states["CountBatches"]
    assert "BatchInput" not in mapped["ItemBatcher"]
    assert mapped["ItemSelector"] == {"run.$": "$.plan.run", "item.$": "$$.Map.Item.Value"}
    manifest = [{"variant": "Blue", "key": f"capture/{i}.jsonl"} for i in range(3)]
    map_input = {"time": "2024-05-01T14:07:00Z", "plan": {"mode": "map", "run": "exec-42"}}
    items = [
        select(mapped["ItemSelector"], map_input, {"Map": {"Item": {"Index": i, "Value": item}}})
        for i, item in enumerate(manifest)
    ]
    batch: dict[str, Any] = {"Items": items}
    if "BatchInput" in mapped["ItemBatcher"]:
        batch["BatchInput"] = mapped["ItemBatcher"]["BatchInput"]
    count_task = mapped["ItemProcessor"]["States"]["Count"]
    event = select(count_task["Parameters"], batch, {})
    assert event["action"] == "count"
    run, entries = monitor.batch_run(event["items"])
    assert run == "exec-42" and entries == manifest


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
                    [
                        Match.object_like(
                            {"Prefix": "drift-reports/_runs/fraud/", "ExpirationInDays": 7}
                        )
                    ]
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
        "capture_delay='7200 s' is invalid: must be a whole number from 0 to 3600 s",
    ),
    (
        "delay in fractions of a second",
        {"capture_delay": Duration.millis(1500)},
        "capture_delay='1.5 s' is invalid: must be whole seconds",
    ),
    (
        "max objects",
        {"max_objects_per_invocation": 0},
        "max_objects_per_invocation=0 is invalid: must be a whole number from 1 to 100000",
    ),
    (
        "max objects a float",
        {"max_objects_per_invocation": 200.0},
        "max_objects_per_invocation=200.0 is invalid: must be a whole number",
    ),
    (
        "batch a float",
        {"objects_per_batch": 1.5},
        "objects_per_batch=1.5 is invalid: must be a whole number (1-1000)",
    ),
    (
        "concurrency a float",
        {"max_concurrency": 2.5},
        "max_concurrency=2.5 is invalid: must be a whole number (1-1000)",
    ),
    (
        "memory a float",
        {"memory_size_mb": 1769.0},
        "memory_size_mb=1769.0 is invalid: must be a whole number (128-10240 MB)",
    ),
    (
        "epsilon",
        {"thresholds": DriftThresholds(epsilon=0)},
        "thresholds.epsilon=0 is invalid: must be a proportion above 0 and below 1",
    ),
    (
        "min records a float",
        {"thresholds": DriftThresholds(min_records=50.5)},  # type: ignore[arg-type]
        "thresholds.min_records=50.5 is invalid: must be a whole number, at least 1",
    ),
    (
        "thresholds of the wrong type",
        {"thresholds": {"psi": 0.3}},
        "thresholds={'psi': 0.3} is invalid: must be a DriftThresholds, not dict",
    ),
    (
        "a variant the endpoint does not have",
        {"variant_names": ["Blue", "Red"]},
        "variant_names[1]='Red' is invalid: must be a variant of Bad/Endpoint: Blue, Green",
    ),
    (
        "another capture than the endpoint's",
        {"data_capture": "other"},
        "data_capture='other' is invalid: must be a DataCapture, not str",
    ),
    (
        "a baseline key without its bucket",
        {"baseline_encryption_key": "key"},
        "baseline_encryption_key='key' is invalid: must be a kms.IKey, not str",
    ),
    (
        "baseline key a URL",
        {"baseline_key": "s3://bucket/baselines/fraud.json"},
        "baseline_key='s3://bucket/baselines/fraud.json' is invalid: give the key within the "
        "bucket",
    ),
    (
        "a report bucket of the wrong type",
        {"report_bucket": "reports"},
        "report_bucket='reports' is invalid: must be an s3.IBucket or EncryptedBucket, not str",
    ),
    (
        "scratch kept for hours",
        {"scratch_expiration": Duration.hours(12)},
        "scratch_expiration='0.5 days' is invalid: must be whole days, at least 1",
    ),
    (
        "several problems",
        {"window": Duration.minutes(1), "thresholds": DriftThresholds(psi=0)},
        "window='60 s' is invalid: must be whole minutes, from 5 minutes to 1 day; also "
        "thresholds.psi=0 is invalid: must be a positive number",
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
        "thresholds.min_records=0 is invalid: must be a whole number, at least 1",
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
        "variant_names[0]='no_underscores' is invalid: must be a variant of Bad/Endpoint",
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


# --- the endpoint's capture, other buckets, other stacks ---------------------------

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
REPORT_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555"


def annotations(scope: Any, kind: str) -> list[str]:
    return [
        str(entry.data)
        for node in scope.node.find_all()
        for entry in node.node.metadata
        if entry.type == f"aws:cdk:{kind}"
    ]


def statements_of(stack: cdk.Stack, prefix: str) -> list[dict[str, Any]]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = [p for k, p in policies.items() if k.startswith(prefix)]
    found: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_data_capture_defaults_to_the_endpoints_own() -> None:
    stack = cdk.Stack(new_app(), "Default")
    endpoint, capture = endpoint_with_capture(stack)
    drift = DriftMonitor(stack, "Drift", endpoint=endpoint, baseline_key="b.json")
    assert drift.data_capture is capture
    assert drift.variant_names == ["Blue", "Green"]
    assert drift.config.capture_prefix == "data-capture/"
    assert drift.capture_access.bucket is capture.destination.bucket  # type: ignore[union-attr]


def test_the_variants_default_to_every_variant_shadow_included() -> None:
    stack = cdk.Stack(new_app(), "Shadowed")
    bucket = EncryptedBucket(stack, "Capture")
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        variants=[InstanceVariant(model=model, variant_name="Live")],
        shadow_variant=InstanceVariant(model=model, variant_name="Candidate"),
        data_capture=DataCapture(destination=bucket),
    )
    drift = DriftMonitor(stack, "Drift", endpoint=endpoint, baseline_key="b.json")
    assert drift.variant_names == ["Live", "Candidate"]
    assert sorted(drift.alarms) == ["Candidate", "Live"]


def test_an_endpoint_that_captures_no_input_is_refused() -> None:
    stack = cdk.Stack(new_app(), "OutputOnly")
    bucket = EncryptedBucket(stack, "Capture")
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        model=model,
        data_capture=DataCapture(destination=bucket, capture_input=False),
    )
    with pytest.raises(ValidationError) as error:
        DriftMonitor(stack, "Drift", endpoint=endpoint, baseline_key="b.json")
    assert str(error.value) == (
        "OutputOnly/Drift: data_capture.capture_input=False is invalid: the drift check reads "
        "the captured requests, so every check would report insufficient data; capture input "
        "(DataCapture(capture_input=True))"
    )


def test_an_endpoint_that_samples_no_traffic_is_refused() -> None:
    stack = cdk.Stack(new_app(), "ZeroSample")
    bucket = EncryptedBucket(stack, "Capture")
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        model=model,
        data_capture=DataCapture(destination=bucket, sampling_percentage=0),
    )
    with pytest.raises(ValidationError) as error:
        DriftMonitor(stack, "Drift", endpoint=endpoint, baseline_key="b.json")
    assert str(error.value) == (
        "ZeroSample/Drift: data_capture.sampling_percentage=0 is invalid: the endpoint captures "
        "no request, so every check would report insufficient data; capture a share of the "
        "traffic (1-100)"
    )


def test_an_endpoint_that_captures_nothing_is_refused() -> None:
    stack = cdk.Stack(new_app(), "NoCapture")
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(stack, "Endpoint", model=model)
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "NoCapture/Drift: data_capture=None is invalid: NoCapture/Endpoint captures no "
            "traffic, so every check would find no data"
        ),
    ):
        DriftMonitor(stack, "Drift", endpoint=endpoint, baseline_key="b.json")


def test_a_capture_that_is_not_the_endpoints_is_refused() -> None:
    stack = cdk.Stack(new_app(), "Other")
    endpoint, capture = endpoint_with_capture(stack)
    other = dataclasses.replace(capture, prefix="elsewhere/")
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "Other/Drift: data_capture='another DataCapture' is invalid: is not the capture of "
            "Other/Endpoint"
        ),
    ):
        DriftMonitor(stack, "Drift", endpoint=endpoint, data_capture=other, baseline_key="b.json")


def test_a_key_for_the_capture_bucket_itself_is_refused() -> None:
    stack = cdk.Stack(new_app(), "Key")
    endpoint, _ = endpoint_with_capture(stack)
    key = kms.Key.from_key_arn(stack, "Other", KEY_ARN)
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "Key/Drift: report_encryption_key='Key/Other' is invalid: the bucket is the capture "
            "bucket, whose key is the capture's"
        ),
    ):
        DriftMonitor(
            stack, "Drift", endpoint=endpoint, baseline_key="b.json", report_encryption_key=key
        )


def test_uniform_workflow_ids_and_attributes(synthesised: dict[str, Any]) -> None:
    drift = synthesised["drift"]
    for child, attribute in (
        ("Key", "encryption_key"),
        ("Topic", "topic"),
        ("Resource", "state_machine"),
        ("Role", "role"),
        ("Logs", "log_group"),
        ("FailedAlarm", "failed_alarm"),
        ("Schedule", "rule"),
        ("DeadLetterQueue", "dead_letter_queue"),
        ("DeadLetterAlarm", "dead_letter_alarm"),
        ("Function", "function"),
    ):
        assert drift.node.find_child(child) is getattr(drift, attribute), child
    for child in ("Policy", "RoleRef", "ScheduleRole", "SchedulePolicy", "FunctionLogs"):
        assert drift.node.try_find_child(child) is not None, child
    assert DriftThresholds is Thresholds


def test_the_scratch_rule_is_added_to_this_stacks_bucket_and_said(
    synthesised: dict[str, Any],
) -> None:
    drift = synthesised["drift"]
    rule = drift.scratch_lifecycle_rule
    assert (rule.prefix, rule.expiration.to_days()) == ("drift-reports/_runs/fraud/", 7)
    (info,) = [m for m in annotations(drift, "info") if "lifecycle rule" in m]
    assert f"added the lifecycle rule id {rule.id!r}" in info
    assert "to the report bucket DriftMonitorTest/Capture/Resource" in info
    assert not [m for m in annotations(drift, "warning") if "DriftScratchNotExpired" in m]


def test_the_scratch_rule_can_be_left_to_the_user() -> None:
    stack = cdk.Stack(new_app(), "Manual")
    endpoint, _ = endpoint_with_capture(stack)
    drift = DriftMonitor(
        stack,
        "Drift",
        endpoint=endpoint,
        baseline_key="b.json",
        add_scratch_lifecycle_rule=False,
        scratch_expiration=Duration.days(2),
    )
    assert drift.scratch_lifecycle_rule.expiration.to_days() == 2  # type: ignore[union-attr]
    rules = Template.from_stack(stack).find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "LifecycleConfiguration": {
                    "Rules": Match.array_with([Match.object_like({"Prefix": Match.any_value()})])
                }
            }
        },
    )
    assert rules == {}
    assert not [m for m in annotations(drift, "warning") if "lifecycle" in m]
    assert not [m for m in annotations(drift, "info") if "lifecycle" in m]


@pytest.fixture(scope="module")
def imported() -> dict[str, Any]:
    """An imported endpoint, capturing into an imported bucket; reports in another import."""
    app = new_app()
    stack = cdk.Stack(app, "Imports")
    capture_bucket = s3.Bucket.from_bucket_attributes(
        stack,
        "CaptureBucket",
        bucket_name="team-capture",
        encryption_key=kms.Key.from_key_arn(stack, "CaptureKey", KEY_ARN),
    )
    report_bucket = s3.Bucket.from_bucket_attributes(
        stack, "ReportBucket", bucket_name="team-reports"
    )
    endpoint = Endpoint.from_endpoint_attributes(
        stack,
        "Endpoint",
        endpoint_name="churn",
        variants=[VariantAttributes(variant_name="AllTraffic", instance_type="ml.m5.large")],
        data_capture=DataCapture(destination=capture_bucket, prefix="capture/"),
    )
    drift = DriftMonitor(
        stack,
        "Drift",
        endpoint=endpoint,
        baseline_key="baselines/churn.json",
        report_bucket=report_bucket,
        report_encryption_key=kms.Key.from_key_arn(stack, "ReportKey", REPORT_KEY_ARN),
    )
    return {"app": app, "stack": stack, "drift": drift}


def test_imported_buckets_and_keys_are_read_and_written_through_their_keys(
    imported: dict[str, Any],
) -> None:
    statements = statements_of(imported["stack"], "DriftFunctionPolicy")
    by_action: dict[str, list[dict[str, Any]]] = {}
    for s in statements:
        for action in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action.setdefault(action, []).append(s)
    reads = sorted(json.dumps(s["Resource"]) for s in by_action["s3:GetObject"])
    assert any("team-capture/capture/churn/*" in r for r in reads)
    assert any("team-capture/baselines/churn.json" in r for r in reads)
    assert any("team-reports/drift-reports/_runs/churn/*" in r for r in reads)
    writes = json.dumps([s["Resource"] for s in by_action["s3:PutObject"]])
    assert "team-reports/drift-reports/churn/*" in writes
    assert "team-reports/drift-reports/_runs/churn/*" in writes
    assert "team-reports/drift-reports/*" not in writes
    decrypts = {
        arn
        for s in by_action["kms:Decrypt"]
        for arn in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    assert decrypts == {KEY_ARN, REPORT_KEY_ARN}
    for s in by_action["kms:Decrypt"] + by_action["kms:GenerateDataKey"]:
        assert "kms:ViaService" in s["Condition"]["StringEquals"]
    (generate,) = by_action["kms:GenerateDataKey"]
    assert generate["Resource"] == REPORT_KEY_ARN


def test_an_imported_report_bucket_is_left_alone_with_a_warning(imported: dict[str, Any]) -> None:
    drift = imported["drift"]
    (warning,) = [m for m in annotations(drift, "warning") if "DriftScratchNotExpired" in m]
    rule = drift.scratch_lifecycle_rule
    assert "the report bucket Imports/ReportBucket is imported" in warning
    assert f"add the lifecycle rule id {rule.id!r}, prefix 'drift-reports/_runs/churn/'" in warning
    assert Template.from_stack(imported["stack"]).find_resources("AWS::S3::Bucket") == {}


def test_imported_endpoint_config_names_the_imported_buckets(imported: dict[str, Any]) -> None:
    config = imported["drift"].config
    assert (config.capture_bucket, config.baseline_bucket, config.report_bucket) == (
        "team-capture",
        "team-capture",
        "team-reports",
    )
    assert (config.endpoint, config.variants) == ("churn", ("AllTraffic",))


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_imports_pass_cdk_nag(imported: dict[str, Any], pack: Any) -> None:
    findings = nag_findings(imported["app"], pack)
    assert findings == [], "\n".join(findings)


@pytest.fixture(scope="module")
def cross_stack() -> dict[str, Any]:
    """The endpoint and its capture bucket in one stack; the monitor in another."""
    app = new_app()
    hosting = cdk.Stack(app, "Hosting")
    endpoint, _ = endpoint_with_capture(hosting)
    ops = cdk.Stack(app, "Ops")
    drift = DriftMonitor(ops, "Drift", endpoint=endpoint, baseline_key="baselines/fraud.json")
    assembly = app.synth()
    return {
        "app": app,
        "hosting": hosting,
        "ops": ops,
        "drift": drift,
        "templates": {s: assembly.get_stack_by_name(s).template for s in ("Hosting", "Ops")},
    }


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_a_monitor_in_another_stack_passes_cdk_nag_unacknowledged(
    cross_stack: dict[str, Any], pack: Any
) -> None:
    """No acknowledgement in the test names an export: the construct resolves its own."""
    findings = nag_findings(cross_stack["app"], pack)
    assert findings == [], "\n".join(findings)


def test_a_monitor_in_another_stack_reads_the_bucket_through_exports(
    cross_stack: dict[str, Any],
) -> None:
    statements = statements_of(cross_stack["ops"], "DriftFunctionPolicy")
    (reads,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    for resource in reads["Resource"]:
        assert "Fn::ImportValue" in json.dumps(resource), resource
    (decrypt,) = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert "Fn::ImportValue" in json.dumps(decrypt["Resource"])


def test_a_monitor_in_another_stack_changes_nothing_there(cross_stack: dict[str, Any]) -> None:
    hosting = cross_stack["templates"]["Hosting"]
    (bucket,) = [
        r
        for k, r in hosting["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket" and "AccessLogs" not in k
    ]
    prefixes = [r.get("Prefix") for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]]
    assert not [p for p in prefixes if "drift-reports/_runs/" in json.dumps(p)]
    assert "BucketPolicy" not in json.dumps(
        {k: r for k, r in hosting["Resources"].items() if "Drift" in k}
    )
    (warning,) = [
        m for m in annotations(cross_stack["drift"], "warning") if "DriftScratchNotExpired" in m
    ]
    assert "the report bucket Hosting/Capture/Resource is in another stack" in warning


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_a_monitor_in_a_stack_of_known_account_and_region_passes_cdk_nag(pack: Any) -> None:
    """Acknowledgements name ARNs as the stack renders them (here with literal account/Region)."""
    app = new_app()
    env = cdk.Environment(account="123456789012", region="us-east-1")
    hosting = cdk.Stack(app, "KnownHosting", env=env)
    endpoint, _ = endpoint_with_capture(hosting)
    ops = cdk.Stack(app, "KnownOps", env=env)
    DriftMonitor(ops, "Drift", endpoint=endpoint, baseline_key="baselines/fraud.json")
    app.synth()
    findings = nag_findings(app, pack)
    assert findings == [], "\n".join(findings)


def test_a_bucket_of_unknown_key_is_a_warning_naming_the_prop() -> None:
    stack = cdk.Stack(new_app(), "Unknown")
    endpoint = Endpoint.from_endpoint_attributes(
        stack,
        "Endpoint",
        endpoint_name="churn",
        variants=[VariantAttributes(variant_name="AllTraffic", instance_type="ml.m5.large")],
        data_capture=DataCapture(destination=s3.Bucket.from_bucket_name(stack, "C", "capture")),
    )
    drift = DriftMonitor(stack, "Drift", endpoint=endpoint, baseline_key="b.json")
    (warning,) = [m for m in annotations(drift, "warning") if "DriftBucketKeyUnknown" in m]
    assert "no KMS key is known for Unknown/C (pass data_capture.encryption_key=)" in warning
    statements = json.dumps(statements_of(stack, "DriftFunctionPolicy"))
    assert "kms:" not in statements


def test_known_keys_give_no_key_warning(synthesised: dict[str, Any]) -> None:
    assert not [m for m in annotations(synthesised["drift"], "warning") if "KeyUnknown" in m]


@pytest.mark.parametrize(
    ("schedule", "window", "expected"),
    [
        (events.Schedule.rate(cdk.Duration.hours(6)), cdk.Duration.hours(1), "DriftWindowsSkipped"),
        (
            events.Schedule.rate(cdk.Duration.minutes(15)),
            cdk.Duration.hours(1),
            "DriftWindowsRepeated",
        ),
        (events.Schedule.rate(cdk.Duration.hours(1)), cdk.Duration.hours(1), None),
        (events.Schedule.cron(minute="5"), cdk.Duration.hours(1), None),
    ],
)
def test_a_schedule_that_does_not_match_the_window_is_a_warning(
    schedule: events.Schedule, window: cdk.Duration, expected: str | None
) -> None:
    """Windows are aligned on their length: a slower schedule skips some, a faster one repeats."""
    stack = cdk.Stack(new_app(), "Windows")
    endpoint, _ = endpoint_with_capture(stack)
    drift = DriftMonitor(
        stack, "Drift", endpoint=endpoint, baseline_key="b.json", schedule=schedule, window=window
    )
    found = [m for m in annotations(drift, "warning") if "Windows" in m]
    if expected is None:
        assert found == []
    else:
        (warning,) = found
        assert expected in warning
        assert schedule.expression_string in warning
        assert "3600 s" in warning
