"""Fast rollback: seconds from a gating alarm going to ALARM to the shift's weights restored.

Against moto's server (``scripts/moto_server.py``, started as ``make
deploy-local`` starts it), with the TrafficShift construct's own pieces: a
small stack is synthesised (an endpoint imported by ARN with variants A and
B, two gating alarms imported by ARN), and its state machine definition,
its two functions (the state machine's and the alarm rule's, with the
environment the template gives them) and its alarm rule's event pattern are
created in the emulator by API. Then, ``--runs`` times:

1. a shift starts (``StartExecution``, steps 50, 100) and runs until its
   first step's weights are in place (A=B=0.5, baking);
2. the clock starts; ``SetAlarmState`` puts a gating alarm in ``ALARM``;
3. moto emits no CloudWatch alarm event (and delivers no rule to a Lambda
   target): the event EventBridge would send is built from
   ``DescribeAlarms``, matched against the synthesised rule's pattern with
   moto's own matcher, and the alarm function invoked with it (``Invoke``:
   the emulator runs the handler in a fresh Python process, like a Lambda
   cold start);
4. the clock stops when the function has restored the weights it found
   recorded with the lock (it returns once ``DescribeEndpoint`` shows them;
   each run checks them again). The emulator caps Wait states at 1 s, so the
   execution's own Check polls every few seconds (each action a fresh
   process) and may see the alarm and roll back first: a run where the
   function found the weights already
   restored (or the shift already finished) measured the poll, not the
   event path; it is counted apart (``poll_first_runs``) and left out of the
   function's times;
5. the execution is left to end by itself: its next poll sees the rollback
   mark and it must fail with ``RolledBack`` (checked, and timed too).

Each way of delivering the event is measured (``--delivery``): ``invoke``
as above, and ``in-process``, step 3's handler run in this process (a warm
Lambda), which also times the ``UpdateEndpointWeightsAndCapacities`` call
alone. What no emulator measures: CloudWatch's evaluation of the metric
(the alarm's period), EventBridge's delivery of the event (AWS documents no
figure; typically well under a second) and SageMaker applying the weights
(the endpoint is ``Updating`` for a while after the call returns; moto
applies them at once). Not a timed test: a measurement, written as JSON to
``--out``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
ENDPOINT = "bench-fraud"
ALARMS = ("bench-challenger-errors", "bench-health")
START = {"A": 0.9, "B": 0.1}
HALF = {"A": 0.5, "B": 0.5}
#: The issue's target: under 5 s from ALARM to weights restored, plus the update call.
TARGET_SECONDS = 5.0


def synthesise() -> dict[str, Any]:
    """The TrafficShift of a small stack: its template's resources, by logical ID."""
    import aws_cdk as cdk  # noqa: PLC0415 - only the parent process synthesises
    from aws_cdk import aws_cloudwatch as cloudwatch  # noqa: PLC0415
    from cdk_sagemaker_hosting import Endpoint, TrafficShift, VariantAttributes  # noqa: PLC0415

    app = cdk.App()
    stack = cdk.Stack(app, "Bench", env=cdk.Environment(account=ACCOUNT, region=REGION))
    endpoint = Endpoint.from_endpoint_attributes(
        stack,
        "Endpoint",
        endpoint_name=ENDPOINT,
        endpoint_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}",
        variants=[
            VariantAttributes(variant_name=v, instance_type="ml.m5.large") for v in ("A", "B")
        ],
    )
    alarms = [
        cloudwatch.Alarm.from_alarm_arn(
            stack, name, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
        )
        for name in ALARMS
    ]
    TrafficShift(
        stack,
        "Shift",
        endpoint=endpoint,
        source_variant="A",
        target_variant="B",
        steps=[50, 100],
        bake_time=cdk.Duration.seconds(30),
        poll_interval=cdk.Duration.seconds(30),
        alarms=alarms,
    )
    resources: dict[str, Any] = app.synth().get_stack_by_name("Bench").template["Resources"]
    return resources


def one(resources: dict[str, Any], prefix: str, kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, r) for lid, r in resources.items() if lid.startswith(prefix) and r["Type"] == kind
    ]
    return found


def resolve(value: Any, known: dict[str, str]) -> Any:
    """A template value with ``Ref``, ``Fn::GetAtt ... Arn`` and ``Fn::Join`` resolved."""
    if isinstance(value, dict) and "Ref" in value:
        return known[value["Ref"]]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return known[value["Fn::GetAtt"][0]]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(p, known)) for p in parts)
    if isinstance(value, dict):
        return {k: resolve(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, known) for v in value]
    return value


