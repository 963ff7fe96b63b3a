"""Server-side Table output (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``).

``kubectl get`` asks for a Table and prints it as it comes, so the columns are the server's job:
built-in kinds get the column sets of ``printers``; custom resources get ``Name`` then the CRD's
``additionalPrinterColumns`` for the requested version (evaluated with ``jsonpath``, ``date``
columns shown as ages, as the real server formats them). Each row carries the object's metadata
(``PartialObjectMetadata``), the full object with ``includeObject=Object``, or nothing with
``None``; ``--show-labels``, ``-L`` and ``get all``'s ``kind/`` prefix need that metadata.
"""

from __future__ import annotations

from typing import Any

from serinus.sandbox.apiserver import jsonpath
from serinus.sandbox.apiserver.cells import AGE, NAME, Cell, Column, human_age
from serinus.sandbox.apiserver.objects import Obj, metadata, parse_time
from serinus.sandbox.apiserver.printers import PRINTERS
from serinus.sandbox.apiserver.resources import PrinterColumn, ResourceType

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def columns_for(resource: ResourceType) -> tuple[Column, ...]:
    if resource.custom:
        return (NAME, *(_custom_column(c) for c in resource.printer_columns))
    return PRINTERS.get(resource.storage, (NAME, AGE))


def _custom_column(declared: PrinterColumn) -> Column:
    def cell(obj: Obj) -> Cell:
        found = jsonpath.find(obj, declared.json_path)
        return _typed(declared.type, found[0]) if found else None

    return Column(
        declared.name,
        declared.type,
        cell,
        priority=declared.priority,
        description=declared.description,
        format=declared.format,
    )


def _typed(kind: str, value: Any) -> Cell:
    """A printer-column value as the real server puts it in a cell."""
    if kind == "integer":
        return int(value) if _number(value) else None
    if kind == "number":
        return value if _number(value) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        moment = parse_time(value)
        return human_age(moment) if moment else None
    return jsonpath.show(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def table(
    resource: ResourceType,
    objects: list[Obj],
    *,
    resource_version: str,
    include_object: str = "Metadata",
    with_columns: bool = True,
    extra_metadata: Obj | None = None,
) -> Obj:
    """A ``meta.k8s.io/v1`` Table of ``objects`` (in served form)."""
    columns = columns_for(resource)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version, **(extra_metadata or {})},
        "columnDefinitions": [c.definition() for c in columns] if with_columns else None,
        "rows": [_row(columns, obj, include_object) for obj in objects],
    }


def _row(columns: tuple[Column, ...], obj: Obj, include_object: str) -> Obj:
    row: Obj = {"cells": [column.cell(obj) for column in columns]}
    if include_object == "Object":
        row["object"] = obj
    elif include_object != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata(obj),
        }
    return row
