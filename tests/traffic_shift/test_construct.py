"""The TrafficShift construct: its state machine, function, permissions and gates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
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
    VariantAttributes,
)
from cdk_sagemaker_hosting._lambda.traffic_shift import plan

from tests.conftest import new_app
from tests.gates import PACKS, cfn_lint, nag_findings
from tests.snapshots import construct_snapshot, json_snapshot

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
    """The one full snapshot of TrafficShift (rule: ``tests/snapshots.py``).

    The endpoint, model and monitoring it is built on are stubs here (held in
    full by the stack snapshots); the reference app's ``prod-hosting`` stubs
    its ``PromoteChallenger`` and points here.
    """
    _, stack, shift, template = shifted
    assert construct_snapshot(stack, template, [shift]) == json_snapshot(snapshot)


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


def shift_function(template: dict[str, Any], prefix: str = "PromoteFunction") -> dict[str, Any]:
    """The state machine's function (or, with ``PromoteAlarmFunction``, the alarm rule's)."""
    (fn,) = [
        r
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and lid.startswith(prefix)
    ]
    return fn


def test_defaults_reach_the_function(shifted: Any) -> None:
    *_, template = shifted
    fn = shift_function(template)
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
    # the endpoint's health alarm is composite: DescribeAlarms scoped to less than '*'
    # does not return composite alarms (see the next test)
    assert statement("cloudwatch:DescribeAlarms")["Resource"] == "*"
    assert statement("cloudwatch:GetMetricData")["Resource"] == "*"
    assert "default" in json.dumps(statement("events:PutEvents")["Resource"])
    assert "Topic" in json.dumps(statement("sns:Publish")["Resource"])
    (machine_policy,) = [p for lid, p in policies.items() if lid.startswith("PromotePolicy")]
    invoke = [
        s
        for s in machine_policy["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in s["Action"]
    ]
    assert len(invoke) == 1
    assert invoke[0]["Resource"] == {"Fn::GetAtt": ["PromoteFunctionBCB62608", "Arn"]}


def describe_alarms_resource(alarms: list[Any], stack: cdk.Stack, endpoint: Endpoint) -> Any:
    TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        alarms=alarms,
    )
    policies = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = [p for lid, p in policies.items() if lid.startswith("ShiftFunctionPolicy")]
    (found,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "cloudwatch:DescribeAlarms" in s["Action"]
    ]
    return found["Resource"]


def test_describe_alarms_reaches_composite_alarms() -> None:
    """CloudWatch returns composite alarms only to a DescribeAlarms allowed on '*'.

    The API reference: "To use this operation and return information about
    composite alarms, you must be signed on with the cloudwatch:DescribeAlarms
    permission that is scoped to *". Scoped to the alarms' ARNs, a composite
    gating alarm is not returned, and Start refuses it as an alarm that does
    not exist. An imported alarm may be composite (its type is not known).
    """
    stack, endpoint = endpoint_stack(new_app())
    metric = cloudwatch.Alarm(
        stack,
        "Errors",
        metric=cloudwatch.Metric(namespace="Team", metric_name="Errors"),
        threshold=1,
        evaluation_periods=1,
    )
    assert describe_alarms_resource([metric], stack, endpoint) == {
        "Fn::GetAtt": [stack.get_logical_id(metric.node.default_child), "Arn"]  # type: ignore[arg-type]
    }
    for i, make in enumerate(
        [
            lambda s: cloudwatch.CompositeAlarm(
                s,
                "Composite",
                alarm_rule=cloudwatch.AlarmRule.from_boolean(False),
            ),
            lambda s: cloudwatch.CompositeAlarm.from_composite_alarm_name(s, "Imported", "health"),
            lambda s: cloudwatch.Alarm.from_alarm_name(s, "ByName", "team-latency"),
        ]
    ):
        stack, endpoint = endpoint_stack(new_app(), f"Shift{i}")
        assert describe_alarms_resource([make(stack)], stack, endpoint) == "*", i


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
    app, _, _, template = shifted
    fn = shift_function(template)
    digest = fn["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    # the alarm rule's function runs the same code
    assert (
        shift_function(template, "PromoteAlarmFunction")["Properties"]["Code"]
        == fn["Properties"]["Code"]
    )
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
        "target_variant='Champion' is invalid: must differ from the source variant",
    ),
    (
        {"target_variant": "bad_name"},
        "target_variant='bad_name' is invalid: must be a variant name: 1-63 letters",
    ),
    ({"steps": []}, "steps=[] is invalid: must be 1-20 percentages"),
    ({"steps": [50, 25, 100]}, "steps=[50, 25, 100] is invalid: must strictly increase"),
    ({"steps": [0, 100]}, "steps=[0, 100] is invalid: must be percentages above 0 and at most 100"),
    ({"steps": [50, 120]}, "steps=[50, 120] is invalid: must be percentages above 0"),
    ({"steps": [10, 50]}, "steps=[10, 50] is invalid: must end at 100 (the promotion)"),
    ({"steps": [*range(5, 100, 5), 99, 100]}, "must be at most 20 steps (21 given)"),
    (
        {"bake_time": cdk.Duration.days(2)},
        "bake_time='172800 s' is invalid: must be 0 s to 86400 s (a day)",
    ),
    (
        {"data_timeout": cdk.Duration.days(2)},
        "data_timeout='172800 s' is invalid: must be 0 s to 86400 s (a day)",
    ),
    (
        {"poll_interval": cdk.Duration.minutes(20)},
        "poll_interval='1200 s' is invalid: must be at most the bake time (600 s)",
    ),
    (
        {"poll_interval": cdk.Duration.seconds(1), "bake_time": cdk.Duration.hours(3)},
        "poll_interval='1 s' is invalid: 4 steps of 10800 s bake and 10800 s data wait, polled "
        "every 1 s, may take 93600 polls, more than 2500",
    ),
    (
        {"timeout": cdk.Duration.hours(1)},
        "timeout='3600 s' is invalid: 4 steps of 600 s bake and 600 s data wait may take "
        "12000 s, longer than the state machine's 3600 s time limit",
    ),
    (
        {"comparison": MetricComparison(max_error_rate_increase=2)},
        "comparison.max_error_rate_increase=2 is invalid: must be a fraction from 0 to 1",
    ),
    (
        {"comparison": MetricComparison(max_latency_increase=-0.1)},
        "comparison.max_latency_increase=-0.1 is invalid: must be a fraction of 0 or more",
    ),
    (
        {"comparison": MetricComparison(min_invocations=0)},
        "comparison.min_invocations=0 is invalid: must be a whole number of invocations",
    ),
    (
        {"comparison": MetricComparison(min_invocations=2.5)},  # type: ignore[arg-type]
        "comparison.min_invocations=2.5 is invalid: must be a whole number of invocations",
    ),
    (
        {"comparison": {"min_invocations": 10}},
        "comparison={'min_invocations': 10} is invalid: must be a MetricComparison, not dict",
    ),
    (
        {"bake_time": 600},
        "bake_time=600 is invalid: must be a Duration, not int",
    ),
    (
        {"poll_interval": cdk.Duration.millis(1500)},
        "poll_interval='1.5 s' is invalid: must be whole seconds",
    ),
    (
        {"steps": "10,50,100"},
        "steps='10,50,100' is invalid: must be a list of percentages",
    ),
    (
        {"encryption_key": "alias/shift"},
        "encryption_key='alias/shift' is invalid: must be a kms.IKey, not str",
    ),
    (
        {"removal_policy": "destroy"},
        "removal_policy='destroy' is invalid: must be a RemovalPolicy",
    ),
    (
        {"steps": [50, 10], "bake_time": cdk.Duration.days(2)},
        "steps=[50, 10] is invalid: must strictly increase; also bake_time='172800 s' is "
        "invalid: must be 0 s to 86400 s (a day)",
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


def test_the_comparison_is_the_handlers_own_type() -> None:
    assert MetricComparison is plan.Comparison
    assert MetricComparison().to_json() == {
        "max_error_rate_increase": 0.01,
        "max_latency_increase": 0.2,
        "min_invocations": 100,
    }


def test_the_functions_defaults_are_a_request_it_accepts(shifted: Any) -> None:
    """SHIFT_DEFAULTS is the construct's plan.Request, read back and checked by the handler."""
    _, _, shift, template = shifted
    env = shift_function(template)["Properties"]["Environment"]["Variables"]
    text = "".join(
        p if isinstance(p, str) else "endpoint" for p in env["SHIFT_DEFAULTS"]["Fn::Join"][1]
    )
    request = plan.Request.from_json(json.loads(text))
    request.check()
    plan.check_budget(request, float(env["SHIFT_TIMEOUT_SECONDS"]))
    assert request.comparison == MetricComparison(max_error_rate_increase=0.005)
    assert request.steps == shift.request.steps


