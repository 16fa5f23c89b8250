"""Predict what CloudFormation does to each resource when a template changes.

Reads the create-only properties of each resource type from the resource
schemas cfn-lint ships, so the prediction follows AWS's own schemas. A
resource is *replaced* when a create-only property changes, *updated* when
another property changes, and a change spreads to every resource that
refers (``Ref``/``Fn::GetAtt``) to a replaced one, as CloudFormation does.
"""

from __future__ import annotations

import json
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER


def _create_only(resource_type: str) -> set[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return {
        p.removeprefix("/properties/").split("/")[0] for p in schema.get("createOnlyProperties", [])
    }


def _refers_to(value: Any, logical_ids: set[str]) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") in logical_ids:
            return True
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att and att[0] in logical_ids:
            return True
        return any(_refers_to(v, logical_ids) for v in value.values())
    if isinstance(value, list):
        return any(_refers_to(v, logical_ids) for v in value)
    return False


def plan(before: dict[str, Any], after: dict[str, Any]) -> dict[str, str]:
    """Logical ID -> ``add``, ``remove``, ``replace``, ``update`` or ``keep``."""
    old, new = before["Resources"], after["Resources"]
    actions: dict[str, str] = {}
    for lid in old.keys() - new.keys():
        actions[lid] = "remove"
    for lid in new.keys() - old.keys():
        actions[lid] = "add"
    replaced: set[str] = set()
    changed = True
    while changed:
        changed = False
        for lid in sorted(old.keys() & new.keys()):
            if actions.get(lid) == "replace":
                continue
            props_old = old[lid].get("Properties", {})
            props_new = new[lid].get("Properties", {})
            diff = {
                k
                for k in props_old.keys() | props_new.keys()
                if json.dumps(props_old.get(k), sort_keys=True)
                != json.dumps(props_new.get(k), sort_keys=True)
                or _refers_to(props_new.get(k), replaced)
            }
            if old[lid]["Type"] != new[lid]["Type"] or diff & _create_only(new[lid]["Type"]):
                actions[lid] = "replace"
                replaced.add(lid)
                changed = True
            elif diff:
                actions[lid] = "update"
            else:
                actions.setdefault(lid, "keep")
    return actions
