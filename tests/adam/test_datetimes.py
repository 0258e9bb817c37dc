"""adam/datetimes.py: derive_vars_dtm (imputation, --DTF / --TMF) and derive_var_extreme_dtm.

Source: admiral's derive_vars_dtm reference example (MHSTDTC values imputed with
highest_imputation "M"), https://rdrr.io/cran/admiral/man/derive_vars_dtm.html, and the
imputation vignette, https://rdrr.io/cran/admiral/f/vignettes/imputation.Rmd
"""

import pandas as pd
import pytest

from tlfgen.adam.datetimes import derive_var_extreme_dtm, derive_vars_dtm
from tlfgen.errors import DerivationError

MHSTDTC = ["2019-07-18T15:25:40", "2019-07-18T15:25", "2019-07-18", "2019-02", "2019", "2019---07", None]


def test_derive_vars_dtm_01_admiral_reference_example():
    out = derive_vars_dtm(pd.DataFrame({"MHSTDTC": MHSTDTC}), dtc="MHSTDTC", new_var="ASTDTM",
                          date_flag_var="ASTDTF", time_flag_var="ASTTMF", highest_imputation="M")
    assert [None if pd.isna(v) else str(v) for v in out["ASTDTM"]] == [
        "2019-07-18 15:25:40", "2019-07-18 15:25:00", "2019-07-18 00:00:00", "2019-02-01 00:00:00",
        "2019-01-01 00:00:00", "2019-01-01 00:00:00", None]
    assert out["ASTDTF"].tolist() == [None, None, None, "D", "M", "M", None]
    assert out["ASTTMF"].tolist() == [None, "S", "H", "H", "H", "H", None]


def test_derive_vars_dtm_02_last_and_default_level():
    """date_imputation last / time_imputation last: 2019-02 -> 2019-02-28 23:59:59; with the default
    highest_imputation "h" a partial date is not imputed."""
    data = pd.DataFrame({"DTC": ["2019-02", "2019-07-18T15"]})
    out = derive_vars_dtm(data, dtc="DTC", new_var="ADTM", time_flag_var="ATMF", highest_imputation="M",
                          date_imputation="last", time_imputation="last")
    assert [str(v) for v in out["ADTM"]] == ["2019-02-28 23:59:59", "2019-07-18 15:59:59"]
    assert out["ATMF"].tolist() == ["H", "M"]
    default = derive_vars_dtm(data, dtc="DTC", new_var="ADTM")
    assert pd.isna(default["ADTM"].iloc[0]) and str(default["ADTM"].iloc[1]) == "2019-07-18 15:00:00"


def test_derive_vars_dtm_03_bad_level_is_an_error():
    with pytest.raises(DerivationError) as err:
        derive_vars_dtm(pd.DataFrame({"DTC": ["2019"]}), dtc="DTC", new_var="ADTM", highest_imputation="X")
    assert "highest_imputation must be one of n, s, m, h, D, M, Y, not 'X'" in str(err.value)


def test_derive_var_extreme_dtm_01_last_over_sources_with_filter():
    """Last known alive datetime: the latest of AE starts and exposure ends; a filtered record is ignored."""
    adsl = pd.DataFrame({"USUBJID": ["1", "2", "3"]})
    ae = pd.DataFrame({"USUBJID": ["1", "1", "2"], "AESTDTC": ["2020-01-05T10:00", "2020-02-01", "2020-03-01"],
                       "AESER": ["N", "Y", "N"]})
    ex = pd.DataFrame({"USUBJID": ["1", "2"], "EXENDTC": ["2020-01-20", "2020-02"]})
    out = derive_var_extreme_dtm(adsl, sources={"sdtm.AE": ae, "sdtm.EX": ex}, new_var="LSTALVDTM", mode="last",
                                 events=[{"source": "sdtm.AE", "date": "AESTDTC", "filter": "AESER == 'N'"},
                                         {"source": "sdtm.EX", "date": "EXENDTC"}])
    assert [None if pd.isna(v) else str(v) for v in out["LSTALVDTM"]] == [
        "2020-01-20 00:00:00", "2020-03-01 00:00:00", None]
