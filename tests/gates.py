"""The compliance gates every synthesised app passes.

cdk-nag's five packs (at synth), cfn-lint, checkov and the AWS Control Tower
proactive-control rules in cfn-guard (over the templates), and parliament
(over every IAM policy document in them).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag

#: The cdk-nag packs of the project's gate.
PACKS = [
    cdk_nag.AwsSolutionsChecks,
    cdk_nag.HIPAASecurityChecks,
    cdk_nag.NIST80053R5Checks,
    cdk_nag.PCIDSS321Checks,
    cdk_nag.ServerlessChecks,
]


def nag_findings(app: cdk.App, pack: Any) -> list[str]:
    """Unacknowledged findings of one pack, as ``rule at construct path``."""
    return sorted(
        f"{v.rule_name} at {r.construct_path}"
        for v in pack(app).validate_scope(app).violations
        for r in v.violating_resources
    )


def cfn_lint(templates: dict[str, Any], workdir: Path) -> tuple[list[tuple[str, str, str]], str]:
    """cfn-lint's errors and warnings over the templates: (file, rule, message), and stderr."""
    paths = []
    for name, template in templates.items():
        path = workdir / f"{name}.template.json"
        path.write_text(json.dumps(template))
        paths.append(str(path))
    # The cfn-lint script of this venv (cfn-lint has no ``python -m`` entry point).
    executable = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(executable), "--format", "json", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit codes are bit flags: 2 errors, 4 warnings, 8 informational; 1 (or
    # anything else) means cfn-lint itself failed, which must never pass.
    if result.returncode & ~0b1110 or not result.stdout.strip().startswith("["):
        msg = f"cfn-lint did not run (exit {result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    matches = json.loads(result.stdout)
    found = [(Path(m["Filename"]).name, m["Rule"]["Id"], m["Message"]) for m in matches]
    return found, result.stderr


# --- Template scanners: checkov and the AWS Control Tower guard rules ---------------------------

#: The scanners' own virtualenv (checkov downgrades packages of ours, so it lives apart).
SCANNERS_VENV = Path(__file__).resolve().parents[1] / ".scanners"


def write_templates(templates: dict[str, Any], workdir: Path) -> Path:
    """Write ``templates`` as ``<name>.template.json`` files into ``workdir``, and return it."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, template in templates.items():
        (workdir / f"{name}.template.json").write_text(json.dumps(template, indent=1))
    return workdir


def without_metadata(templates: dict[str, Any], key: str) -> dict[str, Any]:
    """Copies of ``templates`` with ``Metadata.<key>`` removed from every resource."""
    stripped = json.loads(json.dumps(templates))
    for template in stripped.values():
        for resource in template.get("Resources", {}).values():
            resource.get("Metadata", {}).pop(key, None)
    return stripped


def _scanner(name: str) -> Path:
    executable = SCANNERS_VENV / "bin" / name
    if not executable.exists():
        msg = f"{executable} is missing: run `make scanners` (make test does) to install it"
        raise RuntimeError(msg)
    return executable


def _resource_count(path: Path) -> int:
    """How many resources a template holds; -1 if it is not JSON (no scanner can read it)."""
    try:
        return len(json.loads(path.read_text()).get("Resources", {}))
    except ValueError:
        return -1


def checkov(workdir: Path) -> dict[str, list[tuple[str, str, str]]]:
    """checkov over the templates in ``workdir``, offline.

    Returns ``{"failed": [...], "skipped": [...]}``, each a sorted list of
    ``(template, check id, resource logical ID)``; checkov honours the
    templates' ``Metadata.checkov.skip`` entries itself.
    """
    result = subprocess.run(
        [
            str(_scanner("checkov")),
            "--directory",
            str(workdir),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        # Offline: no mapping download from the Prisma Cloud platform.
        env={"PATH": "/usr/bin:/bin", "BC_SKIP_MAPPING": "TRUE", "HOME": str(workdir)},
    )
    # Exit 1 means failed checks; anything else but 0 means checkov did not run.
    if result.returncode not in (0, 1) or not result.stdout.strip():
        msg = f"checkov did not run (exit {result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    # checkov exits 0 on a template it cannot parse, or on none at all: count what it read.
    summaries = [r.get("summary", {}) for r in reports]
    parsing_errors = sum(s.get("parsing_errors", 0) for s in summaries)
    read = sum(s.get("resource_count", 0) for s in summaries)
    expected = sum(_resource_count(path) for path in workdir.glob("*.template.json"))
    if parsing_errors or read != expected or "results" not in json.dumps(reports):
        msg = (
            f"checkov read {read} of {expected} resources in {workdir} "
            f"({parsing_errors} parsing errors): {result.stdout[-1000:]}"
        )
        raise RuntimeError(msg)
    found: dict[str, list[tuple[str, str, str]]] = {"failed": [], "skipped": []}
    for report in reports:
        for kind, rows in found.items():
            for check in report.get("results", {}).get(f"{kind}_checks", []):
                rows.append(
                    (
                        Path(check["file_path"]).name.removesuffix(".template.json"),
                        check["check_id"],
                        check["resource"].split(".", 1)[1],
                    )
                )
    return {kind: sorted(rows) for kind, rows in found.items()}


def control_tower_rules(workdir: Path) -> tuple[Path, Path]:
    """cfn-guard and the Control Tower rules bundled in ``cdklabs-cdk-validator-cfnguard``.

    Unpacked from the package's jsii tarball into ``workdir``: (binary, rules directory).
    """
    import platform
    import tarfile
    from importlib import resources

    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower()
    )
    # The package ships cfn-guard for Linux ("ubuntu") and macOS, x86_64 and aarch64.
    system = {"linux": "ubuntu", "darwin": "macos"}.get(sys.platform)
    if arch is None or system is None:
        msg = (
            f"cdklabs-cdk-validator-cfnguard ships no cfn-guard for {sys.platform} "
            f"{platform.machine()}: run the gate on Linux or macOS (x86_64 or arm64)"
        )
        raise RuntimeError(msg)
    jsii = resources.files("cdklabs.cdk_validator_cfnguard") / "_jsii"
    (tarball,) = [p for p in jsii.iterdir() if p.name.endswith(".jsii.tgz")]
    binary = f"package/bin/{system}/{arch}/cfn-guard"
    with resources.as_file(tarball) as path, tarfile.open(path) as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.name == binary or m.name.startswith("package/rules/control-tower/cfn-guard/")
        ]
        archive.extractall(workdir, members=members, filter="data")
    executable = workdir / binary
    executable.chmod(0o755)
    return executable, workdir / "package/rules/control-tower/cfn-guard"


def guard_findings(
    guard: tuple[Path, Path], workdir: Path, templates: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """Control Tower rule failures over the templates: (template, rule name, logical ID).

    cfn-guard reports a failing rule per template with the JSON paths it
    checked; each ``/Resources/<id>/...`` path under a failing rule is a
    failing resource. Suppressions are not applied here (the rules do not
    read ``Metadata.guard``): see :func:`unsuppressed`.
    """
    executable, rules = guard
    result = subprocess.run(
        [
            str(executable),
            "validate",
            "--rules",
            str(rules),
            "--data",
            str(workdir),
            "--output-format",
            "json",
            "--show-summary",
            "none",
            "--structured",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit 19 means rules failed; 0 none; anything else: guard itself failed.
    if result.returncode not in (0, 19) or not result.stdout.strip().startswith("["):
        msg = f"cfn-guard did not run (exit {result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    found = set()
    for report in json.loads(result.stdout):
        name = Path(report["name"]).name.removesuffix(".template.json")
        for rule in report.get("not_compliant", []):
            for logical_id in re.findall(r'"/Resources/([^/"\[]+)', json.dumps(rule)):
                if logical_id in templates[name].get("Resources", {}):
                    found.add((name, rule["Rule"]["name"], logical_id))
    return sorted(found)


def guard_suppressions(templates: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """``Metadata.guard`` suppressions: (template, rule, logical ID) -> reason."""
    found = {}
    for name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            entry = resource.get("Metadata", {}).get("guard", {})
            reasons = entry.get("Reasons", {})
            for rule in entry.get("SuppressedRules", []):
                found[(name, rule, logical_id)] = reasons.get(rule, "")
    return found


def checkov_skips(templates: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    """``Metadata.checkov.skip`` entries: (template, check id, logical ID) -> comment."""
    found = {}
    for name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                found[(name, skip["id"], logical_id)] = skip.get("comment", "")
    return found


# --- IAM policy lint: parliament over every policy document -------------------------------------

#: Where each resource type keeps its policy document(s).
POLICY_PROPERTIES = {
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::Role": "Policies",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
}

#: Placeholders for the pseudo parameters: a valid partition, Region and account.
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}

#: The property holding a resource's physical name, when it has one.
NAME_PROPERTIES = {
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CodeBuild::Project": "Name",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::Events::Rule": "Name",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}

# ARN formats: {p} partition, {r} Region, {a} account, {n} physical name, {k} key ID,
# {path} an IAM path. As CloudFormation returns them (a log group's ARN ends in ":*").
_ARNS = {
    "AWS::CloudWatch::Alarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
    "AWS::CodeBuild::Project": "arn:{p}:codebuild:{r}:{a}:project/{n}",
    "AWS::CloudWatch::CompositeAlarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{n}",
    "AWS::Events::Rule": "arn:{p}:events:{r}:{a}:rule/{n}",
    "AWS::IAM::ManagedPolicy": "arn:{p}:iam::{a}:policy{path}{n}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role{path}{n}",
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/{k}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    "AWS::S3::Bucket": "arn:{p}:s3:::{n}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{n}",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{n}",
    "AWS::SageMaker::Endpoint": "arn:{p}:sagemaker:{r}:{a}:endpoint/{n}",
    "AWS::SageMaker::EndpointConfig": "arn:{p}:sagemaker:{r}:{a}:endpoint-config/{n}",
    "AWS::SageMaker::Model": "arn:{p}:sagemaker:{r}:{a}:model/{n}",
    "AWS::StepFunctions::StateMachine": "arn:{p}:states:{r}:{a}:stateMachine:{n}",
}

#: What ``Ref`` returns, by resource type (CloudFormation's documentation of each type).
_REFS = {
    "AWS::CloudWatch::Alarm": "{n}",
    "AWS::CodeBuild::Project": "{n}",
    "AWS::CloudWatch::CompositeAlarm": "{n}",
    "AWS::IAM::ManagedPolicy": _ARNS["AWS::IAM::ManagedPolicy"],
    "AWS::IAM::Role": "{n}",
    "AWS::KMS::Key": "{k}",
    "AWS::Lambda::Function": "{n}",
    "AWS::Logs::LogGroup": "{n}",
    "AWS::S3::Bucket": "{n}",
    "AWS::SNS::Topic": _ARNS["AWS::SNS::Topic"],
    "AWS::SQS::Queue": "https://sqs.{r}.amazonaws.com/{a}/{n}",
    "AWS::SageMaker::Endpoint": _ARNS["AWS::SageMaker::Endpoint"],
    "AWS::SageMaker::EndpointConfig": _ARNS["AWS::SageMaker::EndpointConfig"],
    "AWS::SageMaker::Model": _ARNS["AWS::SageMaker::Model"],
    "AWS::StepFunctions::StateMachine": _ARNS["AWS::StepFunctions::StateMachine"],
}

#: What ``Fn::GetAtt`` returns, by resource type and attribute.
_ATTRIBUTES = {
    ("AWS::CloudWatch::Alarm", "Arn"): _ARNS["AWS::CloudWatch::Alarm"],
    ("AWS::CloudWatch::CompositeAlarm", "Arn"): _ARNS["AWS::CloudWatch::CompositeAlarm"],
    ("AWS::CodeBuild::Project", "Arn"): _ARNS["AWS::CodeBuild::Project"],
    ("AWS::Events::Rule", "Arn"): _ARNS["AWS::Events::Rule"],
    ("AWS::IAM::Role", "Arn"): _ARNS["AWS::IAM::Role"],
    ("AWS::KMS::Key", "Arn"): _ARNS["AWS::KMS::Key"],
    ("AWS::KMS::Key", "KeyId"): "{k}",
    ("AWS::Lambda::Function", "Arn"): _ARNS["AWS::Lambda::Function"],
    ("AWS::Logs::LogGroup", "Arn"): _ARNS["AWS::Logs::LogGroup"],
    ("AWS::S3::Bucket", "Arn"): _ARNS["AWS::S3::Bucket"],
    ("AWS::SNS::Topic", "TopicArn"): _ARNS["AWS::SNS::Topic"],
    ("AWS::SNS::Topic", "TopicName"): "{n}",
    ("AWS::SQS::Queue", "Arn"): _ARNS["AWS::SQS::Queue"],
    ("AWS::SQS::Queue", "QueueName"): "{n}",
    ("AWS::SQS::Queue", "QueueUrl"): _REFS["AWS::SQS::Queue"],
    ("AWS::SageMaker::Endpoint", "EndpointName"): "{n}",
    ("AWS::SageMaker::Model", "ModelName"): "{n}",
    ("AWS::StepFunctions::StateMachine", "Arn"): _ARNS["AWS::StepFunctions::StateMachine"],
    ("AWS::StepFunctions::StateMachine", "Name"): "{n}",
}


class UnresolvedIntrinsicError(ValueError):
    """A value the policy lint cannot stand in for: the gate fails rather than guess."""


class PlaceholderResolver:
    """Replaces intrinsics in one template by realistic values, by the referenced resource's type.

    ``Ref`` and ``Fn::GetAtt`` of a resource give what CloudFormation would
    return for its type (an SNS topic's ``Ref`` is its ARN, a bucket's its
    name); the physical name is the resource's name property when it is set,
    else a generated one; pseudo parameters come from
    :data:`PSEUDO_PARAMETERS`. ``Fn::Join`` and ``Fn::Sub`` are evaluated,
    ``Fn::ImportValue`` is resolved through the exporting template's
    ``Outputs`` (in its own context) when the export is among ``templates``.
    Anything else raises :class:`UnresolvedIntrinsicError` naming the value.
    """

    def __init__(self, templates: dict[str, Any], name: str) -> None:
        self.templates = templates
        self.name = name
        self.resources: dict[str, Any] = templates[name].get("Resources", {})
        self._resolving: set[str] = set()

    def _fail(self, value: Any, why: str) -> UnresolvedIntrinsicError:
        msg = f"{self.name}: cannot stand in for {json.dumps(value)}: {why}"
        return UnresolvedIntrinsicError(msg)

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic replaced."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        functions = [key for key in value if key == "Ref" or key.startswith("Fn::")]
        if not functions:
            return {key: self.resolve(item) for key, item in value.items()}
        if len(value) != 1:
            raise self._fail(value, "an intrinsic function must be the object's only key")
        (function, argument), *_ = value.items()
        return self._function(function, argument, value)

    def _function(self, function: str, argument: Any, value: Any) -> str:
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            if isinstance(argument, str):
                argument = argument.split(".", 1)
            if not (isinstance(argument, list) and len(argument) == 2):
                raise self._fail(value, "Fn::GetAtt takes [logical ID, attribute]")
            logical_id, attribute = argument
            return self.get_att(logical_id, self._string(attribute, value))
        if function == "Fn::Join":
            if not (isinstance(argument, list) and len(argument) == 2):
                raise self._fail(value, "Fn::Join takes [delimiter, [values]]")
            delimiter, items = argument
            items = self.resolve(items)
            if not isinstance(items, list):
                raise self._fail(value, "Fn::Join's values must be a list")
            return self._string(delimiter, value).join(self._string(i, value) for i in items)
        if function == "Fn::Sub":
            return self.sub(argument, value)
        if function == "Fn::ImportValue":
            return self.import_value(self._string(self.resolve(argument), value))
        raise self._fail(value, f"{function} is not supported by the policy lint's resolver")

    def _string(self, item: Any, context: Any) -> str:
        item = self.resolve(item)
        if not isinstance(item, str):
            raise self._fail(context, f"{json.dumps(item)} is not a string")
        return item

    def _resource(self, logical_id: Any, value: Any) -> tuple[str, dict[str, Any]]:
        if not isinstance(logical_id, str) or logical_id not in self.resources:
            raise self._fail(value, f"no resource {logical_id!r} in the template")
        return logical_id, self.resources[logical_id]

    def ref(self, target: Any) -> str:
        """What ``{"Ref": target}`` returns."""
        if target in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[target]
        if target == "AWS::StackName":
            return self.name
        logical_id, resource = self._resource(target, {"Ref": target})
        form = _REFS.get(resource["Type"])
        if form is None:
            raise self._fail({"Ref": target}, f"no placeholder for the Ref of a {resource['Type']}")
        return self._format(form, logical_id, resource)

    def get_att(self, logical_id: str, attribute: str) -> str:
        """What ``{"Fn::GetAtt": [logical_id, attribute]}`` returns."""
        value = {"Fn::GetAtt": [logical_id, attribute]}
        logical_id, resource = self._resource(logical_id, value)
        form = _ATTRIBUTES.get((resource["Type"], attribute))
        if form is None:
            raise self._fail(value, f"no placeholder for {attribute} of a {resource['Type']}")
        return self._format(form, logical_id, resource)

    def sub(self, argument: Any, value: Any) -> str:
        """``Fn::Sub``: ``${Name}``, ``${Id.Attribute}`` and ``${!Literal}`` in a string."""
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text, variables = self._string(argument[0], value), argument[1]
        else:
            raise self._fail(value, "Fn::Sub takes a string or [string, {variables}]")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self._string(variables[name], value)
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}]*)\}", substitute, text)

    def import_value(self, export: str) -> str:
        """``Fn::ImportValue``: the exporting template's output, resolved in that template."""
        for name, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                if "Export" not in output:
                    continue
                exporter = PlaceholderResolver(self.templates, name)
                if exporter.resolve(output["Export"].get("Name")) == export:
                    return exporter._string(output["Value"], output)
        raise self._fail({"Fn::ImportValue": export}, "no template in the set exports it")

    def physical_name(self, logical_id: str, resource: dict[str, Any]) -> str:
        """The resource's name property when set, else a name like CloudFormation's."""
        given = resource.get("Properties", {}).get(NAME_PROPERTIES.get(resource["Type"], ""))
        if given is not None:
            if logical_id in self._resolving:
                raise self._fail(given, f"{logical_id}'s name refers to itself")
            self._resolving.add(logical_id)
            try:
                return self._string(given, given)
            finally:
                self._resolving.discard(logical_id)
        generated = f"{self.name}-{logical_id}-placeholder"
        return generated.lower() if resource["Type"] == "AWS::S3::Bucket" else generated

    def _format(self, form: str, logical_id: str, resource: dict[str, Any]) -> str:
        name = self.physical_name(logical_id, resource)
        if resource["Type"].startswith("AWS::SageMaker::") and form.startswith("arn:"):
            name = name.lower()  # SageMaker's ARNs carry names in lower case
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Events::Rule":
            bus = self._string(properties.get("EventBusName", "default"), resource)
            name = name if bus == "default" else f"{bus.rsplit('/', 1)[-1]}/{name}"
        path = properties.get("Path", "/")
        return form.format(
            p=PSEUDO_PARAMETERS["AWS::Partition"],
            r=PSEUDO_PARAMETERS["AWS::Region"],
            a=PSEUDO_PARAMETERS["AWS::AccountId"],
            n=name,
            k=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.name}/{logical_id}")),
            path=self._string(path, resource),
        )


