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
    uses. A definition the interpreter cannot parse is still created, as AWS
    and the plain backend accept it: ``make deploy-local`` reports it as not
    executable, with the interpreter's error.

``item-batcher``
    The ASL interpreter's grammar has no ``ItemBatcher``: a Distributed Map
    that batches its items (the drift check's ``CountBatches``) is refused
    ("mismatched input '"ItemBatcher"'"), so the state machine cannot run.
    The field is taken out of each Map state before the definition is
    parsed (the stored definition is unchanged) and applied when the Map
    runs, as AWS documents it: the ``ItemSelector`` (or ``Parameters``) is
    applied to each item first; the selected items are then grouped, in
    order, into child inputs ``{"Items": [...]}`` (with ``"BatchInput"``
    beside them when it is given; the States Language spec makes it a
    payload template, AWS's guide calls it fixed JSON: its ``.$`` paths are
    evaluated here against the Map state's input and the context object,
    and intrinsic functions in it fail the Map as not emulated; our
    definitions use no BatchInput). A batch closes before it would hold
    more than ``MaxItemsPerBatch`` (or ``MaxItemsPerBatchPath``) items or
    its child input, as compact JSON encoded in UTF-8 (non-ASCII characters
    unescaped, as Step Functions measures payloads), more than
    ``MaxInputBytesPerBatch`` (or ``...Path``) bytes, never more than
    256 KiB; an item too large for a batch of its own fails the Map with
    ``States.DataLimitExceeded``. Each batch is one child execution.

``map-tolerated-failures``
    A Distributed Map ignores its failed children: a child that fails (a
    ``Fail`` state, an uncaught error) counts as failed in the Map Run, but
    the Map state succeeds with ``null`` for it, whatever
    ``ToleratedFailureCount``/``ToleratedFailurePercentage`` say, so a drift
    check whose batch failed would conclude on part of its data. As AWS
    documents, the Map state now fails with
    ``States.ExceedToleratedFailureThreshold`` when more items failed than
    the count tolerates or a larger share than the percentage (none by
    default; moto keeps 0 for a threshold not given, so a threshold of 0
    beside a non-zero one is not applied); a failed child of a batch counts
    every item of its batch.
``sagemaker-sync``
    The interpreter runs SageMaker integrations only as ``.waitForTaskToken``:
    ``arn:aws:states:::sagemaker:createTransformJob.sync`` (a batch
    transform's ``Transform`` state) fails at once with ``States.Runtime``
    ("Unsupported sync callback procedure") and creates no job. The
    ``.sync`` pattern of ``createTransformJob`` is run as AWS documents it:
    the job is created, ``DescribeTransformJob`` is polled until the job is
    ``Completed`` (its description is the task's result), ``Failed`` or
    ``Stopped`` (the task fails with ``States.TaskFailed``, the description
    as its cause, as the interpreter's own Glue and Batch ``.sync``
    integrations do). Other SageMaker ``.sync`` actions are still refused,
    before their action runs, as without the fix.

``model-package-update``
    ``UpdateModelPackage`` sets every field it can update, given or not: an
    update of the customer metadata alone (the promotion's write-back) sets
    ``ModelApprovalStatus`` and ``ApprovalDescription`` to none, so the
    version no longer lists as approved, and the metadata given replaces the
    version's instead of being added to it. As the API reference describes
    the request (every field optional, ``CustomerMetadataPropertiesToRemove``
    beside ``CustomerMetadataProperties``), an update now changes only the
    fields it names: the properties given are added (a key given again takes
    its new value), the keys of ``CustomerMetadataPropertiesToRemove`` are
    removed, and additional inference specifications are appended.

Gaps of the ASL interpreter not mended here (moto 5.2.5), smallest reproductions
(``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``):

* No mocked responses. The interpreter ships the mock-configuration classes
  (``moto/stepfunctions/parser/mocking``), but ``load_mock_test_case_for``
  never loads a configuration (``raw_mock_config = None``) and the backend's
  ``StartExecution`` does not read a test case: ``start_execution(
  stateMachineArn=arn + "#HappyPath")`` answers ``StateMachineDoesNotExist``.
  Services the emulator cannot run are stood in for on the emulator's side
  instead (``sagemaker-sync``, ``transform-job-outcome``).
* ``{"Type": "Map", ..., "ToleratedFailurePercentage": 50}`` is refused
  (``ASLParserException ... no viable alternative at input
  '"ToleratedFailurePercentage":50'``); ``50.0`` is accepted.
* SageMaker ``.sync`` actions other than ``createTransformJob`` (training,
  processing, ``createEndpoint``...): ``States.Runtime``, "Unsupported sync
  callback procedure". None of our state machines uses one.

Rehearsal setting (not a fix: AWS waits as long as the definition says):

``MOTO_SFN_MAX_WAIT_SECONDS``
    When this environment variable is set, every ``Wait`` state of an
    executing state machine waits at most that many seconds, so a rehearsal
    of a workflow that polls every 30 s (a traffic shift's
    ``WaitForWeights``) takes seconds; ``time.sleep`` in the handlers that
    ``lambda-without-docker`` runs is capped alike (the abort rule's rollback
    polls the endpoint). ``make deploy-local`` names it among its stand-ins.

``transform-job-outcome``
    moto's SageMaker runs no container: a transform job is ``Completed`` the
    moment it is created, whatever its input. Instead, a job whose
    ``S3Prefix`` input holds no object is ``Failed`` with the reason
    SageMaker gives ("ClientError: No S3 objects found under S3 URL ..."),
    and any other is ``Completed`` at once, writing no output. ``make
    deploy-local`` names it among its stand-ins.
"""

from __future__ import annotations

import copy
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
from moto.s3.models import s3_backends
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.exceptions import ValidationError as SageMakerValidationError
from moto.stepfunctions import models as sfn_models
from moto.stepfunctions import responses as sfn_responses
from moto.stepfunctions.parser import api as sfn_parser_api
from moto.stepfunctions.parser.asl.component.common.error_name import (
    failure_event as sfn_failure,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map import (
    state_map as sfn_state_map,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as sfn_distributed,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as sfn_distributed_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import (
    state_parallel as sfn_parallel,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
    state_task_factory as sfn_task_factory,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as sfn_unsupported,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
    wait_function as sfn_wait,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded
from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData
from moto.stepfunctions.parser.asl.parse import asl_parser as sfn_asl_parser
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for as sfn_boto_client
from moto.stepfunctions.parser.asl.utils.json_path import extract_json
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
    "item-batcher",
    "map-tolerated-failures",
    "sagemaker-sync",
    "model-package-update",
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


_validate_policy = getattr(kms_responses, "validate_policy")  # noqa: B009 - not exported


def _validate_policy_as_json(key: Any, action: str) -> None:
    if isinstance(key.policy, dict):
        key.policy = json.dumps(key.policy)
    _validate_policy(key, action)


def _validate_instance_type_of_botocore(self: Any, instance_type: str) -> None:
    from botocore.session import get_session  # noqa: PLC0415 - moto's server has botocore

    shape = get_session().get_service_model("sagemaker").shape_for("ProductionVariantInstanceType")
    if instance_type not in shape.enum:
        raise SageMakerValidationError(
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
            # TimeoutExpired holds bytes, whatever text=True says.
            logs = b"".join(
                out if isinstance(out, bytes) else (out or "").encode()
                for out in (expired.stdout, expired.stderr)
            ).decode(errors="replace")
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
    /,
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


#: Step Functions' largest input of a state or child execution, in bytes.
_MAX_PAYLOAD_BYTES = 256 * 1024
_parse_definition = sfn_asl_parser.AmazonStateLanguageParser.parse


def _take_out_item_batchers(
    states: dict[str, Any], where: tuple[Any, ...], found: dict[tuple[Any, ...], Any]
) -> dict[str, Any]:
    """``states`` without their Map states' ``ItemBatcher``, each recorded in ``found`` by path."""
    copied = {}
    for name, declared in states.items():
        state = dict(declared)
        if state.get("Type") == "Map":
            if "ItemBatcher" in state:
                found[(*where, name)] = state.pop("ItemBatcher")
            processor_key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
            if isinstance(state.get(processor_key), dict):
                processor = dict(state[processor_key])
                processor["States"] = _take_out_item_batchers(
                    processor.get("States", {}), (*where, name), found
                )
                state[processor_key] = processor
        elif state.get("Type") == "Parallel":
            state["Branches"] = [
                {
                    **branch,
                    "States": _take_out_item_batchers(
                        branch.get("States", {}), (*where, name, i), found
                    ),
                }
                for i, branch in enumerate(state.get("Branches", []))
            ]
        copied[name] = state
    return copied


def _give_item_batchers(
    states: Any, where: tuple[Any, ...], found: dict[tuple[Any, ...], Any]
) -> None:
    """Attach each recorded ``ItemBatcher`` to the iteration component of its Map state."""
    for name, state in states.states.items():
        if isinstance(state, sfn_state_map.StateMap):
            component: Any = state.iteration_component
            if (*where, name) in found:
                component.item_batcher = found[(*where, name)]
            _give_item_batchers(component._states, (*where, name), found)
        elif isinstance(state, sfn_parallel.StateParallel):
            for i, program in enumerate(state.branches.programs):
                _give_item_batchers(program.states, (*where, name, i), found)


def parse_definition(definition: str) -> Any:
    """The interpreter's parser, with the Map states' ``ItemBatcher`` (``item-batcher``)."""
    try:
        document = json.loads(definition)
    except ValueError:
        return _parse_definition(definition)
    found: dict[tuple[Any, ...], Any] = {}
    if isinstance(document, dict) and isinstance(document.get("States"), dict):
        document = {**document, "States": _take_out_item_batchers(document["States"], (), found)}
    if not found:
        return _parse_definition(definition)
    program, tree = _parse_definition(json.dumps(document))
    parsed: Any = program
    _give_item_batchers(parsed.states, (), found)
    return program, tree


def _map_failure(env: Any, error: StatesErrorNameType, cause: str) -> Exception:
    """The exception that fails a Map state with ``error`` and ``cause``."""
    name = StatesErrorName(typ=error)
    return sfn_failure.FailureEventException(
        failure_event=sfn_failure.FailureEvent(
            env=env,
            error_name=name,
            event_type=sfn_parser_api.HistoryEventType.EvaluationFailed,
            # EventDetails is a total TypedDict; a failure event sets one of its keys.
            event_details=EventDetails(  # type: ignore[typeddict-item]
                evaluationFailedEventDetails=sfn_parser_api.EvaluationFailedEventDetails(
                    error=name.error_name, cause=cause
                )
            ),
        )
    )


def _payload_template(env: Any, template: Any, value: Any) -> Any:
    """A JSONPath payload template evaluated against ``value`` and the context object."""
    if isinstance(template, list):
        return [_payload_template(env, t, value) for t in template]
    if not isinstance(template, dict):
        return template
    result = {}
    for key, field in template.items():
        if not key.endswith(".$"):
            result[key] = _payload_template(env, field, value)
            continue
        if not isinstance(field, str) or not field.startswith("$"):
            raise _map_failure(
                env,
                StatesErrorNameType.StatesRuntime,
                f"BatchInput field {key!r}: {field!r} is not emulated here (only paths, "
                "not intrinsic functions)",
            )
        if field.startswith("$$"):
            source, path = env.states.context_object.context_object_data, field[1:]
        else:
            source, path = value, field
        result[key[:-2]] = extract_json(path, source)
    return result


def _batch_limit(env: Any, batcher: dict[str, Any], field: str, value: Any) -> int | None:
    """``field`` of the batcher, or its ``...Path`` read from the Map's input; a positive int."""
    limit = batcher.get(field)
    if f"{field}Path" in batcher:
        limit = extract_json(batcher[f"{field}Path"], value)
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise _map_failure(
            env, StatesErrorNameType.StatesRuntime, f"{field} must be a positive integer: {limit!r}"
        )
    return limit


def _batches(
    env: Any, batcher: dict[str, Any], items: list[Any], map_input: Any
) -> list[dict[str, Any]]:
    """The child inputs of a batched Map: ``{"Items": [...]}`` (and ``BatchInput``), in order."""
    max_items = _batch_limit(env, batcher, "MaxItemsPerBatch", map_input)
    max_bytes = min(
        _batch_limit(env, batcher, "MaxInputBytesPerBatch", map_input) or _MAX_PAYLOAD_BYTES,
        _MAX_PAYLOAD_BYTES,
    )
    shared = (
        {"BatchInput": _payload_template(env, batcher["BatchInput"], map_input)}
        if "BatchInput" in batcher
        else {}
    )

    def size(batch: list[Any]) -> int:
        # Payloads are measured as UTF-8 text: "é" is 2 bytes, not 6 (escaped "\u00e9").
        text = json.dumps({**shared, "Items": batch}, separators=(",", ":"), ensure_ascii=False)
        return len(text.encode())

    batches: list[list[Any]] = []
    for item in items:
        if size([item]) > max_bytes:
            raise _map_failure(
                env,
                StatesErrorNameType.StatesStatesDataLimitExceeded,
                f"an item of {size([item])} bytes as a batch of its own exceeds the batch "
                f"limit of {max_bytes} bytes",
            )
        last = batches[-1] if batches else None
        if (
            last is None
            or (max_items is not None and len(last) >= max_items)
            or size([*last, item]) > max_bytes
        ):
            batches.append([item])
        else:
            last.append(item)
    return [{**shared, "Items": batch} for batch in batches]


def _selected(env: Any, eval_input: Any, map_input: Any, index: int, item: Any) -> Any:
    """``item`` through the Map's ItemSelector (or Parameters), as a child would select it."""
    selector = eval_input.item_selector or eval_input.parameters
    if selector is None:
        return item
    frame: Any = env.open_inner_frame()
    try:
        frame.states.context_object.context_object_data["Map"] = MapData(
            Item=ItemData(Index=index, Value=item)
        )
        frame.states.reset(input_value=map_input)
        frame.stack.append(map_input)
        selector.eval(frame)
        return frame.stack.pop()
    finally:
        env.delete_frame(frame)


_map_run = sfn_distributed.DistributedIterationComponent._map_run


def _map_run_in_batches(self: Any, env: Any, eval_input: Any) -> None:
    batcher = getattr(self, "item_batcher", None)
    if batcher is None:
        _map_run(self, env, eval_input)
        return
    items = env.stack.pop()
    map_input = env.stack[-1] if env.stack else env.states.get_input()
    selected = [_selected(env, eval_input, map_input, i, item) for i, item in enumerate(items)]
    env.stack.append(_batches(env, batcher, selected, map_input))
    # The items are selected already: the children take their batch as it is.
    batched = copy.copy(eval_input)
    batched.item_selector = None
    batched.parameters = None
    _map_run(self, env, batched)


_eval_child = sfn_distributed_worker.DistributedItemProcessorWorker._eval_job
_failures_lock = threading.Lock()


def _eval_child_counting_failures(self: Any, env: Any, job: Any) -> None:
    """A child of a Distributed Map; its items are counted in the Map Run, failed or not."""
    _eval_child(self, env, job)
    batch = job.job_input.get("Items") if isinstance(job.job_input, dict) else None
    items = len(batch) if isinstance(batch, list) and self._map_run_record.batched else 1
    with _failures_lock:
        record = self._map_run_record
        record.items_run = getattr(record, "items_run", 0) + items
        if not isinstance(env.program_state(), ProgramEnded):
            record.items_failed = getattr(record, "items_failed", 0) + items


def _map_run_within_tolerance(self: Any, env: Any, eval_input: Any) -> None:
    record = eval_input.map_run_record
    record.batched = getattr(self, "item_batcher", None) is not None
    _map_run_in_batches(self, env, eval_input)
    failed, run = getattr(record, "items_failed", 0), getattr(record, "items_run", 0)
    if not failed:
        return
    count, percentage = eval_input.tolerated_failure_count, eval_input.tolerated_failure_percentage
    # moto keeps 0 for a threshold not given: one given alone applies alone.
    exceeded = [failed > count] if count else []
    exceeded += [100.0 * failed / max(run, 1) > percentage] if percentage else []
    if not exceeded or any(exceeded):
        env.stack.pop()  # the children's outputs
        raise _map_failure(
            env,
            StatesErrorNameType.StatesExceedToleratedFailureThreshold,
            f"The specified tolerated failure threshold was exceeded: {failed} of {run} "
            f"items failed (tolerated: {count or 0} items, {percentage or 0:g} %)",
        )


#: Transform job statuses that end a ``.sync`` wait; all but ``Completed`` fail the task.
_TRANSFORM_JOB_ENDS = ("Completed", "Failed", "Stopped")
_state_task_service_for = getattr(sfn_task_factory, "state_task_service_for")  # noqa: B009


def _epoch_millis(value: Any) -> int:
    return int(value.timestamp() * 1000)


class _SageMakerWithSync(sfn_unsupported.StateTaskServiceUnsupported):
    """The interpreter's SageMaker integration, with ``createTransformJob.sync``."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        patterns: Any = {ResourceCondition.WaitForTaskToken, ResourceCondition.Sync}
        self._supported_integration_patterns = patterns  # type: ignore[misc]

    def _assert_integration_pattern_is_supported(self) -> None:
        # Other .sync actions are refused before they run, as without this fix (no job is
        # created only to fail the task afterwards).
        if self.resource.condition == ResourceCondition.Sync and (
            self.resource.api_action != "createTransformJob"
        ):
            raise RuntimeError(
                f"Unsupported {self.resource.condition} callback procedure in resource "
                f"{self.resource.resource_arn}"
            )
        super()._assert_integration_pattern_is_supported()  # type: ignore[no-untyped-call]

    def _build_sync_resolver(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Any:
        if self.resource.api_action != "createTransformJob":
            return super()._build_sync_resolver(
                env, resource_runtime_part, normalised_parameters, state_credentials
            )
        env.stack.pop()  # CreateTransformJob's answer; the description replaces it
        client = sfn_boto_client(
            service="sagemaker",
            region=resource_runtime_part.region,
            state_credentials=state_credentials,
        )
        name = normalised_parameters["TransformJobName"]

        def described_when_ended() -> Any:
            described = client.describe_transform_job(TransformJobName=name)
            described.pop("ResponseMetadata", None)
            # Timestamps as epoch milliseconds, as Step Functions passes them on.
            job = json.loads(json.dumps(described, default=_epoch_millis))
            if job["TransformJobStatus"] not in _TRANSFORM_JOB_ENDS:
                return None
            if job["TransformJobStatus"] == "Completed":
                return job
            raise sfn_failure.FailureEventException(
                sfn_failure.FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=sfn_parser_api.HistoryEventType.TaskFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        taskFailedEventDetails=sfn_parser_api.TaskFailedEventDetails(
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=json.dumps(job),
                        )
                    ),
                )
            )

        return described_when_ended


def _state_task_service_with_sagemaker_sync(service_name: str) -> Any:
    if service_name == "sagemaker":
        return _SageMakerWithSync()
    return _state_task_service_for(service_name)


_create_transform_job = sagemaker_models.SageMakerModelBackend.create_transform_job


def _transform_job_failing_without_input(self: Any, **kwargs: Any) -> Any:
    """A job is Failed, as SageMaker fails it, when its S3 prefix holds no object."""
    job = _create_transform_job(self, **kwargs)
    source = kwargs["transform_input"].get("DataSource", {}).get("S3DataSource", {})
    uri = source.get("S3Uri", "")
    if source.get("S3DataType", "S3Prefix") == "S3Prefix" and uri.startswith("s3://"):
        bucket_name, _, prefix = uri.removeprefix("s3://").partition("/")
        backend = s3_backends[self.account_id][self.partition]
        keys: Any
        try:
            keys = backend.get_bucket(bucket_name).keys.keys()
        except Exception:
            keys = []
        if not any(key.startswith(prefix) for key in keys):
            job.transform_job_status = "Failed"
            job.failure_reason = (
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data '
                "source. Please ensure that the bucket exists in the selected region "
                "(us-east-1), that objects exist under that S3 prefix, and that the role "
                "has permission to read them."
            )
    return job


def _update_only_the_fields_given(
    self: Any,
    *,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str] | None,
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    """``UpdateModelPackage`` changing what it is given: metadata merged, keys removed by name."""
    name = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
    package = self.model_packages.get(name)
    if package is None:
        msg = f"Model package {model_package_arn} not found"
        raise SageMakerValidationError(msg)
    if model_approval_status is not None:
        package.set_model_approval_status(model_approval_status)
    if approval_description is not None:
        package.approval_description = approval_description
    if customer_metadata_properties or customer_metadata_properties_to_remove:
        merged = dict(package.customer_metadata_properties or {})
        merged.update(customer_metadata_properties or {})
        for key in customer_metadata_properties_to_remove or ():
            merged.pop(key, None)
        package.customer_metadata_properties = merged
    if additional_inference_specifications_to_add is not None:
        package.add_additional_inference_specifications(additional_inference_specifications_to_add)
    package.modifications_done()
    return str(package.arn)


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
    (sfn_asl_parser.AmazonStateLanguageParser, "parse", staticmethod(parse_definition)),
    (sfn_distributed.DistributedIterationComponent, "_map_run", _map_run_within_tolerance),
    (
        sfn_distributed_worker.DistributedItemProcessorWorker,
        "_eval_job",
        _eval_child_counting_failures,
    ),
    (sfn_task_factory, "state_task_service_for", _state_task_service_with_sagemaker_sync),
    (
        sagemaker_models.SageMakerModelBackend,
        "create_transform_job",
        _transform_job_failing_without_input,
    ),
    (
        sagemaker_models.SageMakerModelBackend,
        "update_model_package",
        _update_only_the_fields_given,
    ),
)


def apply_fixes() -> None:
    """Patch moto's backends in this process, for good."""
    for target, attribute, replacement in PATCHES:
        setattr(target, attribute, replacement)


if __name__ == "__main__":
    apply_fixes()
    from moto.server import main

    main(sys.argv[1:])
