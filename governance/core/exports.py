"""CSV and JSON exports for auditors (inventory, violations, purge runs).

CSV is UTF-8 with a BOM (spreadsheets then detect the encoding), a header row and
RFC 4180 quoting; a cell that a spreadsheet would read as a formula is prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from litestar import Response
from litestar.openapi.datastructures import ResponseSpec

FORMATS = ("csv", "json")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in columns])
    return "\ufeff" + buffer.getvalue()


def export_response(
    fmt: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], filename: str
) -> Response[Any]:
    """`rows` as a CSV download or a JSON list, by `fmt` (`json` or `csv`, typed by ExportFormat)."""
    if fmt == "csv":
        return Response(
            to_csv(columns, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    return Response([{column: row.get(column) for column in columns} for row in rows])


def export_spec(kind: Any) -> dict[int, ResponseSpec]:
    """The 200 of an export route: `kind` as JSON; with `format=csv` the same rows as text/csv."""
    return {
        200: ResponseSpec(
            data_container=kind,
            description="JSON; with `format=csv`, the same rows as a CSV download (text/csv; UTF-8 with a BOM)",
        )
    }
