"""`make deploy-local`: deploy the reference app into moto's server with the real CDK CLI.

Starts moto's server on 127.0.0.1 and a free port, bootstraps it, deploys
the artifacts stacks, uploads a placeholder model artifact, deploys the
remaining stacks, prints what the emulator now holds, and stops the server.
It also prints which resources of the templates the emulator does not
create, so that nobody mistakes a green local deploy for a full rehearsal.

The end-to-end tests drive the same functions.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import io
import json
import logging
import os
import random
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
from moto.events.models import EventPattern

from scripts.moto_server import FIXES, parse_definition

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
CDK = ROOT / "node_modules" / ".bin" / "cdk"
#: moto's server with the documented fixes of scripts/moto_server.py.
MOTO_SERVER = ROOT / "scripts" / "moto_server.py"
ENVIRONMENTS_KEY = "cdk-sagemaker-hosting:environments"
#: Longest Wait state of an execution in the rehearsal, in seconds (scripts/moto_server.py's
#: MOTO_SFN_MAX_WAIT_SECONDS): a shift polls every 30 s in AWS.
MAX_WAIT = 1
#: Stacks deployed before the model artifact is uploaded.
FIRST_PHASE_SUFFIX = "-artifacts"
#: Registry stacks, deployed in the first phase: a version is approved before the hosting
#: stack, whose challenger is the recorded approved version, is deployed.
REGISTRY_SUFFIX = "-registry"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class Emulator:
    """moto's server in a child process, on 127.0.0.1."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        """The endpoint URL every AWS client is pointed at.

        The server listens on 127.0.0.1 only, but the URL must say
        ``localhost``: moto's CloudFormation reads a ``TemplateURL`` path-style
        only when its host contains "localhost", and the CDK CLI passes one
        built from this URL.
        """
        return f"http://localhost:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for the CDK CLI and boto3: credentials, Region, endpoint."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            CDK_DISABLE_CLI_TELEMETRY="true",
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        )
        return env

    def configure(self, config: dict[str, Any]) -> dict[str, Any]:
        """Set moto's config through its ``/moto-api/config`` endpoint; return the new config."""
        request = urllib.request.Request(
            f"{self.url}/moto-api/config",
            data=json.dumps(config).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer

    def client(self, service: str) -> Any:
        """A boto3 client talking to the emulator."""
        return boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        ).client(service, endpoint_url=self.url)


