"""EndpointApi: the API, who may call, protection, operations, synth-time checks, gates."""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import (
    ComponentVariant,
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    EndpointMonitoring,
    InstanceVariant,
    ManagedInstanceScaling,
    Model,
    ModelData,
    ValidationError,
    VariantAttributes,
)
from cdk_sagemaker_hosting.https_front import (
    API_GATEWAY_PAYLOAD_BYTES,
    ERROR_STATUS,
    SAGEMAKER_REALTIME_PAYLOAD_BYTES,
    SAGEMAKER_SERVERLESS_PAYLOAD_BYTES,
    SECURITY_HEADERS,
    WAF_RATE_LIMIT_RANGE,
    WAF_REGEX_MAX_LENGTH,
    ApiAlarmThresholds,
    ApiAuthorization,
    ApiDomain,
    ApiFirewall,
    ApiThrottle,
    EndpointApi,
    PartnerPlan,
    greater_than_pattern,
)

from tests.conftest import new_app
from tests.gates import PACKS, cfn_lint, checkov, nag_findings, write_templates
from tests.snapshots import construct_snapshot, json_snapshot

US_EAST = cdk.Environment(account="111111111111", region="us-east-1")
CERT = "arn:aws:acm:us-east-1:111111111111:certificate/0b7a8a3c-7d55-4b8a-9d5e-3f1a2b3c4d5e"
VARIANTS = [
    VariantAttributes(variant_name="Blue", instance_type="ml.m5.large"),
    VariantAttributes(variant_name="Green", instance_type="ml.m5.large"),
    VariantAttributes(variant_name="Shadow", instance_type="ml.m5.large", shadow=True),
]


def front_stack(
    variants: list[VariantAttributes] | None = None, **props: Any
) -> tuple[cdk.Stack, EndpointApi]:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    endpoint = Endpoint.from_endpoint_attributes(
        stack, "Fraud", endpoint_name="fraud", variants=VARIANTS if variants is None else variants
    )
    return stack, EndpointApi(stack, "Api", endpoint=endpoint, **props)


def resources(template: Template, kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template.find_resources(kind).values()]


def method_at(template: Template, path_part: str) -> dict[str, Any]:
    found = {
        r["Properties"]["ResourceId"]["Ref"]: r["Properties"]
        for r in template.find_resources("AWS::ApiGateway::Method").values()
        if r["Properties"]["HttpMethod"] == "POST"
    }
    ids = [
        logical
        for logical, r in template.find_resources("AWS::ApiGateway::Resource").items()
        if r["Properties"]["PathPart"] == path_part
    ]
    (method,) = [found[i] for i in ids if i in found]
    return method


@pytest.fixture(scope="module")
def default_front() -> tuple[cdk.Stack, EndpointApi, Template]:
    stack, api = front_stack(variant_methods=["Green"])
    return stack, api, Template.from_stack(stack)


# --- 1. the API -----------------------------------------------------------------------


def test_a_regional_api_posts_to_the_endpoint_with_iam(default_front: Any) -> None:
    _, api, template = default_front
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"EndpointConfiguration": {"Types": ["REGIONAL"]}, "DisableExecuteApiEndpoint": False},
    )
    method = method_at(template, "invocations")
    assert method["AuthorizationType"] == "AWS_IAM"
    integration = method["Integration"]
    assert integration["Type"] == "AWS" and integration["IntegrationHttpMethod"] == "POST"
    assert ":runtime.sagemaker:path/endpoints/fraud/invocations" in json.dumps(integration["Uri"])
    # Text types only: API Gateway answers 415 to any other content type itself.
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["RequestTemplates"] == {
        "application/json": "$input.body",
        "text/csv": "$input.body",
    }
    assert integration["RequestParameters"] == {
        "integration.request.header.Content-Type": "method.request.header.Content-Type",
        "integration.request.header.Accept": "method.request.header.Accept",
    }
    assert method["RequestParameters"] == {
        "method.request.header.Content-Type": True,
        "method.request.header.Accept": False,
    }
    assert api.invoke_url().endswith("invocations")


def test_two_fronts_in_one_stack_have_their_own_api_names_and_alarm_dimensions() -> None:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    for name in ("fraud", "churn"):
        endpoint = Endpoint.from_endpoint_attributes(stack, name, endpoint_name=name)
        EndpointApi(stack, f"{name}-api", endpoint=endpoint, dashboard=False)
    template = Template.from_stack(stack)
    names = [a["Name"] for a in resources(template, "AWS::ApiGateway::RestApi")]
    assert len(set(names)) == 2 and "Api" not in names
    assert all(isinstance(n, str) and 0 < len(n) <= 128 for n in names)
    by_endpoint: dict[str, set[str]] = {}
    for alarm in resources(template, "AWS::CloudWatch::Alarm"):
        # A math alarm's metrics, or the alarm's own metric.
        metrics = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
        for metric in metrics or [alarm]:
            (api_name,) = [d["Value"] for d in metric["Dimensions"] if d["Name"] == "ApiName"]
            endpoint_name = alarm["AlarmDescription"].split("API in front of ")[1].rstrip(")")
            by_endpoint.setdefault(endpoint_name, set()).add(api_name)
    # Each front's alarms watch its own API, by that API's name.
    (fraud,) = by_endpoint["fraud"]
    (churn,) = by_endpoint["churn"]
    assert {fraud, churn} == set(names) and fraud != churn


def test_requests_are_validated_and_json_must_be_json(default_front: Any) -> None:
    _, _, template = default_front
    template.has_resource_properties(
        "AWS::ApiGateway::RequestValidator",
        {"ValidateRequestBody": True, "ValidateRequestParameters": True},
    )
    template.has_resource_properties(
        "AWS::ApiGateway::Model",
        {
            "ContentType": "application/json",
            "Schema": Match.object_like({"type": ["object", "array"]}),
        },
    )
    method = method_at(template, "invocations")
    assert "RequestValidatorId" in method
    assert list(method["RequestModels"]) == ["application/json"]


def test_a_variant_method_targets_its_variant(default_front: Any) -> None:
    _, api, template = default_front
    integration = method_at(template, "Green")["Integration"]
    assert (
        integration["RequestParameters"][
            "integration.request.header.X-Amzn-SageMaker-Target-Variant"
        ]
        == "'Green'"
    )
    assert api.invoke_url("Green").endswith("invocations/variants/Green")


