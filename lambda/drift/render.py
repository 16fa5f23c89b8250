"""A drift report for people: a text table for the terminal, a self-contained HTML page.

The page has no script, no external style or font and no network access: its
charts are inline SVG, one per feature, of the baseline's and the window's
share in each bin (the report's ``bins``), so it can be opened from S3, mailed
or archived as it is.
"""

from __future__ import annotations

import html
from typing import Any

from .report import INSUFFICIENT_DATA

BASELINE_COLOUR = "#8a94a6"
LIVE_COLOUR = "#d9480f"


def ratio(feature: dict[str, Any]) -> float:
    """The score over its threshold (``-1`` without a score): how far past drifting."""
    score = feature.get("score")
    return -1.0 if score is None else score / feature["threshold"]


def ordered(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Features, the furthest past their threshold first."""
    return sorted(report["features"], key=lambda f: (-ratio(f), f["name"]))


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def summary(report: dict[str, Any]) -> str:
    """One line: the verdict, what drifted, how many records."""
    records = report["records"]
    drifted = ", ".join(report["drifted_features"]) or "none"
    return (
        f"verdict: {report['verdict']}; drifted: {drifted}; records used "
        f"{records['used']:,} of {records['read']:,} ({records['rejected']:,} rejected), "
        f"lines rejected {report['lines']['rejected']:,}"
    )


def table(report: dict[str, Any]) -> str:
    """The report as a text table, features sorted by score over threshold."""
    header = (
        "feature",
        "type",
        "metric",
        "score",
        "threshold",
        "x",
        "verdict",
        "values",
        "missing",
    )
    rows = [header]
    for f in ordered(report):
        x = ratio(f)
        missing = f.get("missing") or {}
        rows.append(
            (
                f["name"],
                f["type"],
                f["metric"],
                _score(f["score"]),
                f"{f['threshold']:g}",
                "-" if x < 0 else f"{x:.2f}",
                f["verdict"] + (" *" if f.get("reasons") and len(f["reasons"]) > 1 else ""),
                f"{f['values']:,}",
                f"{_share(missing.get('live'))} ({_share(missing.get('baseline'))})",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"{f['name']}: {'; '.join(f['reasons'])}" for f in ordered(report) if f.get("reasons")]
    out = [summary(report), "", *lines]
    if notes:
        out += ["", "why:", *(f"  {n}" for n in notes)]
    skipped = [
        f"{f['name']}" + (f" ({f['note']})" if f.get("note") else "")
        for f in report.get("not_checked", [])
    ]
    if skipped:
        out += ["", "not checked:", *(f"  {n}" for n in skipped)]
    files = [
        f"  {f['file']}: "
        + ", ".join(
            f"{count} {reason}"
            for reason, count in {**f["lines_rejected"], **f["records_rejected"]}.items()
        )
        for f in report.get("files_with_rejections", [])
    ]
    if files:
        out += ["", "files with rejections:", *files]
    if report.get("files_skipped"):
        out += ["", "files skipped (not data capture):"]
        out += [f"  {name}" for name in report["files_skipped"]]
    out.append("")
    out.append("x = score / threshold; missing = live share (baseline share)")
    return "\n".join(out) + "\n"


def _chart(feature: dict[str, Any]) -> str:
    """Inline SVG: per bin, the baseline's share and the window's, side by side."""
    bins = feature.get("bins") or []
    if not bins:
        return ""
    top = max(max(b["baseline"] or 0.0, b["live"] or 0.0) for b in bins) or 1.0
    bar, gap, height, label_room = 9, 8, 120, 96
    width = len(bins) * (2 * bar + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + label_room}" '
        f'role="img" aria-label="{html.escape(feature["name"])}: baseline and live share per bin">'
    ]
    for i, b in enumerate(bins):
        x = gap + i * (2 * bar + gap)
        for j, (key, colour) in enumerate((("baseline", BASELINE_COLOUR), ("live", LIVE_COLOUR))):
            share = b[key] or 0.0
            h = 0 if share == 0 else max(1.0, height * share / top)
            title = html.escape(f"{b['bin']}: {key} {_share(b[key])}")
            parts.append(
                f'<rect x="{x + j * bar}" y="{height - h:.1f}" width="{bar - 1}" height="{h:.1f}" '
                f'fill="{colour}"><title>{title}</title></rect>'
            )
        label = html.escape(str(b["bin"]))[:18]
        parts.append(
            f'<text x="{x + bar}" y="{height + 6}" font-size="10" text-anchor="end" '
            f'transform="rotate(-60 {x + bar} {height + 6})">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:1.5rem 0 .3rem}
table{border-collapse:collapse;margin:1rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #e4e7eb;text-align:left}
.drift{color:#c92a2a;font-weight:600}.insufficient_data{color:#8a6d00}.no_drift{color:#2b8a3e}
.key span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
.feature{border-top:1px solid #e4e7eb;margin-top:1rem}.muted{color:#616e7c}
"""


def _not_checked(report: dict[str, Any]) -> str:
    items = [
        f"<li>{html.escape(f['name'])}"
        + (f": {html.escape(f['note'])}" if f.get("note") else "")
        + "</li>"
        for f in report.get("not_checked", [])
    ]
    return f"<h2>Not checked</h2><ul>{''.join(items)}</ul>" if items else ""


def page(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    e = html.escape
    where = " / ".join(str(report[k]) for k in ("endpoint", "variant") if report.get(k)) or str(
        report.get("capture", "")
    )
    window = report.get("window")
    when = f"{window['start']} to {window['end']}" if window else ""
    rows = []
    for f in ordered(report):
        x = ratio(f)
        rows.append(
            "<tr>"
            f'<td><a href="#f-{e(f["name"])}">{e(f["name"])}</a></td><td>{e(f["type"])}</td>'
            f"<td>{e(f['metric'])}</td><td>{_score(f['score'])}</td><td>{f['threshold']:g}</td>"
            f"<td>{'-' if x < 0 else f'{x:.2f}'}</td>"
            f'<td class="{e(f["verdict"])}">{e(f["verdict"])}</td><td>{f["values"]:,}</td>'
            f"<td>{_share((f.get('missing') or {}).get('live'))}</td></tr>"
        )
    sections = []
    for f in ordered(report):
        reasons = "; ".join(f.get("reasons") or [])
        extra = ""
        if f["verdict"] == INSUFFICIENT_DATA:
            needed = f.get("min_values")
            extra = (
                f" Needs at least {needed:,} values." if needed else " The baseline is too small."
            )
        sections.append(
            f'<section class="feature" id="f-{e(f["name"])}"><h2>{e(f["name"])} '
            f'<span class="{e(f["verdict"])}">{e(f["verdict"])}</span></h2>'
            f'<p class="muted">{e(f["metric"])} {_score(f["score"])} (threshold {f["threshold"]:g})'
            f"{'; ' + e(reasons) if reasons else ''}; {f['values']:,} values.{e(extra)}</p>"
            f"{_chart(f)}</section>"
        )
    verdict = report["verdict"]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Drift report: {e(where)} {e(verdict)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Drift report: {e(where)}</h1>"
        f'<p><strong class="{e(verdict)}">{e(verdict)}</strong> {e(when)}</p>'
        f"<p>{e(summary(report))}</p>"
        f'<p class="key">bars per bin:<span style="background:{BASELINE_COLOUR}"></span>baseline'
        f'<span style="background:{LIVE_COLOUR}"></span>this window</p>'
        "<table><thead><tr><th>feature</th><th>type</th><th>metric</th><th>score</th>"
        "<th>threshold</th><th>score / threshold</th><th>verdict</th><th>values</th>"
        f"<th>missing</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"{''.join(sections)}{_not_checked(report)}</body></html>\n"
    )
