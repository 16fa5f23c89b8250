"""What a new user and a legal review see: licence, metadata, extras, version, CLI errors."""

from __future__ import annotations

import email
import email.message
import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
REPO_URL = "https://github.com/cdk-sagemaker-hosting/cdk-sagemaker-hosting"
CAPABILITIES = (
    "models",
    "multi-AZ endpoints",
    "auto scaling",
    "alarms",
    "dashboards",
    "progressive traffic shifting",
    "data-drift monitoring",
    "scheduled batch transform",
)
CLI_HINT = "pip install 'cdk-sagemaker-hosting[cli]'"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist, and the wheel built from that sdist (as `python -m build` does)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (sdist,) = out.glob("cdk_sagemaker_hosting-*.tar.gz")
    (wheel,) = out.glob("cdk_sagemaker_hosting-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def metadata(dist: tuple[Path, Path]) -> email.message.Message:
    with zipfile.ZipFile(dist[1]) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(wheel.read(name))


def test_license_is_the_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "Copyright 2026 cdk-sagemaker-hosting authors" in text
    assert PROJECT["license"] == "Apache-2.0"


@pytest.mark.packaging
def test_sdist_and_wheel_carry_the_license(dist: tuple[Path, Path]) -> None:
    sdist, wheel = dist
    license_text = (ROOT / "LICENSE").read_bytes()
    with tarfile.open(sdist) as tar:
        (member,) = [
            m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE")
        ]
        extracted = tar.extractfile(member)
        assert extracted is not None
        assert extracted.read() == license_text
    with zipfile.ZipFile(wheel) as whl:
        (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert whl.read(name) == license_text


@pytest.mark.packaging
def test_wheel_metadata_is_complete(metadata: email.message.Message) -> None:
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert urls["Homepage"] == REPO_URL
    assert urls["Issues"] == f"{REPO_URL}/issues"
    assert urls["Changelog"] == f"{REPO_URL}/blob/main/CHANGELOG.md"
    classifiers = metadata.get_all("Classifier") or []
    for python in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {python}" in classifiers
    summary = metadata["Summary"]
    assert "\n" not in summary
    for capability in CAPABILITIES:
        assert capability in summary, capability


@pytest.mark.packaging
def test_wheel_long_description_is_for_users(metadata: email.message.Message) -> None:
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str)
    assert "pip install cdk-sagemaker-hosting" in description
    assert CLI_HINT in description
    assert f"{REPO_URL}#readme" in description
    assert f"{REPO_URL}/blob/main/CHANGELOG.md" in description
    for development_only in ("make deploy-local", "make test", "requirements.lock", "moto"):
        assert development_only not in description, development_only


@pytest.mark.packaging
def test_wheel_declares_the_cli_extra_and_no_exact_pins(metadata: email.message.Message) -> None:
    assert set(metadata.get_all("Provides-Extra") or []) == {"cli", "dev"}
    requirements = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    boto3 = [r for r in requirements if r.name == "boto3"]
    assert {str(r.marker) for r in boto3} == {'extra == "cli"', 'extra == "dev"'}
    assert all(str(r.specifier) == "<2,>=1.44" for r in boto3)
    # the constructs themselves need no boto3
    assert not [r for r in requirements if r.name == "boto3" and r.marker is None]
    assert not [r for r in requirements if any(s.operator == "==" for s in r.specifier)]


def test_dev_extra_includes_the_cli_extra() -> None:
    extras = PROJECT["optional-dependencies"]
    dev = {Requirement(r).name: Requirement(r) for r in extras["dev"]}
    for requirement in map(Requirement, extras["cli"]):
        assert dev[requirement.name].specifier == requirement.specifier


def test_lock_pins_every_dev_requirement_within_its_range() -> None:
    """`make setup` installs '.[dev]' with --constraint requirements.lock: exact versions."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(requirement.name)] = spec.version
    extras = PROJECT["optional-dependencies"]
    for line in [*PROJECT["dependencies"], *extras["cli"], *extras["dev"]]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (line, pins[name])


def test_pypi_description_example_synthesises(tmp_path: Path) -> None:
    """The long description's code is real API: it runs and synthesises as written."""
    text = (ROOT / PROJECT["readme"]).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks
    script = tmp_path / "example.py"
    script.write_text("\n".join(blocks))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "CDK_OUTDIR": str(tmp_path / "cdk.out")},  # as the CDK CLI sets it
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cdk.out" / "Hosting.template.json").is_file()


def run_cli(*args: str, block_boto3: bool = False) -> subprocess.CompletedProcess[str]:
    prelude = "import sys\n"
    if block_boto3:
        # what a plain `pip install cdk-sagemaker-hosting` leaves: no boto3
        prelude += "sys.modules['boto3'] = None\n"
    code = prelude + "from cdk_sagemaker_hosting.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("block_boto3", [False, True])
def test_version_prints_the_installed_version(block_boto3: bool) -> None:
    result = run_cli("--version", block_boto3=block_boto3)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == importlib.metadata.version("cdk-sagemaker-hosting")


def test_shift_without_boto3_names_the_cli_extra() -> None:
    result = run_cli(
        "shift",
        "--endpoint",
        "e",
        "--from",
        "A",
        "--to",
        "B",
        "--steps",
        "10,100",
        block_boto3=True,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert CLI_HINT in lines[0]
    assert "Traceback" not in result.stderr


def test_s3_paths_without_boto3_name_the_cli_extra(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    result = run_cli(
        "baseline", "--data", str(data), "--out", "s3://bucket/baseline.json", block_boto3=True
    )
    assert result.returncode == 2
    assert CLI_HINT in result.stderr
    assert "Traceback" not in result.stderr


def test_local_files_need_no_boto3(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    out = tmp_path / "baseline.json"
    result = run_cli("baseline", "--data", str(data), "--out", str(out), block_boto3=True)
    assert result.returncode == 0, result.stderr
    assert out.is_file()
