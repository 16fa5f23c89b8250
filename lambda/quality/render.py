"""A quality report for people: a text table for the terminal, a self-contained HTML page.

Both show the window's verdict, each variant's records, metrics and
verdict beside the whole window's, each variant's difference from the
reference variant, the violated constraints, the records not joined by
reason, and for a multiclass problem each variant's confusion matrix. The
page has no script, no external style or font and no network access, and
every value from the data (variant and class names, paths) is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .counts import MULTICLASS
from .report import METRICS

ALL = "(all)"


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4g}"


def _rows(report: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Each variant's part, then the whole window's."""
    rows = list(report.get("variants", {}).items())
    return [*rows, (ALL, report)]


def summary(report: Mapping[str, Any]) -> str:
    """One line: the verdict, the records joined and not."""
    records = report["records"]
    rejected = sum(report["rejected"].values())
    variants = ", ".join(report.get("variants", {})) or "none"
    return (
        f"verdict: {report['verdict']}; {report['problem']}; variants: {variants}; joined "
        f"{records['joined']:,} of {records['predictions']:,} predictions and "
        f"{records['labels']:,} labels ({rejected:,} records not joined; at least "
        f"{records['min_records']:,} joined needed for a verdict)"
    )


def _grid(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _violations(report: Mapping[str, Any]) -> list[str]:
    """Each variant's violated constraints (the window's are its variants')."""
    found = []
    for name, part in report.get("variants", {}).items():
        for v in part.get("violations", []):
            sign = "<" if v["comparison_operator"].startswith("Less") else ">"
            if v["comparison_operator"].endswith("OrEqualToThreshold"):
                sign += "="
            found.append(
                f"{name}: {v['metric']} {_number(v['value'])} {sign} {_number(v['threshold'])}"
            )
    return found


def _rejections(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(where, "reason n, ...") for each variant with rejections, and for the labels."""
    found = []
    variants = report.get("variants", {})
    for name, part in variants.items():
        if part["rejected"]:
            found.append((name, ", ".join(f"{r} {n:,}" for r, n in part["rejected"].items())))
    label_side = dict(report["rejected"])
    for part in variants.values():
        for reason, n in part["rejected"].items():
            label_side[reason] = label_side.get(reason, 0) - n
    label_side = {r: n for r, n in label_side.items() if n}
    if label_side:
        found.append(("labels", ", ".join(f"{r} {n:,}" for r, n in label_side.items())))
    return found


def _not_checked(report: Mapping[str, Any]) -> list[str]:
    """The window's constraints not checked, then each variant's (undefined on its data)."""
    found = [str(c) for c in report.get("constraints_not_checked", [])]
    for name, part in report.get("variants", {}).items():
        found += [f"{name}: {c}" for c in part.get("constraints_not_checked", [])]
    return found


def _confusion(metrics: Mapping[str, Any]) -> tuple[list[str], dict[tuple[str, str], int]]:
    cells = {(label, prediction): n for label, prediction, n in metrics.get("confusion", [])}
    classes = sorted({c for pair in cells for c in pair})
    return classes, cells


def table(report: Mapping[str, Any]) -> str:
    """The report as text: a row per variant (and the whole window), then the details."""
    metrics = list(METRICS[report["problem"]])
    header = ["variant", "verdict", "predictions", "joined", *metrics]
    rows = [header]
    for name, part in _rows(report):
        rows.append(
            [
                name,
                part["verdict"],
                _number(part["records"]["predictions"]),
                _number(part["records"]["joined"]),
                *(_number(part["metrics"].get(m)) for m in metrics),
            ]
        )
    out = [summary(report), "", *_grid(rows)]
    comparison = report.get("comparison")
    if comparison:
        others = list(comparison["variants"])
        grid = [["metric", comparison["reference"], *others]]
        for m in metrics:
            first = next(iter(comparison["variants"].values()))[m]
            grid.append(
                [
                    m,
                    _number(first["reference"]),
                    *(
                        _signed(comparison["variants"][v][m]["difference"])
                        + {True: " better", False: " worse", None: ""}[
                            comparison["variants"][v][m]["better"]
                        ]
                        for v in others
                    ),
                ]
            )
        out += ["", f"difference from the reference variant {comparison['reference']}:"]
        out += _grid(grid)
    violations = _violations(report)
    if violations:
        out += ["", "violations:", *(f"  {v}" for v in violations)]
    not_checked = _not_checked(report)
    if not_checked:
        out += ["", "constraints not checked:", *(f"  {c}" for c in not_checked)]
    rejections = _rejections(report)
    if rejections:
        out += ["", "records not joined:", *(f"  {where}: {what}" for where, what in rejections)]
    if report["problem"] == MULTICLASS:
        for name, part in _rows(report):
            classes, cells = _confusion(part["metrics"])
            if not classes:
                continue
            grid = [["label \\ predicted", *classes]]
            grid += [[c, *(_number(cells.get((c, p), 0)) for p in classes)] for c in classes]
            out += ["", f"confusion matrix, {name}:", *_grid(grid)]
    return "\n".join(out) + "\n"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin:1.5rem 0 .3rem}
table{border-collapse:collapse;margin:1rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}
.degraded,.worse{color:#c92a2a;font-weight:600}.insufficient_data{color:#8a6d00}
.ok,.better{color:#2b8a3e}.muted{color:#616e7c}
"""


def page(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    e = html.escape
    metrics = list(METRICS[report["problem"]])
    verdict = report["verdict"]
    where = str(report.get("endpoint") or report.get("capture") or "")
    window = report.get("window")
    when = f"{window['start']} to {window['end']}" if window else ""
    head = "".join(f"<th>{e(h)}</th>" for h in ["variant", "verdict", "predictions", "joined"])
    head += "".join(f"<th>{e(m)}</th>" for m in metrics)
    body = []
    for name, part in _rows(report):
        cells = [
            f"<td>{e(name)}</td>",
            f'<td class="{e(part["verdict"])}">{e(part["verdict"])}</td>',
            f"<td>{_number(part['records']['predictions'])}</td>",
            f"<td>{_number(part['records']['joined'])}</td>",
            *(f"<td>{e(_number(part['metrics'].get(m)))}</td>" for m in metrics),
        ]
        body.append(f"<tr>{''.join(cells)}</tr>")
    sections = [f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"]
    comparison = report.get("comparison")
    if comparison:
        others = list(comparison["variants"])
        rows = []
        for m in metrics:
            first = next(iter(comparison["variants"].values()))[m]
            cells = [f"<td>{e(m)}</td>", f"<td>{e(_number(first['reference']))}</td>"]
            for v in others:
                row = comparison["variants"][v][m]
                kind = {True: "better", False: "worse", None: ""}[row["better"]]
                cells.append(f'<td class="{kind}">{e(_signed(row["difference"]))}</td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        head = f"<th>metric</th><th>{e(comparison['reference'])}</th>"
        head += "".join(f"<th>{e(v)} (difference)</th>" for v in others)
        sections.append(
            f"<h2>Against the reference variant {e(comparison['reference'])}</h2>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    violations = _violations(report)
    if violations:
        items = "".join(f"<li>{e(v)}</li>" for v in violations)
        sections.append(f"<h2>Violations</h2><ul>{items}</ul>")
    not_checked = _not_checked(report)
    if not_checked:
        items = "".join(f"<li>{e(c)}</li>" for c in not_checked)
        sections.append(f"<h2>Constraints not checked</h2><ul>{items}</ul>")
    rejections = _rejections(report)
    if rejections:
        items = "".join(f"<li>{e(where)}: {e(what)}</li>" for where, what in rejections)
        sections.append(f"<h2>Records not joined</h2><ul>{items}</ul>")
    if report["problem"] == MULTICLASS:
        for name, part in _rows(report):
            classes, matrix = _confusion(part["metrics"])
            if not classes:
                continue
            head = "<th>label \\ predicted</th>" + "".join(f"<th>{e(c)}</th>" for c in classes)
            rows = [
                f"<tr><td>{e(c)}</td>"
                + "".join(f"<td>{_number(matrix.get((c, p), 0))}</td>" for p in classes)
                + "</tr>"
                for c in classes
            ]
            sections.append(
                f"<h2>Confusion matrix: {e(name)}</h2>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Model quality: {e(where)} {e(verdict)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>Model quality: {e(where)}</h1>"
        f'<p><strong class="{e(verdict)}">{e(verdict)}</strong> {e(when)}</p>'
        f'<p class="muted">{e(summary(report))}</p>'
        f"{''.join(sections)}</body></html>\n"
    )
