"""What one SageMaker hosting instance offers: vCPUs, memory and accelerator devices.

Inference components reserve CPU cores, memory and accelerators on the
endpoint's instances; :mod:`cdk_sagemaker_hosting.inference_component`
refuses at synth what cannot be placed on them. This table holds each
``ml.*`` hosting instance type's resources.

Source: the Amazon EC2 instance type specifications ("Amazon EC2 Instance
Types" guide, https://docs.aws.amazon.com/ec2/latest/instancetypes/, tables
of general purpose, compute optimized, memory optimized and accelerated
computing types: vCPUs, memory in GiB, and GPUs / Inferentia / Trainium /
Gaudi devices), which the SageMaker ``ml.<family>.<size>`` hosting types
mirror (SageMaker AI pricing page, "Instance details"), read in October 2026.
General purpose, compute and memory optimized families follow their
family's memory per vCPU (``m``: 4 GiB, ``c``: 2 GiB, ``r``: 8 GiB) and
sizes (``medium`` 1 vCPU, ``large`` 2, ``xlarge`` 4, ``Nxlarge`` 4N), with
the exceptions EC2 lists (``c4``, ``t2``, ``c4.8xlarge``'s 36 vCPUs);
accelerated types are listed one by one.

Accelerator devices count what ``NumberOfAcceleratorDevicesRequired``
counts: GPUs, and AWS Inferentia, Trainium and Gaudi devices (chips, not
NeuronCores).

A test keeps the table's keys equal to botocore's
``ProductionVariantInstanceType`` enum: a type SageMaker adds fails it until
it is entered here, or listed in :data:`UNKNOWN` (types whose figures were
not confirmed from the source; components on them are not checked and a
warning says so).

SageMaker keeps part of each instance for its own agents, so a requirement
that fits this table may still be refused at deploy time; what exceeds it is
certain to be.
"""

from __future__ import annotations

import dataclasses
import re

#: Hosting instance types in botocore's enum whose figures this table does not
#: hold (not confirmed from the source when the table was written).
UNKNOWN = frozenset(
    {
        "ml.g7.2xlarge",
        "ml.g7.4xlarge",
        "ml.g7.8xlarge",
        "ml.g7.12xlarge",
        "ml.g7.24xlarge",
        "ml.g7.48xlarge",
        "ml.g7e.2xlarge",
        "ml.g7e.4xlarge",
        "ml.g7e.8xlarge",
        "ml.g7e.12xlarge",
        "ml.g7e.24xlarge",
        "ml.g7e.48xlarge",
        "ml.p6-b300.48xlarge",
        "ml.p6e-gb200.36xlarge",
    }
)


@dataclasses.dataclass(frozen=True)
class InstanceCapacity:
    """The resources of one instance.

    :param vcpus: virtual CPUs.
    :param memory_mb: memory in MiB (what ``*MemoryRequiredInMb`` counts).
    :param accelerators: accelerator devices (0: none).
    """

    vcpus: int
    memory_mb: int
    accelerators: int = 0


def _gib(value: float) -> int:
    return int(value * 1024)


#: Memory per vCPU (GiB) of the families that follow their family's ratio.
_RATIO_FAMILIES: dict[float, tuple[str, ...]] = {
    2: ("c5", "c5d", "c6g", "c6gd", "c6gn", "c6i", "c6in", "c7g", "c7i", "c8g"),
    4: ("m4", "m5", "m5d", "m6g", "m6gd", "m6i", "m7i", "m8g"),
    8: ("r5", "r5d", "r6g", "r6gd", "r6i", "r7gd", "r7i", "r8g"),
}

