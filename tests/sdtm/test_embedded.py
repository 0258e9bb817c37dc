"""The SDTM stage on the embedded study's raw export (raw/*.csv): every domain, counts, problems found."""


import pyreadstat
import pytest
from sdtm_helpers import DOMAINS_ALL, ROOT

from study_copy import copy_study
from tlfgen.io.xpt_checks import check_xpt_v5
from tlfgen.sdtm.metadata import create_domain_metadata
from tlfgen.sdtm.run import map_study, run_sdtm
from tlfgen.spec.check import load_stage_specs
from tlfgen.spec.study import load_study

pytestmark = pytest.mark.skipif(not (ROOT / "raw" / "dm.csv").is_file(), reason="raw/ not written yet")


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    study = copy_study(tmp_path_factory.mktemp("embedded"))
    return study, run_sdtm(study), map_study(load_study(study.root))


def raw_rows(name):
    return len((ROOT / "raw" / name).read_text(encoding="utf-8").splitlines()) - 1


def test_every_domain_is_written_conforms_and_reads_back(embedded):
    study, _, run = embedded
    specs = load_stage_specs(study, "sdtm")
    for name in DOMAINS_ALL:
        df, _ = pyreadstat.read_xport(str(study.sdtm_dir / f"{name.lower()}.xpt"))
        expected = run.results[name].data
        assert check_xpt_v5(expected, create_domain_metadata(specs.domains[name], specs)) == []
        assert len(df) == len(expected) > 0, name
        for col in expected.columns:
            if expected[col].dtype == object:
                assert df[col].tolist() == expected[col].tolist(), (name, col)
            else:
                assert df[col].fillna(-1).tolist() == expected[col].fillna(-1).tolist(), (name, col)


def test_record_counts_follow_the_raw_files(embedded):
    _, _, run = embedded
    n = {name: len(r.data) for name, r in run.results.items()}
    assert n["DM"] == raw_rows("dm.csv")
    assert n["AE"] == raw_rows("ae.csv") - 1  # one duplicate row rejected
    assert n["EX"] == raw_rows("ex.csv")
    assert n["RS"] == 4 * raw_rows("rs.csv")
    assert n["QS"] == raw_rows("ecog.csv")
    assert n["TR"] == raw_rows("tl.csv") + raw_rows("ntl.csv") + raw_rows("nl.csv")
    assert n["SC"] == 10 * raw_rows("dm.csv")
    assert n["DS"] == 2 * raw_rows("ic.csv") + raw_rows("eot.csv") + raw_rows("eos.csv") + raw_rows("fu.csv") - 1
    for count in run.counts:
        assert count.rows_in == count.rows_out + count.rows_rejected, count


def test_the_deliberate_problems_are_found(embedded):
    _, result, _ = embedded
    found = {(f.rule, f.file, f.column) for f in result.findings if f.rule != "DATE-PARTIAL"}
    assert found == {
        ("DATE-INVALID", "raw/ae.csv", "AEENDAT"),
        ("DATE-END-BEFORE-START", "raw/ae.csv", "AEENDAT"),
        ("CT-UNMAPPED", "raw/ae.csv", "AEOUT"),
        ("RAW-DUPLICATE-RECORD", "raw/ae.csv", None),
        ("REQUIRED-MISSING", "raw/ae.csv", "AETOXGR"),
        ("NUMBER-UNIT", "raw/tl.csv", "TLDIAM"),
        ("RAW-UNKNOWN-SUBJECT", "raw/fu.csv", "SUBJID"),
    }


def test_define_lists_every_dataset_written(embedded):
    import xml.etree.ElementTree as ET

    study, result, _ = embedded
    odm = "{http://www.cdisc.org/ns/odm/v1.3}"
    root = ET.parse(study.sdtm_dir / "define.xml").getroot()
    groups = {g.get("Name") for g in root.iter(f"{odm}ItemGroupDef")}
    written = {p.stem.upper() for p in result.outputs if p.suffix == ".xpt"}
    assert groups == written
    items = {i.get("OID") for i in root.iter(f"{odm}ItemDef")}
    specs = load_stage_specs(study, "sdtm")
    for name in DOMAINS_ALL:
        for var in specs.domains[name].spec.variables:
            assert f"IT.{name}.{var.name}" in items