def test_sagemaker_status_codes_keep_their_meaning(default_front: Any) -> None:
    _, _, template = default_front
    responses = method_at(template, "invocations")["Integration"]["IntegrationResponses"]
    by_pattern = {r.get("SelectionPattern"): r["StatusCode"] for r in responses}
    assert by_pattern == {
        r"2\d{2}": "200",
        "400": "400",
        "403|404": "500",
        "413": "413",
        "415": "415",
        "424": "424",  # a model error is never a 200
        "429": "429",
        "500": "502",
        "503": "503",
        None: "502",  # the default: anything unexpected
    }
    errors = [r for r in responses if r["StatusCode"] != "200"]
    # SageMaker's own messages name the account and log group: never passed through.
    assert all("$context.requestId" in r["ResponseTemplates"]["application/json"] for r in errors)
    assert all("$input" not in json.dumps(r["ResponseTemplates"]) for r in errors)
    success = next(r for r in responses if r["StatusCode"] == "200")
    assert success["ResponseParameters"]["method.response.header.X-Invoked-Variant"] == (
        "integration.response.header.X-Amzn-Invoked-Production-Variant"
    )
    for response in responses:
        assert response["ResponseParameters"]["method.response.header.X-Content-Type-Options"] == (
            "'nosniff'"
        )


def test_binary_payloads_pass_through_as_bytes() -> None:
    stack, _ = front_stack(
        content_types=["application/json"], binary_content_types=["application/x-image"]
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"BinaryMediaTypes": ["application/x-image"]}
    )
    integration = method_at(template, "invocations")["Integration"]
    assert integration["PassthroughBehavior"] == "WHEN_NO_MATCH"
    assert "RequestTemplates" not in integration
    # ...so the firewall holds the content-type rule for every type.
    (acl,) = resources(template, "AWS::WAFv2::WebACL")
    rule = next(r for r in acl["Rules"] if r["Name"] == "UnsupportedContentType")
    searched = json.dumps(rule["Statement"])
    assert "application/x-image" in searched and "application/json" in searched


def test_the_integration_role_may_invoke_this_endpoint_only(default_front: Any) -> None:
    _, _, template = default_front
    (policy,) = resources(template, "AWS::IAM::ManagedPolicy")
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "sagemaker:InvokeEndpoint",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":sagemaker:us-east-1:111111111111:endpoint/fraud",
                    ],
                ]
            },
        }
    ]
    # SagemakerIntegration's own wider grant (async, streaming) is not added.
    assert resources(template, "AWS::IAM::Policy") == []
    (role,) = resources(template, "AWS::IAM::Role")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    # API Gateway sets no aws:SourceAccount when it assumes an integration role.
    assert "Condition" not in trust


# --- 2. who may call --------------------------------------------------------------------


def test_grant_invoke_names_the_post_methods() -> None:
    stack, api = front_stack(variant_methods=["Blue"])
    role = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    grant = api.grant_invoke(role)
    assert isinstance(grant, iam.Grant) and grant.success
    (policy,) = resources(Template.from_stack(stack), "AWS::IAM::Policy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    text = json.dumps(statement["Resource"])
    assert "/prod/POST/invocations" in text and "/prod/POST/invocations/variants/Blue" in text


def test_cognito_user_pools_authorise() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Front", env=US_EAST)
    pool = cognito.UserPool(stack, "Pool")
    endpoint = Endpoint.from_endpoint_attributes(stack, "Fraud", endpoint_name="fraud")
    EndpointApi(
        stack,
        "Api",
        endpoint=endpoint,
        authorization=ApiAuthorization.cognito([pool], scopes=["fraud/score"]),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::ApiGateway::Authorizer", {"Type": "COGNITO_USER_POOLS"})
    method = method_at(template, "invocations")
    assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
    assert method["AuthorizationScopes"] == ["fraud/score"]


def test_a_lambda_authoriser_checks_tokens_of_another_idp() -> None:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    function = lambda_.Function(
        stack,
        "JwtCheck",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
    )
    endpoint = Endpoint.from_endpoint_attributes(stack, "Fraud", endpoint_name="fraud")
    EndpointApi(
        stack,
        "Api",
        endpoint=endpoint,
        authorization=ApiAuthorization.lambda_authorizer(
            apigateway.TokenAuthorizer(stack, "Jwt", handler=function)
        ),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::ApiGateway::Authorizer", {"Type": "TOKEN"})
    assert method_at(template, "invocations")["AuthorizationType"] == "CUSTOM"


def test_anonymous_access_needs_a_reason_and_warns() -> None:
    stack, _ = front_stack(
        authorization=ApiAuthorization.anonymous("public demo model, no personal data")
    )
    assert method_at(Template.from_stack(stack), "invocations")["AuthorizationType"] == "NONE"
    Annotations.from_stack(stack).has_warning(
        "/Front/Api", Match.string_like_regexp("takes anonymous requests.*public demo model")
    )


def test_an_anonymous_front_passes_checkov_with_its_opt_out_acknowledged(tmp_path: Path) -> None:
    stack, _ = front_stack(
        authorization=ApiAuthorization.anonymous("public demo model, no personal data"),
        variant_methods=["Blue"],
    )
    template = Template.from_stack(stack).to_json()
    found = checkov(write_templates({"Front": template}, tmp_path))
    assert found["failed"] == [], "\n".join(map(str, found["failed"]))
    # The open methods are the opt-out, acknowledged with its reason on each POST method.
    skipped = {check for _, check, _ in found["skipped"]}
    assert "CKV_AWS_59" in skipped
    reasons = [
        skip["comment"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Method"
        for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", [])
        if skip["id"] == "CKV_AWS_59"
    ]
    assert len(reasons) == 2 and all("public demo model" in r for r in reasons)


def test_partners_call_with_api_keys_of_usage_plans() -> None:
    stack, api = front_stack(
        usage_plans=[
            PartnerPlan(
                name="acme",
                throttle=ApiThrottle(rate_limit=10, burst_limit=20),
                quota_per_day=100_000,
            )
        ]
    )
    template = Template.from_stack(stack)
    assert method_at(template, "invocations")["ApiKeyRequired"] is True
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "UsagePlanName": "acme",
            "Throttle": {"RateLimit": 10, "BurstLimit": 20},
            "Quota": {"Limit": 100_000, "Period": "DAY"},
        },
    )
    # Keys are the partners' own: none, and so no key value, is in the template.
    assert resources(template, "AWS::ApiGateway::ApiKey") == []
    assert set(api.usage_plans) == {"acme"}


VPCE_ID = "vpce-0123456789abcdef0"
NOT_FROM_VPCE = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "execute-api:Invoke",
    "Resource": "execute-api:/*",
    "Condition": {"StringNotEquals": {"aws:SourceVpce": [VPCE_ID]}},
}


def private_front(
    authorization: Callable[[cdk.Stack], ApiAuthorization] | None = None, **props: Any
) -> dict[str, Any]:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    if authorization is not None:
        props["authorization"] = authorization(stack)
    vpce = ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
        stack, "Vpce", vpc_endpoint_id=VPCE_ID, port=443
    )
    endpoint = Endpoint.from_endpoint_attributes(stack, "Fraud", endpoint_name="fraud")
    EndpointApi(stack, "Api", endpoint=endpoint, vpc_endpoints=[vpce], **props)
    (api,) = resources(Template.from_stack(stack), "AWS::ApiGateway::RestApi")
    return api