@contextlib.contextmanager
def running_emulator(log_dir: Path, timeout: float = 60.0) -> Iterator[Emulator]:
    """Start moto's server, wait until it answers, and always stop it."""
    port = free_port()
    log_path = log_dir / "moto-server.log"
    # The ASL interpreter calls the server back on MOTO_PORT (Lambda, S3, SageMaker...).
    server_env = {**os.environ, "MOTO_PORT": str(port), "MOTO_SFN_MAX_WAIT_SECONDS": str(MAX_WAIT)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env,
        )
    emulator = Emulator(port=port, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto's server exited early; see {log_path}")
            try:
                with urllib.request.urlopen(f"{emulator.url}/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto's server did not answer in {timeout} s") from None
                time.sleep(0.2)
        emulator.configure({"stepfunctions": {"execute_state_machine": True}})
        yield emulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cdk(
    args: Sequence[str], *, env: dict[str, str], echo: bool = True, timeout: float = 600
) -> None:
    """Run the pinned CDK CLI; raise with its output when it fails or hangs."""
    cmd = [str(CDK), *args, "--no-notices"]
    if echo:
        print("$ cdk " + " ".join(args), flush=True)
    try:
        result = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as err:
        raise RuntimeError(
            f"cdk {' '.join(args)} did not finish in {timeout} s:\n{err.stdout!r}\n{err.stderr!r}"
        ) from err
    if result.returncode != 0:
        raise RuntimeError(
            f"cdk {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def synth(assembly: Path, env: dict[str, str], context: dict[str, str] | None = None) -> None:
    """Synthesise the reference app into ``assembly`` (cdk-nag packs run here)."""
    ctx = [arg for key, value in (context or {}).items() for arg in ("-c", f"{key}={value}")]
    cdk(["synth", "--quiet", "--output", str(assembly), *ctx], env=env)


def stack_names(assembly: Path) -> list[str]:
    """Stack names of a cloud assembly, in dependency order."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    stacks = {
        name: art.get("dependencies", [])
        for name, art in manifest["artifacts"].items()
        if art["type"] == "aws:cloudformation:stack"
    }
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name not in stacks:
            return
        for dep in stacks[name]:
            visit(dep)
        ordered.append(name)

    for name in stacks:
        visit(name)
    return ordered


def placeholder_model_artifact() -> bytes:
    """A small ``model.tar.gz``. The emulator stores it but never loads a model."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"placeholder artifact for the local emulator; no model is loaded here\n"
        info = tarfile.TarInfo("README.txt")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def environments(override: dict[str, Any] | None = None) -> dict[str, Any]:
    """The environments the app is synthesised with: cdk.json's, or an override."""
    if override is not None:
        return override
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    envs: dict[str, Any] = context[ENVIRONMENTS_KEY]
    return envs


def data_keys(config: Any) -> list[str]:
    """Every artifact key an environment's configuration names (``*data_key``), nested too."""
    if not isinstance(config, dict):
        return []
    found = []
    for name, value in config.items():
        if name.endswith("data_key") and isinstance(value, str):
            found.append(value)
        found += data_keys(value)
    return sorted(set(found))


def model_data_keys(assembly: Path, env_name: str) -> list[str]:
    """Artifact keys the models of an environment's stacks read from another stack's bucket.

    A ``ModelDataUrl`` of ``ModelData.from_bucket`` is ``s3://`` + an imported
    bucket name + ``/<key>``; the key is the join's last string.
    """
    keys: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            url = node.get("ModelDataUrl")
            if isinstance(url, dict) and "Fn::Join" in url:
                parts = url["Fn::Join"][1]
                if any(isinstance(p, dict) and "Fn::ImportValue" in p for p in parts):
                    keys.add(str(parts[-1]).lstrip("/"))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for template in assembly.glob(f"{env_name}-*.template.json"):
        visit(json.loads(template.read_text()))
    return sorted(keys)


def upload_artifacts(
    emulator: Emulator, assembly: Path, stacks: Sequence[str], envs: dict[str, Any]
) -> list[str]:
    """Put a placeholder artifact at every key the environment's models read."""
    s3 = emulator.client("s3")
    cfn = emulator.client("cloudformation")
    uploaded = []
    for stack in stacks:
        env_name = stack.removesuffix(FIRST_PHASE_SUFFIX)
        outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        bucket = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ArtifactsBucketName")
        keys = sorted({*data_keys(envs[env_name]), *model_data_keys(assembly, env_name)})
        for key in keys:
            s3.put_object(Bucket=bucket, Key=key, Body=placeholder_model_artifact())
            uploaded.append(f"s3://{bucket}/{key}")
    return uploaded


def deploy_reference_app(
    emulator: Emulator,
    assembly: Path,
    envs: dict[str, Any] | None = None,
    *,
    timeout: float = 600,
) -> list[str]:
    """Bootstrap, then deploy every stack of the app in two phases; return stack names.

    ``envs`` replaces cdk.json's environments (``-c``), e.g. for a new model version.
    """
    env = emulator.env()
    context = {ENVIRONMENTS_KEY: json.dumps(envs)} if envs is not None else None
    synth(assembly, env, context)
    names = stack_names(assembly)
    first = [n for n in names if n.endswith(FIRST_PHASE_SUFFIX)]
    registries = [n for n in names if n.endswith(REGISTRY_SUFFIX)]
    rest = [n for n in names if n not in first and n not in registries]
    # From the synthesised assembly: no second synth into ./cdk.out, whose lock would
    # refuse a concurrent run of the app (another rehearsal, `cdk synth`).
    cdk(["bootstrap", "--app", str(assembly), f"aws://{ACCOUNT}/{REGION}"], env=env)
    deploy = ["deploy", "--app", str(assembly), "--require-approval", "never", "--exclusively"]
    cdk([*deploy, *first, *registries], env=env, timeout=timeout)
    for url in upload_artifacts(emulator, assembly, first, environments(envs)):
        print(f"uploaded placeholder model artifact {url}", flush=True)
    for stack in registries:
        config = environments(envs)[stack.removesuffix(REGISTRY_SUFFIX)]
        approval = approve_first_version(emulator, stack, image=config["model_image"])
        print(
            f"{stack}: registered and approved {approval['version']}; the trigger "
            f"{approval['result']} it in {approval['parameter']}",
            flush=True,
        )
    cdk([*deploy, *rest], env=env, timeout=timeout)
    return names


def stack_outputs(emulator: Emulator, stack: str) -> dict[str, str]:
    """A deployed stack's outputs by key."""
    cfn = emulator.client("cloudformation")
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


def approval_event(arn: str, group: str, status: str = "Approved") -> dict[str, Any]:
    """SageMaker's ``Model Package State Change`` event for version ``arn`` of ``group``."""
    return {
        "version": "0",
        "id": f"rehearsal-{arn.rsplit('/', 1)[-1]}-{status}",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-11-30T08:00:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": int(arn.rsplit("/", 1)[-1]),
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
        },
    }


def approve_first_version(emulator: Emulator, stack: str, *, image: str) -> dict[str, Any]:
    """Register version 1 of the registry stack's group, approve it, let the trigger record it.

    What a training pipeline and a reviewer do in AWS; the approval event is
    delivered to the deployed rule's function (moto's SageMaker sends none),
    which records the version the hosting stack's challenger resolves at deploy.
    """
    outputs = stack_outputs(emulator, stack)
    group = outputs["ModelPackageGroupName"]
    bucket = outputs["RegistryArtifactsBucketName"]
    sagemaker = emulator.client("sagemaker")
    if not sagemaker.list_model_package_groups(NameContains=group)["ModelPackageGroupSummaryList"]:
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        stand_in(
            "model-package-group",
            "The model package group (AWS::SageMaker::ModelPackageGroup): moto's CloudFormation "
            "does not create it, so the rehearsal creates it through the API",
        )
    key = f"{group}/1/model.tar.gz"
    emulator.client("s3").put_object(Bucket=bucket, Key=key, Body=placeholder_model_artifact())
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="Registered by the local rehearsal",
        InferenceSpecification={
            "Containers": [{"Image": image, "ModelDataUrl": f"s3://{bucket}/{key}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    function = emulator.client("lambda").get_function(
        FunctionName=outputs["PromotionFunctionName"]
    )["Configuration"]["FunctionArn"]
    delivered = deliver_to_rule(
        emulator,
        approval_event(arn, group),
        function,
        stand_in_as=(
            "approval-event",
            "SageMaker's Model Package State Change event on approval: moto's SageMaker emits "
            "none, so the rehearsal builds it, matches it against the deployed rule's pattern "
            "and invokes the rule's Lambda target",
        ),
    )
    answer = delivered["answer"] or {}
    if delivered["error"]:
        raise RuntimeError(f"the promotion trigger of {stack} failed: {delivered}")
    parameter = outputs["ApprovedVersionParameter"]
    recorded = emulator.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    if recorded != arn:
        raise RuntimeError(f"{parameter} holds {recorded!r}, not the approved {arn}: {answer}")
    return {
        "version": arn,
        "result": answer.get("result"),
        "parameter": parameter,
        "rule": delivered["rule"],
    }


def not_emulated(emulator: Emulator, assembly: Path, stacks: Sequence[str]) -> dict[str, int]:
    """Resource types in the templates that the emulator's stacks do not hold, with counts."""
    cfn = emulator.client("cloudformation")
    missing: Counter[str] = Counter()
    for stack in stacks:
        template = json.loads((assembly / f"{stack}.template.json").read_text())
        created = {
            r["LogicalResourceId"]
            for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]
            if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
        }
        for logical_id, resource in template["Resources"].items():
            if logical_id not in created and resource["Type"] != "AWS::CDK::Metadata":
                missing[resource["Type"]] += 1
    return dict(sorted(missing.items()))


def dropped_properties(emulator: Emulator, endpoints: dict[str, Any]) -> list[str]:
    """Properties our templates always set that the emulator accepted but does not store.

    Each is read back through the AWS API: a value that differs from what
    every template of this library sets means the emulator dropped it.
    """
    sm, s3, logs = emulator.client("sagemaker"), emulator.client("s3"), emulator.client("logs")
    dropped = set()
    for name, ep in endpoints.items():
        for variant in ep["variants"].values():
            if not variant["containers"]:  # inference components: no model of the variant's own
                continue
            if not sm.describe_model(ModelName=variant["model"]).get("EnableNetworkIsolation"):
                dropped.add("AWS::SageMaker::Model EnableNetworkIsolation (reads back false)")
            for url in variant["model_data"]:
                bucket = (url or "s3:///").removeprefix("s3://").split("/")[0]
                if not bucket:
                    continue
                rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
                if not rules["Rules"][0].get("BucketKeyEnabled"):
                    dropped.add("AWS::S3::Bucket BucketKeyEnabled (reads back false)")
                if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
                    dropped.add("AWS::S3::Bucket VersioningConfiguration (reads back unset)")
                if "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket):
                    dropped.add("AWS::S3::Bucket LoggingConfiguration (reads back unset)")
                try:
                    s3.get_public_access_block(Bucket=bucket)
                except s3.exceptions.ClientError:
                    dropped.add("AWS::S3::Bucket PublicAccessBlockConfiguration (reads back unset)")
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/sagemaker/Endpoints/{name}")
        if any("kmsKeyId" not in g for g in groups["logGroups"]):
            dropped.add("AWS::Logs::LogGroup KmsKeyId (reads back unset)")
    return sorted(dropped)


def summarize_endpoints(emulator: Emulator) -> dict[str, Any]:
    """Each endpoint's status, config and variants: current and initial weights and instances."""
    sm = emulator.client("sagemaker")
    endpoints: dict[str, Any] = {}
    for ep in sm.list_endpoints()["Endpoints"]:
        desc = sm.describe_endpoint(EndpointName=ep["EndpointName"])
        config = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])
        variants = {}
        for v in config["ProductionVariants"]:
            # A variant hosting inference components has no model of its own.
            model = sm.describe_model(ModelName=v["ModelName"]) if "ModelName" in v else {}
            live: dict[str, Any] = next(
                (
                    p
                    for p in desc.get("ProductionVariants", [])
                    if p["VariantName"] == v["VariantName"]
                ),
                {},
            )
            containers = model.get("Containers") or ([model["PrimaryContainer"]] if model else [])
            variants[v["VariantName"]] = {
                # as the endpoint reports them now (moto omits CurrentWeight when it is zero)
                "weight": live.get("CurrentWeight", 0.0 if live else v["InitialVariantWeight"]),
                "instances": live.get("CurrentInstanceCount", v.get("InitialInstanceCount")),
                # as the endpoint config sets them
                "initial_weight": v.get("InitialVariantWeight"),
                "initial_instances": v.get("InitialInstanceCount"),
                "instance_type": v.get("InstanceType"),
                "model": v.get("ModelName", "(inference components)"),
                "containers": len(containers) if model else 0,
                "model_data": [c["ModelDataUrl"] for c in containers if c.get("ModelDataUrl")],
                "model_packages": [
                    c["ModelPackageName"] for c in containers if c.get("ModelPackageName")
                ],
            }
        capture = config.get("DataCaptureConfig") or {}
        endpoints[ep["EndpointName"]] = {
            "status": desc["EndpointStatus"],
            "config": desc["EndpointConfigName"],
            "kms_key": config.get("KmsKeyId"),
            "data_capture_percentage": capture.get("InitialSamplingPercentage"),
            "variants": variants,
        }
    return endpoints


def summarize(emulator: Emulator, assembly: Path, stacks: Sequence[str]) -> dict[str, Any]:
    """What the emulator holds after the deploy: stacks, endpoints, models, buckets, keys."""
    cfn = emulator.client("cloudformation")
    sm = emulator.client("sagemaker")
    summary: dict[str, Any] = {"emulator": emulator.url, "stacks": {}, "endpoints": {}}
    for stack in stacks:
        desc = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        summary["stacks"][stack] = desc["StackStatus"]
    summary["endpoints"] = summarize_endpoints(emulator)
    summary["models"] = sorted(m["ModelName"] for m in sm.list_models()["Models"])
    summary["dashboards"] = sorted(
        d["DashboardName"]
        for d in emulator.client("cloudwatch").list_dashboards()["DashboardEntries"]
    )
    summary["buckets"] = sorted(b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"])
    kms = emulator.client("kms")
    summary["kms_keys"] = {
        k["KeyId"]: kms.get_key_rotation_status(KeyId=k["KeyId"])["KeyRotationEnabled"]
        for k in kms.list_keys()["Keys"]
    }
    summary["not_emulated"] = not_emulated(emulator, assembly, stacks)
    summary["dropped_properties"] = dropped_properties(emulator, summary["endpoints"])
    summary["emulator_fixes"] = list(FIXES)
    summary["state_machines"] = state_machines(emulator)
    summary["not_executable"] = not_executable(emulator)
    return summary


#: The A/B endpoint of the reference app whose challenger the demo promotes.
SHIFT_ENDPOINT = "prod-fraud-detection"


# --- executions of the deployed state machines ----------------------------------------


@dataclasses.dataclass
class Execution:
    """One execution of a deployed state machine, as Step Functions reports it."""

    machine: str
    name: str
    input: dict[str, Any]
    status: str
    path: list[str]
    output: Any = None
    error: str | None = None
    cause: str | None = None
    arn: str = ""

    def to_json(self) -> dict[str, Any]:
        """The execution for the JSON summary."""
        return dataclasses.asdict(self)


def machine_arn(emulator: Emulator, prefix: str) -> str:
    """The ARN of the one deployed state machine whose name starts with ``prefix``."""
    machines = emulator.client("stepfunctions").list_state_machines()["stateMachines"]
    (arn,) = [m["stateMachineArn"] for m in machines if m["name"].startswith(prefix)]
    return str(arn)


def history(emulator: Emulator, execution_arn: str) -> list[dict[str, Any]]:
    """Every event of an execution's history, oldest first."""
    sfn = emulator.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def states_entered(events: Sequence[dict[str, Any]]) -> list[str]:
    """The execution's path: the name of each state entered, in order."""
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def execute(
    emulator: Emulator,
    arn: str,
    execution_input: dict[str, Any],
    *,
    name: str,
    during: Any = None,
    timeout: float = 180,
) -> Execution:
    """Start an execution and wait for its end; ``during(execution_arn, path)`` runs each poll.

    ``during`` may act on the execution (stop it, set an alarm); it returns
    nothing. The execution's path and outcome are read from its history.
    """
    sfn = emulator.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(execution_input))
    execution_arn = started["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            break
        if during is not None:
            during(execution_arn, states_entered(history(emulator, execution_arn)))
        if time.monotonic() > deadline:
            sfn.stop_execution(executionArn=execution_arn, error="Rehearsal", cause="timed out")
            msg = f"execution {name} of {arn} ran longer than {timeout} s"
            raise RuntimeError(msg)
        time.sleep(0.5)
    output = described.get("output")
    return Execution(
        machine=arn.rsplit(":", 1)[-1],
        name=name,
        input=execution_input,
        status=described["status"],
        path=states_entered(history(emulator, execution_arn)),
        output=json.loads(output) if output else None,
        error=described.get("error"),
        cause=described.get("cause"),
        arn=execution_arn,
    )


def endpoint_weights(emulator: Emulator, endpoint: str) -> dict[str, float]:
    """Each variant's current weight as the endpoint reports it."""
    desc = emulator.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    # moto omits CurrentWeight when it is zero
    return {v["VariantName"]: v.get("CurrentWeight", 0.0) for v in desc["ProductionVariants"]}


def set_weights(emulator: Emulator, endpoint: str, weights: dict[str, float]) -> None:
    """Put the endpoint's weights back where a scenario starts."""
    emulator.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[
            {"VariantName": name, "DesiredWeight": weight} for name, weight in weights.items()
        ],
    )