def package() -> bytes:
    """The functions' deployment package: ``traffic_shift/`` as the asset holds it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((ROOT / "lambda" / "traffic_shift").glob("*.py")):
            archive.write(path, f"traffic_shift/{path.name}")
    return buffer.getvalue()


def set_up(emulator: Any, resources: dict[str, Any]) -> dict[str, Any]:
    """The endpoint, alarms, topic, functions and state machine, created in the emulator."""
    sagemaker = emulator.client("sagemaker")
    sagemaker.create_model(
        ModelName="bench-model",
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/bench:1"},
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/bench",
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="bench-config",
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": "bench-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": weight,
            }
            for variant, weight in START.items()
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="bench-config")
    cloudwatch = emulator.client("cloudwatch")
    for name in ALARMS:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="bench")
    topic_id, _ = one(resources, "ShiftTopic", "AWS::SNS::Topic")
    known = {topic_id: emulator.client("sns").create_topic(Name="bench-shift")["TopicArn"]}
    role = emulator.client("iam").create_role(
        RoleName="bench-shift",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    aws_lambda = emulator.client("lambda")
    code = package()

    def function(prefix: str, name: str) -> str:
        lid, fn = one(resources, prefix, "AWS::Lambda::Function")
        props = fn["Properties"]
        arn: str = aws_lambda.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=props["Handler"],
            Code={"ZipFile": code},
            Timeout=props["Timeout"],
            Environment={"Variables": resolve(props["Environment"]["Variables"], known)},
        )["FunctionArn"]
        known[lid] = arn
        return arn

    function("ShiftFunction", "bench-shift")
    machine_id, machine = one(resources, "Shift", "AWS::StepFunctions::StateMachine")
    definition = resolve(machine["Properties"]["DefinitionString"], known)
    machine_arn = emulator.client("stepfunctions").create_state_machine(
        name="bench-shift", definition=definition, roleArn=role
    )["stateMachineArn"]
    known[machine_id] = machine_arn
    alarm_function = function("ShiftAlarmFunction", "bench-shift-alarm")
    _, rule = one(resources, "ShiftAlarmRule", "AWS::Events::Rule")
    return {
        "machine": machine_arn,
        "alarm_function": alarm_function,
        "pattern": resolve(rule["Properties"]["EventPattern"], known),
        "alarm_environment": aws_lambda.get_function_configuration(
            FunctionName="bench-shift-alarm"
        )["Environment"]["Variables"],
    }


def weights(sagemaker: Any) -> dict[str, float]:
    description = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    return {
        v["VariantName"]: float(v.get("CurrentWeight", 0.0))
        for v in description["ProductionVariants"]
    }


def alarm_event(cloudwatch: Any, name: str) -> dict[str, Any]:
    """CloudWatch's "Alarm State Change" event, as EventBridge would build it."""
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    stamp = alarm["StateUpdatedTimestamp"]
    return {
        "version": "0",
        "id": f"bench-{time.time_ns()}",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [alarm["AlarmArn"]],
        "detail": {
            "alarmName": name,
            "state": {
                "value": alarm["StateValue"],
                "reason": alarm["StateReason"],
                "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            },
            "previousState": {"value": "OK"},
            "configuration": {},
        },
    }


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            msg = f"{what} did not happen within {timeout} s"
            raise RuntimeError(msg)
        time.sleep(0.05)


class TimedUpdates:
    """A SageMaker client that times UpdateEndpointWeightsAndCapacities."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.seconds: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_endpoint_weights_and_capacities(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._client.update_endpoint_weights_and_capacities(**kwargs)
        finally:
            self.seconds.append(time.perf_counter() - started)


def deliver_in_process(
    event: dict[str, Any], environment: dict[str, str], sagemaker: TimedUpdates
) -> dict[str, Any]:
    """The alarm function's handler, run here (a warm Lambda)."""
    from cdk_sagemaker_hosting._lambda.traffic_shift import index  # noqa: PLC0415

    os.environ.update(environment)
    index._clients["sagemaker"] = sagemaker  # the bench's timed client

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 300_000

    result: dict[str, Any] = index.handler(event, Context())
    return result


def run_once(emulator: Any, setup: dict[str, Any], i: int, *, in_process: bool) -> dict[str, Any]:
    from moto.events.models import EventPattern  # noqa: PLC0415

    sagemaker, cloudwatch = emulator.client("sagemaker"), emulator.client("cloudwatch")
    sfn, aws_lambda = emulator.client("stepfunctions"), emulator.client("lambda")
    execution = sfn.start_execution(
        stateMachineArn=setup["machine"],
        name=f"bench-{i}-{time.time_ns()}",
        input=json.dumps({"steps": [50, 100], "bake_seconds": 30}),
    )["executionArn"]
    wait_for(lambda: weights(sagemaker) == HALF, 120, "the first step")
    alarm = ALARMS[i % len(ALARMS)]
    timed = TimedUpdates(sagemaker)

    started = time.perf_counter()
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="bench")
    set_state = time.perf_counter() - started
    event = alarm_event(cloudwatch, alarm)
    if not EventPattern.load(json.dumps(setup["pattern"])).matches_event(event):
        msg = f"the alarm rule's pattern does not match the event: {event}"
        raise RuntimeError(msg)
    if in_process:
        answer = deliver_in_process(event, setup["alarm_environment"], timed)
    else:
        response = aws_lambda.invoke(
            FunctionName=setup["alarm_function"], Payload=json.dumps(event)
        )
        answer = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise RuntimeError(f"the alarm function failed: {answer}")
    restored = time.perf_counter() - started
    by = restored_by(answer, weights(sagemaker))

    def ended() -> bool:
        return str(sfn.describe_execution(executionArn=execution)["status"]) != "RUNNING"

    wait_for(ended, 120, "the execution's end")
    finished = time.perf_counter() - started
    desc = sfn.describe_execution(executionArn=execution)
    if (desc["status"], desc.get("error")) != ("FAILED", "RolledBack") or alarm not in desc.get(
        "cause", ""
    ):
        raise RuntimeError(f"the execution did not end RolledBack on the alarm: {desc}")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="bench")
    return {
        "restored_seconds": restored,
        "set_alarm_state_seconds": set_state,
        "update_call_seconds": timed.seconds[0] if timed.seconds else None,
        "execution_ended_seconds": finished,
        "weights_before": answer.get("weights_before"),
        "restored_by": by,
    }


