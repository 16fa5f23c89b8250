"""The TrafficShift construct: its state machine, function, permissions and gates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import (
    ContainerImage,
    Endpoint,
    EndpointMonitoring,
    InstanceVariant,
    MetricComparison,
    Model,
    TrafficShift,
    ValidationError,
)

from tests.conftest import new_app, normalise
from tests.gates import PACKS, cfn_lint, nag_findings

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"
ENV = cdk.Environment(account="123456789012", region="us-east-1")


def endpoint_stack(app: cdk.App, name: str = "Shift") -> tuple[cdk.Stack, Endpoint]:
    stack = cdk.Stack(app, name, env=ENV)
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        endpoint_name="fraud",
        variants=[
            InstanceVariant(model=model, variant_name="Champion", initial_weight=0.9),
            InstanceVariant(model=model, variant_name="Challenger", initial_weight=0.1),
        ],
    )
    return stack, endpoint


@pytest.fixture(scope="module")
def shifted() -> tuple[cdk.App, cdk.Stack, TrafficShift, dict[str, Any]]:
    app = new_app()
    stack, endpoint = endpoint_stack(app)
    monitoring = EndpointMonitoring(stack, "Monitoring", endpoint=endpoint)
    shift = TrafficShift(
        stack,
        "Promote",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        steps=[10, 25, 50, 100],
        bake_time=cdk.Duration.minutes(15),
        monitoring=monitoring,
        comparison=MetricComparison(max_error_rate_increase=0.005),
    )
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return app, stack, shift, template


def definition(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    body = machine["Properties"]["DefinitionString"]
    text = "".join(p if isinstance(p, str) else "ARN" for p in body["Fn::Join"][1])
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_snapshot(shifted: Any, snapshot: Any) -> None:
    *_, template = shifted
    assert normalise(template) == snapshot


def test_state_machine_loops_steps_and_rolls_back(shifted: Any) -> None:
    *_, template = shifted
    states = definition(template)["States"]
    assert definition(template)["StartAt"] == "Start"
    assert states["Start"]["Catch"][0]["Next"] == "Refused"
    assert states["Start"]["Parameters"] == {
        "action": "start",
        "request.$": "$$.Execution.Input",
        "owner.$": "$$.Execution.Id",
    }
    verdict = {
        c.get("StringEquals", c.get("BooleanEquals")): c["Next"]
        for c in states["Verdict"]["Choices"]
    }
    assert verdict == {"fail": "RollBack", "wait": "Bake", True: "Finish"}
    assert states["Verdict"]["Default"] == "Apply"
    assert states["Bake"]["SecondsPath"] == "$.state.request.poll_seconds"
    for task in ("Apply", "Check"):
        assert states[task]["Catch"][0]["Next"] == "RollBackAfterError"
    assert states["Outcome"]["Default"] == "RolledBack"
    assert states["RolledBack"]["Type"] == "Fail"
    # Lambda's own transient errors are retried; the handler's errors are not.
    retried = {e for r in states["Apply"]["Retry"] for e in r["ErrorEquals"]}
    assert "States.ALL" not in retried
    assert "Lambda.ServiceException" in retried


def test_logging_all_tracing_and_encrypted_logs(shifted: Any) -> None:
    _, stack, _, _ = shifted
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True},
            "TracingConfiguration": {"Enabled": True},
        },
    )
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert "KmsKeyId" in group["Properties"], group
        assert group["Properties"]["RetentionInDays"] == 365
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "traffic_shift.index.handler",
            "Runtime": "python3.14",
            "TracingConfig": {"Mode": "Active"},
        },
    )


def test_defaults_reach_the_function(shifted: Any) -> None:
    *_, template = shifted
    (fn,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    env = fn["Properties"]["Environment"]["Variables"]
    text = "".join(
        p if isinstance(p, str) else "<ref>" for p in env["SHIFT_DEFAULTS"]["Fn::Join"][1]
    )
    defaults = json.loads(text)
    assert defaults["endpoint"] == "fraud"
    assert (defaults["source"], defaults["target"]) == ("Champion", "Challenger")
    assert defaults["steps"] == [10, 25, 50, 100]
    assert defaults["bake_seconds"] == 900 and defaults["data_timeout_seconds"] == 900
    assert defaults["comparison"]["max_error_rate_increase"] == 0.005
    # the target's errors and latency alarms and the endpoint's health
    assert len(defaults["alarms"]) == 3


def test_permissions_are_scoped_to_the_endpoint_alarms_and_lock_tags(shifted: Any) -> None:
    _, stack, _, _ = shifted
    template = Template.from_stack(stack)
    assert template.find_resources("AWS::IAM::Policy") == {}, "no inline policy"
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    (function_policy,) = [
        p for lid, p in policies.items() if lid.startswith("PromoteFunctionPolicy")
    ]
    statements = function_policy["Properties"]["PolicyDocument"]["Statement"]

    def statement(action: str) -> dict[str, Any]:
        (found,) = [s for s in statements if action in s["Action"]]
        return found

    weights = statement("sagemaker:UpdateEndpointWeightsAndCapacities")
    assert sorted(weights["Action"]) == [
        "sagemaker:DescribeEndpoint",
        "sagemaker:ListTags",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
    ]
    assert weights["Resource"] == {"Ref": "EndpointEEF1FD8F"}
    tags = statement("sagemaker:AddTags")
    assert tags["Resource"] == {"Ref": "EndpointEEF1FD8F"}
    assert tags["Condition"] == {
        "ForAllValues:StringLike": {"aws:TagKeys": ["cdk-sagemaker-hosting:shift-*"]}
    }
    assert len(statement("cloudwatch:DescribeAlarms")["Resource"]) == 3
    assert statement("cloudwatch:GetMetricData")["Resource"] == "*"
    assert "default" in json.dumps(statement("events:PutEvents")["Resource"])
    assert "Topic" in json.dumps(statement("sns:Publish")["Resource"])
    (machine_policy,) = [
        p for lid, p in policies.items() if lid.startswith("PromoteResourcePolicy")
    ]
    invoke = [
        s
        for s in machine_policy["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in s["Action"]
    ]
    assert len(invoke) == 1
    assert invoke[0]["Resource"] == {"Fn::GetAtt": ["PromoteFunctionBCB62608", "Arn"]}


def test_abort_rule_rolls_back_stopped_executions(shifted: Any) -> None:
    _, stack, _, _ = shifted
    Template.from_stack(stack).has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail": {"status": ["ABORTED", "TIMED_OUT", "FAILED"]},
            },
            "Targets": [Match.object_like({"RetryPolicy": {"MaximumRetryAttempts": 2}})],
        },
    )


def test_the_asset_holds_only_this_function(shifted: Any) -> None:
    app, stack, *_ = shifted
    (fn,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    digest = fn["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = Path(app.outdir) / f"asset.{digest}"
    files = sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())
    assert files == [
        "traffic_shift/__init__.py",
        "traffic_shift/aws.py",
        "traffic_shift/command.py",
        "traffic_shift/core.py",
        "traffic_shift/index.py",
        "traffic_shift/plan.py",
    ]


def test_public_api(shifted: Any) -> None:
    _, _, shift, _ = shifted
    assert shift.state_machine.node.id == "Resource"
    assert shift.metric_failed().metric_name == "ExecutionsFailed"
    assert shift.timeout.to_minutes() == 4 * (15 + 15 + 30)


def test_cdk_nag_packs(shifted: Any) -> None:
    app, *_ = shifted
    for pack in PACKS:
        assert nag_findings(app, pack) == [], pack.__name__


def test_cfn_lint(shifted: Any, tmp_path: Path) -> None:
    _, stack, _, template = shifted
    found, stderr = cfn_lint({stack.stack_name: template}, tmp_path)
    assert found == [], stderr


def test_no_gating_alarm_is_a_warning() -> None:
    app = new_app()
    stack, endpoint = endpoint_stack(app)
    TrafficShift(
        stack, "Shift", endpoint=endpoint, source_variant="Champion", target_variant="Challenger"
    )
    warnings = [
        m.entry.data
        for m in app.synth().get_stack_by_name(stack.stack_name).messages
        if "WARNING" in str(m.level)
    ]
    assert any("no alarm gates the shift" in str(w) for w in warnings)


def test_imported_endpoints_take_any_variant_names() -> None:
    stack = cdk.Stack(new_app(), "Imported", env=ENV)
    endpoint = Endpoint.from_endpoint_name(stack, "Endpoint", "legacy")
    alarm = cloudwatch.Alarm.from_alarm_arn(
        stack, "Alarm", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:legacy-5xx"
    )
    shift = TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="Blue",
        target_variant="Green",
        alarms=[alarm],
    )
    assert shift.alarms == [alarm]


BAD = [
    (
        {"source_variant": "Nope"},
        "source_variant='Nope' is invalid: "
        "must be a production variant of the endpoint: Champion, Challenger",
    ),
    (
        {"target_variant": "Champion"},
        "target_variant='Champion' is invalid: must differ from source_variant",
    ),
    ({"target_variant": "bad_name"}, "target_variant='bad_name' is invalid"),
    ({"steps": []}, "steps=[] is invalid: must be 1-20 percentages"),
    ({"steps": [50, 25, 100]}, "steps='50, 25, 100' is invalid: must strictly increase"),
    ({"steps": [0, 100]}, "steps='0, 100' is invalid: must be percentages above 0 and at most 100"),
    ({"steps": [50, 120]}, "steps='50, 120' is invalid: must be percentages above 0"),
    ({"steps": [10, 50]}, "steps='10, 50' is invalid: must end at 100 (the promotion)"),
    ({"steps": [*range(5, 100, 5), 99, 100]}, "must be at most 20 steps"),
    (
        {"bake_time": cdk.Duration.days(2)},
        "bake_time='172800 s' is invalid: must be 0 s to 86400 s",
    ),
    (
        {"poll_interval": cdk.Duration.minutes(20)},
        "poll_interval='1200 s' is invalid: must be at most the bake time (600 s)",
    ),
    (
        {"comparison": MetricComparison(max_error_rate_increase=2)},
        "comparison.max_error_rate_increase=2 is invalid",
    ),
    (
        {"comparison": MetricComparison(max_latency_increase=-0.1)},
        "comparison.max_latency_increase=-0.1 is invalid",
    ),
    (
        {"comparison": MetricComparison(min_invocations=0)},
        "comparison.min_invocations=0 is invalid",
    ),
]


@pytest.mark.parametrize(("props", "message"), BAD, ids=[m.split(" is")[0] for _, m in BAD])
def test_bad_input(props: dict[str, Any], message: str) -> None:
    stack, endpoint = endpoint_stack(new_app())
    kwargs = {"source_variant": "Champion", "target_variant": "Challenger", **props}
    with pytest.raises(ValidationError) as error:
        TrafficShift(stack, "Shift", endpoint=endpoint, **kwargs)
    assert message in str(error.value)
    assert str(error.value).startswith("Shift/Shift: ")


def test_a_one_variant_endpoint_is_refused() -> None:
    stack = cdk.Stack(new_app(), "One", env=ENV)
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(stack, "Endpoint", model=model)
    with pytest.raises(ValidationError, match="must have at least two production variants"):
        TrafficShift(
            stack, "Shift", endpoint=endpoint, source_variant="AllTraffic", target_variant="B"
        )
