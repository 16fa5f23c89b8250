"""A SageMaker model: one container, its artifact, and a least-privilege execution role."""

from __future__ import annotations

import abc
import dataclasses
import enum
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import jsii
from aws_cdk import Annotations, Arn, ArnComponents, ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, BucketLike
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from constructs import Construct

if TYPE_CHECKING:
    # Imported where used: aws_ec2 alone takes 0.07 s to import, which every
    # synth would pay for models without a VPC.
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecr as ecr
    from aws_cdk import aws_kms as kms

    from cdk_sagemaker_hosting.compilation import CompiledModel
    from cdk_sagemaker_hosting.registry import ModelPackage


class ContainerImage(abc.ABC):
    """Where a model's container image comes from.

    The model's role is granted pull on that image's repository only.
    """

    @staticmethod
    def from_ecr_repository(repository: ecr.IRepository, tag: str = "latest") -> ContainerImage:
        """An image in an Amazon ECR repository object, by tag or ``sha256:`` digest."""
        return _RepositoryImage(repository, tag)

    @staticmethod
    def from_registry(image_uri: str) -> ContainerImage:
        """An image by its full Amazon ECR URI, e.g. an AWS-managed framework image.

        The URI must be an ECR image URI; the repository it names is the only
        one the model's role may pull from.
        """
        return _UriImage(image_uri)

    @abc.abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "image") -> str:
        """Validate, grant ``grantee`` pull on the repository, and return the image URI."""


class _RepositoryImage(ContainerImage):
    def __init__(self, repository: ecr.IRepository, tag: str) -> None:
        self._repository = repository
        self._tag = tag

    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "image") -> str:
        from aws_cdk import aws_ecr as ecr  # noqa: PLC0415 - see the imports

        validation.check_type(scope, prop, self._repository, ecr.IRepository, "an ecr.IRepository")
        # An imported repository's env is the importing stack's: its ARN says where it is.
        arn = self._repository.repository_arn
        repository_region = (
            self._repository.env.region
            if validation.is_token(arn)
            else Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME).region
        )
        if repository_region and not validation.is_token(repository_region):
            _check_image_region(scope, prop, self._repository.node.path, repository_region)
        _grant_pull(grantee, self._repository.repository_arn)
        if self._tag.startswith("sha256:"):
            return self._repository.repository_uri_for_digest(self._tag)
        return self._repository.repository_uri_for_tag(self._tag)


class _UriImage(ContainerImage):
    def __init__(self, image_uri: str) -> None:
        self._image_uri = image_uri

    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "image") -> str:
        match = validation.parse_ecr_image_uri(scope, prop, self._image_uri)
        if match is not None:
            _check_image_region(scope, prop, self._image_uri, match["region"])
            arn = Arn.format(
                components=ArnComponents(
                    service="ecr",
                    resource="repository",
                    resource_name=match["repository"],
                    account=match["account"],
                    region=match["region"],
                ),
                stack=Stack.of(scope),
            )
            _grant_pull(grantee, arn)
        return self._image_uri


def _check_image_region(scope: Construct, prop: str, image_uri: str, image_region: str) -> None:
    """The image's registry is in the model's Region, or SageMaker refuses the model.

    SageMaker's API reference (``ContainerDefinition.Image``): the image "must
    be in the same region as the model or endpoint you are creating". With
    the stack's Region known at synth, another Region is an error. An
    environment-agnostic stack's Region is known only at deploy time: an
    informational message says the one Region the image allows.
    """
    region = Stack.of(scope).region
    if validation.is_token(region):
        Annotations.of(scope).add_info(
            f"{prop}={image_uri!r} is in {image_region}: SageMaker pulls images only from its "
            f"own Region, so this model deploys only to {image_region}. Give the stack an "
            "env with a Region to have this checked at synth."
        )
    elif region != image_region:
        validation.fail(
            scope,
            prop,
            image_uri,
            f"the image is in {image_region} but the stack deploys to {region}; SageMaker "
            f"pulls images only from its own Region: use the image's URI in {region} "
            "(SageMaker's framework images live in a registry account per Region)",
        )