def restored_by(answer: dict[str, Any], now: dict[str, float]) -> str:
    """``function`` when the alarm function moved the weights back, ``poll`` when the
    execution's own Check had (the function found them restored, or the shift over).

    Anything else is an error: the weights are not back, or the event was
    ignored for another reason.
    """
    result, before = answer.get("result"), answer.get("weights_before")
    if now == START and result == "rolled_back":
        return "function" if before == HALF else "poll"
    if now == START and result == "ignored" and str(answer.get("reason")).startswith("no shift"):
        return "poll"
    msg = f"weights not restored by the alarm function: {now}, {answer}"
    raise RuntimeError(msg)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def measure(emulator: Any, setup: dict[str, Any], runs: int, *, in_process: bool) -> dict[str, Any]:
    """``runs`` rollbacks delivered one way, summarised."""
    found = []
    for i in range(runs):
        run = run_once(emulator, setup, i, in_process=in_process)
        print(
            f"{'in-process' if in_process else 'Invoke'} run {i + 1}/{runs}: restored in "
            f"{run['restored_seconds']:.3f} s (by the {run['restored_by']}), execution "
            f"ended after {run['execution_ended_seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        found.append(run)
    timed = [r for r in found if r["restored_by"] == "function"]
    restored = summary([r["restored_seconds"] for r in timed]) if timed else None
    updates = [r["update_call_seconds"] for r in timed if r["update_call_seconds"] is not None]
    return {
        "delivery": (
            "the handler in this process (a warm Lambda)"
            if in_process
            else "moto's Lambda Invoke (a fresh Python process per event: a cold start)"
        ),
        "runs": runs,
        "function_runs": len(timed),
        "poll_first_runs": len(found) - len(timed),
        "restored_seconds": restored,
        "set_alarm_state_seconds": summary([r["set_alarm_state_seconds"] for r in found]),
        "update_call_seconds": summary(updates) if updates else None,
        "execution_ended_seconds": summary([r["execution_ended_seconds"] for r in found]),
        "met": restored is not None and restored["p95"] < TARGET_SECONDS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-rollback-results.json")
    parser.add_argument("--runs", type=int, default=20, help="rollbacks per delivery")
    parser.add_argument(
        "--delivery",
        choices=("both", "in-process", "invoke"),
        default="both",
        help="run the alarm handler here (a warm Lambda), through moto's Invoke, or both",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from scripts.local_deploy import running_emulator  # noqa: PLC0415

    resources = synthesise()
    results: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-rollback-") as logs,
        running_emulator(Path(logs)) as emulator,
    ):
        for key, value in emulator.env().items():
            if key.startswith("AWS_"):
                os.environ[key] = value
        setup = set_up(emulator, resources)
        if args.delivery in ("both", "in-process"):
            results["in_process"] = measure(emulator, setup, args.runs, in_process=True)
        if args.delivery in ("both", "invoke"):
            results["invoke"] = measure(emulator, setup, args.runs, in_process=False)
    result = {
        "what": (
            "seconds from SetAlarmState(ALARM) to the shift's weights restored by the alarm "
            "function (runs where the execution's own poll restored them first are counted "
            "in poll_first_runs and left out), and to the execution's end (RolledBack), "
            "against moto's server"
        ),
        **results,
        "target_seconds": TARGET_SECONDS,
        "not_measured": (
            "CloudWatch's evaluation period, EventBridge's delivery of the event, and "
            "SageMaker applying the weights after the update call (moto applies them at once)"
        ),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if all(r["met"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
