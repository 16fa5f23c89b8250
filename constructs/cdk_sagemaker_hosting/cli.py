"""The ``cdk-sagemaker-hosting`` command line.

Each command runs the code its Lambda function runs (``lambda/<function>/``),
from a terminal, against AWS or a local emulator (``AWS_ENDPOINT_URL``)::

    cdk-sagemaker-hosting shift --endpoint NAME --from A --to B --steps 10,50,100
    cdk-sagemaker-hosting baseline --data train.csv --out baseline.json
    cdk-sagemaker-hosting drift --baseline baseline.json --capture DIR_OR_S3_URI
    cdk-sagemaker-hosting quality-baseline --data validation.csv --problem binary --out c.json
    cdk-sagemaker-hosting quality --capture DIR --ground-truth DIR --problem binary
    cdk-sagemaker-hosting promote --group NAME [--version N] [--pipeline NAME]
    cdk-sagemaker-hosting --version

The commands that call AWS need boto3, which the library's constructs do not:
it comes with ``pip install 'cdk-sagemaker-hosting[cli]'``. Without it, such a
command prints that line and exits 2 instead of a traceback.

Each function folder holds a ``command`` module with ``register(subparsers)``,
which adds its commands and sets ``run(args) -> exit code`` as their default.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Sequence

#: The function folders whose ``command`` module adds commands, in help order.
COMMAND_MODULES = ("traffic_shift", "drift", "quality", "registry")

#: Commands that always call AWS; the others need boto3 for ``s3://`` paths only.
AWS_COMMANDS = frozenset({"shift", "promote"})

#: Exit code of a command that cannot run (argparse's code for bad usage).
EXIT_UNAVAILABLE = 2

DISTRIBUTION = "cdk-sagemaker-hosting"

MISSING_BOTO3 = (
    f"{DISTRIBUTION}: error: this command needs boto3, which is not installed; "
    f"install it with: pip install '{DISTRIBUTION}[cli]'"
)


def version() -> str:
    """The installed distribution's version (its metadata, not a constant)."""
    return importlib.metadata.version(DISTRIBUTION)


def _boto3_missing(error: ModuleNotFoundError) -> bool:
    return (error.name or "").split(".")[0] == "boto3"


def _has_boto3() -> bool:
    try:
        import boto3  # noqa: F401, PLC0415 - only checking that it imports
    except ModuleNotFoundError as error:
        if _boto3_missing(error):
            return False
        raise
    return True


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(
        prog="cdk-sagemaker-hosting",
        description="Operate SageMaker endpoints built with cdk-sagemaker-hosting.",
    )
    parser.add_argument("--version", action="version", version=version())
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for function in COMMAND_MODULES:
        module = importlib.import_module(f"cdk_sagemaker_hosting._lambda.{function}.command")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (argparse exits 2 on bad usage).

    A command that needs boto3 when it is not installed prints one line naming
    the ``cli`` extra and returns 2.
    """
    args = build_parser().parse_args(argv)
    if args.command in AWS_COMMANDS and not _has_boto3():
        print(MISSING_BOTO3, file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        code: int = args.run(args)
    except ModuleNotFoundError as error:
        if not _boto3_missing(error):
            raise
        print(MISSING_BOTO3, file=sys.stderr)
        return EXIT_UNAVAILABLE
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