def function_environment(
    emulator: Emulator, variable: str, arn: str | None = None
) -> dict[str, Any]:
    """The deployed function whose environment holds ``variable`` (and whose ARN is ``arn``,
    when given): its name, ARN and environment."""
    functions = emulator.client("lambda").list_functions()["Functions"]
    (function,) = [
        f
        for f in functions
        if variable in (f.get("Environment") or {}).get("Variables", {})
        and arn in (None, f["FunctionArn"])
    ]
    return {
        "name": function["FunctionName"],
        "arn": function["FunctionArn"],
        "env": function["Environment"]["Variables"],
    }


#: What the rehearsal stands in for, because the emulator cannot do it; printed in the summary.
STAND_INS: dict[str, str] = {}


def stand_in(key: str, text: str) -> None:
    """Record a stand-in, once."""
    STAND_INS.setdefault(key, text)


def stand_ins() -> list[str]:
    """Every stand-in of the rehearsal so far, as the summary prints them."""
    return [
        f"Wait states and the handlers' sleeps last at most {MAX_WAIT} s "
        "(MOTO_SFN_MAX_WAIT_SECONDS; the shift polls every 30 s in AWS)",
        *STAND_INS.values(),
    ]


#: What the drift and quality rehearsals write in place of SageMaker's data capture.
DATA_CAPTURE_STAND_IN = (
    "SageMaker's data capture: no model serves requests here, so the rehearsal writes the "
    "capture objects (JSON lines as SageMaker writes them, in each variant's hour folders) "
    "that the drift and model-quality checks read; and the ground-truth labels a labelling "
    "process would write for the quality check"
)


def gating_alarms(emulator: Emulator, names: Sequence[str]) -> None:
    """Create the shift's gating alarms, which moto's CloudFormation skips, in state OK."""
    cloudwatch = emulator.client("cloudwatch")
    for alarm in names:
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="rehearsal")
    stand_in(
        "alarms",
        "the traffic shift's gating alarms: moto's CloudFormation creates no CloudWatch alarm, "
        "so alarms of the names the function is configured with are created by PutMetricAlarm, "
        "set to OK and, in the alarm scenario, to ALARM mid-bake by SetAlarmState",
    )


@contextlib.contextmanager
def variant_traffic(emulator: Emulator, endpoint: str, variants: Sequence[str]) -> Iterator[None]:
    """Publish SageMaker's per-variant invocation metrics every half second while running."""
    cloudwatch = emulator.client("cloudwatch")
    stop = threading.Event()

    def publish() -> None:
        while not stop.wait(0.5):
            cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {
                        "MetricName": metric,
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": endpoint},
                            {"Name": "VariantName", "Value": variant},
                        ],
                        "Value": value,
                    }
                    for variant in variants
                    for metric, value in (("Invocations", 60.0), ("Invocation5XXErrors", 0.0))
                ],
            )

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    stand_in(
        "metrics",
        "SageMaker's per-variant Invocations and Invocation5XXErrors metrics: no model serves "
        "traffic here, so the rehearsal publishes them (PutMetricData) while a shift runs; "
        "ModelLatency is not published (moto computes no percentile statistic)",
    )
    try:
        yield
    finally:
        stop.set()
        thread.join()


def status_change_event(emulator: Emulator, execution_arn: str) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event AWS sends when an execution ends."""
    desc = emulator.client("stepfunctions").describe_execution(executionArn=execution_arn)
    stopped = desc.get("stopDate")
    return {
        "version": "0",
        "id": f"rehearsal-{desc['name']}",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": (stopped or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": desc["stateMachineArn"],
            "name": desc["name"],
            "status": desc["status"],
            "startDate": int(desc["startDate"].timestamp() * 1000),
            "stopDate": int(stopped.timestamp() * 1000) if stopped else None,
            "input": desc.get("input"),
            "output": desc.get("output"),
        },
    }


def deliver_to_rule(
    emulator: Emulator,
    event: dict[str, Any],
    target_arn: str,
    *,
    stand_in_as: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Deliver ``event`` as EventBridge would: to each Lambda target of each rule it matches.

    moto emits no Step Functions status-change event and delivers no rule to a
    Lambda target, so the deployed rules' patterns are matched (with moto's
    matcher: its TestEventPattern answers nothing) and their Lambda target
    invoked with the event.
    """
    events = emulator.client("events")
    aws_lambda = emulator.client("lambda")
    for rule in events.list_rules()["Rules"]:
        if "EventPattern" not in rule:
            continue
        # moto's TestEventPattern answers nothing: its own matcher, as its rules use it.
        if not EventPattern.load(rule["EventPattern"]).matches_event(event):  # type: ignore[arg-type]
            continue
        for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            if target["Arn"] != target_arn:
                continue
            answer = aws_lambda.invoke(FunctionName=target["Arn"], Payload=json.dumps(event))
            stand_in(
                *(
                    stand_in_as
                    or (
                        "abort-event",
                        "EventBridge's delivery of the Step Functions status-change event to "
                        "the abort rule: moto emits no such event and delivers no rule to a "
                        "Lambda target, so the event is built from DescribeExecution, matched "
                        "against the deployed rule's pattern, and the rule's Lambda target "
                        "invoked with it",
                    )
                )
            )
            return {
                "rule": rule["Name"],
                "error": answer.get("FunctionError"),
                "answer": json.loads(answer["Payload"].read()),
            }
    return {"rule": None, "error": "no deployed rule matched the event", "answer": None}


