"""Data-capture records: JSON lines in, payload rows out, every bad line counted.

A capture line looks like::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv",
      "mode": "INPUT", "data": "132,10,182.9", "encoding": "CSV"}, ...},
     "eventMetadata": {"eventId": "...", "inferenceTime": "..."}, "eventVersion": "0"}

``encoding`` is ``CSV``, ``JSON`` or ``BASE64`` (then the content type
decides how to read the decoded text). The hot path (a well-formed line with
a CSV payload) is one call of the C JSON scanner and three lookups; anything
else takes the slow path, which names what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

#: Reasons a capture line is rejected (no row can be read from it).
MALFORMED_JSON = "malformed_json"
NOT_A_CAPTURE_RECORD = "not_a_capture_record"
NO_INPUT = "no_input"
UNSUPPORTED_ENCODING = "unsupported_encoding"
UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
UNDECODABLE_PAYLOAD = "undecodable_payload"
MALFORMED_PAYLOAD = "malformed_payload"
UNDECODABLE_LINE = "undecodable_line"
#: Reasons a row of a payload is rejected.
WRONG_COLUMN_COUNT = "wrong_column_count"
NOT_A_ROW = "not_a_row"
EMPTY_ROW = "empty_row"
RAGGED_COLUMNS = "ragged_columns"

#: Marks a line that is not UTF-8 in what :func:`decode` returns.
UNDECODABLE = "\x00undecodable"
#: Bytes read from a capture object at a time. 256 KiB (about 500 SageMaker lines)
#: keeps a batch's lines, fields and floats near the CPU caches; 1 MiB batches
#: ran no faster and peaked at 30 MB RSS rather than 22 MB in scripts/bench_drift.py.
CHUNK_SIZE = 1 << 18

#: How SageMaker starts every capture line (the fast path's test).
SAGEMAKER_LAYOUT = '{"captureData":{"endpointInput":'
#: The C scanner behind json.loads, called without its Python wrappers.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class Payloads:
    """The payloads of a batch of capture lines, by how they are read."""

    __slots__ = ("csv", "json", "lines", "rejected")

    def __init__(self) -> None:
        self.csv: list[str] = []
        self.json: list[str] = []
        self.lines = 0
        self.rejected: Counter[str] = Counter()


def extract(lines: Sequence[str], into: Payloads, *, strict: bool = False) -> None:
    """Add the input payloads of capture ``lines`` to ``into``; count bad lines.

    A line in SageMaker's own layout (starting ``{"captureData":{"endpointInput":``)
    has its input object parsed by the JSON scanner and the rest of the line
    checked for shape (it ends with a brace and closes the two the prefix
    opened) rather than parsed: the output and metadata are never used, and parsing them
    costs more than the rest of the check. Any other line, or any line when
    ``strict``, is parsed whole. A line failing either way takes the slow
    path, which parses it whole and names what is wrong. Empty lines (a
    trailing newline) are not capture records and are skipped.
    """
    csv_append = into.csv.append
    scan = _scan
    prefix, start = SAGEMAKER_LAYOUT, len(SAGEMAKER_LAYOUT)
    read = 0
    for line in lines:
        if not line:
            continue
        read += 1
        try:
            if not strict and line.startswith(prefix):
                endpoint_input, end = scan(line, start)
                # The prefix opened two braces the rest must close.
                if line[-1] == "}" and line.count("}", end) - line.count("{", end) == 2:
                    data = endpoint_input["data"]
                    if endpoint_input["encoding"] == "CSV" and type(data) is str:
                        csv_append(data)
                        continue
            else:
                record, end = scan(line, 0)
                endpoint_input = record["captureData"]["endpointInput"]
                data = endpoint_input["data"]
                if endpoint_input["encoding"] == "CSV" and end == len(line) and type(data) is str:
                    csv_append(data)
                    continue
        except Exception:  # noqa: S110 - the slow path names the problem
            pass
        _slow_line(line, into)
    into.lines += read


def _slow_line(line: str, into: Payloads) -> None:  # noqa: PLR0911, PLR0912 - one reason per branch
    if line == UNDECODABLE:
        into.rejected[UNDECODABLE_LINE] += 1
        return
    text = line.strip()
    if not text:
        into.lines -= 1  # whitespace only: not a record
        return
    try:
        record = json.loads(text)
    except ValueError:
        into.rejected[MALFORMED_JSON] += 1
        return
    capture = record.get("captureData") if isinstance(record, dict) else None
    if not isinstance(capture, dict):
        into.rejected[NOT_A_CAPTURE_RECORD] += 1
        return
    endpoint_input = capture.get("endpointInput")
    if endpoint_input is None:
        into.rejected[NO_INPUT] += 1
        return
    data = endpoint_input.get("data") if isinstance(endpoint_input, dict) else None
    if not isinstance(data, str):
        into.rejected[NOT_A_CAPTURE_RECORD] += 1
        return
    encoding = endpoint_input.get("encoding")
    content_type = str(endpoint_input.get("observedContentType", "")).lower()
    if encoding == "CSV":
        into.csv.append(data)
    elif encoding == "JSON":
        into.json.append(data)
    elif encoding == "BASE64":
        try:
            decoded = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            into.rejected[UNDECODABLE_PAYLOAD] += 1
            return
        if "csv" in content_type:
            into.csv.append(decoded)
        elif "json" in content_type:
            into.json.append(decoded)
        else:
            into.rejected[UNSUPPORTED_CONTENT_TYPE] += 1
    else:
        into.rejected[UNSUPPORTED_ENCODING] += 1


def csv_rows(  # noqa: PLR0912 - fast path first, then each way a row goes wrong
    payloads: list[str], width: int, widths: Counter[int] | None = None
) -> tuple[list[str], list[list[str]], Counter[str]]:
    """Rows of CSV payloads: plain rows of ``width`` fields, quoted rows split, rejections.

    Plain rows (no quote) stay strings, so a batch of them splits in one
    call; a row with quotes is read by :mod:`csv`. A payload may hold several
    rows, one a line.
    """
    rejected: Counter[str] = Counter()
    joined = ",".join(payloads)
    if "\n" in joined or "\r" in joined or '"' in joined:
        rows: list[str] = []
        for payload in payloads:
            rows.extend(r.rstrip("\r") for r in payload.strip("\r\n").split("\n"))
    else:
        rows = payloads
    quoted: list[list[str]] = []
    if '"' in joined:
        plain = []
        for row in rows:
            if '"' in row:
                quoted.extend(csv.reader([row]))
            else:
                plain.append(row)
        rows = plain
        good_quoted = [r for r in quoted if len(r) == width]
        if widths is not None:
            widths.update(len(r) for r in quoted if len(r) != width)
        rejected[WRONG_COLUMN_COUNT] += len(quoted) - len(good_quoted)
        quoted = good_quoted
    commas = width - 1
    counts = list(map(str.count, rows, [","] * len(rows)))
    if counts.count(commas) != len(rows):
        good = []
        for row, count in zip(rows, counts, strict=True):
            if count == commas:
                good.append(row)  # with one feature, an empty row is its value missing
            elif not row.strip():
                rejected[EMPTY_ROW] += 1
            else:
                rejected[WRONG_COLUMN_COUNT] += 1
                if widths is not None:
                    widths[count + 1] += 1
        rows = good
    return rows, quoted, rejected


def json_rows(payloads: list[str], names: Sequence[str]) -> tuple[list[list[Any]], Counter[str]]:
    """Rows of JSON payloads, and rejections; a payload is one document or JSON lines of them.

    A document is read as (``width`` = the baseline's features):

    * an object keyed by feature name: one record;
    * ``{"instances": [...]}`` (TensorFlow Serving's row format): one record
      per element, an object, an array in column order or, with one
      feature, a scalar;
    * ``{"inputs": {name: [values]}}`` (its columnar format): one record per
      position of the equal-length arrays (a scalar per name is one record);
      ``{"inputs": [...]}`` is read like ``instances``;
    * an array of objects or arrays: one record per element; an array of
      scalars: one record in column order, or, with one feature, one record
      per scalar;
    * a scalar, with one feature: one record.
    """
    rows: list[list[Any]] = []
    rejected: Counter[str] = Counter()
    known = frozenset(names)
    for payload in payloads:
        try:
            documents = [json.loads(payload)]
        except ValueError:
            try:
                documents = [json.loads(line) for line in payload.splitlines() if line.strip()]
            except ValueError:
                rejected[MALFORMED_PAYLOAD] += 1
                continue
        for document in documents:
            _document_rows(document, names, known, rows, rejected)
    return rows, rejected


def _document_rows(  # noqa: PLR0912 - one branch per documented shape
    document: Any,
    names: Sequence[str],
    known: frozenset[str],
    rows: list[list[Any]],
    rejected: Counter[str],
) -> None:
    width = len(names)
    if isinstance(document, dict) and not known.intersection(document):
        if "instances" in document:
            instances = document["instances"]
            if isinstance(instances, list):
                for item in instances:
                    _row(item, names, known, rows, rejected)
            else:
                rejected[NOT_A_ROW] += 1
            return
        if "inputs" in document:
            inputs = document["inputs"]
            if isinstance(inputs, dict) and known.intersection(inputs):
                _columnar(inputs, names, rows, rejected)
            elif isinstance(inputs, list):
                for item in inputs:
                    _row(item, names, known, rows, rejected)
            else:
                _row(inputs, names, known, rows, rejected)
            return
    if isinstance(document, list) and document:
        if all(isinstance(item, dict | list) for item in document):
            for item in document:
                _row(item, names, known, rows, rejected)
            return
        if width == 1 and not any(isinstance(item, dict | list) for item in document):
            rows.extend([item] for item in document)
            return
    _row(document, names, known, rows, rejected)


def _columnar(
    inputs: dict[str, Any], names: Sequence[str], rows: list[list[Any]], rejected: Counter[str]
) -> None:
    """``{name: [values]}``: a record per position; arrays of unequal length are all rejected."""
    columns = [inputs.get(name) for name in names]
    lengths = {len(c) for c in columns if isinstance(c, list)}
    if not lengths:
        rows.append(columns)  # a scalar per name: one record
        return
    n = max(lengths)
    if len(lengths) > 1 or any(c is not None and not isinstance(c, list) for c in columns):
        rejected[RAGGED_COLUMNS] += n
        return
    full = [c if isinstance(c, list) else [None] * n for c in columns]
    rows.extend([list(values) for values in zip(*full, strict=True)])


def _row(
    item: Any,
    names: Sequence[str],
    known: frozenset[str],
    rows: list[list[Any]],
    rejected: Counter[str],
) -> None:
    if isinstance(item, dict):
        if not known.intersection(item):
            rejected[NOT_A_ROW] += 1
            return
        rows.append([item.get(name) for name in names])
    elif isinstance(item, list):
        if not item:
            rejected[EMPTY_ROW] += 1
        elif len(item) != len(names):
            rejected[WRONG_COLUMN_COUNT] += 1
        else:
            rows.append(item)
    elif len(names) == 1:
        rows.append([item])
    else:
        rejected[NOT_A_ROW] += 1


def line_batches(read: Callable[[int], bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[list[str]]:
    """The lines of a stream, a chunk at a time (memory: a chunk and the longest line).

    A line that is not UTF-8 comes as :data:`UNDECODABLE`, which
    :func:`extract` counts as :data:`UNDECODABLE_LINE`.
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
        yield decode(chunk[:cut])
    if tail:
        yield decode(tail)


def decode(blob: bytes) -> list[str]:
    """UTF-8 lines of a blob; a line that is not UTF-8 becomes :data:`UNDECODABLE`."""
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
