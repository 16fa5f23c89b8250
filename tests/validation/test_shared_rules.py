"""Rules the Lambda handlers must hold on their own (they ship without the library) agree with it.

The handlers' packages import only the standard library and boto3, so a few
patterns exist in the library and in a handler; these tests keep them equal
and equal to SageMaker's own (botocore's service model).
"""

from __future__ import annotations

import re

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting._lambda.drift import rules
from cdk_sagemaker_hosting._lambda.traffic_shift import plan

SAMPLES = ["a", "A-b", "a--b", "v1", "-a", "a-", "a.b", "a_b", "", "x" * 63, "x" * 64, "Blue-2"]


def test_name_patterns_are_one_rule() -> None:
    assert validation.NAME_PATTERN.pattern == plan.NAME_PATTERN.pattern
    assert validation.NAME_PATTERN.pattern == rules.VARIANT_NAME.pattern


def test_name_pattern_matches_sagemakers_variant_names() -> None:
    shape = validation.sagemaker_shapes()["VariantName"]
    sagemaker = re.compile(f"^(?:{shape['pattern']})$")
    for sample in SAMPLES:
        ours = bool(validation.NAME_PATTERN.match(sample)) and len(sample) <= shape["max"]
        assert ours == bool(sagemaker.match(sample)), sample


def test_url_rules_are_one_rule() -> None:
    assert validation._URL.pattern == rules._URL.pattern
