"""TLF stage: the analysis results dataset (ARD) writer. Reads only the ``Table`` model.

One CSV per table (``outputs/ard/<output>.csv``), one line per statistic of
every cell: output id, analysis id, group (column key), row label, statistic,
raw value, the formatted cell text, the method and the USUBJIDs counted.
Rows follow the table's order, values are printed with 12 significant digits,
so the file is byte-identical for the same inputs.
"""

from __future__ import annotations

import csv
import io
import math

from tlfgen.tlf.model import Table

ARD_COLUMNS = ("output_id", "analysis_id", "group", "row", "statistic", "value", "formatted", "method", "subjects")


def _value(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int):
        return str(value)
    return format(float(value), ".12g")


def create_ard_csv(table: Table) -> str:
    methods = {a.id: a.method for a in table.analyses}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ARD_COLUMNS)
    for row, column, cell in table.iter_cells():
        if not cell.analysis_id:
            continue
        method = methods.get(cell.analysis_id, "")
        if not method:  # cells of a group analysis whose id has a suffix (e.g. .EVENTS) share its method
            method = next((m for a, m in methods.items() if cell.analysis_id.startswith(a + ".")), "")
        subjects = ";".join(cell.subjects)
        if not cell.values:
            writer.writerow((table.id, cell.analysis_id, column.key, row.label, "text", "", cell.text, method,
                             subjects))
        for statistic, value in cell.values:
            writer.writerow((table.id, cell.analysis_id, column.key, row.label, statistic, _value(value), cell.text,
                             method, subjects))
    return out.getvalue()