def test_a_private_api_with_iam_answers_only_through_its_vpc_endpoints_and_allows_nobody() -> None:
    api = private_front()
    assert api["EndpointConfiguration"] == {"Types": ["PRIVATE"], "VpcEndpointIds": [VPCE_ID]}
    # No Allow for "*": with IAM authorisation it would let any principal of the account
    # call without execute-api:Invoke (either policy may allow a same-account call).
    assert api["Policy"]["Statement"] == [NOT_FROM_VPCE]


def test_a_private_api_with_iam_allows_the_other_accounts_given_by_name() -> None:
    api = private_front(allowed_accounts=["222222222222", "333333333333"])
    deny, allow = api["Policy"]["Statement"]
    assert deny == NOT_FROM_VPCE
    assert allow["Effect"] == "Allow" and "Condition" not in allow
    principals = json.dumps(allow["Principal"])
    assert ":iam::222222222222:root" in principals and ":iam::333333333333:root" in principals
    assert '"*"' not in principals


def test_a_regional_api_with_iam_allows_other_accounts_in_a_policy_of_its_own() -> None:
    stack, _ = front_stack(allowed_accounts=["222222222222"])
    (api,) = resources(Template.from_stack(stack), "AWS::ApiGateway::RestApi")
    (allow,) = api["Policy"]["Statement"]
    assert allow["Effect"] == "Allow" and ":iam::222222222222:root" in json.dumps(allow)
    stack, _ = front_stack()
    (api,) = resources(Template.from_stack(stack), "AWS::ApiGateway::RestApi")
    assert "Policy" not in api


@pytest.mark.parametrize(
    "authorization",
    [
        lambda s: ApiAuthorization.anonymous("a public demo model, no personal data"),
        lambda s: ApiAuthorization.cognito([cognito.UserPool(s, "Pool")]),
    ],
    ids=["anonymous", "cognito"],
)
def test_a_private_api_with_another_authoriser_lets_the_vpc_endpoints_reach_it(
    authorization: Callable[[cdk.Stack], ApiAuthorization],
) -> None:
    api = private_front(authorization)
    assert api["Policy"]["Statement"] == [
        NOT_FROM_VPCE,
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": [VPCE_ID]}},
        },
    ]


# --- 3. protection ----------------------------------------------------------------------


def test_the_stage_throttles_and_a_method_can_throttle_tighter() -> None:
    stack, _ = front_stack(
        throttle=ApiThrottle(rate_limit=50, burst_limit=100),
        method_throttles={"invocations": ApiThrottle(rate_limit=5, burst_limit=10)},
    )
    (stage,) = resources(Template.from_stack(stack), "AWS::ApiGateway::Stage")
    settings = {s["ResourcePath"]: s for s in stage["MethodSettings"]}
    assert settings["/*"]["ThrottlingRateLimit"] == 50
    assert settings["/*"]["ThrottlingBurstLimit"] == 100
    assert settings["/~1invocations"]["ThrottlingRateLimit"] == 5
    assert settings["/~1invocations"]["HttpMethod"] == "POST"


