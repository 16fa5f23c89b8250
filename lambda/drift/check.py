"""Where a check reads: the time window, the capture objects in it, local files, S3 URIs.

Data capture writes ``{prefix}{endpoint}/{variant}/yyyy/mm/dd/hh/{MM-SS-mmm}-{id}.jsonl``.
A window ``[start, end)`` reads the hour folders it overlaps and, within
them, the objects whose name puts them inside the window.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .baseline import Baseline
from .counts import Counts

UTC = dt.UTC
_OBJECT_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{3})-")
_HOUR = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]*$")


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 time (EventBridge's ``time``, e.g. ``2024-05-01T14:00:00Z``), in UTC."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def window(
    time: dt.datetime, length: dt.timedelta, delay: dt.timedelta = dt.timedelta(0)
) -> tuple[dt.datetime, dt.datetime]:
    """The window a check at ``time`` reads: the last whole ``length`` ending ``delay`` before.

    Windows are aligned on multiples of ``length`` since the Unix epoch, so
    a check run again for the same scheduled time reads the same window, and
    checks every ``length`` read consecutive windows.
    """
    seconds = int(length.total_seconds())
    if seconds <= 0:
        msg = "a window lasts at least one second"
        raise ValueError(msg)
    cutoff = int((time - delay).timestamp())
    end = dt.datetime.fromtimestamp(cutoff - cutoff % seconds, UTC)
    return end - length, end


def hour_prefixes(
    prefix: str, endpoint: str, variant: str, start: dt.datetime, end: dt.datetime
) -> list[str]:
    """The hour folders of one variant that ``[start, end)`` overlaps."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    folders = []
    while hour < end:
        folders.append(f"{prefix}{endpoint}/{variant}/{hour:%Y/%m/%d/%H}/")
        hour += dt.timedelta(hours=1)
    return folders


def in_window(key: str, start: dt.datetime, end: dt.datetime) -> bool:
    """True when a capture object's name puts it in ``[start, end)``.

    An object whose name has no ``MM-SS-mmm`` time counts from the start of
    its hour.
    """
    hour = _HOUR.search(key)
    if hour is None:
        return False
    year, month, day, hour_of_day = (int(g) for g in hour.groups())
    at = dt.datetime(year, month, day, hour_of_day, tzinfo=UTC)
    name = _OBJECT_NAME.match(key.rsplit("/", 1)[-1])
    if name:
        minutes, seconds, millis = (int(g) for g in name.groups())
        at += dt.timedelta(minutes=minutes, seconds=seconds, milliseconds=millis)
    return start <= at < end


def list_window(
    s3: Any,
    *,
    bucket: str,
    prefix: str,
    endpoint: str,
    variant: str,
    start: dt.datetime,
    end: dt.datetime,
) -> list[str]:
    """Keys of one variant's capture objects in the window, in key order."""
    keys: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for folder in hour_prefixes(prefix, endpoint, variant, start, end):
        for page in paginator.paginate(Bucket=bucket, Prefix=folder):
            keys.extend(
                o["Key"] for o in page.get("Contents", []) if in_window(o["Key"], start, end)
            )
    return sorted(keys)


def count_s3_objects(s3: Any, counts: Counts, bucket: str, keys: list[str]) -> Counts:
    """Stream each object through ``counts`` (a chunk at a time)."""
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            counts.add_stream(body.read)
        finally:
            body.close()
    return counts


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://"):
        msg = f"not an S3 URI: {uri}"
        raise ValueError(msg)
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        msg = f"no bucket in {uri}"
        raise ValueError(msg)
    return bucket, key


def list_s3_prefix(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` (the object itself when ``prefix`` is one), in key order."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    return sorted(keys)


def local_files(path: Path) -> list[Path]:
    """A capture file, or every file under a folder (hidden ones left out), in path order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        msg = f"no such file or folder: {path}"
        raise FileNotFoundError(msg)
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def count_local(baseline: Baseline, path: Path, *, strict: bool = False) -> Counts:
    """Counts of every capture file at ``path`` (a file or a folder)."""
    counts = Counts(baseline, strict=strict)
    for file in local_files(path):
        with file.open("rb") as stream:
            counts.add_stream(stream.read)
    return counts


def read_text(uri: str, s3_client: Any = None) -> str:
    """A local file, or an S3 object (``s3://``), as text."""
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        body: bytes = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8")
    return Path(uri).read_text(encoding="utf-8")


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive batches of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
