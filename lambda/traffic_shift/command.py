"""``cdk-sagemaker-hosting shift``: the state machine's logic, run from a terminal.

Exit codes: 0 promoted, 3 rolled back (a Ctrl-C during the steps rolls
back), 2 refused (bad input, unknown endpoint/variant/alarm, another shift
running), 130 interrupted before the shift began or during its rollback,
1 any other failure. The last line printed is a one-line JSON summary;
progress goes before it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
import time
from typing import Any

from . import core
from .aws import client_config, error_text
from .plan import BadRequest, Comparison, Request

EXIT_PROMOTED = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_ROLLED_BACK = 3
#: Ctrl-C outside the steps (a Ctrl-C during the steps rolls back: exit 3).
EXIT_INTERRUPTED = 130


def register(subparsers: Any) -> None:
    """Add the ``shift`` command."""
    parser = subparsers.add_parser(
        "shift",
        help="move traffic from one live variant to another, step by step, with rollback",
        description=(
            "Move traffic from variant --from to variant --to of a live endpoint along "
            "--steps (the target's percentage of the pair's traffic), baking each step and "
            "gating it on alarms; roll back to the starting weights on an alarm, missing "
            "data, an error or Ctrl-C. Exit 0 promoted, 3 rolled back, 2 refused."
        ),
    )
    parser.add_argument("--endpoint", required=True, help="endpoint name")
    parser.add_argument("--from", dest="source", required=True, help="variant losing traffic")
    parser.add_argument("--to", dest="target", required=True, help="variant gaining traffic")
    parser.add_argument(
        "--steps", default="10,25,50,100", help="percentages, increasing, ending at 100"
    )
    parser.add_argument("--bake-seconds", type=int, default=600, help="bake time per step")
    parser.add_argument(
        "--alarm", action="append", default=[], help="gating alarm name (repeatable)"
    )
    parser.add_argument(
        "--data-timeout-seconds",
        type=int,
        default=None,
        help="wait for gating data after the bake this long (default: the bake time)",
    )
    parser.add_argument("--poll-seconds", type=int, default=30, help="pause between checks")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also compare the target's 5XX rate and p99 latency with the source's",
    )
    parser.add_argument("--max-error-rate-increase", type=float, default=0.01)
    parser.add_argument("--max-latency-increase", type=float, default=0.2)
    parser.add_argument("--min-invocations", type=int, default=100)
    parser.add_argument("--topic-arn", help="SNS topic to publish the outcome to")
    parser.add_argument("--event-bus", help="EventBridge bus to send the outcome event to")
    parser.add_argument("--region", help="AWS region (default: the SDK's)")
    parser.set_defaults(run=run)


def _owner() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli-{user}-{socket.gethostname()}-{os.getpid()}-{int(time.time())}"[:80]


def request_from(args: argparse.Namespace) -> Request:
    """The request the arguments describe."""
    comparison = (
        Comparison(
            max_error_rate_increase=args.max_error_rate_increase,
            max_latency_increase=args.max_latency_increase,
            min_invocations=args.min_invocations,
        )
        if args.compare
        else None
    )
    return Request.from_json(
        {
            "endpoint": args.endpoint,
            "source": args.source,
            "target": args.target,
            "steps": args.steps,
            "bake_seconds": args.bake_seconds,
            "alarms": args.alarm,
            "data_timeout_seconds": args.data_timeout_seconds,
            "poll_seconds": args.poll_seconds,
            "comparison": comparison.to_json() if comparison else None,
        }
    )


def run(args: argparse.Namespace, *, clients: dict[str, Any] | None = None) -> int:
    """Run a shift; ``clients`` (sagemaker, cloudwatch, sns, events) replace boto3's."""

    def progress(line: str) -> None:
        print(line, flush=True)

    try:
        request = request_from(args)
        request.check()
        clients = clients or _clients(args.region)
        state = core.run(
            clients["sagemaker"],
            clients["cloudwatch"],
            request,
            owner=_owner(),
            sleep=time.sleep,
            clock=time.time,
            progress=progress,
            sns=clients.get("sns") if args.topic_arn else None,
            topic_arn=args.topic_arn,
            events=clients.get("events") if args.event_bus else None,
            event_bus=args.event_bus,
        )
    except KeyboardInterrupt:
        # Interrupted before the shift began or while its rollback ran:
        # the weights are as the progress lines last said.
        print("interrupted", file=sys.stderr)
        print(json.dumps({"result": "interrupted"}))
        return EXIT_INTERRUPTED
    except BadRequest as error:
        print(f"refused: {error}", file=sys.stderr)
        print(json.dumps({"result": "refused", "error": str(error)}))
        return EXIT_REFUSED
    except Exception as error:
        print(f"failed: {error_text(error)}", file=sys.stderr)
        print(json.dumps({"result": "failed", "error": error_text(error)}))
        return EXIT_FAILED
    print(json.dumps({"result": state["result"], "weights": state["weights"]}))
    return EXIT_PROMOTED if state["result"] == core.PROMOTED else EXIT_ROLLED_BACK


def _clients(region: str | None) -> dict[str, Any]:
    import boto3  # noqa: PLC0415 - only the command line and the Lambda runtime need it

    session = boto3.session.Session(region_name=region)
    config = client_config()
    return {
        service: session.client(service, config=config)
        for service in ("sagemaker", "cloudwatch", "sns", "events")
    }
