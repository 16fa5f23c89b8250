"""parliament, an offline IAM policy linter, over every policy document as a gate.

parliament lints bare policy documents, so :func:`tests.gates.policy_documents`
first replaces each CloudFormation intrinsic by what it would return, by the
referenced resource's type; a value it cannot stand in for fails the gate
rather than being guessed. Each accepted finding is acknowledged on the
resource holding the document (``Metadata.parliament.Ignore``, see
``cdk_sagemaker_hosting.compliance``) with a specific reason, and no
acknowledgement may outlive its finding. The tests below the gate prove the
placeholders realistic: parliament accepts each for an action on that
resource type and flags it for an action on another, so a resolver defect
shows as a finding instead of hiding one.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_sagemaker_hosting import compliance

from tests.gates import (
    NOT_APPLICABLE,
    POLICY_PROPERTIES,
    PSEUDO_PARAMETERS,
    PlaceholderResolver,
    UnresolvedIntrinsicError,
    applicable,
    parliament,
    parliament_ignores,
    policy_documents,
)

#: A reason must say why, for this resource: not "n/a" or "false positive".
MIN_REASON = 60

ACCOUNT = PSEUDO_PARAMETERS["AWS::AccountId"]
REGION = PSEUDO_PARAMETERS["AWS::Region"]


@pytest.fixture(scope="module")
def documents(all_templates: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return policy_documents(all_templates)


@pytest.fixture(scope="module")
def findings(
    documents: list[tuple[str, str, str, dict[str, Any]]],
) -> list[tuple[str, str, str, str]]:
    """parliament over every document, acknowledgements not applied."""
    return parliament(documents)


# --- The gate ---------------------------------------------------------------------------------


def test_every_policy_document_is_linted(
    all_templates: dict[str, Any], documents: list[tuple[str, str, str, dict[str, Any]]]
) -> None:
    """Each policy-bearing resource gives its documents, none left with an intrinsic."""
    expected = {
        (name, logical_id)
        for name, template in all_templates.items()
        for logical_id, resource in template["Resources"].items()
        if POLICY_PROPERTIES.get(resource["Type"]) in resource.get("Properties", {})
    }
    assert {(name, logical_id) for name, logical_id, _, _ in documents} == expected
    assert len(documents) >= 100
    text = repr([document for _, _, _, document in documents])
    assert "'Ref'" not in text
    assert "'Fn::" not in text


def test_no_unacknowledged_iam_lint_findings(
    all_templates: dict[str, Any], findings: list[tuple[str, str, str, str]]
) -> None:
    ignored = parliament_ignores(all_templates)
    open_findings = [f for f in applicable(findings, all_templates) if f[:3] not in ignored]
    assert open_findings == [], "\n".join(map(str, open_findings))


def test_every_iam_lint_acknowledgement_silences_a_real_finding(
    all_templates: dict[str, Any], findings: list[tuple[str, str, str, str]]
) -> None:
    ignored = parliament_ignores(all_templates)
    assert ignored, "expected the acknowledgements of the TLS-only bucket statements"
    stale = sorted(set(ignored) - {f[:3] for f in applicable(findings, all_templates)})
    assert stale == [], f"parliament acknowledgements with no finding behind them: {stale}"


def test_every_iam_lint_acknowledgement_has_a_specific_reason(
    all_templates: dict[str, Any],
) -> None:
    thin = {
        key: reason
        for key, reasons in parliament_ignores(all_templates).items()
        for reason in reasons
        if len(reason) < MIN_REASON
    }
    assert thin == {}, f"reasons too thin (under {MIN_REASON} characters): {thin}"


def test_not_applicable_findings_are_only_dropped_where_they_cannot_apply(
    all_templates: dict[str, Any], findings: list[tuple[str, str, str, str]]
) -> None:
    """Resource '*' on a key policy is the key; on an identity policy it still counts."""
    dropped = set(findings) - set(applicable(findings, all_templates))
    kinds = {(all_templates[t]["Resources"][i]["Type"], issue) for t, i, issue, _ in dropped}
    assert kinds == set(NOT_APPLICABLE)
    policy = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {}},
        }
    }
    found = [
        ("t", "Key", "RESOURCE_STAR", "[]"),
        ("t", "Policy", "RESOURCE_STAR", "[]"),
        ("t", "Key", "RESOURCE_MISMATCH", "[]"),
    ]
    assert applicable(found, {"t": policy}) == found[1:]


# --- The gate is live: deliberately bad policies fail -----------------------------------------


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_the_iam_lint_gate_catches_what_it_must() -> None:
    bucket = f"arn:aws:s3:::bucket-of-{ACCOUNT}"
    documents = [
        # Object actions on the bucket's ARN (no /*) match no object.
        ("bad", "ObjectsOnBucket", "PolicyDocument", _document(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": bucket}
        )),
        ("bad", "Star", "PolicyDocument", _document(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        )),
        ("bad", "Typo", "PolicyDocument", _document(
            {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": f"{bucket}/*"}
        )),
        ("bad", "WrongKey", "PolicyDocument", _document(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket}/*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
            }
        )),
        ("bad", "Escalation", "PolicyDocument", _document(
            {"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction",
                                           "lambda:InvokeFunction"], "Resource": "*"}
        )),
        ("bad", "Principal", "PolicyDocument", _document(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "not-an-account"},
                "Action": "s3:GetObject",
                "Resource": f"{bucket}/*",
            }
        )),
        ("good", "Objects", "PolicyDocument", _document(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket}/*"}
        )),
    ]  # fmt: skip
    found = {(logical_id, issue) for _, logical_id, issue, _ in parliament(documents)}
    assert {
        ("ObjectsOnBucket", "RESOURCE_MISMATCH"),
        ("Star", "RESOURCE_STAR"),
        ("Typo", "UNKNOWN_ACTION"),
        ("WrongKey", "UNKNOWN_CONDITION_FOR_ACTION"),
        ("Escalation", "PRIVILEGE_ESCALATION"),
        ("Principal", "UNKNOWN_PRINCIPAL"),
    } <= found
    assert not {f for f in found if f[0] == "Objects"}


def test_a_document_parliament_cannot_read_fails_alone() -> None:
    """A crash inside parliament is a finding (EXCEPTION) of that document, not a pass."""
    documents = [
        ("t", "Crash", "PolicyDocument", _document(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": 42}
        )),
        ("t", "Fine", "PolicyDocument", _document(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
        )),
    ]  # fmt: skip
    found = parliament(documents)
    assert {logical_id for _, logical_id, _, _ in found} == {"Crash"}


def test_numeric_conditions_are_linted_as_iam_reads_them() -> None:
    """IAM compares 1.2 and "1.2" alike; parliament must not crash on the number."""
    statement = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
    }
    found = parliament([("t", "Tls", "PolicyDocument", _document(statement))])
    assert "EXCEPTION" not in {issue for _, _, issue, _ in found}


# --- The resolver: each intrinsic form, by the referenced resource's type ---------------------

RESOURCES: dict[str, Any] = {
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
    "NamedBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "my-bucket"}},
    "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
    "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/aws/x"}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alarms"}},
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "dlq"}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "Path": "/svc/"}},
    "Function": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "f"}},
    "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "nightly"}},
    "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "high"}},
    "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {}},
    "Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": {"EndpointName": "Fraud"}},
    "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {}},
}


@pytest.fixture
def resolver() -> PlaceholderResolver:
    exporter = {
        "Resources": {"Shared": {"Type": "AWS::S3::Bucket", "Properties": {}}},
        "Outputs": {
            "SharedArn": {
                "Value": {"Fn::GetAtt": ["Shared", "Arn"]},
                "Export": {"Name": "exporter:SharedArn"},
            },
            "NotExported": {"Value": "x"},
        },
    }
    templates = {"stack": {"Resources": RESOURCES}, "exporter": exporter}
    return PlaceholderResolver(templates, "stack")


def _key_id(resolver: PlaceholderResolver) -> str:
    return resolver.resolve({"Ref": "Key"})  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::Region"}, REGION),
        ({"Ref": "AWS::AccountId"}, ACCOUNT),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "AWS::StackName"}, "stack"),
        # Ref, by type: a name, an ARN, a URL, a key ID.
        ({"Ref": "NamedBucket"}, "my-bucket"),
        ({"Ref": "Bucket"}, "stack-bucket-placeholder"),
        ({"Ref": "Topic"}, f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"),
        ({"Ref": "Queue"}, f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dlq"),
        ({"Ref": "Logs"}, "/aws/x"),
        ({"Ref": "Role"}, "r"),
        ({"Ref": "Function"}, "f"),
        ({"Ref": "Alarm"}, "high"),
        ({"Ref": "Endpoint"}, f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/fraud"),
        (
            {"Ref": "Machine"},
            f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:stack-Machine-placeholder",
        ),
        # Fn::GetAtt, by type and attribute, in both spellings.
        ({"Fn::GetAtt": ["NamedBucket", "Arn"]}, "arn:aws:s3:::my-bucket"),
        ({"Fn::GetAtt": "NamedBucket.Arn"}, "arn:aws:s3:::my-bucket"),
        ({"Fn::GetAtt": ["Logs", "Arn"]}, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/x:*"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"),
        ({"Fn::GetAtt": ["Topic", "TopicArn"]}, f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"),
        ({"Fn::GetAtt": ["Role", "Arn"]}, f"arn:aws:iam::{ACCOUNT}:role/svc/r"),
        ({"Fn::GetAtt": ["Function", "Arn"]}, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"),
        ({"Fn::GetAtt": ["Rule", "Arn"]}, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"),
        ({"Fn::GetAtt": ["Alarm", "Arn"]}, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:high"),
        ({"Fn::GetAtt": ["Endpoint", "EndpointName"]}, "Fraud"),
        # Fn::Join, nested, around other intrinsics.
        (
            {"Fn::Join": ["", [{"Fn::GetAtt": ["NamedBucket", "Arn"]}, "/data/*"]]},
            "arn:aws:s3:::my-bucket/data/*",
        ),
        (
            {
                "Fn::Join": [
                    ":",
                    ["arn", {"Ref": "AWS::Partition"}, {"Fn::Join": ["-", ["a", "b"]]}],
                ]
            },
            "arn:aws:a-b",
        ),
        # Fn::Sub: pseudo parameters, resources, attributes, variables, literals.
        (
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::${NamedBucket}/${!aws:username}"},
            "arn:aws:s3:::my-bucket/${aws:username}",
        ),
        ({"Fn::Sub": "${Logs.Arn}"}, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/x:*"),
        (
            {"Fn::Sub": ["${Arn}/*", {"Arn": {"Fn::GetAtt": ["NamedBucket", "Arn"]}}]},
            "arn:aws:s3:::my-bucket/*",
        ),
        # Fn::ImportValue: the exporter's output, resolved in the exporter.
        ({"Fn::ImportValue": "exporter:SharedArn"}, "arn:aws:s3:::exporter-shared-placeholder"),
        (
            {"Fn::ImportValue": {"Fn::Join": [":", ["exporter", "SharedArn"]]}},
            "arn:aws:s3:::exporter-shared-placeholder",
        ),
        # Plain values and structures pass through, resolved inside.
        ({"Effect": "Allow", "Resource": [{"Ref": "Topic"}, "*"]}, None),
    ],
)
def test_the_resolver_stands_in_for_each_intrinsic(
    resolver: PlaceholderResolver, value: Any, expected: Any
) -> None:
    if expected is None:
        expected = {
            "Effect": "Allow",
            "Resource": [f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms", "*"],
        }
    assert resolver.resolve(value) == expected


def test_the_resolver_gives_a_key_its_id_and_arn(resolver: PlaceholderResolver) -> None:
    key_id = _key_id(resolver)
    assert len(key_id) == 36
    assert resolver.resolve({"Fn::GetAtt": ["Key", "KeyId"]}) == key_id
    assert resolver.resolve({"Fn::GetAtt": ["Key", "Arn"]}) == (
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::Select": [0, ["a"]]}, "Fn::Select is not supported"),
        ({"Fn::If": ["C", "a", "b"]}, "Fn::If is not supported"),
        ({"Ref": "Missing"}, "no resource 'Missing'"),
        ({"Ref": "BootstrapVersion"}, "no resource 'BootstrapVersion'"),
        ({"Ref": "Stream"}, "no placeholder for the Ref of a AWS::Kinesis::Stream"),
        ({"Fn::GetAtt": ["Bucket", "DomainName"]}, "no placeholder for DomainName"),
        ({"Fn::GetAtt": ["Bucket"]}, "Fn::GetAtt takes"),
        ({"Fn::Join": ["", {"Ref": "Bucket"}]}, "Fn::Join's values must be a list"),
        ({"Fn::Join": ["", [{"Fn::GetAZs": ""}]]}, "Fn::GetAZs is not supported"),
        ({"Fn::Sub": "${Missing}"}, "no resource 'Missing'"),
        ({"Fn::Sub": 3}, "Fn::Sub takes"),
        ({"Fn::ImportValue": "nobody:exports-this"}, "no template in the set exports it"),
        ({"Ref": "Bucket", "Extra": 1}, "the object's only key"),
    ],
)
def test_the_resolver_refuses_what_it_cannot_stand_in_for(
    resolver: PlaceholderResolver, value: Any, message: str
) -> None:
    with pytest.raises(UnresolvedIntrinsicError, match=f"^stack: .*{message}"):
        resolver.resolve(value)


def test_a_name_that_refers_to_itself_is_refused() -> None:
    looped = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Loop"}}}
    resolver = PlaceholderResolver({"s": {"Resources": {"Loop": looped}}}, "s")
    with pytest.raises(UnresolvedIntrinsicError, match="refers to itself"):
        resolver.resolve({"Ref": "Loop"})


# Each placeholder ARN against parliament: accepted for an action on its type, flagged for an
# action on another type. A placeholder of the wrong shape would hide RESOURCE_MISMATCH.
# (EventBridge rules are left out: parliament's definitions require no resource type for
# their actions, so it matches nothing against a rule's ARN.)
PLACEHOLDER_CASES = [
    ({"Fn::GetAtt": ["NamedBucket", "Arn"]}, "s3:ListBucket", "s3:GetObject"),
    (
        {"Fn::Join": ["", [{"Fn::GetAtt": ["NamedBucket", "Arn"]}, "/*"]]},
        "s3:GetObject",
        "s3:ListBucket",
    ),
    ({"Fn::GetAtt": ["Key", "Arn"]}, "kms:Decrypt", "s3:GetObject"),
    ({"Fn::GetAtt": ["Logs", "Arn"]}, "logs:PutLogEvents", "kms:Decrypt"),
    ({"Ref": "Topic"}, "sns:Publish", "sqs:SendMessage"),
    ({"Fn::GetAtt": ["Queue", "Arn"]}, "sqs:SendMessage", "sns:Publish"),
    ({"Fn::GetAtt": ["Role", "Arn"]}, "iam:PassRole", "lambda:InvokeFunction"),
    ({"Fn::GetAtt": ["Function", "Arn"]}, "lambda:InvokeFunction", "iam:PassRole"),
    ({"Fn::GetAtt": ["Alarm", "Arn"]}, "cloudwatch:DescribeAlarmHistory", "sns:Publish"),
    ({"Ref": "Machine"}, "states:StartExecution", "sqs:SendMessage"),
    ({"Ref": "Endpoint"}, "sagemaker:InvokeEndpoint", "states:StartExecution"),
    ({"Fn::ImportValue": "exporter:SharedArn"}, "s3:ListBucket", "s3:GetObject"),
]


def test_placeholders_are_arns_parliament_matches_by_type(resolver: PlaceholderResolver) -> None:
    documents = []
    for i, (value, good, bad) in enumerate(PLACEHOLDER_CASES):
        resource = resolver.resolve(value)
        for fit, action in (("good", good), ("bad", bad)):
            statement = {"Effect": "Allow", "Action": action, "Resource": resource}
            documents.append(("t", f"{fit}{i}", "PolicyDocument", _document(statement)))
    found = {(logical_id, issue) for _, logical_id, issue, _ in parliament(documents)}
    mismatched = {f"bad{i}" for i in range(len(PLACEHOLDER_CASES))}
    assert {(b, "RESOURCE_MISMATCH") for b in mismatched} <= found
    resource_issues = {"RESOURCE_MISMATCH", "INVALID_ARN", "RESOURCE_EFFECTIVELY_STAR"}
    assert {f for f in found if f[0] not in mismatched and f[1] in resource_issues} == set()


# --- Acknowledging in the template ------------------------------------------------------------


def test_acknowledge_writes_parliament_ignore_entries() -> None:
    stack = cdk.Stack(cdk.App(), "S")
    policy = iam.ManagedPolicy(
        stack,
        "Policy",
        statements=[iam.PolicyStatement(actions=["s3:ListAllMyBuckets"], resources=["*"])],
    )
    first = "The first grant's reason, long enough to say why this finding is accepted here."
    second = "The second grant's reason, for the same finding type on the same document."
    compliance.acknowledge(policy, first, parliament=["RESOURCE_STAR", "RESOURCE_STAR"])
    compliance.acknowledge(policy, first, parliament=["RESOURCE_STAR"])
    compliance.acknowledge_in_template(policy, second, parliament=["RESOURCE_STAR"])
    bucket = s3.CfnBucket(stack, "Bucket")
    compliance.acknowledge_in_template(bucket, first, checkov=["CKV_AWS_18"])
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (logical_id,) = [k for k, r in template["Resources"].items() if "Policy" in k]
    assert template["Resources"][logical_id]["Metadata"]["parliament"] == {
        "Ignore": [
            {"issue": "RESOURCE_STAR", "reason": first},
            {"issue": "RESOURCE_STAR", "reason": second},
        ]
    }
    assert "parliament" not in template["Resources"]["Bucket"]["Metadata"]
    assert parliament_ignores({"S": template}) == {
        ("S", logical_id, "RESOURCE_STAR"): [first, second]
    }