def alarm_state_change_event(name: str, arn: str) -> dict[str, Any]:
    """CloudWatch's "Alarm State Change" event for alarm ``name`` (``arn``) going to ALARM."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return {
        "version": "0",
        "id": f"rehearsal-alarm-{time.monotonic_ns()}",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "time": now[:19] + "Z",
        "region": REGION,
        "resources": [arn],
        "detail": {
            "alarmName": name,
            "state": {"value": "ALARM", "reason": "rehearsal", "timestamp": now},
            "previousState": {"value": "OK", "reason": "rehearsal", "timestamp": now},
        },
    }


def gating_alarm_arn(name: str, arns: Sequence[str]) -> str:
    """The ARN the deployed alarm rules and function know gating alarm ``name`` by.

    moto's CloudFormation skips the alarms, so their ``Ref`` and ``Arn`` are the
    placeholders of ``ref-not-emulated`` and ``getatt-not-emulated``, both named
    after the alarm's logical ID.
    """
    logical_id = name.removeprefix("not-emulated:")
    (arn,) = [a for a in arns if a.endswith(f":{logical_id}.Arn")]
    return arn


def shift_executions(emulator: Emulator, endpoint: str = SHIFT_ENDPOINT) -> dict[str, Any]:
    """Run the deployed ``PromoteChallenger`` state machine through its ends.

    Rolled back on an alarm mid-bake (by the state machine's own check, then
    by the fast rollback: the alarm rule's function on the alarm's event),
    aborted (StopExecution, then the abort rule's function restores the
    weights) and promoted, in that order, each
    from the input a person gives ``StartExecution`` (only ``steps`` and
    ``bake_seconds`` may be set; the rest is the function's configuration).
    """
    arn = machine_arn(emulator, f"{endpoint.split('-', maxsplit=1)[0]}-hosting-PromoteChallenger")
    # The function the state machine calls (the fast-rollback AlarmFunction has its code too).
    definition = emulator.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    start = json.loads(definition["definition"])["States"]["Start"]["Resource"]
    function = function_environment(emulator, "SHIFT_DEFAULTS", start)
    defaults = json.loads(function["env"]["SHIFT_DEFAULTS"])
    source, target = defaults["source"], defaults["target"]
    gating_alarms(emulator, defaults["alarms"])
    cloudwatch = emulator.client("cloudwatch")
    initial = endpoint_weights(emulator, endpoint)
    found: dict[str, Any] = {"endpoint": endpoint, "initial": initial, "executions": {}}
    stamp = int(time.time())

    def alarm_mid_bake(_: str, path: list[str]) -> None:
        if "Bake" in path:
            cloudwatch.set_alarm_state(
                AlarmName=defaults["alarms"][0], StateValue="ALARM", StateReason="rehearsal"
            )

    def stop_mid_bake(execution_arn: str, path: list[str]) -> None:
        if "Bake" in path:
            emulator.client("stepfunctions").stop_execution(
                executionArn=execution_arn, error="Rehearsal", cause="a person stopped the shift"
            )

    with variant_traffic(emulator, endpoint, [source, target]):
        rolled = execute(
            emulator,
            arn,
            {"steps": [75, 100], "bake_seconds": 30},
            name=f"alarm-{stamp}",
            during=alarm_mid_bake,
        )
        cloudwatch.set_alarm_state(
            AlarmName=defaults["alarms"][0], StateValue="OK", StateReason="rehearsal"
        )
        found["executions"]["rolled back on an alarm"] = {
            **rolled.to_json(),
            "weights": endpoint_weights(emulator, endpoint),
        }
        fast = alarm_function(emulator, arn)
        if fast is not None:
            found["executions"]["rolled back by the alarm rule"] = fast_rollback(
                emulator, arn, endpoint, fast, defaults["alarms"][0], name=f"alarm-rule-{stamp}"
            )
        aborted = execute(
            emulator,
            arn,
            {"steps": [75, 100], "bake_seconds": 30},
            name=f"abort-{stamp}",
            during=stop_mid_bake,
        )
        stopped_at = endpoint_weights(emulator, endpoint)
        delivered = deliver_to_rule(
            emulator, status_change_event(emulator, aborted.arn), function["arn"]
        )
        found["executions"]["aborted"] = {
            **aborted.to_json(),
            "weights_when_stopped": stopped_at,
            "abort_rule": delivered,
            "weights": endpoint_weights(emulator, endpoint),
        }
        # bake_seconds may not be below the configured poll (30 s); the bake is real time.
        promoted = execute(
            emulator, arn, {"steps": [100], "bake_seconds": 30}, name=f"promote-{stamp}"
        )
        found["executions"]["promoted"] = {
            **promoted.to_json(),
            "weights": endpoint_weights(emulator, endpoint),
        }
    return found


def alarm_function(emulator: Emulator, machine: str) -> dict[str, Any] | None:
    """The fast rollback's function of the shift state machine ``machine`` (None: none)."""
    functions = emulator.client("lambda").list_functions()["Functions"]
    found = [
        f
        for f in functions
        if (f.get("Environment") or {}).get("Variables", {}).get("STATE_MACHINE_ARN") == machine
        and "ALARM_ARNS" in f["Environment"]["Variables"]
    ]
    if not found:
        return None
    (function,) = found
    return {
        "name": function["FunctionName"],
        "arn": function["FunctionArn"],
        "env": function["Environment"]["Variables"],
    }


def fast_rollback(
    emulator: Emulator,
    machine: str,
    endpoint: str,
    function: dict[str, Any],
    alarm: str,
    *,
    name: str,
) -> dict[str, Any]:
    """A shift rolled back by the alarm rule the moment its gating alarm goes to ALARM.

    Mid-bake, the alarm's "Alarm State Change" event is delivered to the
    deployed alarm rule's function, which marks the shift rolled back and
    restores the weights; then the alarm is set to ALARM, as it is when AWS
    sends the event. The execution ends rolled back at its next action.
    """
    cloudwatch = emulator.client("cloudwatch")
    event = alarm_state_change_event(
        alarm, gating_alarm_arn(alarm, json.loads(function["env"]["ALARM_ARNS"]))
    )
    delivered: dict[str, Any] = {}

    def alarm_event_mid_bake(_: str, path: list[str]) -> None:
        if "Bake" in path and not delivered:
            delivered.update(
                deliver_to_rule(
                    emulator,
                    event,
                    function["arn"],
                    stand_in_as=(
                        "alarm-event",
                        "CloudWatch's Alarm State Change event of a gating alarm going to ALARM: "
                        "moto's CloudWatch emits none and its EventBridge delivers no rule to a "
                        "Lambda target, so the event is built (the alarm's name and the ARN the "
                        "deployed rule names: placeholders, as moto skips the alarm), matched "
                        "against the deployed alarm rule's pattern and the rule's Lambda target "
                        "invoked with it",
                    ),
                )
            )
            delivered["weights_after_function"] = endpoint_weights(emulator, endpoint)
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="rehearsal")

    try:
        run = execute(
            emulator,
            machine,
            {"steps": [75, 100], "bake_seconds": 30},
            name=name,
            during=alarm_event_mid_bake,
        )
    finally:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="rehearsal")
    weights_after_function = delivered.pop("weights_after_function", None)
    return {
        **run.to_json(),
        "alarm_rule": delivered or None,
        "weights_after_function": weights_after_function,
        "weights": endpoint_weights(emulator, endpoint),
    }


#: Synthetic fraud-detection features: the training data, and live traffic.
DRIFT_COLUMNS = ["amount", "customer_age", "merchant_category"]


