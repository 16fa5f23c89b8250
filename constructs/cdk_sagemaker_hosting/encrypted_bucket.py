"""An S3 bucket that is safe to hold model artifacts, captured traffic and batch output."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cdk_sagemaker_hosting import compliance, encryption, validation
from cdk_sagemaker_hosting.compliance import acknowledge
from constructs import Construct

# Server access logs go to the log bucket through a bucket policy, never an
# ACL, whatever the app's feature flags say (ACLs are disabled everywhere here).
_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"

#: Durations are immutable: one jsii object per length serves every bucket
#: (five round trips to jsii per bucket otherwise).
_days = functools.cache(Duration.days)


#: Why the Control Tower S3 controls these buckets do not meet are accepted.
_NO_OBJECT_LOCK = (
    "S3 Object Lock would make every object undeletable for its retention period, "
    "against the lifecycle rules that expire old versions and captured data; versioning "
    "keeps overwritten objects for the noncurrent-version window. Pass a bucket of your "
    "own with Object Lock where write-once retention is required."
)
_NO_EVENTS = (
    "Nothing in the library consumes object events; turning notifications on without a "
    "consumer adds a delivery path and no control. Pass a bucket of your own, or enable "
    "EventBridge notifications on this one, where a consumer exists."
)
_SSE_S3_ONLY = (
    "S3 server access log delivery writes only to buckets encrypted with SSE-S3; "
    "it cannot use a KMS key."
)
_LOG_TARGET = (
    "This is the access-log bucket: logging its own access to itself would log "
    "each delivery without end, and to another bucket only moves the question."
)


def _acknowledge_controls(bucket: s3.Bucket, *, log_target: bool) -> None:
    """The Control Tower (and checkov) findings these buckets answer by design, and why.

    One batch per bucket (each finding has its own reason): metadata writes
    are jsii round trips, paid for every bucket of every stack.
    """
    guard = (
        {
            "s3_bucket_default_encryption_kms_check": _SSE_S3_ONLY,
            "s3_bucket_logging_enabled_check": _LOG_TARGET,
        }
        if log_target
        else {}
    )
    guard |= {
        "s3_bucket_object_lock_enabled_check": _NO_OBJECT_LOCK,
        "s3_event_notifications_enabled_check": _NO_EVENTS,
    }
    compliance.acknowledge_findings(
        bucket, checkov={"CKV_AWS_18": _LOG_TARGET} if log_target else None, guard=guard
    )


def _acknowledge_tls_statements(bucket: s3.Bucket) -> None:
    """The IAM policy linter's findings on the TLS statements CDK writes, and why they stand."""
    if bucket.policy is None:  # enforce_ssl always makes one
        return
    compliance.acknowledge_findings(
        bucket.policy,
        parliament=[
            (
                "UNKNOWN_CONDITION_FOR_ACTION",
                "The TLS 1.2 deny that minimum_tls_version writes covers s3:*, and parliament "
                "lists s3:TlsVersion for neither s3:InitiateReplication nor "
                "s3:PutAccessPointPublicAccessBlock: on an action without the key "
                "NumericLessThan is false and the statement denies nothing, while the "
                "aws:SecureTransport deny beside it still covers every action.",
            ),
            (
                "MISMATCHED_TYPE",
                "s3:TlsVersion is a numeric key compared with 1.2, the value AWS documents for "
                "it; parliament's numeric check accepts whole numbers only.",
            ),
        ],
    )