def test_the_firewall_rules(default_front: Any) -> None:
    _, api, template = default_front
    (acl,) = resources(template, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    names = [r["Name"] for r in sorted(acl["Rules"], key=lambda r: r["Priority"])]
    assert names == [
        "LengthRequired",
        "PayloadTooLarge",
        "UnsupportedContentType",
        "RatePerClientIp",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    ]
    rules = {r["Name"]: r for r in acl["Rules"]}
    codes = {
        name: rule["Action"]["Block"]["CustomResponse"]
        for name, rule in rules.items()
        if "CustomResponse" in rule.get("Action", {}).get("Block", {})
    }
    assert {n: c["ResponseCode"] for n, c in codes.items()} == {
        "LengthRequired": 411,
        "PayloadTooLarge": 413,
        "UnsupportedContentType": 415,
    }
    # Codes AWS WAF takes in custom responses (WAF Developer Guide, "Supported status
    # codes for custom responses"), each with a body of the web ACL.
    assert {c["ResponseCode"] for c in codes.values()} <= WAF_CUSTOM_4XX
    assert {c["CustomResponseBodyKey"] for c in codes.values()} == set(acl["CustomResponseBodies"])
    assert rules["PayloadTooLarge"]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 413
    assert (
        rules["UnsupportedContentType"]["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 415
    )
    assert rules["RatePerClientIp"]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": 2000,
    }
    regex = rules["PayloadTooLarge"]["Statement"]["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    assert regex["RegexString"] == greater_than_pattern(SAGEMAKER_REALTIME_PAYLOAD_BYTES)
    # The core rule set's 8 KB body rule would refuse ordinary inference bodies: it counts.
    crs = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert crs["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    ]
    template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation", {"ResourceArn": Match.any_value()}
    )
    (logging,) = resources(template, "AWS::WAFv2::LoggingConfiguration")
    assert {f["SingleHeader"]["Name"] for f in logging["RedactedFields"]} == {
        "authorization",
        "x-api-key",
        "x-amz-security-token",
    }
    assert api.firewall is not None


#: AWS WAF's 4XX codes for custom responses (WAF Developer Guide).
WAF_CUSTOM_4XX = {400, 401, 403, 404, 405, 408, 409, 411, 412, 413, 414, 415, 416, 421, 429}


def matches(statement: dict[str, Any], request: dict[str, str]) -> bool:
    """Whether an AWS WAF statement of the front's rules matches ``request``
    (``method`` and lower-case header names); only what those rules use."""
    (kind, body), *_ = statement.items()
    if kind in ("AndStatement", "OrStatement"):
        results = [matches(s, request) for s in body["Statements"]]
        return all(results) if kind == "AndStatement" else any(results)
    if kind == "NotStatement":
        return not matches(body["Statement"], request)
    field = body["FieldToMatch"]
    value = (
        request.get("method") if "Method" in field else request.get(field["SingleHeader"]["Name"])
    )
    if value is None:  # a missing header matches nothing
        return False
    for step in sorted(body["TextTransformations"], key=lambda t: t["Priority"]):
        value = {
            "NONE": value,
            "LOWERCASE": value.lower(),
            "REMOVE_WHITESPACE": re.sub(r"\s", "", value),
        }[step["Type"]]
    if kind == "RegexMatchStatement":
        assert "(" not in body["RegexString"].replace("(?:", ""), "capturing group"
        return re.search(body["RegexString"], value) is not None
    assert kind == "ByteMatchStatement"
    search, where = body["SearchString"], body["PositionalConstraint"]
    return value == search if where == "EXACTLY" else value.startswith(search)


def test_the_firewall_answers_411_413_and_415_as_it_should(default_front: Any) -> None:
    _, _, template = default_front
    (acl,) = resources(template, "AWS::WAFv2::WebACL")
    rules = sorted(acl["Rules"], key=lambda r: r["Priority"])

    def answer(**request: str) -> int:
        for rule in rules:
            if "ManagedRuleGroupStatement" in rule["Statement"]:
                continue
            if "RateBasedStatement" not in rule["Statement"] and matches(
                rule["Statement"], request
            ):
                return int(rule["Action"]["Block"]["CustomResponse"]["ResponseCode"])
        return 200

    ok = {"method": "POST", "content-length": "120"}
    assert answer(**ok, **{"content-type": "application/json"}) == 200
    assert answer(**ok, **{"content-type": "Application/JSON; charset=utf-8"}) == 200
    assert answer(**ok, **{"content-type": "text/csv ;charset=utf-8"}) == 200
    assert answer(**ok, **{"content-type": "application/jsonx"}) == 415
    assert answer(**ok, **{"content-type": "text/csvx;charset=utf-8"}) == 415
    assert answer(**ok, **{"content-type": "application/xml"}) == 415
    assert answer(**ok) == 415
    json_post = {"method": "POST", "content-type": "application/json"}
    assert answer(**json_post) == 411
    assert answer(**json_post, **{"content-length": "12a"}) == 411
    assert answer(**json_post, **{"content-length": ""}) == 411
    assert answer(**json_post, **{"content-length": "6291456"}) == 200
    assert answer(**json_post, **{"content-length": "6291457"}) == 413
    # Other methods are API Gateway's to refuse (no method): no 411 or 415 here.
    assert answer(method="GET") == 200


def test_without_a_firewall_a_warning_names_what_is_lost() -> None:
    stack, api = front_stack(firewall=None)
    assert api.firewall is None
    assert resources(Template.from_stack(stack), "AWS::WAFv2::WebACL") == []
    Annotations.from_stack(stack).has_warning(
        "/Front/Api", Match.string_like_regexp("firewall=None: no AWS WAF web ACL")
    )


def test_a_custom_domain_has_tls_1_2_and_turns_off_the_default_url() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Front", env=US_EAST)
    endpoint = Endpoint.from_endpoint_attributes(stack, "Fraud", endpoint_name="fraud")
    api = EndpointApi(
        stack,
        "Api",
        endpoint=endpoint,
        domain=ApiDomain(
            domain_name="fraud.api.example.com",
            certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERT),
            base_path="v1",
        ),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": "fraud.api.example.com",
            "SecurityPolicy": "TLS_1_2",
            "RegionalCertificateArn": CERT,
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
        },
    )
    template.has_resource_properties("AWS::ApiGateway::BasePathMapping", {"BasePath": "v1"})
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"DisableExecuteApiEndpoint": True}
    )
    assert api.invoke_url() == "https://fraud.api.example.com/v1/invocations"


def test_cors_only_when_configured() -> None:
    stack, _ = front_stack()
    assert not [
        m
        for m in resources(Template.from_stack(stack), "AWS::ApiGateway::Method")
        if m["HttpMethod"] == "OPTIONS"
    ]
    stack, _ = front_stack(cors=apigateway.CorsOptions(allow_origins=["https://app.example.com"]))
    template = Template.from_stack(stack)
    (options,) = [
        m for m in resources(template, "AWS::ApiGateway::Method") if m["HttpMethod"] == "OPTIONS"
    ]
    assert options["AuthorizationType"] == "NONE"
    success = next(
        r
        for r in method_at(template, "invocations")["Integration"]["IntegrationResponses"]
        if r["StatusCode"] == "200"
    )
    assert (
        success["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"]
        == "'https://app.example.com'"
    )


