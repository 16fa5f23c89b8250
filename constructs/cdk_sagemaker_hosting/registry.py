"""The SageMaker Model Registry: host a model package, share a registry across accounts.

Three pieces, each usable alone:

* :class:`ModelPackage` is what a :class:`Model`
  hosts instead of an image and an artifact (``Model(model_package=...)``):
  a version of a model package group (``ModelPackageName`` in the model's
  container), or an AWS Marketplace model package, which SageMaker runs only
  with network isolation. Versions are checked at synth against SageMaker's
  rules (botocore's service model), and the model's role is granted the
  artifacts and images the version needs.
* :class:`ModelRegistry` is a model package group in a central (registry)
  account, with a resource policy letting named accounts read its versions
  and create models from them, an encrypted artifact bucket whose bucket and
  key policies let those accounts read the artifacts (through S3 only), and
  the group's state-change events forwarded to the account that deploys.
  :meth:`ModelRegistry.from_registry_attributes` is the same registry seen
  from another account or ``Stage``.
* :class:`PromotionTrigger` runs where the app is deployed from (a tooling
  account): on each approval or rejection in the group, its function
  (``lambda/registry/``) records the newest approved version in an SSM
  parameter, starts the pipeline that deploys the app with it, and writes
  the outcome back to the version's metadata, the topic and an EventBridge
  event. The endpoint changes only through that deployment: CloudFormation
  stays the source of truth (see the README's "Promoting from the model
  registry").
"""

from __future__ import annotations

import abc
import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import (
    Annotations,
    Arn,
    ArnComponents,
    Duration,
    Names,
    RemovalPolicy,
    Resource,
    Stack,
)
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting import compliance, validation
from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, EncryptedBucket
from cdk_sagemaker_hosting.encryption import allow_service, encrypted_topic
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from cdk_sagemaker_hosting.model import ContainerImage, ModelData, _grant_pull
from constructs import Construct, IConstruct

if TYPE_CHECKING:
    from aws_cdk import aws_codepipeline as codepipeline
    from aws_cdk import aws_ecr as ecr
    from aws_cdk import aws_lambda

#: The event SageMaker sends when a version's approval (or status) changes.
STATE_CHANGE = "SageMaker Model Package State Change"
#: The group policy's actions for an account that deploys the group's versions.
READER_ACTIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
)
#: ... and for an account that writes rollout outcomes back to a version.
WRITER_ACTIONS = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
    "sagemaker:UpdateModelPackage",
)
#: The key of the versions' customer metadata that says how far a rollout got.
ROLLOUT_METADATA_PREFIX = "cdk-sagemaker-hosting:"
_ACCOUNT = re.compile(r"^\d{12}$")
_VERSION_SUFFIX = re.compile(r"/(?P<version>[0-9]{1,9})$")


def _pattern(shape: str) -> re.Pattern[str]:
    """A string shape's pattern in botocore's SageMaker model, anchored."""
    return re.compile(f"^(?:{validation.sagemaker_shapes()[shape]['pattern']})$")


def check_group_name(scope: IConstruct, prop: str, name: object) -> None:
    """A model package group name as SageMaker allows it (``EntityName``: 1-63, letters...)."""
    if validation.is_token(name):
        return
    shape = validation.sagemaker_shapes()["EntityName"]
    if not isinstance(name, str) or not _pattern("EntityName").match(name):
        validation.fail(
            scope,
            prop,
            name,
            f"a model package group name is {shape['min']}-{shape['max']} letters, digits "
            "and hyphens, starting and ending with a letter or digit (SageMaker's EntityName)",
        )


def _check_accounts(scope: IConstruct, prop: str, accounts: Sequence[str]) -> list[str]:
    if isinstance(accounts, str) or not isinstance(accounts, Sequence):
        validation.fail(scope, prop, accounts, "must be a list of 12-digit AWS account IDs")
    for i, account in enumerate(accounts):
        if not validation.is_token(account) and not (
            isinstance(account, str) and _ACCOUNT.match(account)
        ):
            validation.fail(scope, f"{prop}[{i}]", account, "must be a 12-digit AWS account ID")
    duplicates = sorted({a for a in accounts if list(accounts).count(a) > 1})
    if duplicates:
        validation.fail(scope, prop, duplicates, "lists an account twice")
    return list(accounts)


def _check_region(scope: IConstruct, prop: str, arn: str, region: str) -> None:
    """SageMaker creates a model only from a package in its own Region."""
    here = Stack.of(scope).region
    if validation.is_token(here) or validation.is_token(region):
        return
    if region != here:
        validation.fail(
            scope,
            prop,
            arn,
            f"the model package is in {region} but the stack deploys to {here}; SageMaker "
            f"creates models only from packages of its own Region: register the version in "
            f"{here} (or deploy this stack there)",
        )


# --- what a Model hosts ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BoundModelPackage:
    """A :class:`ModelPackage` bound to a model: what its container names."""

    #: The ARN for the container's ``ModelPackageName``.
    arn: str
    #: An AWS Marketplace package: SageMaker runs it only with network isolation.
    marketplace: bool


class ModelPackage(abc.ABC):
    """A model package a :class:`Model` hosts (``model_package=``).

    The container is the package's own (its image, artifact and environment
    are the version's inference specification); the model's role is granted
    what the version needs to be read: the artifacts and images named when
    the package is made (a :class:`ModelRegistry` knows its own).
    """

    @staticmethod
    def from_version_arn(
        arn: str,
        *,
        artifacts: ModelData | None = None,
        images: Sequence[ContainerImage] = (),
    ) -> ModelPackage:
        """A version of a model package group, by ARN (``.../model-package/<group>/<n>``).

        :param arn: the version's ARN; a value known only at deploy time (an
            SSM parameter) is checked by SageMaker then.
        :param artifacts: where the version's artifacts are, for the role's
            read grant (e.g. ``ModelData.from_bucket_prefix(bucket, "models/")``).
            Default: none granted (the role must already read them).
        :param images: the version's container images, for the role's pull
            grant. Default: none granted.
        """
        return _VersionArn(arn, artifacts, tuple(images))

    @staticmethod
    def from_marketplace(arn: str) -> ModelPackage:
        """An AWS Marketplace model package (subscribe to it first), by ARN.

        SageMaker runs Marketplace packages only with network isolation: the
        model refuses ``network_isolation=False``. The seller's account holds
        the image and artifact, so the role is granted nothing for them.
        """
        return _Marketplace(arn)

    @abc.abstractmethod
    def bind(
        self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_package"
    ) -> BoundModelPackage:
        """Validate, grant ``grantee`` what the package needs, and return its ARN."""


class _VersionArn(ModelPackage):
    def __init__(
        self, arn: str, artifacts: ModelData | None, images: tuple[ContainerImage, ...]
    ) -> None:
        self._arn = arn
        self._artifacts = artifacts
        self._images = images

    def bind(
        self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_package"
    ) -> BoundModelPackage:
        validation.check_optional_type(
            scope, f"{prop}.artifacts", self._artifacts, ModelData, "a ModelData"
        )
        for i, image in enumerate(self._images):
            validation.check_type(scope, f"{prop}.images[{i}]", image, ContainerImage, "an image")
        check_version_arn(scope, prop, self._arn)
        if self._artifacts is not None:
            self._artifacts.bind(scope, grantee, f"{prop}.artifacts")
        for i, image in enumerate(self._images):
            image.bind(scope, grantee, f"{prop}.images[{i}]")
        return BoundModelPackage(self._arn, marketplace=False)


def check_version_arn(scope: IConstruct, prop: str, arn: object) -> None:
    """The ARN of a version of a group: SageMaker's pattern, a ``/<n>`` suffix, this Region."""
    if validation.is_token(arn):
        return
    limit = validation.sagemaker_shapes()["VersionedArnOrName"]["max"]
    if (
        not isinstance(arn, str)
        or not _pattern("ModelPackageArn").match(arn)
        or not _pattern("VersionedArnOrName").match(arn)
    ):
        validation.fail(
            scope,
            prop,
            arn,
            "must be a model package version's ARN, arn:<partition>:sagemaker:<region>:"
            f"<account>:model-package/<group>/<version>, at most {limit} characters "
            "(SageMaker's ModelPackageArn and ContainerDefinition.ModelPackageName)",
        )
    if not _VERSION_SUFFIX.search(arn):
        validation.fail(
            scope,
            prop,
            arn,
            "names no version: a version ARN ends in /<version> (e.g. .../model-package/"
            "churn/3); for an AWS Marketplace package use ModelPackage.from_marketplace",
        )
    if int(_VERSION_SUFFIX.search(arn)["version"]) < 1:  # type: ignore[index]
        validation.fail(scope, prop, arn, "versions start at 1 (SageMaker's ModelPackageVersion)")
    _check_region(scope, prop, arn, arn.split(":")[3])