def _grant_pull(grantee: iam.IGrantable, repository_arn: str) -> None:
    """The permissions SageMaker needs to pull an image from one ECR repository.

    Written directly (not through ``IRepository.grant_pull``) so that a grant
    to a :class:`Model` stays in Python instead of calling back from jsii.
    """
    principal = grantee.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            resources=[repository_arn],
        )
    )
    # GetAuthorizationToken has no resource-level permissions.
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
    if isinstance(principal, ManagedPolicyPrincipal):
        acknowledge(
            principal.policy,
            "ecr:GetAuthorizationToken returns the registry token SageMaker needs to pull the "
            "model's image; the token authorises only the pulls the repository statement "
            "beside it allows, and the action has no resource-level permission.",
            parliament=["CREDENTIALS_EXPOSURE"],
        )


class ModelData(abc.ABC):
    """Where a model's artifact (``model.tar.gz``), or a multi-model prefix, is stored."""

    #: True for a prefix of many artifacts (multi-model endpoints).
    is_prefix = False

    @staticmethod
    def from_bucket(
        bucket: BucketLike, key: str, encryption_key: kms.IKey | None = None
    ) -> ModelData:
        """An object in a bucket; the role may read (and decrypt) that object only.

        :param bucket: an :class:`EncryptedBucket`, or any ``s3.IBucket``
            (created elsewhere, or imported).
        :param key: the object's key in the bucket (not a URL).
        :param encryption_key: the KMS key of the object, for a bucket that
            does not carry it. Default: the bucket's own (none for SSE-S3).
        """
        return _BucketModelData(bucket, key, encryption_key)

    @staticmethod
    def from_bucket_prefix(
        bucket: BucketLike, prefix: str, encryption_key: kms.IKey | None = None
    ) -> ModelData:
        """A prefix of artifacts for a multi-model endpoint (must end with ``/``).

        The role may list that prefix and read the objects under it, nothing else.
        """
        return _BucketPrefixModelData(bucket, prefix, encryption_key)

    @staticmethod
    def from_asset(path: str) -> ModelData:
        """A local ``.tar.gz`` file, uploaded by ``cdk deploy`` as a file asset."""
        return _AssetModelData(path)

    @staticmethod
    def from_compilation(compiled: CompiledModel) -> ModelData:
        """The artifact SageMaker Neo compiles during the deploy (a :class:`CompiledModel`).

        The role may read the compilation's output prefix; the URL is known at
        deploy time. The hosts of the model are checked against the target.
        """
        return compiled.model_data

    @abc.abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_data") -> str:
        """Validate, grant ``grantee`` read access, and return the ``s3://`` URL."""


class _BucketModelData(ModelData):
    def __init__(self, bucket: BucketLike, key: str, encryption_key: kms.IKey | None) -> None:
        self._bucket = bucket
        self._key = key
        self._encryption_key = encryption_key

    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_data") -> str:
        validation.check_s3_key(scope, f"{prop}.key", self._key)
        access = BucketAccess.of(scope, f"{prop}.bucket", self._bucket, self._encryption_key)
        _warn_unknown_key(scope, prop, access)
        access.add_read_object(grantee.grant_principal, self._key)
        return access.s3_url_for_object(self._key)


def _warn_unknown_key(scope: Construct, prop: str, access: BucketAccess) -> None:
    """An artifact bucket whose key is unknown gets no decrypt grant: say so at synth."""
    if access.key_unknown:
        Annotations.of(scope).add_warning_v2(
            "cdk-sagemaker-hosting:ModelDataKeyUnknown",
            f"{prop}.bucket {access.bucket.node.path} carries no KMS key, so the model is "
            "granted no kms:Decrypt: with SSE-KMS objects, creating the endpoint fails once "
            "SageMaker downloads them. Pass the bucket's key (ModelData.from_bucket(bucket, key, "
            "encryption_key)); an SSE-S3 bucket needs none.",
        )


class _BucketPrefixModelData(ModelData):
    is_prefix = True

    def __init__(self, bucket: BucketLike, prefix: str, encryption_key: kms.IKey | None) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._encryption_key = encryption_key

    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_data") -> str:
        validation.check_s3_prefix(scope, f"{prop}.prefix", self._prefix)
        access = BucketAccess.of(scope, f"{prop}.bucket", self._bucket, self._encryption_key)
        _warn_unknown_key(scope, prop, access)
        access.add_read_prefix(grantee.grant_principal, self._prefix)
        return access.s3_url_for_object(self._prefix)