def drift_rows(n: int, *, seed: int, shift: bool) -> list[list[str]]:
    """Rows of the synthetic features; ``shift`` moves amounts up and the category mix."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    categories = ["grocery", "fuel", "travel", "online"]
    weights = [0.1, 0.1, 0.2, 0.6] if shift else [0.4, 0.3, 0.2, 0.1]
    return [
        [
            f"{rng.gauss(140 if shift else 100, 20):.2f}",
            str(rng.randint(18, 90)),
            rng.choices(categories, weights)[0],
        ]
        for _ in range(n)
    ]


def capture_object(rows: list[list[str]], at: dt.datetime) -> str:
    """Data-capture JSON lines as SageMaker writes them, one request per row."""
    return "".join(
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "mode": "INPUT",
                        "data": ",".join(row),
                        "encoding": "CSV",
                    }
                },
                "eventMetadata": {
                    "eventId": f"demo-{i}",
                    "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
                "eventVersion": "0",
            },
            separators=(",", ":"),
        )
        + "\n"
        for i, row in enumerate(rows)
    )


def drift_setup(emulator: Emulator) -> dict[str, Any]:
    """The deployed drift check: its state machine, its function's configuration, a baseline.

    The configuration is the deployed function's own (``DRIFT_CONFIG``); the
    baseline is built from synthetic training data and written where it says.
    """
    from cdk_sagemaker_hosting._lambda.drift import baseline, monitor  # noqa: PLC0415

    function = function_environment(emulator, "DRIFT_CONFIG")
    config = monitor.Config.from_json(json.loads(function["env"]["DRIFT_CONFIG"]))
    trained = baseline.build(DRIFT_COLUMNS, drift_rows(5000, seed=1, shift=False))
    emulator.client("s3").put_object(
        Bucket=config.baseline_bucket,
        Key=config.baseline_key,
        Body=json.dumps(trained.to_json()).encode(),
    )
    machines = emulator.client("stepfunctions").list_state_machines()["stateMachines"]
    prefix = f"{config.endpoint.split('-', maxsplit=1)[0]}hosting-DriftMonitor"
    (arn,) = [m["stateMachineArn"] for m in machines if m["name"].startswith(prefix)]
    return {"arn": arn, "config": config}


def write_capture(
    emulator: Emulator, config: Any, scheduled: dt.datetime, objects: int, rows: int
) -> dict[str, Any]:
    """Capture ``objects`` objects of ``rows`` requests per variant in the window of ``scheduled``.

    The champion's traffic follows the training data; the challenger's has
    larger amounts and another mix of merchant categories.
    """
    from cdk_sagemaker_hosting._lambda.drift.check import window  # noqa: PLC0415

    start, end = window(
        scheduled,
        dt.timedelta(seconds=config.window_seconds),
        dt.timedelta(seconds=config.delay_seconds),
    )
    s3 = emulator.client("s3")
    stand_in("data-capture", DATA_CAPTURE_STAND_IN)
    step = (end - start) / (objects + 1)
    for variant, shift in (("Champion", False), ("Challenger", True)):
        for i in range(objects):
            at = start + step * (i + 1)
            key = (
                f"{config.capture_prefix}{config.endpoint}/{variant}/"
                f"{at:%Y/%m/%d/%H}/{at:%M-%S}-{i:03d}-rehearsal.jsonl"
            )
            body = capture_object(drift_rows(rows, seed=1000 * i + shift, shift=shift), at)
            s3.put_object(Bucket=config.capture_bucket, Key=key, Body=body.encode())
    return {"start": start, "end": end}


def apply_input_transformer(transformer: dict[str, Any], event: dict[str, Any]) -> Any:
    """A target's ``InputTransformer`` applied to ``event``, as EventBridge documents it.

    A placeholder inside a JSON string is replaced by the value's text; one
    outside is replaced by the value as JSON (a string gets its quotes).
    moto's own transformer inserts strings without quotes, which makes
    ``{"time":<time>}`` invalid JSON, and moto delivers no event to a state
    machine anyway, so the rehearsal applies it here.
    """
    from jsonpath_ng.ext.parser import parse  # noqa: PLC0415 - moto's dependency

    values = {}
    for name, path in transformer.get("InputPathsMap", {}).items():
        matches = parse(path).find(event)
        values[name] = matches[0].value if matches else None
    template = transformer["InputTemplate"]
    out, inside = [], False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and inside:
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            inside = not inside
        if char == "<":
            name = template[i + 1 : template.find(">", i)]
            if name in values:
                value = values[name]
                if inside:
                    text = value if isinstance(value, str) else json.dumps(value)
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i += len(name) + 2
                continue
        out.append(char)
        i += 1
    return json.loads("".join(out))


def schedule_input(emulator: Emulator, machine_arn: str, scheduled: dt.datetime) -> Any:
    """The input the deployed schedule gives ``machine_arn`` for its event at ``scheduled``."""
    events = emulator.client("events")
    (rule,) = events.list_rule_names_by_target(TargetArn=machine_arn)["RuleNames"]
    (target,) = [t for t in events.list_targets_by_rule(Rule=rule)["Targets"]]
    event = {
        "version": "0",
        "id": f"rehearsal-{int(scheduled.timestamp())}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [events.describe_rule(Name=rule)["Arn"]],
        "detail": {},
    }
    stand_in(
        "schedule",
        "EventBridge's schedule: moto runs no scheduled rule and delivers no event to a state "
        "machine, so each check starts from the Scheduled Event of a chosen hour put through "
        "the deployed target's InputTransformer",
    )
    if "InputTransformer" in target:
        return apply_input_transformer(target["InputTransformer"], event)
    if "Input" in target:
        return json.loads(target["Input"])
    return event


def cli_drift_report(emulator: Emulator, baseline_uri: str, capture_uri: str, config: Any) -> Any:
    """``cdk-sagemaker-hosting drift`` on one capture prefix, with the check's thresholds."""
    thresholds = config.thresholds
    command = [
        str(Path(sys.executable).parent / "cdk-sagemaker-hosting"),
        *("drift", "--baseline", baseline_uri, "--capture", capture_uri),
        *("--psi-threshold", str(thresholds.psi), "--js-threshold", str(thresholds.jensen_shannon)),
        *("--linf-threshold", str(thresholds.linf)),
        *("--categorical-metric", thresholds.categorical_metric),
        *("--min-records", str(thresholds.min_records)),
    ]
    if thresholds.dataset_share is not None:
        command += ["--dataset-share", str(thresholds.dataset_share)]
    ran = subprocess.run(
        command, env=emulator.env(), capture_output=True, text=True, check=False, timeout=120
    )
    if ran.returncode not in (0, 1, 3) or not ran.stdout.strip():
        msg = f"the drift command failed ({ran.returncode}): {ran.stdout}{ran.stderr}"
        raise RuntimeError(msg)
    return json.loads(ran.stdout)


#: Report fields that say where the counts came from, not what they are.
REPORT_CONTEXT = frozenset(
    {"endpoint", "variant", "window", "capture", "files_with_rejections", "files_skipped"}
)


def report_differences(check: dict[str, Any], cli: dict[str, Any]) -> list[str]:
    """The fields, context aside, in which the check's report and the CLI's differ."""
    keys = (set(check) | set(cli)) - REPORT_CONTEXT
    return sorted(k for k in keys if check.get(k) != cli.get(k))


#: The drift check's scenarios: capture objects per variant and requests per object. The
#: prod monitor reads up to 200 objects in one invocation and maps 50 per batch beyond.
DRIFT_SCENARIOS = {"one pass": (3, 400), "Distributed Map": (101, 6)}


def drift_executions(emulator: Emulator) -> dict[str, Any]:
    """Run the deployed drift check on two windows: one pass, then through its Distributed Map.

    Each execution starts from the deployed schedule's input for a chosen
    hour; each variant's report, read from where the check wrote it, is
    compared with the ``drift`` command's report on the same capture.
    """
    setup = drift_setup(emulator)
    config, arn = setup["config"], setup["arn"]
    s3 = emulator.client("s3")
    baseline_uri = f"s3://{config.baseline_bucket}/{config.baseline_key}"
    top = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    found: dict[str, Any] = {"machine": arn.rsplit(":", 1)[-1], "executions": {}}
    for hours_back, (scenario, (objects, rows)) in enumerate(DRIFT_SCENARIOS.items()):
        scheduled = top - dt.timedelta(hours=hours_back)
        window = write_capture(emulator, config, scheduled, objects, rows)
        started = time.monotonic()
        run = execute(
            emulator,
            arn,
            schedule_input(emulator, arn, scheduled),
            name=f"drift-{scenario.split()[-1].lower()}-{int(time.time())}",
        )
        seconds = time.monotonic() - started
        partials = s3.list_objects_v2(
            Bucket=config.report_bucket, Prefix=config.run_prefix(run.name) + "partials/"
        ).get("KeyCount", 0)
        variants: dict[str, dict[str, Any]] = {}
        for variant in config.variants:
            key = config.report_key(variant, window["start"])
            try:
                body = s3.get_object(Bucket=config.report_bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                variants[variant] = {"report": None}
                continue
            report = json.loads(body)
            folder = f"{config.capture_prefix}{config.endpoint}/{variant}/"
            capture_uri = f"s3://{config.capture_bucket}/{folder}{window['start']:%Y/%m/%d/%H}/"
            cli = cli_drift_report(emulator, baseline_uri, capture_uri, config)
            variants[variant] = {
                "report": f"s3://{config.report_bucket}/{key}",
                "verdict": report["verdict"],
                "drift_share": report["drift_share"],
                "drifted_features": report["drifted_features"],
                "records_used": report["records"]["used"],
                "objects": report["objects"],
                "cli_capture": capture_uri,
                "differs_from_cli": report_differences(report, cli),
            }
        found["executions"][scenario] = {
            **run.to_json(),
            "seconds": round(seconds, 1),
            "objects": 2 * objects,
            "batches": partials,
            "variants": variants,
        }
    return found


def print_drift(drift: dict[str, Any]) -> None:
    """The drift check's executions."""
    print(f"Drift check: executions of the deployed state machine {drift['machine']}")
    for scenario, run in drift["executions"].items():
        print_execution(scenario, run)
        batches = f", {run['batches']} Map batches wrote partial counts" if run["batches"] else ""
        print(f"      {run['objects']} capture objects{batches}; {run['seconds']} s")
        for variant, found in run["variants"].items():
            if found["report"] is None:
                print(f"      {variant}: no report written")
                continue
            same = (
                "the same as the drift command's on the same capture"
                if not found["differs_from_cli"]
                else f"DIFFERS from the drift command's in {', '.join(found['differs_from_cli'])}"
            )
            print(
                f"      {variant}: {found['verdict']} ({found['drift_share']:.0%} of features "
                f"drifted; {found['records_used']} records used); report {found['report']}, {same}"
            )


# --- the model-quality check ---------------------------------------------------------

#: The quality check's scenarios: capture objects per variant and records per object. The
#: prod monitor joins up to 200 objects in one invocation and fans out beyond (two Maps).
QUALITY_SCENARIOS = {"one pass": (3, 200), "Distributed Map": (101, 6)}


def quality_capture_line(event_id: str, score: float, at: dt.datetime) -> str:
    """One data-capture line as SageMaker writes it (compact JSON), the score as output."""
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": "120.5,3,0",
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": f"{score:.4f}",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": event_id, "inferenceTime": f"{at:%Y-%m-%dT%H:%M:%SZ}"},
            "eventVersion": "0",
        },
        separators=(",", ":"),
    )


