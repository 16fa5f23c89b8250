"""The instance-capacity table: every hosting type of botocore's enum, and figures that hold."""

from __future__ import annotations

import pytest
from cdk_sagemaker_hosting import instance_capacity, validation
from cdk_sagemaker_hosting.instance_capacity import InstanceCapacity


def test_the_table_covers_botocores_hosting_instance_types_exactly() -> None:
    enum = validation.production_variant_instance_types()
    table = instance_capacity.table(enum)
    unlisted = sorted(
        t for t, c in table.items() if c is None and t not in instance_capacity.UNKNOWN
    )
    assert unlisted == [], "add these types to instance_capacity (or to UNKNOWN, saying why)"
    # Nothing listed that SageMaker no longer offers.
    listed = set(instance_capacity._LISTED) | instance_capacity.UNKNOWN
    assert listed <= enum, sorted(listed - enum)


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        # Figures from the EC2 instance type tables, one per rule or family.
        ("ml.m5.large", InstanceCapacity(vcpus=2, memory_mb=8 * 1024)),
        ("ml.c5.18xlarge", InstanceCapacity(vcpus=72, memory_mb=144 * 1024)),
        ("ml.r6i.32xlarge", InstanceCapacity(vcpus=128, memory_mb=1024 * 1024)),
        ("ml.c8g.medium", InstanceCapacity(vcpus=1, memory_mb=2 * 1024)),
        ("ml.c4.8xlarge", InstanceCapacity(vcpus=36, memory_mb=60 * 1024)),
        ("ml.t2.medium", InstanceCapacity(vcpus=2, memory_mb=4 * 1024)),
        ("ml.g5.12xlarge", InstanceCapacity(vcpus=48, memory_mb=192 * 1024, accelerators=4)),
        ("ml.g4dn.16xlarge", InstanceCapacity(vcpus=64, memory_mb=256 * 1024, accelerators=1)),
        ("ml.g6e.48xlarge", InstanceCapacity(vcpus=192, memory_mb=1536 * 1024, accelerators=8)),
        ("ml.p4d.24xlarge", InstanceCapacity(vcpus=96, memory_mb=1152 * 1024, accelerators=8)),
        ("ml.inf2.48xlarge", InstanceCapacity(vcpus=192, memory_mb=768 * 1024, accelerators=12)),
        ("ml.p5.4xlarge", InstanceCapacity(vcpus=16, memory_mb=256 * 1024, accelerators=1)),
    ],
)
def test_figures(instance_type: str, expected: InstanceCapacity) -> None:
    assert instance_capacity.capacity(instance_type) == expected


def test_types_whose_figures_are_unconfirmed_have_none() -> None:
    assert instance_capacity.capacity("ml.g7e.12xlarge") is None
    assert instance_capacity.capacity("ml.nope.large") is None


def test_every_accelerated_family_has_accelerators_and_no_cpu_family_has_any() -> None:
    for instance_type, cap in instance_capacity.table(
        validation.production_variant_instance_types()
    ).items():
        if cap is None:
            continue
        family = instance_type.split(".")[1]
        accelerated = family[0] in "gp" or family.startswith(("inf", "trn", "dl"))
        assert (cap.accelerators > 0) == accelerated, instance_type
        assert cap.memory_mb >= 1024 * cap.vcpus // 2 > 0, instance_type