def test_workflow_ids_and_attributes_are_uniform(shifted: Any) -> None:
    _, _, shift, _ = shifted
    for child, attribute in (
        ("Key", "encryption_key"),
        ("Topic", "topic"),
        ("Resource", "state_machine"),
        ("Role", "role"),
        ("Logs", "log_group"),
        ("FailedAlarm", "failed_alarm"),
        ("DeadLetterQueue", "dead_letter_queue"),
        ("DeadLetterAlarm", "dead_letter_alarm"),
        ("Function", "function"),
        ("AbortRule", "abort_rule"),
    ):
        assert shift.node.find_child(child) is getattr(shift, attribute), child
    for child in ("Policy", "RoleRef", "FunctionRole", "FunctionPolicy", "FunctionLogs"):
        assert shift.node.try_find_child(child) is not None, child
    assert shift.rule is None  # run on demand: no schedule


def test_failed_shifts_alarm_to_the_topic(shifted: Any) -> None:
    _, stack, shift, _ = shifted
    alarm = Template.from_stack(stack).find_resources(
        "AWS::CloudWatch::Alarm",
        {
            "Properties": {
                "AlarmDescription": Match.string_like_regexp(
                    "A traffic shift of .* rolled back, failed, timed out or was stopped"
                )
            }
        },
    )
    ((logical_id, props),) = [(k, v["Properties"]) for k, v in alarm.items()]
    assert logical_id.startswith("PromoteFailedAlarm")
    assert props["AlarmActions"] == [{"Ref": stack.get_logical_id(shift.topic.node.default_child)}]
    metrics = {
        m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m
    }
    assert metrics == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    assert (props["Threshold"], props["TreatMissingData"]) == (1, "notBreaching")