def test_cors_headers_on_every_answer() -> None:
    """Origin, credentials and exposed headers on the model's answers, the front's errors,
    API Gateway's own (gateway responses) and the firewall's custom answers."""
    stack, api = front_stack(
        cors=apigateway.CorsOptions(
            allow_origins=["https://app.example.com"],
            allow_credentials=True,
            expose_headers=["X-Invoked-Variant", "X-Amzn-RequestId"],
        )
    )
    template = Template.from_stack(stack)
    cors = {
        "Access-Control-Allow-Origin": "'https://app.example.com'",
        "Access-Control-Allow-Credentials": "'true'",
        "Access-Control-Expose-Headers": "'X-Invoked-Variant,X-Amzn-RequestId'",
    }
    method = method_at(template, "invocations")
    responses = method["Integration"]["IntegrationResponses"]
    assert len(responses) == len(ERROR_STATUS) + 2
    for response in responses:
        for name, value in cors.items():
            assert response["ResponseParameters"][f"method.response.header.{name}"] == value
    for response in method["MethodResponses"]:
        for name in cors:
            assert response["ResponseParameters"][f"method.response.header.{name}"] is True
    gateway = {
        r["ResponseType"]: r for r in resources(template, "AWS::ApiGateway::GatewayResponse")
    }
    assert sorted(gateway) == ["DEFAULT_4XX", "DEFAULT_5XX"]
    assert sorted(api.gateway_responses) == ["DEFAULT_4XX", "DEFAULT_5XX"]
    for response in gateway.values():
        assert response["ResponseParameters"] == {
            f"gatewayresponse.header.{name}": value
            for name, value in {**SECURITY_HEADERS, **cors}.items()
        }
    (acl,) = resources(template, "AWS::WAFv2::WebACL")
    custom = [
        r["Action"]["Block"]["CustomResponse"]
        for r in acl["Rules"]
        if "CustomResponse" in r.get("Action", {}).get("Block", {})
    ]
    assert sorted(c["ResponseCode"] for c in custom) == [411, 413, 415]
    for c in custom:
        assert c["ResponseHeaders"] == [
            {"Name": name, "Value": value.strip("'")} for name, value in cors.items()
        ]
    # The preflight says the same.
    (options,) = [
        m for m in resources(template, "AWS::ApiGateway::Method") if m["HttpMethod"] == "OPTIONS"
    ]
    preflight = options["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    assert preflight["method.response.header.Access-Control-Allow-Credentials"] == "'true'"
    assert (
        preflight["method.response.header.Access-Control-Expose-Headers"]
        == "'X-Invoked-Variant,X-Amzn-RequestId'"
    )


def test_without_cors_no_gateway_responses_nor_waf_headers(default_front: Any) -> None:
    _, api, template = default_front
    assert resources(template, "AWS::ApiGateway::GatewayResponse") == []
    assert api.gateway_responses == {}
    (acl,) = resources(template, "AWS::WAFv2::WebACL")
    assert all(
        "ResponseHeaders" not in r["Action"]["Block"]["CustomResponse"]
        for r in acl["Rules"]
        if "CustomResponse" in r.get("Action", {}).get("Block", {})
    )
    success = method_at(template, "invocations")["Integration"]["IntegrationResponses"][0]
    assert not any("Access-Control" in k for k in success["ResponseParameters"])


@pytest.mark.parametrize(
    ("cors", "allow_methods", "max_age"),
    [
        (apigateway.CorsOptions(allow_origins=["https://a.io"]), "'POST,OPTIONS'", None),
        (
            apigateway.CorsOptions(allow_origins=["https://a.io"], allow_methods=["POST"]),
            "'POST'",
            None,
        ),
        (
            apigateway.CorsOptions(allow_origins=["https://a.io"], disable_cache=True),
            "'POST,OPTIONS'",
            "'-1'",
        ),
        (
            apigateway.CorsOptions(allow_origins=["https://a.io"], max_age=cdk.Duration.hours(1)),
            "'POST,OPTIONS'",
            "'3600'",
        ),
    ],
    ids=["default", "post only", "disable cache", "max age"],
)
def test_cors_methods_and_cache_reach_the_preflight(
    cors: apigateway.CorsOptions, allow_methods: str, max_age: str | None
) -> None:
    stack, _ = front_stack(cors=cors)
    (options,) = [
        m
        for m in resources(Template.from_stack(stack), "AWS::ApiGateway::Method")
        if m["HttpMethod"] == "OPTIONS"
    ]
    headers = options["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Methods"] == allow_methods
    assert headers.get("method.response.header.Access-Control-Max-Age") == max_age


# --- 4. operations ----------------------------------------------------------------------


def test_access_logs_tracing_and_no_execution_logs(default_front: Any) -> None:
    _, _, template = default_front
    (stage,) = resources(template, "AWS::ApiGateway::Stage")
    assert stage["TracingEnabled"] is True
    fields = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "integrationStatus", "wafStatus", "ip"} <= set(fields)
    # $context.requestOverride.* holds only what a mapping template overrides: always empty.
    assert (
        "requestLength" not in fields
        and "requestOverride" not in stage["AccessLogSetting"]["Format"]
    )
    assert not any("body" in value.lower() for value in fields.values())
    (everything,) = [s for s in stage["MethodSettings"] if s["ResourcePath"] == "/*"]
    assert everything["LoggingLevel"] == "OFF" and everything["DataTraceEnabled"] is False
    # No account-wide CloudWatch role is made by a construct.
    assert resources(template, "AWS::ApiGateway::Account") == []
    for group in resources(template, "AWS::Logs::LogGroup"):
        assert "KmsKeyId" in group and group["RetentionInDays"] == 365
    names = [json.dumps(g["LogGroupName"]) for g in resources(template, "AWS::Logs::LogGroup")]
    assert any("aws-waf-logs-" in n for n in names)


def test_alarms_on_error_rates_and_latency_notify_the_topic(default_front: Any) -> None:
    stack, api, template = default_front
    assert sorted(api.alarms) == ["ErrorRate4xx", "ErrorRate5xx", "Latency"]
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 3
    # The front's own topic (the template's only one), by reference.
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    assert stack.resolve(api.topic.topic_arn) == {"Ref": topic_id}
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    latency = next(a for a in alarms if "Latency" in a.get("MetricName", ""))
    assert latency["ExtendedStatistic"] == "p99" and latency["Threshold"] == 2000
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_without_thresholds_there_are_no_alarms_and_no_alarm_widget() -> None:
    off = ApiAlarmThresholds(
        error_rate_4xx_percent=None, error_rate_5xx_percent=None, latency_p99=None
    )
    stack, api = front_stack(thresholds=off)
    template = Template.from_stack(stack)
    assert api.alarms == {} and resources(template, "AWS::CloudWatch::Alarm") == []
    (board,) = resources(template, "AWS::CloudWatch::Dashboard")
    body = json.dumps(board["DashboardBody"])
    assert "API: alarms" not in body and "API: requests and error rates" in body


def test_the_alarms_join_an_endpoint_monitorings_topic_and_dashboard() -> None:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    endpoint = Endpoint.from_endpoint_attributes(
        stack, "Fraud", endpoint_name="fraud", variants=VARIANTS[:1]
    )
    monitoring = EndpointMonitoring(stack, "Monitoring", endpoint=endpoint)
    api = EndpointApi(stack, "Api", endpoint=endpoint, monitoring=monitoring)
    assert api.topic is monitoring.topic and api.dashboard is None
    template = Template.from_stack(stack)
    assert len(template.find_resources("AWS::SNS::Topic")) == 1
    (board,) = resources(template, "AWS::CloudWatch::Dashboard")
    assert "fraud API: alarms" in json.dumps(board["DashboardBody"])


# --- 5. checked at synth ----------------------------------------------------------------


def cert(stack: cdk.Stack, region: str = "us-east-1") -> acm.ICertificate:
    return acm.Certificate.from_certificate_arn(stack, "Cert", CERT.replace("us-east-1", region))


IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def multi_model_endpoint(stack: cdk.Stack) -> Endpoint:
    model = Model(
        stack,
        "Many",
        image=ContainerImage.from_registry(IMAGE),
        model_data=ModelData.from_bucket_prefix(EncryptedBucket(stack, "Artifacts"), "models/"),
        multi_model=True,
    )
    return Endpoint(
        stack,
        "Mme",
        endpoint_name="many",
        variants=[InstanceVariant(model=model, variant_name="Blue")],
    )