class _Marketplace(ModelPackage):
    def __init__(self, arn: str) -> None:
        self._arn = arn

    def bind(
        self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_package"
    ) -> BoundModelPackage:
        arn = self._arn
        if not validation.is_token(arn):
            if (
                not isinstance(arn, str)
                or not _pattern("ModelPackageArn").match(arn)
                or not _pattern("ArnOrName").match(arn)
            ):
                validation.fail(
                    scope,
                    prop,
                    arn,
                    "must be an AWS Marketplace model package ARN, arn:<partition>:sagemaker:"
                    "<region>:<seller account>:model-package/<name> (SageMaker's "
                    "ModelPackageArn); copy it from the product's subscription page",
                )
            _check_region(scope, prop, arn, arn.split(":")[3])
            if Stack.of(scope).account == arn.split(":")[4]:
                Annotations.of(scope).add_warning_v2(
                    "cdk-sagemaker-hosting:MarketplaceOwnAccount",
                    f"{prop}={arn!r} is in this stack's own account: a package of your own "
                    "group is a version (ModelPackage.from_version_arn, .../<group>/<n>), "
                    "which needs no network isolation and gets its artifacts granted.",
                )
        return BoundModelPackage(arn, marketplace=True)


class PackageImage(ContainerImage):
    """The container of a :class:`ModelPackage`, in the place of a model's image.

    :class:`Model` renders it as the container's
    ``ModelPackageName`` (with the model's ``environment``), never as ``Image``.
    """

    #: What the model looks for: render this container, do not bind an image.
    is_model_package = True

    def __init__(self, package: ModelPackage, *, network_isolation: bool) -> None:
        self.package = package
        self._network_isolation = network_isolation

    def bind(self, scope: Construct, grantee: iam.IGrantable, prop: str = "image") -> str:
        """Grant what the package needs and return its ARN."""
        return self.package.bind(scope, grantee).arn

    def render(
        self, model: Construct, environment: dict[str, str]
    ) -> sagemaker.CfnModel.ContainerDefinitionProperty:
        """The container of ``model`` (its grantee): the package, and the environment."""
        bound = self.package.bind(model, model)  # type: ignore[arg-type]
        if bound.marketplace and not self._network_isolation:
            validation.fail(
                model,
                "network_isolation",
                False,
                "AWS Marketplace model packages run only with network isolation (SageMaker "
                "refuses the model otherwise): leave network_isolation on",
            )
        return sagemaker.CfnModel.ContainerDefinitionProperty(
            model_package_name=bound.arn, environment=environment or None
        )


# --- the registry ----------------------------------------------------------------------


class ModelRegistryBase(Resource):
    """A model package group with its artifacts: made here, or another account's.

    Attributes: ``group_name``, ``group_arn``, ``artifacts`` (a
    :class:`BucketAccess` to the
    artifact bucket and its key), ``artifacts_prefix`` and
    ``image_repository_arns``.
    """

    group_name: str
    artifacts: BucketAccess
    artifacts_prefix: str
    image_repository_arns: tuple[str, ...] = ()

    @property
    def group_arn(self) -> str:
        """The group's ARN (in the registry's account and Region)."""
        return Arn.format(
            ArnComponents(
                service="sagemaker",
                resource="model-package-group",
                resource_name=self.group_name,
                account=self.env.account,
                region=self.env.region,
            ),
            Stack.of(self),
        )

    def version_arn(self, version: int | str) -> str:
        """The ARN of one version of the group (``.../model-package/<group>/<version>``)."""
        return Arn.format(
            ArnComponents(
                service="sagemaker",
                resource="model-package",
                resource_name=f"{self.group_name}/{version}",
                account=self.env.account,
                region=self.env.region,
            ),
            Stack.of(self),
        )

    @property
    def versions_arn(self) -> str:
        """The ARN pattern of every version of the group."""
        return self.version_arn("*")

    def version(self, version: int) -> ModelPackage:
        """One version, hosted with the registry's artifacts and images granted to the model."""
        return _RegistryVersion(self, version)

    def version_from_arn(self, arn: str) -> ModelPackage:
        """A version of this group by its ARN, e.g. one recorded at approval (a token passes).

        The model's role reads the registry's artifact prefix and pulls its
        image repositories, whichever version it is.
        """
        return _RegistryVersion(self, None, arn)

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` describe and list the group's versions (identity side only)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            resource_arns=[self.versions_arn, self.group_arn],
        )

    def grant_write_back(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` write rollout outcomes to the versions (``UpdateModelPackage``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(WRITER_ACTIONS), resource_arns=[self.versions_arn]
        )