def test_the_role_trusts_step_functions_of_this_account_only(shifted: Any) -> None:
    _, stack, _, _ = shifted
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
                    }
                ]
            }
        },
    )


def test_encryption_key_removal_policy_and_log_retention() -> None:
    app = new_app()
    stack, endpoint = endpoint_stack(app)
    key = kms.Key(stack, "SharedKey", enable_key_rotation=True)
    topic = sns.Topic(stack, "SharedTopic", master_key=key, enforce_ssl=True)
    shift = TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        encryption_key=key,
        topic=topic,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        log_retention=logs.RetentionDays.ONE_MONTH,
    )
    assert shift.encryption_key is key and shift.topic is topic
    assert shift.node.try_find_child("Key") is None
    assert shift.node.try_find_child("Topic") is None
    template = Template.from_stack(stack)
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    groups = {
        k: g for k, g in template.find_resources("AWS::Logs::LogGroup").items() if "Shift" in k
    }
    assert len(groups) == 2
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        assert group["Properties"]["RetentionInDays"] == 30
        assert group["DeletionPolicy"] == "Delete"
    template.has_resource_properties(
        "AWS::SQS::Queue", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )
    assert not [k for k in template.find_resources("AWS::KMS::Key") if k.startswith("Shift")]


def test_a_new_key_follows_the_removal_policy() -> None:
    app = new_app()
    stack, endpoint = endpoint_stack(app)
    TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    keys = Template.from_stack(stack).find_resources("AWS::KMS::Key")
    ((_, created),) = [(k, v) for k, v in keys.items() if k.startswith("ShiftKey")]
    assert created["DeletionPolicy"] == "Delete"
    assert created["Properties"]["EnableKeyRotation"] is True


def test_an_imported_key_warns_of_each_statement_to_add() -> None:
    app = new_app()
    stack, endpoint = endpoint_stack(app)
    TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        encryption_key=kms.Key.from_key_arn(
            stack,
            "Imported",
            "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
        ),
    )
    warnings = [
        str(m.entry.data)
        for m in app.synth().get_stack_by_name(stack.stack_name).messages
        if "WARNING" in str(m.level) and "ImportedKey" in str(m.entry.data)
    ]
    assert any("CloudWatch Logs service" in w and "FunctionLogs" in w for w in warnings)
    assert any("CloudWatch Logs service" in w and "-Logs" in w for w in warnings)
    assert any("cloudwatch.amazonaws.com" in w and "alarm topic Topic" in w for w in warnings)
    assert any("events.amazonaws.com" in w and "DeadLetterQueue" in w for w in warnings)


