"""Predictions from data capture, labels from ground truth, joined by ID; every bad record counted.

A capture line (the endpoint's data capture) holds the prediction in
``captureData.endpointOutput``::

    {"captureData": {"endpointInput": {...},
      "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                         "data": "0.83", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "..."},
     "eventVersion": "0"}

A ground-truth line is Model Monitor's layout::

    {"groundTruthData": {"data": "1", "encoding": "CSV"},
     "eventMetadata": {"eventId": "..."}, "eventVersion": "0"}

The ground truth's ``eventId`` names the capture record's ``eventId``, or
its ``inferenceId`` when the caller sets one on each request (``key``).

Every record read ends up in exactly one place: joined (one prediction and
one label), or counted under one reason (:data:`REASONS`), so that
``predictions + labels == 2 * joined + sum(rejected)``. An ID that occurs
more than once on either side is ambiguous: all of its records, on both
sides, are counted as :data:`DUPLICATE_ID`, whatever the order they were
read in (so workers that each read part of a window agree). A record whose
value cannot be read is counted as unparseable, and its partner on the other
side as without a partner.

The reading of lines (bytes to text, a chunk at a time) is written here, not
imported from the drift check: each function's Lambda asset holds only its own
package, so ``quality`` cannot import ``drift`` at run time.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
PROBLEMS = (BINARY, MULTICLASS, REGRESSION)

EVENT_ID = "eventId"
INFERENCE_ID = "inferenceId"
KEYS = (EVENT_ID, INFERENCE_ID)

#: Why a record is not joined.
MALFORMED_CAPTURE = "malformed_capture_line"
MALFORMED_GROUND_TRUTH = "malformed_ground_truth_line"
MISSING_ID = "missing_id"
UNPARSEABLE_PREDICTION = "unparseable_prediction"
UNPARSEABLE_LABEL = "unparseable_label"
DUPLICATE_ID = "duplicate_id"
PREDICTION_WITHOUT_LABEL = "prediction_without_label"
LABEL_WITHOUT_PREDICTION = "label_without_prediction"
REASONS = (
    MALFORMED_CAPTURE,
    MALFORMED_GROUND_TRUTH,
    MISSING_ID,
    UNPARSEABLE_PREDICTION,
    UNPARSEABLE_LABEL,
    DUPLICATE_ID,
    PREDICTION_WITHOUT_LABEL,
    LABEL_WITHOUT_PREDICTION,
)

#: Bytes read at a time from a capture or ground-truth object.
CHUNK_SIZE = 1 << 18
#: A line that is not UTF-8, as :func:`line_batches` yields it.
UNDECODABLE = "\x00undecodable"

_TRUE = frozenset({"1", "1.0", "true"})
_FALSE = frozenset({"0", "0.0", "false"})


class UnreadableValueError(ValueError):
    """A prediction or label that cannot be read as the problem's type."""


def _text(payload: Any) -> str | None:
    """The text of a ``{data, encoding, observedContentType}`` object, or ``None``."""
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    if not isinstance(data, str):
        return None
    encoding = payload.get("encoding", "CSV")
    if encoding in ("CSV", "JSON"):
        return data
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    return None


def _is_json(payload: dict[str, Any]) -> bool:
    if payload.get("encoding") == "JSON":
        return True
    content_type = str(payload.get("observedContentType", "")).lower()
    return "json" in content_type


def _lookup(document: Any, attribute: str | None) -> Any:
    """``attribute`` (dotted, list positions as numbers) of a JSON document.

    Without an attribute, a scalar is itself and a list (or a list of lists)
    its first element; an object needs an attribute.
    """
    if attribute:
        for part in attribute.split("."):
            if isinstance(document, list) and part.isdigit() and int(part) < len(document):
                document = document[int(part)]
            elif isinstance(document, dict) and part in document:
                document = document[part]
            else:
                msg = f"no {attribute!r} in the payload"
                raise UnreadableValueError(msg)
        return document
    while isinstance(document, list) and len(document) >= 1:
        document = document[0]
    return document