class _AssetModelData(ModelData):
    def __init__(self, path: str) -> None:
        self._path = path

    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_data") -> str:
        validation.check_model_archive(scope, f"{prop}.path", self._path)
        from aws_cdk import aws_s3_assets as s3_assets  # noqa: PLC0415 - see the imports

        asset = s3_assets.Asset(scope, f"{_construct_name(prop)}Asset", path=self._path)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[asset.bucket.arn_for_objects(asset.s3_object_key)],
            )
        )
        return asset.s3_object_url


def _construct_name(prop: str) -> str:
    """``containers[1].model_data`` -> ``Containers1ModelData``, a construct ID."""
    return "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", prop) if part)


class InferenceExecution(enum.Enum):
    """How the containers of a multi-container model are invoked."""

    #: An inference pipeline: each container's output is the next one's input.
    SERIAL = "Serial"
    #: Each container is invoked on its own, by its hostname.
    DIRECT = "Direct"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContainerDefinition:
    """One container of a multi-container model.

    :param image: the container image.
    :param model_data: its artifact. Default: none.
    :param environment: its environment variables. Default: none.
    :param hostname: its name for direct invocation (required with
        ``InferenceExecution.DIRECT``). Default: none.
    """

    image: ContainerImage
    model_data: ModelData | None = None
    environment: Mapping[str, str] | None = None
    hostname: str | None = None