def test_a_shadow_variant_takes_no_weight() -> None:
    stack = cdk.Stack(new_app(), "Shadow", env=ENV)
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    shadowed = Endpoint(
        stack,
        "Endpoint",
        variants=[InstanceVariant(model=model, variant_name="A")],
        shadow_variant=InstanceVariant(model=model, variant_name="Candidate"),
    )
    with pytest.raises(ValidationError) as error:
        TrafficShift(
            stack, "Shift", endpoint=shadowed, source_variant="A", target_variant="Candidate"
        )
    assert str(error.value) == (
        "Shadow/Shift: target_variant='Candidate' is invalid: must be a production variant "
        "(a shadow variant takes no weight)"
    )


def test_an_endpoint_imported_with_its_variants_is_checked_against_them() -> None:
    stack = cdk.Stack(new_app(), "Imported", env=ENV)
    endpoint = Endpoint.from_endpoint_attributes(
        stack,
        "Endpoint",
        endpoint_name="legacy",
        variants=[
            VariantAttributes(variant_name="Blue", instance_type="ml.m5.large"),
            VariantAttributes(variant_name="Green", instance_type="ml.m5.large"),
        ],
    )
    alarm = cloudwatch.Alarm.from_alarm_arn(
        stack, "Alarm", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:legacy-5xx"
    )
    TrafficShift(
        stack,
        "Good",
        endpoint=endpoint,
        source_variant="Blue",
        target_variant="Green",
        alarms=[alarm],
    )
    with pytest.raises(
        ValidationError,
        match=r"Imported/Bad: target_variant='Red' is invalid: must be a production variant of "
        r"the endpoint: Blue, Green",
    ):
        TrafficShift(
            stack,
            "Bad",
            endpoint=endpoint,
            source_variant="Blue",
            target_variant="Red",
            alarms=[alarm],
        )


def test_an_endpoint_name_known_at_deploy_time_only_passes_with_its_arn() -> None:
    stack = cdk.Stack(new_app(), "Token", env=ENV)
    name = cdk.CfnParameter(stack, "EndpointName").value_as_string
    arn = cdk.CfnParameter(stack, "EndpointArn").value_as_string
    endpoint = Endpoint.from_endpoint_attributes(
        stack, "Endpoint", endpoint_name=name, endpoint_arn=arn
    )
    shift = TrafficShift(stack, "Shift", endpoint=endpoint, source_variant="A", target_variant="B")
    assert shift.request.endpoint == name
    # The lock and weight permissions name the ARN given, never a broken token.
    policies = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")
    assert "${token[" not in json.dumps(policies).lower()
    assert {"Ref": "EndpointArn"} in [
        s["Resource"]
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_an_endpoint_name_known_at_deploy_time_only_needs_its_arn() -> None:
    stack = cdk.Stack(new_app(), "Token", env=ENV)
    name = cdk.CfnParameter(stack, "EndpointName").value_as_string
    with pytest.raises(ValidationError, match="give endpoint_arn too"):
        Endpoint.from_endpoint_name(stack, "Endpoint", name)


# --- the fast rollback: alarm state-change events ------------------------------------


def resource(template: dict[str, Any], prefix: str, kind: str) -> dict[str, Any]:
    (found,) = [
        r
        for lid, r in template["Resources"].items()
        if lid.startswith(prefix) and r["Type"] == kind
    ]
    return found


GATING_ARNS = [
    {"Fn::GetAtt": ["MonitoringChallengerErrors5xx382EA82E", "Arn"]},
    {"Fn::GetAtt": ["MonitoringChallengerModelLatency42DE2382", "Arn"]},
    {"Fn::GetAtt": ["MonitoringHealth92FCA609", "Arn"]},
]


def test_the_alarm_rule_names_exactly_the_gating_alarms(shifted: Any) -> None:
    _, _, shift, template = shifted
    rule = resource(template, "PromoteAlarmRule", "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": GATING_ARNS,
        "detail": {"state": {"value": ["ALARM"]}},
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["PromoteAlarmFunction94037E58", "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2}
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["PromoteDeadLetterQueue5E6B2DDD", "Arn"]}
    }
    assert [r.node.id for r in shift.alarm_rules] == ["AlarmRule"]
    assert shift.alarm_function is shift.node.find_child("AlarmFunction")
    # Only this rule may invoke the function (the confused-deputy guard).
    (permission,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission"
        and r["Properties"]["FunctionName"]
        == {"Fn::GetAtt": ["PromoteAlarmFunction94037E58", "Arn"]}
    ]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["PromoteAlarmRule9C0FC5A4", "Arn"]}


