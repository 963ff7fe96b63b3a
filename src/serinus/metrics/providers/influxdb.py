"""InfluxDB 2.x, through its Flux query API.

``POST <address>/api/v2/query?org=<org>`` with ``Authorization: Token <token>`` (Secret keys
``token`` and ``org``, as in Flagger), a JSON body ``{"query": ..., "type": "flux", ...}`` and
``Accept: application/csv``. The answer is annotated CSV: ``#datatype``/``#group``/``#default``
rows, a header row, then records, one table after another. The value is the ``_value`` column of the
only record. Flagger takes the first record of whatever came back (and returns 0 when nothing did);
here no record is "no values found", and several records is an error that says how many and their
group keys, because a Flux query that needs ``|> last()`` or ``|> mean()`` should say so. The online
check runs ``buckets() |> limit(n: 1)``, which proves the address, the token and the org at once.
"""

from __future__ import annotations

import csv
import dataclasses
import io

from serinus.errors import MultipleValuesError, NoValuesFoundError, QueryError
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

ONLINE_QUERY = "buckets() |> limit(n: 1)"
DIALECT = {
    "header": True,
    "delimiter": ",",
    "annotations": ["datatype", "group", "default"],
    "commentPrefix": "#",
}
NUMERIC = {"double", "long", "unsignedLong"}
SHOWN_RECORDS = 5


@dataclasses.dataclass(frozen=True)
class Record:
    """One row of a Flux table: its ``_value``, its datatype, and its group key columns."""

    value: str
    datatype: str
    group: dict[str, str]


class InfluxdbProvider:
    kind = "influxdb"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = settings.require_address("http://influxdb.monitoring:8086")
        self._settings = settings
        self._headers = {
            **settings.headers,
            "Accept": "application/csv",
            "Content-Type": "application/json",
        }
        self._params: dict[str, str] = {}
        if settings.secret is not None:
            self._headers["Authorization"] = f"Token {settings.secret_value('token')}"
            self._params["org"] = settings.secret_value("org")

    async def query(self, query: str) -> float:
        records = await self._run(query)
        text = base.collapse_whitespace(query)
        if not records:
            raise NoValuesFoundError(f"influxdb returned no records for the query: {text}")
        if len(records) > 1:
            groups = ", ".join(_group_text(r) for r in records[:SHOWN_RECORDS])
            raise MultipleValuesError(
                f"the query returned {len(records)} records where one value was expected:"
                f" {groups}; reduce them (e.g. |> last() or |> mean()); query: {text}"
            )
        record = records[0]
        if record.value == "":
            raise NoValuesFoundError(f"influxdb returned a record without _value for: {text}")
        if record.datatype and record.datatype not in NUMERIC:
            raise QueryError(
                f"influxdb returned a {record.datatype} _value ({record.value!r}) where a number"
                f" was expected; query: {text}"
            )
        try:
            return float(record.value)
        except ValueError as err:
            raise QueryError(f"influxdb returned _value {record.value!r}; query: {text}") from err

    async def check_online(self) -> None:
        await self._run(ONLINE_QUERY)

    async def _run(self, query: str) -> list[Record]:
        response = await base.send(
            self._settings,
            "POST",
            f"{self.address}/api/v2/query",
            params=self._params,
            headers=self._headers,
            json={"query": query, "type": "flux", "dialect": DIALECT},
        )
        base.check_status(self._settings, response, query=base.collapse_whitespace(query))
        return parse_annotated_csv(response.text, address=self.address)


def parse_annotated_csv(text: str, *, address: str) -> list[Record]:
    """The records of every table in an annotated-CSV answer; QueryError for an error table."""
    records: list[Record] = []
    annotations: dict[str, list[str]] = {}
    header: list[str] | None = None
    for row in csv.reader(io.StringIO(text)):
        if not row or not any(cell.strip() for cell in row):
            annotations, header = {}, None  # a blank line ends a table
            continue
        if row[0].startswith("#"):
            annotations[row[0].lstrip("#")] = row
            header = None
            continue
        if header is None:
            header = row
            continue
        record = dict(zip(header, row, strict=False))
        if "error" in header and "_value" not in header:
            raise QueryError(f"influxdb at {address} failed the query: {record.get('error')}")
        records.append(_record(header, row, annotations))
    return records


def _record(header: list[str], row: list[str], annotations: dict[str, list[str]]) -> Record:
    cells = dict(zip(header, row, strict=False))
    types = dict(zip(header, annotations.get("datatype", []), strict=False))
    grouped = dict(zip(header, annotations.get("group", []), strict=False))
    group = {
        name: cells[name]
        for name, flag in grouped.items()
        if flag == "true" and name not in ("_start", "_stop") and name in cells
    }
    return Record(cells.get("_value", ""), types.get("_value", ""), group)


def _group_text(record: Record) -> str:
    return "{" + ",".join(f"{k}={v}" for k, v in sorted(record.group.items())) + "}"
