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

``ref-not-emulated``
    ``Ref`` to a resource whose type moto skips resolves to ``None``, which
    ``Fn::Join`` writes as the string "None": the traffic shift's function
    was configured with the gating alarms ``["None", "None", "None"]``. It
    resolves instead to the placeholder ``not-emulated:<LogicalId>``, so each
    skipped resource keeps a distinct name (the rehearsal creates the
    shift's gating alarms under these names).

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

``lambda-without-docker``
    moto runs a Lambda function only in a Docker container; without Docker,
    ``Invoke`` answers "error running docker" (a ``FunctionError``), so a
    state machine's Lambda tasks cannot run. The function's own deployment
    package (the asset CloudFormation uploaded) is unpacked once per code
    hash and its handler runs in a subprocess of this Python, with the
    function's environment variables, a Lambda-like ``context``, the
    function's timeout, and the AWS SDK pointed at this server. Its return
    value is the payload; an exception becomes Lambda's error payload
    (``errorType``, ``errorMessage``, ``stackTrace``) with ``FunctionError``
    set, and its output goes to the function's log group, as in Lambda. The
    runtime is this Python, not the function's ``Runtime``.

``state-machines-from-cloudformation``
    With moto's config ``stepfunctions.execute_state_machine`` on, the API
    answers from the ASL interpreter's backend, but CloudFormation still
    creates ``AWS::StepFunctions::StateMachine`` resources in the plain
    backend, so the deployed state machines cannot be found, let alone run.
    CloudFormation creates (and deletes) them in whichever backend the API
    uses. A definition the interpreter cannot parse (moto 5.2.5's grammar
    has no ``ItemBatcher``) is still created, as AWS and the plain backend
    accept it: ``make deploy-local`` reports it as not executable, with the
    interpreter's error.

Rehearsal setting (not a fix: AWS waits as long as the definition says):

``MOTO_SFN_MAX_WAIT_SECONDS``
    When this environment variable is set, every ``Wait`` state of an
    executing state machine waits at most that many seconds, so a rehearsal
    of a workflow that polls every 30 s (a traffic shift's
    ``WaitForWeights``) takes seconds; ``time.sleep`` in the handlers that
    ``lambda-without-docker`` runs is capped alike (the abort rule's rollback
    polls the endpoint). ``make deploy-local`` names it among its stand-ins.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from moto import settings as moto_settings
from moto.awslambda import models as lambda_models
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.events import models as events_models
from moto.kms import responses as kms_responses
from moto.sagemaker import models as sagemaker_models
from moto.stepfunctions import models as sfn_models
from moto.stepfunctions import responses as sfn_responses
from moto.stepfunctions.parser import api as sfn_parser_api
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
    wait_function as sfn_wait,
)
from moto.stepfunctions.utils import cfn_to_api_tags