def test_the_alarm_function_may_touch_only_this_endpoint_and_its_rollback_mark(
    shifted: Any,
) -> None:
    *_, template = shifted
    policy = resource(template, "PromoteAlarmFunctionPolicy", "AWS::IAM::ManagedPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    own = [s for s in statements if not str(s["Action"]).startswith(("['logs:", "['xray:"))]
    endpoint = {"Ref": "EndpointEEF1FD8F"}
    assert own[:2] == [
        {
            "Action": [
                "sagemaker:DescribeEndpoint",
                "sagemaker:ListTags",
                "sagemaker:UpdateEndpointWeightsAndCapacities",
            ],
            "Effect": "Allow",
            "Resource": endpoint,
        },
        {
            "Action": ["sagemaker:AddTags", "sagemaker:DeleteTags"],
            "Condition": {
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": [
                        "cdk-sagemaker-hosting:shift-rollback",
                        "cdk-sagemaker-hosting:shift-rollback-reason",
                    ]
                }
            },
            "Effect": "Allow",
            "Resource": endpoint,
        },
    ]
    # the rest: its dead-letter queue and that queue's key, nothing else
    rest = {
        a for s in own[2:] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert rest == {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"} | {
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    }
    assert "states:" not in json.dumps(statements)
    assert "sns:" not in json.dumps(statements)


def test_the_alarm_function_knows_its_state_machine_and_alarms(shifted: Any) -> None:
    _, stack, shift, template = shifted
    fn = shift_function(template, "PromoteAlarmFunction")["Properties"]
    env = fn["Environment"]["Variables"]
    machine = stack.get_logical_id(shift.state_machine.node.default_child)
    assert env["STATE_MACHINE_ARN"] == {"Ref": machine}
    arns = env["ALARM_ARNS"]["Fn::Join"][1]
    assert [p for p in arns if isinstance(p, dict)] == GATING_ARNS
    assert fn["Handler"] == "traffic_shift.index.handler"
    assert fn["Timeout"] == 300
    config = resource(
        template, "PromoteAlarmFunctionEventInvokeConfig", "AWS::Lambda::EventInvokeConfig"
    )
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["PromoteDeadLetterQueue5E6B2DDD", "Arn"]
    }


def test_no_gating_alarm_means_no_alarm_rule() -> None:
    stack, endpoint = endpoint_stack(new_app())
    shift = TrafficShift(
        stack, "Shift", endpoint=endpoint, source_variant="Champion", target_variant="Challenger"
    )
    assert (shift.alarm_function, shift.alarm_rules) == (None, [])
    assert shift.node.try_find_child("AlarmFunction") is None
    Template.from_stack(stack).resource_count_is("AWS::Events::Rule", 1)  # the abort rule


def test_imported_and_composite_alarms_are_named_by_arn() -> None:
    stack, endpoint = endpoint_stack(new_app())
    imported = cloudwatch.Alarm.from_alarm_arn(
        stack, "Imported", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:legacy-5xx"
    )
    by_name = cloudwatch.Alarm.from_alarm_name(stack, "ByName", "team-latency")
    composite = cloudwatch.CompositeAlarm(
        stack,
        "Composite",
        alarm_rule=cloudwatch.AlarmRule.from_alarm(imported, cloudwatch.AlarmState.ALARM),
    )
    TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        alarms=[imported, by_name, composite],
    )
    (rule,) = [
        r
        for lid, r in Template.from_stack(stack).find_resources("AWS::Events::Rule").items()
        if lid.startswith("ShiftAlarmRule")
    ]
    assert rule["Properties"]["EventPattern"]["resources"] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:legacy-5xx",
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":cloudwatch:us-east-1:123456789012:alarm:team-latency",
                ],
            ]
        },
        {"Fn::GetAtt": [stack.get_logical_id(composite.node.default_child), "Arn"]},  # type: ignore[arg-type]
    ]


