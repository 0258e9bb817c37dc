"""TLF stage: the analysis results dataset (ARD) writer. Reads only the ``Table`` model.

One CSV per table (``outputs/ard/<output>.csv``), one line per statistic of
every cell: output id, analysis id, group (column key), row label, statistic,
raw value, the formatted cell text, the method and the USUBJIDs counted.
Rows follow the table's order, values are printed with 12 significant digits,
so the file is byte-identical for the same inputs. Text fields are formula-safe
(``io.xlsx_safe.formula_safe``): a spreadsheet opening the file never runs a label,
subject id or method text as a formula.
"""

from __future__ import annotations

import csv
import math
import re

from tlfgen.io.xlsx_safe import formula_safe
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
    lines: list[str] = []
    writer = csv.writer(_Sink(lines), lineterminator="\n")
    writer.writerow(ARD_COLUMNS)
    for row, column, cell in table.iter_cells():
        if not cell.analysis_id:
            continue
        method = methods.get(cell.analysis_id, "")
        if not method:  # cells of a group analysis whose id has a suffix (e.g. .EVENTS) share its method
            method = next((m for a, m in methods.items() if cell.analysis_id.startswith(a + ".")), "")
        # the subjects field (up to ~100 KB) is the bulk of the file: put as csv writes it, once per cell
        subjects = "," + csv_field(writer, lines, formula_safe(";".join(cell.subjects))) + "\n"
        for statistic, value in cell.values or (("text", None),):  # a cell without values: one "text" line
            writer.writerow((*map(formula_safe, (table.id, cell.analysis_id, column.key, row.label, statistic)),
                             _value(value), formula_safe(cell.text), formula_safe(method)))
            lines[-1] = lines[-1][:-1] + subjects
    return "".join(lines)


class _Sink:
    """A file for ``csv.writer`` that keeps each written line as an item of ``lines``."""

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def csv_field(writer, lines: list[str], text: str) -> str:
    """``text`` as one field of a line of ``writer`` (a ``csv.writer`` writing into ``_Sink(lines)``).

    Text without a delimiter, quote or line break is written unchanged (``QUOTE_MINIMAL``): no
    need to pass it through the csv writer, which is slow for long fields; other text is.
    """
    if not text or _NEEDS_QUOTES.search(text) is None:
        return text
    writer.writerow((text,))
    return lines.pop()[:-1]