def raw_value(payload: Any, attribute: str | None, column: int) -> Any:
    """The scalar a payload holds: a CSV field or a JSON value."""
    text = _text(payload)
    if text is None:
        msg = "no readable data"
        raise UnreadableValueError(msg)
    if _is_json(payload):
        try:
            document = json.loads(text)
        except ValueError as error:
            raise UnreadableValueError(str(error)) from error
        return _lookup(document, attribute)
    first = text.strip("\r\n").split("\n", 1)[0]
    fields = next(csv.reader([first])) if '"' in first else first.split(",")
    if column >= len(fields):
        msg = f"no column {column}"
        raise UnreadableValueError(msg)
    return fields[column].strip()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        msg = f"not a number: {value!r}"
        raise UnreadableValueError(msg)
    try:
        number = float(value)
    except ValueError as error:
        raise UnreadableValueError(str(error)) from error
    if not math.isfinite(number):
        msg = f"not a finite number: {value!r}"
        raise UnreadableValueError(msg)
    return number


def score(value: Any) -> float:
    """A binary prediction: a score between 0 and 1."""
    number = _number(value)
    if not 0.0 <= number <= 1.0:
        msg = f"score {number} is not between 0 and 1"
        raise UnreadableValueError(msg)
    return number


def binary_label(value: Any) -> int:
    """A binary label: 0 or 1 (also ``true``/``false``, ``"1.0"``)."""
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower() if isinstance(value, int | float | str) else ""
    if text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    msg = f"not a binary label: {value!r}"
    raise UnreadableValueError(msg)


