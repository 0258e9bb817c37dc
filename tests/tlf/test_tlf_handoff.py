"""TLF stage input: the ADaM frames the TLF units take from the ADaM units of the same run
(``tlf.run.read_adam_unit``), equal to the files read back; alone, the stage reads the files.

Also the frame builder itself (``create_read_frame``) against ``read_xpt`` on inline data:
text with blanks and missing values, integers, dates, datetimes, dates held as numbers, ISO text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study_copy import copy_study
from tlfgen.adam.run import adam_units
from tlfgen.io.metadata import DatasetMetadata, VariableMetadata
from tlfgen.io.xpt import complete_metadata, create_read_frame, read_xpt, write_xpt
from tlfgen.sdtm.run import run_sdtm
from tlfgen.tlf.run import read_adam, read_adam_unit
from tlfgen.units import run_units

ADAM = ("ADAE", "ADRS", "ADSL", "ADTTE")


@pytest.fixture(scope="module")
def sdtm_study(tmp_path_factory):
    """The embedded study with SDTM written."""
    study = copy_study(tmp_path_factory.mktemp("handoff_adam"))
    run_sdtm(study)
    return study


def test_every_adam_frame_taken_in_the_same_run_equals_the_file_read_back(sdtm_study):
    units = adam_units(sdtm_study)
    upstream = {u.id for u in units}
    reads = [read_adam_unit(sdtm_study, name, upstream) for name in ADAM]
    assert [u.inputs for u in reads] == [(f"adam.{n}", f"write.adam.{n}") for n in ADAM]
    got = run_units(units + reads, [u.id for u in reads], jobs_=1)
    for name in ADAM:
        pd.testing.assert_frame_equal(got[f"read.adam.{name}"], read_adam(sdtm_study.adam_dir, [name])[name],
                                      check_dtype=True, check_exact=True, obj=name)


def test_alone_the_tlf_stage_reads_adam_from_the_files(sdtm_study):
    if not (sdtm_study.adam_dir / "adsl.xpt").is_file():
        run_units(adam_units(sdtm_study), ["adam"], jobs_=1)
    unit = read_adam_unit(sdtm_study, "ADSL", set())
    assert unit.inputs == ()
    pd.testing.assert_frame_equal(unit.run(), read_xpt(sdtm_study.adam_dir / "adsl.xpt")[0], check_exact=True)


# ---------------------------------------------------------------- create_read_frame


def _var(name: str, data_type: str, **kw) -> VariableMetadata:
    return VariableMetadata(name=name, label=name.lower(), data_type=data_type, **kw)


def _meta(*variables: VariableMetadata) -> DatasetMetadata:
    return DatasetMetadata(name="EDGE", label="edge cases", structure="", class_="", variables=variables)


def _round_trip(df: pd.DataFrame, meta: DatasetMetadata, tmp_path: Path) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    meta = complete_metadata(meta, df)
    path = write_xpt(df, meta, tmp_path / "edge.xpt")
    return create_read_frame(df, meta), read_xpt(path)[0]


def test_built_frame_equals_read_xpt_on_edge_values(tmp_path):
    rng = np.random.default_rng(7)
    n = 400
    df = pd.DataFrame({
        "T": (["a  ", "  b", "c\t", "", "d \t ", None, np.nan, "x"] * 50),
        "N": rng.standard_normal(n) * 10.0 ** rng.integers(-60, 60, n),
        "I": pd.array(rng.integers(-5, 5, n), dtype="int64"),
        "D": pd.to_datetime(["2020-01-03", None] * (n // 2)),
        "DT": pd.to_datetime(["2020-01-03 10:11:12", "1959-12-31 23:59:59"] * (n // 2)),
        "DN": np.where(np.arange(n) % 3 == 0, np.nan, 21900.0),
        "IS": ["2020-01-03", "2020-02"] * (n // 2),
    })
    df.loc[5, "N"] = np.nan
    meta = _meta(_var("T", "text", length=12), _var("N", "float"), _var("I", "integer"), _var("D", "date"),
                 _var("DT", "datetime"), _var("DN", "float", display_format="DATE9."), _var("IS", "date"))
    built, read = _round_trip(df, meta, tmp_path)
    pd.testing.assert_frame_equal(built, read, check_dtype=True, check_exact=True)
    assert read["T"].iloc[:8].tolist() == ["a", "  b", "c\t", "", "d \t", "", "", "x"]
    assert read["DN"].iloc[1] == pd.Timestamp("2019-12-17")  # 1960-01-01 + 21900 days


def test_built_frame_keeps_a_shifted_index_out(tmp_path):
    df = pd.DataFrame({"USUBJID": ["S-2", "S-1"], "AVAL": [2, 1]}, index=[7, 3])
    built, read = _round_trip(df, _meta(_var("USUBJID", "text"), _var("AVAL", "integer")), tmp_path)
    pd.testing.assert_frame_equal(built, read, check_dtype=True, check_exact=True)
    assert built.index.tolist() == [0, 1]


@pytest.mark.parametrize("column, data_type", [
    (["caf\u00e9", "tea"], "text"),  # non-ASCII: pyreadstat's own encoding on reading
    (["a\x00b", "c"], "text"),  # NUL
    ([np.inf, 1.0], "float"),  # not an IBM number
    ([-0.0, 1.0], "float"),  # readstat's own path
])
def test_values_the_builder_does_not_vouch_for_are_read_instead(column, data_type):
    df = pd.DataFrame({"X": column})
    meta = complete_metadata(_meta(_var("X", data_type)), df)
    assert create_read_frame(df, meta) is None


def test_an_empty_dataset_is_read_instead():
    df = pd.DataFrame({"X": pd.Series([], dtype=object)})
    assert create_read_frame(df, complete_metadata(_meta(_var("X", "text")), df)) is None
