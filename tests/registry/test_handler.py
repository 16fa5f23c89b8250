"""Item 3's handler: the record follows the newest approved version; faults end in known states.

SageMaker's registry is a fake with the API's shapes (moto 5.2.5 loses a
version's approval status when its metadata is updated, so a second event
would find nothing approved; it does list by group ARN); SSM is moto's; the
pipeline is a fake that can fail and, like CodePipeline, starts nothing twice
for one client token.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from cdk_sagemaker_hosting._lambda.registry import core

GROUP_ARN = "arn:aws:sagemaker:us-east-1:111111111111:model-package-group/churn"
PARAMETER = "/cdk-sagemaker-hosting/churn/approved-version"
ARTIFACTS = "s3://churn-registry-artifacts/churn/"
CONFIG = core.Config(
    group_arn=GROUP_ARN,
    parameter_name=PARAMETER,
    artifacts_url=ARTIFACTS,
    pipeline_name="churn-release",
)


def arn(version: int) -> str:
    return f"arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/{version}"


def denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, operation)


class Registry:
    """SageMaker's model package calls the handler makes, over a dict of versions."""

    def __init__(self) -> None:
        self.versions: dict[int, dict[str, Any]] = {}
        self.deny_updates = False

    def add(self, status: str, url: str | None = None) -> int:
        version = len(self.versions) + 1
        self.versions[version] = {
            "ModelPackageArn": arn(version),
            "ModelApprovalStatus": status,
            "InferenceSpecification": {
                "Containers": [{"ModelDataUrl": url or f"{ARTIFACTS}{version}/model.tar.gz"}]
            },
            "CustomerMetadataProperties": {},
        }
        return version

    def set(self, version: int, status: str) -> None:
        self.versions[version]["ModelApprovalStatus"] = status

    def list_model_packages(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["ModelPackageGroupName"] == GROUP_ARN
        assert (kwargs["SortBy"], kwargs["SortOrder"]) == ("CreationTime", "Descending")
        found = [
            {"ModelPackageArn": v["ModelPackageArn"]}
            for _, v in sorted(self.versions.items(), reverse=True)
            if v["ModelApprovalStatus"] == kwargs["ModelApprovalStatus"]
        ]
        return {"ModelPackageSummaryList": found[: kwargs["MaxResults"]]}

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:  # noqa: N803
        return json.loads(json.dumps(self.versions[int(ModelPackageName.rsplit("/", 1)[1])]))

    def update_model_package(self, ModelPackageArn: str, CustomerMetadataProperties: Any) -> None:  # noqa: N803
        if self.deny_updates:
            raise denied("UpdateModelPackage")
        version = self.versions[int(ModelPackageArn.rsplit("/", 1)[1])]
        version["CustomerMetadataProperties"].update(CustomerMetadataProperties)

    def metadata(self, version: int) -> dict[str, str]:
        return dict(self.versions[version]["CustomerMetadataProperties"])


class Pipeline:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.variables: list[list[dict[str, str]] | None] = []
        self.fail = False

    def start_pipeline_execution(
        self,
        name: str,
        clientRequestToken: str,  # noqa: N803
        variables: list[dict[str, str]] | None = None,
    ) -> dict[str, str]:
        assert name == "churn-release"
        if self.fail:
            raise ClientError(
                {"Error": {"Code": "PipelineNotFoundException", "Message": "gone"}},
                "StartPipelineExecution",
            )
        # CodePipeline is idempotent on the token: the same token starts nothing new.
        if clientRequestToken in self.started:
            return {"pipelineExecutionId": f"exec-{self.started.index(clientRequestToken) + 1}"}
        self.started.append(clientRequestToken)
        self.variables.append(variables)
        return {"pipelineExecutionId": f"exec-{len(self.started)}"}


def event(version: int, status: str, group: str = "churn") -> dict[str, Any]:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version,
            "ModelPackageArn": arn(version),
            "ModelApprovalStatus": status,
        },
    }


@pytest.fixture
def world() -> Any:
    with moto.mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        yield Registry(), ssm, Pipeline(), []


def run(world: Any, evt: dict[str, Any], config: core.Config = CONFIG) -> dict[str, Any]:
    registry, ssm, pipeline, published = world
    return core.on_state_change(
        evt,
        sagemaker=registry,
        ssm=ssm,
        codepipeline=pipeline,
        config=config,
        now=lambda: 1_800_000_000.0,
        publish=published.append,
    )


def record(world: Any) -> str | None:
    return core.recorded(world[1], CONFIG)


def test_an_approval_is_recorded_the_pipeline_started_and_the_version_told(world: Any) -> None:
    registry, _, pipeline, published = world
    registry.add("Approved")
    outcome = run(world, event(1, "Approved"))
    assert outcome["result"] == "started" and outcome["execution"] == "exec-1"
    assert record(world) == arn(1)
    assert pipeline.started == ["churn-1-after-r0"]
    assert registry.metadata(1) == {
        "cdk-sagemaker-hosting:rollout": "started",
        "cdk-sagemaker-hosting:recorded-at": "2027-01-15T08:00:00+00:00",
        "cdk-sagemaker-hosting:reason": f"{arn(1)} is the newest approved version",
        "cdk-sagemaker-hosting:pipeline-execution": "exec-1",
        "cdk-sagemaker-hosting:pipeline-token": "churn-1-after-r0",
    }
    assert [p["result"] for p in published] == ["started"]