def component_endpoint(stack: cdk.Stack) -> Endpoint:
    return Endpoint(
        stack,
        "Components",
        endpoint_name="components",
        variants=[
            ComponentVariant(
                instance_type="ml.g5.12xlarge",
                managed_scaling=ManagedInstanceScaling(min_instances=2, max_instances=4),
            )
        ],
    )


BAD: list[tuple[str, Callable[[cdk.Stack], dict[str, Any]], str]] = [
    (
        "multi-model endpoint",
        lambda s: {"endpoint": multi_model_endpoint(s)},
        "Front/Api: endpoint='many' is invalid: variant(s) Blue serve a multi-model model, "
        "invoked with TargetModel",
    ),
    (
        "component-mode endpoint",
        lambda s: {"endpoint": component_endpoint(s)},
        "Front/Api: endpoint='components' is invalid: an endpoint in component mode "
        "(variants of ComponentVariant) is invoked with InferenceComponentName",
    ),
    (
        "path",
        lambda s: {"path": "/predict"},
        "Front/Api: path='/predict' is invalid: must be 1+ segments",
    ),
    ("path chars", lambda s: {"path": "pre dict"}, "path='pre dict' is invalid"),
    ("path reserved", lambda s: {"path": "a/variants"}, "'variants' is reserved"),
    (
        "path length",
        lambda s: {"path": "a" * 1500},
        "above API Gateway's 1600 for methods with authorisation: keep the path within",
    ),
    ("stage", lambda s: {"stage_name": "prod-1"}, "stage_name='prod-1' is invalid: must be 1-128"),
    (
        "shadow variant",
        lambda s: {"variant_methods": ["Shadow"]},
        "variant_methods[0]='Shadow' is invalid: a shadow variant",
    ),
    (
        "unknown variant",
        lambda s: {"variant_methods": ["Red"]},
        "variant_methods[0]='Red' is invalid: names no production variant of fraud (Blue, Green)",
    ),
    (
        "variant as str",
        lambda s: {"variant_methods": "Blue"},
        "variant_methods='Blue' is invalid: must be a list",
    ),
    (
        "content type",
        lambda s: {"content_types": ["application/*"]},
        "content_types[0]='application/*' is invalid: must be one lower-case media type",
    ),
    (
        "text and binary",
        lambda s: {"binary_content_types": ["text/csv"]},
        "binary_content_types=['text/csv'] is invalid: a type is either text or binary",
    ),
    (
        "no content type",
        lambda s: {"content_types": []},
        "content_types=[] is invalid: give at least one content type",
    ),
    (
        "payload above SageMaker",
        lambda s: {"max_payload_bytes": SAGEMAKER_REALTIME_PAYLOAD_BYTES + 1},
        "max_payload_bytes=6291457 is invalid: above SageMaker's 6 MiB for real-time endpoints",
    ),
    (
        "payload above API Gateway",
        lambda s: {"max_payload_bytes": 20_000_000},
        "max_payload_bytes=20000000 is invalid: API Gateway REST APIs take at most 10 MB",
    ),
    (
        "payload zero",
        lambda s: {"max_payload_bytes": 0},
        "max_payload_bytes=0 is invalid: must be at least 1",
    ),
    (
        "throttle burst 0",
        lambda s: {"throttle": ApiThrottle(rate_limit=10, burst_limit=0)},
        "throttle.burst_limit=0 is invalid: a bucket of 0 throttles every request",
    ),
    (
        "throttle negative",
        lambda s: {"throttle": ApiThrottle(rate_limit=-1, burst_limit=5)},
        "throttle.rate_limit=-1 is invalid: must be a number of at least 0",
    ),
    (
        "throttle burst float",
        lambda s: {"throttle": ApiThrottle(rate_limit=1, burst_limit=2.5)},  # type: ignore[arg-type]
        "throttle.burst_limit=2.5 is invalid: must be a whole number",
    ),
    (
        "method throttle key",
        lambda s: {"method_throttles": {"predict": ApiThrottle(rate_limit=1, burst_limit=1)}},
        "'predict' names no method of this API (invocations)",
    ),
    (
        "api key without plan",
        lambda s: {"api_key_required": True},
        "api_key_required=True is invalid: API keys work only through a usage plan",
    ),
    (
        "plan name",
        lambda s: {"usage_plans": [PartnerPlan(name="acme corp")]},
        "usage_plans[0].name='acme corp' is invalid",
    ),
    (
        "plan quota",
        lambda s: {"usage_plans": [PartnerPlan(name="acme", quota_per_day=0)]},
        "usage_plans[0].quota_per_day=0 is invalid",
    ),
    (
        "waf rate",
        lambda s: {"firewall": ApiFirewall(rate_limit=5)},
        "firewall.rate_limit=5 is invalid: must be between 10 and 2000000000 requests",
    ),
    (
        "waf group",
        lambda s: {"firewall": ApiFirewall(managed_rule_groups=("CommonRuleSet",))},
        "firewall.managed_rule_groups[0]='CommonRuleSet' is invalid",
    ),
    (
        "domain name",
        lambda s: {"domain": ApiDomain(domain_name="Fraud.Example.com", certificate=cert(s))},
        "domain.domain_name='Fraud.Example.com' is invalid: must be a lower-case DNS name",
    ),
    (
        "domain one label",
        lambda s: {"domain": ApiDomain(domain_name="localhost", certificate=cert(s))},
        "domain.domain_name='localhost' is invalid",
    ),
    (
        "certificate region",
        lambda s: {
            "domain": ApiDomain(domain_name="a.example.com", certificate=cert(s, "eu-west-1"))
        },
        "a regional API's certificate must be in the API's Region (us-east-1), not eu-west-1",
    ),
    (
        "base path",
        lambda s: {
            "domain": ApiDomain(domain_name="a.example.com", certificate=cert(s), base_path="/v1")
        },
        "domain.base_path='/v1' is invalid",
    ),
    (
        "tls 1.0",
        lambda s: {
            "domain": ApiDomain(
                domain_name="a.example.com",
                certificate=cert(s),
                security_policy=apigateway.SecurityPolicy.TLS_1_0,
            )
        },
        "domain.security_policy='TLS_1_0' is invalid: TLS 1.0 and 1.1 are refused",
    ),
    (
        "cors two origins",
        lambda s: {"cors": apigateway.CorsOptions(allow_origins=["https://a.io", "https://b.io"])},
        "cors.allow_origins=['https://a.io', 'https://b.io'] is invalid: give exactly one origin",
    ),
    (
        "cors any with credentials",
        lambda s: {"cors": apigateway.CorsOptions(allow_origins=["*"], allow_credentials=True)},
        "cors.allow_origins=['*'] is invalid: '*' with allow_credentials=True",
    ),
    (
        "cors methods beyond post",
        lambda s: {
            "cors": apigateway.CorsOptions(
                allow_origins=["https://a.io"], allow_methods=apigateway.Cors.ALL_METHODS
            )
        },
        "Front/Api: cors.allow_methods=['OPTIONS', 'GET', 'PUT', 'POST', 'DELETE', 'PATCH', "
        "'HEAD'] is invalid: the front's resources take POST only",
    ),
    (
        "cors methods without post",
        lambda s: {
            "cors": apigateway.CorsOptions(allow_origins=["https://a.io"], allow_methods=["GET"])
        },
        "cors.allow_methods=['GET'] is invalid: the front's resources take POST only",
    ),
    (
        "cors disable cache with max age",
        lambda s: {
            "cors": apigateway.CorsOptions(
                allow_origins=["https://a.io"], disable_cache=True, max_age=cdk.Duration.hours(1)
            )
        },
        "cors.disable_cache=True is invalid: disable_cache sends Access-Control-Max-Age: -1",
    ),
    (
        "cors expose header name",
        lambda s: {
            "cors": apigateway.CorsOptions(
                allow_origins=["https://a.io"], expose_headers=["X-Ok", "bad header"]
            )
        },
        "cors.expose_headers[1]='bad header' is invalid: must be an HTTP header name",
    ),
    (
        "cors origin with a quote",
        lambda s: {"cors": apigateway.CorsOptions(allow_origins=["https://a.io'"])},
        "cors.allow_origins[0]=\"https://a.io'\" is invalid: must be '*' or an origin",
    ),
    (
        "account not 12 digits",
        lambda s: {"allowed_accounts": ["12345"]},
        "Front/Api: allowed_accounts[0]='12345' is invalid: must be an AWS account ID of 12 digits",
    ),
    (
        "accounts as str",
        lambda s: {"allowed_accounts": "222222222222"},
        "allowed_accounts='222222222222' is invalid: must be a list of 12-digit account IDs",
    ),
    (
        "own account",
        lambda s: {"allowed_accounts": ["111111111111"]},
        "allowed_accounts[0]='111111111111' is invalid: is the API's own account",
    ),
    (
        "accounts without iam",
        lambda s: {
            "allowed_accounts": ["222222222222"],
            "authorization": ApiAuthorization.anonymous("a public demo model"),
        },
        "allowed_accounts=['222222222222'] is invalid: the API authorises with NONE, not IAM",
    ),
    (
        "anonymous without reason",
        lambda s: {"authorization": ApiAuthorization.anonymous("")},
        "authorization.reason='' is invalid: an anonymous API needs a reason",
    ),
    (
        "cognito without pools",
        lambda s: {"authorization": ApiAuthorization.cognito([])},
        "authorization.user_pools=[] is invalid: give at least one cognito.IUserPool",
    ),
    (
        "lambda authoriser not an authoriser",
        lambda s: {"authorization": ApiAuthorization.lambda_authorizer("jwt")},  # type: ignore[arg-type]
        "authorization.authorizer='jwt' is invalid: must be an apigateway.IAuthorizer",
    ),
    (
        "thresholds rate",
        lambda s: {"thresholds": ApiAlarmThresholds(error_rate_5xx_percent=150)},
        "thresholds.error_rate_5xx_percent=150 is invalid: must be above 0 and at most 100 %",
    ),
    (
        "thresholds datapoints",
        lambda s: {"thresholds": ApiAlarmThresholds(evaluation_periods=2, datapoints_to_alarm=3)},
        "thresholds.datapoints_to_alarm=3 is invalid: must be between 1 and 2",
    ),
    (
        "execution data trace level",
        lambda s: {"execution_log_level": apigateway.MethodLoggingLevel.OFF},
        "execution_log_level=",
    ),
]


