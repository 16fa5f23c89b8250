"""``cdk-sagemaker-hosting promote``: the approval's flow, by hand, for a named version.

Records a version of a model package group (default: the newest approved
one that has not failed) in the SSM parameter the app deploys from, writes
it back to the version's metadata and starts the promotion pipeline with
it, exactly as an approval event does (``core.promote``). A version that is
not ``Approved``, or whose artifacts lie outside ``--artifacts`` (the only
prefix the deploying accounts may read), is refused and nothing is written.

Exit codes, as ``shift``'s: 0 done (recorded, started, or what a
``--dry-run`` would do), 2 refused (bad input, a version not approved,
unreadable artifacts, none approved, ``--pipeline-variable`` without
``--pipeline``), 1 any other failure (an AWS error or any other exception; a
pipeline that did not start after the record was written says so in the
JSON), 130 interrupted. The last line printed is a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import core

EXIT_DONE = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130

_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package-group/[\w-]{1,63}$"
)
_GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class BadUsageError(ValueError):
    """Arguments that cannot describe a promotion."""


def register(subparsers: Any) -> None:
    """Add the ``promote`` command."""
    parser = subparsers.add_parser(
        "promote",
        help="record an approved model package version and start its staged rollout",
        description=(
            "Record a version of a model package group (default: the newest approved one "
            "that has not failed) in the SSM parameter the app deploys from, write it back "
            "to the version's metadata and start the promotion pipeline with it, as an "
            "approval does. A version that is not Approved, or whose artifacts are outside "
            "--artifacts, is refused. Exit 0 done, 2 refused, 1 failed."
        ),
    )
    parser.add_argument(
        "--group", required=True, help="model package group name (this account) or ARN"
    )
    parser.add_argument(
        "--version", type=int, help="the version to promote (default: newest approved)"
    )
    parser.add_argument(
        "--parameter",
        help="the record (default: /cdk-sagemaker-hosting/<group>/approved-version)",
    )
    parser.add_argument("--pipeline", help="the promotion pipeline to start (default: none)")
    parser.add_argument(
        "--pipeline-variable",
        help="the pipeline variable that carries the version (default: ModelPackageArn; '' "
        "for a pipeline without one); only with --pipeline",
    )
    parser.add_argument(
        "--artifacts",
        help="s3://bucket/prefix/ the deploying accounts may read; other artifacts are refused",
    )
    parser.add_argument("--topic-arn", help="SNS topic to publish the outcome to")
    parser.add_argument("--event-bus", help="EventBridge bus to send the outcome event to")
    parser.add_argument("--region", help="AWS region (default: the SDK's)")
    parser.add_argument(
        "--dry-run", action="store_true", help="check and say what would be done; write nothing"
    )
    parser.set_defaults(run=run)


def config_from(args: argparse.Namespace, clients: dict[str, Any]) -> core.Config:
    """The handler's configuration the arguments describe (a group name is in this account)."""
    from . import core  # noqa: PLC0415

    group = args.group
    if _GROUP_ARN.match(group):
        group_arn = group
    elif _GROUP_NAME.match(group):
        account = clients["sts"].get_caller_identity()["Account"]
        region = clients["sagemaker"].meta.region_name
        partition = clients["sagemaker"].meta.partition
        group_arn = f"arn:{partition}:sagemaker:{region}:{account}:model-package-group/{group}"
    else:
        msg = (
            f"--group {group!r} is neither a model package group name (1-63 letters, digits "
            "and hyphens) nor a group ARN"
        )
        raise BadUsageError(msg)
    if args.version is not None and args.version < 1:
        msg = f"--version {args.version} is not a version: versions start at 1"
        raise BadUsageError(msg)
    if args.artifacts is not None and not re.match(r"^s3://[a-z0-9.\-]{3,63}/", args.artifacts):
        msg = f"--artifacts {args.artifacts!r} is not an s3://bucket/prefix/ URL"
        raise BadUsageError(msg)
    if args.pipeline_variable is not None and not args.pipeline:
        msg = (
            f"--pipeline-variable {args.pipeline_variable!r} applies to --pipeline, which is "
            "not given: name the pipeline to start, or leave the variable out"
        )
        raise BadUsageError(msg)
    variable = "ModelPackageArn" if args.pipeline_variable is None else args.pipeline_variable
    name = group_arn.rsplit("/", 1)[-1]
    return core.Config(
        group_arn=group_arn,
        parameter_name=args.parameter or f"/cdk-sagemaker-hosting/{name}/approved-version",
        artifacts_url=args.artifacts,
        pipeline_name=args.pipeline,
        topic_arn=args.topic_arn,
        event_bus=args.event_bus,
        pipeline_variable=variable or None,
    )


