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

The ground truth's ``eventId`` names the capture record's ``inferenceId``
when the record has one (the caller set it on the request), otherwise its
``eventId``: Model Monitor's rule, the default (``key=AUTO``,
:func:`capture_id`). ``key=EVENT_ID`` or ``INFERENCE_ID`` joins every
record by that one field.

Every record read ends up in exactly one place: joined (one prediction and
one label), or counted under one reason (:data:`REASONS`), so that
``predictions + labels == 2 * joined + sum(rejected)``. An ID that occurs
more than once on either side is ambiguous: all of its records, on both
sides, are counted as :data:`DUPLICATE_ID`, whatever the order they were
read in (so workers that each read part of a window agree). A record whose
value cannot be read is counted as unparseable, and its partner on the other
side as without a partner.

Each capture object names its variant (data capture writes
``<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, :func:`variant_of`),
so a :class:`JoinResult` holds counts per variant: an A/B challenger is
scored beside its champion. A window ``[start, end)`` reads the capture
objects in it and the ground truth written up to ``label_delay`` after its
end (:func:`capture_in_window`, :func:`ground_truth_in_window`,
:func:`hour_folders`); the join holds only the window's predictions, and may
be split by :func:`partition_of` into passes or workers whose results merge
exactly.

The reading of lines (bytes to text, a chunk at a time) is written here, not
imported from the drift check: each function's Lambda asset holds only its own
package, so ``quality`` cannot import ``drift`` at run time.
"""

from __future__ import annotations

import base64
import binascii
import csv
import dataclasses
import datetime as dt
import json
import math
import re
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import compress
from typing import Any

from .counts import BINARY, MULTICLASS, PROBLEMS, REGRESSION, Counts, counts_from_json

__all__ = [  # the problems are counts' names, read from here too
    "AUTO",
    "BINARY",
    "DEFAULT_VARIANT",
    "DUPLICATE_ID",
    "EVENT_ID",
    "INFERENCE_ID",
    "KEYS",
    "LABEL_WITHOUT_PREDICTION",
    "MALFORMED_CAPTURE",
    "MALFORMED_GROUND_TRUTH",
    "MISSING_ID",
    "MULTICLASS",
    "PREDICTION_WITHOUT_LABEL",
    "PROBLEMS",
    "REASONS",
    "REGRESSION",
    "UNDECODABLE",
    "UNPARSEABLE_LABEL",
    "UNPARSEABLE_PREDICTION",
    "Join",
    "JoinResult",
    "UnreadableValueError",
    "capture_fields",
    "capture_id",
    "capture_in_window",
    "endpoint_of",
    "ground_truth_in_window",
    "hour_folders",
    "join_window",
    "line_batches",
    "object_time",
    "partition_of",
    "partitions_for",
    "raw_value",
    "variant_of",
]

EVENT_ID = "eventId"
INFERENCE_ID = "inferenceId"
#: A capture record's ``inferenceId`` when it has one, else its ``eventId`` (Model Monitor's rule).
AUTO = "auto"
KEYS = (AUTO, EVENT_ID, INFERENCE_ID)

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
    """The scalar a payload holds: a CSV field or a JSON value.

    CSV holding more than one non-blank line (a batch request's several
    records under one event ID) is unreadable: which record a label is for
    cannot be told.
    """
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
    rows = [row for row in text.strip("\r\n").split("\n") if row.strip()]
    if len(rows) > 1:
        # A batch request's output: one event ID, several records; joining its first row
        # with the request's label would drop the others silently.
        msg = f"{len(rows)} records in one payload: one prediction or label per event is joined"
        raise UnreadableValueError(msg)
    first = rows[0] if rows else ""
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


#: A whole number written with a zero fraction ("2.0", "-3.00"), as CSV outputs often are.
_WHOLE_WITH_FRACTION = re.compile(r"[+-]?\d+\.0*")


def class_label(value: Any) -> str:
    """A class: its text; a whole number is written without a fraction (1.0 and "1.0" are "1").

    A CSV prediction "2.0" (XGBoost's ``multi:softmax``) and a label "2" or 2
    are one class, as JSON's 2.0 and 2 are; other text is kept as written.
    """
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
        text = value.strip()
        return str(int(text.split(".")[0])) if _WHOLE_WITH_FRACTION.fullmatch(text) else text
    msg = f"not a class: {value!r}"
    raise UnreadableValueError(msg)


#: How each problem reads a prediction and a label.
READERS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    BINARY: (score, binary_label),
    MULTICLASS: (class_label, class_label),
    REGRESSION: (_number, _number),
}


#: The variant of capture records whose path names none (not in data capture's layout).
DEFAULT_VARIANT = "default"
#: At most this many variants in one join (SageMaker allows 10 production variants).
MAX_VARIANTS = 64

# A slot's state, in the two low bits of its tag (the variant's number above them).
_WAITING, _JOINED, _DUPLICATE = 0, 1, 2
#: What one prediction held by a :class:`Join` costs, measured by scripts/bench_quality.py
#: (a 36-character ID, its dict entry and slot number, the values): used by
#: :func:`partitions_for` to keep a pass under a memory budget.
BYTES_PER_PREDICTION = 190
#: Memory of the interpreter and the modules before any record is held.
BASE_MEMORY_MB = 30

#: How SageMaker starts every capture line (the fast path's test).
SAGEMAKER_LAYOUT = '{"captureData":{"endpointInput":'
_OUTPUT = '"endpointOutput":'
_METADATA = '},"eventMetadata":'
#: The C scanner behind json.loads, called without its Python wrappers.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def partition_of(identifier: str, partitions: int) -> int:
    """The partition (``0`` to ``partitions - 1``) of a record's ID, the same in every process.

    CRC-32 of the ID's UTF-8 bytes modulo ``partitions`` (Python's ``hash``
    differs between processes). A join sharded into ``partitions`` passes or
    workers (``Join(partition=k, partitions=n)`` for each ``k``) sees every
    record of an ID in the same pass, so duplicates are found exactly, and
    the merged :class:`JoinResult` equals one pass's.
    """
    if partitions <= 1:
        return 0
    return zlib.crc32(identifier.encode("utf-8", "surrogatepass")) % partitions


def partitions_for(predictions: int, memory_mb: float) -> int:
    """How many partitions keep a pass over ``predictions`` records within ``memory_mb``.

    Uses :data:`BYTES_PER_PREDICTION` and :data:`BASE_MEMORY_MB`; at least 1.
    """
    room = (memory_mb - BASE_MEMORY_MB) * 2**20
    if room <= 0:
        msg = f"memory budget {memory_mb} MB: more than {BASE_MEMORY_MB} MB is needed"
        raise ValueError(msg)
    return max(1, math.ceil(predictions * BYTES_PER_PREDICTION / room))


def capture_fields(line: str, strict: bool) -> tuple[Any, Any]:
    """A capture line's ``endpointOutput`` and ``eventMetadata`` (raises when malformed).

    A line in SageMaker's layout (``{"captureData":{"endpointInput":...,
    "endpointOutput":...},"eventMetadata":...}``) has only its output and
    metadata objects parsed, and the rest checked for shape (the input is
    never used by a quality check); any other line, or any line when
    ``strict``, is parsed whole.
    """
    if not strict and line.startswith(SAGEMAKER_LAYOUT):
        at = line.find(_OUTPUT, 32)
        if at > 0:
            output, end = _scan(line, at + 17)
            if line.startswith(_METADATA, end):
                metadata, end = _scan(line, end + 18)
                if line[-1] == "}" and line.count("}", end) - line.count("{", end) == 1:
                    return output, metadata
    record = json.loads(line)
    return record["captureData"]["endpointOutput"], record["eventMetadata"]


def capture_id(metadata: Any, key: str) -> Any:
    """The ID a capture record is joined by: its ``eventMetadata``'s ``key`` field.

    With :data:`AUTO`, the record's ``inferenceId`` when it has one (a
    non-empty value), otherwise its ``eventId``: Model Monitor's rule, so a
    window where some callers set an inference ID and others do not joins
    each record by the ID its label names. The join and the fan-out's split
    (``monitor``) both read IDs here. Not necessarily a string: the caller
    counts anything but a non-empty string as :data:`MISSING_ID` (raises
    ``AttributeError`` when ``metadata`` is not an object).
    """
    if key == AUTO:
        return metadata.get(INFERENCE_ID) or metadata.get(EVENT_ID)
    return metadata.get(key)


#: At most this many distinct values remembered per reader (labels, classes: a few).
MEMO_SIZE = 4096


def _payload_reader(
    read: Callable[[Any], Any], attribute: str | None, column: int, *, memo: bool = False
) -> Callable[[Any], Any]:
    """``read`` of a payload's value, with a fast path for a one-field CSV payload.

    ``memo``: remember what each distinct one-field text reads as (up to
    :data:`MEMO_SIZE` of them): labels and classes repeat, scores do not.
    """
    json_types: dict[str, bool] = {}
    seen: dict[str, Any] | None = {} if memo else None
    fast = column == 0

    def value(payload: Any) -> Any:
        if fast and type(payload) is dict and payload.get("encoding", "CSV") == "CSV":
            data = payload.get("data")
            content_type = payload.get("observedContentType", "")
            if type(data) is str and type(content_type) is str:
                is_json = json_types.get(content_type)
                if is_json is None:
                    is_json = json_types[content_type] = "json" in content_type.lower()
                if not is_json:
                    if seen is not None:
                        found = seen.get(data, _MISSING)
                        if found is not _MISSING:
                            return found
                    if "," not in data and '"' not in data and "\n" not in data:
                        result = read(data.strip())
                        if seen is not None and len(seen) < MEMO_SIZE:
                            seen[data] = result
                        return result
        return read(raw_value(payload, attribute, column))

    return value


_MISSING: Any = object()


@dataclasses.dataclass
class JoinResult:
    """What a join found, per variant; results of partitions or workers merge.

    ``counts``: the joined records' counts of each variant. ``predictions``:
    prediction records read per variant; ``labels``: label records read.
    ``variant_rejected``: per variant, its prediction records not joined, by
    reason (a malformed capture line or one with no ID counts under the
    variant of its object); ``label_rejected``: label records not joined, by
    reason.

    Nothing is lost: ``sum(predictions) + labels == 2 * joined + sum(rejected)``,
    and per variant ``predictions[v] == counts[v].records + sum(variant_rejected[v])``.
    """

    problem: str
    #: An empty counts' JSON: the settings (threshold, bins) every variant's counts share.
    settings: dict[str, Any]
    counts: dict[str, Counts] = dataclasses.field(default_factory=dict)
    predictions: dict[str, int] = dataclasses.field(default_factory=dict)
    labels: int = 0
    variant_rejected: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    label_rejected: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def variants(self) -> list[str]:
        """Every variant with a prediction record, sorted."""
        return sorted(set(self.predictions) | set(self.counts))

    @property
    def joined(self) -> int:
        return sum(c.records for c in self.counts.values())

    @property
    def rejected(self) -> Counter[str]:
        """Every record not joined, by reason (both sides, every variant)."""
        total: Counter[str] = Counter(self.label_rejected)
        for reasons in self.variant_rejected.values():
            total.update(reasons)
        return +total

    def variant_counts(self, variant: str) -> Counts:
        """The counts of one variant (empty counts when it joined nothing)."""
        counts = self.counts.get(variant)
        return counts if counts is not None else counts_from_json(self.settings)

    def overall(self) -> Counts:
        """Every variant's counts merged (a new object)."""
        total = counts_from_json(self.settings)
        for variant in sorted(self.counts):
            total.merge(self.counts[variant])  # type: ignore[arg-type]
        return total

    def merge(self, other: JoinResult) -> JoinResult:
        """Add another partition's or worker's result to this one; returns self."""
        if (other.problem, other.settings) != (self.problem, self.settings):
            msg = (
                f"cannot merge a {other.problem} join with settings {other.settings} into a "
                f"{self.problem} join with settings {self.settings}"
            )
            raise ValueError(msg)
        for variant, counts in other.counts.items():
            if variant in self.counts:
                self.counts[variant].merge(counts)  # type: ignore[arg-type]
            else:
                self.counts[variant] = counts_from_json(counts.to_json())
        for variant, n in other.predictions.items():
            self.predictions[variant] = self.predictions.get(variant, 0) + n
        self.labels += other.labels
        for variant, reasons in other.variant_rejected.items():
            mine = Counter(self.variant_rejected.get(variant, {}))
            mine.update(reasons)
            self.variant_rejected[variant] = dict(+mine)
        label_rejected = Counter(self.label_rejected)
        label_rejected.update(other.label_rejected)
        self.label_rejected = dict(+label_rejected)
        return self

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (a worker's partial result), read back by :meth:`from_json`."""
        return {
            "problem": self.problem,
            "settings": self.settings,
            "counts": {v: c.to_json() for v, c in sorted(self.counts.items())},
            "predictions": dict(sorted(self.predictions.items())),
            "labels": self.labels,
            "variant_rejected": {v: dict(r) for v, r in sorted(self.variant_rejected.items())},
            "label_rejected": dict(self.label_rejected),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> JoinResult:
        return cls(
            problem=value["problem"],
            settings=value["settings"],
            counts={v: counts_from_json(c) for v, c in value["counts"].items()},
            predictions=dict(value["predictions"]),
            labels=value["labels"],
            variant_rejected={v: dict(r) for v, r in value["variant_rejected"].items()},
            label_rejected=dict(value["label_rejected"]),
        )


class Join:
    """Predictions and labels of one window, read line by line and joined by ID.

    Read every capture object first (:meth:`add_capture`, naming each
    object's variant), then the ground truth (:meth:`add_ground_truth`), then
    call :meth:`finish` once.

    State is bounded by the window: the join holds each prediction of the
    window (its ID, a slot number, the value and the variant: about
    :data:`BYTES_PER_PREDICTION` bytes) and the IDs of labels that matched no
    prediction; labels that match are written beside their prediction, never
    held apart. With ``partitions`` > 1 it holds only the records whose ID is
    in ``partition`` (:func:`partition_of`): running every partition (one
    after another, or one per worker) and merging the :class:`JoinResult`
    gives exactly the single pass's result, duplicates included. Records with
    no ID and malformed lines are counted by partition 0 only.

    Duplicates are exact (IDs are compared whole, never hashed): every record
    of an ID seen more than once on either side is counted as
    :data:`DUPLICATE_ID`, whatever the reading order.

    :param problem: ``binary``, ``multiclass`` or ``regression``.
    :param key: which capture ``eventMetadata`` field the ground truth's
        ``eventId`` names: :data:`AUTO` (default: ``inferenceId`` when the
        record has one, else ``eventId``, as Model Monitor joins), or
        ``eventId`` or ``inferenceId`` for every record.
    :param prediction_attribute: where a JSON prediction holds the value
        (dotted, e.g. ``predictions.0.score``); CSV uses ``prediction_column``.
    :param label_attribute: the same for JSON labels.
    :param strict: parse every capture line whole (default: lines in
        SageMaker's layout have only their output and metadata parsed).
    """

    def __init__(
        self,
        problem: str,
        *,
        key: str = AUTO,
        prediction_attribute: str | None = None,
        prediction_column: int = 0,
        label_attribute: str | None = None,
        label_column: int = 0,
        partition: int = 0,
        partitions: int = 1,
        strict: bool = False,
    ) -> None:
        if problem not in PROBLEMS:
            msg = f"problem {problem!r}: one of {', '.join(PROBLEMS)}"
            raise ValueError(msg)
        if key not in KEYS:
            msg = f"key {key!r}: one of {', '.join(KEYS)}"
            raise ValueError(msg)
        if partitions < 1 or not 0 <= partition < partitions:
            msg = f"partition {partition} of {partitions}: 0 <= partition < partitions"
            raise ValueError(msg)
        self.problem = problem
        self.key = key
        self.partition = partition
        self.partitions = partitions
        self.strict = strict
        read_prediction, read_label = READERS[problem]
        self._read_prediction = _payload_reader(
            read_prediction, prediction_attribute, prediction_column, memo=problem == MULTICLASS
        )
        self._read_label = _payload_reader(
            read_label, label_attribute, label_column, memo=problem != REGRESSION
        )
        # Classes of a multiclass problem are held as numbers into this list.
        self._classes: list[str] = []
        self._class_numbers: dict[str, int] = {}
        typecode = "I" if problem == MULTICLASS else "d"
        #: ID -> slot; the slot's prediction, label and tag (variant << 2 | state).
        self._slots: dict[str, int] = {}
        self._predictions = array(typecode)
        self._labels = array(typecode)
        self._tags = bytearray()
        self._variants: list[str] = []
        #: IDs of labels matching no prediction, and how many records each has.
        self._orphans: dict[str, int] = {}
        self._prediction_records: Counter[str] = Counter()
        self._variant_rejected: dict[str, Counter[str]] = {}
        self._label_rejected: Counter[str] = Counter()
        self.label_records = 0
        self._reading_labels = False
        self._accounted = False
        self._finished = False

    @property
    def prediction_records(self) -> int:
        """Prediction records read so far (of this partition)."""
        return sum(self._prediction_records.values())

    def _variant(self, name: str) -> int:
        if name not in self._variants:
            if len(self._variants) == MAX_VARIANTS:
                msg = f"more than {MAX_VARIANTS} variants in one window"
                raise ValueError(msg)
            self._variants.append(name)
            self._variant_rejected[name] = Counter()
            self._prediction_records[name] += 0
        return self._variants.index(name)

    def _class(self, name: str) -> int:
        number = self._class_numbers.get(name)
        if number is None:
            number = self._class_numbers[name] = len(self._classes)
            self._classes.append(name)
        return number

    def add_capture(self, lines: Iterable[str], variant: str = DEFAULT_VARIANT) -> None:
        """Read capture lines of one variant (empty lines are no records)."""
        if self._reading_labels or self._finished or self._accounted:
            msg = "capture read after ground truth: read every capture object first"
            raise RuntimeError(msg)
        code = self._variant(variant) << 2
        rejected = self._variant_rejected[variant]
        key, strict, fields, identify = self.key, self.strict, capture_fields, capture_id
        partitions, partition = self.partitions, self.partition
        first = partition == 0
        crc = zlib.crc32
        read = self._read_prediction
        number = self._class if self.problem == MULTICLASS else None
        slots, tags, values = self._slots, self._tags, self._predictions
        records = 0
        for line in lines:
            if not line:
                continue
            try:
                output, metadata = fields(line, strict)
                identifier = identify(metadata, key)
            except (ValueError, KeyError, TypeError, AttributeError, IndexError):
                if line.isspace():
                    continue
                if first:
                    records += 1
                    rejected[MALFORMED_CAPTURE] += 1
                continue
            if type(identifier) is not str or not identifier:
                if first:
                    records += 1
                    rejected[MISSING_ID] += 1
                continue
            if (
                partitions > 1
                and crc(identifier.encode("utf-8", "surrogatepass")) % partitions != partition
            ):
                continue
            records += 1
            try:
                value = read(output)
            except UnreadableValueError:
                rejected[UNPARSEABLE_PREDICTION] += 1
                continue
            slot = slots.get(identifier)
            if slot is None:
                slots[identifier] = len(tags)
                values.append(number(value) if number else value)
                tags.append(code)
            else:
                # This record now; the slot's first record when the join finishes.
                rejected[DUPLICATE_ID] += 1
                tags[slot] = (tags[slot] & ~3) | _DUPLICATE
        self._prediction_records[variant] += records

    def add_ground_truth(self, lines: Iterable[str]) -> None:  # noqa: PLR0912, PLR0915 - one branch per reason, in the hot loop
        """Read ground-truth lines (empty lines are no records)."""
        if self._finished or self._accounted:
            msg = "the join is finished"
            raise RuntimeError(msg)
        if not self._reading_labels:
            self._reading_labels = True
            self._labels = array(self._predictions.typecode, bytes(self._predictions.itemsize))
            self._labels *= len(self._tags)
        rejected = self._label_rejected
        partitions, partition = self.partitions, self.partition
        first = partition == 0
        crc = zlib.crc32
        loads, scan = json.loads, _scan
        read = self._read_label
        number = self._class if self.problem == MULTICLASS else None
        slots, tags, labels, orphans = self._slots, self._tags, self._labels, self._orphans
        records = 0
        for line in lines:
            if not line:
                continue
            try:
                try:
                    record, end = scan(line, 0)
                except StopIteration:
                    record = loads(line)  # leading blanks; or not JSON: ValueError
                else:
                    if end != len(line) and not line[end:].isspace():
                        msg = "text after the record"
                        raise ValueError(msg)
                data = record["groundTruthData"]
                identifier = record["eventMetadata"].get(EVENT_ID)
            except (ValueError, KeyError, TypeError, AttributeError, IndexError):
                if line.isspace():
                    continue
                if first:
                    records += 1
                    rejected[MALFORMED_GROUND_TRUTH] += 1
                continue
            if type(identifier) is not str or not identifier:
                if first:
                    records += 1
                    rejected[MISSING_ID] += 1
                continue
            if (
                partitions > 1
                and crc(identifier.encode("utf-8", "surrogatepass")) % partitions != partition
            ):
                continue
            records += 1
            try:
                value = read(data)
            except UnreadableValueError:
                rejected[UNPARSEABLE_LABEL] += 1
                continue
            slot = slots.get(identifier)
            if slot is None:
                orphans[identifier] = orphans.get(identifier, 0) + 1
                continue
            tag = tags[slot]
            state = tag & 3
            if state == _WAITING:
                labels[slot] = number(value) if number else value
                tags[slot] = tag | _JOINED
            elif state == _JOINED:
                # The label joined before and this one: both duplicates.
                rejected[DUPLICATE_ID] += 2
                tags[slot] = (tag & ~3) | _DUPLICATE
            else:
                rejected[DUPLICATE_ID] += 1
        self.label_records += records

    def pairs(self, variant: str | None = None) -> tuple[list[Any], list[Any]]:
        """The joined predictions and labels (of one variant, or all), in step.

        Unlike :meth:`finish`, holds the pairs as lists: for tests and small
        windows. The first call also counts what is not joined
        (:attr:`rejected`); no line may be read after it.
        """
        if not self._reading_labels:
            self._reading_labels = True
            self._labels = array(self._predictions.typecode, bytes(self._predictions.itemsize))
            self._labels *= len(self._tags)
        if not self._accounted:
            self._account()
        predictions: list[Any] = []
        labels: list[Any] = []
        names = [variant] if variant is not None else self._variants
        for name in names:
            if name in self._variants:
                for p, y in self._joined(self._variants.index(name)):
                    predictions.extend(p)
                    labels.extend(y)
        return predictions, labels

    def _joined(self, code: int, chunk: int = 1 << 16) -> Iterator[tuple[list[Any], list[Any]]]:
        """The joined pairs of variant ``code``, a chunk of slots at a time."""
        if not self._reading_labels:
            return
        table = bytearray(256)
        table[code << 2 | _JOINED] = 1
        classes = self._classes
        for start in range(0, len(self._tags), chunk):
            mask = self._tags[start : start + chunk].translate(table)
            if not mask.count(1):
                continue
            predictions: list[Any] = list(compress(self._predictions[start : start + chunk], mask))
            labels: list[Any] = list(compress(self._labels[start : start + chunk], mask))
            if self.problem == MULTICLASS:
                predictions = [classes[c] for c in predictions]
                labels = [classes[c] for c in labels]
            elif self.problem == BINARY:
                labels = [int(y) for y in labels]
            yield predictions, labels

    def _account(self) -> None:
        """Count the predictions left waiting, the duplicates' first records, the orphan labels."""
        self._accounted = True
        for code, variant in enumerate(self._variants):
            rejected = self._variant_rejected[variant]
            rejected[PREDICTION_WITHOUT_LABEL] += self._tags.count(code << 2 | _WAITING)
            rejected[DUPLICATE_ID] += self._tags.count(code << 2 | _DUPLICATE)
        for records in self._orphans.values():
            if records == 1:
                self._label_rejected[LABEL_WITHOUT_PREDICTION] += 1
            else:
                self._label_rejected[DUPLICATE_ID] += records

    @property
    def rejected(self) -> Counter[str]:
        """Records not joined, by reason (every variant and the labels); complete after
        :meth:`pairs` or :meth:`finish`."""
        total: Counter[str] = Counter(self._label_rejected)
        for reasons in self._variant_rejected.values():
            total.update(reasons)
        return +total

    def finish(self, new_counts: Callable[[], Counts]) -> JoinResult:
        """Count the joined pairs (``new_counts()`` makes each variant's counts), and the rest.

        Call once, after every line is read; the join's state is released.
        """
        if self._finished:
            msg = "the join is finished"
            raise RuntimeError(msg)
        if not self._reading_labels:
            self._reading_labels = True
            self._labels = array(self._predictions.typecode, bytes(self._predictions.itemsize))
            self._labels *= len(self._tags)
        if not self._accounted:
            self._account()
        self._finished = True
        settings = new_counts().to_json()
        result = JoinResult(self.problem, settings)
        for code, variant in enumerate(self._variants):
            counts = new_counts()
            for predictions, labels in self._joined(code):
                counts.add(predictions, labels)
            if counts.records:
                result.counts[variant] = counts
            result.predictions[variant] = self._prediction_records[variant]
            result.variant_rejected[variant] = dict(+self._variant_rejected[variant])
        result.labels = self.label_records
        result.label_rejected = dict(+self._label_rejected)
        self._slots, self._orphans, self._tags = {}, {}, bytearray()
        self._predictions = self._labels = array(self._predictions.typecode)
        return result


def join_window(
    join: Join,
    capture: Iterable[tuple[str, Callable[[int], bytes]]],
    ground_truth: Iterable[Callable[[int], bytes]],
    new_counts: Callable[[], Counts],
) -> JoinResult:
    """Read ``capture`` (variant, reader) objects, then ``ground_truth`` readers, and finish."""
    for variant, read in capture:
        for lines in line_batches(read):
            join.add_capture(lines, variant)
    for read in ground_truth:
        for lines in line_batches(read):
            join.add_ground_truth(lines)
    return join.finish(new_counts)


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


# --- the window -------------------------------------------------------------------------

#: ``.../<endpoint>/<variant>/yyyy/mm/dd/hh/<object>``: data capture's layout (ground truth's
#: is ``<prefix>/yyyy/mm/dd/hh/<object>``).
_LAYOUT = re.compile(r"(?:^|/)(?:([^/]+)/)?([^/]+)/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")
_HOUR_ONLY = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$")
_OBJECT_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{3})-")
HOUR = dt.timedelta(hours=1)


def variant_of(path: str) -> str | None:
    """The variant a capture object's path names (the folder above ``yyyy/mm/dd/hh``), or ``None``.

    Works for a key or a path under the endpoint's prefix
    (``<prefix>/<endpoint>/<variant>/2026/11/30/05/x.jsonl``) or under one
    variant's; a path not in data capture's layout names no variant.
    """
    match = _LAYOUT.search(path)
    return match.group(2) if match else None


def endpoint_of(path: str) -> str | None:
    """The endpoint a capture object's path names (the folder above the variant), or ``None``."""
    match = _LAYOUT.search(path)
    return match.group(1) if match else None


def object_time(path: str) -> dt.datetime | None:
    """When an object's records start: its hour folder plus a ``MM-SS-mmm-`` name, if any.

    ``None`` when the path has no ``yyyy/mm/dd/hh/`` folders.
    """
    hour = _HOUR_ONLY.search(path)
    if hour is None:
        return None
    year, month, day, hour_of_day = (int(g) for g in hour.groups())
    at = dt.datetime(year, month, day, hour_of_day, tzinfo=dt.UTC)
    name = _OBJECT_NAME.match(path.rsplit("/", 1)[-1])
    if name:
        minutes, seconds, millis = (int(g) for g in name.groups())
        at += dt.timedelta(minutes=minutes, seconds=seconds, milliseconds=millis)
    return at


def capture_in_window(path: str, start: dt.datetime, end: dt.datetime) -> bool:
    """True when a capture object's path puts its records in ``[start, end)``.

    An object whose name has no ``MM-SS-mmm`` time counts from the start of
    its hour; a path without hour folders is in no window.
    """
    at = object_time(path)
    return at is not None and start <= at < end


def ground_truth_in_window(
    path: str, start: dt.datetime, end: dt.datetime, label_delay: dt.timedelta
) -> bool:
    """True when a ground-truth object's hour folder overlaps ``[start, end + label_delay)``.

    Labels arrive after their predictions: a window's labels are those
    written up to ``label_delay`` after its end. Objects are chosen by their
    hour folder only (ground truth's object names carry no time).
    """
    hour = _HOUR_ONLY.search(path)
    if hour is None:
        return False
    year, month, day, hour_of_day = (int(g) for g in hour.groups())
    at = dt.datetime(year, month, day, hour_of_day, tzinfo=dt.UTC)
    return at + HOUR > start and at < end + label_delay


def hour_folders(start: dt.datetime, end: dt.datetime) -> list[str]:
    """The ``yyyy/mm/dd/hh/`` folders that ``[start, end)`` overlaps (UTC), to list by prefix.

    A window's capture is in ``hour_folders(start, end)`` under each
    variant's prefix, its labels in ``hour_folders(start, end + label_delay)``
    under the ground truth's.
    """
    hour = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    folders = []
    while hour < end:
        folders.append(f"{hour:%Y/%m/%d/%H}/")
        hour += HOUR
    return folders