@pytest.mark.parametrize(("case", "props", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_path_property_value_and_rule(
    case: str, props: Callable[[cdk.Stack], dict[str, Any]], message: str
) -> None:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    endpoint = Endpoint.from_endpoint_attributes(
        stack, "Fraud", endpoint_name="fraud", variants=VARIANTS
    )
    with pytest.raises(ValidationError, match=re.escape(message)):
        EndpointApi(stack, "Api", **{"endpoint": endpoint, **props(stack)})


def test_an_asynchronous_endpoint_and_a_private_domain_are_refused() -> None:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    queued = Endpoint.from_endpoint_attributes(
        stack, "Queued", endpoint_name="queued", asynchronous=True
    )
    with pytest.raises(ValidationError, match="Front/Api: endpoint='queued' is invalid: an asynch"):
        EndpointApi(stack, "Api", endpoint=queued)
    endpoint = Endpoint.from_endpoint_attributes(stack, "Fraud", endpoint_name="fraud")
    vpce = ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
        stack, "Vpce", vpc_endpoint_id="vpce-0123456789abcdef0", port=443
    )
    with pytest.raises(ValidationError, match="private API's custom domain"):
        EndpointApi(
            stack,
            "Private",
            endpoint=endpoint,
            vpc_endpoints=[vpce],
            domain=ApiDomain(domain_name="a.example.com", certificate=cert(stack)),
        )


def test_an_endpoint_of_another_account_is_refused_and_one_of_another_region_called_there() -> None:
    stack = cdk.Stack(new_app(), "Front", env=US_EAST)
    elsewhere = Endpoint.from_endpoint_attributes(
        stack,
        "Elsewhere",
        endpoint_name="fraud",
        endpoint_arn="arn:aws:sagemaker:us-east-1:222222222222:endpoint/fraud",
    )
    with pytest.raises(ValidationError, match="is in account 222222222222 and the API in 1111"):
        EndpointApi(stack, "Api", endpoint=elsewhere)
    remote = Endpoint.from_endpoint_attributes(
        stack,
        "Remote",
        endpoint_name="fraud",
        endpoint_arn="arn:aws:sagemaker:eu-west-1:111111111111:endpoint/fraud",
    )
    EndpointApi(stack, "Remote Api", endpoint=remote)
    uris = [
        json.dumps(m["Integration"]["Uri"])
        for m in resources(Template.from_stack(stack), "AWS::ApiGateway::Method")
    ]
    assert any(":apigateway:eu-west-1:runtime.sagemaker:path/endpoints/fraud" in u for u in uris)


def test_a_single_200_method_response_declares_the_headers(default_front: Any) -> None:
    _, _, template = default_front
    responses = method_at(template, "invocations")["MethodResponses"]
    codes = [r["StatusCode"] for r in responses]
    assert sorted(codes) == sorted(set(codes))
    ok = next(r for r in responses if r["StatusCode"] == "200")
    assert ok["ResponseParameters"]["method.response.header.X-Invoked-Variant"] is True


def test_grants_are_refused_when_iam_does_not_authorise() -> None:
    stack, api = front_stack(authorization=ApiAuthorization.anonymous("a public demo model"))
    role = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    with pytest.raises(ValidationError, match="grant_invoke='Front/Caller' is invalid: the API"):
        api.grant_invoke(role)
    with pytest.raises(ValidationError, match="variant='Blue' is invalid: has no method here"):
        api.invoke_url("Blue")


def test_a_serverless_endpoint_takes_at_most_4_mb() -> None:
    serverless = [VariantAttributes(variant_name="Small", serverless=True)]
    _, api = front_stack(variants=serverless)
    assert api.max_payload_bytes == SAGEMAKER_SERVERLESS_PAYLOAD_BYTES
    with pytest.raises(ValidationError, match="above SageMaker's 4 MB for serverless endpoints"):
        front_stack(variants=serverless, max_payload_bytes=5_000_000)


def test_a_throttle_above_the_account_quota_warns() -> None:
    stack, _ = front_stack(throttle=ApiThrottle(rate_limit=20_000, burst_limit=5_000))
    Annotations.from_stack(stack).has_warning(
        "/Front/Api", Match.string_like_regexp("above API Gateway's default account quota")
    )


def _botocore_shapes(service: str) -> dict[str, Any]:
    root = Path(botocore.__file__).parent / "data" / service
    (model,) = sorted(root.glob("*/service-2.json*"))[-1:]
    data = model.read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data) if model.suffix == ".gz" else data)
    return loaded["shapes"]