def run(args: argparse.Namespace, *, clients: dict[str, Any] | None = None) -> int:
    """Promote; ``clients`` (sagemaker, ssm, sts, codepipeline, sns, events) replace boto3's."""
    # botocore comes with boto3 (the cli extra): imported when the command runs, so the
    # parser of every command builds without it.
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from . import core  # noqa: PLC0415

    outcome: dict[str, Any] = {}
    published: list[dict[str, Any]] = []
    try:
        clients = clients or _clients(args.region)
        config = config_from(args, clients)
        if not config.artifacts_url:
            print(
                "note: artifacts not checked against a readable prefix (give --artifacts)",
                file=sys.stderr,
            )
        outcome = core.promote(
            version=args.version,
            sagemaker=clients["sagemaker"],
            ssm=clients["ssm"],
            codepipeline=clients.get("codepipeline") if config.pipeline_name else None,
            config=config,
            now=time.time,
            publish=_remembering(
                published,
                core.publisher(
                    sns=clients.get("sns") if config.topic_arn else None,
                    topic_arn=config.topic_arn,
                    events=clients.get("events") if config.event_bus else None,
                    event_bus=config.event_bus,
                ),
            ),
            dry_run=args.dry_run,
        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        print(json.dumps({"result": "interrupted"}))
        return EXIT_INTERRUPTED
    except (BadUsageError, core.RefusedError) as error:
        print(f"refused: {error}", file=sys.stderr)
        print(json.dumps({"result": "refused", "error": str(error)}))
        return EXIT_REFUSED
    except (ClientError, BotoCoreError) as error:
        said = str(error)
        print(f"failed: {said}", file=sys.stderr)
        # What was already done (the record written, the pipeline not started) is in the
        # last outcome published: a retry of the same command starts the pipeline.
        summary = {**(published[-1] if published else {}), "result": "failed", "error": said}
        print(json.dumps(summary, default=str, sort_keys=True))
        return EXIT_FAILED
    except Exception as error:  # as shift: any other failure is exit 1, the JSON still last
        said = f"{type(error).__name__}: {error}"
        print(f"failed: {said}", file=sys.stderr)
        summary = {**(published[-1] if published else {}), "result": "failed", "error": said}
        print(json.dumps(summary, default=str, sort_keys=True))
        return EXIT_FAILED
    print(json.dumps(outcome, default=str, sort_keys=True))
    return EXIT_DONE if outcome.get("result") != "refused" else EXIT_REFUSED


def _remembering(
    seen: list[dict[str, Any]], publish: Callable[[dict[str, Any]], None]
) -> Callable[[dict[str, Any]], None]:
    def remember(outcome: dict[str, Any]) -> None:
        seen.append(dict(outcome))
        publish(outcome)

    return remember


def _clients(region: str | None) -> dict[str, Any]:
    import boto3  # noqa: PLC0415 - only the command line and the Lambda runtime need it
    from botocore.config import Config  # noqa: PLC0415

    session = boto3.session.Session(region_name=region)
    config = Config(retries={"mode": "standard", "max_attempts": 8})
    return {
        service: session.client(service, config=config)
        for service in ("sagemaker", "ssm", "sts", "codepipeline", "sns", "events")
    }
