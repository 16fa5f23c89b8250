"""A secure HTTPS front for an endpoint: API Gateway (REST), AWS WAF, logs, alarms.

SageMaker's runtime API takes only AWS Signature V4 requests, which browsers,
partners and many services cannot sign. :class:`EndpointApi` puts an API
Gateway REST API in front of an endpoint: a POST method per endpoint (and per
variant), IAM authorisation by default, request validation, throttling, AWS
WAF, access logs to a KMS-encrypted log group, X-Ray tracing and alarms.

Payload limits (checked at synth, enforced at the front by the firewall)
    * SageMaker real-time ``InvokeEndpoint``: a body of at most 6 MiB
      (6,291,456 bytes): botocore's ``sagemaker-runtime`` model, shape
      ``BodyBlob`` (``max``), which a test reads. No AWS page found states
      25 MB for real-time endpoints.
    * Serverless endpoints: 4 MB for requests and responses (SageMaker
      Developer Guide, "Invoke a serverless endpoint"); taken as 4,000,000
      bytes, the smaller reading.
    * API Gateway REST APIs: 10 MB, not raisable (API Gateway Developer Guide,
      "Quotas for configuring and running a REST API"); taken as 10,000,000
      bytes.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import (
    Annotations,
    Arn,
    ArnComponents,
    ArnFormat,
    Duration,
    Names,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2

from cdk_sagemaker_hosting import encryption, validation
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.endpoint import EndpointBase
from constructs import Construct, IConstruct

#: SageMaker real-time InvokeEndpoint body limit (botocore sagemaker-runtime ``BodyBlob`` max).
SAGEMAKER_REALTIME_PAYLOAD_BYTES = 6_291_456
#: Serverless endpoints: "4 MB" (SageMaker Developer Guide), read as the smaller 4,000,000 bytes.
SAGEMAKER_SERVERLESS_PAYLOAD_BYTES = 4_000_000
#: API Gateway REST APIs: "10 MB", not raisable, read as the smaller 10,000,000 bytes.
API_GATEWAY_PAYLOAD_BYTES = 10_000_000
#: API Gateway: the ARN of a method with authorisation is at most 1600 bytes.
METHOD_ARN_MAX_BYTES = 1600
#: API Gateway's default account throttle per Region (raisable through Service Quotas).
ACCOUNT_RATE_LIMIT = 10_000
ACCOUNT_BURST_LIMIT = 5_000
#: AWS WAF rate-based rules: requests per evaluation window (botocore wafv2 ``RateLimit``).
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)
#: AWS WAF's longest regex (botocore wafv2 ``RegexPatternString``).
WAF_REGEX_MAX_LENGTH = 512
#: The longest API name made here. API Gateway documents no limit for REST API
#: names (HTTP APIs take 128 characters): 128 keeps within both.
API_NAME_MAX_LENGTH = 128

#: Warning: the API takes anonymous requests.
WARNING_ANONYMOUS = "cdk-sagemaker-hosting:AnonymousApi"
#: Warning: no firewall, so the content-type and payload rules are not enforced at the front.
WARNING_NO_FIREWALL = "cdk-sagemaker-hosting:ApiWithoutFirewall"
#: Warning: a throttle above the account's default quota.
WARNING_THROTTLE_ABOVE_ACCOUNT = "cdk-sagemaker-hosting:ThrottleAboveAccountQuota"
#: Warning: execution logging turned on.
WARNING_EXECUTION_LOGS = "cdk-sagemaker-hosting:ApiExecutionLogging"

PATH_PART = re.compile(r"^[a-zA-Z0-9._-]+$")
STAGE_NAME = re.compile(r"^[a-zA-Z0-9_]{1,128}$")
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
CORS_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&*+.^_`|~-]+$")
CORS_ORIGIN = re.compile(r"^\*$|^[a-z][a-z0-9+.-]*://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
BASE_PATH = re.compile(r"^[a-zA-Z0-9$_.+!*'()-]+(/[a-zA-Z0-9$_.+!*'()-]+)*$")

#: SageMaker runtime status -> the front's status. A model error is never a 200.
#: 403/404 mean the front's own role or endpoint is wrong: the caller sees a 500.
ERROR_STATUS = {
    "400": ("400", "The model input was refused."),
    "403|404": ("500", "The API is misconfigured."),
    "413": ("413", "The request body is too large."),
    "415": ("415", "The content type is not supported."),
    "424": ("424", "The model answered with an error."),
    "429": ("429", "The endpoint is busy; retry with backoff."),
    "500": ("502", "The endpoint failed."),
    "503": ("503", "The endpoint is unavailable; retry with backoff."),
}
#: Any other status (530, an unexpected 4XX...) becomes this.
UNEXPECTED_STATUS = ("502", "The endpoint answered unexpectedly.")
SECURITY_HEADERS = {
    "Strict-Transport-Security": "'max-age=31536000; includeSubDomains'",
    "X-Content-Type-Options": "'nosniff'",
}

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "user": "$context.identity.user",
    "userArn": "$context.identity.userArn",
    "apiKeyId": "$context.identity.apiKeyId",
    "principalId": "$context.authorizer.principalId",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "integrationError": "$context.integration.error",
    "wafStatus": "$context.waf.status",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}


def _fail(scope: IConstruct, prop: str, value: object, rule: str) -> None:
    validation.fail(scope, prop, value, rule)


def _check_number(
    scope: IConstruct, prop: str, value: object, *, low: float, whole: bool = False
) -> None:
    if value is None or validation.is_token(value):
        return
    kind = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < low:
        what = "a whole number" if whole else "a number"
        _fail(scope, prop, value, f"must be {what} of at least {low}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiThrottle:
    """Steady-state requests per second and burst (token bucket) for a stage, method or plan.

    :param rate_limit: requests per second, at least 0 (0 refuses every request).
    :param burst_limit: the bucket's size, a whole number; at least 1 when
        ``rate_limit`` is above 0.
    """

    rate_limit: float
    burst_limit: int

    def check(self, scope: IConstruct, prop: str) -> None:
        """Refuse values API Gateway would refuse or that would refuse every request."""
        _check_number(scope, f"{prop}.rate_limit", self.rate_limit, low=0)
        _check_number(scope, f"{prop}.burst_limit", self.burst_limit, low=0, whole=True)
        if not validation.is_token(self.rate_limit) and not validation.is_token(self.burst_limit):
            if self.rate_limit > 0 and self.burst_limit < 1:
                _fail(
                    scope,
                    f"{prop}.burst_limit",
                    self.burst_limit,
                    "a bucket of 0 throttles every request whatever the rate: give at least 1 "
                    "(e.g. the rate limit), or rate_limit=0 to close the API on purpose",
                )
            if self.rate_limit > ACCOUNT_RATE_LIMIT or self.burst_limit > ACCOUNT_BURST_LIMIT:
                Annotations.of(scope).add_warning_v2(
                    WARNING_THROTTLE_ABOVE_ACCOUNT,
                    f"{prop} ({self.rate_limit} rps, burst {self.burst_limit}) is above API "
                    f"Gateway's default account quota ({ACCOUNT_RATE_LIMIT} rps, burst "
                    f"{ACCOUNT_BURST_LIMIT}), which caps it unless the quota was raised "
                    "through Service Quotas.",
                )


@dataclasses.dataclass(frozen=True, kw_only=True)
class PartnerPlan:
    """A usage plan for partners calling with API keys.

    Keys are created apart (``apigateway.ApiKey``, its value generated by API
    Gateway) and added with ``api.usage_plans[name].add_api_key(key)``, so no
    key value is written into a template.

    :param name: the plan's name (letters, digits, ``_`` and ``-``).
    :param throttle: the plan's throttle. Default: the stage's.
    :param quota_per_day: requests per key per day. Default: none.
    """

    name: str
    throttle: ApiThrottle | None = None
    quota_per_day: int | None = None

    def check(self, scope: IConstruct, prop: str) -> None:
        """Check the name, throttle and quota."""
        if not isinstance(self.name, str) or not re.fullmatch(r"[\w-]{1,128}", self.name):
            _fail(scope, f"{prop}.name", self.name, "use 1-128 letters, digits, '_' and '-'")
        validation.check_optional_type(
            scope, f"{prop}.throttle", self.throttle, ApiThrottle, "an ApiThrottle"
        )
        if self.throttle is not None:
            self.throttle.check(scope, f"{prop}.throttle")
        validation.check_int(scope, f"{prop}.quota_per_day", self.quota_per_day, low=1)


class ApiAuthorization:
    """Who may call the API. Build with :meth:`iam` (the default), :meth:`cognito`,
    :meth:`lambda_authorizer` or :meth:`anonymous`."""

    def __init__(
        self,
        kind: str,
        *,
        user_pools: Sequence[cognito.IUserPool] = (),
        scopes: Sequence[str] = (),
        authorizer: apigateway.IAuthorizer | None = None,
        reason: str = "",
    ) -> None:
        self.kind = kind
        self.user_pools = tuple(user_pools)
        self.scopes = tuple(scopes)
        self.authorizer = authorizer
        self.reason = reason

    @staticmethod
    def iam() -> ApiAuthorization:
        """AWS Signature V4 with IAM: callers need ``execute-api:Invoke`` (``api.grant_invoke``)."""
        return ApiAuthorization("IAM")

    @staticmethod
    def cognito(
        user_pools: Sequence[cognito.IUserPool], *, scopes: Sequence[str] = ()
    ) -> ApiAuthorization:
        """Tokens of Amazon Cognito user pools (ID tokens; access tokens with ``scopes``)."""
        return ApiAuthorization("COGNITO", user_pools=user_pools, scopes=scopes)

    @staticmethod
    def lambda_authorizer(authorizer: apigateway.IAuthorizer) -> ApiAuthorization:
        """A Lambda authoriser (``apigateway.TokenAuthorizer`` or ``RequestAuthorizer``),
        e.g. one that validates JWTs of another identity provider.

        HTTP APIs' built-in JWT authorisers cannot front SageMaker (their
        direct service integrations do not include the SageMaker runtime), so
        on a REST API a JWT is checked by a Lambda function of yours.
        """
        return ApiAuthorization("CUSTOM", authorizer=authorizer)

    @staticmethod
    def anonymous(reason: str) -> ApiAuthorization:
        """No authorisation: anyone who reaches the API may call the model.

        Allowed only with a reason, which the warning
        ``cdk-sagemaker-hosting:AnonymousApi`` and the cdk-nag acknowledgements repeat.
        """
        return ApiAuthorization("NONE", reason=reason)

    def check(self, scope: IConstruct, prop: str) -> None:
        """Each kind has what it needs."""
        if self.kind == "COGNITO":
            if not self.user_pools:
                _fail(scope, f"{prop}.user_pools", [], "give at least one cognito.IUserPool")
            for i, pool in enumerate(self.user_pools):
                validation.check_type(
                    scope, f"{prop}.user_pools[{i}]", pool, cognito.IUserPool, "a cognito.IUserPool"
                )
        if self.kind == "CUSTOM":
            validation.check_type(
                scope,
                f"{prop}.authorizer",
                self.authorizer,
                apigateway.IAuthorizer,
                "an apigateway.IAuthorizer (TokenAuthorizer or RequestAuthorizer)",
            )
        if self.kind == "NONE" and (not isinstance(self.reason, str) or len(self.reason) < 10):
            _fail(
                scope,
                f"{prop}.reason",
                self.reason,
                "an anonymous API needs a reason of at least 10 characters, which the "
                "warning and the compliance acknowledgements repeat",
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiFirewall:
    """The AWS WAF web ACL in front of the stage.

    AWS managed rule groups (IP reputation, core rule set, known bad inputs),
    a rate-based rule per client IP, and three rules of the front: POSTs
    without a numeric ``Content-Length`` get 411, requests whose
    ``Content-Length`` is above the payload limit get 413, POSTs of a
    content type the API does not take get 415 (the type exactly, or
    followed by ``;`` and parameters; case and white space ignored). The core rule set's 8 KB body
    rule (``SizeRestrictions_BODY``) only counts: inference bodies are larger,
    and the payload rule holds the limit instead.

    :param rate_limit: requests per client IP per 5 minutes (AWS WAF: 10-2,000,000,000).
    :param managed_rule_groups: AWS managed rule group names, in priority order.
    :param log_retention: how long WAF logs are kept.
    """

    rate_limit: int = 2000
    managed_rule_groups: tuple[str, ...] = (
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    )
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR

    def check(self, scope: IConstruct, prop: str) -> None:
        """The rate limit within AWS WAF's range; group names like AWS's."""
        low, high = WAF_RATE_LIMIT_RANGE
        validation.check_int(
            scope, f"{prop}.rate_limit", self.rate_limit, low=low, high=high, unit=" requests"
        )
        if isinstance(self.managed_rule_groups, str):
            _fail(scope, f"{prop}.managed_rule_groups", self.managed_rule_groups, "give a tuple")
        for i, name in enumerate(self.managed_rule_groups):
            if not isinstance(name, str) or not re.fullmatch(r"AWSManagedRules\w+", name):
                _fail(
                    scope,
                    f"{prop}.managed_rule_groups[{i}]",
                    name,
                    "must be an AWS managed rule group name, e.g. AWSManagedRulesCommonRuleSet",
                )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiDomain:
    """A custom domain (TLS 1.2 or later) for a regional API.

    :param domain_name: e.g. ``fraud.api.example.com`` (lower case).
    :param certificate: an ACM certificate for it, in the API's Region.
    :param base_path: the path under the domain. Default: the domain's root.
    :param security_policy: Default: ``TLS_1_2``. ``TLS_1_0`` is refused.
    """

    domain_name: str
    certificate: acm.ICertificate
    base_path: str | None = None
    security_policy: apigateway.SecurityPolicy = apigateway.SecurityPolicy.TLS_1_2

    def check(self, scope: IConstruct, prop: str) -> None:
        """Domain syntax, certificate Region, base path, TLS policy."""
        name = self.domain_name
        if not validation.is_token(name):
            labels = name.split(".") if isinstance(name, str) else []
            if (
                not isinstance(name, str)
                or len(name) > 253
                or len(labels) < 2
                or not all(DOMAIN_LABEL.match(label) for label in labels)
            ):
                _fail(
                    scope,
                    f"{prop}.domain_name",
                    name,
                    "must be a lower-case DNS name of 2+ labels (letters, digits, '-'), at "
                    "most 253 characters, e.g. 'fraud.api.example.com'",
                )
        validation.check_type(
            scope, f"{prop}.certificate", self.certificate, acm.ICertificate, "an acm.ICertificate"
        )
        region = Stack.of(scope).region
        arn = self.certificate.certificate_arn
        if not validation.is_token(arn) and not validation.is_token(region):
            cert_region = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME).region
            if cert_region != region:
                _fail(
                    scope,
                    f"{prop}.certificate",
                    arn,
                    f"a regional API's certificate must be in the API's Region ({region}), not "
                    f"{cert_region}: request or import the certificate in {region}",
                )
        if self.base_path is not None and (
            not isinstance(self.base_path, str) or not BASE_PATH.match(self.base_path)
        ):
            _fail(
                scope,
                f"{prop}.base_path",
                self.base_path,
                "must be path segments of letters, digits and $-_.+!*'() separated by '/', "
                "without leading or trailing '/'",
            )
        if self.security_policy == apigateway.SecurityPolicy.TLS_1_0:
            _fail(
                scope,
                f"{prop}.security_policy",
                "TLS_1_0",
                "TLS 1.0 and 1.1 are refused: use SecurityPolicy.TLS_1_2",
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApiAlarmThresholds:
    """Thresholds of the API's alarms; ``None`` turns one off.

    :param error_rate_4xx_percent: share of requests answered 4XX (0-100). Default: 5.
    :param error_rate_5xx_percent: share answered 5XX (0-100). Default: 1.
    :param latency_p99: p99 of the whole request as API Gateway sees it. Default: 2 s.
    :param evaluation_periods: one-minute periods looked at (1-1440). Default: 5.
    :param datapoints_to_alarm: of those, how many must breach. Default: 3.
    """

    error_rate_4xx_percent: float | None = 5
    error_rate_5xx_percent: float | None = 1
    latency_p99: Duration | None = dataclasses.field(default_factory=lambda: Duration.seconds(2))
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3

    def check(self, scope: IConstruct, prop: str) -> None:
        """Rates within 0-100 %, a positive latency, periods as CloudWatch takes them."""
        for field in ("error_rate_4xx_percent", "error_rate_5xx_percent"):
            value = getattr(self, field)
            if value is None or validation.is_token(value):
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 < value <= 100
            ):
                _fail(scope, f"{prop}.{field}", value, "must be above 0 and at most 100 %, or None")
        validation.check_optional_type(
            scope, f"{prop}.latency_p99", self.latency_p99, Duration, "a Duration"
        )
        if self.latency_p99 is not None:
            ms = self.latency_p99.to_milliseconds()
            if not validation.is_token(ms) and ms <= 0:
                _fail(scope, f"{prop}.latency_p99", f"{ms} ms", "must be above 0")
        validation.check_int(
            scope, f"{prop}.evaluation_periods", self.evaluation_periods, low=1, high=1440
        )
        validation.check_int(
            scope,
            f"{prop}.datapoints_to_alarm",
            self.datapoints_to_alarm,
            low=1,
            high=self.evaluation_periods,
        )


def greater_than_pattern(limit: int) -> str:
    """A regex matching exactly the decimal numbers (leading zeros allowed) above ``limit``.

    AWS WAF compares headers as text, so "Content-Length above N" is a regex.
    """
    digits = str(limit)
    branches = [f"[1-9][0-9]{{{len(digits)},}}"]
    for i, digit in enumerate(digits):
        if digit == "9":
            continue
        low = int(digit) + 1
        rest = len(digits) - i - 1
        branch = digits[:i] + (f"[{low}-9]" if low < 9 else "9")
        branches.append(branch + (f"[0-9]{{{rest}}}" if rest else ""))
    # Non-capturing: AWS WAF refuses capturing subexpressions.
    return f"^0*(?:{'|'.join(branches)})$"


class EndpointApi(Construct):
    """An HTTPS API (API Gateway REST) in front of a real-time SageMaker endpoint.

    ``POST <url>/<path>`` invokes the endpoint (SageMaker picks the variant by
    weight); with ``variant_methods``, ``POST <url>/<path>/variants/<name>``
    invokes one production variant (``TargetVariant``). The caller's
    ``Content-Type`` and ``Accept`` go to the model; the answer's content type
    and ``X-Invoked-Variant`` come back. SageMaker's errors keep their meaning
    (400, 413, 415, 424 model error, 429, 502, 503; anything unexpected 502)
    with a generic body and the request ID: SageMaker's own messages name the
    account and log group, so they stay in the access logs' correlation, not
    in the response.

    Secure by default: IAM authorisation (``grant_invoke``); request
    validation (``Content-Type`` required; JSON bodies must be JSON); content
    types outside ``content_types`` refused with 415 by API Gateway (text
    types) and the firewall (all types); bodies above the payload limit
    refused with 413 by the firewall; stage throttling; an AWS WAF web ACL
    with a rate-based rule; access logs (no payloads) to a KMS-encrypted log
    group; X-Ray tracing; execution logging off (its logs can hold payloads
    and go to a log group API Gateway creates unencrypted); the integration
    role may call ``sagemaker:InvokeEndpoint`` on this endpoint only.
    Alarms on 4XX and 5XX rates and p99 latency notify ``topic``.

    Construct IDs (a public contract): ``Api``, ``InvokeRole``, ``Key``,
    ``AccessLogs``, ``Firewall``, ``FirewallLogs``, ``Domain``, ``Topic``,
    ``Dashboard``, alarms ``ErrorRate4xx``, ``ErrorRate5xx``, ``Latency``.

    :param endpoint: a real-time endpoint (an :class:`Endpoint`, or one imported
        with ``Endpoint.from_endpoint_attributes``).
    :param authorization: Default: :meth:`ApiAuthorization.iam`.
    :param path: the invocation resource, segments of letters, digits, ``._-``
        separated by ``/``. Default: ``invocations``.
    :param variant_methods: production variants that get a method of their own.
        Default: none.
    :param content_types: text content types taken. Default: JSON and CSV.
    :param binary_content_types: binary content types taken (passed as bytes).
    :param json_schema: the schema JSON bodies must meet. Default: any JSON
        object or array.
    :param max_payload_bytes: the largest body taken. Default and maximum:
        the smaller of SageMaker's limit for the endpoint and API Gateway's.
    :param throttle: the stage's throttle. Default: 100 rps, burst 200.
    :param method_throttles: per-method throttles keyed by ``"<path>"`` or
        ``"<path>/variants/<name>"``.
    :param api_key_required: callers must also send an API key of a usage plan.
        Default: ``True`` when ``usage_plans`` are given.
    :param usage_plans: plans for partners.
    :param vpc_endpoints: make the API private, reachable only through these
        ``execute-api`` interface endpoints (a resource policy denies any
        other way in). With IAM authorisation the policy allows nobody
        itself: callers of the API's account need their own
        ``execute-api:Invoke`` grant (``grant_invoke``), as AWS lets either
        the identity or the resource policy allow a same-account call. With
        Cognito, a Lambda authoriser or anonymous access it allows anyone who
        comes through the VPC endpoints, and the authoriser decides.
    :param allowed_accounts: IAM authorisation only: other AWS accounts
        (12 digits) whose principals may call with their own
        ``execute-api:Invoke`` grant; the resource policy allows them, as a
        cross-account call needs both policies to allow it. Default: none.
    :param firewall: Default: :class:`ApiFirewall` defaults. ``None`` removes it,
        with a warning.
    :param domain: a custom domain; the default ``execute-api`` URL is then
        turned off so every caller gets the domain's TLS policy.
    :param cors: CORS, only when given; one origin. The origin (and
        ``Access-Control-Allow-Credentials``, ``Access-Control-Expose-Headers``
        when set) go on every answer: the model's, the front's errors, API
        Gateway's own (``DEFAULT_4XX``/``DEFAULT_5XX`` gateway responses, with
        the security headers) and the firewall's 411/413/415. ``allow_methods``
        may only name ``POST`` (and ``OPTIONS``); ``disable_cache`` and
        ``max_age`` exclude each other. ``X-Invoked-Variant`` is readable by
        scripts only when listed in ``expose_headers``.
    :param stage_name: Default: ``prod``.
    :param encryption_key: key for the log groups and the alarm topic.
        Default: a new key with rotation.
    :param log_retention: Default: one year.
    :param execution_log_level: turn on execution logging (``ERROR`` or
        ``INFO``; never data tracing), with a warning. It needs the account's
        API Gateway CloudWatch role. Default: off.
    :param thresholds: Default: :class:`ApiAlarmThresholds` defaults.
    :param topic: where alarms notify. Default: ``monitoring``'s topic, else a
        new encrypted topic.
    :param monitoring: an :class:`EndpointMonitoring` whose topic and dashboard
        the API's alarms and graphs join.
    :param dashboard: a dashboard of its own when no ``monitoring`` is given.
    """

    def __init__(  # noqa: PLR0912, PLR0915 - one front, its parts in order
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: EndpointBase,
        authorization: ApiAuthorization | None = None,
        path: str = "invocations",
        variant_methods: Sequence[str] = (),
        content_types: Sequence[str] = ("application/json", "text/csv"),
        binary_content_types: Sequence[str] = (),
        json_schema: apigateway.JsonSchema | None = None,
        max_payload_bytes: int | None = None,
        throttle: ApiThrottle | None = None,
        method_throttles: Mapping[str, ApiThrottle] | None = None,
        api_key_required: bool | None = None,
        usage_plans: Sequence[PartnerPlan] = (),
        vpc_endpoints: Sequence[ec2.IInterfaceVpcEndpoint] = (),
        allowed_accounts: Sequence[str] = (),
        firewall: ApiFirewall | None = ApiFirewall(),
        domain: ApiDomain | None = None,
        cors: apigateway.CorsOptions | None = None,
        stage_name: str = "prod",
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        execution_log_level: apigateway.MethodLoggingLevel | None = None,
        thresholds: ApiAlarmThresholds | None = None,
        topic: sns.ITopic | None = None,
        monitoring: Any = None,
        dashboard: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self._check_endpoint(endpoint)
        self.endpoint = endpoint
        self.authorization = authorization or ApiAuthorization.iam()
        validation.check_type(
            self, "authorization", self.authorization, ApiAuthorization, "an ApiAuthorization"
        )
        self.authorization.check(self, "authorization")
        self.path = self._check_path(path)
        self.stage_name = self._check_stage_name(stage_name)
        self._check_method_arn_length()
        self.variant_methods = self._check_variants(variant_methods)
        self.content_types, self.binary_content_types = self._check_content_types(
            content_types, binary_content_types
        )
        validation.check_optional_type(
            self, "json_schema", json_schema, apigateway.JsonSchema, "an apigateway.JsonSchema"
        )
        self.payload_limit = self._payload_limit()
        self.max_payload_bytes = self._check_payload(max_payload_bytes)
        self.throttle = throttle or ApiThrottle(rate_limit=100, burst_limit=200)
        validation.check_type(self, "throttle", self.throttle, ApiThrottle, "an ApiThrottle")
        self.throttle.check(self, "throttle")
        method_throttles = dict(method_throttles or {})
        for i, plan in enumerate(usage_plans):
            validation.check_type(self, f"usage_plans[{i}]", plan, PartnerPlan, "a PartnerPlan")
            plan.check(self, f"usage_plans[{i}]")
        if api_key_required is None:
            api_key_required = bool(usage_plans)
        validation.check_type(self, "api_key_required", api_key_required, bool, "a bool")
        if api_key_required and not usage_plans:
            _fail(
                self,
                "api_key_required",
                True,
                "API keys work only through a usage plan: give usage_plans=[PartnerPlan(...)]",
            )
        for i, vpce in enumerate(vpc_endpoints):
            validation.check_type(
                self,
                f"vpc_endpoints[{i}]",
                vpce,
                ec2.IInterfaceVpcEndpoint,
                "an ec2.IInterfaceVpcEndpoint for execute-api",
            )
        self.private = bool(vpc_endpoints)
        self.allowed_accounts = self._check_allowed_accounts(allowed_accounts)
        validation.check_optional_type(self, "firewall", firewall, ApiFirewall, "an ApiFirewall")
        if firewall is not None:
            firewall.check(self, "firewall")
        validation.check_optional_type(self, "domain", domain, ApiDomain, "an ApiDomain")
        if domain is not None:
            if self.private:
                _fail(
                    self,
                    "domain",
                    domain.domain_name,
                    "a private API's custom domain is a private domain name (DomainNameV2), "
                    "which this construct does not make: leave domain out, or vpc_endpoints",
                )
            domain.check(self, "domain")
        validation.check_optional_type(
            self, "cors", cors, apigateway.CorsOptions, "an apigateway.CorsOptions"
        )
        if cors is not None:
            self._check_cors(cors)
        validation.check_optional_type(
            self, "encryption_key", encryption_key, kms.IKey, "a kms.IKey"
        )
        self.thresholds = thresholds or ApiAlarmThresholds()
        validation.check_type(
            self, "thresholds", self.thresholds, ApiAlarmThresholds, "an ApiAlarmThresholds"
        )
        self.thresholds.check(self, "thresholds")
        validation.check_optional_type(self, "topic", topic, sns.ITopic, "an sns.ITopic")
        if execution_log_level is not None and execution_log_level not in (
            apigateway.MethodLoggingLevel.ERROR,
            apigateway.MethodLoggingLevel.INFO,
        ):
            _fail(
                self,
                "execution_log_level",
                execution_log_level,
                "give MethodLoggingLevel.ERROR or INFO, or None for no execution logging",
            )

        self.execution_log_level = execution_log_level
        self.encryption_key = encryption_key or encryption.encryption_key(
            self,
            "Key",
            f"Encrypts the logs and alarms of the API in front of {endpoint.endpoint_name}",
        )

        # --- the integration's role: InvokeEndpoint on this endpoint only ---
        # No aws:SourceAccount/SourceArn condition: API Gateway does not set
        # them when it assumes an integration's credentials role, so the
        # condition would refuse every call (see the README).
        self.invoke_role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description=f"API Gateway invokes SageMaker endpoint {endpoint.endpoint_name}",
        )
        iam.ManagedPolicy(
            self,
            "InvokePolicy",
            description=f"API Gateway may invoke SageMaker endpoint {endpoint.endpoint_name}",
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:InvokeEndpoint"], resources=[endpoint.endpoint_arn]
                )
            ],
            roles=[self.invoke_role],
        )

        # --- access logs ---
        self.access_logs = self._log_group(
            "AccessLogs",
            f"/aws/apigateway/{Names.unique_resource_name(self, max_length=200)}/access",
            log_retention,
        )
        method_options = {
            f"/{key}/POST": apigateway.MethodDeploymentOptions(
                throttling_rate_limit=value.rate_limit, throttling_burst_limit=value.burst_limit
            )
            for key, value in self._check_method_throttles(method_throttles).items()
        }
        policy = (
            self._resource_policy(vpc_endpoints) if self.private or self.allowed_accounts else None
        )
        self.api = apigateway.RestApi(
            self,
            "Api",
            # Unique in the account (not CDK's "Api" for every front): API
            # Gateway's metrics and the alarms' dimension ApiName are by name.
            rest_api_name=Names.unique_resource_name(self, max_length=API_NAME_MAX_LENGTH),
            description=f"HTTPS front of SageMaker endpoint {endpoint.endpoint_name}",
            endpoint_configuration=apigateway.EndpointConfiguration(
                types=[
                    apigateway.EndpointType.PRIVATE
                    if self.private
                    else apigateway.EndpointType.REGIONAL
                ],
                vpc_endpoints=list(vpc_endpoints) or None,
            ),
            policy=policy,
            binary_media_types=list(self.binary_content_types) or None,
            cloud_watch_role=False,
            disable_execute_api_endpoint=domain is not None,
            deploy_options=apigateway.StageOptions(
                stage_name=self.stage_name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=execution_log_level or apigateway.MethodLoggingLevel.OFF,
                data_trace_enabled=False,
                throttling_rate_limit=self.throttle.rate_limit,
                throttling_burst_limit=self.throttle.burst_limit,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(
                    json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))
                ),
                method_options=method_options or None,
            ),
        )
        self.stage = self.api.deployment_stage
        self.validator = self.api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        self._json_model = self.api.add_model(
            "JsonBody",
            content_type="application/json",
            schema=json_schema
            or apigateway.JsonSchema(
                schema=apigateway.JsonSchemaVersion.DRAFT4,
                title="InferenceRequest",
                type=[apigateway.JsonSchemaType.OBJECT, apigateway.JsonSchemaType.ARRAY],
            ),
        )
        self._authorizer_options = self._method_authorization()

        # --- methods ---
        resource = self.api.root.resource_for_path(self.path)
        #: Method by key: ``"<path>"`` and ``"<path>/variants/<name>"``.
        self.methods: dict[str, apigateway.Method] = {
            self.path: self._invoke_method(resource, None, api_key_required)
        }
        for name in self.variant_methods:
            child = resource.resource_for_path(f"variants/{name}")
            self.methods[f"{self.path}/variants/{name}"] = self._invoke_method(
                child, name, api_key_required
            )
        if cors is not None:
            for method in list(self.methods.values()):
                method.resource.add_cors_preflight(
                    allow_origins=cors.allow_origins,
                    allow_methods=list(cors.allow_methods or ["POST", "OPTIONS"]),
                    allow_headers=list(cors.allow_headers or [])
                    or [
                        "Content-Type",
                        "Accept",
                        "Authorization",
                        "X-Amz-Date",
                        "X-Amz-Security-Token",
                        "X-Api-Key",
                    ],
                    allow_credentials=cors.allow_credentials,
                    max_age=cors.max_age,
                    disable_cache=cors.disable_cache,
                    expose_headers=cors.expose_headers,
                    status_code=cors.status_code,
                )
                preflight = method.resource.node.try_find_child("OPTIONS")
                if preflight is not None:
                    acknowledge(
                        preflight,
                        "A CORS preflight (OPTIONS) carries no credentials by the CORS "
                        "specification: it answers from API Gateway without calling the model.",
                        "AwsSolutions-APIG4",
                        "AwsSolutions-COG4",
                    )
            # API Gateway's own answers (401/403 of the authoriser, 429 of the
            # throttle, 400 of the validator, 415, 5XX...) carry the same
            # headers, or browsers cannot read why a call failed.
            #: Gateway responses by type: ``"DEFAULT_4XX"``, ``"DEFAULT_5XX"`` (CORS only).
            self.gateway_responses: dict[str, apigateway.GatewayResponse] = {
                kind.response_type: self.api.add_gateway_response(
                    f"GatewayResponse{kind.response_type.replace('_', '')}",
                    type=kind,
                    response_headers=self._answer_headers(),
                )
                for kind in (
                    apigateway.ResponseType.DEFAULT_4_XX,
                    apigateway.ResponseType.DEFAULT_5_XX,
                )
            }
        else:
            self.gateway_responses = {}

        # --- partners ---
        #: Usage plans by name.
        self.usage_plans: dict[str, apigateway.UsagePlan] = {}
        for plan in usage_plans:
            throttle_settings = (
                apigateway.ThrottleSettings(
                    rate_limit=plan.throttle.rate_limit, burst_limit=plan.throttle.burst_limit
                )
                if plan.throttle
                else None
            )
            self.usage_plans[plan.name] = self.api.add_usage_plan(
                f"Plan{plan.name}",
                name=plan.name,
                throttle=throttle_settings,
                quota=apigateway.QuotaSettings(
                    limit=plan.quota_per_day, period=apigateway.Period.DAY
                )
                if plan.quota_per_day
                else None,
                api_stages=[apigateway.UsagePlanPerApiStage(api=self.api, stage=self.stage)],
            )

        # --- protection ---
        self.firewall = None
        if firewall is not None:
            self.firewall = self._firewall(firewall)
        else:
            Annotations.of(self).add_warning_v2(
                WARNING_NO_FIREWALL,
                "firewall=None: no AWS WAF web ACL guards the API, so no rate-based rule, no "
                "managed rules, and bodies above max_payload_bytes or of other content types "
                "reach API Gateway (which still refuses bodies above 10 MB"
                + ("" if self.binary_content_types else ", and text types it has no template for")
                + ").",
            )
        self.domain = None
        self._domain_options = domain
        if domain is not None:
            self.domain = self.api.add_domain_name(
                "Domain",
                domain_name=domain.domain_name,
                certificate=domain.certificate,
                endpoint_type=apigateway.EndpointType.REGIONAL,
                security_policy=domain.security_policy,
                base_path=domain.base_path,
            )
        if execution_log_level is not None:
            Annotations.of(self).add_warning_v2(
                WARNING_EXECUTION_LOGS,
                f"execution_log_level={execution_log_level}: API Gateway writes execution logs "
                f"to the log group API-Gateway-Execution-Logs_<api id>/{self.stage_name}, which "
                "it creates without a KMS key or retention; it needs the account's API Gateway "
                "CloudWatch role.",
            )
        self._acknowledge()

        # --- operations ---
        self.topic = topic or (monitoring.topic if monitoring is not None else None)
        if self.topic is None:
            self.topic = encryption.encrypted_topic(self, "Topic", self.encryption_key)
        self._action = cloudwatch_actions.SnsAction(self.topic)
        #: Alarms by kind: ``ErrorRate4xx``, ``ErrorRate5xx``, ``Latency``.
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarms()
        self.dashboard = None
        board = getattr(monitoring, "dashboard", None) if monitoring is not None else None
        if board is None and dashboard:
            board = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
            self.dashboard = board
        if board is not None:
            self._widgets(board)

    # --- checks ---------------------------------------------------------------

    def _check_endpoint(self, endpoint: object) -> None:
        validation.check_type(
            self,
            "endpoint",
            endpoint,
            EndpointBase,
            "an Endpoint, or an endpoint imported with Endpoint.from_endpoint_attributes",
        )
        assert isinstance(endpoint, EndpointBase)
        stack = Stack.of(self)
        account, region = endpoint.env.account, endpoint.env.region
        if (
            not validation.is_token(account)
            and not validation.is_token(stack.account)
            and account != stack.account
        ):
            _fail(
                self,
                "endpoint",
                endpoint.endpoint_name,
                f"the endpoint is in account {account} and the API in {stack.account}: SageMaker "
                "endpoints take no resource policy, so the API's role cannot invoke it; put "
                "the front in the endpoint's account",
            )
        self._endpoint_region = (
            region if not validation.is_token(region) and region != stack.region else None
        )
        if endpoint.asynchronous:
            _fail(
                self,
                "endpoint",
                endpoint.endpoint_name,
                "an asynchronous endpoint takes InvokeEndpointAsync with an S3 input location, "
                "which this front does not call: front a real-time endpoint",
            )
        if endpoint.component_mode is True:
            _fail(
                self,
                "endpoint",
                endpoint.endpoint_name,
                "an endpoint in component mode (variants of ComponentVariant) is invoked with "
                "InferenceComponentName naming a component, which this front does not pass: "
                "front an endpoint of model variants, or call InvokeEndpoint with "
                "InferenceComponentName",
            )
        # An imported endpoint says nothing of its models; one made here does.
        multi_model = [
            getattr(v, "variant_name", "?")
            for v in getattr(endpoint, "variants", ())
            if getattr(getattr(v, "model", None), "multi_model", False)
        ]
        if multi_model:
            _fail(
                self,
                "endpoint",
                endpoint.endpoint_name,
                f"variant(s) {', '.join(multi_model)} serve a multi-model model, invoked with "
                "TargetModel naming an artifact under the prefix, which this front does not "
                "pass: front an endpoint of single models, or call InvokeEndpoint with "
                "TargetModel",
            )

    def _check_path(self, path: object) -> str:
        if (
            not isinstance(path, str)
            or not path
            or not all(PATH_PART.match(part) for part in path.split("/"))
        ):
            _fail(
                self,
                "path",
                path,
                "must be 1+ segments of letters, digits, '.', '_', '-' separated by '/', without "
                "leading or trailing '/', e.g. 'fraud/score'",
            )
        assert isinstance(path, str)
        if path.split("/")[-1] == "variants" or "/variants/" in f"/{path}/":
            _fail(self, "path", path, "'variants' is reserved for the per-variant methods")
        return path

    def _check_stage_name(self, stage_name: object) -> str:
        if not isinstance(stage_name, str) or not STAGE_NAME.match(stage_name):
            _fail(
                self,
                "stage_name",
                stage_name,
                "must be 1-128 letters, digits and '_' (API Gateway stage names)",
            )
        assert isinstance(stage_name, str)
        return stage_name

    def _check_method_arn_length(self) -> None:
        # arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/POST/<path>
        # with the longest partition and Region names and a 10-character API ID.
        longest = len("arn:aws-iso-b:execute-api:ap-southeast-7:123456789012:0123456789/")
        longest += len(f"{self.stage_name}/POST/{self.path}/variants/") + 63
        if longest > METHOD_ARN_MAX_BYTES:
            room = METHOD_ARN_MAX_BYTES - (longest - len(self.path))
            _fail(
                self,
                "path",
                self.path,
                f"the method ARN could reach {longest} bytes, above API Gateway's "
                f"{METHOD_ARN_MAX_BYTES} for methods with authorisation: keep the path within "
                f"{room} characters",
            )

    def _check_variants(self, names: object) -> tuple[str, ...]:
        if isinstance(names, str) or not isinstance(names, Sequence):
            _fail(self, "variant_methods", names, "must be a list of production variant names")
        assert isinstance(names, Sequence)
        known = self.endpoint.production_variant_names
        shadow = self.endpoint.shadow_variant_name
        for i, name in enumerate(names):
            validation.check_sagemaker_name(self, f"variant_methods[{i}]", name)
            if name == shadow:
                _fail(
                    self,
                    f"variant_methods[{i}]",
                    name,
                    "a shadow variant takes a copy of production traffic and cannot be invoked "
                    "directly: name a production variant",
                )
            if known and name not in known:
                _fail(
                    self,
                    f"variant_methods[{i}]",
                    name,
                    f"names no production variant of {self.endpoint.endpoint_name} "
                    f"({', '.join(known)})",
                )
        if len(set(names)) != len(names):
            _fail(self, "variant_methods", list(names), "name each variant once")
        return tuple(names)

    def _check_content_types(
        self, text: object, binary: object
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        for prop, value in (("content_types", text), ("binary_content_types", binary)):
            if isinstance(value, str) or not isinstance(value, Sequence):
                _fail(self, prop, value, "must be a list of media types such as 'text/csv'")
            assert isinstance(value, Sequence)
            for i, media in enumerate(value):
                if not isinstance(media, str) or not MEDIA_TYPE.match(media):
                    _fail(
                        self,
                        f"{prop}[{i}]",
                        media,
                        "must be one lower-case media type 'type/subtype' without parameters "
                        "or wildcards, e.g. 'application/json'",
                    )
            found[prop] = tuple(value)
        both = sorted(set(found["content_types"]) & set(found["binary_content_types"]))
        if both:
            _fail(self, "binary_content_types", both, "a type is either text or binary, not both")
        if not found["content_types"] and not found["binary_content_types"]:
            _fail(self, "content_types", [], "give at least one content type")
        return found["content_types"], found["binary_content_types"]

    def _payload_limit(self) -> tuple[int, str]:
        """The largest body both services take, and why."""
        serverless = any(v.serverless for v in self.endpoint.variant_attributes if not v.shadow)
        if serverless:
            return SAGEMAKER_SERVERLESS_PAYLOAD_BYTES, "SageMaker's 4 MB for serverless endpoints"
        return SAGEMAKER_REALTIME_PAYLOAD_BYTES, "SageMaker's 6 MiB for real-time endpoints"

    def _check_payload(self, value: int | None) -> int:
        limit, why = self.payload_limit
        if value is None:
            return limit
        validation.check_int(self, "max_payload_bytes", value, low=1)
        if value > API_GATEWAY_PAYLOAD_BYTES:
            _fail(
                self,
                "max_payload_bytes",
                value,
                f"API Gateway REST APIs take at most 10 MB ({API_GATEWAY_PAYLOAD_BYTES} bytes); "
                "send larger inputs to an asynchronous endpoint through S3",
            )
        if value > limit:
            _fail(
                self,
                "max_payload_bytes",
                value,
                f"above {why} ({limit} bytes): lower it, or use an asynchronous endpoint "
                "(up to 1 GB through S3) for larger inputs",
            )
        return value

    def _check_method_throttles(self, throttles: dict[str, ApiThrottle]) -> dict[str, ApiThrottle]:
        keys = [self.path, *(f"{self.path}/variants/{n}" for n in self.variant_methods)]
        for key, value in throttles.items():
            if key not in keys:
                _fail(
                    self,
                    "method_throttles",
                    {key: value},
                    f"{key!r} names no method of this API ({', '.join(keys)})",
                )
            validation.check_type(
                self, f"method_throttles[{key!r}]", value, ApiThrottle, "an ApiThrottle"
            )
            value.check(self, f"method_throttles[{key!r}]")
        return throttles

    def _check_cors(self, cors: apigateway.CorsOptions) -> None:
        origins = list(cors.allow_origins)
        if len(origins) != 1:
            _fail(
                self,
                "cors.allow_origins",
                origins,
                "give exactly one origin: the model's answers carry it in "
                "Access-Control-Allow-Origin, which holds one",
            )
        if origins == ["*"] and cors.allow_credentials:
            _fail(
                self,
                "cors.allow_origins",
                origins,
                "'*' with allow_credentials=True lets any site call with the user's "
                "credentials (browsers refuse it anyway): name the origin",
            )
        self._cors_origin = origins[0]
        if not isinstance(origins[0], str) or not CORS_ORIGIN.fullmatch(origins[0]):
            _fail(
                self,
                "cors.allow_origins[0]",
                origins[0],
                "must be '*' or an origin scheme://host[:port], e.g. 'https://app.example.com'",
            )
        if cors.allow_methods is not None:
            methods = list(cors.allow_methods)
            if "POST" not in methods or not set(methods) <= {"POST", "OPTIONS"}:
                _fail(
                    self,
                    "cors.allow_methods",
                    methods,
                    "the front's resources take POST only (and the OPTIONS preflight): "
                    "give ['POST'] or ['POST', 'OPTIONS'], or leave it out",
                )
        if cors.disable_cache and cors.max_age is not None:
            _fail(
                self,
                "cors.disable_cache",
                True,
                "disable_cache sends Access-Control-Max-Age: -1, which max_age contradicts: "
                "give one of them",
            )
        for i, name in enumerate(cors.expose_headers or ()):
            if not isinstance(name, str) or not CORS_HEADER_NAME.fullmatch(name):
                _fail(
                    self,
                    f"cors.expose_headers[{i}]",
                    name,
                    "must be an HTTP header name (letters, digits and !#$%&*+.^_`|~-), "
                    "e.g. 'X-Invoked-Variant'",
                )
        self._cors_headers = self._cors_response_headers(cors)

    @staticmethod
    def _cors_response_headers(cors: apigateway.CorsOptions) -> dict[str, str]:
        """The CORS headers of every real answer (the preflight's are CDK's)."""
        headers = {"Access-Control-Allow-Origin": f"'{next(iter(cors.allow_origins))}'"}
        if cors.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "'true'"
        if cors.expose_headers:
            headers["Access-Control-Expose-Headers"] = f"'{','.join(cors.expose_headers)}'"
        return headers

    # --- parts ----------------------------------------------------------------

    def _log_group(
        self, construct_id: str, name: str, retention: logs.RetentionDays
    ) -> logs.LogGroup:
        encryption.allow_logs_to_use_key(self, self.encryption_key, name)
        return logs.LogGroup(
            self,
            construct_id,
            log_group_name=name,
            encryption_key=self.encryption_key,
            retention=retention,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _resource_policy(
        self, vpc_endpoints: Sequence[ec2.IInterfaceVpcEndpoint]
    ) -> iam.PolicyDocument:
        """Deny any way in but the VPC endpoints (private); allow what IAM does not decide.

        With IAM authorisation no ``Allow`` names ``*``: it would let any
        principal of the account call without ``execute-api:Invoke``. Other
        accounts in ``allowed_accounts`` are allowed by name.
        """
        ids = [v.vpc_endpoint_id for v in vpc_endpoints]
        invoke = "execute-api:/*"
        statements = []
        if ids:
            statements.append(
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=[invoke],
                    conditions={"StringNotEquals": {"aws:SourceVpce": ids}},
                )
            )
        if self.authorization.kind == "IAM":
            if self.allowed_accounts:
                statements.append(
                    iam.PolicyStatement(
                        principals=[iam.AccountPrincipal(a) for a in self.allowed_accounts],
                        actions=["execute-api:Invoke"],
                        resources=[invoke],
                    )
                )
        else:
            # The authoriser (or nobody, for an anonymous API) decides who calls.
            statements.append(
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=["execute-api:Invoke"],
                    resources=[invoke],
                    conditions={"StringEquals": {"aws:SourceVpce": ids}},
                )
            )
        return iam.PolicyDocument(statements=statements)

    def _check_allowed_accounts(self, accounts: object) -> tuple[str, ...]:
        if isinstance(accounts, str) or not isinstance(accounts, Sequence):
            _fail(self, "allowed_accounts", accounts, "must be a list of 12-digit account IDs")
        assert isinstance(accounts, Sequence)
        own = Stack.of(self).account
        for i, account in enumerate(accounts):
            if validation.is_token(account):
                continue
            if not isinstance(account, str) or not re.fullmatch(r"\d{12}", account):
                _fail(
                    self,
                    f"allowed_accounts[{i}]",
                    account,
                    "must be an AWS account ID of 12 digits, e.g. '123456789012'",
                )
            if not validation.is_token(own) and account == own:
                _fail(
                    self,
                    f"allowed_accounts[{i}]",
                    account,
                    "is the API's own account, whose principals need only their "
                    "execute-api:Invoke grant (grant_invoke): leave it out",
                )
        if len(set(accounts)) != len(accounts):
            _fail(self, "allowed_accounts", list(accounts), "name each account once")
        if accounts and self.authorization.kind != "IAM":
            _fail(
                self,
                "allowed_accounts",
                list(accounts),
                f"the API authorises with {self.authorization.kind}, not IAM: the resource "
                "policy already lets every caller reach the authoriser; leave it out, or "
                "authorise with ApiAuthorization.iam()",
            )
        return tuple(accounts)

    def _method_authorization(self) -> dict[str, Any]:
        auth = self.authorization
        if auth.kind == "IAM":
            return {"authorization_type": apigateway.AuthorizationType.IAM}
        if auth.kind == "COGNITO":
            authorizer = apigateway.CognitoUserPoolsAuthorizer(
                self, "Authorizer", cognito_user_pools=list(auth.user_pools)
            )
            return {
                "authorization_type": apigateway.AuthorizationType.COGNITO,
                "authorizer": authorizer,
                "authorization_scopes": list(auth.scopes) or None,
            }
        if auth.kind == "CUSTOM":
            return {
                "authorization_type": apigateway.AuthorizationType.CUSTOM,
                "authorizer": auth.authorizer,
            }
        Annotations.of(self).add_warning_v2(
            WARNING_ANONYMOUS,
            f"the API in front of {self.endpoint.endpoint_name} takes anonymous requests "
            f"(ApiAuthorization.anonymous: {auth.reason}).",
        )
        return {"authorization_type": apigateway.AuthorizationType.NONE}

    def _integration(self, variant: str | None) -> apigateway.AwsIntegration:
        parameters = {
            "integration.request.header.Content-Type": "method.request.header.Content-Type",
            "integration.request.header.Accept": "method.request.header.Accept",
        }
        if variant is not None:
            parameters["integration.request.header.X-Amzn-SageMaker-Target-Variant"] = (
                f"'{variant}'"
            )
        error_body = {"application/json": '{"message": "%s", "requestId": "$context.requestId"}'}
        responses = [
            apigateway.IntegrationResponse(
                status_code="200",
                selection_pattern=r"2\d{2}",
                response_parameters={
                    "method.response.header.Content-Type": (
                        "integration.response.header.Content-Type"
                    ),
                    "method.response.header.X-Invoked-Variant": (
                        "integration.response.header.X-Amzn-Invoked-Production-Variant"
                    ),
                    **self._static_headers(),
                },
            ),
            *(
                apigateway.IntegrationResponse(
                    status_code=status,
                    selection_pattern=pattern,
                    response_parameters=self._static_headers(),
                    response_templates={k: v % message for k, v in error_body.items()},
                )
                for pattern, (status, message) in ERROR_STATUS.items()
            ),
            apigateway.IntegrationResponse(
                status_code=UNEXPECTED_STATUS[0],
                response_parameters=self._static_headers(),
                response_templates={k: v % UNEXPECTED_STATUS[1] for k, v in error_body.items()},
            ),
        ]
        templates = None
        passthrough = apigateway.PassthroughBehavior.WHEN_NO_MATCH
        if not self.binary_content_types:
            # API Gateway itself answers 415 to any other content type.
            templates = dict.fromkeys(self.content_types, "$input.body")
            passthrough = apigateway.PassthroughBehavior.NEVER
        # CDK's SagemakerIntegration is this AwsIntegration plus two things the
        # front must not have: a grant of InvokeEndpoint, InvokeEndpointAsync and
        # the streaming call to the role, and a bare 200 method response that
        # duplicates the front's own (CDK warns: the deployment would be
        # nondeterministic).
        return apigateway.AwsIntegration(
            service="runtime.sagemaker",
            path=f"endpoints/{self.endpoint.endpoint_name}/invocations",
            # An endpoint imported from another Region is called there.
            region=self._endpoint_region,
            integration_http_method="POST",
            options=apigateway.IntegrationOptions(
                credentials_role=self.invoke_role,
                request_parameters=parameters,
                request_templates=templates,
                passthrough_behavior=passthrough,
                integration_responses=responses,
            ),
        )

    def _static_headers(self) -> dict[str, str]:
        return {f"method.response.header.{k}": v for k, v in self._answer_headers().items()}

    def _answer_headers(self) -> dict[str, str]:
        """Header name -> quoted value for every answer: security headers, CORS when configured."""
        return {**SECURITY_HEADERS, **getattr(self, "_cors_headers", {})}

    def _invoke_method(
        self, resource: apigateway.IResource, variant: str | None, api_key_required: bool
    ) -> apigateway.Method:
        headers = dict.fromkeys(self._static_headers(), True)
        statuses = sorted({"200", UNEXPECTED_STATUS[0], *(s for s, _ in ERROR_STATUS.values())})
        method_responses = [
            apigateway.MethodResponse(
                status_code=status,
                response_parameters={
                    **headers,
                    **(
                        {
                            "method.response.header.Content-Type": True,
                            "method.response.header.X-Invoked-Variant": True,
                        }
                        if status == "200"
                        else {}
                    ),
                },
            )
            for status in statuses
        ]
        return resource.add_method(
            "POST",
            self._integration(variant),
            request_validator=self.validator,
            request_parameters={
                "method.request.header.Content-Type": True,
                "method.request.header.Accept": False,
            },
            request_models={"application/json": self._json_model}
            if "application/json" in self.content_types
            else None,
            method_responses=method_responses,
            api_key_required=api_key_required,
            **self._authorizer_options,
        )

    def _firewall(self, options: ApiFirewall) -> wafv2.CfnWebACL:
        stack = Stack.of(self)

        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        def header(name: str) -> wafv2.CfnWebACL.FieldToMatchProperty:
            return wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": name})

        # "Application/JSON ; charset=utf-8" is read as "application/json;charset=utf-8".
        media_form = [
            wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE"),
            wafv2.CfnWebACL.TextTransformationProperty(priority=1, type="REMOVE_WHITESPACE"),
        ]
        is_post = wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
                positional_constraint="EXACTLY",
                search_string="POST",
                text_transformations=[
                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                ],
            )
        )
        # The type exactly, or the type and its parameters: not a prefix
        # ("application/jsonx" is another type).
        accepted = [
            wafv2.CfnWebACL.StatementProperty(
                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                    field_to_match=header("content-type"),
                    positional_constraint=constraint,
                    search_string=search,
                    text_transformations=media_form,
                )
            )
            for media in (*self.content_types, *self.binary_content_types)
            for constraint, search in (("EXACTLY", media), ("STARTS_WITH", f"{media};"))
        ]
        any_accepted = wafv2.CfnWebACL.StatementProperty(
            or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=accepted)
        )
        # A POST without a numeric Content-Length (none, or chunked) would pass
        # the payload rule unmeasured: it gets 411.
        has_length = wafv2.CfnWebACL.StatementProperty(
            regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                field_to_match=header("content-length"),
                regex_string="^[0-9]+$",
                text_transformations=[
                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                ],
            )
        )
        too_large = wafv2.CfnWebACL.StatementProperty(
            regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                field_to_match=header("content-length"),
                regex_string=greater_than_pattern(self.max_payload_bytes),
                text_transformations=[
                    wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                ],
            )
        )

        # A custom WAF answer replaces API Gateway's gateway responses whole:
        # it carries the CORS headers itself (names as given, values unquoted).
        cors_headers = [
            wafv2.CfnWebACL.CustomHTTPHeaderProperty(name=name, value=value.strip("'"))
            for name, value in getattr(self, "_cors_headers", {}).items()
        ] or None

        def block(code: int, key: str) -> wafv2.CfnWebACL.RuleActionProperty:
            return wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=code,
                        custom_response_body_key=key,
                        response_headers=cors_headers,
                    )
                )
            )

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="LengthRequired",
                priority=0,
                action=block(411, "LengthRequired"),
                statement=wafv2.CfnWebACL.StatementProperty(
                    and_statement=wafv2.CfnWebACL.AndStatementProperty(
                        statements=[
                            is_post,
                            wafv2.CfnWebACL.StatementProperty(
                                not_statement=wafv2.CfnWebACL.NotStatementProperty(
                                    statement=has_length
                                )
                            ),
                        ]
                    )
                ),
                visibility_config=visibility("LengthRequired"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="PayloadTooLarge",
                priority=1,
                action=block(413, "PayloadTooLarge"),
                statement=too_large,
                visibility_config=visibility("PayloadTooLarge"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="UnsupportedContentType",
                priority=2,
                action=block(415, "UnsupportedContentType"),
                statement=wafv2.CfnWebACL.StatementProperty(
                    and_statement=wafv2.CfnWebACL.AndStatementProperty(
                        statements=[
                            is_post,
                            wafv2.CfnWebACL.StatementProperty(
                                not_statement=wafv2.CfnWebACL.NotStatementProperty(
                                    statement=any_accepted
                                )
                            ),
                        ]
                    )
                ),
                visibility_config=visibility("UnsupportedContentType"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerClientIp",
                priority=3,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=options.rate_limit
                    )
                ),
                visibility_config=visibility("RatePerClientIp"),
            ),
        ]
        for i, group in enumerate(options.managed_rule_groups):
            overrides = (
                [
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name="SizeRestrictions_BODY",
                        action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                    )
                ]
                if group == "AWSManagedRulesCommonRuleSet"
                else None
            )
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=10 + i,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=group, rule_action_overrides=overrides
                        )
                    ),
                    visibility_config=visibility(group),
                )
            )
        message = '{"message": "%s"}'
        acl = wafv2.CfnWebACL(
            self,
            "Firewall",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(f"{Names.unique_id(self)[-100:]}"),
            custom_response_bodies={
                "LengthRequired": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=message % "Send Content-Length with the body's size in bytes.",
                ),
                "PayloadTooLarge": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=message % f"The request body is above {self.max_payload_bytes} bytes.",
                ),
                "UnsupportedContentType": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=message
                    % (
                        "Send Content-Type "
                        + ", ".join((*self.content_types, *self.binary_content_types))
                        + "."
                    ),
                ),
            },
            rules=rules,
        )
        wafv2.CfnWebACLAssociation(
            self, "FirewallAssociation", resource_arn=self.stage.stage_arn, web_acl_arn=acl.attr_arn
        )
        # WAF logs go to a log group named aws-waf-logs-*, encrypted, without
        # the authorisation headers.
        name = f"aws-waf-logs-{Names.unique_resource_name(self, max_length=200)}"
        log_group = self._log_group("FirewallLogs", name, options.log_retention)
        wafv2.CfnLoggingConfiguration(
            self,
            "FirewallLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[
                Arn.format(
                    ArnComponents(
                        service="logs",
                        resource="log-group",
                        resource_name=log_group.log_group_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    ),
                    stack,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(
                    single_header={"Name": header_name}
                )
                for header_name in ("authorization", "x-api-key", "x-amz-security-token")
            ],
        )
        self.firewall_logs = log_group
        return acl

    def _acknowledge(self) -> None:
        """Findings the design answers, each with its reason."""
        if self.execution_log_level is None:
            acknowledge(
                self.stage,
                "Execution logging is off by default: its logs can hold request data and go "
                "to a log group API Gateway creates without a KMS key or retention. Access "
                "logs (no payloads) go to a KMS-encrypted log group instead; "
                "execution_log_level turns it on.",
                "AwsSolutions-APIG6",
                "HIPAA.Security-APIGWExecutionLoggingEnabled",
                "NIST.800.53.R5-APIGWExecutionLoggingEnabled",
                "PCI.DSS.321-APIGWExecutionLoggingEnabled",
                guard=["api_gw_v1_execution_logging_enabled_check"],
            )
        acknowledge(
            self.stage,
            "Inference is a POST whose answer depends on its body: API Gateway caches GET "
            "answers by key, so a cache would serve no request and only hold model outputs.",
            "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
            "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
            "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
            checkov=["CKV_AWS_120"],
        )
        acknowledge(
            self.stage,
            "Client certificates authenticate API Gateway to HTTP back ends; the back end "
            "here is the SageMaker runtime, an AWS service integration called over TLS with "
            "Signature V4 of the invoke role.",
            "HIPAA.Security-APIGWSSLEnabled",
            "NIST.800.53.R5-APIGWSSLEnabled",
            "PCI.DSS.321-APIGWSSLEnabled",
        )
        kind = self.authorization.kind
        if kind == "COGNITO":
            return
        reason = {
            "IAM": "The methods authorise with IAM (Signature V4, execute-api:Invoke), the "
            "library's default; Cognito is an option, not a requirement.",
            "CUSTOM": "The methods authorise with the Lambda authoriser given "
            "(ApiAuthorization.lambda_authorizer), e.g. JWTs of another identity provider.",
            "NONE": "Anonymous on purpose (ApiAuthorization.anonymous): "
            f"{self.authorization.reason}",
        }[kind]
        rules = ["AwsSolutions-COG4"] + (["AwsSolutions-APIG4"] if kind == "NONE" else [])
        # checkov's "no open access to back-end resources through API" is the opt-out itself.
        checkov = ["CKV_AWS_59"] if kind == "NONE" else []
        for method in self.methods.values():
            acknowledge(method, reason, *rules, checkov=checkov)

    # --- operations -----------------------------------------------------------

    def metric_error_rate(self, family: str, **options: Any) -> cloudwatch.MathExpression:
        """4XX or 5XX answers in percent of requests (``family``: ``"4XX"`` or ``"5XX"``)."""
        metric = (
            self.stage.metric_client_error if family == "4XX" else self.stage.metric_server_error
        )
        options.setdefault("label", f"{family} rate (%)")
        errors = f"errors{family.lower()}"
        return cloudwatch.MathExpression(
            expression=f"100 * {errors} / MAX([requests, 1])",
            using_metrics={
                errors: metric(period=Duration.minutes(1), statistic="Sum"),
                "requests": self.stage.metric_count(period=Duration.minutes(1), statistic="Sum"),
            },
            period=Duration.minutes(1),
            **options,
        )

    def _alarm(self, kind: str, metric: cloudwatch.IMetric, threshold: float, what: str) -> None:
        t = self.thresholds
        alarm = cloudwatch.Alarm(
            self,
            kind,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=t.evaluation_periods,
            datapoints_to_alarm=t.datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{what} (API in front of {self.endpoint.endpoint_name})",
        )
        alarm.add_alarm_action(self._action)
        self.alarms[kind] = alarm

    def _alarms(self) -> None:
        t = self.thresholds
        if t.error_rate_4xx_percent is not None:
            self._alarm(
                "ErrorRate4xx",
                self.metric_error_rate("4XX"),
                t.error_rate_4xx_percent,
                f"Share of requests answered 4XX above {t.error_rate_4xx_percent} %",
            )
        if t.error_rate_5xx_percent is not None:
            self._alarm(
                "ErrorRate5xx",
                self.metric_error_rate("5XX"),
                t.error_rate_5xx_percent,
                f"Share of requests answered 5XX above {t.error_rate_5xx_percent} %",
            )
        if t.latency_p99 is not None:
            self._alarm(
                "Latency",
                self.stage.metric_latency(period=Duration.minutes(1), statistic="p99"),
                t.latency_p99.to_milliseconds(),
                f"p99 latency above {t.latency_p99.to_milliseconds()} ms",
            )

    def _widgets(self, board: cloudwatch.Dashboard) -> None:
        name = self.endpoint.endpoint_name
        if self.alarms:  # every threshold None: no alarms, no empty widget
            board.add_widgets(
                cloudwatch.AlarmStatusWidget(
                    title=f"{name} API: alarms", alarms=list(self.alarms.values()), width=24
                )
            )
        board.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{name} API: requests and error rates",
                left=[self.stage.metric_count(period=Duration.minutes(1), statistic="Sum")],
                right=[self.metric_error_rate("4XX"), self.metric_error_rate("5XX")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title=f"{name} API: latency p99 (ms)",
                left=[
                    self.stage.metric_latency(period=Duration.minutes(1), statistic="p99"),
                    self.stage.metric_integration_latency(
                        period=Duration.minutes(1), statistic="p99"
                    ),
                ],
                width=12,
            ),
        )

    # --- use ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The stage's URL (``https://<id>.execute-api.<region>.amazonaws.com/<stage>/``),
        or the custom domain's when one is given."""
        if self._domain_options is not None:
            base = self._domain_options.base_path
            return f"https://{self._domain_options.domain_name}/{base + '/' if base else ''}"
        return self.api.url

    def invoke_url(self, variant: str | None = None) -> str:
        """The URL to POST to (of one variant's method when ``variant`` is given)."""
        return f"{self.url}{self._method_path(variant)}"

    def _method_path(self, variant: str | None) -> str:
        if variant is None:
            return self.path
        if variant not in self.variant_methods:
            _fail(
                self,
                "variant",
                variant,
                f"has no method here; variant_methods: {', '.join(self.variant_methods) or 'none'}",
            )
        return f"{self.path}/variants/{variant}"

    def grant_invoke(self, grantee: iam.IGrantable, variant: str | None = None) -> iam.Grant:
        """Let ``grantee`` call the API (``execute-api:Invoke`` on the POST method(s)).

        Without ``variant``: the endpoint's method and every variant method.
        """
        if self.authorization.kind != "IAM":
            _fail(
                self,
                "grant_invoke",
                shown(grantee),
                f"the API authorises with {self.authorization.kind}, not IAM: an IAM grant "
                "would not let anyone in",
            )
        paths = (
            [self._method_path(variant)]
            if variant is not None
            else [self.path, *(self._method_path(v) for v in self.variant_methods)]
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[
                self.api.arn_for_execute_api("POST", f"/{p}", self.stage_name) for p in paths
            ],
        )


def shown(value: object) -> object:
    """A value as messages show it (constructs by path)."""
    return validation.shown(value)


__all__ = [
    "ApiAlarmThresholds",
    "ApiAuthorization",
    "ApiDomain",
    "ApiFirewall",
    "ApiThrottle",
    "EndpointApi",
    "PartnerPlan",
    "greater_than_pattern",
]