@jsii.implements(iam.IGrantable)
class Model(Construct):
    """A SageMaker model, isolated from the network by default.

    One container (``image``), or an inference pipeline / multi-container
    model of 2-15 ``containers``, or one multi-model container serving many
    artifacts under a prefix (``multi_model=True``).

    The execution role is created for this model alone and can do no more
    than the model needs: pull its images' repositories, read its artifacts,
    decrypt with their bucket's key through S3, and (granted by the
    :class:`Endpoint` that hosts it) write to
    that endpoint's log group. SageMaker names the model, so a new artifact
    or image replaces the model cleanly.

    Construct IDs (a public contract): ``Role``, ``Policy`` (its
    customer-managed policy, so no inline policy), ``Resource`` (the
    ``AWS::SageMaker::Model``), ``SecurityGroup`` (when a VPC is given and no
    security groups).

    :param image: the container image of a one-container model.
    :param model_data: its artifact. Default: none (the image holds the model).
    :param environment: its environment variables. Default: none.
    :param containers: 2-15 containers instead of ``image``. Default: none.
    :param inference_execution: how ``containers`` are invoked. Default:
        ``InferenceExecution.SERIAL`` (an inference pipeline).
    :param multi_model: serve every artifact under ``model_data`` (a
        ``ModelData.from_bucket_prefix``) from one container. Default: ``False``.
    :param network_isolation: forbid the containers any network access. Default:
        ``True``; turning it off adds a warning to the construct.
    :param vpc: run the containers in this VPC. Default: no VPC.
    :param vpc_subnets: which subnets of ``vpc`` (1-16). Default: private subnets.
    :param security_groups: 1-5 security groups in ``vpc``. Default: one new
        group that allows outbound HTTPS only.
    :param model_package: host a model package instead of ``image`` (a
        registry version or an AWS Marketplace package, see
        :class:`ModelPackage`); ``environment``
        still applies. Marketplace packages require ``network_isolation``.
        Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ContainerImage | None = None,
        model_data: ModelData | None = None,
        environment: Mapping[str, str] | None = None,
        containers: Sequence[ContainerDefinition] | None = None,
        inference_execution: InferenceExecution = InferenceExecution.SERIAL,
        multi_model: bool = False,
        network_isolation: bool = True,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        model_package: ModelPackage | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # A package is the container: it stands for the image from here on.
        image = _check_package(
            self,
            model_package,
            image=image,
            containers=containers,
            model_data=model_data,
            multi_model=multi_model,
            network_isolation=network_isolation,
        )
        for prop, value, expected, what in (
            (
                "image",
                image,
                ContainerImage,
                "a ContainerImage (e.g. ContainerImage.from_registry)",
            ),
            ("model_data", model_data, ModelData, "a ModelData (e.g. ModelData.from_bucket)"),
            (
                "inference_execution",
                inference_execution,
                InferenceExecution,
                "an InferenceExecution",
            ),
        ):
            validation.check_optional_type(self, prop, value, expected, what)
        if vpc is not None or vpc_subnets is not None or security_groups is not None:
            _check_network_types(self, vpc, vpc_subnets, security_groups)
        for i, container in enumerate(containers or ()):
            validation.check_type(
                self, f"containers[{i}]", container, ContainerDefinition, "a ContainerDefinition"
            )
            validation.check_type(
                self, f"containers[{i}].image", container.image, ContainerImage, "a ContainerImage"
            )
            validation.check_optional_type(
                self, f"containers[{i}].model_data", container.model_data, ModelData, "a ModelData"
            )
        if (image is None) == (containers is None):
            validation.fail(
                self,
                "image/containers",
                "both" if image else "neither",
                "give either image (one container) or containers (2-15), not both",
            )
        if image is not None:
            if inference_execution is not InferenceExecution.SERIAL:
                validation.fail(
                    self,
                    "inference_execution",
                    inference_execution.value,
                    "applies to containers= (2-15 containers) only; one image has nothing to "
                    "invoke directly",
                )
            definitions = [
                ContainerDefinition(image=image, model_data=model_data, environment=environment)
            ]
            props = [""]
        else:
            definitions = list(containers or [])
            validation.check_container_count(self, "containers", len(definitions))
            if model_data is not None or environment is not None:
                validation.fail(
                    self,
                    "model_data/environment",
                    "set",
                    "with containers, give model_data and environment per ContainerDefinition",
                )
            props = [f"containers[{i}]." for i in range(len(definitions))]
        _check_model_shape(
            self,
            containers=definitions,
            multi_model=multi_model,
            direct=inference_execution is InferenceExecution.DIRECT and containers is not None,
        )

        stack = Stack.of(self)
        self.role: iam.Role = iam.Role(
            self,
            "Role",
            description=f"Execution role of the SageMaker model {self.node.path}",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        # Every grant goes into one customer-managed policy, not an inline one.
        self._principal = ManagedPolicyPrincipal(self, "Policy", role=self.role)
        # SageMaker publishes the endpoint's instance metrics with this role.
        # PutMetricData has no resource-level permissions: scope it by namespace.
        self._principal.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )

        rendered = [
            self._render(definition, prop, multi_model=multi_model)
            for definition, prop in zip(definitions, props, strict=True)
        ]

        self.vpc = vpc
        self.security_groups: list[ec2.ISecurityGroup] = []
        self.subnet_availability_zones: list[str] = []
        vpc_config = None
        if vpc is not None:
            vpc_config = self._vpc_config(vpc, vpc_subnets, security_groups)
        elif vpc_subnets is not None or security_groups is not None:
            validation.fail(self, "vpc", None, "vpc_subnets and security_groups need a vpc")

        self.network_isolation = network_isolation

        self.container_count = len(definitions)
        self.multi_model = multi_model
        self.inference_execution = inference_execution if containers is not None else None
        self.resource = sagemaker.CfnModel(
            self,
            "Resource",
            execution_role_arn=self.role.role_arn,
            primary_container=rendered[0] if image is not None else None,
            containers=rendered if containers is not None else None,
            inference_execution_config=sagemaker.CfnModel.InferenceExecutionConfigProperty(
                mode=inference_execution.value
            )
            if containers is not None
            else None,
            enable_network_isolation=network_isolation,
            vpc_config=vpc_config,
        )
        # SageMaker checks the role's access when the model is created: the
        # role comes first through ExecutionRoleArn, its policy through this.
        self.resource.node.add_dependency(self._principal.policy)
        if not network_isolation:
            self._isolation_off()

        reason = (
            "Wildcard resources only where IAM offers no resource-level permission: "
            "ecr:GetAuthorizationToken, and cloudwatch:PutMetricData (limited to the "
            "/aws/sagemaker/* namespace)"
        )
        if vpc is not None:
            reason += ", and the EC2 network-interface actions SageMaker needs in a VPC"
            acknowledge_network_interfaces(self._principal)
        acknowledge(
            self._principal.policy,
            reason + "; every other statement names exact ARNs.",
            "AwsSolutions-IAM5[Resource::*]",
        )

    def _isolation_off(self) -> None:
        """Say so at synth, and acknowledge the scanners' finding for the caller's reason."""
        Annotations.of(self).add_warning_v2(
            "cdk-sagemaker-hosting:NetworkIsolationOff",
            "network_isolation=False: the model container can reach the network. "
            "Keep it on unless the container must call other services.",
        )
        acknowledge(
            self.resource,
            "Network isolation is off because the caller turned it off "
            "(network_isolation=False), which synth reports as the NetworkIsolationOff "
            "warning; serverless variants and containers that call other services need it.",
            checkov=["CKV_AWS_370"],
        )

    def _render(
        self, definition: ContainerDefinition, prop: str, *, multi_model: bool
    ) -> sagemaker.CfnModel.ContainerDefinitionProperty:
        if definition.environment is not None and not isinstance(definition.environment, Mapping):
            validation.fail(
                self,
                f"{prop}environment",
                definition.environment,
                "must be a mapping of variable names to values, e.g. {'LOG_LEVEL': 'info'}",
            )
        env = dict(definition.environment or {})
        validation.check_environment(self, f"{prop}environment", env)
        if getattr(definition.image, "is_model_package", False):
            return definition.image.render(self, env)  # type: ignore[attr-defined, no-any-return]
        image_uri = definition.image.bind(self, self, f"{prop}image")
        model_data_url = (
            definition.model_data.bind(self, self, f"{prop}model_data")
            if definition.model_data is not None
            else None
        )
        return sagemaker.CfnModel.ContainerDefinitionProperty(
            image=image_uri,
            mode="MultiModel" if multi_model else "SingleModel",
            model_data_url=model_data_url,
            environment=env or None,
            container_hostname=definition.hostname,
        )

    def _vpc_config(
        self,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
    ) -> sagemaker.CfnModel.VpcConfigProperty:
        subnet_ids, self.subnet_availability_zones, self.security_groups = _network_placement(
            self, vpc, vpc_subnets, security_groups, what=f"SageMaker model {self.node.path}"
        )
        self._grant_vpc_access()
        return sagemaker.CfnModel.VpcConfigProperty(
            security_group_ids=[sg.security_group_id for sg in self.security_groups],
            subnets=subnet_ids,
        )

    def _grant_vpc_access(self) -> None:
        """Network-interface permissions SageMaker needs to place the model in the VPC."""
        self._principal.add_to_policy(
            iam.PolicyStatement(actions=list(VPC_NETWORK_INTERFACE_ACTIONS), resources=["*"])
        )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """Grants to the model land in its role's managed policy."""
        return self._principal

    @property
    def is_pipeline(self) -> bool:
        """True for a model of several containers."""
        return self.container_count > 1

    @property
    def model_name(self) -> str:
        """The model's name, generated by CloudFormation."""
        return self.resource.attr_model_name

    @property
    def model_arn(self) -> str:
        """The model's ARN."""
        return self.resource.ref


