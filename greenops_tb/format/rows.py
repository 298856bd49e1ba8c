"""Records as CSV cells, for readers that write records back out (export, DataFrames)."""
from __future__ import annotations

from typing import Sequence

from greenops_tb.format.schema import Record
from greenops_tb.format.text import RecordText


def record_to_row(rec: Record, columns: Sequence[str]) -> list[str]:
    """Cells for ``columns`` (a header from :func:`greenops_tb.format.columns.csv_columns`, possibly a subset),
    unquoted, as the CSV sink writes them (its :class:`~greenops_tb.format.forms.RowForm`)."""
    return RecordText(rec).cells(columns)
