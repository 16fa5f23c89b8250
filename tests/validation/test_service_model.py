"""SageMaker's service model is read as botocore's loader reads it, without importing botocore."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.loaders import create_loader
from cdk_sagemaker_hosting import validation


def test_shapes_are_those_botocores_loader_returns() -> None:
    expected = create_loader().load_service_model("sagemaker", "service-2")["shapes"]
    assert validation.sagemaker_shapes() == expected


def test_a_newer_model_under_aws_models_wins_with_its_extras(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = tmp_path / ".aws" / "models" / "sagemaker" / "2999-01-01"
    version.mkdir(parents=True)
    shapes = {"Kind": {"type": "string", "enum": ["a"]}, "Count": {"type": "integer", "max": 5}}
    (version / "service-2.json").write_text(json.dumps({"shapes": shapes}))
    extras = {"merge": {"shapes": {"Count": {"max": 7}}}}
    (version / "service-2.sdk-extras.json").write_text(json.dumps(extras))
    monkeypatch.setenv("HOME", str(tmp_path))

    found = validation.sagemaker_shapes.__wrapped__()

    assert found == {
        "Kind": {"type": "string", "enum": ["a"]},
        "Count": {"type": "integer", "max": 7},
    }


def test_checking_an_instance_type_does_not_import_botocore() -> None:
    code = (
        "import sys\n"
        "from cdk_sagemaker_hosting import validation\n"
        "assert validation.production_variant_instance_types()\n"
        "print('botocore' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"


def test_a_model_under_aws_data_path_wins_as_in_botocore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = tmp_path / "data" / "sagemaker" / "2999-06-01"
    version.mkdir(parents=True)
    shapes = {"Kind": {"type": "string", "enum": ["from-data-path"]}}
    (version / "service-2.json").write_text(json.dumps({"shapes": shapes}))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    found = validation.sagemaker_shapes.__wrapped__()

    assert found == shapes
    # A botocore session passes AWS_DATA_PATH to its loader as the search path.
    loader = create_loader(str(tmp_path / "data"))
    assert loader.load_service_model("sagemaker", "service-2")["shapes"] == shapes
