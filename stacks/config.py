"""Configuration of the reference deployment, read from ``cdk.json`` context.

Context key ``cdk-sagemaker-hosting:environments`` maps an environment name
(``dev``, ``prod``) to its settings; see :class:`EnvironmentConfig`. Any key
can be overridden per run, e.g. ``cdk deploy -c cdk-sagemaker-hosting:environments='{...}'``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

CONTEXT_KEY = "cdk-sagemaker-hosting:environments"


class ConfigError(ValueError):
    """The reference app's configuration is incomplete or malformed."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegistryConfig:
    """A model package group whose newest approved version is the challenger.

    :param group_name: the group's name (``<env>-registry`` stack makes it).
    :param parameter_name: the SSM parameter recording the approved version.
        Default: ``/cdk-sagemaker-hosting/<group_name>/approved-version``.
    :param context_key: a CDK context key that, when set (``cdk deploy -c
        modelPackageArn=<version ARN>``, as ``PromotionPipeline``'s deploy
        step passes it), pins the challenger to that exact version instead of
        the recorded one. Default: ``modelPackageArn``.
    """

    group_name: str
    parameter_name: str | None = None
    context_key: str = "modelPackageArn"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChallengerConfig:
    """A second variant under test: an approved registry version or an inference pipeline.

    With the environment's ``registry``, the challenger is the group's newest
    approved version (recorded at approval, resolved at each deploy) and the
    three pipeline keys below must be absent; without it, all three are
    needed (pre-processing container + the champion's serving image).

    :param preprocess_image: ECR URI of the pre-processing container.
    :param preprocess_data_key: its artifact's key in the artifacts bucket.
    :param model_data_key: the challenger model's artifact key (served by ``model_image``).
    :param weight: percent of traffic, 1-99; the champion gets the rest.
    :param promotion_steps: the challenger's share (percent) at each step of
        its promotion by the ``PromoteChallenger`` state machine (with
        monitoring only); steps at or below ``weight`` are skipped.
    :param promotion_bake_minutes: how long each promotion step bakes.
    """

    preprocess_image: str | None = None
    preprocess_data_key: str | None = None
    model_data_key: str | None = None
    weight: int = 50
    promotion_steps: tuple[int, ...] = (10, 25, 50, 75, 100)
    promotion_bake_minutes: int = 15


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScalingConfig:
    """Auto scaling of every variant, from ``instance_count`` up to ``max_instances``.

    :param max_instances: the most instances per variant.
    :param invocations_per_instance: target invocations per instance per minute.
    """

    max_instances: int
    invocations_per_instance: float = 700


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Settings of one environment of the reference deployment.

    :param name: environment name; prefixes the stack names.
    :param model_image: ECR URI of the serving container.
    :param model_data_key: key of ``model.tar.gz`` in the artifacts bucket.
    :param instance_type: endpoint instance type.
    :param instance_count: instances of the production variant.
    :param multi_az: require the endpoint to span Availability Zones.
    :param challenger: an A/B challenger variant; default: none.
    :param data_capture_percentage: capture this share of traffic; default: no capture.
    :param drift_baseline_key: with data capture, check the captured requests
        for drift every hour against the baseline at this key of the capture
        bucket (built by ``cdk-sagemaker-hosting baseline``); default: no check.
    :param quality_ground_truth_prefix: with data capture, join each variant's
        captured predictions every hour with the labels written under this
        prefix of the capture bucket (Model Monitor's ground-truth layout) and
        judge their quality, the challenger beside the champion; default: no check.
    :param canary_instances: blue/green canary size on update, with rollback on
        the variants' alarms; default: SageMaker's all-at-once.
    :param scaling: auto scaling of the variants; default: fixed instance counts.
    :param monitoring: alarms, an alarm topic and a dashboard; default: off.
    :param registry: a model package group (``<env>-registry`` stack) whose
        newest approved version is the challenger; default: none.
    :param https_front: an HTTPS API (API Gateway, AWS WAF, IAM authorisation)
        in front of the endpoint, for callers that cannot sign SageMaker
        requests; default: off.
    :param account: AWS account; default: environment-agnostic.
    :param region: AWS Region; default: environment-agnostic.
    """

    name: str
    model_image: str
    model_data_key: str
    instance_type: str = "ml.m5.large"
    instance_count: int = 2
    multi_az: bool = True
    challenger: ChallengerConfig | None = None
    data_capture_percentage: int | None = None
    drift_baseline_key: str | None = None
    quality_ground_truth_prefix: str | None = None
    canary_instances: int | None = None
    scaling: ScalingConfig | None = None
    monitoring: bool = False
    https_front: bool = False
    registry: RegistryConfig | None = None
    account: str | None = None
    region: str | None = None

    @classmethod
    def from_mapping(cls, name: str, raw: Mapping[str, Any]) -> EnvironmentConfig:
        """Build from a context entry, naming unknown or missing keys in the error."""
        known = {f.name for f in dataclasses.fields(cls)} - {"name"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"{CONTEXT_KEY}.{name}: unknown keys {unknown}; allowed: {sorted(known)}"
            )
        try:
            values = dict(raw)
            if values.get("challenger") is not None:
                challenger = dict(values["challenger"])
                if "promotion_steps" in challenger:
                    challenger["promotion_steps"] = tuple(challenger["promotion_steps"])
                values["challenger"] = ChallengerConfig(**challenger)
            if values.get("scaling") is not None:
                values["scaling"] = ScalingConfig(**values["scaling"])
            if values.get("registry") is not None:
                values["registry"] = RegistryConfig(**values["registry"])
            config = cls(name=name, **values)
        except TypeError as err:
            raise ConfigError(f"{CONTEXT_KEY}.{name}: {err}") from err
        config.check_challenger()
        return config

    def check_challenger(self) -> None:
        """A challenger comes from the registry or from pipeline keys, never both or neither."""
        challenger = self.challenger
        if challenger is None:
            if self.registry is not None:
                raise ConfigError(
                    f"{CONTEXT_KEY}.{self.name}.registry: the registry's approved version is "
                    "hosted as the challenger; add a 'challenger' entry (weight, promotion "
                    "steps) or remove 'registry'"
                )
            return
        keys = ("preprocess_image", "preprocess_data_key", "model_data_key")
        given = [k for k in keys if getattr(challenger, k) is not None]
        if self.registry is not None and given:
            raise ConfigError(
                f"{CONTEXT_KEY}.{self.name}.challenger: {given} would be ignored: with "
                "'registry' the challenger is the group's approved version; remove them"
            )
        missing = [k for k in keys if getattr(challenger, k) is None]
        if self.registry is None and missing:
            raise ConfigError(
                f"{CONTEXT_KEY}.{self.name}.challenger: missing {missing}: a challenger "
                "without 'registry' is a pre-processing + model pipeline and needs all three"
            )


def load_environments(context: Mapping[str, Any] | str | None) -> list[EnvironmentConfig]:
    """All environments of a context mapping, in their order there.

    A JSON string is accepted too, as ``cdk -c KEY=VALUE`` passes one.
    """
    if isinstance(context, str):
        try:
            context = json.loads(context)
        except json.JSONDecodeError as err:
            raise ConfigError(f"context key {CONTEXT_KEY} is not valid JSON: {err}") from err
    if not context or not isinstance(context, Mapping):
        raise ConfigError(f"context key {CONTEXT_KEY} is missing (see cdk.json)")
    return [EnvironmentConfig.from_mapping(name, raw) for name, raw in context.items()]
