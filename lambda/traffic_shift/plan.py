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
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: Weights closer than this, relative to their size, are equal (SageMaker
#: may keep weights as 32-bit floats: 99.9 can read back as 99.9000015).
TOLERANCE = 1e-6
#: SageMaker's variant names (botocore ``VariantName``).
NAME_MAX_LENGTH = 63
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
#: The most steps a shift takes, and the longest bake or data wait (a day).
MAX_STEPS = 20
MAX_SECONDS = 86400
#: Time a weight update may take, per step (for the lock's expiry and the
#: state machine's time and history budgets).
UPDATE_ALLOWANCE_SECONDS = 1800
#: The most polls (looks at the endpoint or the alarms) a shift may need.
#: Each is about 9 events of a Step Functions execution's history, which
#: holds at most 25,000: 2,500 polls stay well inside it.
MAX_POLLS = 2500


class ShiftError(Exception):
    """A shift could not run to its end (an AWS error, an endpoint that failed)."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One rule a request breaks: the field, the value it holds, what is allowed.

    The construct (``TrafficShift``) reports the same problems at synth time,
    under its own property names, with its path.
    """

    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r} is invalid: {self.rule}"


class BadRequest(ShiftError):  # noqa: N818 - the HTTP sense: the caller's input is wrong
    """The caller asked for something impossible; nothing was changed.

    ``problems`` lists the broken rules, when the request itself is wrong.
    """

    def __init__(self, message: str | None = None, problems: Sequence[Problem] = ()) -> None:
        self.problems = tuple(problems)
        super().__init__(message or "; ".join(str(p) for p in self.problems))


class EndpointBusy(BadRequest):
    """Another shift holds the endpoint; nothing was changed."""


class LostLock(ShiftError):  # noqa: N818 - its name is the state machine's error name
    """Another shift took the endpoint's lock while this one ran: it stops, hands-off."""


class AlarmRolledBack(ShiftError):  # noqa: N818 - its name is the state machine's error name
    """An alarm's state-change event rolled the shift back: it moves no weight forward."""


class EndpointNotReady(ShiftError):  # noqa: N818 - the error name its Retry matches
    """The endpoint is not ``InService`` yet (an update runs): try again later."""


def check_budget(request: Request, timeout_seconds: float) -> None:
    """Refuse a shift a state machine could not finish: its time limit, its history.

    A Step Functions execution keeps at most 25,000 history events; each poll
    takes about 9 of them (see :data:`MAX_POLLS`).
    """
    problems = budget_problems(request, timeout_seconds)
    if problems:
        raise BadRequest(problems=problems)


def budget_problems(request: Request, timeout_seconds: float) -> list[Problem]:
    """What :func:`check_budget` refuses, as problems."""
    steps, bake, wait = len(request.steps), request.bake_seconds, request.data_timeout
    problems = []
    worst = worst_case_seconds(steps, bake, wait)
    if worst > timeout_seconds:
        problems.append(
            Problem(
                "timeout_seconds",
                timeout_seconds,
                f"{steps} steps of {bake} s bake and {wait} s data wait may take {worst:.0f} s, "
                f"longer than the state machine's {timeout_seconds:.0f} s time limit: allow "
                "more time, or take fewer steps or shorter bakes",
            )
        )
    need = polls(steps, bake, wait, request.poll_seconds)
    if need > MAX_POLLS:
        problems.append(
            Problem(
                "poll_seconds",
                request.poll_seconds,
                f"{steps} steps of {bake} s bake and {wait} s data wait, polled every "
                f"{request.poll_seconds} s, may take {need} polls, more than {MAX_POLLS} (a "
                "Step Functions execution's history holds 25,000 events, about 9 a poll): "
                "poll less often, or bake less",
            )
        )
    return problems