def test_a_duplicated_approval_changes_nothing(world: Any) -> None:
    registry, _, pipeline, published = world
    registry.add("Approved")
    run(world, event(1, "Approved"))
    outcome = run(world, event(1, "Approved"))
    assert outcome["result"] == "unchanged"
    assert pipeline.started == ["churn-1-after-r0"] and len(published) == 1


def test_a_second_approval_while_one_rolls_out_records_the_newest_once(world: Any) -> None:
    registry, _, pipeline, _ = world
    registry.add("Approved")
    run(world, event(1, "Approved"))
    registry.add("Approved")
    # The late event of version 1 arrives after version 2 was approved.
    assert run(world, event(1, "Approved"))["result"] == "started"
    assert run(world, event(2, "Approved"))["result"] == "unchanged"
    assert record(world) == arn(2)
    assert pipeline.started == ["churn-1-after-r0", "churn-2-after-r1"]


def test_a_rejected_version_is_never_recorded(world: Any) -> None:
    registry, _, pipeline, published = world
    registry.add("Rejected")
    outcome = run(world, event(1, "Rejected"))
    assert outcome["result"] == "none-approved" and record(world) is None
    assert pipeline.started == [] and published[0]["result"] == "none-approved"


def test_rejecting_the_recorded_version_rolls_the_record_back_to_the_newest_approved(
    world: Any,
) -> None:
    registry, _, pipeline, _ = world
    registry.add("Approved")
    registry.add("Approved")
    run(world, event(2, "Approved"))
    registry.set(2, "Rejected")
    outcome = run(world, event(2, "Rejected"))
    assert outcome["result"] == "started"
    assert outcome["reason"].startswith(f"{arn(2)} is no longer approved; {arn(1)}")
    assert record(world) == arn(1)
    # A move back is a move of its own: a new token, a new execution.
    assert pipeline.started == ["churn-2-after-r0", "churn-1-after-r1"]


def test_rejecting_the_only_approved_version_keeps_the_record(world: Any) -> None:
    registry, _, _, published = world
    registry.add("Approved")
    run(world, event(1, "Approved"))
    registry.set(1, "Rejected")
    outcome = run(world, event(1, "Rejected"))
    assert outcome["result"] == "none-approved" and outcome["version"] == arn(1)
    assert record(world) == arn(1)
    assert "nothing is deployed" in published[-1]["reason"]


def test_a_version_whose_artifacts_the_accounts_cannot_read_is_refused(world: Any) -> None:
    registry, _, pipeline, published = world
    registry.add("Approved")
    run(world, event(1, "Approved"))
    registry.add("Approved", url="s3://someone-elses-bucket/churn/2/model.tar.gz")
    outcome = run(world, event(2, "Approved"))
    assert outcome["result"] == "refused" and outcome["version"] == arn(1)
    assert record(world) == arn(1) and pipeline.started == ["churn-1-after-r0"]
    assert registry.metadata(2)["cdk-sagemaker-hosting:rollout"] == "refused"
    assert "someone-elses-bucket" in registry.metadata(2)["cdk-sagemaker-hosting:reason"]
    assert published[-1]["refused"] == arn(2)


def test_a_pipeline_that_fails_to_start_keeps_the_record_and_starts_on_the_retry(
    world: Any,
) -> None:
    registry, _, pipeline, published = world
    registry.add("Approved")
    pipeline.fail = True
    with pytest.raises(ClientError):
        run(world, event(1, "Approved"))
    assert record(world) == arn(1)
    assert published[-1]["pipeline_error"].startswith("PipelineNotFoundException")
    assert registry.metadata(1)["cdk-sagemaker-hosting:rollout"] == "recorded"
    pipeline.fail = False
    # Lambda retries the event: the record stands, the pipeline starts.
    assert run(world, event(1, "Approved"))["result"] == "started"
    assert pipeline.started == ["churn-1-after-r0"]


def test_a_denied_write_back_is_reported_and_loses_nothing(world: Any) -> None:
    registry, _, pipeline, _ = world
    registry.add("Approved")
    registry.deny_updates = True
    outcome = run(world, event(1, "Approved"))
    assert outcome["result"] == "started" and outcome["write_back"].startswith("AccessDenied")
    assert record(world) == arn(1) and pipeline.started == ["churn-1-after-r0"]


def test_without_a_pipeline_the_version_is_recorded_only(world: Any) -> None:
    registry, _, pipeline, _ = world
    registry.add("Approved")
    config = core.Config(group_arn=GROUP_ARN, parameter_name=PARAMETER)
    outcome = core.on_state_change(
        event(1, "Approved"),
        sagemaker=registry,
        ssm=world[1],
        codepipeline=None,
        config=config,
        now=lambda: 0.0,
    )
    assert outcome["result"] == "recorded" and pipeline.started == []