def _check_model_shape(
    scope: Construct, *, containers: Sequence[ContainerDefinition], multi_model: bool, direct: bool
) -> None:
    """Multi-model needs one container and a prefix; direct invocation needs hostnames."""
    if multi_model:
        if len(containers) != 1:
            validation.fail(
                scope,
                "multi_model",
                True,
                "a multi-model endpoint serves one container; use image=, not containers=",
            )
        data = containers[0].model_data
        if data is None or not data.is_prefix:
            validation.fail(
                scope,
                "model_data",
                data,
                "multi_model=True needs ModelData.from_bucket_prefix(bucket, 'prefix/')",
            )
    for i, container in enumerate(containers):
        data = container.model_data
        if data is not None and data.is_prefix and not multi_model:
            validation.fail(
                scope,
                f"containers[{i}].model_data" if len(containers) > 1 else "model_data",
                "a prefix",
                "a prefix of artifacts needs multi_model=True; "
                "one model needs ModelData.from_bucket(bucket, key)",
            )
    if direct:
        hostnames = [c.hostname for c in containers]
        for i, name in enumerate(hostnames):
            if name is None:
                validation.fail(
                    scope,
                    f"containers[{i}].hostname",
                    None,
                    "InferenceExecution.DIRECT invokes each container by its hostname; "
                    "give every container one",
                )
            validation.check_sagemaker_name(scope, f"containers[{i}].hostname", name)
        duplicates = sorted({h for h in hostnames if hostnames.count(h) > 1 and h is not None})
        if duplicates:
            validation.fail(scope, "containers[].hostname", duplicates, "hostnames must be unique")


