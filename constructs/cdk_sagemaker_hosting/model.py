"""A SageMaker model: one container, its artifact, and a least-privilege execution role."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Annotations, Arn, ArnComponents, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.encrypted_bucket import EncryptedBucket
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from constructs import Construct


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
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> str:
        """Validate, grant ``grantee`` pull on the repository, and return the image URI."""


class _RepositoryImage(ContainerImage):
    def __init__(self, repository: ecr.IRepository, tag: str) -> None:
        self._repository = repository
        self._tag = tag

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> str:
        _grant_pull(grantee, self._repository.repository_arn)
        if self._tag.startswith("sha256:"):
            return self._repository.repository_uri_for_digest(self._tag)
        return self._repository.repository_uri_for_tag(self._tag)


class _UriImage(ContainerImage):
    def __init__(self, image_uri: str) -> None:
        self._image_uri = image_uri

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> str:
        match = validation.parse_ecr_image_uri(scope, "image", self._image_uri)
        if match is not None:
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


class ModelData(abc.ABC):
    """Where a model's artifact (``model.tar.gz``) is stored."""

    @staticmethod
    def from_bucket(bucket: EncryptedBucket, key: str) -> ModelData:
        """An object in an :class:`EncryptedBucket`; the role may read that object only."""
        return _BucketModelData(bucket, key)

    @abc.abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> str:
        """Validate, grant ``grantee`` read access, and return the ``s3://`` URL."""


class _BucketModelData(ModelData):
    def __init__(self, bucket: EncryptedBucket, key: str) -> None:
        self._bucket = bucket
        self._key = key

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> str:
        validation.check_s3_key(scope, "model_data.key", self._key)
        self._bucket.grant_read_object(grantee, self._key)
        return self._bucket.s3_url_for_object(self._key)


@jsii.implements(iam.IGrantable)
class Model(Construct):
    """A SageMaker model with one container, isolated from the network by default.

    The execution role is created for this model alone and can do no more
    than the model needs: pull its image's repository, read its artifact
    object, decrypt with that bucket's key through S3, and (granted by the
    :class:`~cdk_sagemaker_hosting.endpoint.Endpoint` that hosts it) write to
    that endpoint's log group. SageMaker names the model, so a new artifact
    or image replaces the model cleanly.

    Construct IDs (a public contract): ``Role``, ``Policy`` (its
    customer-managed policy, so no inline policy), ``Resource`` (the
    ``AWS::SageMaker::Model``), ``SecurityGroup`` (when a VPC is given and no
    security groups).

    :param image: the container image.
    :param model_data: the model artifact. Default: none (the image holds the model).
    :param environment: container environment variables. Default: none.
    :param network_isolation: forbid the container any network access. Default:
        ``True``; turning it off adds a warning to the construct.
    :param vpc: run the container in this VPC. Default: no VPC.
    :param vpc_subnets: which subnets of ``vpc``. Default: private subnets.
    :param security_groups: security groups in ``vpc``. Default: one new group
        that allows outbound HTTPS only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image: ContainerImage,
        model_data: ModelData | None = None,
        environment: Mapping[str, str] | None = None,
        network_isolation: bool = True,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        env = dict(environment or {})
        validation.check_environment(self, "environment", env)

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

        image_uri = image.bind(self, self)
        container: dict[str, object] = {"image": image_uri, "mode": "SingleModel"}
        if model_data is not None:
            container["model_data_url"] = model_data.bind(self, self)
        if env:
            container["environment"] = env

        self.vpc = vpc
        self.security_groups: list[ec2.ISecurityGroup] = []
        self.subnet_availability_zones: list[str] = []
        vpc_config = None
        if vpc is not None:
            selection = vpc_subnets or ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            )
            selected = vpc.select_subnets(
                availability_zones=selection.availability_zones,
                one_per_az=selection.one_per_az,
                subnet_filters=selection.subnet_filters,
                subnet_group_name=selection.subnet_group_name,
                subnets=selection.subnets,
                subnet_type=selection.subnet_type,
            )
            self.subnet_availability_zones = list(selected.availability_zones)
            self.security_groups = list(
                security_groups
                or [
                    ec2.SecurityGroup(
                        self,
                        "SecurityGroup",
                        vpc=vpc,
                        description=f"SageMaker model {self.node.path}: outbound HTTPS only",
                        allow_all_outbound=False,
                    )
                ]
            )
            if security_groups is None:
                self.security_groups[0].add_egress_rule(
                    ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3, ECR and CloudWatch"
                )
            vpc_config = sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[sg.security_group_id for sg in self.security_groups],
                subnets=list(selected.subnet_ids),
            )
            self._grant_vpc_access()

        if not network_isolation:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:NetworkIsolationOff",
                "network_isolation=False: the model container can reach the network. "
                "Keep it on unless the container must call other services.",
            )

        self.resource = sagemaker.CfnModel(
            self,
            "Resource",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(**container),  # type: ignore[arg-type]
            enable_network_isolation=network_isolation,
            vpc_config=vpc_config,
        )
        # SageMaker checks the role's access when the model is created.
        self.resource.node.add_dependency(self.role, self._principal.policy)

        reason = (
            "Wildcard resources only where IAM offers no resource-level permission: "
            "ecr:GetAuthorizationToken, and cloudwatch:PutMetricData (limited to the "
            "/aws/sagemaker/* namespace)"
        )
        if vpc is not None:
            reason += ", and the EC2 network-interface actions SageMaker needs in a VPC"
        acknowledge(
            self._principal.policy,
            reason + "; every other statement names exact ARNs.",
            "AwsSolutions-IAM5[Resource::*]",
        )

    def _grant_vpc_access(self) -> None:
        """Network-interface permissions SageMaker needs to place the model in the VPC."""
        self._principal.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            )
        )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """Grants to the model land in its role's managed policy."""
        return self._principal

    @property
    def model_name(self) -> str:
        """The model's name, generated by CloudFormation."""
        return self.resource.attr_model_name

    @property
    def model_arn(self) -> str:
        """The model's ARN."""
        return self.resource.ref
