"""The reference batch stack: a weekly inventory forecast, synthesised in a test app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.artifacts import ArtifactsStack
from stacks.batch import BatchStack
from stacks.config import CONTEXT_KEY, load_environments
from tests.batch_transform.test_batch_transform import KNOWN_MODEL_W3005, definition, lint
from tests.conftest import cdk_json_context, new_app
from tests.gates import PACKS, nag_findings


@pytest.fixture(scope="module")
def forecast_app() -> tuple[cdk.App, dict[str, dict[str, Any]]]:
    app = new_app()
    templates = {}
    stacks = []
    for config in load_environments(cdk_json_context()[CONTEXT_KEY]):
        env = cdk.Environment(account=config.account, region=config.region)
        artifacts = ArtifactsStack(app, f"{config.name}-artifacts", env=env)
        batch = BatchStack(
            app, f"{config.name}-batch", config=config, artifacts=artifacts.artifacts, env=env
        )
        stacks += [artifacts, batch]
    assembly = app.synth()
    for stack in stacks:
        templates[stack.stack_name] = assembly.get_stack_by_name(stack.stack_name).template
    return app, templates


def test_weekly_forecast_joins_product_ids_to_predictions(forecast_app: Any) -> None:
    _, templates = forecast_app
    for env in ("dev", "prod"):
        raw = templates[f"{env}-batch"]
        template = Template.from_json(raw)
        template.has_resource_properties(
            "AWS::Events::Rule", {"ScheduleExpression": "cron(0 3 ? * SUN *)", "State": "ENABLED"}
        )
        flow = definition(raw, "WeeklyForecast")
        assert flow["States"]["NameRun"]["Parameters"]["JobName.$"] == (
            f"States.Format('{env}-forecast-{{}}', States.UUID())"
        )
        params = flow["States"]["Transform"]["Parameters"]
        assert params["DataProcessing"] == {
            "InputFilter": "$[1:]",
            "OutputFilter": "$[0,-1]",
            "JoinSource": "Input",
        }
        assert params["TransformResources"]["InstanceType"] == "ml.m5.xlarge"
        assert params["TransformInput"]["SplitType"] == "Line"
        model = template.find_resources("AWS::SageMaker::Model")
        (props,) = [m["Properties"] for m in model.values()]
        assert props["PrimaryContainer"]["Image"].endswith("/sagemaker-xgboost:1.7-1")
        assert props["EnableNetworkIsolation"] is True
        assert "inventory-forecast/v1/model.tar.gz" in json.dumps(props)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(forecast_app: Any, pack: Any) -> None:
    findings = nag_findings(forecast_app[0], pack)
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(forecast_app: Any, tmp_path: Path) -> None:
    for name, raw in forecast_app[1].items():
        found = lint(raw, tmp_path)
        ours = [f for f in found if not (f[0] == "W3005" and KNOWN_MODEL_W3005.match(f[1]))]
        assert ours == [], name
