"""Where the library's Lambda handler code lives, and how a function gets it.

The handler code sits in the repository's ``lambda/<function>/`` folders and
ships inside the wheel as the package ``cdk_sagemaker_hosting._lambda``, so
``Code.from_asset`` finds it in an installed library as in the repository.
Each function's asset is the ``_lambda`` folder with only that function's
package kept, so the handler is ``<function>.index.handler`` and the modules
of one function import each other relatively, in Lambda as in the library.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from aws_cdk import aws_lambda

#: The runtime of every function: its boto3 is the only dependency they use.
RUNTIME = aws_lambda.Runtime.PYTHON_3_14


def lambda_root() -> Path:
    """The folder holding one package per Lambda function."""
    return Path(str(importlib.resources.files("cdk_sagemaker_hosting._lambda")))


def function_code(function: str) -> aws_lambda.Code:
    """The asset of one function: its package and nothing else (no caches).

    Args:
        function: the folder name under ``lambda/``, e.g. ``"traffic_shift"``.
    """
    root = lambda_root()
    if not (root / function / "index.py").is_file():
        msg = f"no Lambda handler {function!r}: {root / function / 'index.py'} is missing"
        raise FileNotFoundError(msg)
    return aws_lambda.Code.from_asset(
        str(root),
        exclude=["*", f"!{function}", f"!{function}/**", "**/__pycache__", "**/*.pyc"],
    )


def handler(function: str) -> str:
    """The handler string of one function's entry point."""
    return f"{function}.index.handler"