class _RegistryVersion(ModelPackage):
    def __init__(
        self, registry: ModelRegistryBase, version: int | None, arn: str | None = None
    ) -> None:
        self._registry = registry
        self._version = version
        self._arn = arn

    def bind(
        self, scope: Construct, grantee: iam.IGrantable, prop: str = "model_package"
    ) -> BoundModelPackage:
        registry = self._registry
        if self._arn is None:
            validation.check_service_int(
                scope, f"{prop}.version", self._version, "ModelPackageVersion"
            )
            arn = registry.version_arn(str(self._version))
        else:
            arn = self._arn
            check_version_arn(scope, prop, arn)
            expected = f"/{registry.group_name}/"
            if (
                not validation.is_token(arn)
                and not validation.is_token(registry.group_name)
                and expected not in arn
            ):
                validation.fail(
                    scope,
                    prop,
                    arn,
                    f"is not a version of the registry's group {registry.group_name!r} "
                    f"({registry.node.path}): its artifacts are the only ones granted",
                )
        region = registry.env.region
        if not validation.is_token(region):
            _check_region(scope, prop, arn, region)
        principal = grantee.grant_principal
        registry.artifacts.add_read_prefix(principal, registry.artifacts_prefix)
        for repository in registry.image_repository_arns:
            _grant_pull(grantee, repository)
        return BoundModelPackage(arn, marketplace=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelRegistryAttributes:
    """A registry of another stack, account or ``Stage``, as literal names and ARNs.

    :param group_name: the model package group's name.
    :param account: the registry's account. Default: the importing stack's.
    :param region: the registry's Region. Default: the importing stack's.
    :param artifacts_bucket_name: the artifact bucket's name.
    :param artifacts_key_arn: the ARN of the artifact bucket's KMS key.
        Default: none (an SSE-S3 bucket).
    :param artifacts_prefix: the prefix of the group's artifacts. Default:
        ``<group_name>/``.
    :param image_repository_arns: the ECR repositories of the versions'
        images. Default: none.
    """

    group_name: str
    artifacts_bucket_name: str
    account: str | None = None
    region: str | None = None
    artifacts_key_arn: str | None = None
    artifacts_prefix: str | None = None
    image_repository_arns: Sequence[str] = ()


class _ImportedRegistry(ModelRegistryBase):
    def __init__(self, scope: Construct, construct_id: str, attrs: ModelRegistryAttributes) -> None:
        super().__init__(scope, construct_id, account=attrs.account, region=attrs.region)
        check_group_name(self, "group_name", attrs.group_name)
        account = attrs.account
        if account is not None and not validation.is_token(account) and not _ACCOUNT.match(account):
            validation.fail(self, "account", account, "must be a 12-digit AWS account ID")
        self.group_name = attrs.group_name
        self.artifacts_prefix = attrs.artifacts_prefix or f"{attrs.group_name}/"
        validation.check_s3_prefix(self, "artifacts_prefix", self.artifacts_prefix)
        bucket = s3.Bucket.from_bucket_attributes(
            self,
            "Artifacts",
            bucket_name=attrs.artifacts_bucket_name,
            account=attrs.account,
            region=attrs.region,
        )
        key = (
            kms.Key.from_key_arn(self, "ArtifactsKey", attrs.artifacts_key_arn)
            if attrs.artifacts_key_arn
            else None
        )
        self.artifacts = BucketAccess(bucket, key)
        self.image_repository_arns = tuple(attrs.image_repository_arns)


class ModelRegistry(ModelRegistryBase):
    """A model package group shared with the accounts that deploy its versions.

    Made in the registry account. Each account of ``reader_accounts`` (e.g.
    staging and production) may describe and list the group's versions and
    create models from them (the group's resource policy), read the artifacts
    under ``artifacts_prefix`` (the bucket's policy: ``s3:GetObject`` there,
    and ``s3:ListBucket`` of that prefix for uncompressed artifacts, only)
    and decrypt them through S3 only, for this bucket only (the key's
    policy). What each role of those accounts may do is their own IAM's to
    grant: a :class:`Model` hosting
    :meth:`version` is granted exactly the same, no more. Each account of
    ``writer_accounts`` (where :class:`PromotionTrigger` runs) may describe
    versions and update their approval and metadata. ``forward_to_accounts``
    receive the group's state-change events on their default event bus.

    Construct IDs (a public contract): ``Resource`` (the
    ``AWS::SageMaker::ModelPackageGroup``), ``Artifacts`` (an
    :class:`EncryptedBucket`, when
    none is given), ``Topic`` (when forwarding and no topic is given),
    ``Forward`` (the ``AWS::Events::Rule``), ``ForwardRole``,
    ``ForwardPolicy``, ``ForwardDeadLetters`` and ``ForwardDeadLetterAlarm``.

    :param group_name: the group's name (a physical name: other accounts and
        the events name it).
    :param description: the group's description. Default: none.
    :param reader_accounts: accounts that deploy the versions. Default: none.
    :param writer_accounts: accounts that record rollouts on the versions.
        Default: none.
    :param artifacts: the artifact bucket. Default: a new
        :class:`EncryptedBucket`.
    :param artifacts_prefix: where the group's artifacts are. Default:
        ``<group_name>/``.
    :param image_repositories: the ECR repositories of the versions' images;
        readers may pull from them (their repository policy). Default: none.
    :param forward_to_accounts: accounts whose default event bus receives the
        group's state-change events. Default: none.
    :param topic: where undelivered forwarded events alarm (only with
        ``forward_to_accounts``). Default: a new encrypted topic.
    :param removal_policy: of a created bucket, key and the group. Default:
        ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group_name: str,
        description: str | None = None,
        reader_accounts: Sequence[str] = (),
        writer_accounts: Sequence[str] = (),
        artifacts: EncryptedBucket | None = None,
        artifacts_prefix: str | None = None,
        image_repositories: Sequence[ecr.IRepository] = (),
        forward_to_accounts: Sequence[str] = (),
        topic: sns.ITopic | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id, physical_name=group_name)
        check_group_name(self, "group_name", group_name)
        validation.check_optional_type(
            self, "artifacts", artifacts, EncryptedBucket, "an EncryptedBucket"
        )
        validation.check_optional_type(self, "topic", topic, sns.ITopic, "an sns.ITopic")
        if description is not None and not validation.is_token(description):
            limit = validation.sagemaker_shapes()["EntityDescription"]["max"]
            if not isinstance(description, str) or len(description) > limit:
                validation.fail(self, "description", description, f"at most {limit} characters")
        readers = _check_accounts(self, "reader_accounts", reader_accounts)
        writers = _check_accounts(self, "writer_accounts", writer_accounts)
        forwards = _check_accounts(self, "forward_to_accounts", forward_to_accounts)
        if topic is not None and not forwards:
            validation.fail(
                self,
                "topic",
                topic.topic_arn,
                "only the alarm on undelivered forwarded events notifies it, and nothing is "
                "forwarded: give forward_to_accounts, or leave topic out",
            )
        self.group_name = group_name
        self.artifacts_prefix = artifacts_prefix or f"{group_name}/"
        validation.check_s3_prefix(self, "artifacts_prefix", self.artifacts_prefix)
        self.artifacts_bucket = artifacts or EncryptedBucket(
            self, "Artifacts", removal_policy=removal_policy
        )
        self.artifacts = self.artifacts_bucket.access
        self.reader_accounts = tuple(readers)
        self.writer_accounts = tuple(writers)

        from aws_cdk import aws_ecr as ecr  # noqa: PLC0415 - only with repositories

        for i, repository in enumerate(image_repositories):
            validation.check_type(
                self, f"image_repositories[{i}]", repository, ecr.IRepository, "an ecr.IRepository"
            )
        self.image_repository_arns = tuple(r.repository_arn for r in image_repositories)

        self.resource = sagemaker.CfnModelPackageGroup(
            self,
            "Resource",
            model_package_group_name=group_name,
            model_package_group_description=description,
            model_package_group_policy=self._group_policy(readers, writers),
        )
        self.resource.apply_removal_policy(removal_policy)
        if readers:
            self._share_artifacts(readers)
            for repository in image_repositories:
                self._share_images(repository, readers)
        self.forward_rule: events.Rule | None = None
        if forwards:
            self._forward(forwards, topic)

    def _group_policy(self, readers: list[str], writers: list[str]) -> object | None:
        statements = []
        if readers:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadersDescribeTheGroup",
                    principals=[iam.AccountPrincipal(a) for a in readers],
                    actions=["sagemaker:DescribeModelPackageGroup"],
                    resources=[self.group_arn],
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="ReadersDeployVersions",
                    principals=[iam.AccountPrincipal(a) for a in readers],
                    actions=list(READER_ACTIONS),
                    resources=[self.versions_arn],
                )
            )
        if writers:
            statements.append(
                iam.PolicyStatement(
                    sid="WritersRecordRollouts",
                    principals=[iam.AccountPrincipal(a) for a in writers],
                    actions=list(WRITER_ACTIONS),
                    resources=[self.versions_arn],
                )
            )
        if not statements:
            return None
        document: object = iam.PolicyDocument(statements=statements).to_json()
        return document

    def _share_artifacts(self, readers: list[str]) -> None:
        """The bucket and key policies that let ``readers`` read the group's artifacts."""
        bucket = self.artifacts_bucket.bucket
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ReadersReadTheGroupsArtifacts",
                principals=[iam.AccountPrincipal(a) for a in readers],
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{self.artifacts_prefix}*")],
            )
        )
        # A version's ModelDataSource may be an S3 prefix (uncompressed artifacts), which
        # SageMaker lists as the model's role: the readers list the group's prefix only.
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ReadersListTheGroupsArtifacts",
                principals=[iam.AccountPrincipal(a) for a in readers],
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{self.artifacts_prefix}*"]}},
            )
        )
        stack = Stack.of(self)
        allow_service(
            self,
            self.artifacts_bucket.encryption_key,
            iam.PolicyStatement(
                sid="ReadersDecryptTheGroupsArtifactsThroughS3",
                principals=[iam.AccountPrincipal(a) for a in readers],
                actions=["kms:Decrypt"],
                resources=["*"],
                # Through S3 only, whose bucket policy above limits the
                # readers to the group's prefix. (No encryption-context
                # condition naming the bucket: the bucket depends on the key,
                # so its ARN in the key policy would be a cycle.)
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"s3.{stack.region}.amazonaws.com",
                        "kms:CallerAccount": readers,
                    },
                },
            ),
            f"the accounts {', '.join(readers)} to decrypt the artifacts through S3",
        )

    def _share_images(self, repository: ecr.IRepository, readers: list[str]) -> None:
        added = repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ReadersPullTheGroupsImages",
                principals=[iam.AccountPrincipal(a) for a in readers],
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
            )
        )
        if not added.statement_added:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:ImportedRepository",
                f"the repository {repository.node.path} is imported, so its policy cannot be "
                f"changed here: let the accounts {', '.join(readers)} pull from it "
                "(ecr:BatchGetImage, ecr:GetDownloadUrlForLayer, ecr:BatchCheckLayerAvailability).",
            )

    def _forward(self, accounts: list[str], topic: sns.ITopic | None) -> None:
        """A rule sending the group's state changes to each account's default bus."""
        from cdk_sagemaker_hosting.workflow import dead_letter_alarm, dead_letter_queue  # noqa: PLC0415

        stack = Stack.of(self)
        key = self.artifacts_bucket.encryption_key
        self.topic = topic or encrypted_topic(self, "Topic", key)
        role = iam.Role(
            self,
            "ForwardRole",
            description=f"Forwards the state changes of model package group {self.group_name}",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        principal = ManagedPolicyPrincipal(self, "ForwardPolicy", role=role)
        buses = [
            events.EventBus.from_event_bus_arn(
                self,
                f"Bus{account}",
                Arn.format(
                    ArnComponents(
                        service="events",
                        resource="event-bus",
                        resource_name="default",
                        account=account,
                    ),
                    stack,
                ),
            )
            for account in accounts
        ]
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutEvents"], resources=[b.event_bus_arn for b in buses]
            )
        )
        queue = dead_letter_queue(
            self,
            "ForwardDeadLetters",
            key=key,
            dead_letter_of=f"the rule forwarding {self.group_name}'s state changes",
        )
        dead_letter_alarm(
            self,
            "ForwardDeadLetterAlarm",
            queue=queue,
            topic=self.topic,
            description=(
                f"A state change of model package group {self.group_name} did not reach the "
                "deploying account: approve the version again, or record it by hand"
            ),
        )
        self.forward_rule = events.Rule(
            self,
            "Forward",
            description=f"Sends the state changes of {self.group_name} to the deploying accounts",
            event_pattern=approval_events(self.group_name, [stack.account]),
            targets=[
                targets.EventBus(bus, role=role.without_policy_updates(), dead_letter_queue=queue)
                for bus in buses
            ],
        )

    @staticmethod
    def from_registry_attributes(
        scope: Construct, construct_id: str, attrs: ModelRegistryAttributes
    ) -> ModelRegistryBase:
        """A registry of another stack, account or ``Stage`` (no reference crosses stacks)."""
        return _ImportedRegistry(scope, construct_id, attrs)


