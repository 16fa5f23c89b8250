"""A real-time SageMaker endpoint: encrypted, multi-AZ by default, logged."""

from __future__ import annotations

from aws_cdk import Annotations, Arn, ArnComponents, ArnFormat, Names, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.model import Model
from constructs import Construct

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_VARIANT_NAME = "AllTraffic"


class Endpoint(Construct):
    """A real-time endpoint serving one model on one production variant.

    Multi-AZ by default: the variant needs at least two instances (SageMaker
    places them in different Availability Zones) and, when the model runs in
    a VPC, subnets in at least two zones. ``multi_az=False`` allows a single
    instance for development and adds a warning to the construct.

    The endpoint config's storage volume and the endpoint's log group
    (``/aws/sagemaker/Endpoints/<name>``, created here so its retention and
    encryption are ours) are encrypted with ``encryption_key``. The config
    has no fixed name: any change to the model or the variant creates a new
    config, and the endpoint moves to it in place, keeping its name.

    Construct IDs (a public contract): ``Key`` (when created), ``LogGroup``,
    ``Config`` (the ``AWS::SageMaker::EndpointConfig``), ``Resource`` (the
    ``AWS::SageMaker::Endpoint``).

    :param model: the model to serve.
    :param endpoint_name: the endpoint's name. Default: derived from the
        construct path, unique in the app, at most 63 characters.
    :param variant_name: the production variant's name. Default: ``"AllTraffic"``.
    :param instance_type: a SageMaker hosting instance type. Default: ``"ml.m5.large"``.
    :param instance_count: initial instances of the variant. Default: 2.
    :param multi_az: require the variant to span Availability Zones. Default: ``True``.
    :param encryption_key: KMS key for the storage volume and the log group.
        Default: a new key with rotation.
    :param log_retention: how long the endpoint's logs are kept. Default: one year.
    :param removal_policy: for the key and the log group. Default: ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: Model,
        endpoint_name: str | None = None,
        variant_name: str = DEFAULT_VARIANT_NAME,
        instance_type: str = DEFAULT_INSTANCE_TYPE,
        instance_count: int = 2,
        multi_az: bool = True,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        validation.check_sagemaker_name(self, "endpoint_name", endpoint_name)
        validation.check_sagemaker_name(self, "variant_name", variant_name)
        validation.check_instance_type(self, "instance_type", instance_type)
        validation.check_instance_count(self, "instance_count", instance_count, multi_az=multi_az)
        if multi_az and model.vpc is not None:
            validation.check_availability_zones(
                self, "model.vpc_subnets", model.subnet_availability_zones
            )
        if not multi_az:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:SingleAz",
                "multi_az=False: this endpoint may run in one Availability Zone and is not "
                "covered by the SageMaker SLA. Use it for development only.",
            )

        self.endpoint_name: str = endpoint_name or Names.unique_resource_name(
            self, max_length=validation.NAME_MAX_LENGTH, separator="-"
        )
        self.variant_name = variant_name
        stack = Stack.of(self)

        self.encryption_key: kms.IKey = encryption_key or kms.Key(
            self,
            "Key",
            description=f"Encrypts the storage volumes and logs of endpoint {self.endpoint_name}",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        log_group_name = f"/aws/sagemaker/Endpoints/{self.endpoint_name}"
        log_group_arn = Arn.format(
            components=ArnComponents(
                service="logs",
                resource="log-group",
                resource_name=log_group_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            stack=stack,
        )
        # CloudWatch Logs may use the key for this log group only.
        added = self.encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
            )
        )
        if not added.statement_added:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:ImportedKey",
                "encryption_key is imported, so its key policy cannot be changed here: allow "
                f"the CloudWatch Logs service to use it for log group {log_group_name}.",
            )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            encryption_key=self.encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        model.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )

        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            kms_key_id=self.encryption_key.key_arn,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=variant_name,
                    model_name=model.model_name,
                    instance_type=instance_type,
                    initial_instance_count=instance_count,
                    initial_variant_weight=1.0,
                )
            ],
        )
        self.resource = sagemaker.CfnEndpoint(
            self,
            "Resource",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
        )
        # The endpoint writes logs as soon as its instances start.
        self.resource.node.add_dependency(self.log_group, model)

    @property
    def endpoint_arn(self) -> str:
        """The endpoint's ARN."""
        return self.resource.ref

    @property
    def endpoint_config_name(self) -> str:
        """The name of the endpoint config in use, generated by CloudFormation."""
        return self.config.attr_endpoint_config_name

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke this endpoint (real-time, streaming and asynchronous)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sagemaker:InvokeEndpoint",
                "sagemaker:InvokeEndpointAsync",
                "sagemaker:InvokeEndpointWithResponseStream",
            ],
            resource_arns=[self.endpoint_arn],
        )
