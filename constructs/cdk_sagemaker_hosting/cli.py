"""The ``cdk-sagemaker-hosting`` command line.

Each command runs the code its Lambda function runs (``lambda/<function>/``),
from a terminal, against AWS or a local emulator (``AWS_ENDPOINT_URL``)::

    cdk-sagemaker-hosting shift --endpoint NAME --from A --to B --steps 10,50,100
    cdk-sagemaker-hosting baseline --data train.csv --out baseline.json
    cdk-sagemaker-hosting drift --baseline baseline.json --capture DIR_OR_S3_URI

Each function folder holds a ``command`` module with ``register(subparsers)``,
which adds its commands and sets ``run(args) -> exit code`` as their default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: The function folders whose ``command`` module adds commands, in help order.
COMMAND_MODULES = ("traffic_shift", "drift")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="cdk-sagemaker-hosting",
        description="Operate SageMaker endpoints built with cdk-sagemaker-hosting.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for function in COMMAND_MODULES:
        module = importlib.import_module(f"cdk_sagemaker_hosting._lambda.{function}.command")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (argparse exits 2 on bad usage)."""
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
