"""The quality report as a table and as one self-contained, escaped HTML page."""

from __future__ import annotations

import re
from typing import Any

from cdk_sagemaker_hosting._lambda.quality import render
from cdk_sagemaker_hosting._lambda.quality.counts import new_counts
from cdk_sagemaker_hosting._lambda.quality.records import Join
from cdk_sagemaker_hosting._lambda.quality.report import Constraint, window_report

from tests.quality.helpers import capture_line, truth_line

XSS = '<script>alert("x")</script>'
XSS_VARIANT = '<img src=x onerror="alert(1)">'


def multiclass_report(**options: Any) -> dict[str, Any]:
    join = Join("multiclass")
    classes = ["cat", "dog", XSS]
    join.add_capture(
        [capture_line(f"a{i}", classes[i % 3]) for i in range(60)] + ["not json"], "Champion"
    )
    join.add_capture([capture_line(f"b{i}", classes[i * 2 % 3]) for i in range(30)], XSS_VARIANT)
    truth = [truth_line(f"a{i}", classes[i % 3]) for i in range(60)]
    truth += [truth_line(f"b{i}", classes[i % 3]) for i in range(29)]
    truth += [truth_line("nobody", "cat")]
    join.add_ground_truth(truth)
    result = join.finish(lambda: new_counts("multiclass"))
    return window_report(
        result,
        constraints=[Constraint("accuracy", 0.9, "LessThanThreshold")],
        min_records=10,
        reference="Champion",
        **options,
    )


def test_table_shows_variants_comparison_violations_rejections_and_confusion() -> None:
    text = render.table(multiclass_report())
    assert text.splitlines()[0] == (
        f"verdict: degraded; multiclass; variants: {XSS_VARIANT}, Champion; joined 89 of 91 "
        "predictions and 90 labels (3 records not joined; at least 10 joined needed for a verdict)"
    )
    rows = {line.split("  ")[0]: line.split() for line in text.splitlines()}
    assert rows["Champion"][:5] == ["Champion", "ok", "61", "60", "1"]
    assert rows["(all)"][1] == "degraded"
    assert "difference from the reference variant Champion:" in text
    assert re.search(r"accuracy\s+1\s+-0\.6\d+ worse", text)
    assert f"  {XSS_VARIANT}: accuracy 0.3" in text
    assert "  Champion: malformed_capture_line 1" in text
    assert f"  {XSS_VARIANT}: prediction_without_label 1" in text
    assert "  labels: label_without_prediction 1" in text
    assert "confusion matrix, Champion:" in text


def test_html_is_self_contained_and_escapes_every_name() -> None:
    page = render.page(multiclass_report(capture="s3://b/<capture>"))
    assert page.startswith("<!DOCTYPE html>")
    # Nothing from the data is markup: class and variant names, paths.
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "s3://b/&lt;capture&gt;" in page
    # No script, no external style, font or image.
    assert not re.search(r"<(script|link|iframe|object|embed)\b", page)
    assert not re.search(r"\b(src|href)=", page.replace("&lt;img src=x", ""))
    assert "Confusion matrix: Champion" in page
    assert 'class="degraded"' in page


def test_binary_and_regression_forms() -> None:
    for problem, prediction, label in (("binary", "0.8", "1"), ("regression", "2.5", "2")):
        join = Join(problem)
        join.add_capture([capture_line(f"e{i}", prediction) for i in range(5)], "AllTraffic")
        join.add_ground_truth([truth_line(f"e{i}", label) for i in range(5)])
        report = window_report(join.finish(lambda p=problem: new_counts(p)))
        text = render.table(report)
        assert text.startswith("verdict: insufficient_data;")
        assert "AllTraffic" in text
        assert "difference from the reference" not in text  # one variant: nothing to compare
        assert "confusion matrix" not in text
        assert "<table>" in render.page(report)