def class_label(value: Any) -> str:
    """A class: its text; a whole number is written without a fraction (1.0 is "1")."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"not a class: {value!r}"
            raise UnreadableValueError(msg)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    msg = f"not a class: {value!r}"
    raise UnreadableValueError(msg)


#: How each problem reads a prediction and a label.
READERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    BINARY: (score, binary_label),
    MULTICLASS: (class_label, class_label),
    REGRESSION: (_number, _number),
}


class Join:
    """Predictions and labels of one window, read line by line, joined by :meth:`pairs`.

    Memory: one entry per ID read (the ID and its value), on each side.

    :param problem: ``binary``, ``multiclass`` or ``regression``.
    :param key: the capture's ``eventMetadata`` field the ground truth's
        ``eventId`` names: ``eventId`` (default) or ``inferenceId``.
    :param prediction_attribute: where a JSON prediction holds the value
        (dotted, e.g. ``predictions.0.score``); CSV uses ``prediction_column``.
    :param label_attribute: the same for JSON labels.
    """

    def __init__(
        self,
        problem: str,
        *,
        key: str = EVENT_ID,
        prediction_attribute: str | None = None,
        prediction_column: int = 0,
        label_attribute: str | None = None,
        label_column: int = 0,
    ) -> None:
        if problem not in PROBLEMS:
            msg = f"problem {problem!r}: one of {', '.join(PROBLEMS)}"
            raise ValueError(msg)
        if key not in KEYS:
            msg = f"key {key!r}: one of {', '.join(KEYS)}"
            raise ValueError(msg)
        self.problem = problem
        self.key = key
        self.prediction_attribute = prediction_attribute
        self.prediction_column = prediction_column
        self.label_attribute = label_attribute
        self.label_column = label_column
        self._read_prediction, self._read_label = READERS[problem]
        self.predictions: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}
        #: IDs seen more than once on a side, and how many records they have there.
        self.repeated_predictions: dict[str, int] = {}
        self.repeated_labels: dict[str, int] = {}
        self.prediction_records = 0
        self.label_records = 0
        self.rejected: Counter[str] = Counter()

    def add_capture(self, lines: Iterable[str]) -> None:
        """Read capture lines (empty lines are no records)."""
        for line in lines:
            if not line or line.isspace():
                continue
            self.prediction_records += 1
            try:
                record = json.loads(line)
                output = record["captureData"]["endpointOutput"]
                identifier = record["eventMetadata"].get(self.key)
            except (ValueError, KeyError, TypeError, AttributeError):
                self.rejected[MALFORMED_CAPTURE] += 1
                continue
            self._add(
                identifier,
                payload=output,
                read=self._read_prediction,
                attribute=self.prediction_attribute,
                column=self.prediction_column,
                unparseable=UNPARSEABLE_PREDICTION,
                values=self.predictions,
                repeated=self.repeated_predictions,
            )

    def add_ground_truth(self, lines: Iterable[str]) -> None:
        """Read ground-truth lines (empty lines are no records)."""
        for line in lines:
            if not line or line.isspace():
                continue
            self.label_records += 1
            try:
                record = json.loads(line)
                data = record["groundTruthData"]
                identifier = record["eventMetadata"].get(EVENT_ID)
            except (ValueError, KeyError, TypeError, AttributeError):
                self.rejected[MALFORMED_GROUND_TRUTH] += 1
                continue
            self._add(
                identifier,
                payload=data,
                read=self._read_label,
                attribute=self.label_attribute,
                column=self.label_column,
                unparseable=UNPARSEABLE_LABEL,
                values=self.labels,
                repeated=self.repeated_labels,
            )

    def _add(
        self,
        identifier: Any,
        *,
        payload: Any,
        read: Callable[[Any], Any],
        attribute: str | None,
        column: int,
        unparseable: str,
        values: dict[str, Any],
        repeated: dict[str, int],
    ) -> None:
        if not isinstance(identifier, str) or not identifier:
            self.rejected[MISSING_ID] += 1
            return
        try:
            value = read(raw_value(payload, attribute, column))
        except UnreadableValueError:
            self.rejected[unparseable] += 1
            return
        if identifier in repeated:
            repeated[identifier] += 1
        elif identifier in values:
            del values[identifier]
            repeated[identifier] = 2
        else:
            values[identifier] = value

    def pairs(self) -> tuple[list[Any], list[Any]]:
        """The joined predictions and labels, in step; counts what is not joined.

        Call once, after every line is read: it empties the sides.
        """
        rejected = self.rejected
        for repeated, other in (
            (self.repeated_predictions, self.labels),
            (self.repeated_labels, self.predictions),
        ):
            for identifier, records in repeated.items():
                rejected[DUPLICATE_ID] += records
                if other.pop(identifier, _MISSING) is not _MISSING:
                    rejected[DUPLICATE_ID] += 1
        self.repeated_predictions, self.repeated_labels = {}, {}
        predictions: list[Any] = []
        labels: list[Any] = []
        label_of = self.labels.pop
        missing = _MISSING
        for identifier, prediction in self.predictions.items():
            label = label_of(identifier, missing)
            if label is missing:
                rejected[PREDICTION_WITHOUT_LABEL] += 1
            else:
                predictions.append(prediction)
                labels.append(label)
        rejected[LABEL_WITHOUT_PREDICTION] += len(self.labels)
        self.predictions, self.labels = {}, {}
        for reason in [r for r, n in rejected.items() if not n]:
            del rejected[reason]
        return predictions, labels


_MISSING: Any = object()


def line_batches(read: Callable[[int], bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[list[str]]:
    """The lines of a stream, a chunk at a time (memory: a chunk and the longest line).

    A line that is not UTF-8 comes as :data:`UNDECODABLE`, which the join
    counts as a malformed line.
    """
    tail = b""
    while True:
        chunk = read(chunk_size)
        if not chunk:
            break
        if tail:
            chunk = tail + chunk
        cut = chunk.rfind(b"\n")
        if cut < 0:
            tail = chunk
            continue
        tail = chunk[cut + 1 :]
        yield _decode(chunk[:cut])
    if tail:
        yield _decode(tail)


def _decode(blob: bytes) -> list[str]:
    try:
        return blob.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = []
        for raw in blob.split(b"\n"):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(UNDECODABLE)
        return lines
