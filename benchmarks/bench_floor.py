"""Benchmark I/O floor: the pipeline's reads and writes without any derivation.

Run as ``python benchmarks/bench_floor.py <study-dir> <scratch-dir>`` after a real
``tlfgen run`` has written ``sdtm/*.xpt`` and ``adam/*.xpt``. It

- reads every raw CSV (pandas, dtype=str, no NA conversion), as the SDTM stage must;
- reads every SDTM XPT (what the ADaM stage must read) and writes each one again
  to ``<scratch>/sdtm`` as XPT v5 (pyreadstat, same labels) and as a JSON document
  with the Dataset-JSON shape (columns + rows, ``json.dumps``);
- reads every ADaM XPT (what the TLF stage must read) and writes it again the same way.

It prints one JSON object: seconds per phase, rows and bytes moved. The runner
times the whole subprocess (interpreter start-up and imports included) the same
way it times the real stages. DOCX/XLSX rendering, lineage sidecars and
define.xml are not part of the floor: they are outputs, not datasets.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

T0 = time.perf_counter()

import pandas as pd  # noqa: E402
import pyreadstat  # noqa: E402

T_IMPORT = time.perf_counter() - T0


def read_raw(raw_dir: Path) -> tuple[int, int]:
    """Read every raw CSV as text; return (files, rows)."""
    files = rows = 0
    for path in sorted(raw_dir.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        files += 1
        rows += len(frame)
    return files, rows


def read_xpts(folder: Path) -> dict[str, tuple[pd.DataFrame, object]]:
    """Read every XPT in ``folder``: name -> (frame, pyreadstat metadata)."""
    frames = {}
    for path in sorted(folder.glob("*.xpt")):
        frames[path.stem] = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
    return frames


def create_json_doc(name: str, frame: pd.DataFrame, meta: object) -> dict:
    """A Dataset-JSON-shaped document (columns + rows), built vectorised."""
    labels = getattr(meta, "column_names_to_labels", {}) or {}
    columns = [{"itemOID": f"IT.{name}.{col}", "name": col, "label": labels.get(col) or "",
                "dataType": "string" if frame[col].dtype == object else "double"} for col in frame.columns]
    rows = frame.astype(object).where(frame.notna(), None).values.tolist()
    return {"name": name.upper(), "records": len(frame), "columns": columns, "rows": rows}


def write_datasets(frames: dict[str, tuple[pd.DataFrame, object]], out: Path) -> tuple[int, int]:
    """Write each frame as XPT v5 and JSON into ``out``; return (rows, bytes written)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = size = 0
    for name, (frame, meta) in frames.items():
        xpt = out / f"{name}.xpt"
        pyreadstat.write_xport(frame, str(xpt), file_label=getattr(meta, "file_label", "") or "",
                               column_labels=getattr(meta, "column_names_to_labels", None),
                               table_name=name.upper()[:8], file_format_version=5)
        text = json.dumps(create_json_doc(name, frame, meta), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")) + "\n"
        data = text.encode("utf-8")
        (out / f"{name}.json").write_bytes(data)
        rows += len(frame)
        size += xpt.stat().st_size + len(data)
    return rows, size


def _timed(func, *args):
    start = time.perf_counter()
    value = func(*args)
    return value, time.perf_counter() - start


def main(study: Path, scratch: Path) -> dict:
    (raw_files, raw_rows), t_raw = _timed(read_raw, study / "raw")
    sdtm, t_read_sdtm = _timed(read_xpts, study / "sdtm")
    (sdtm_rows, sdtm_bytes), t_write_sdtm = _timed(write_datasets, sdtm, scratch / "sdtm")
    adam, t_read_adam = _timed(read_xpts, study / "adam")
    (adam_rows, adam_bytes), t_write_adam = _timed(write_datasets, adam, scratch / "adam")
    phases = {"import": T_IMPORT, "read_raw": t_raw, "read_sdtm": t_read_sdtm, "write_sdtm": t_write_sdtm,
              "read_adam": t_read_adam, "write_adam": t_write_adam}
    return {
        "phases": phases,
        # which floor phases each real stage cannot avoid (start-up counted separately by the runner)
        "stage_phases": {"sdtm": t_raw + t_write_sdtm, "adam": t_read_sdtm + t_write_adam, "tlf": t_read_adam},
        "raw_files": raw_files, "raw_rows": raw_rows,
        "sdtm_datasets": len(sdtm), "sdtm_rows": sdtm_rows, "sdtm_bytes": sdtm_bytes,
        "adam_datasets": len(adam), "adam_rows": adam_rows, "adam_bytes": adam_bytes,
        "inside_seconds": time.perf_counter() - T0,
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: bench_floor.py <study-dir> <scratch-dir>")
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2])), sort_keys=True))
