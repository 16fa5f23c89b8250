"""The built wheel works on its own: installed outside the repo, it synthesises a stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.packaging

APP = """
import json, sys
import aws_cdk as cdk
import cdk_sagemaker_hosting
from cdk_sagemaker_hosting import (
    ContainerImage, EncryptedBucket, Endpoint, InstanceVariant, Model, ModelData, TrafficShift,
)

app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, "Consumer")
bucket = EncryptedBucket(stack, "Artifacts")
model = Model(
    stack, "Model",
    image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"),
    model_data=ModelData.from_bucket(bucket, "m/model.tar.gz"),
)
endpoint = Endpoint(
    stack, "Endpoint", endpoint_name="consumer",
    variants=[
        InstanceVariant(model=model, variant_name="A"),
        InstanceVariant(model=model, variant_name="B"),
    ],
)
TrafficShift(stack, "Shift", endpoint=endpoint, source_variant="A", target_variant="B")
app.synth()
print(json.dumps({"module": cdk_sagemaker_hosting.__file__}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("cdk_sagemaker_hosting-*.whl")
    return built


def test_wheel_holds_the_package_and_nothing_else(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"cdk_sagemaker_hosting"}
    for module in (
        "__init__.py",
        "encrypted_bucket.py",
        "model.py",
        "endpoint.py",
        "validation.py",
        "py.typed",
    ):
        assert f"cdk_sagemaker_hosting/{module}" in names


def lambda_functions() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "lambda").glob("*/index.py"))


def test_pyproject_lists_every_lambda_folder_as_a_package() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]
    assert lambda_functions(), "no Lambda function found"
    for function in lambda_functions():
        assert f"cdk_sagemaker_hosting._lambda.{function}" in packages


def test_wheel_ships_every_lambda_handler(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for function in lambda_functions():
        for module in (ROOT / "lambda" / function).glob("*.py"):
            assert f"cdk_sagemaker_hosting/_lambda/{function}/{module.name}" in names
    assert not [n for n in names if "__pycache__" in n]


def test_installed_wheel_synthesises_a_stack_outside_the_repo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Dependencies come from the test venv (a plain path entry: its .pth files,
    # including the editable install of this repo, are not processed).
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    check = subprocess.run(
        [str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout
    (tmp_path / "app.py").write_text(APP)
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), "app.py", "cdk.out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    module = json.loads(result.stdout.strip().splitlines()[-1])["module"]
    assert module.startswith(str(venv)), module
    template = json.loads((tmp_path / "cdk.out" / "Consumer.template.json").read_text())
    types = sorted({r["Type"] for r in template["Resources"].values()})
    assert "AWS::SageMaker::Endpoint" in types
    assert "AWS::IAM::ManagedPolicy" in types
    assert "AWS::StepFunctions::StateMachine" in types
    # the function's code came from the installed package, not from the repository
    (fn,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    asset = tmp_path / "cdk.out" / f"asset.{fn['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert (asset / "traffic_shift" / "index.py").is_file()
    # and the command line the wheel installs runs the shift's code
    cli = subprocess.run(
        [str(venv / "bin" / "cdk-sagemaker-hosting"), "shift", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "--bake-seconds" in cli.stdout
    # --version reports the installed distribution's version
    version = subprocess.run(
        [str(venv / "bin" / "cdk-sagemaker-hosting"), "--version"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == wheel.name.split("-")[1]