def approval_events(group_name: str, accounts: Sequence[str]) -> events.EventPattern:
    """The state changes of ``group_name``'s versions in ``accounts`` (all statuses)."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[STATE_CHANGE],
        account=list(accounts),
        detail={"ModelPackageGroupName": [group_name]},
    )


# --- the deploying account's side --------------------------------------------------------

#: SSM parameter names: letters, digits and ``_.-/``, fully qualified.
_PARAMETER_NAME = re.compile(r"^/[a-zA-Z0-9_.\-/]{1,1010}$")


class PromotionTrigger(Construct):
    """Approval drives the rollout: record the newest approved version, start the pipeline.

    Made in the account the app is deployed from (it receives the events a
    :class:`ModelRegistry` forwards there, ``forward_to_accounts``, and must
    be among its ``writer_accounts``). On each state change of the group,
    its function (``lambda/registry/``) recomputes the newest approved
    version, writes its ARN to the SSM parameter ``parameter_name`` (which
    the function owns: CloudFormation never resets it), starts ``pipeline``
    once per version, and writes the outcome to the version's customer
    metadata (``cdk-sagemaker-hosting:rollout`` and friends), the topic and
    an event (source ``cdk-sagemaker-hosting.registry``). Versions whose
    artifacts are outside the registry's prefix (the only ones the deploying
    accounts may read) are refused and say so on the version.

    The pipeline deploys the app with the recorded version (its synth step
    reads the parameter, e.g. ``cdk synth -c modelPackage=$(aws ssm
    get-parameter ...)``), stage by stage: see the README.

    Construct IDs (a public contract): ``Key`` and ``Topic`` (when not
    given), ``Function`` (and ``FunctionRole``, ``FunctionPolicy``,
    ``FunctionRoleRef``, ``FunctionLogs``), ``Rule``, ``DeadLetterQueue``,
    ``DeadLetterAlarm``, ``DefaultBus``, ``AcceptRegistryEvents`` (the
    default bus's policy, when the registry is in another account).

    :param registry: the registry (``ModelRegistry.from_registry_attributes``
        from another account).
    :param pipeline: the pipeline to start. Default: none (record only).
    :param parameter_name: the record. Default:
        ``/cdk-sagemaker-hosting/<group>/approved-version``.
    :param encryption_key: of the logs, queue and a created topic. Default: a new key.
    :param topic: where outcomes and alarms go. Default: a new encrypted topic.
    :param event_bus: where outcome events go. Default: the default bus.
    :param removal_policy: of a created key and the log group. Default: ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: ModelRegistryBase,
        pipeline: codepipeline.IPipeline | None = None,
        parameter_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        topic: sns.ITopic | None = None,
        event_bus: events.IEventBus | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        from aws_cdk import aws_codepipeline as codepipeline  # noqa: PLC0415

        from cdk_sagemaker_hosting.encryption import encryption_key as new_key  # noqa: PLC0415
        from cdk_sagemaker_hosting.workflow import (  # noqa: PLC0415
            dead_letter_alarm,
            dead_letter_queue,
            handler_function,
        )

        validation.check_type(self, "registry", registry, ModelRegistryBase, "a ModelRegistry")
        validation.check_optional_type(
            self, "pipeline", pipeline, codepipeline.IPipeline, "a codepipeline.IPipeline"
        )
        validation.check_optional_type(
            self, "encryption_key", encryption_key, kms.IKey, "a kms.IKey"
        )
        validation.check_optional_type(self, "topic", topic, sns.ITopic, "an sns.ITopic")
        validation.check_optional_type(
            self, "event_bus", event_bus, events.IEventBus, "an events.IEventBus"
        )
        self.registry = registry
        self.parameter_name = parameter_name or (
            f"/cdk-sagemaker-hosting/{registry.group_name}/approved-version"
        )
        if not validation.is_token(self.parameter_name) and not _PARAMETER_NAME.match(
            self.parameter_name
        ):
            validation.fail(
                self,
                "parameter_name",
                self.parameter_name,
                "an SSM parameter name starting with '/', of letters, digits and _.-/ "
                "(at most 1011 characters)",
            )
        stack = Stack.of(self)
        self.encryption_key = encryption_key or new_key(
            self, "Key", f"Encrypts the logs and topic of {self.node.path}", removal_policy
        )
        self.topic = topic or encrypted_topic(self, "Topic", self.encryption_key)
        self.event_bus = event_bus or events.EventBus.from_event_bus_name(
            self, "DefaultBus", "default"
        )
        self.pipeline = pipeline
        environment = {
            "GROUP_ARN": registry.group_arn,
            "PARAMETER_NAME": self.parameter_name,
            "ARTIFACTS_URL": registry.artifacts.s3_url_for_object(registry.artifacts_prefix),
            "TOPIC_ARN": self.topic.topic_arn,
            "EVENT_BUS_NAME": self.event_bus.event_bus_name,
        }
        if pipeline is not None:
            environment["PIPELINE_NAME"] = pipeline.pipeline_name
        self.function, grantee = handler_function(
            self,
            "Function",
            function="registry",
            key=self.encryption_key,
            description=f"Records approved versions of {registry.group_name} and starts the deploy",
            timeout=Duration.minutes(1),
            environment=environment,
            removal_policy=removal_policy,
        )
        parameter_arn = Arn.format(
            ArnComponents(
                service="ssm",
                resource="parameter",
                resource_name=self.parameter_name.lstrip("/"),
            ),
            stack,
        )
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:PutParameter"], resources=[parameter_arn]
            )
        )
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:ListModelPackages"],
                resources=[registry.group_arn, registry.versions_arn],
            )
        )
        registry.grant_write_back(grantee)
        if pipeline is not None:
            grantee.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["codepipeline:StartPipelineExecution"],
                    resources=[pipeline.pipeline_arn],
                )
            )
        self.topic.grant_publish(grantee)
        self.event_bus.grant_put_events_to(grantee)
        compliance.acknowledge_resource(
            grantee.policy,
            "The versions of the one model package group (model-package/<group>/*): which "
            "version is approved is known only when its event arrives.",
            "AwsSolutions-IAM5",
            registry.versions_arn,
        )
        compliance.acknowledge(
            grantee.policy,
            "Publishing to the KMS-encrypted topic needs kms:GenerateDataKey* (the family of "
            "data-key calls SNS makes) on that one key.",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        )
        queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            key=self.encryption_key,
            dead_letter_of="the state-change rule's target",
        )
        self.dead_letter_alarm = dead_letter_alarm(
            self,
            "DeadLetterAlarm",
            queue=queue,
            topic=self.topic,
            description=(
                f"A state change of {registry.group_name} was not recorded: run the function "
                "again with the event, or approve the version again"
            ),
        )
        registry_account = registry.env.account
        if registry_account != stack.account:
            events.CfnEventBusPolicy(
                self,
                "AcceptRegistryEvents",
                statement_id=f"AcceptModelPackageStateChanges-{registry.group_name}"[:64],
                statement={
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{stack.partition}:iam::{registry_account}:root"},
                    "Action": "events:PutEvents",
                    "Resource": Arn.format(
                        ArnComponents(
                            service="events", resource="event-bus", resource_name="default"
                        ),
                        stack,
                    ),
                    "Condition": {"StringEquals": {"events:source": "aws.sagemaker"}},
                },
            )
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Records the approved versions of {registry.group_name}",
            event_pattern=approval_events(registry.group_name, [registry_account]),
            targets=[
                targets.LambdaFunction(self.function, retry_attempts=4, dead_letter_queue=queue)
            ],
        )

    def approved_version(self, scope: Construct) -> str:
        """The recorded version ARN, resolved by CloudFormation at each deploy (this account).

        An ``AWS::SSM::Parameter::Value<String>`` parameter of ``scope``'s
        stack, for a stack deployed in this construct's account and Region;
        pass it to ``version_from_arn`` of the registry.
        """
        from aws_cdk import aws_ssm as ssm  # noqa: PLC0415

        return ssm.StringParameter.value_for_string_parameter(scope, self.parameter_name)


# --- the staged rollout ------------------------------------------------------------------

