"""The package's three export lists stay in step: ``__all__``, the lazy map, the typed imports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import cdk_sagemaker_hosting

INIT = Path(cdk_sagemaker_hosting.__file__)


def typed_imports() -> dict[str, str]:
    """Name -> module of the ``if TYPE_CHECKING:`` imports in ``__init__.py``."""
    tree = ast.parse(INIT.read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for item in node.body:
                assert isinstance(item, ast.ImportFrom) and item.module
                for alias in item.names:
                    found[alias.asname or alias.name] = item.module
    return found


def test_all_the_lazy_map_and_the_typed_imports_name_the_same_things() -> None:
    exported = set(cdk_sagemaker_hosting.__all__)
    assert exported == set(cdk_sagemaker_hosting._MODULES)
    assert typed_imports() == cdk_sagemaker_hosting._MODULES
    assert cdk_sagemaker_hosting.__all__ == sorted(cdk_sagemaker_hosting.__all__)


def test_every_export_is_defined_where_the_map_says() -> None:
    for name, module in cdk_sagemaker_hosting._MODULES.items():
        value = getattr(importlib.import_module(module), name)
        assert getattr(cdk_sagemaker_hosting, name) is value


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    try:
        cdk_sagemaker_hosting.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:
        raise AssertionError("expected AttributeError")