def write_quality_window(
    emulator: Emulator,
    config: Any,
    start: dt.datetime,
    end: dt.datetime,
    *,
    objects: int,
    records: int,
) -> dict[str, int]:
    """Captured fraud scores of both variants in ``[start, end)``, and their labels.

    The champion's scores separate fraud well (ROC AUC about 0.93); the
    challenger's barely (about 0.77, below the prod threshold of 0.8): a
    known degradation. Labels land in the ground-truth hour folder of the
    window's start (within the label delay), in Model Monitor's layout.
    """
    s3 = emulator.client("s3")
    stand_in("data-capture", DATA_CAPTURE_STAND_IN)
    rng = random.Random(f"{start:%Y%m%d%H%M}")  # noqa: S311 - demo data
    span = (end - start).total_seconds()
    written = {"capture_objects": 0, "labels": 0}
    labels_hour = start.replace(minute=0, second=0, microsecond=0)
    for variant, spread in (("Champion", 0.18), ("Challenger", 0.42)):
        truths = []
        for part in range(objects):
            at = start + dt.timedelta(seconds=span * (part + 0.5) / objects)
            lines = []
            for i in range(records):
                fraud = rng.random() < 0.3
                score = min(1.0, max(0.0, rng.gauss(0.7 if fraud else 0.3, spread)))
                event_id = f"{start:%H%M}-{variant}-{part}-{i}"
                lines.append(quality_capture_line(event_id, score, at))
                truths.append(
                    json.dumps(
                        {
                            "groundTruthData": {"data": "1" if fraud else "0", "encoding": "CSV"},
                            "eventMetadata": {"eventId": event_id},
                            "eventVersion": "0",
                        }
                    )
                )
            key = (
                f"{config.capture_prefix}{config.endpoint}/{variant}/"
                f"{at:%Y/%m/%d/%H}/{at:%M-%S}-000-quality-demo-{part}.jsonl"
            )
            s3.put_object(Bucket=config.capture_bucket, Key=key, Body="\n".join(lines).encode())
            written["capture_objects"] += 1
        key = (
            f"{config.ground_truth_prefix}{labels_hour:%Y/%m/%d/%H}/"
            f"labels-{start:%H%M}-{variant}.jsonl"
        )
        s3.put_object(Bucket=config.ground_truth_bucket, Key=key, Body="\n".join(truths).encode())
        written["labels"] += len(truths)
    return written


def quality_demo(emulator: Emulator) -> dict[str, Any]:
    """Run the deployed model-quality check on two windows with a degraded challenger.

    The configuration is the deployed function's own (``QUALITY_CONFIG``).
    Each execution starts from the deployed schedule's input for a chosen
    hour (the current one, then the next); the window it judges ends a
    label delay (prod: a day) and the capture delay before that. The first
    window is joined in one pass, the second, with more objects than one
    invocation takes, through the split and join Distributed Maps. Each
    report is read from where the check wrote it, as a table.
    """
    from cdk_sagemaker_hosting._lambda.quality import monitor, render  # noqa: PLC0415

    deployed = function_environment(emulator, "QUALITY_CONFIG")
    config = monitor.Config.from_json(json.loads(deployed["env"]["QUALITY_CONFIG"]))
    machines = emulator.client("stepfunctions").list_state_machines()["stateMachines"]
    (arn,) = [m["stateMachineArn"] for m in machines if "QualityMonitor" in m["name"]]
    s3 = emulator.client("s3")
    top = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    found: dict[str, Any] = {"machine": arn.rsplit(":", 1)[-1], "executions": {}}
    for hours_on, (scenario, (objects, records)) in enumerate(QUALITY_SCENARIOS.items()):
        scheduled = top + dt.timedelta(hours=hours_on)
        start, end, labels_end = monitor.window(config, scheduled)
        written = write_quality_window(
            emulator, config, start, end, objects=objects, records=records
        )
        started = time.monotonic()
        run = execute(
            emulator,
            arn,
            schedule_input(emulator, arn, scheduled),
            name=f"quality-{scenario.split()[-1].lower()}-{int(time.time())}",
        )
        runs = config.run_prefix(run.name)
        scratch = {
            part: s3.list_objects_v2(Bucket=config.report_bucket, Prefix=runs + part).get(
                "KeyCount", 0
            )
            for part in ("shards/", "partials/")
        }
        execution: dict[str, Any] = {
            **run.to_json(),
            "seconds": round(time.monotonic() - started, 1),
            "window": {"start": f"{start:%Y-%m-%dT%H:%M:%SZ}", "end": f"{end:%Y-%m-%dT%H:%M:%SZ}"},
            "labels_until": f"{labels_end:%Y-%m-%dT%H:%M:%SZ}",
            "written": written,
            "shards": scratch["shards/"],
            "partials": scratch["partials/"],
            "report": None,
        }
        key = config.report_key(start)
        try:
            report = json.loads(s3.get_object(Bucket=config.report_bucket, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            found["executions"][scenario] = execution
            continue
        execution["report"] = f"s3://{config.report_bucket}/{key}"
        execution["verdicts"] = {v: part["verdict"] for v, part in report["variants"].items()}
        execution["table"] = render.table(report)
        found["executions"][scenario] = execution
    return found


def print_quality(quality: dict[str, Any]) -> None:
    """The model-quality check's executions and their reports."""
    print(f"Model quality: executions of the deployed state machine {quality['machine']}")
    for scenario, run in quality["executions"].items():
        print_execution(scenario, run, detail=run["report"] is None)
        window, written = run["window"], run["written"]
        fanned = (
            f", {run['shards']} shard objects and {run['partials']} partial counts"
            if run["partials"]
            else ""
        )
        print(
            f"      predictions {window['start']} to {window['end']}, labels until "
            f"{run['labels_until']}; {written['capture_objects']} capture objects and "
            f"{written['labels']} labels written{fanned}; {run['seconds']} s"
        )
        if run["report"] is None:
            print("      no report written")
            continue
        print(f"      report {run['report']}: {run['verdicts']}")
        print("\n".join(f"      {line}" for line in run["table"].splitlines()))


def physical_ids(emulator: Emulator, stack: str) -> dict[str, str]:
    """A deployed stack's physical resource IDs by logical ID."""
    resources = emulator.client("cloudformation").describe_stack_resources(StackName=stack)
    return {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r.get("PhysicalResourceId")
    }


def resolved(value: Any, ids: dict[str, str]) -> Any:
    """A template value with ``Ref`` to the stack's own resources replaced by their IDs."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in ids:
        return ids[value["Ref"]]
    if isinstance(value, dict):
        return {k: resolved(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, ids) for v in value]
    return value


def failed_alarm_verdict(
    emulator: Emulator, assembly: Path, stack: str, machine_arn: str, ended: dt.datetime
) -> dict[str, Any]:
    """The stack's alarm on ``machine_arn``'s failed runs, evaluated on the period of ``ended``.

    moto's CloudFormation creates no alarm, Step Functions' ``AWS/States``
    metrics are not emitted by the emulator, and moto evaluates no alarm: the
    alarm is read from the template as synthesised (its ``Ref`` resolved to
    the deployed resources), the one datapoint Step Functions emits for a
    failed execution is published, and the alarm's rule is applied to what
    ``GetMetricData`` returns. Only what that evaluation implements is
    evaluated (a sum of ``FILL(m, 0)`` terms over one period of ``Sum``
    statistics, one datapoint to alarm, ``>=``); any other alarm is reported
    as not evaluated, with what it has beyond that.
    """
    template = json.loads((assembly / f"{stack}.template.json").read_text())
    ids = physical_ids(emulator, stack)
    watching = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        alarm = resolved(resource["Properties"], ids)
        stats = {m["Id"]: m["MetricStat"] for m in alarm.get("Metrics", []) if "MetricStat" in m}
        watched = {
            d["Value"]
            for stat in stats.values()
            for d in stat["Metric"].get("Dimensions", [])
            if d["Name"] == "StateMachineArn"
        }
        if watched == {machine_arn}:
            watching.append((logical_id, alarm, stats))
    if not watching:
        return {"alarm": None, "state": "no alarm of the stack watches the state machine"}
    logical_id, alarm, stats = watching[0]
    cloudwatch = emulator.client("cloudwatch")
    cloudwatch.put_metric_data(
        Namespace="AWS/States",
        MetricData=[
            {
                "MetricName": "ExecutionsFailed",
                "Dimensions": [{"Name": "StateMachineArn", "Value": machine_arn}],
                "Timestamp": ended,
                "Value": 1.0,
                "Unit": "Count",
            }
        ],
    )
    stand_in(
        "failed-alarm",
        "the batch transform's failure alarm: moto's CloudFormation creates no alarm, its "
        "Step Functions emits no AWS/States metric and its CloudWatch evaluates no alarm, so "
        "the ExecutionsFailed datapoint of the failed run is published (PutMetricData) and the "
        "alarm as synthesised is evaluated on GetMetricData's answer by the rehearsal",
    )
    period = max(stat["Period"] for stat in stats.values())
    start = ended - dt.timedelta(seconds=ended.timestamp() % period)
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": metric_id, "MetricStat": stat, "ReturnData": True}
            for metric_id, stat in stats.items()
        ],
        StartTime=start,
        EndTime=start + dt.timedelta(seconds=period),
    )
    sums = {r["Id"]: sum(r["Values"]) for r in answer["MetricDataResults"]}
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    terms = re.fullmatch(r"FILL\((\w+), 0\)(?: \+ FILL\((\w+), 0\))*", expression)
    operators = {"GreaterThanOrEqualToThreshold": float.__ge__}
    # Only what this evaluation implements: one period of sums, any datapoint breaching.
    unsupported = [
        f"{name} {alarm.get(name)}"
        for name, supported in (
            ("EvaluationPeriods", alarm.get("EvaluationPeriods") == 1),
            ("DatapointsToAlarm", alarm.get("DatapointsToAlarm", 1) == 1),
            ("ComparisonOperator", alarm.get("ComparisonOperator") in operators),
        )
        if not supported
    ] + [f"Stat {stat['Stat']}" for stat in stats.values() if stat["Stat"] != "Sum"]
    if terms is None or unsupported:
        return {
            "alarm": logical_id,
            "state": f"not evaluated here: {', '.join([expression, *unsupported])}",
        }
    value = sum(sums.get(i, 0.0) for i in re.findall(r"FILL\((\w+), 0\)", expression))
    breaching = operators[alarm["ComparisonOperator"]](value, float(alarm["Threshold"]))
    return {
        "alarm": logical_id,
        "expression": expression,
        "value": value,
        "threshold": alarm["Threshold"],
        "state": "ALARM" if breaching else "OK",
        "actions": alarm.get("AlarmActions", []),
    }


def batch_executions(
    emulator: Emulator, assembly: Path, stack: str = "prod-batch"
) -> dict[str, Any]:
    """Run the deployed batch transform: without input (failed, its alarm), then with input.

    Each execution starts from the deployed schedule's input. The Transform
    state's ``createTransformJob.sync`` runs through the ``sagemaker-sync``
    fix; the emulator's job completes at once, or fails as SageMaker does
    when its input prefix holds nothing (``transform-job-outcome``).
    """
    cfn = emulator.client("cloudformation")
    outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    (arn,) = [o["OutputValue"] for o in outputs if o["OutputKey"].endswith("StateMachineArn")]
    sfn, s3 = emulator.client("stepfunctions"), emulator.client("s3")
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    transform = definition["States"]["Transform"]["Parameters"]
    uri = transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    stand_in(
        "transform-job",
        "SageMaker's batch transform job: moto runs no container, so a job completes the "
        "moment it is created and writes no output, or fails as SageMaker does when its "
        "input prefix holds no object (scripts/moto_server.py transform-job-outcome)",
    )
    found: dict[str, Any] = {"machine": arn.rsplit(":", 1)[-1], "input": uri, "executions": {}}
    scheduled = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    for scenario in ("failed (no input)", "succeeded"):
        if scenario == "succeeded":
            s3.put_object(
                Bucket=bucket,
                Key=f"{prefix}week.csv",
                Body=b"product_id,stock,sales_last_week\np-1,40,12\np-2,7,9\n",
            )
        started = time.monotonic()
        run = execute(
            emulator,
            arn,
            schedule_input(emulator, arn, scheduled),
            name=f"batch-{scenario.split()[0]}-{int(time.time())}",
        )
        seconds = time.monotonic() - started
        result: dict[str, Any] = {**run.to_json(), "seconds": round(seconds, 1)}
        if run.status == "FAILED":
            ended = sfn.describe_execution(executionArn=run.arn)["stopDate"]
            result["failed_alarm"] = failed_alarm_verdict(emulator, assembly, stack, arn, ended)
        found["executions"][scenario] = result
    return found


def print_batch(batch: dict[str, Any]) -> None:
    """The batch transform's executions."""
    print(
        f"Batch transform: executions of the deployed state machine {batch['machine']} "
        f"(input {batch['input']})"
    )
    for scenario, run in batch["executions"].items():
        print_execution(scenario, run, detail=False)
        output = run.get("output") or {}
        if run["status"] == "SUCCEEDED":
            print(
                f"      job {output.get('TransformJobName')}: {output.get('TransformJobStatus')} "
                f"-> {output.get('TransformOutput', {}).get('S3OutputPath')}; {run['seconds']} s"
            )
        elif run.get("cause"):
            try:
                reason = json.loads(run["cause"]).get("FailureReason", run["cause"])
            except ValueError:
                reason = run["cause"]
            print(f"      error {run['error']}: {reason[:160]}; {run['seconds']} s")
        alarm = run.get("failed_alarm")
        if alarm:
            print(
                f"      failure alarm {alarm['alarm']}: {alarm['state']} "
                f"({alarm.get('expression')} = {alarm.get('value')} >= {alarm.get('threshold')}), "
                f"notifies {', '.join(alarm.get('actions', [])) or 'nobody'}"
            )


#: The interpreter's logger of service integrations it runs only through a task token.
SFN_UNSUPPORTED_LOGGER = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
    "state_task_service_unsupported"
)


#: Pseudo parameters of a template, as the emulator resolves them.
PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}