#: The pipeline variable every execution is started with: the version it deploys.
PIPELINE_VARIABLE = "ModelPackageArn"
#: CodePipeline's names of stages and actions (botocore's StageName).
_STAGE_NAME = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
#: What ``cdk deploy`` takes as a stack selector here (no shell syntax).
_STACK_SELECTOR = re.compile(r"^[A-Za-z0-9*/_.\-]{1,512}$")
_CONTEXT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-:]{0,127}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
#: CodePipeline's limit on an action configuration value (ActionConfigurationValue).
_USER_PARAMETERS_MAX = 1000
#: A Lambda invoke action may run for 24 hours (continuation tokens); the bake stays within.
_BAKE_MAX = Duration.hours(23)
#: How often the bake reads the alarms.
BAKE_POLL = Duration.minutes(1)
#: The CDK's default bootstrap qualifier.
DEFAULT_QUALIFIER = "hnb659fds"
_QUALIFIER = re.compile(r"^[a-z0-9]{1,10}$")
_BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SmokeTest:
    """One request to a stage's endpoint after its deploy; the stage fails unless it answers.

    :param payload: the request body (text).
    :param content_type: its content type. Default: ``application/json``.
    :param expect: text the answer must contain. Default: any answer passes.
    """

    payload: str
    content_type: str = "application/json"
    expect: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RolloutStage:
    """One stage of a :class:`PromotionPipeline`: deploy the app's stacks, test, bake.

    The stage runs, in order: a manual approval (``approval``), *Verify*
    (the execution's version is still the approved record; else the
    execution stops, superseded), *Deploy* (CodeBuild: ``cdk deploy`` of
    ``stacks`` with ``-c <context_key>=<version ARN>``, assuming the CDK
    bootstrap roles of ``account``/``region``, or ``deploy_roles``) and
    *Check* (a smoke test of ``endpoint_name``, then a bake of ``bake``
    that fails the stage when one of ``alarm_names`` goes to ALARM).

    :param name: the stage's name (CodePipeline's: letters, digits, ``.@-_``).
    :param stacks: the ``cdk deploy`` selectors of the stage's stacks
        (e.g. ``["Staging/*"]``).
    :param account: the stage's account. Default: the pipeline's.
    :param region: the stage's Region. Default: the pipeline's.
    :param deploy_roles: the roles the deploy assumes. Default: the CDK
        bootstrap roles (deploy, file-publishing, image-publishing, lookup)
        of ``account``/``region`` with ``qualifier``; bootstrap that account
        with ``--trust <pipeline account>`` and
        ``--cloudformation-execution-policies`` (which the CDK requires
        with ``--trust``).
    :param qualifier: the bootstrap qualifier (not with ``deploy_roles``).
        Default: ``hnb659fds``.
    :param endpoint_name: the endpoint the smoke test invokes. Default: none.
    :param smoke_test: the request. Default: none (no smoke test).
    :param bake: how long the stage watches ``alarm_names`` after the smoke
        test, in whole minutes, at most 23 hours. Default: none.
    :param alarm_names: alarms of the stage's account that fail the bake in
        ALARM (a missing alarm fails it too): e.g. the endpoint's alarms and
        a ``TrafficShift``'s ``failed_alarm``. Default: none.
    :param check_role: a role of the stage's account the smoke test and bake
        assume (``sagemaker:InvokeEndpoint`` on the endpoint,
        ``cloudwatch:DescribeAlarms`` on ``*``: CloudWatch returns composite
        alarms only then), trusting the pipeline's account.
        Needed when the stage is in another account. Default: none (the
        function's own role).
    :param approval: a manual approval (notifying the topic) first. Default: no.
    :param privileged: the deploy's build runs in CodeBuild's privileged
        mode, with a Docker daemon, so ``cdk deploy`` can build the Docker
        image assets of the stage's stacks (``ContainerImage.from_asset``)
        and publish them as the image-publishing role. Default: no (the
        least privilege): file assets deploy, but an image asset to build
        fails the deploy (no Docker daemon).
    """

    name: str
    stacks: Sequence[str]
    account: str | None = None
    region: str | None = None
    deploy_roles: Sequence[iam.IRole] = ()
    qualifier: str = DEFAULT_QUALIFIER
    endpoint_name: str | None = None
    smoke_test: SmokeTest | None = None
    bake: Duration | None = None
    alarm_names: Sequence[str] = ()
    check_role: iam.IRole | None = None
    approval: bool = False
    privileged: bool = False