def polls(steps: int, bake_seconds: float, data_timeout_seconds: float, poll_seconds: float) -> int:
    """The most polls a shift of ``steps`` steps needs, each step at its worst."""
    per_step = bake_seconds + data_timeout_seconds + UPDATE_ALLOWANCE_SECONDS
    return steps * -(-int(per_step) // max(1, int(poll_seconds)))


def worst_case_seconds(steps: int, bake_seconds: float, data_timeout_seconds: float) -> float:
    """The longest a shift of ``steps`` steps may take."""
    return steps * (bake_seconds + data_timeout_seconds + UPDATE_ALLOWANCE_SECONDS)


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

    def problems(self) -> list[Problem]:
        """The rules this comparison breaks (fields named ``comparison.<name>``)."""
        problems = []
        rate = self.max_error_rate_increase
        if not _is_number(rate) or not 0 <= rate <= 1:
            problems.append(
                Problem(
                    "comparison.max_error_rate_increase",
                    rate,
                    "must be a fraction from 0 to 1 (0.01 allows one point more 5XX errors "
                    "per invocation than the source)",
                )
            )
        latency = self.max_latency_increase
        if not _is_number(latency) or not 0 <= latency < math.inf:
            problems.append(
                Problem(
                    "comparison.max_latency_increase",
                    latency,
                    "must be a fraction of 0 or more (0.2 allows 20 % slower)",
                )
            )
        calls = self.min_invocations
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
            problems.append(
                Problem(
                    "comparison.min_invocations",
                    calls,
                    "must be a whole number of invocations, at least 1",
                )
            )
        return problems

    def to_json(self) -> dict[str, Any]:
        """The comparison as the handler's request carries it (its fields)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Comparison | None:
        """The comparison of a request (``None`` without one); missing fields take defaults."""
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

    def check(self) -> None:
        """Refuse a request that cannot be right whatever the endpoint holds."""
        problems = self.problems()
        if problems:
            raise BadRequest(problems=problems)

    def problems(self) -> list[Problem]:  # noqa: PLR0912 - every rule of a request
        """Every rule this request breaks, at most one per field, in the order of the fields."""
        problems = []
        if not self.endpoint:
            problems.append(Problem("endpoint", self.endpoint, "must name the endpoint"))
        for role, name in (("source", self.source), ("target", self.target)):
            if not isinstance(name, str) or not _is_variant_name(name):
                problems.append(
                    Problem(
                        role,
                        name,
                        f"must be a variant name: 1-{NAME_MAX_LENGTH} letters, digits and "
                        "hyphens, starting and ending with a letter or digit",
                    )
                )
        if self.source == self.target:
            problems.append(
                Problem(
                    "target",
                    self.target,
                    "must differ from the source variant (the one losing traffic)",
                )
            )
        steps = self.steps
        shown = _steps(steps)
        if not steps:
            problems.append(
                Problem(
                    "steps",
                    shown,
                    f"must be 1-{MAX_STEPS} percentages, strictly increasing, ending at 100",
                )
            )
        elif len(steps) > MAX_STEPS:
            problems.append(
                Problem("steps", shown, f"must be at most {MAX_STEPS} steps ({len(steps)} given)")
            )
        elif any(not _is_number(s) or not 0 < s <= 100 for s in steps):
            problems.append(Problem("steps", shown, "must be percentages above 0 and at most 100"))
        elif any(b <= a for a, b in itertools.pairwise(steps)):
            problems.append(Problem("steps", shown, "must strictly increase"))
        elif steps[-1] != 100:
            problems.append(Problem("steps", shown, "must end at 100 (the promotion)"))
        for field, seconds in (
            ("bake_seconds", self.bake_seconds),
            ("data_timeout_seconds", self.data_timeout),
        ):
            if not 0 <= seconds <= MAX_SECONDS:
                problems.append(Problem(field, seconds, f"must be 0 s to {MAX_SECONDS} s (a day)"))
        poll, bake = self.poll_seconds, self.bake_seconds
        if not 1 <= poll <= MAX_SECONDS:
            problems.append(Problem("poll_seconds", poll, f"must be 1 s to {MAX_SECONDS} s"))
        elif 0 < bake < poll:
            problems.append(
                Problem(
                    "poll_seconds",
                    poll,
                    f"must be at most the bake time ({bake} s): a step is judged only when it "
                    "is polled, so it would bake a whole poll interval",
                )
            )
        if self.comparison is not None:
            problems.extend(self.comparison.problems())
        return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_variant_name(name: str) -> bool:
    return len(name) <= NAME_MAX_LENGTH and NAME_PATTERN.match(name) is not None


def _steps(steps: Sequence[float]) -> str:
    return ",".join(f"{s:g}" if _is_number(s) else repr(s) for s in steps)


def check_variants(request: Request, weights: Mapping[str, float]) -> None:
    """Refuse variants the endpoint does not have, or an endpoint of one variant."""
    problems = variant_problems(request, list(weights))
    if problems:
        raise BadRequest(problems=problems)


def variant_problems(request: Request, variants: Sequence[str]) -> list[Problem]:
    """What :func:`check_variants` refuses, given the endpoint's production variants."""
    names = ", ".join(variants) or "none"
    if len(variants) < 2:
        return [
            Problem(
                "endpoint",
                request.endpoint,
                f"must have at least two production variants to shift traffic between "
                f"(it has {names})",
            )
        ]
    return [
        Problem(role, name, f"must be a production variant of the endpoint: {names}")
        for role, name in (("source", request.source), ("target", request.target))
        if name not in variants
    ]


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
    return [s for s in request.steps if s > share and not same_weight(s, share)]


def same_weight(a: float, b: float) -> bool:
    """Equal weights, within :data:`TOLERANCE` relative to their size."""
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def same_weights(current: Mapping[str, float], desired: Mapping[str, float]) -> bool:
    """True when every desired weight is in place."""
    return all(same_weight(current.get(k, 0.0), v) for k, v in desired.items())
