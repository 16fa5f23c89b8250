"""One deploy of the reference app into moto's server, shared by the emulator tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scripts import local_deploy


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The emulator with the app deployed: emulator, assembly, stack names, first summary."""
    work = tmp_path_factory.mktemp("deploy-local")
    with local_deploy.running_emulator(work) as emulator:
        assembly = work / "cdk.out"
        stacks = local_deploy.deploy_reference_app(emulator, assembly)
        summary = local_deploy.summarize(emulator, assembly, stacks)
        yield {"emulator": emulator, "assembly": assembly, "stacks": stacks, "summary": summary}