FIXES = (
    "change-set-outputs",
    "change-set-imports",
    "endpoint-name",
    "pipeline-model",
    "getatt-not-emulated",
    "ref-not-emulated",
    "schedule-rule-events",
    "kms-key-policy",
    "instance-types",
    "component-variants",
    "change-set-depends-on",
    "lambda-without-docker",
    "state-machines-from-cloudformation",
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
    if isinstance(resource_json, dict) and isinstance(resource_json.get("Ref"), str):
        declared = getattr(resources_map, "_resource_json_map", {}).get(resource_json["Ref"])
        if declared and not cfn_parsing.resource_class_from_type(declared["Type"]):
            return f"not-emulated:{resource_json['Ref']}"
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


#: Runs one handler in a subprocess: argv = code directory, handler, result file;
#: the event on stdin. Lambda's error payload is written on an exception.
_HANDLER_RUNNER = """
import importlib, json, sys, time, traceback, uuid
code, handler, out, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
if sys.argv[5]:
    _sleep, _cap = time.sleep, float(sys.argv[5])
    time.sleep = lambda seconds: _sleep(min(seconds, _cap))
sys.path.insert(0, code)
deadline = time.time() + timeout
class Context:
    function_name = __import__("os").environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.time()) * 1000))
try:
    module, _, name = handler.rpartition(".")
    result = getattr(importlib.import_module(module), name)(json.load(sys.stdin), Context())
    payload, failed = result, False
except Exception as error:
    traceback.print_exc()
    payload = {"errorType": type(error).__name__, "errorMessage": str(error),
               "stackTrace": traceback.format_tb(error.__traceback__)}
    failed = True
with open(out, "w") as f:
    json.dump({"payload": payload, "failed": failed}, f)
"""

_code_dirs: dict[str, Path] = {}
_code_lock = threading.Lock()


def _code_directory(code: bytes) -> Path:
    """The deployment package unpacked, once per content hash."""
    digest = hashlib.sha256(code).hexdigest()
    with _code_lock:
        if digest not in _code_dirs:
            target = Path(tempfile.mkdtemp(prefix=f"lambda-{digest[:12]}-"))
            with zipfile.ZipFile(io.BytesIO(code)) as package:
                package.extractall(target)
            _code_dirs[digest] = target
        return _code_dirs[digest]


def _invoke_handler_in_subprocess(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """``LambdaFunction._invoke_lambda`` without Docker: (payload, errored, logs)."""
    code = _code_directory(self.code_bytes)
    port = moto_settings.moto_server_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=self.region,
        AWS_DEFAULT_REGION=self.region,
        AWS_ENDPOINT_URL=f"http://localhost:{port}",
        AWS_LAMBDA_FUNCTION_NAME=self.function_name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(self.memory_size),
        AWS_LAMBDA_FUNCTION_VERSION=str(self.version),
        _HANDLER=str(self.handler),
    )
    env.update({k: str(v) for k, v in (self.environment_vars or {}).items()})
    timeout = float(self.timeout or 3)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        try:
            ran = subprocess.run(
                [
                    *(sys.executable, "-c", _HANDLER_RUNNER, str(code), self.handler, str(out)),
                    *(str(timeout), os.environ.get("MOTO_SFN_MAX_WAIT_SECONDS", "")),
                ],
                input=json.dumps(event if event is not None else {}),
                capture_output=True,
                text=True,
                env=env,
                cwd=code,
                timeout=timeout,
                check=False,
            )
            logs = ran.stdout + ran.stderr
            if out.exists():
                result = json.loads(out.read_text())
            else:
                result = {
                    "failed": True,
                    "payload": {
                        "errorType": "Runtime.ExitError",
                        "errorMessage": f"exited with {ran.returncode}",
                    },
                }
        except subprocess.TimeoutExpired as expired:
            logs = f"{expired.stdout or ''}{expired.stderr or ''}"
            result = {
                "failed": True,
                "payload": {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                },
            }
    self.logs_backend.ensure_log_group(self.logs_group_name)
    self.save_logs(logs or "(no output)")
    return json.dumps(result["payload"]), bool(result["failed"]), logs


class _ConfiguredStepFunctionsBackends:
    """``stepfunctions_backends[account][region]`` as the API chooses it (plain or interpreter)."""

    def __getitem__(self, account: str) -> Any:
        return _ConfiguredRegions(account)


class _ConfiguredRegions:
    def __init__(self, account: str) -> None:
        self.account = account

    def __getitem__(self, region: str) -> Any:
        return sfn_responses.get_backend(self.account, region)


def _create_state_machine_where_the_api_looks(
    cls: Any,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **_: Any,
) -> Any:
    properties = cloudformation_json["Properties"]
    args = (
        properties.get("StateMachineName", resource_name),
        properties.get("DefinitionString", ""),
        properties.get("RoleArn", ""),
    )
    tags = cfn_to_api_tags(properties.get("Tags", []))
    backend = sfn_responses.get_backend(account_id, region_name)
    try:
        return backend.create_state_machine(*args, tags=tags)
    except sfn_parser_api.InvalidDefinition:
        # AWS accepts it; the interpreter cannot parse it. Keep it, as the plain backend would.
        return sfn_models.StepFunctionBackend.create_state_machine(backend, *args, tags=tags)


_wait_for = sfn_wait.WaitFunction._wait_interval


def _wait_at_most(self: Any, env: Any, wait_seconds: int) -> None:
    limit = os.environ.get("MOTO_SFN_MAX_WAIT_SECONDS")
    if limit is not None:
        wait_seconds = min(wait_seconds, int(limit))
    _wait_for(self, env, wait_seconds)


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
    (lambda_models.LambdaFunction, "_invoke_lambda", _invoke_handler_in_subprocess),
    (sfn_models, "stepfunctions_backends", _ConfiguredStepFunctionsBackends()),
    (
        sfn_models.StateMachine,
        "create_from_cloudformation_json",
        classmethod(_create_state_machine_where_the_api_looks),
    ),
    (sfn_wait.WaitFunction, "_wait_interval", _wait_at_most),
)


def apply_fixes() -> None:
    """Patch moto's backends in this process, for good."""
    for target, attribute, replacement in PATCHES:
        setattr(target, attribute, replacement)


if __name__ == "__main__":
    apply_fixes()
    from moto.server import main

    sys.exit(main(sys.argv[1:]))
