"""`make bench`: synth wall time of our constructs against the same resources as raw L1.

Each measurement is a fresh Python process that builds an app and
synthesises it (jsii start-up included, as a user's `cdk synth` pays it).
Apps hold 1, 10 and 25 endpoint stacks, each an encrypted bucket, a model
and an endpoint; the L1 apps declare the same resource types, in the same
numbers (checked), with raw ``Cfn*`` constructs. The two are run in turn
(ours, L1, ours, L1...) so that noise from the machine falls on both; the
medians of ``--repeat`` runs are written as JSON with their ratio, every
paired ratio, and the marginal cost per endpoint.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The environments of the reference app in cdk.json.
ENVS = "cdk-sagemaker-hosting:environments"
TARGET_RATIO = 1.25
SIZES = (1, 10, 25)

CONSTRUCTS_APP = """
import sys
import aws_cdk as cdk
from cdk_sagemaker_hosting import ContainerImage, EncryptedBucket, Endpoint, Model, ModelData

app = cdk.App(outdir=sys.argv[2], analytics_reporting=False)
for i in range(int(sys.argv[1])):
    stack = cdk.Stack(app, f"Hosting{i}")
    bucket = EncryptedBucket(stack, "Artifacts")
    model = Model(
        stack, "Model",
        image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"),
        model_data=ModelData.from_bucket(bucket, "m/model.tar.gz"),
    )
    Endpoint(stack, "Endpoint", model=model, endpoint_name=f"endpoint-{i}")
app.synth()
"""

L1_APP = """
import sys
import aws_cdk as cdk
from aws_cdk import aws_iam as iam, aws_kms as kms, aws_logs as logs
from aws_cdk import aws_s3 as s3, aws_sagemaker as sm

def key(stack, cid):
    return kms.CfnKey(stack, cid, enable_key_rotation=True, key_policy={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
                       "Principal": {"AWS": f"arn:aws:iam::{stack.account}:root"}}]})

def tls_only(stack, cid, bucket):
    arn = bucket.attr_arn
    s3.CfnBucketPolicy(stack, cid, bucket=bucket.ref, policy_document={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                       "Resource": [arn, cdk.Fn.join("", [arn, "/*"])],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})

app = cdk.App(outdir=sys.argv[2], analytics_reporting=False)
for i in range(int(sys.argv[1])):
    stack = cdk.Stack(app, f"Hosting{i}")
    data_key = key(stack, "ArtifactsKey")
    logs_bucket = s3.CfnBucket(stack, "AccessLogs", versioning_configuration={"status": "Enabled"},
        public_access_block_configuration={"blockPublicAcls": True, "blockPublicPolicy": True,
            "ignorePublicAcls": True, "restrictPublicBuckets": True})
    bucket = s3.CfnBucket(stack, "Artifacts", versioning_configuration={"status": "Enabled"},
        bucket_encryption={"serverSideEncryptionConfiguration": [{"bucketKeyEnabled": True,
            "serverSideEncryptionByDefault": {"sseAlgorithm": "aws:kms",
                                              "kmsMasterKeyId": data_key.attr_arn}}]},
        logging_configuration={"destinationBucketName": logs_bucket.ref,
                               "logFilePrefix": "s3-access-logs/"},
        public_access_block_configuration={"blockPublicAcls": True, "blockPublicPolicy": True,
            "ignorePublicAcls": True, "restrictPublicBuckets": True})
    tls_only(stack, "AccessLogsPolicy", logs_bucket)
    tls_only(stack, "ArtifactsPolicy", bucket)
    role = iam.CfnRole(stack, "Role", assume_role_policy_document={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"Service": "sagemaker.amazonaws.com"}}]})
    endpoint_key = key(stack, "EndpointKey")
    log_group = logs.CfnLogGroup(stack, "LogGroup",
                                 log_group_name=f"/aws/sagemaker/Endpoints/endpoint-{i}",
                                 kms_key_id=endpoint_key.attr_arn, retention_in_days=365)
    policy = iam.CfnManagedPolicy(stack, "Policy", roles=[role.ref], policy_document={
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": cdk.Fn.join("", [bucket.attr_arn, "/m/model.tar.gz"])},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": data_key.attr_arn},
            {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
             "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/m"},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": log_group.attr_arn}]})
    model = sm.CfnModel(stack, "Model", execution_role_arn=role.attr_arn,
        enable_network_isolation=True,
        primary_container={"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1",
                           "modelDataUrl": cdk.Fn.join(
                               "", ["s3://", bucket.ref, "/m/model.tar.gz"])})
    model.add_dependency(policy)
    config = sm.CfnEndpointConfig(stack, "Config", kms_key_id=endpoint_key.attr_arn,
        production_variants=[{"variantName": "AllTraffic", "modelName": model.attr_model_name,
                              "instanceType": "ml.m5.large", "initialInstanceCount": 2,
                              "initialVariantWeight": 1.0}])
    endpoint = sm.CfnEndpoint(stack, "Endpoint", endpoint_name=f"endpoint-{i}",
                              endpoint_config_name=config.attr_endpoint_config_name)
    endpoint.add_dependency(log_group)
app.synth()
"""

REFERENCE_APP = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, os.getcwd())
import aws_cdk as cdk
from stacks import add_compliance_checks, add_reference_stacks

context = json.loads(Path("cdk.json").read_text())["context"]
app = cdk.App(outdir=sys.argv[2], context=context, analytics_reporting=False)
add_reference_stacks(app)
add_compliance_checks(app)
app.synth()
"""


def precompile() -> None:
    """Byte-compile the library, as pip does when it installs it.

    The apps import the library from this repository (an editable install),
    which has bytecode only once Python writes it; with PYTHONDONTWRITEBYTECODE
    set, as on these machines, it never does, and every measured process
    compiled the library from source (0.02 s): a cost neither an installed
    library nor the L1 app's aws-cdk-lib (installed with its bytecode) pays.
    """
    compileall.compile_dir(ROOT / "constructs" / "cdk_sagemaker_hosting", quiet=1)


def env() -> dict[str, str]:
    """The venv's Node.js first, as for every synth here."""
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }


def synth_seconds(source: str, endpoints: int, work: Path) -> tuple[float, float, Counter[str]]:
    """Wall and CPU seconds of one fresh process (and its Node.js) synthesising the app.

    CPU time (user + system of the children) is reported beside wall time
    because it is far less sensitive to a busy or throttled machine.
    """
    out = Path(tempfile.mkdtemp(dir=work))
    script = work / "app_under_test.py"
    script.write_text(source)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(script), str(endpoints), str(out)],
        cwd=ROOT,
        env=env(),
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    types: Counter[str] = Counter()
    for template in out.glob("*.template.json"):
        for res in json.loads(template.read_text())["Resources"].values():
            if res["Type"] not in ("AWS::CDK::Metadata",):
                types[res["Type"]] += 1
    return elapsed, cpu, types


def median_seconds(
    source: str, endpoints: int, work: Path, repeat: int
) -> tuple[float, Counter[str]]:
    """Median of ``repeat`` runs, and the resource types the app declares."""
    runs = [synth_seconds(source, endpoints, work) for _ in range(repeat)]
    return statistics.median(t for t, _, _ in runs), runs[0][2]


def paired_runs(
    endpoints: int, work: Path, repeat: int
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], Counter[str], Counter[str]]:
    """Our app and the L1 app, alternated run by run so machine noise hits both alike.

    Each run is (wall seconds, CPU seconds).
    """
    ours, l1 = [], []
    for _ in range(repeat):
        wall, cpu, ours_types = synth_seconds(CONSTRUCTS_APP, endpoints, work)
        ours.append((wall, cpu))
        wall, cpu, l1_types = synth_seconds(L1_APP, endpoints, work)
        l1.append((wall, cpu))
    return ours, l1, ours_types, l1_types


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "repeat": args.repeat,
        "target_ratio": TARGET_RATIO,
        "apps": [],
    }
    precompile()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        ref, ref_types = median_seconds(REFERENCE_APP, 0, work, args.repeat)
        results["reference_app"] = {
            "synth_s": round(ref, 3),
            # artifacts, hosting and batch stacks per environment
            "stacks": 3 * len(json.loads((ROOT / "cdk.json").read_text())["context"][ENVS]),
            "resources": sum(ref_types.values()),
            "note": "dev and prod: artifacts, hosting, batch stacks; five cdk-nag packs",
        }
        for n in SIZES:
            ours_runs, l1_runs, ours_types, l1_types = paired_runs(n, work, args.repeat)
            if ours_types != l1_types:
                raise SystemExit(f"unfair comparison at {n} endpoints: {ours_types} != {l1_types}")
            ours = statistics.median(w for w, _ in ours_runs)
            l1 = statistics.median(w for w, _ in l1_runs)
            ours_cpu = statistics.median(c for _, c in ours_runs)
            l1_cpu = statistics.median(c for _, c in l1_runs)
            pairs = [a[0] / b[0] for a, b in zip(ours_runs, l1_runs, strict=True)]
            results["apps"].append(
                {
                    "endpoint_stacks": n,
                    "resources": sum(ours_types.values()),
                    "constructs_s": round(ours, 3),
                    "l1_s": round(l1, 3),
                    "ratio": round(ours / l1, 3),
                    "median_paired_ratio": round(statistics.median(pairs), 3),
                    "paired_ratios": [round(r, 3) for r in pairs],
                    "constructs_cpu_s": round(ours_cpu, 3),
                    "l1_cpu_s": round(l1_cpu, 3),
                    "cpu_ratio": round(ours_cpu / l1_cpu, 3),
                }
            )
            print(json.dumps(results["apps"][-1]), flush=True)
    first, last = results["apps"][0], results["apps"][-1]
    span = last["endpoint_stacks"] - first["endpoint_stacks"]
    results["marginal_s_per_endpoint"] = {
        "constructs": round((last["constructs_s"] - first["constructs_s"]) / span, 4),
        "l1": round((last["l1_s"] - first["l1_s"]) / span, 4),
    }
    results["worst_ratio"] = max(a["ratio"] for a in results["apps"])
    results["meets_target"] = results["worst_ratio"] <= TARGET_RATIO
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