def definition_pattern(value: Any, ids: dict[str, str]) -> re.Pattern[str]:
    """The deployed definitions a template's ``DefinitionString`` may become.

    Literal text must come back unchanged; ``Ref`` to a pseudo parameter or to
    a resource of the stack becomes its value; any other token (``GetAtt``,
    an import) matches any text without a quote.
    """
    parts = value["Fn::Join"][1] if isinstance(value, dict) and "Fn::Join" in value else [value]
    pattern = ""
    for part in parts:
        ref = part.get("Ref") if isinstance(part, dict) and set(part) == {"Ref"} else None
        if isinstance(part, str):
            pattern += re.escape(part)
        elif ref in PSEUDO_PARAMETERS or ref in ids:
            pattern += re.escape(PSEUDO_PARAMETERS.get(ref) or ids[ref])
        else:
            pattern += '[^"]*'
    return re.compile(pattern, re.DOTALL)


def definitions_not_as_synthesised(
    emulator: Emulator, assembly: Path, stacks: Sequence[str]
) -> dict[str, str]:
    """Deployed state machines whose stored definition is not the template's, and why.

    Each ``AWS::StepFunctions::StateMachine`` of the templates is found by
    its physical ID; its definition, as ``DescribeStateMachine`` returns it
    (and as the interpreter runs it), must be the ``DefinitionString`` of the
    template with only its tokens resolved. Empty when every one is.
    """
    sfn = emulator.client("stepfunctions")
    differing = {}
    for stack in stacks:
        template = json.loads((assembly / f"{stack}.template.json").read_text())
        ids = physical_ids(emulator, stack)
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            where = f"{stack}/{logical_id}"
            properties = resource["Properties"]
            if "DefinitionString" not in properties or set(properties) & {
                "Definition",
                "DefinitionS3Location",
                "DefinitionSubstitutions",
            }:
                differing[where] = "not a DefinitionString alone: not compared"
                continue
            if logical_id not in ids:
                differing[where] = "not deployed"
                continue
            deployed = sfn.describe_state_machine(stateMachineArn=ids[logical_id])["definition"]
            pattern = definition_pattern(properties["DefinitionString"], ids)
            if not pattern.fullmatch(deployed):
                differing[where] = f"deployed definition differs: {deployed[:200]}"
    return differing


def not_executable(emulator: Emulator) -> dict[str, str]:
    """Deployed state machines moto's ASL interpreter (with our fixes) cannot parse, and why."""
    # Parsing a SageMaker task logs "Unsupported Optimised service integration": not news here.
    logging.getLogger(SFN_UNSUPPORTED_LOGGER).setLevel(logging.ERROR)
    sfn = emulator.client("stepfunctions")
    refused = {}
    for machine in sfn.list_state_machines()["stateMachines"]:
        definition = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        try:
            parse_definition(definition["definition"])
        except Exception as error:
            text = str(error.args[0] if error.args else error)
            refused[machine["name"]] = text.split(" expecting ", maxsplit=1)[0].strip("[]'\" ")
    return refused


def state_machines(emulator: Emulator) -> list[str]:
    """The state machines the emulator holds."""
    sfn = emulator.client("stepfunctions")
    return sorted(m["name"] for m in sfn.list_state_machines()["stateMachines"])


# --- the HTTPS front (EndpointApi) -----------------------------------------------------

#: Where the reference app's prod front answers (stacks/hosting.py).
FRONT_PATH = "fraud/score"
#: What the emulator does not do for an EndpointApi, said plainly in the report.
FRONT_NOT_EMULATED = (
    "AWS WAF (the web ACL, its association and logging are not created: no 413/415/rate rules)",
    "stage settings (throttling, access logs, X-Ray, execution logging)",
    "IAM authorisation (moto's execute-api takes unsigned calls)",
    "request validation, mapping templates and integration-response mapping",
    "the SageMaker runtime integration (moto's API Gateway calls only DynamoDB and HTTP "
    "integrations, so the call through the API does not reach the endpoint)",
)


