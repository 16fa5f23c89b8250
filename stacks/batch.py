"""The stack that computes an environment's weekly inventory forecast by batch transform."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_stepfunctions_tasks as tasks
from cdk_sagemaker_hosting import (
    ContainerImage,
    EncryptedBucket,
    JoinSource,
    Model,
    ModelData,
    ScheduledBatchTransform,
)

from constructs import Construct
from stacks.config import EnvironmentConfig
from stacks.hosting import acknowledge_single_region


@dataclasses.dataclass(frozen=True, kw_only=True)
class ForecastConfig:
    """The weekly inventory forecast; every field has a reference default.

    :param model_data_key: the forecast model's artifact in the artifacts bucket.
    :param image: ECR URI of the serving container. Default: the environment's
        ``model_image`` (SageMaker's XGBoost image).
    :param input_prefix: where the week's product features are written (CSV,
        product ID first, no header).
    :param output_prefix: where each run's forecasts go (``<prefix><job name>/``).
    :param schedule: Default: Sundays at 03:00 UTC.
    :param instance_type: Default: ``ml.m5.xlarge``.
    :param instance_count: Default: 1.
    """

    model_data_key: str = "inventory-forecast/v1/model.tar.gz"
    image: str | None = None
    input_prefix: str = "inventory-forecast/input/"
    output_prefix: str = "inventory-forecast/output/"
    schedule: events.Schedule = dataclasses.field(
        default_factory=lambda: events.Schedule.cron(minute="0", hour="3", week_day="SUN")
    )
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1


class BatchStack(Stack):
    """A weekly inventory forecast for every product, as a scheduled batch transform.

    No endpoint runs between forecasts: once a week the schedule starts a
    transform job of an XGBoost model over the product features under
    ``input_prefix`` and writes, per product, its ID and forecast (the input
    joined to the prediction, filtered to the first and last column) under
    ``output_prefix``. The data bucket is the stack's own; the model's
    artifact comes from the artifacts stack's bucket.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        artifacts: EncryptedBucket,
        forecast: ForecastConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        forecast = forecast or ForecastConfig()
        self.data = EncryptedBucket(self, "ForecastData")
        acknowledge_single_region(self.data, "Forecast input and output")
        self.model = Model(
            self,
            "ForecastModel",
            image=ContainerImage.from_registry(forecast.image or config.model_image),
            model_data=ModelData.from_bucket(artifacts, forecast.model_data_key),
        )
        self.forecast = ScheduledBatchTransform(
            self,
            "WeeklyForecast",
            model=self.model,
            input_bucket=self.data,
            input_prefix=forecast.input_prefix,
            output_prefix=forecast.output_prefix,
            schedule=forecast.schedule,
            job_name_prefix=f"{config.name}-forecast",
            instance_type=forecast.instance_type,
            instance_count=forecast.instance_count,
            content_type="text/csv",
            accept="text/csv",
            split_type=tasks.SplitType.LINE,
            batch_strategy=tasks.BatchStrategy.MULTI_RECORD,
            assemble_with=tasks.AssembleWith.LINE,
            max_payload_mb=6,
            input_filter="$[1:]",
            join_source=JoinSource.INPUT,
            output_filter="$[0,-1]",
        )
        CfnOutput(self, "ForecastDataBucket", value=self.data.bucket_name)
        CfnOutput(self, "ForecastStateMachineArn", value=self.forecast.state_machine_arn)
