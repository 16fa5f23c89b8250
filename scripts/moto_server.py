"""moto's server, with the fixes the local deploy needs, each documented here.

Run as ``python scripts/moto_server.py -H 127.0.0.1 -p PORT``; arguments go to
moto's own server. Every fix is reported by ``make deploy-local`` and has a
test (tests/local_deploy/test_emulator_gaps.py) that fails once moto itself
behaves, so the fix can be deleted.

Fixes (moto 5.2.5):

``change-set-outputs``
    ``ExecuteChangeSet`` creates a stack's resources but never evaluates its
    ``Outputs``: ``DescribeStacks`` returns none and no export is registered,
    so a later stack's ``Fn::ImportValue`` fails. The CDK CLI deploys through
    change sets, so the reference app's hosting stack could not import its
    artifacts bucket. After each change set runs, the stack's outputs are
    evaluated and its exports registered, as ``CreateStack`` already does.

``change-set-imports``
    A stack first created by ``CreateChangeSet`` gets no view of the other
    stacks' exports (``CreateStack`` passes them; ``CreateChangeSet`` does
    not), so its ``Fn::ImportValue`` fails with "No export named ...". The
    stack is given the backend's exports, as ``CreateStack`` gives them.

``endpoint-name``
    ``AWS::SageMaker::Endpoint`` ignores its ``EndpointName`` property and
    names the endpoint after the stack and logical ID, so nothing can find
    the endpoint by the name the template gives it. moto is told that
    ``EndpointName`` is the resource's name property, as it is in AWS.

``pipeline-model``
    ``AWS::SageMaker::Model`` reads only ``PrimaryContainer`` and fails with a
    ``KeyError`` on an inference-pipeline model, which has ``Containers``
    instead. The model is created with its ``Containers`` and an empty
    primary container, as moto's own ``CreateModel`` API already allows.

``getatt-not-emulated``
    ``Fn::GetAtt`` on a resource whose type moto skips (a composite alarm
    read by a dashboard's alarm widget) fails the whole stack with
    "references undefined resource". It resolves instead to the placeholder
    ``not-emulated:<LogicalId>.<Attribute>`` (for ``Arn``, the ARN-shaped
    ``arn:aws:not-emulated:::<LogicalId>.Arn``, which an IAM policy naming
    it, such as a traffic shift's ``cloudwatch:DescribeAlarms`` on its
    gating alarms, accepts), so the resources moto does create are created;
    the skipped ones are still listed as not emulated.

``schedule-rule-events``
    A scheduled rule (``ScheduleExpression``, no ``EventPattern``) matches
    every event ``PutEvents`` sends, and its target (a state machine) is
    one moto cannot deliver to, so ``PutEvents`` fails with HTTP 500 as soon
    as a stack holds a schedule. In AWS a scheduled rule matches no event:
    such rules are left out of ``PutEvents``.

``kms-key-policy``
    A KMS key created by CloudFormation keeps its ``KeyPolicy`` as a parsed
    object, and every later ``DescribeKey`` on it fails with HTTP 500
    (``json.loads`` of a dict). The policy is serialised before it is read,
    as keys created through the API already store it.

``instance-types``
    ``CreateEndpointConfig`` checks instance types against a list of its own
    that stops at ``ml.g4dn``/``ml.p3`` (no ``ml.g5``, ``ml.g6``, ``ml.inf2``,
    ``ml.p4d``...), so the GPU endpoint of the components stack was refused.
    Instance types are checked against botocore's
    ``ProductionVariantInstanceType`` enum instead, as the library does.

``component-variants``
    ``CreateEndpointConfig`` looks up every production variant's
    ``ModelName`` and fails with a ``KeyError`` on a variant without one. In
    AWS a variant that hosts inference components has no model (the
    components name theirs). Variants without a ``ModelName`` are not looked
    up; the others still are. (The ``AWS::SageMaker::InferenceComponent``
    resources themselves are not emulated: moto has no such resource or
    API, so the local deploy lists them as not emulated.)

``change-set-depends-on``
    ``ExecuteChangeSet`` creates the resources it adds in template order and
    ignores ``DependsOn`` (``CreateStack`` honours it). The HTTPS front's
    ``AWS::ApiGateway::Deployment`` depends on its methods, but comes first
    in the template, so moto refused it ("The REST API doesn't contain any
    methods") and answered the CLI with a JSON error, which the CDK CLI
    reports as "@aws-sdk XML parse error". Added resources are created in
    ``DependsOn`` order, as ``CreateStack`` does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.events import models as events_models
from moto.kms import responses as kms_responses
from moto.sagemaker import models as sagemaker_models

FIXES = (
    "change-set-outputs",
    "change-set-imports",
    "endpoint-name",
    "pipeline-model",
    "getatt-not-emulated",
    "schedule-rule-events",
    "kms-key-policy",
    "instance-types",
    "component-variants",
    "change-set-depends-on",
)

_execute_change_set = cfn_models.CloudFormationBackend.execute_change_set
_create_change_set = cfn_models.CloudFormationBackend.create_change_set


def _execute_change_set_with_outputs(
    self: Any, change_set_name: str, stack_name: str | None = None
) -> None:
    _execute_change_set(self, change_set_name, stack_name)
    change_set = self.change_sets.get(change_set_name) or next(
        cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
    )
    stack = self.stacks[change_set.stack_id]
    stack._parse_template()  # moto set stack.template but kept the old parsed dict
    stack.output_map = stack._create_output_map()
    stack.description = stack.template_dict.get("Description")
    for export in stack.exports:
        self.exports[export.name] = export


def _create_change_set_with_imports(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    change_set_id, stack_id = _create_change_set(self, *args, **kwargs)
    stack = self.stacks[stack_id]
    stack.cross_stack_resources = self.exports
    stack.resource_map.cross_stack_resources = self.exports
    return change_set_id, stack_id


_create_model_from_cfn = sagemaker_models.Model.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _create_model_with_containers(
    cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
) -> Any:
    properties = cloudformation_json["Properties"]
    if "PrimaryContainer" not in properties:
        properties = {**properties, "PrimaryContainer": {}}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    return _create_model_from_cfn(cls, resource_name, cloudformation_json, *args, **kwargs)


_clean_json = cfn_parsing.clean_json


def _clean_json_with_placeholders(resource_json: Any, resources_map: Any) -> Any:
    if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
        target, attribute = resource_json["Fn::GetAtt"][:2]
        declared = resources_map._resource_json_map.get(target)
        if declared and not cfn_parsing.resource_class_from_type(declared["Type"]):
            if attribute == "Arn":
                # ARN-shaped, so that an IAM policy naming it stays valid.
                return f"arn:aws:not-emulated:::{target}.{attribute}"
            return f"not-emulated:{target}.{attribute}"
    return _clean_json(resource_json, resources_map)


_send_to_targets = events_models.Rule.send_to_targets


def _send_to_targets_unless_scheduled(self: Any, *args: Any, **kwargs: Any) -> None:
    if self.scheduled_expression and not self.event_pattern._pattern:
        return  # a scheduled rule matches no event
    _send_to_targets(self, *args, **kwargs)


_validate_policy = kms_responses.validate_policy


def _validate_policy_as_json(key: Any, action: str) -> None:
    if isinstance(key.policy, dict):
        key.policy = json.dumps(key.policy)
    _validate_policy(key, action)


def _validate_instance_type_of_botocore(self: Any, instance_type: str) -> None:
    from botocore.session import get_session  # noqa: PLC0415 - moto's server has botocore

    shape = get_session().get_service_model("sagemaker").shape_for("ProductionVariantInstanceType")
    if instance_type not in shape.enum:
        raise sagemaker_models.ValidationError(
            message=f"Value '{instance_type}' at 'instanceType' failed to satisfy constraint: "
            "Member must satisfy enum value set: ProductionVariantInstanceType"
        )


_validate_production_variants = sagemaker_models.SageMakerModelBackend.validate_production_variants


def _validate_variants_with_models(self: Any, production_variants: list[dict[str, Any]]) -> None:
    _validate_production_variants(self, [v for v in production_variants if "ModelName" in v])


#: (object, attribute, replacement) of every fix, so tests can apply them in a context.
_build_resource_diff = cfn_parsing.ResourceMap.build_resource_diff


def _resource_diff_in_dependency_order(
    self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    diff = _build_resource_diff(self, other_template, parameters)
    resources = other_template["Resources"]
    added, ordered = set(diff["Add"]), []

    def visit(name: str) -> None:
        if name not in added:
            return
        added.discard(name)
        depends_on = resources[name].get("DependsOn", [])
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            visit(dependency)
        ordered.append(name)

    for name in list(diff["Add"]):
        visit(name)
    return {**diff, "Add": ordered}


PATCHES: tuple[tuple[Any, str, Any], ...] = (
    (cfn_models.CloudFormationBackend, "execute_change_set", _execute_change_set_with_outputs),
    (cfn_models.CloudFormationBackend, "create_change_set", _create_change_set_with_imports),
    (
        sagemaker_models.FakeEndpoint,
        "cloudformation_name_type",
        staticmethod(lambda: "EndpointName"),
    ),
    (
        sagemaker_models.Model,
        "create_from_cloudformation_json",
        classmethod(_create_model_with_containers),
    ),
    (cfn_parsing, "clean_json", _clean_json_with_placeholders),
    (events_models.Rule, "send_to_targets", _send_to_targets_unless_scheduled),
    (kms_responses, "validate_policy", _validate_policy_as_json),
    (
        sagemaker_models.FakeEndpointConfig,
        "validate_instance_type",
        _validate_instance_type_of_botocore,
    ),
    (
        sagemaker_models.SageMakerModelBackend,
        "validate_production_variants",
        _validate_variants_with_models,
    ),
    (cfn_parsing.ResourceMap, "build_resource_diff", _resource_diff_in_dependency_order),
)


def apply_fixes() -> None:
    """Patch moto's backends in this process, for good."""
    for target, attribute, replacement in PATCHES:
        setattr(target, attribute, replacement)


if __name__ == "__main__":
    apply_fixes()
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
