"""Field ownership of writes that are not applies: ``metadata.managedFields`` ``Update`` entries.

The real server records every write: a create, a PUT or a json/merge/strategic patch makes its
field manager (the ``fieldManager`` parameter, else the first part of the User-Agent, as
``kubectl-edit`` or ``OpenAPI-Generator``) the owner of each field the write set or changed, in
an entry with ``operation: Update``, the apiVersion it wrote through and, for a status write,
``subresource: status``. A changed field leaves every other manager's set (an update takes a
field over without a conflict; the conflict only comes when an applier later wants it back), and
a field the write removed leaves every set. Entries left with no field are dropped.

This is what makes a GitOps applier and a human or a controller fight visibly: after
``kubectl patch --field-manager=editor`` of ``spec.replicas``, the next apply that sets another
value gets a 409 naming ``editor`` (see ``apply``).
"""

from __future__ import annotations

from typing import Any, Literal

from serinus.sandbox.apiserver import fieldsets, schema
from serinus.sandbox.apiserver.apply import ListRule, Path, to_fields_v1
from serinus.sandbox.apiserver.merge import SET_LISTS, merge_key
from serinus.sandbox.apiserver.objects import Obj, metadata, now
from serinus.sandbox.apiserver.resources import ResourceType

_MAX_MANAGER = 128


def list_rule(resource: ResourceType) -> ListRule:
    """How lists are keyed for ownership: struct tags for built-ins, the schema for CRs."""
    if resource.custom:
        return lambda names, items: schema.list_kind(resource.schema, names)
    return _builtin_rule


def _builtin_rule(
    names: tuple[str, ...], items: list[Any]
) -> tuple[str, ...] | Literal["set"] | None:
    field = names[-1] if names else ""
    if field in SET_LISTS and not any(isinstance(item, dict | list) for item in items):
        return "set"
    key = merge_key(field, items)
    return (key,) if key else None


def manager_name(field_manager: str, user_agent: str) -> str:
    """The manager a write is recorded under: ``fieldManager``, else the User-Agent's prefix."""
    name = field_manager or user_agent.split("/", 1)[0]
    return name[:_MAX_MANAGER]


def _content(obj: Obj, resource: ResourceType, subresource: str) -> Obj:
    """The part of an object a write of ``subresource`` can own."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    if resource.status:
        return {key: value for key, value in obj.items() if key != "status"}
    return obj


def changed_fields(old: Obj | None, new: Obj, rule: ListRule) -> set[Path]:
    """The leaf fields (and list items) of ``new`` that ``old`` lacks or holds another value of.

    ``fieldsets.changed`` walks both objects side by side (a path per leaf of ``new``, compared
    where it stands in ``old``), skipping any part equal in both."""
    return fieldsets.changed(old, new, rule)


def record_update(
    resource: ResourceType,
    old: Obj | None,
    new: Obj,
    *,
    manager: str,
    subresource: str = "",
) -> None:
    """Write the managedFields of ``new`` after ``manager`` turned ``old`` into it (in place).

    An entry whose fields all still exist and none changed hands is kept as it was (its
    ``fieldsV1`` is what writing its fields again would give)."""
    rule = list_rule(resource)
    before = _content(old, resource, subresource) if old is not None else None
    changed = changed_fields(before, _content(new, resource, subresource), rule)
    entries = [dict(e) for e in metadata(new).get("managedFields") or [] if isinstance(e, dict)]
    kept: list[Obj] = []
    mine: Obj | None = None
    mine_fields: tuple[set[Path], bool, object] = (set(), False, None)
    for entry in entries:
        paths, complete = fieldsets.present(entry.get("fieldsV1"), new)
        is_mine = (
            entry.get("manager") == manager
            and entry.get("operation") == "Update"
            and entry.get("apiVersion") == resource.api_version
            and str(entry.get("subresource", "")) == subresource
        )
        if is_mine:
            mine = entry
            mine_fields = (paths, complete, entry.get("fieldsV1"))
            changed |= paths
            continue
        if complete and paths and paths.isdisjoint(changed):
            kept.append(entry)
            continue
        paths -= changed
        if paths:
            entry["fieldsV1"] = to_fields_v1(paths)
            kept.append(entry)
    if changed:
        entry = mine if mine is not None else {"manager": manager, "operation": "Update"}
        entry.update(
            {
                "apiVersion": resource.api_version,
                "time": now(),
                "fieldsType": "FieldsV1",
                "fieldsV1": (
                    mine_fields[2]
                    if mine_fields[1] and changed == mine_fields[0]
                    else to_fields_v1(changed)
                ),
            }
        )
        if subresource:
            entry["subresource"] = subresource
        kept.append(entry)
    if kept:
        metadata(new)["managedFields"] = kept
    else:
        metadata(new).pop("managedFields", None)
