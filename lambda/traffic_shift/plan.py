"""What a shift is: the request, its checks, and the weights of every step.

Pure functions over plain data (no AWS calls), so the Lambda function, the
command line and the tests agree on every number.

Steps are percentages of the *pair's* traffic on the target: with source A
and target B holding ``total = w_A + w_B`` when the shift starts, step ``p``
sets ``w_B = total * p / 100`` and ``w_A = total - w_B``. Other variants keep
their weights, so the endpoint's share of the pair never changes. Steps at or
below the target's share at the start are skipped; the last step must be 100
(promotion: every request of the pair goes to the target).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

#: Weights closer than this are equal (SageMaker reports floats).
TOLERANCE = 1e-6
NAME_MAX_LENGTH = 63


class ShiftError(Exception):
    """A shift could not run to its end (an AWS error, an endpoint that failed)."""


class BadRequest(ShiftError):  # noqa: N818 - the HTTP sense: the caller's input is wrong
    """The caller asked for something impossible; nothing was changed."""


class EndpointBusy(BadRequest):
    """Another shift holds the endpoint; nothing was changed."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Comparison:
    """Compare the target variant with the source over each bake window.

    :param max_error_rate_increase: the target's 5XX rate (errors per
        invocation) may exceed the source's by at most this. Default: 0.01.
    :param max_latency_increase: the target's p99 model latency may exceed the
        source's by at most this fraction. Default: 0.2 (20 %).
    :param min_invocations: below this many target invocations in the window
        there is no verdict yet (no data is not health). Default: 100.
    """

    max_error_rate_increase: float = 0.01
    max_latency_increase: float = 0.2
    min_invocations: int = 100

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Comparison | None:
        if data is None:
            return None
        try:
            return cls(
                max_error_rate_increase=float(data.get("max_error_rate_increase", 0.01)),
                max_latency_increase=float(data.get("max_latency_increase", 0.2)),
                min_invocations=int(data.get("min_invocations", 100)),
            )
        except (TypeError, ValueError) as error:
            msg = f"comparison={dict(data)!r} is invalid: {error}"
            raise BadRequest(msg) from error


@dataclasses.dataclass(frozen=True, kw_only=True)
class Request:
    """One shift, as asked for.

    :param endpoint: the endpoint's name.
    :param source: the variant losing traffic.
    :param target: the variant gaining it.
    :param steps: the target's share of the pair's traffic at each step, in
        percent, strictly increasing, ending at 100.
    :param bake_seconds: time each step runs before it is judged.
    :param alarms: CloudWatch alarm names that gate every step.
    :param data_timeout_seconds: after the bake, how long a step may wait for
        gating data (alarms out of ``INSUFFICIENT_DATA``, enough invocations)
        before it rolls back. Default: the bake time.
    :param poll_seconds: pause between two looks at the endpoint or alarms.
    :param comparison: the optional metric comparison.
    """

    endpoint: str
    source: str
    target: str
    steps: tuple[float, ...]
    bake_seconds: int
    alarms: tuple[str, ...] = ()
    data_timeout_seconds: int | None = None
    poll_seconds: int = 30
    comparison: Comparison | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Request:
        """A request from the JSON a state machine or a test passes; refuses bad input."""
        try:
            steps = data["steps"]
            if isinstance(steps, str):
                steps = [s for s in steps.split(",") if s.strip()]
            return cls(
                endpoint=str(data["endpoint"]),
                source=str(data["source"]),
                target=str(data["target"]),
                steps=tuple(float(s) for s in steps),
                bake_seconds=int(data["bake_seconds"]),
                alarms=tuple(str(a) for a in data.get("alarms") or ()),
                data_timeout_seconds=(
                    None
                    if data.get("data_timeout_seconds") is None
                    else int(data["data_timeout_seconds"])
                ),
                poll_seconds=int(data.get("poll_seconds", 30)),
                comparison=Comparison.from_json(data.get("comparison")),
            )
        except KeyError as error:
            msg = f"{error.args[0]} is missing from the request"
            raise BadRequest(msg) from error
        except (TypeError, ValueError) as error:
            msg = f"the request is invalid: {error}"
            raise BadRequest(msg) from error

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["steps"] = list(self.steps)
        data["alarms"] = list(self.alarms)
        data["comparison"] = self.comparison.to_json() if self.comparison else None
        return data

    @property
    def data_timeout(self) -> int:
        return self.bake_seconds if self.data_timeout_seconds is None else self.data_timeout_seconds

    def check(self) -> None:  # noqa: PLR0912 - every rule of a request, each with its message
        """Refuse a request that cannot be right whatever the endpoint holds."""
        problems = []
        if not self.endpoint:
            problems.append("endpoint is empty")
        for role, name in (("source", self.source), ("target", self.target)):
            if not name or len(name) > NAME_MAX_LENGTH:
                problems.append(f"{role}={name!r} is not a variant name")
        if self.source == self.target:
            problems.append(f"source and target are the same variant ({self.source!r})")
        if not self.steps:
            problems.append("steps is empty")
        for step in self.steps:
            if not math.isfinite(step) or not 0 < step <= 100:
                problems.append(f"step {step:g} is outside 0-100 (a percentage above 0)")
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            problems.append(f"steps {_steps(self.steps)} do not strictly increase")
        if self.steps and self.steps[-1] != 100:
            problems.append(f"steps {_steps(self.steps)} must end at 100 (promotion)")
        if self.bake_seconds < 0:
            problems.append(f"bake_seconds={self.bake_seconds} is negative")
        if self.data_timeout < 0:
            problems.append(f"data_timeout_seconds={self.data_timeout} is negative")
        if self.poll_seconds < 1:
            problems.append(f"poll_seconds={self.poll_seconds} must be at least 1")
        if problems:
            raise BadRequest("; ".join(problems))


def _steps(steps: Sequence[float]) -> str:
    return ",".join(f"{s:g}" for s in steps)


def check_variants(request: Request, weights: Mapping[str, float]) -> None:
    """Refuse variants the endpoint does not have, or an endpoint of one variant."""
    names = ", ".join(sorted(weights)) or "none"
    if len(weights) < 2:
        msg = f"endpoint {request.endpoint!r} has one variant ({names}): nothing to shift"
        raise BadRequest(msg)
    for role, name in (("source", request.source), ("target", request.target)):
        if name not in weights:
            msg = (
                f"{role} variant {name!r} is not on endpoint {request.endpoint!r} (it has {names})"
            )
            raise BadRequest(msg)


def step_weights(
    initial: Mapping[str, float], source: str, target: str, percent: float
) -> dict[str, float]:
    """The source's and target's weights with ``percent`` of the pair on the target."""
    total = initial[source] + initial[target]
    on_target = round(total * percent / 100, 9)
    return {source: round(total - on_target, 9), target: on_target}


def remaining_steps(initial: Mapping[str, float], request: Request) -> list[float]:
    """The steps still to take: those above the target's share at the start."""
    total = initial[request.source] + initial[request.target]
    if total <= 0:
        msg = (
            f"variants {request.source!r} and {request.target!r} of {request.endpoint!r} "
            "both have weight 0: there is no traffic to shift"
        )
        raise BadRequest(msg)
    share = initial[request.target] / total * 100
    return [s for s in request.steps if s > share + TOLERANCE * 100]


def same_weights(current: Mapping[str, float], desired: Mapping[str, float]) -> bool:
    """True when every desired weight is in place."""
    return all(abs(current.get(k, 0.0) - v) <= TOLERANCE for k, v in desired.items())