@pytest.mark.parametrize(
    ("evt", "message"),
    [
        ({**event(1, "Approved"), "source": "my.app"}, "not a SageMaker model package state"),
        (event(1, "Approved", group="fraud"), "about group 'fraud', not 'churn'"),
        ({"source": "aws.sagemaker"}, "not a SageMaker model package state change"),
    ],
)
def test_events_of_other_sources_and_groups_are_refused(
    world: Any, evt: dict[str, Any], message: str
) -> None:
    with pytest.raises(core.ForeignEventError, match=message):
        run(world, evt)
    assert record(world) is None


def test_metadata_values_keep_to_sagemakers_characters() -> None:
    value = core.metadata_value("container 0 artifact s3://x/(y),z; " + "a" * 300)
    assert len(value) == 256 and "(" not in value and "," not in value


def test_the_publisher_sends_the_outcome_to_the_topic_and_the_bus() -> None:
    sent: list[dict[str, Any]] = []

    class Sns:
        def publish(self, **kwargs: Any) -> None:
            sent.append(kwargs)

    class Events:
        def put_events(self, **kwargs: Any) -> None:
            sent.append(kwargs)

    sns, events = Sns(), Events()
    publish = core.publisher(sns=sns, topic_arn="arn:topic", events=events, event_bus="default")
    publish({"result": "started"})
    assert sent[0]["Subject"] == "Model package promotion: started"
    entry = sent[1]["Entries"][0]
    assert (entry["Source"], entry["DetailType"]) == (core.EVENT_SOURCE, core.EVENT_DETAIL_TYPE)


class Runtime:
    def __init__(self, body: bytes | None) -> None:
        self.body = body

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        if self.body is None:
            raise ClientError(
                {"Error": {"Code": "ModelError", "Message": "500 from the container"}},
                "InvokeEndpoint",
            )
        import io

        return {"Body": io.BytesIO(self.body), "ContentType": "application/json"}


def test_the_smoke_test_passes_fails_and_writes_the_stage_back() -> None:
    registry = Registry()
    registry.add("Approved")
    ok, said = core.smoke_test(Runtime(b'{"p": 0.2}'), "churn", b"1,2", content_type="text/csv")
    assert ok and said == "10 bytes of application/json"
    ok, said = core.smoke_test(Runtime(None), "churn", b"1,2", content_type="text/csv")
    assert not ok and said.startswith("ModelError")
    ok, said = core.smoke_test(
        Runtime(b"[]"), "churn", b"1,2", content_type="text/csv", expect=lambda b: b != b"[]"
    )
    assert not ok and "unexpected response" in said
    assert core.record_stage(registry, arn(1), "staging", "failed", said) is None
    assert registry.metadata(1)["cdk-sagemaker-hosting:staging"] == "failed"


class Stale:
    """SSM whose first read is an earlier one: an invocation that read before another wrote."""

    def __init__(self, ssm: Any, first: dict[str, Any] | ClientError) -> None:
        self.ssm = ssm
        self.first: dict[str, Any] | ClientError | None = first

    def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
        first, self.first = self.first, None
        if isinstance(first, ClientError):
            raise first
        return first if first is not None else self.ssm.get_parameter(**kwargs)

    def put_parameter(self, **kwargs: Any) -> dict[str, Any]:
        return dict(self.ssm.put_parameter(**kwargs))


def test_two_events_handled_at_once_start_one_execution(world: Any) -> None:
    """Versions 2 and 3 approved together: both invocations read 1, both record 3.

    Lambda runs the two events side by side (the function has no reserved
    concurrency); each moves the record from 1 to 3 and starts the pipeline
    with the same token, so CodePipeline starts it once.
    """
    registry, ssm, pipeline, _ = world
    registry.add("Approved")
    run(world, event(1, "Approved"))
    before = ssm.get_parameter(Name=PARAMETER)
    registry.add("Approved")
    registry.add("Approved")
    first = run(world, event(2, "Approved"))
    second = run((registry, Stale(ssm, before), pipeline, world[3]), event(3, "Approved"))
    assert first["result"] == second["result"] == "started"
    assert first["execution"] == second["execution"] == "exec-2"
    assert len(pipeline.started) == 2 and record(world) == arn(3)


def test_a_version_rejected_and_approved_again_starts_again(world: Any) -> None:
    registry, _, pipeline, _ = world
    registry.add("Approved")
    registry.add("Approved")
    run(world, event(2, "Approved"))
    registry.set(2, "Rejected")
    run(world, event(2, "Rejected"))
    registry.set(2, "Approved")
    again = run(world, event(2, "Approved"))
    assert again["result"] == "started" and again["execution"] == "exec-3"
    assert record(world) == arn(2) and len(set(pipeline.started)) == 3