class PromotionPipeline(Construct):
    """The staged rollout of approved versions: a pipeline that runs ``cdk deploy``, stage by stage.

    Made in the account the app is deployed from, with a
    :class:`PromotionTrigger` of its own (``trigger``): each approval
    records the newest approved version and starts the pipeline with it
    (the pipeline variable ``ModelPackageArn``), so an execution deploys
    one version from its first stage to its last. Each stage is a
    :class:`RolloutStage` (deploy, smoke test, bake, optional approval);
    each outcome is written to the version's metadata
    (``cdk-sagemaker-hosting:<stage>``), the topic and an event. A stage
    that fails stops the execution, marks the version ``failed`` (never
    picked again by an event; ``cdk-sagemaker-hosting promote --version``
    retries it) and puts the version every stage runs (the *deployed*
    record) back in the record.

    Executions are ``SUPERSEDED``: a newer approval overtakes an older
    execution waiting between stages, and *Verify* stops one whose version
    is no longer the record, so a stage never deploys a version older than
    the record.

    Construct IDs (a public contract): ``Key``, ``Topic`` (when not given),
    ``ArtifactsKey`` (when ``encryption_key`` is another stack's),
    ``Artifacts`` (the artifact store), ``Source`` (when no
    ``source_action``), ``Pipeline`` (with ``PipelineRole``,
    ``PipelinePolicy``, ``PipelineRoleRef``), ``ActionsRole`` (with
    ``ActionsPolicy``, ``ActionsRoleRef``), ``<stage>Deploy`` (the CodeBuild
    project, with ``<stage>DeployRole``, ``<stage>DeployPolicy``,
    ``<stage>DeployRoleRef`` and ``<stage>DeployLogs``), ``StageFunction``
    (and its role, policy and logs), ``PipelineEvents`` (the rule),
    ``PipelineEventsDeadLetters`` and ``Trigger`` (the :class:`PromotionTrigger`).

    :param registry: the registry (``ModelRegistry.from_registry_attributes``).
    :param stages: the stages, in order (at least one).
    :param source_action: where the app's source comes from, with one output
        artifact. Default: the object ``source_key`` of a new
        :class:`EncryptedBucket` (``Source``), read at each execution.
    :param source_key: the app's zip in that bucket (not with
        ``source_action``). Default: ``app.zip``.
    :param install_commands: the build's install phase. Default:
        ``npm install --global aws-cdk@2`` and ``pip install -r requirements.txt``.
    :param context_key: the CDK context key the app reads the version ARN
        from. Default: ``modelPackageArn``.
    :param pipeline_name: Default: a unique name from the construct path.
    :param parameter_name: the record. Default:
        ``/cdk-sagemaker-hosting/<group>/approved-version``.
    :param deployed_parameter_name: the version every stage runs. Default:
        ``/cdk-sagemaker-hosting/<group>/deployed-version``.
    :param encryption_key: of the artifacts, logs and a created topic. Default: a new key.
    :param topic: outcomes, approvals and alarms. Default: a new encrypted topic.
    :param event_bus: where outcome events go. Default: the default bus.
    :param removal_policy: of created keys, buckets and logs. Default: ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: ModelRegistryBase,
        stages: Sequence[RolloutStage],
        source_action: codepipeline.IAction | None = None,
        source_key: str = "app.zip",
        install_commands: Sequence[str] = (
            "npm install --global aws-cdk@2",
            "pip install -r requirements.txt",
        ),
        context_key: str = "modelPackageArn",
        pipeline_name: str | None = None,
        parameter_name: str | None = None,
        deployed_parameter_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        topic: sns.ITopic | None = None,
        event_bus: events.IEventBus | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        from aws_cdk import aws_codepipeline as codepipeline  # noqa: PLC0415
        from aws_cdk import aws_codepipeline_actions as actions  # noqa: PLC0415

        from cdk_sagemaker_hosting.encryption import encryption_key as new_key  # noqa: PLC0415

        validation.check_type(self, "registry", registry, ModelRegistryBase, "a ModelRegistry")
        validation.check_optional_type(
            self, "source_action", source_action, codepipeline.IAction, "a codepipeline.IAction"
        )
        validation.check_optional_type(
            self, "encryption_key", encryption_key, kms.IKey, "a kms.IKey"
        )
        validation.check_optional_type(self, "topic", topic, sns.ITopic, "an sns.ITopic")
        validation.check_optional_type(
            self, "event_bus", event_bus, events.IEventBus, "an events.IEventBus"
        )
        self._check_options(
            stages,
            install_commands,
            context_key,
            source_key,
            pipeline_name,
            source_action=source_action,
        )
        group = registry.group_name
        deployed_parameter_name = deployed_parameter_name or (
            f"/cdk-sagemaker-hosting/{group}/deployed-version"
        )
        _check_parameter_name(self, "deployed_parameter_name", deployed_parameter_name)
        self.stages = tuple(stages)
        self.encryption_key = encryption_key or new_key(
            self,
            "Key",
            f"Encrypts the artifacts, logs and topic of {self.node.path}",
            removal_policy,
        )
        self.topic = topic or encrypted_topic(self, "Topic", self.encryption_key)
        self.pipeline_name = pipeline_name or Names.unique_resource_name(
            self, max_length=100, separator="-"
        )
        stack = Stack.of(self)
        self.pipeline_arn = Arn.format(
            ArnComponents(service="codepipeline", resource=self.pipeline_name), stack
        )
        self.artifacts_key = self._artifacts_key(removal_policy)
        self.artifacts = EncryptedBucket(
            self, "Artifacts", encryption_key=self.artifacts_key, removal_policy=removal_policy
        )
        if source_action is not None:
            outputs = list(source_action.action_properties.outputs or [])
            if len(outputs) != 1:
                validation.fail(
                    self,
                    "source_action",
                    source_action.action_properties.action_name,
                    f"has {len(outputs)} output artifacts; the deploy builds from exactly one",
                )
            if source_action.action_properties.role is None:
                validation.fail(
                    self,
                    "source_action",
                    source_action.action_properties.action_name,
                    "has no role: give it one (role=...) with the permissions it needs (a "
                    "managed policy); the pipeline's role may assume it",
                )

        # The trigger records approvals and starts this pipeline (by its literal name).
        pipeline_ref = codepipeline.Pipeline.from_pipeline_arn(
            self, "PipelineRef", self.pipeline_arn
        )
        self.trigger = PromotionTrigger(
            self,
            "Trigger",
            registry=registry,
            pipeline=pipeline_ref,
            parameter_name=parameter_name,
            encryption_key=self.encryption_key,
            topic=self.topic,
            event_bus=event_bus,
            removal_policy=removal_policy,
        )
        self.trigger.function.add_environment("PIPELINE_VARIABLE", PIPELINE_VARIABLE)
        self.parameter_name = self.trigger.parameter_name
        self.deployed_parameter_name = deployed_parameter_name
        self.event_bus = self.trigger.event_bus
        self.function = self._stage_function(registry, removal_policy)
        self._make_roles()

        source_output: codepipeline.Artifact
        if source_action is None:
            self.source: EncryptedBucket | None = EncryptedBucket(
                self, "Source", encryption_key=self.artifacts_key, removal_policy=removal_policy
            )
            source_output = codepipeline.Artifact("App")
            source_action = actions.S3SourceAction(
                action_name="Source",
                bucket=self.source.bucket,
                bucket_key=source_key,
                output=source_output,
                # The trigger starts the pipeline; an upload alone deploys nothing.
                trigger=actions.S3Trigger.NONE,
                role=self._actions_role,
            )
            self._grant_source(self.source, source_key)
        else:
            self.source = None
            source_output = next(iter(source_action.action_properties.outputs or []))
            assert source_action.action_properties.role is not None
            self._pipeline_policy.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[source_action.action_properties.role.role_arn],
                )
            )

        pipeline_stages = [
            codepipeline.StageProps(stage_name="Source", actions=[source_action]),
            *(
                self._stage(stage, source_output, list(install_commands), context_key)
                for stage in stages
            ),
        ]
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            role=self._pipeline_role,
            # A newer approval overtakes an older execution waiting between stages.
            execution_mode=codepipeline.ExecutionMode.SUPERSEDED,
            artifact_bucket=self.artifacts.bucket,
            restart_execution_on_update=False,
            variables=[
                codepipeline.Variable(
                    variable_name=PIPELINE_VARIABLE,
                    description="The model package version this execution deploys",
                )
            ],
            stages=pipeline_stages,
        )
        self._notify_approvals()
        self._watch_pipeline()

    def deployed_version(self, scope: Construct) -> str:
        """The version every stage runs, resolved by CloudFormation at each deploy (this account).

        What a stack the pipeline deploys should name when it is deployed
        outside the pipeline (``-c <context_key>=...`` absent): such a deploy
        then changes no model. The approved record (``trigger.approved_version``)
        names a version while its rollout is still running. An
        ``AWS::SSM::Parameter::Value<String>`` parameter of ``scope``'s stack,
        for a stack deployed in this construct's account and Region, once a
        version went through every stage (the parameter exists from then on).
        """
        from aws_cdk import aws_ssm as ssm  # noqa: PLC0415

        return ssm.StringParameter.value_for_string_parameter(scope, self.deployed_parameter_name)

    def _notify_approvals(self) -> None:
        """Each approval action notifies the topic (the actions' role may publish to it)."""
        from aws_cdk import aws_codepipeline as codepipeline  # noqa: PLC0415

        cfn = self.pipeline.node.default_child
        assert isinstance(cfn, codepipeline.CfnPipeline)
        for i, stage in enumerate(self.stages, start=1):
            if stage.approval:
                cfn.add_property_override(
                    f"Stages.{i}.Actions.0.Configuration.NotificationArn", self.topic.topic_arn
                )

    def _artifacts_key(self, removal_policy: RemovalPolicy) -> kms.IKey:
        """The key of the artifact store and source: ``encryption_key``, unless of another stack.

        CodePipeline's and CodeBuild's own grants on the artifact key go to
        its policy (the roles they are handed are immutable): a key of another
        stack would tie that stack to this one both ways, so the artifacts
        then get a key of their own (``ArtifactsKey``).
        """
        from cdk_sagemaker_hosting.encryption import encryption_key as new_key  # noqa: PLC0415

        key = self.encryption_key
        if isinstance(key, kms.Key) and Stack.of(key) is not Stack.of(self):
            return new_key(
                self,
                "ArtifactsKey",
                f"Encrypts the pipeline artifacts and app source of {self.node.path}",
                removal_policy,
            )
        return key

    def _make_roles(self) -> None:
        """The pipeline's role and the one role of its actions (managed policies, exact grants).

        The roles CodePipeline and CodeBuild are handed are immutable
        references: the CDK's own grants for them (inline and broader) go
        nowhere, and everything they may do is below.
        """
        from cdk_sagemaker_hosting.workflow import _managed_role  # noqa: PLC0415

        stack = Stack.of(self)
        _, self._pipeline_policy, self._pipeline_role = _managed_role(
            self,
            "Pipeline",
            iam.ServicePrincipal(
                "codepipeline.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": self.pipeline_arn},
                },
            ),
            description=f"Runs the promotion pipeline {self.pipeline_name}",
        )
        actions_role = iam.Role(
            self,
            "ActionsRole",
            assumed_by=iam.ArnPrincipal(self._pipeline_role.role_arn),
            description=f"Runs the actions of {self.pipeline_name}",
        )
        self._actions_policy = ManagedPolicyPrincipal(self, "ActionsPolicy", role=actions_role)
        self._actions_role = iam.Role.from_role_arn(
            self, "ActionsRoleRef", actions_role.role_arn, mutable=False
        )
        self._pipeline_policy.add_to_principal_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[actions_role.role_arn])
        )
        compliance.acknowledge(
            self._pipeline_policy.policy,
            "CodePipeline runs each action as its action role (named exactly): assuming it is "
            "how a pipeline works, and the role holds only the actions' own permissions.",
            parliament=["CREDENTIALS_EXPOSURE"],
        )
        key = self.artifacts_key.key_arn
        artifacts = self.artifacts.bucket.arn_for_objects("*")
        # The artifact store: the pipeline and its actions read and write each execution's objects.
        for principal in (self._pipeline_policy, self._actions_policy):
            principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                    resources=[artifacts],
                )
            )
            principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[key],
                )
            )
            compliance.acknowledge_resource(
                principal.policy,
                "The pipeline's own artifact store: CodePipeline names an object per execution "
                "and action, so only the bucket's objects can be named.",
                "AwsSolutions-IAM5",
                artifacts,
            )
        self._actions_policy.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]
            )
        )
        # The approval actions notify the topic.
        self.topic.grant_publish(self._actions_policy)
        compliance.acknowledge(
            self._actions_policy.policy,
            "Publishing to the KMS-encrypted topic needs kms:GenerateDataKey* (the family of "
            "data-key calls SNS makes) on that one key.",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        )

    def _grant_source(self, source: EncryptedBucket, key: str) -> None:
        """The source action reads the app's zip (its versions) from the source bucket."""
        self._actions_policy.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[source.bucket.arn_for_objects(key)],
            )
        )
        self._actions_policy.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketVersioning", "s3:GetBucketLocation"],
                resources=[source.bucket.bucket_arn],
            )
        )

    # -- validation -----------------------------------------------------------------

    def _check_options(
        self,
        stages: Sequence[RolloutStage],
        install_commands: Sequence[str],
        context_key: str,
        source_key: str,
        pipeline_name: str | None,
        *,
        source_action: codepipeline.IAction | None = None,
    ) -> None:
        if source_action is not None and source_key != "app.zip":
            validation.fail(
                self,
                "source_key",
                source_key,
                "names the object of the Source bucket this construct makes, but source_action "
                "replaces it: leave source_key out (the action names its own source)",
            )
        if isinstance(stages, str) or not isinstance(stages, Sequence) or not stages:
            validation.fail(self, "stages", stages, "give at least one RolloutStage")
        names: set[str] = set()
        for i, stage in enumerate(stages):
            validation.check_type(self, f"stages[{i}]", stage, RolloutStage, "a RolloutStage")
            self._check_stage(f"stages[{i}]", stage)
            if stage.name.lower() in names or stage.name.lower() == "source":
                validation.fail(
                    self,
                    f"stages[{i}].name",
                    stage.name,
                    "names another stage (or the Source stage): stage names are unique",
                )
            names.add(stage.name.lower())
        if isinstance(install_commands, str) or not all(
            isinstance(c, str) and c.strip() for c in install_commands
        ):
            validation.fail(
                self, "install_commands", install_commands, "a list of non-empty shell commands"
            )
        if not isinstance(context_key, str) or not _CONTEXT_KEY.match(context_key):
            validation.fail(
                self,
                "context_key",
                context_key,
                "a CDK context key: a letter, then letters, digits and _.-: (at most 128)",
            )
        validation.check_s3_key(self, "source_key", source_key)
        if pipeline_name is not None and (
            not isinstance(pipeline_name, str) or not _STAGE_NAME.match(pipeline_name)
        ):
            validation.fail(
                self,
                "pipeline_name",
                pipeline_name,
                "1-100 letters, digits and .@-_ (CodePipeline's PipelineName)",
            )

    def _check_stage(self, prop: str, stage: RolloutStage) -> None:  # noqa: PLR0912
        if not isinstance(stage.name, str) or not _STAGE_NAME.match(stage.name):
            validation.fail(
                self,
                f"{prop}.name",
                stage.name,
                "1-100 letters, digits and .@-_ (CodePipeline's StageName)",
            )
        stacks = stage.stacks
        if isinstance(stacks, str) or not isinstance(stacks, Sequence) or not stacks:
            validation.fail(
                self, f"{prop}.stacks", stacks, "a list of cdk deploy stack selectors, at least one"
            )
        for j, selector in enumerate(stacks):
            if not isinstance(selector, str) or not _STACK_SELECTOR.match(selector):
                validation.fail(
                    self,
                    f"{prop}.stacks[{j}]",
                    selector,
                    "a stack name or path pattern of letters, digits and */_.- (no spaces or "
                    "shell syntax), e.g. 'Staging/*'",
                )
        if stage.account is not None and not (
            validation.is_token(stage.account)
            or (isinstance(stage.account, str) and _ACCOUNT.match(stage.account))
        ):
            validation.fail(self, f"{prop}.account", stage.account, "a 12-digit AWS account ID")
        if stage.region is not None and not (
            validation.is_token(stage.region)
            or (isinstance(stage.region, str) and _REGION.match(stage.region))
        ):
            validation.fail(self, f"{prop}.region", stage.region, "a Region name, e.g. eu-west-1")
        if not isinstance(stage.qualifier, str) or not re.match(
            r"^[a-z0-9]{1,10}$", stage.qualifier
        ):
            validation.fail(
                self,
                f"{prop}.qualifier",
                stage.qualifier,
                "the bootstrap qualifier: 1-10 lowercase letters and digits (cdk bootstrap's)",
            )
        for j, role in enumerate(stage.deploy_roles):
            validation.check_type(
                self, f"{prop}.deploy_roles[{j}]", role, iam.IRole, "an iam.IRole"
            )
        if stage.deploy_roles and stage.qualifier != DEFAULT_QUALIFIER:
            validation.fail(
                self,
                f"{prop}.qualifier",
                stage.qualifier,
                "names bootstrap roles, but deploy_roles replaces them: leave qualifier out "
                "(or deploy_roles, to assume the roles of that qualifier)",
            )
        validation.check_optional_type(
            self, f"{prop}.check_role", stage.check_role, iam.IRole, "an iam.IRole"
        )
        validation.check_type(
            self,
            f"{prop}.privileged",
            stage.privileged,
            bool,
            "a bool (True: the deploy builds Docker image assets)",
        )
        validation.check_optional_type(
            self, f"{prop}.smoke_test", stage.smoke_test, SmokeTest, "a SmokeTest"
        )
        validation.check_sagemaker_name(self, f"{prop}.endpoint_name", stage.endpoint_name)
        if stage.smoke_test is not None and stage.endpoint_name is None:
            validation.fail(
                self,
                f"{prop}.smoke_test",
                stage.smoke_test.payload[:40],
                "a smoke test needs the endpoint it invokes: give endpoint_name",
            )
        if stage.endpoint_name is not None and stage.smoke_test is None:
            validation.fail(
                self,
                f"{prop}.endpoint_name",
                stage.endpoint_name,
                "names an endpoint no smoke test invokes: give smoke_test (or leave it out)",
            )
        if stage.smoke_test is not None and not isinstance(stage.smoke_test.payload, str):
            validation.fail(
                self, f"{prop}.smoke_test.payload", stage.smoke_test.payload, "must be text"
            )
        bake = 0
        if stage.bake is not None:
            bake = validation.whole_seconds(self, f"{prop}.bake", stage.bake)
            if not validation.is_token(bake) and (
                bake % 60 or bake < 0 or bake > _BAKE_MAX.to_seconds()
            ):
                validation.fail(
                    self,
                    f"{prop}.bake",
                    stage.bake.to_human_string(),
                    "whole minutes, at most 23 hours (a CodePipeline Lambda action runs for "
                    "at most 24 hours)",
                )
        if isinstance(stage.alarm_names, str) or not all(
            isinstance(a, str) and 0 < len(a) <= 255 for a in stage.alarm_names
        ):
            validation.fail(
                self,
                f"{prop}.alarm_names",
                stage.alarm_names,
                "a list of alarm names (1-255 characters each)",
            )
        if stage.alarm_names and not bake:
            validation.fail(
                self,
                f"{prop}.alarm_names",
                list(stage.alarm_names),
                "alarms gate the bake, which is off: give bake (e.g. Duration.minutes(30))",
            )
        if bake and not stage.alarm_names:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:BakeWithoutAlarms",
                f"{prop}.bake waits {bake} s with no alarm to watch: name the stage's "
                "alarm_names, or the bake only delays the next stage.",
            )
        here = Stack.of(self).account
        other_account = (
            stage.account is not None
            and not validation.is_token(stage.account)
            and not validation.is_token(here)
            and stage.account != here
        )
        if other_account and (stage.smoke_test or bake) and stage.check_role is None:
            validation.fail(
                self,
                f"{prop}.check_role",
                None,
                f"stage {stage.name} is in account {stage.account}: its smoke test and bake "
                "need a role of that account to assume (check_role, trusting this account, "
                "with sagemaker:InvokeEndpoint and cloudwatch:DescribeAlarms)",
            )
        if stage.check_role is not None and not (stage.smoke_test or bake):
            validation.fail(
                self,
                f"{prop}.check_role",
                stage.check_role.role_arn,
                "no smoke test or bake assumes it: give smoke_test or bake, or leave it out",
            )
        length = len(self._check_parameters(stage, bake))
        if length > _USER_PARAMETERS_MAX:
            validation.fail(
                self,
                f"{prop}.smoke_test.payload",
                f"{len(stage.smoke_test.payload) if stage.smoke_test else 0} characters",
                f"the check's parameters come to {length} characters, over CodePipeline's "
                f"{_USER_PARAMETERS_MAX} for an action's configuration value: shorten the "
                "payload (a smoke test needs one small request)",
            )

    @staticmethod
    def _check_parameters(stage: RolloutStage, bake: int) -> str:
        """The check action's ``UserParameters`` (the job ``lambda/registry`` reads)."""
        import json  # noqa: PLC0415

        params: dict[str, object] = {
            "action": "check",
            "stage": stage.name,
            "version": f"#{{variables.{PIPELINE_VARIABLE}}}",
            "bake_seconds": bake,
            "poll_seconds": int(BAKE_POLL.to_seconds()),
            "alarms": list(stage.alarm_names),
        }
        if stage.smoke_test is not None:
            params |= {
                "endpoint": stage.endpoint_name,
                "payload": stage.smoke_test.payload,
                "content_type": stage.smoke_test.content_type,
            }
            if stage.smoke_test.expect is not None:
                params["expect"] = stage.smoke_test.expect
        if stage.check_role is not None:
            params["role_arn"] = stage.check_role.role_arn
        return json.dumps(params, separators=(",", ":"))

    # -- resources ------------------------------------------------------------------

    def _stage_function(
        self, registry: ModelRegistryBase, removal_policy: RemovalPolicy
    ) -> aws_lambda.Function:
        """The function of the Verify and Check actions and of the pipeline's state changes."""
        from cdk_sagemaker_hosting.workflow import handler_function  # noqa: PLC0415

        stack = Stack.of(self)
        function, grantee = handler_function(
            self,
            "StageFunction",
            function="registry",
            key=self.encryption_key,
            description=f"Verifies, smoke-tests and bakes the rollout of {registry.group_name}",
            # One poll of the bake, or one smoke-test request, and the calls around it.
            timeout=Duration.seconds(int(BAKE_POLL.to_seconds()) + 120),
            environment={
                "GROUP_ARN": registry.group_arn,
                "PARAMETER_NAME": self.trigger.parameter_name,
                "DEPLOYED_PARAMETER_NAME": self.deployed_parameter_name,
                "ARTIFACTS_URL": registry.artifacts.s3_url_for_object(registry.artifacts_prefix),
                "PIPELINE_NAME": self.pipeline_name,
                "PIPELINE_VARIABLE": PIPELINE_VARIABLE,
                "TOPIC_ARN": self.topic.topic_arn,
                "EVENT_BUS_NAME": self.trigger.event_bus.event_bus_name,
            },
            removal_policy=removal_policy,
        )
        self.function_policy = grantee.policy
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:PutParameter"],
                resources=[
                    _parameter_arn(stack, self.trigger.parameter_name),
                    _parameter_arn(stack, self.deployed_parameter_name),
                ],
            )
        )
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["codepipeline:GetPipelineExecution"], resources=[self.pipeline_arn]
            )
        )
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                # CodePipeline's job calls take no resource (AWS documents '*').
                actions=["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"],
                resources=["*"],
            )
        )
        registry.grant_write_back(grantee)
        self.topic.grant_publish(grantee)
        self.trigger.event_bus.grant_put_events_to(grantee)
        endpoints, roles = [], []
        alarms = False
        for stage in self.stages:
            if stage.check_role is not None:
                roles.append(stage.check_role.role_arn)
                continue
            if stage.endpoint_name is not None:
                endpoints.append(
                    Arn.format(
                        ArnComponents(
                            service="sagemaker",
                            resource="endpoint",
                            resource_name=stage.endpoint_name.lower(),
                            account=stage.account,
                            region=stage.region,
                        ),
                        stack,
                    )
                )
            alarms = alarms or bool(stage.alarm_names)
        if endpoints:
            grantee.add_to_principal_policy(
                iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=endpoints)
            )
        if alarms:
            # CloudWatch returns composite alarms (an endpoint's health alarm) only to a
            # DescribeAlarms allowed on '*' (API reference); scoped to the alarms' ARNs,
            # a composite in alarm_names would read as missing and fail every bake.
            grantee.add_to_principal_policy(
                iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"])
            )
            compliance.acknowledge(
                grantee.policy,
                "cloudwatch:DescribeAlarms (read-only) on '*': CloudWatch returns composite "
                "alarms, such as an endpoint's health alarm gating a bake, only to a "
                "DescribeAlarms allowed on all alarms; the function reads the stage's "
                "alarm_names only.",
                parliament=["RESOURCE_STAR"],
            )
        if roles:
            grantee.add_to_principal_policy(
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=roles)
            )
            compliance.acknowledge(
                grantee.policy,
                "The smoke test and bake of a stage in another account run as that stage's "
                "check_role, named exactly; its credentials last one check and can do only "
                "what that role allows (invoke the endpoint, read alarms).",
                parliament=["CREDENTIALS_EXPOSURE"],
            )
        compliance.acknowledge_resource(
            grantee.policy,
            "The versions of the one model package group (model-package/<group>/*): which "
            "version an execution deploys is known only when it starts.",
            "AwsSolutions-IAM5",
            registry.versions_arn,
        )
        compliance.acknowledge(
            grantee.policy,
            "CodePipeline's PutJobSuccessResult and PutJobFailureResult take no resource (AWS "
            "documents Resource '*'); DescribeAlarms returns composite alarms only when "
            "allowed on '*'; publishing to the KMS-encrypted topic needs "
            "kms:GenerateDataKey* on that one key.",
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        )
        return function

    def _stage(
        self,
        stage: RolloutStage,
        source: codepipeline.Artifact,
        install_commands: list[str],
        context_key: str,
    ) -> codepipeline.StageProps:
        """One stage's actions: approval, Verify, Deploy, Check."""
        import json  # noqa: PLC0415

        from aws_cdk import aws_codepipeline as codepipeline  # noqa: PLC0415
        from aws_cdk import aws_codepipeline_actions as actions  # noqa: PLC0415

        version = f"#{{variables.{PIPELINE_VARIABLE}}}"
        stage_actions: list[codepipeline.IAction] = []
        order = 1
        if stage.approval:
            stage_actions.append(
                actions.ManualApprovalAction(
                    action_name="Approve",
                    # The topic is set on the pipeline below: the action's own grant
                    # would go to the topic's policy (immutable role).
                    additional_information=f"Deploy {version} to {stage.name}",
                    run_order=order,
                    role=self._actions_role,
                )
            )
            order += 1
        stage_actions.append(
            actions.LambdaInvokeAction(
                action_name="Verify",
                lambda_=self.function,
                user_parameters_string=json.dumps(
                    {"action": "verify", "stage": stage.name, "version": version},
                    separators=(",", ":"),
                ),
                run_order=order,
                role=self._actions_role,
            )
        )
        project = self._deploy_project(stage, install_commands, context_key)
        self._actions_policy.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:StopBuild"],
                resources=[project.project_arn],
            )
        )
        stage_actions.append(
            actions.CodeBuildAction(
                action_name="Deploy",
                project=project,
                role=self._actions_role,
                input=source,
                environment_variables={
                    "MODEL_PACKAGE_ARN": codebuild.BuildEnvironmentVariable(value=version)
                },
                run_order=order + 1,
            )
        )
        bake = int(stage.bake.to_seconds()) if stage.bake is not None else 0
        if stage.smoke_test is not None or bake:
            stage_actions.append(
                actions.LambdaInvokeAction(
                    action_name="Check",
                    lambda_=self.function,
                    user_parameters_string=self._check_parameters(stage, bake),
                    run_order=order + 2,
                    role=self._actions_role,
                )
            )
        return codepipeline.StageProps(stage_name=stage.name, actions=stage_actions)

    def _deploy_project(
        self, stage: RolloutStage, install_commands: list[str], context_key: str
    ) -> codebuild.PipelineProject:
        """``cdk deploy`` of the stage's stacks, with the version in the CDK context."""
        from cdk_sagemaker_hosting.workflow import _managed_role, encrypted_log_group  # noqa: PLC0415

        stack = Stack.of(self)
        account = stage.account or stack.account
        region = stage.region or stack.region
        logs = encrypted_log_group(
            self,
            f"{stage.name}DeployLogs",
            key=self.encryption_key,
            prefix="/aws/codebuild/",
        )
        selectors = " ".join(f"'{s}'" for s in stage.stacks)
        _, principal, role = _managed_role(
            self,
            f"{stage.name}Deploy",
            iam.ServicePrincipal(
                "codebuild.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description=f"Runs cdk deploy of stage {stage.name}",
        )
        project = codebuild.PipelineProject(
            self,
            f"{stage.name}Deploy",
            description=f"cdk deploy of stage {stage.name} with the execution's model version",
            build_spec=codebuild.BuildSpec.from_object(
                {
                    "version": "0.2",
                    "phases": {
                        "install": {"commands": install_commands},
                        "build": {
                            "commands": [
                                "cdk deploy --require-approval never --exclusively "
                                f'--context "{context_key}=$MODEL_PACKAGE_ARN" {selectors}'
                            ]
                        },
                    },
                }
            ),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.SMALL,
                # Docker image assets are built only in privileged mode, asked for per stage.
                privileged=stage.privileged,
            ),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=logs)
            ),
            timeout=Duration.hours(2),
            role=role,
        )
        # The key is set on the resource, not through the L2, whose grant would land in the
        # key's policy (the role is immutable) and tie a key of another stack to this one.
        cfn_project = project.node.default_child
        assert isinstance(cfn_project, codebuild.CfnProject)
        cfn_project.encryption_key = self.artifacts_key.key_arn
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[logs.log_group_arn],
            )
        )
        artifacts = self.artifacts.bucket.arn_for_objects("*")
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[artifacts]
            )
        )
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[self.artifacts_key.key_arn],
            )
        )
        compliance.acknowledge_resource(
            principal.policy,
            "The pipeline's own artifact store: CodePipeline names the app's input object per "
            "execution, so only the bucket's objects can be named.",
            "AwsSolutions-IAM5",
            artifacts,
        )
        roles = [r.role_arn for r in stage.deploy_roles] or [
            f"arn:{stack.partition}:iam::{account}:role/cdk-{stage.qualifier}-{kind}-role-"
            f"{account}-{region}"
            for kind in _BOOTSTRAP_ROLES
        ]
        principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=roles)
        )
        compliance.acknowledge(
            principal.policy,
            "cdk deploy runs as the stage account's CDK bootstrap roles (or the deploy_roles "
            "given), named exactly: that is how the CDK deploys to another account, and those "
            "roles' own policies and trust (cdk bootstrap --trust) bound what it may do.",
            parliament=["CREDENTIALS_EXPOSURE"],
        )
        compliance.acknowledge(
            project,
            "The project's source is the pipeline's input artifact (source type CODEPIPELINE), "
            "not a repository URL, so no credentials can be in one.",
            "HIPAA.Security-CodeBuildProjectSourceRepoUrl",
            "PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
        )
        if stage.privileged:
            compliance.acknowledge(
                project,
                f"Privileged mode is asked for (stage {stage.name}, privileged=True): cdk deploy "
                "builds the app's Docker image assets, which needs CodeBuild's Docker daemon; the "
                "build runs only the pipeline's own app source.",
                guard=["codebuild_project_environment_privileged_check"],
            )
        return project

    def _watch_pipeline(self) -> None:
        """The pipeline's stage failures and execution ends, to the stage function."""
        from cdk_sagemaker_hosting.workflow import dead_letter_queue  # noqa: PLC0415

        queue = dead_letter_queue(
            self,
            "PipelineEventsDeadLetters",
            key=self.encryption_key,
            dead_letter_of="the pipeline state-change rule's target",
        )
        self.pipeline_events = events.Rule(
            self,
            "PipelineEvents",
            description=f"Writes the outcomes of {self.pipeline_name} back to the versions",
            event_pattern=events.EventPattern(
                source=["aws.codepipeline"],
                detail_type=[
                    "CodePipeline Stage Execution State Change",
                    "CodePipeline Pipeline Execution State Change",
                ],
                resources=[self.pipeline_arn],
                detail={"state": ["FAILED", "SUCCEEDED", "SUPERSEDED", "STOPPED", "CANCELED"]},
            ),
            targets=[
                targets.LambdaFunction(self.function, retry_attempts=4, dead_letter_queue=queue)
            ],
        )


def _parameter_arn(stack: Stack, name: str) -> str:
    return Arn.format(
        ArnComponents(service="ssm", resource="parameter", resource_name=name.lstrip("/")), stack
    )


def _check_parameter_name(scope: IConstruct, prop: str, name: str) -> None:
    if not validation.is_token(name) and not (
        isinstance(name, str) and _PARAMETER_NAME.match(name)
    ):
        validation.fail(
            scope,
            prop,
            name,
            "an SSM parameter name starting with '/', of letters, digits and _.-/ "
            "(at most 1011 characters)",
        )
