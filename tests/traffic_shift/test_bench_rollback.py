"""The rollback bench times the alarm function only when the function restored the weights.

In the emulator the state machine polls every second (Wait states are
capped), so its own Check can see the alarm and roll back first: such a run
measured the poll, not the event path, and must not count as the
function's time.
"""

from __future__ import annotations

import pytest

from scripts.bench_rollback import HALF, START, restored_by

FUNCTION = {"result": "rolled_back", "weights_before": HALF, "weights": START}
AFTER_THE_POLL = {"result": "rolled_back", "weights_before": START, "weights": START}
POLL_FINISHED = {"result": "ignored", "reason": "no shift holds bench-fraud", "owner": None}


@pytest.mark.parametrize(
    ("answer", "who"),
    [(FUNCTION, "function"), (AFTER_THE_POLL, "poll"), (POLL_FINISHED, "poll")],
)
def test_who_restored_the_weights(answer: dict[str, object], who: str) -> None:
    assert restored_by(answer, dict(START)) == who


@pytest.mark.parametrize(
    "answer",
    [
        {"result": "ignored", "reason": "bench-fraud is held by cli-x, not by this state machine"},
        {"result": "ignored", "reason": "alarm x went to OK, not ALARM"},
    ],
)
def test_an_event_wrongly_ignored_is_an_error(answer: dict[str, object]) -> None:
    with pytest.raises(RuntimeError, match="not restored"):
        restored_by(answer, dict(START))


def test_weights_not_restored_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not restored"):
        restored_by(FUNCTION, dict(HALF))