def _check_network_types(
    scope: Construct,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
) -> None:
    from aws_cdk import aws_ec2 as ec2  # noqa: PLC0415 - see the imports

    validation.check_optional_type(scope, "vpc", vpc, ec2.IVpc, "an ec2.IVpc")
    validation.check_optional_type(
        scope, "vpc_subnets", vpc_subnets, ec2.SubnetSelection, "an ec2.SubnetSelection"
    )
    for i, group in enumerate(security_groups or ()):
        validation.check_type(
            scope, f"security_groups[{i}]", group, ec2.ISecurityGroup, "an ec2.ISecurityGroup"
        )


def acknowledge_network_interfaces(principal: ManagedPolicyPrincipal) -> None:
    """The scanners' findings on :data:`VPC_NETWORK_INTERFACE_ACTIONS` on ``*``, with the reason."""
    acknowledge(
        principal.policy,
        "The EC2 network-interface actions SageMaker documents for hosting in a VPC "
        "(create and delete the endpoint's interfaces and their permissions): SageMaker "
        "makes the interfaces, so their IDs are unknown at synth; the Describe actions "
        "have no resource-level permissions.",
        checkov=["CKV_AWS_109", "CKV_AWS_111"],
        parliament=["RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"],
    )


#: What SageMaker needs to place a model's or an endpoint's network interfaces in a VPC.
VPC_NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


def _network_placement(
    scope: Construct,
    vpc: ec2.IVpc,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
    *,
    what: str,
    multi_az: bool = False,
) -> tuple[list[str], list[str], list[ec2.ISecurityGroup]]:
    """Subnet IDs, their zones and the security groups for a ``VpcConfig``, checked.

    Private subnets with egress unless ``vpc_subnets`` says otherwise; 1-16
    subnets (in two zones at least when ``multi_az``) and 1-5 groups; without
    groups, a ``SecurityGroup`` child allowing outbound HTTPS only, described
    as belonging to ``what``.
    """
    from aws_cdk import aws_ec2 as ec2  # noqa: PLC0415 - see the imports

    selection = vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
    selected = vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets,
        subnet_type=selection.subnet_type,
    )
    subnet_ids = list(selected.subnet_ids)
    zones = list(selected.availability_zones)
    validation.check_count(scope, "vpc_subnets", len(subnet_ids), low=1, high=16, what="subnets")
    if multi_az:
        validation.check_availability_zones(scope, "vpc_subnets", zones)
    if security_groups is not None:
        validation.check_count(
            scope, "security_groups", len(security_groups), low=1, high=5, what="security groups"
        )
        return subnet_ids, zones, list(security_groups)
    group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"{what}: outbound HTTPS only",
        allow_all_outbound=False,
    )
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3, ECR and CloudWatch")
    return subnet_ids, zones, [group]


def _check_package(
    scope: Construct,
    package: object,
    *,
    image: ContainerImage | None,
    containers: Sequence[ContainerDefinition] | None,
    model_data: ModelData | None,
    multi_model: bool,
    network_isolation: bool,
) -> ContainerImage | None:
    """A package stands for ``image`` and ``model_data`` of a one-container model."""
    if package is None:
        return image
    from cdk_sagemaker_hosting.registry import ModelPackage, PackageImage  # noqa: PLC0415

    validation.check_type(
        scope, "model_package", package, ModelPackage, "a ModelPackage (e.g. registry.version(3))"
    )
    for prop, value in (
        ("image", image),
        ("containers", containers),
        ("model_data", model_data),
        ("multi_model", multi_model or None),
    ):
        if value is not None:
            validation.fail(
                scope,
                prop,
                validation.shown(value) if prop != "containers" else "set",
                "a model_package brings its own container, image and artifact: leave "
                f"{prop} out (environment still applies)",
            )
    assert isinstance(package, ModelPackage)
    return PackageImage(package, network_isolation=network_isolation)