#: Sizes that do not follow the rule, and accelerated types: (vCPUs, GiB, devices).
_LISTED: dict[str, tuple[int, float, int]] = {
    # c4: 1.875 GiB per vCPU; the 8xlarge has 36 vCPUs.
    "ml.c4.large": (2, 3.75, 0),
    "ml.c4.xlarge": (4, 7.5, 0),
    "ml.c4.2xlarge": (8, 15, 0),
    "ml.c4.4xlarge": (16, 30, 0),
    "ml.c4.8xlarge": (36, 60, 0),
    # t2 (burstable)
    "ml.t2.medium": (2, 4, 0),
    "ml.t2.large": (2, 8, 0),
    "ml.t2.xlarge": (4, 16, 0),
    "ml.t2.2xlarge": (8, 32, 0),
    # NVIDIA T4
    "ml.g4dn.xlarge": (4, 16, 1),
    "ml.g4dn.2xlarge": (8, 32, 1),
    "ml.g4dn.4xlarge": (16, 64, 1),
    "ml.g4dn.8xlarge": (32, 128, 1),
    "ml.g4dn.12xlarge": (48, 192, 4),
    "ml.g4dn.16xlarge": (64, 256, 1),
    # NVIDIA A10G
    "ml.g5.xlarge": (4, 16, 1),
    "ml.g5.2xlarge": (8, 32, 1),
    "ml.g5.4xlarge": (16, 64, 1),
    "ml.g5.8xlarge": (32, 128, 1),
    "ml.g5.12xlarge": (48, 192, 4),
    "ml.g5.16xlarge": (64, 256, 1),
    "ml.g5.24xlarge": (96, 384, 4),
    "ml.g5.48xlarge": (192, 768, 8),
    # NVIDIA L4
    "ml.g6.xlarge": (4, 16, 1),
    "ml.g6.2xlarge": (8, 32, 1),
    "ml.g6.4xlarge": (16, 64, 1),
    "ml.g6.8xlarge": (32, 128, 1),
    "ml.g6.12xlarge": (48, 192, 4),
    "ml.g6.16xlarge": (64, 256, 1),
    "ml.g6.24xlarge": (96, 384, 4),
    "ml.g6.48xlarge": (192, 768, 8),
    # NVIDIA L40S
    "ml.g6e.xlarge": (4, 32, 1),
    "ml.g6e.2xlarge": (8, 64, 1),
    "ml.g6e.4xlarge": (16, 128, 1),
    "ml.g6e.8xlarge": (32, 256, 1),
    "ml.g6e.12xlarge": (48, 384, 4),
    "ml.g6e.16xlarge": (64, 512, 1),
    "ml.g6e.24xlarge": (96, 768, 4),
    "ml.g6e.48xlarge": (192, 1536, 8),
    # NVIDIA K80
    "ml.p2.xlarge": (4, 61, 1),
    "ml.p2.8xlarge": (32, 488, 8),
    "ml.p2.16xlarge": (64, 732, 16),
    # NVIDIA V100
    "ml.p3.2xlarge": (8, 61, 1),
    "ml.p3.8xlarge": (32, 244, 4),
    "ml.p3.16xlarge": (64, 488, 8),
    # NVIDIA A100
    "ml.p4d.24xlarge": (96, 1152, 8),
    "ml.p4de.24xlarge": (96, 1152, 8),
    # NVIDIA H100 / H200
    "ml.p5.4xlarge": (16, 256, 1),
    "ml.p5.48xlarge": (192, 2048, 8),
    "ml.p5e.48xlarge": (192, 2048, 8),
    "ml.p5en.48xlarge": (192, 2048, 8),
    # NVIDIA B200
    "ml.p6-b200.48xlarge": (192, 2048, 8),
    # AWS Inferentia
    "ml.inf1.xlarge": (4, 8, 1),
    "ml.inf1.2xlarge": (8, 16, 1),
    "ml.inf1.6xlarge": (24, 48, 4),
    "ml.inf1.24xlarge": (96, 192, 16),
    # AWS Inferentia2
    "ml.inf2.xlarge": (4, 16, 1),
    "ml.inf2.8xlarge": (32, 128, 1),
    "ml.inf2.24xlarge": (96, 384, 6),
    "ml.inf2.48xlarge": (192, 768, 12),
    # AWS Trainium / Trainium2
    "ml.trn1.2xlarge": (8, 32, 1),
    "ml.trn1.32xlarge": (128, 512, 16),
    "ml.trn1n.32xlarge": (128, 512, 16),
    "ml.trn2.48xlarge": (192, 2048, 16),
    # Habana Gaudi
    "ml.dl1.24xlarge": (96, 768, 8),
}

_SIZE = re.compile(r"^(\d*)xlarge$")
_SIZES = ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "9xlarge")


def _size_vcpus(size: str) -> int | None:
    if size == "medium":
        return 1
    if size == "large":
        return 2
    match = _SIZE.match(size)
    return 4 * int(match.group(1) or 1) if match else None


def _by_rule(instance_type: str) -> InstanceCapacity | None:
    parts = instance_type.split(".")
    if len(parts) != 3:
        return None
    _, family, size = parts
    cores = _size_vcpus(size)
    if cores is None:
        return None
    for ratio, families in _RATIO_FAMILIES.items():
        if family in families:
            return InstanceCapacity(vcpus=cores, memory_mb=_gib(cores * ratio))
    return None


def capacity(instance_type: str) -> InstanceCapacity | None:
    """The resources of ``instance_type``; ``None`` when this table does not know it."""
    listed = _LISTED.get(instance_type)
    if listed is not None:
        vcpus, gib, devices = listed
        return InstanceCapacity(vcpus=vcpus, memory_mb=_gib(gib), accelerators=devices)
    if instance_type in UNKNOWN:
        return None
    return _by_rule(instance_type)


def table(instance_types: frozenset[str]) -> dict[str, InstanceCapacity | None]:
    """The table over ``instance_types`` (e.g. botocore's enum): type -> resources or ``None``."""
    return {t: capacity(t) for t in sorted(instance_types)}