def https_front_demo(emulator: Emulator, endpoint: str = SHIFT_ENDPOINT) -> dict[str, Any]:
    """Find the front of ``endpoint`` in the emulator, call it through moto's API Gateway,
    and call the endpoint directly; say what the emulator cannot run.

    The call through the API is sent as API Gateway receives it (the API's
    ``execute-api`` host, the stage and path) to moto's server; what comes back
    is reported as is, whether or not moto can run the integration.
    """
    apigateway = emulator.client("apigateway")
    uri_tail = f"path/endpoints/{endpoint}/invocations"
    found: dict[str, Any] = {"endpoint": endpoint, "not_emulated": list(FRONT_NOT_EMULATED)}
    for api in apigateway.get_rest_apis()["items"]:
        resources = apigateway.get_resources(restApiId=api["id"], embed=["methods"])["items"]
        for resource in resources:
            method = resource.get("resourceMethods", {}).get("POST")
            if method is None:
                continue
            integration = apigateway.get_integration(
                restApiId=api["id"], resourceId=resource["id"], httpMethod="POST"
            )
            if not integration.get("uri", "").endswith(uri_tail):
                continue
            found.update(
                api_id=api["id"],
                path=resource["path"],
                authorization=method.get("authorizationType"),
                integration_type=integration.get("type"),
                integration_uri=integration["uri"],
                credentials=integration.get("credentials"),
            )
            break
        if "api_id" in found:
            break
    if "api_id" not in found:
        found["error"] = f"no API with a POST method integrating {uri_tail}"
        return found
    stages = apigateway.get_stages(restApiId=found["api_id"]).get("item", [])
    found["stages"] = [s["stageName"] for s in stages]
    stage = found["stages"][0] if found["stages"] else "prod"
    request = urllib.request.Request(
        f"{emulator.url}/{stage}/{FRONT_PATH}",
        data=b"120.5,34,5411\n",
        method="POST",
        headers={
            "Host": f"{found['api_id']}.execute-api.{REGION}.amazonaws.com",
            "Content-Type": "text/csv",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            found["through_api"] = {"status": response.status, "body": response.read(300)}
    except urllib.error.HTTPError as err:
        found["through_api"] = {"status": err.code, "body": err.read(300)}
    found["through_api"]["body"] = found["through_api"]["body"].decode(errors="replace")
    runtime = emulator.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Body=b"120.5,34,5411\n"
    )
    found["direct"] = {
        "status": answer["ResponseMetadata"]["HTTPStatusCode"],
        "body": answer["Body"].read(300).decode(errors="replace"),
    }
    return found


def print_https_front(front: dict[str, Any]) -> None:
    """The HTTPS front's part of the report."""
    print(f"HTTPS front of {front['endpoint']}:")
    if "error" in front:
        print(f"  not found: {front['error']}")
        return
    print(
        f"  API {front['api_id']} POST {front['path']} ({front['authorization']}, "
        f"{front['integration_type']} integration {front['integration_uri']}); "
        f"stages: {', '.join(front['stages']) or '(none)'}"
    )
    through = front["through_api"]
    print(f"  called through moto's API Gateway: HTTP {through['status']} {through['body']!r}")
    direct = front["direct"]
    print(f"  the endpoint called directly (SigV4): HTTP {direct['status']} {direct['body']!r}")
    print("  not emulated, so not rehearsed here (template tests check them):")
    for item in front["not_emulated"]:
        print(f"    {item}")


def _weights_text(weights: dict[str, float]) -> str:
    return ", ".join(f"{name} {weight:g}" for name, weight in weights.items())


def print_execution(label: str, run: dict[str, Any], *, detail: bool = True) -> None:
    """One execution: status, path through the states, outcome (unless ``detail`` is off)."""
    print(f"  {label}: {run['status']} (execution {run['name']}, input {json.dumps(run['input'])})")
    print(f"      path: {' > '.join(run['path'])}")
    if not detail:
        return
    if run.get("error"):
        cause = str(run.get("cause") or "")
        print(f"      error {run['error']}: {cause[:300]}")
    elif run.get("output") is not None:
        print(f"      output: {json.dumps(run['output'])[:300]}")


def print_shift(shift: dict[str, Any]) -> None:
    """The traffic shift's executions."""
    print(
        f"Traffic shift on {shift['endpoint']}: executions of the deployed state machine "
        f"(weights before: {_weights_text(shift['initial'])})"
    )
    for scenario, run in shift["executions"].items():
        print_execution(scenario, run)
        if run.get("alarm_rule"):
            rule = run["alarm_rule"]
            print(
                f"      alarm rule {rule['rule']} -> the function answered "
                f"{'error ' + str(rule['error']) + ' ' if rule['error'] else ''}"
                f"{json.dumps(rule['answer'])[:300]}"
            )
        if "abort_rule" in run:
            rule = run["abort_rule"]
            print(
                f"      stopped at {_weights_text(run['weights_when_stopped'])}; abort rule "
                f"{rule['rule']} -> the function answered "
                f"{'error ' + str(rule['error']) + ' ' if rule['error'] else ''}"
                f"{json.dumps(rule['answer'])}"
            )
        print(f"      weights after: {_weights_text(run['weights'])}")


def print_summary(summary: dict[str, Any]) -> None:
    """The human-readable report of a local deploy."""
    print("\n=== Local deploy into moto's server", summary["emulator"], "===")
    print("Stacks:")
    for name, status in summary["stacks"].items():
        print(f"  {name:32} {status}")
    print("Endpoints:")
    for name, ep in summary["endpoints"].items():
        capture = ep["data_capture_percentage"]
        print(
            f"  {name}: {ep['status']} (config {ep['config']}; data capture "
            + (f"{capture} %" if capture is not None else "off")
            + ")"
        )
        for variant, v in ep["variants"].items():
            print(
                f"    variant {variant}: weight {v['weight']} now (initial "
                f"{v['initial_weight']}), {v['instances']} x {v['instance_type']} now "
                f"(initial {v['initial_instances']}), model {v['model']} "
                f"({v['containers']} container(s)) <- " + ", ".join(str(u) for u in v["model_data"])
            )
    print(f"Dashboards: {', '.join(summary['dashboards']) or '(none)'}")
    print(f"State machines: {', '.join(summary['state_machines']) or '(none)'}")
    print(
        "".join(
            f"  NOT EXECUTABLE here: moto's ASL interpreter refuses {name}: {reason}\n"
            for name, reason in summary.get("not_executable", {}).items()
        ),
        end="",
    )
    if summary.get("shift_executions"):
        print_shift(summary["shift_executions"])
    if summary.get("drift"):
        print_drift(summary["drift"])
    if summary.get("batch"):
        print_batch(summary["batch"])
    if summary.get("quality"):
        print_quality(summary["quality"])
    print(
        f"Models: {len(summary['models'])}; buckets: {len(summary['buckets'])}; "
        f"KMS keys (rotation on): {sum(summary['kms_keys'].values())}/{len(summary['kms_keys'])}"
    )
    print("\nNOT EMULATED: moto's CloudFormation skipped these resources of the templates, so")
    print("this local deploy proves nothing about them (the template tests still check them):")
    if summary["not_emulated"]:
        for rtype, count in summary["not_emulated"].items():
            print(f"  {rtype} x{count}")
    else:
        print("  (none)")
    print("ACCEPTED BUT NOT STORED by the emulator (the templates set them; tests check that):")
    for prop in summary["dropped_properties"] or ["(none)"]:
        print(f"  {prop}")
    print(
        "Emulator fixes applied (each documented in scripts/moto_server.py): "
        + ", ".join(summary["emulator_fixes"])
    )
    print("STOOD IN FOR: what the emulator cannot run, and what the rehearsal does instead:")
    for text in summary.get("stand_ins") or ["(none)"]:
        print(f"  {text}")
    print("Also not rehearsed here: stack updates (moto's CloudFormation cannot run them yet),")
    print("and anything that happens inside SageMaker (no container starts, no model loads).")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `make deploy-local`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the summary as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deploy-local-") as tmp:
        work = Path(tmp)
        with running_emulator(work) as emulator:
            print(f"moto's server is up at {emulator.url}", flush=True)
            try:
                stacks = deploy_reference_app(emulator, work / "cdk.out")
                summary = summarize(emulator, work / "cdk.out", stacks)
                print("Executing the traffic shift's state machine (four scenarios):", flush=True)
                summary["shift_executions"] = shift_executions(emulator)
                summary["endpoints"] = summarize_endpoints(emulator)
                print("Executing the drift check's state machine (two windows):", flush=True)
                summary["drift"] = drift_executions(emulator)
                print("Executing the batch transform's state machine (two runs):", flush=True)
                summary["batch"] = batch_executions(emulator, work / "cdk.out")
                print("Executing the model-quality check's state machine:", flush=True)
                summary["quality"] = quality_demo(emulator)
                summary["stand_ins"] = stand_ins()
                print("Calling the HTTPS front of the prod endpoint:", flush=True)
                summary["https_front"] = https_front_demo(emulator)
            except Exception:
                print(f"--- last lines of {emulator.log_path.name} ---", file=sys.stderr)
                lines = emulator.log_path.read_text(errors="replace").splitlines()
                print("\n".join(lines[-40:]), file=sys.stderr)
                raise
    print_summary(summary)
    if summary.get("https_front"):
        print_https_front(summary["https_front"])
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, sort_keys=True))
    print("\nmoto's server stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
