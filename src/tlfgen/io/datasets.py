"""I/O layer: which file holds a dataset (XPT or Dataset-JSON), and reading it column- and row-wise.

Used by the ADaM stage to read SDTM (``adam.engine.read_sdtm``) and by the TLF stage to read
ADaM (``tlf.run.read_adam``). The rule, the same everywhere:

1. ``<folder>/<name>.xpt`` (lower case, then upper case) when it exists: the XPT is read;
2. else ``<folder>/<name>.json`` (lower, then upper case), a Dataset-JSON 1.1 file: read by
   ``io.datasetjson_read`` into the same frame the XPT would give;
3. else the dataset is missing (``DataError`` naming the XPT looked for).

So a study that supplies both reads the XPT (the pipeline writes both, with the same values:
tests/io/test_datasetjson_read.py); one that supplies only ``.json`` files reads those.

Row pushdown: ``select_rows`` (a function of the frame of the ``rows_from`` columns, every record,
returning the ascending positions of the records to keep) is applied before the other columns
are read; only the kept records of those are decoded (XPT: fixed-width records, skipped by
position; Dataset-JSON: only those rows converted).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Container, Sequence

import numpy as np
import pandas as pd

from tlfgen.errors import DataError

RowSelector = Callable[[pd.DataFrame], np.ndarray]


def dataset_paths(folder: str | os.PathLike[str], name: str) -> tuple[Path, ...]:
    """The files tried for dataset ``name`` in ``folder``, in order (XPT before Dataset-JSON)."""
    base = Path(folder)
    return (base / f"{name.lower()}.xpt", base / f"{name.upper()}.xpt",
            base / f"{name.lower()}.json", base / f"{name.upper()}.json")


def find_dataset(folder: str | os.PathLike[str], name: str) -> Path | None:
    """The file ``read_dataset`` reads for ``name`` (the first of ``dataset_paths`` that exists)."""
    return next((path for path in dataset_paths(folder, name) if path.is_file()), None)


def read_dataset_file(path: Path, columns: Container[str] | None = None, *, select_rows: RowSelector | None = None,
                      rows_from: Sequence[str] = ()) -> pd.DataFrame:
    """The frame of one XPT or Dataset-JSON file (``columns``, ``select_rows``: as ``read_dataset``)."""
    if path.suffix.lower() == ".json":
        from tlfgen.io.datasetjson_read import read_dataset_json_columns

        return read_dataset_json_columns(path, columns, select_rows=select_rows, rows_from=rows_from)[0]
    from tlfgen.io.xpt import read_xpt

    if select_rows is None or not rows_from:
        return (read_xpt(path) if columns is None else read_xpt(path, columns=columns))[0]
    first, _ = read_xpt(path, columns=set(rows_from))
    if set(rows_from) - set(first.columns):
        return read_xpt(path, columns=columns)[0]  # a filter column is missing: the step says so
    positions = np.asarray(select_rows(first), dtype=np.intp)
    names = _names(path)
    rest = None if columns is None else {c for c in names if c in columns and c not in first.columns}
    others, _ = read_xpt(path, columns=rest if rest is not None else _AllBut(first.columns), rows=positions)
    kept = first.iloc[positions].reset_index(drop=True)
    order = [c for c in names if (c in kept.columns or c in others.columns)
             and (columns is None or c in columns)]  # the filter columns only when asked for
    return pd.concat([kept, others], axis=1)[order]


class _AllBut:
    """Every column except ``names`` (``columns=`` of ``read_xpt``)."""

    def __init__(self, names: Container[str]) -> None:
        self.names = names

    def __contains__(self, column: object) -> bool:
        return column not in self.names


def _names(path: Path) -> list[str]:
    """The variable names of an XPT file, in file order."""
    import pyreadstat

    from tlfgen.io.xpt_read import RECORD, parse_xpt_layout

    with open(path, "rb") as handle:
        head = handle.read(640)
        try:
            count = int(head[560 + 53:560 + 58])
            head += handle.read(140 * count + 2 * RECORD)
            layout = parse_xpt_layout(head)
        except ValueError:
            layout = None
    if layout is not None:
        return [v.name for v in layout.variables]
    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    return list(meta.column_names)


def read_dataset(folder: str | os.PathLike[str], name: str, columns: Container[str] | None = None, *,
                 select_rows: RowSelector | None = None, rows_from: Sequence[str] = ()) -> pd.DataFrame:
    """Dataset ``name`` of ``folder`` (XPT, else Dataset-JSON: the module docstring), as ``read_xpt`` gives it.

    ``columns``: only those (file order kept); ``select_rows`` / ``rows_from``: only the records the
    selector keeps (row pushdown). DataError when neither file exists.
    """
    path = find_dataset(folder, name)
    if path is None:
        raise DataError(f"dataset {name.upper()} not found (neither .xpt nor Dataset-JSON .json)",
                        file=Path(folder) / f"{name.lower()}.xpt")
    return read_dataset_file(path, columns, select_rows=select_rows, rows_from=rows_from)