def policy_documents(templates: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every IAM policy document of the templates, intrinsics replaced by placeholders.

    ``(template, logical ID, where, document)``: identity policies (managed,
    ``AWS::IAM::Policy``, a role's inline ``Policies``) and resource policies
    (key, bucket, topic and queue policies); ``where`` names the property.
    Trust policies are left out: parliament requires a ``Resource`` element.
    """
    found = []
    for name, template in sorted(templates.items()):
        resolver = PlaceholderResolver(templates, name)
        for logical_id, resource in template.get("Resources", {}).items():
            prop = POLICY_PROPERTIES.get(resource.get("Type", ""), "")
            value = resource.get("Properties", {}).get(prop) if prop else None
            if value is None:
                continue
            if prop == "Policies":
                for policy in value:
                    where = f"Policies/{resolver._string(policy['PolicyName'], policy)}"
                    found.append(
                        (name, logical_id, where, resolver.resolve(policy["PolicyDocument"]))
                    )
            else:
                found.append((name, logical_id, prop, resolver.resolve(value)))
    return found


def _string_conditions(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with numbers and booleans in conditions written as strings.

    IAM compares condition values as strings either way (``1.2`` and
    ``"1.2"`` are the same condition); parliament only reads strings.
    """

    def scalar(value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, list):
            return [scalar(v) for v in value]
        return value

    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    copied = []
    for statement in statements:
        condition = statement.get("Condition")
        if isinstance(condition, dict):
            condition = {
                operator: {key: scalar(v) for key, v in block.items()}
                if isinstance(block, dict)
                else block
                for operator, block in condition.items()
            }
            copied.append({**statement, "Condition": condition})
        else:
            copied.append(statement)
    return {**document, "Statement": copied}


# Runs in the scanners' venv: policy documents (JSON on stdin) -> parliament's findings.
_PARLIAMENT = """
import json, sys
from pathlib import Path
import parliament
from parliament import analyze_policy_string, config, enhance_finding, override_config
from parliament.cli import is_finding_filtered
override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")
out = []
for item in json.load(sys.stdin):
    try:
        policy = analyze_policy_string(
            json.dumps(item["document"]), include_community_auditors=True, config=config
        )
        findings = [enhance_finding(f) for f in policy.findings]
    except Exception as error:  # one document parliament cannot read fails alone
        out.append({"index": item["index"], "issue": "EXCEPTION", "detail": repr(error)})
        continue
    for finding in findings:
        if not is_finding_filtered(finding, "LOW"):
            # The community auditors name the actions in the location, not the detail.
            where = {k: sorted(v) for k, v in finding.location.items() if k == "actions"}
            detail = finding.detail or where or None
            out.append({"index": item["index"], "issue": finding.issue, "detail": detail})
json.dump(out, sys.stdout)
"""


def parliament(
    documents: list[tuple[str, str, str, dict[str, Any]]],
) -> list[tuple[str, str, str, str]]:
    """parliament over ``documents`` (see :func:`policy_documents`), with its community auditors.

    Returns sorted, distinct ``(template, logical ID, issue, detail)``; the
    detail is parliament's, as JSON when it is not a string.
    """
    payload = [
        {"index": i, "document": _string_conditions(doc[3])} for i, doc in enumerate(documents)
    ]
    result = subprocess.run(
        [str(_scanner("python")), "-c", _PARLIAMENT],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir()},
    )
    if result.returncode != 0 or not result.stdout.startswith("["):
        msg = f"parliament did not run (exit {result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    found = set()
    for finding in json.loads(result.stdout):
        template, logical_id, _, _ = documents[finding["index"]]
        detail = finding["detail"]
        if not isinstance(detail, str):
            detail = json.dumps(detail, sort_keys=True)
        found.add((template, logical_id, finding["issue"], detail))
    return sorted(found)


#: parliament findings that cannot apply to a kind of resource, whatever it holds: (resource
#: type, issue) -> why. In a key policy ``"Resource": "*"`` is the key the policy is attached
#: to (AWS KMS Developer Guide, "Key policies"): there is nothing narrower to name.
NOT_APPLICABLE = {
    ("AWS::KMS::Key", "RESOURCE_STAR"): "In a key policy, Resource '*' means this KMS key.",
}


def applicable(
    findings: list[tuple[str, str, str, str]], templates: dict[str, Any]
) -> list[tuple[str, str, str, str]]:
    """``findings`` without those :data:`NOT_APPLICABLE` to their resource's type."""
    return [
        f
        for f in findings
        if (templates[f[0]]["Resources"][f[1]]["Type"], f[2]) not in NOT_APPLICABLE
    ]


def parliament_ignores(templates: dict[str, Any]) -> dict[tuple[str, str, str], list[str]]:
    """``Metadata.parliament.Ignore`` entries: (template, logical ID, issue) -> reasons."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for name, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            for entry in resource.get("Metadata", {}).get("parliament", {}).get("Ignore", []):
                found.setdefault((name, logical_id, entry["issue"]), []).append(
                    entry.get("reason", "")
                )
    return found