def test_the_limits_are_the_service_models() -> None:
    """SageMaker's real-time body limit and AWS WAF's ranges, as botocore's models give them."""
    runtime = _botocore_shapes("sagemaker-runtime")
    body = runtime[runtime["InvokeEndpointInput"]["members"]["Body"]["shape"]]
    assert body["max"] == SAGEMAKER_REALTIME_PAYLOAD_BYTES
    waf = _botocore_shapes("wafv2")
    assert (waf["RateLimit"]["min"], waf["RateLimit"]["max"]) == WAF_RATE_LIMIT_RANGE
    assert waf["RegexPatternString"]["max"] == WAF_REGEX_MAX_LENGTH
    assert SAGEMAKER_SERVERLESS_PAYLOAD_BYTES < SAGEMAKER_REALTIME_PAYLOAD_BYTES
    assert SAGEMAKER_REALTIME_PAYLOAD_BYTES < API_GATEWAY_PAYLOAD_BYTES


@pytest.mark.parametrize("limit", [1, 9, 10, 99, 100, 4_000_000, 6_291_456, 9_999_999, 10_000_000])
def test_the_content_length_pattern_matches_exactly_the_numbers_above_the_limit(
    limit: int,
) -> None:
    pattern = greater_than_pattern(limit)
    assert len(pattern) <= WAF_REGEX_MAX_LENGTH
    # AWS WAF refuses capturing subexpressions: every group is (?:...).
    assert pattern.count("(") == pattern.count("(?:") and re.compile(pattern).groups == 0
    compiled = re.compile(pattern)
    rng = random.Random(limit)  # noqa: S311 - sample numbers, not secrets
    samples = {0, limit - 1, limit, limit + 1, limit * 10, 10 ** len(str(limit))}
    samples |= {rng.randrange(0, limit * 3 + 10) for _ in range(3000)}
    samples |= {limit + d for d in range(-50, 50)}
    for number in sorted(s for s in samples if s >= 0):
        for text in (str(number), f"00{number}"):
            assert bool(compiled.match(text)) == (number > limit), (text, limit)
    for text in ("", "abc", "12a", "-5", " 7", "1e9"):
        assert not compiled.match(text), text


# --- snapshot and gates -------------------------------------------------------------------


def full_front(app: cdk.App) -> tuple[cdk.Stack, EndpointApi]:
    """A front with every option a platform team would set."""
    stack = cdk.Stack(app, "Front", env=US_EAST)
    endpoint = Endpoint.from_endpoint_attributes(
        stack, "Fraud", endpoint_name="fraud", variants=VARIANTS
    )
    pool = cognito.UserPool(
        stack,
        "Pool",
        advanced_security_mode=cognito.AdvancedSecurityMode.ENFORCED,
        feature_plan=cognito.FeaturePlan.PLUS,
        mfa=cognito.Mfa.REQUIRED,
        mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
        password_policy=cognito.PasswordPolicy(
            min_length=12,
            require_digits=True,
            require_lowercase=True,
            require_uppercase=True,
            require_symbols=True,
        ),
    )
    api = EndpointApi(
        stack,
        "Api",
        endpoint=endpoint,
        authorization=ApiAuthorization.cognito([pool]),
        variant_methods=["Blue", "Green"],
        binary_content_types=["application/x-npy"],
        throttle=ApiThrottle(rate_limit=200, burst_limit=400),
        usage_plans=[PartnerPlan(name="acme", quota_per_day=10_000)],
        domain=ApiDomain(
            domain_name="fraud.api.example.com", certificate=cert(stack), base_path="v1"
        ),
        cors=apigateway.CorsOptions(allow_origins=["https://app.example.com"]),
    )
    return stack, api


@pytest.fixture(scope="module")
def full() -> tuple[cdk.App, cdk.Stack, EndpointApi]:
    app = new_app()
    stack, api = full_front(app)
    app.synth()
    return app, stack, api


def test_snapshot(full: Any, snapshot: Any) -> None:
    """The one full snapshot of EndpointApi (rule: ``tests/snapshots.py``)."""
    app, stack, api = full
    template = app.synth().get_stack_by_name(stack.stack_name).template
    assert construct_snapshot(stack, template, [api]) == json_snapshot(snapshot)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.__name__)
def test_no_unacknowledged_cdk_nag_findings(full: Any, pack: Any) -> None:
    app, *_ = full
    findings = nag_findings(app, pack)
    # The user pool's own findings are the test's, not the front's.
    findings = [f for f in findings if "/Pool/" not in f]
    assert findings == [], "\n".join(findings)


def test_cfn_lint_is_clean(full: Any, tmp_path: Path) -> None:
    app, stack, _ = full
    template = app.synth().get_stack_by_name(stack.stack_name).template
    found, stderr = cfn_lint({"Front": template}, tmp_path)
    assert found == [], stderr