def test_alarms_that_do_not_fit_one_event_pattern_get_more_rules() -> None:
    app = new_app()
    stack, endpoint = endpoint_stack(app)
    named = [
        cloudwatch.Alarm.from_alarm_arn(
            stack, f"N{i}", f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{'n' * 200}{i:02d}"
        )
        for i in range(12)
    ]
    created = [
        cloudwatch.Alarm(
            stack,
            f"C{i}",
            metric=cloudwatch.Metric(namespace="Team", metric_name=f"M{i}"),
            threshold=1,
            evaluation_periods=1,
        )
        for i in range(7)
    ]
    shift = TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        alarms=[*named, *created],
    )
    patterns = [
        stack.resolve(r.node.default_child.event_pattern)  # type: ignore[union-attr]
        for r in shift.alarm_rules
    ]
    assert [r.node.id for r in shift.alarm_rules] == [
        "AlarmRule",
        "AlarmRule2",
        "AlarmRule3",
        "AlarmRule4",
    ]
    # every alarm once, in order; the ARNs known at synth fit EventBridge's 2,048 characters
    assert [a for p in patterns for a in p["resources"]] == [
        stack.resolve(a.alarm_arn) for a in [*named, *created]
    ]
    for pattern in patterns:
        if all(isinstance(a, str) for a in pattern["resources"]):
            assert len(json.dumps(pattern, separators=(",", ":"))) <= 2048
    # an ARN known only at deploy time counts as the longest an alarm ARN may be (319)
    assert [len(p["resources"]) for p in patterns] == [7, 6, 5, 1]


def test_an_alarm_of_another_region_or_account_cannot_gate() -> None:
    stack, endpoint = endpoint_stack(new_app())
    for i, (arn, message) in enumerate(
        [
            (
                "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:errors",
                "Shift/Shift0: alarms[0]='arn:aws:cloudwatch:eu-west-1:123456789012:alarm:errors'"
                " is invalid: must be in the shift's Region (us-east-1), not eu-west-1: "
                "CloudWatch sends an alarm's state-change events to the default event bus of "
                "its own Region",
            ),
            (
                "arn:aws:cloudwatch:us-east-1:999999999999:alarm:errors",
                "must be in the shift's account (123456789012), not 999999999999",
            ),
        ]
    ):
        alarm = cloudwatch.Alarm.from_alarm_arn(stack, f"Alarm{i}", arn)
        with pytest.raises(ValidationError) as error:
            TrafficShift(
                stack,
                f"Shift{i}",
                endpoint=endpoint,
                source_variant="Champion",
                target_variant="Challenger",
                alarms=[alarm],
            )
        assert message in str(error.value)


def test_gating_alarms_of_another_stack_and_stage() -> None:
    """The alarms live with the endpoint; the shift in an ops stack imports them."""
    app = new_app()
    stage = cdk.Stage(app, "Prod", env=ENV)
    hosting, endpoint = endpoint_stack(stage, "Hosting")  # type: ignore[arg-type]
    monitoring = EndpointMonitoring(hosting, "Monitoring", endpoint=endpoint)
    ops = cdk.Stack(stage, "Ops", env=ENV)
    shift = TrafficShift(
        ops,
        "Shift",
        endpoint=endpoint,
        source_variant="Champion",
        target_variant="Challenger",
        monitoring=monitoring,
    )
    assembly = stage.synth()
    template = assembly.get_stack_by_name(ops.stack_name).template
    (rule,) = [
        r
        for lid, r in template["Resources"].items()
        if lid.startswith("ShiftAlarmRule") and r["Type"] == "AWS::Events::Rule"
    ]
    resources = rule["Properties"]["EventPattern"]["resources"]
    assert len(resources) == 3 and all("Fn::ImportValue" in r for r in resources)
    assert len(shift.alarm_rules) == 1
    for pack in PACKS:
        assert nag_findings(app, pack) == [], pack.__name__