class EncryptedBucket(Construct):
    """A versioned S3 bucket encrypted with a customer-managed KMS key.

    Secure by default: a KMS key with yearly rotation (or the one you pass),
    S3 Bucket Keys, a policy that refuses requests without TLS 1.2+, all public
    access blocked, ACLs disabled, server access logging to a separate bucket,
    and lifecycle rules that expire old versions and abandoned uploads.

    Construct IDs (a public contract): ``Key`` (when created), ``Resource``
    (the bucket), ``AccessLogs`` (when created).

    :param encryption_key: KMS key for the bucket. Default: a new key with rotation.
    :param server_access_logs_bucket: where S3 writes access logs. Default: a new
        bucket (SSE-S3, because S3 log delivery cannot write to SSE-KMS buckets),
        whose logs expire after ``access_logs_retention``.
    :param server_access_logs_prefix: prefix of the access logs. Default: ``"s3-access-logs/"``.
    :param access_logs_retention: how long access logs are kept in a bucket this
        construct creates. Default: 365 days.
    :param noncurrent_version_expiration: how long overwritten or deleted object
        versions are kept. Default: 90 days.
    :param lifecycle_rules: more lifecycle rules, added after the defaults. Default: none.
    :param removal_policy: what happens to the bucket, its key and its log
        bucket when removed from the stack. Default: ``RETAIN``.
    :param bucket_name: physical name. Default: generated by CloudFormation.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        server_access_logs_bucket: s3.IBucket | None = None,
        server_access_logs_prefix: str = "s3-access-logs/",
        access_logs_retention: Duration | None = None,
        noncurrent_version_expiration: Duration | None = None,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        bucket_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        validation.check_optional_type(
            self, "encryption_key", encryption_key, kms.IKey, "a kms.IKey"
        )
        validation.check_optional_type(
            self,
            "server_access_logs_bucket",
            server_access_logs_bucket,
            s3.IBucket,
            "an s3.IBucket",
        )
        self.node.set_context(_LOGS_USE_BUCKET_POLICY, True)

        self.encryption_key: kms.IKey = encryption_key or encryption.encryption_key(
            self, "Key", f"Encrypts objects of {self.node.path}", removal_policy
        )

        # Both buckets: TLS 1.2+ only, private, no ACLs, versioned.
        secure: dict[str, Any] = {
            "enforce_ssl": True,
            "minimum_tls_version": 1.2,
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            "versioned": True,
            "removal_policy": removal_policy,
        }
        if server_access_logs_bucket is None:
            logs_bucket = s3.Bucket(
                self,
                "AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,
                **secure,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="expire-access-logs",
                        expiration=access_logs_retention or _days(365),
                        noncurrent_version_expiration=_days(30),
                        abort_incomplete_multipart_upload_after=_days(7),
                    )
                ],
            )
            acknowledge(
                logs_bucket,
                _SSE_S3_ONLY,
                "HIPAA.Security-S3DefaultEncryptionKMS",
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
                "PCI.DSS.321-S3DefaultEncryptionKMS",
            )
            _acknowledge_controls(logs_bucket, log_target=True)
            _acknowledge_tls_statements(logs_bucket)
            server_access_logs_bucket = logs_bucket
        self.access_logs_bucket: s3.IBucket = server_access_logs_bucket

        rules = [
            s3.LifecycleRule(
                id="expire-noncurrent-versions",
                noncurrent_version_expiration=noncurrent_version_expiration or _days(90),
                abort_incomplete_multipart_upload_after=_days(7),
            ),
            *lifecycle_rules,
        ]
        self.bucket: s3.Bucket = s3.Bucket(
            self,
            "Resource",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            server_access_logs_bucket=server_access_logs_bucket,
            server_access_logs_prefix=server_access_logs_prefix,
            lifecycle_rules=rules,
            **secure,
        )
        _acknowledge_controls(self.bucket, log_target=False)
        _acknowledge_tls_statements(self.bucket)
        #: Least-privilege grants on this bucket and its key.
        self.access = BucketAccess(self.bucket, self.encryption_key)

    @property
    def bucket_name(self) -> str:
        """The bucket's name."""
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        """The bucket's ARN."""
        return self.bucket.bucket_arn

    def s3_url_for_object(self, key: str) -> str:
        """``s3://bucket/key`` for an object in this bucket."""
        return self.bucket.s3_url_for_object(key)

    def arn_for_objects(self, key_pattern: str) -> str:
        """ARN of the objects matching ``key_pattern`` (``*`` allowed)."""
        return self.bucket.arn_for_objects(key_pattern)

    def grant_read_prefix(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Let ``grantee`` list ``prefix`` and read (and decrypt) the objects under it."""
        return self.access.grant_read_prefix(grantee, prefix)

    def grant_write_prefix(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Let ``grantee`` write (``s3:PutObject``), and encrypt, objects under ``prefix``."""
        return self.access.grant_write_prefix(grantee, prefix)

    def grant_read_object(self, grantee: iam.IGrantable, key: str) -> iam.Grant:
        """Let ``grantee`` read exactly ``key`` (``s3:GetObject``) and decrypt it."""
        return self.access.grant_read_object(grantee, key)


def _same_key(a: kms.IKey, b: kms.IKey) -> bool:
    """The same key object, or two references to one ARN."""
    return a is b or a.key_arn == b.key_arn


#: What every bucket parameter of the library takes.
BucketLike = s3.IBucket | EncryptedBucket

#: One statement of a grant: actions, resources, conditions.
_Permission = tuple[list[str], list[str], dict[str, Any] | None]
_READS = "reads the objects under its prefix"
_WRITES = "writes objects whose keys SageMaker generates under its prefix"


class BucketAccess:
    """Least-privilege access to one bucket, whoever made it, and to the key of its objects.

    The library's constructs read and write buckets only through this: an
    :class:`EncryptedBucket`, a ``s3.Bucket`` of the app, or an imported
    ``s3.IBucket``. Grants are written to the grantee's own policy only (never
    the bucket's or the key's), so they work across stacks and accounts'
    imported buckets without a cycle, and return ``iam.Grant`` as CDK grants do.

    :param bucket: the bucket.
    :param encryption_key: the KMS key its objects are encrypted with. Default:
        the bucket's own (``s3.IBucket.encryption_key``: set for an
        :class:`EncryptedBucket`, a ``s3.Bucket`` with KMS encryption, or an
        import that names it); none for SSE-S3 buckets.
    """

    def __init__(self, bucket: s3.IBucket, encryption_key: kms.IKey | None = None) -> None:
        self.bucket = bucket
        self.encryption_key: kms.IKey | None = encryption_key or bucket.encryption_key

    @staticmethod
    def of(
        scope: Construct,
        prop: str,
        bucket: BucketLike,
        encryption_key: kms.IKey | None = None,
    ) -> BucketAccess:
        """Access to ``bucket`` (checked to be a bucket), with ``encryption_key`` when given."""
        if isinstance(bucket, EncryptedBucket):
            if encryption_key is not None and encryption_key is not bucket.encryption_key:
                validation.fail(
                    scope,
                    f"{prop} encryption key",
                    encryption_key.node.path,
                    f"an EncryptedBucket brings its own key ({bucket.encryption_key.node.path}); "
                    "leave the key out",
                )
            return bucket.access
        validation.check_type(scope, prop, bucket, s3.IBucket, "an s3.IBucket or EncryptedBucket")
        if encryption_key is not None:
            validation.check_type(
                scope, f"{prop} encryption key", encryption_key, kms.IKey, "a kms.IKey"
            )
            own = bucket.encryption_key
            if own is not None and not _same_key(own, encryption_key):
                validation.fail(
                    scope,
                    f"{prop} encryption key",
                    encryption_key.node.path,
                    f"the bucket is encrypted with its own key ({own.node.path}); only that "
                    "key can decrypt its objects: leave the key out",
                )
        return BucketAccess(bucket, encryption_key)

    @property
    def bucket_name(self) -> str:
        """The bucket's name."""
        return self.bucket.bucket_name

    @property
    def bucket_arn(self) -> str:
        """The bucket's ARN."""
        return self.bucket.bucket_arn

    @property
    def key_unknown(self) -> bool:  # noqa: PLR0911 - one answer per encryption kind
        """No customer-managed KMS key is known for objects that may well need one.

        A bucket of this app needs none when it is encrypted with SSE-S3 (no
        ``BucketEncryption``, which S3 reads as SSE-S3, or ``AES256``) or with
        the AWS-managed ``aws/s3`` key (``aws:kms`` or ``aws:kms:dsse`` without
        a key ID), whose policy lets the account use it through S3. An
        imported bucket may be SSE-KMS with a key nobody named.
        """
        if self.encryption_key is not None:
            return False
        child = self.bucket.node.default_child
        if not isinstance(child, s3.CfnBucket):
            return True
        encryption = self.bucket.stack.resolve(child.bucket_encryption)
        if encryption is None:
            return False
        rules = (
            encryption.get("serverSideEncryptionConfiguration")
            if isinstance(encryption, dict)
            else None
        )
        if not isinstance(rules, list) or not rules:
            return True
        for rule in rules:
            default = rule.get("serverSideEncryptionByDefault") if isinstance(rule, dict) else None
            if not isinstance(default, dict):
                return True
            algorithm = default.get("sseAlgorithm")
            if algorithm == "AES256":
                continue
            if algorithm in ("aws:kms", "aws:kms:dsse") and not default.get("kmsMasterKeyId"):
                continue
            return True
        return False

    @property
    def key_arn(self) -> str | None:
        """The ARN of the objects' KMS key, or ``None`` (SSE-S3 or unknown)."""
        return self.encryption_key.key_arn if self.encryption_key is not None else None

    def s3_url_for_object(self, key: str) -> str:
        """``s3://bucket/key``."""
        return self.bucket.s3_url_for_object(key)

    def arn_for_objects(self, key_pattern: str) -> str:
        """ARN of the objects matching ``key_pattern`` (``*`` allowed)."""
        return self.bucket.arn_for_objects(key_pattern)

    def same_bucket(self, other: BucketAccess) -> bool:
        """True when both name the same bucket (the same construct, or the same known name)."""
        if self.bucket is other.bucket:
            return True
        mine, theirs = self.bucket.bucket_name, other.bucket.bucket_name
        return not validation.is_token(mine) and mine == theirs

    def _s3_service(self) -> str:
        return f"s3.{self.bucket.env.region}.amazonaws.com"

    def _key_use(self, actions: list[str]) -> list[_Permission]:
        """``actions`` on the objects' key, through S3 only; none without a known key."""
        if self.encryption_key is None:
            return []
        via_s3 = {"StringEquals": {"kms:ViaService": self._s3_service()}}
        return [(actions, [self.encryption_key.key_arn], via_s3)]

    def _read_object(self, key: str) -> list[_Permission]:
        return [
            (["s3:GetObject"], [self.arn_for_objects(key)], None),
            *self._key_use(["kms:Decrypt"]),
        ]

    def _read_prefix(self, prefix: str) -> list[_Permission]:
        self._check_prefix(prefix)
        listing = {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
        return [(["s3:ListBucket"], [self.bucket_arn], listing), *self._read_object(f"{prefix}*")]

    def _write_prefix(self, prefix: str) -> list[_Permission]:
        self._check_prefix(prefix)
        return [
            (["s3:PutObject"], [self.arn_for_objects(f"{prefix}*")], None),
            *self._key_use(["kms:Decrypt", "kms:GenerateDataKey"]),
        ]

    @staticmethod
    def _grant(grantee: iam.IGrantable, permissions: list[_Permission]) -> iam.Grant:
        grants = [
            iam.Grant.add_to_principal(
                grantee=grantee, actions=actions, resource_arns=resources, conditions=conditions
            )
            for actions, resources, conditions in permissions
        ]
        return functools.reduce(iam.Grant.combine, grants)

    @staticmethod
    def _add(principal: iam.IPrincipal, permissions: list[_Permission]) -> None:
        for actions, resources, conditions in permissions:
            principal.add_to_principal_policy(
                iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
            )

    def grant_read_object(self, grantee: iam.IGrantable, key: str) -> iam.Grant:
        """Let ``grantee`` read exactly ``key`` (``s3:GetObject``) and decrypt it through S3.

        Narrower than :meth:`aws_s3.IBucket.grant_read`, which also grants
        ``s3:List*`` and ``s3:GetBucket*`` on the whole bucket.
        """
        return self._grant(grantee, self._read_object(key))

    def grant_read_prefix(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Let ``grantee`` list ``prefix`` and read (and decrypt) the objects under it."""
        grant = self._grant(grantee, self._read_prefix(prefix))
        self._acknowledge_prefix(grantee.grant_principal, prefix, _READS)
        return grant

    def grant_write_prefix(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Let ``grantee`` write (``s3:PutObject``), and encrypt, objects under ``prefix``."""
        grant = self._grant(grantee, self._write_prefix(prefix))
        self._acknowledge_prefix(grantee.grant_principal, prefix, _WRITES)
        return grant

    # The library's own grantees (a Model's managed policy) get the same
    # statements without an iam.Grant: making one calls a grantee written in
    # Python back from jsii (a model's artifact took 5 ms to grant, now 2).

    def add_read_object(self, principal: iam.IPrincipal, key: str) -> None:
        """:meth:`grant_read_object`'s statements, added to ``principal``'s policy."""
        self._add(principal, self._read_object(key))

    def add_read_prefix(self, principal: iam.IPrincipal, prefix: str) -> None:
        """:meth:`grant_read_prefix`'s statements, added to ``principal``'s policy."""
        self._add(principal, self._read_prefix(prefix))
        self._acknowledge_prefix(principal, prefix, _READS)

    def _check_prefix(self, prefix: str) -> None:
        """A prefix grant names a real prefix: never the whole bucket, never a pattern.

        The grant is acknowledged to cdk-nag as limited to the prefix, so an
        empty prefix (the whole bucket) or one holding ``*``/``?`` is refused.
        """
        validation.check_s3_prefix(self.bucket, "prefix", prefix)
        if not validation.is_token(prefix) and ("*" in prefix or "?" in prefix):
            validation.fail(
                self.bucket,
                "prefix",
                prefix,
                "a prefix grant is limited to one literal prefix; '*' and '?' would widen it",
            )

    def _acknowledge_prefix(self, principal: iam.IPrincipal, prefix: str, what: str) -> None:
        """Acknowledge the one object wildcard a prefix grant needs, on the grantee's policy.

        cdk-nag names the finding after the resource as it appears in the
        grantee's template (a ``GetAtt`` in the bucket's stack, an
        ``ImportValue`` in another); it is resolved when the app is
        synthesised, so no user writes generated export names.
        """
        scope = getattr(principal, "policy", principal)
        if not isinstance(scope, Construct):
            return
        compliance.acknowledge_resource(
            scope,
            f"The role {what} ({prefix}*) in bucket {self.bucket.node.path} only; the object "
            "names are chosen at run time, so no narrower resource exists.",
            "AwsSolutions-IAM5",
            self.arn_for_objects(f"{prefix}*"),
        )
