"""Tests of the raw-form writer (tlfgen.simulate.forms and forms_*.py) on small hand-built truths."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tlfgen.errors import DataError
from tlfgen.simulate.forms import create_raw_export, create_raw_forms, write_raw_forms
from tlfgen.simulate.forms_ae import AE_DICTIONARY, render_ae_dictionary_csv
from tlfgen.simulate.forms_common import FORM_FIELDS, format_date
from tlfgen.simulate.run import write_truth_json
from tlfgen.simulate.truth_model import (
    AdverseEventTruth,
    AssessmentTruth,
    DoseChangeTruth,
    StudyTruth,
    SubjectTruth,
)

REPO = Path(__file__).resolve().parents[2]
CUTOFF = date(2025, 4, 12)
D = date


def make_subject(subjid: str, arm: str, **overrides) -> SubjectTruth:
    """A plausible subject; tests override what they need."""
    start = overrides.pop("trt_start", D(2021, 1, 4))
    base = dict(
        subjid=subjid, arm=arm, sex="M", birth_date=D(1958, 5, 17), consent_date=start - timedelta(days=14),
        enrol_date=start - timedelta(days=7), trt_start=start, ecog=1, stage="IV", tnm=("T3", "N2", "M1"),
        tumour_site="MIDDLE THORACIC", pdl1_cps=12.0, dysphagia=2, smoking="FORMER", alcohol="NEVER",
        taxane="PACLITAXEL", platinum="CISPLATIN", n_cycles=6, n_induction=4,
        last_dose=start + timedelta(days=21 * 5 + (13 if arm == "TCAC" else 0)), on_treatment_at_cutoff=False,
        baseline_scan=start - timedelta(days=9),
    )
    base.update(overrides)
    return SubjectTruth(**base)


def ae(pt: str, start: date, end: date | None, grade: int = 1, related: bool = True, **kw) -> AdverseEventTruth:
    rel = {"CAM": related, "ANL": related, "TAX": False, "PLT": related}
    return AdverseEventTruth(pt=pt, start=start, end=end, grade=grade, serious=kw.pop("serious", False),
                             rel=rel, **kw)


def subject_cr(subjid: str = "01001") -> SubjectTruth:
    """TCAC, confirmed CR after PR, conversion surgery, alive."""
    s = D(2021, 1, 4)
    return make_subject(
        subjid, "TCAC", trt_start=s, n_cycles=8, n_induction=6, last_dose=s + timedelta(days=21 * 7 + 13),
        dose_changes=(DoseChangeTruth(cycle=2, drug="TAX", reason="ADVERSE EVENT"),),
        assessments=(
            AssessmentTruth(D(2021, 2, 15), "PR", -40.0),
            AssessmentTruth(D(2021, 3, 29), "PR", -62.5),
            AssessmentTruth(D(2021, 5, 10), "CR", -100.0, nontarget="ABSENT"),
            AssessmentTruth(D(2021, 7, 12), "CR", -100.0, nontarget="ABSENT"),
        ),
        bor="CR", best_pchg=-100.0, surgery_date=D(2021, 8, 20), surgery_r0=True, pcr=True,
        eot_date=D(2021, 8, 20), eot_reason="SURGERY", last_alive=D(2025, 3, 30),
        aes=(ae("Neutrophil count decreased", D(2021, 1, 20), D(2021, 1, 30), grade=3),
             ae("Hypertension", D(2021, 2, 2), None, grade=2, partial_start=True),
             ae("Rash", D(2021, 3, 1), D(2021, 3, 20), verbatim="itchy rash on chest")),
        expected={"BASE_SUM": 64.0, "BOR": "CR", "DEPTH": -100.0},
    )


def subject_pd(subjid: str = "01002") -> SubjectTruth:
    """TCC, SD then PD by a new lesion, died; carboplatin and nab-paclitaxel, platinum reduced."""
    s = D(2021, 2, 1)
    return make_subject(
        subjid, "TCC", trt_start=s, sex="F", taxane="NAB-PACLITAXEL", platinum="CARBOPLATIN", n_cycles=4,
        n_induction=4, last_dose=s + timedelta(days=21 * 3 + 4), stage="III", tnm=("T4", "N2", "M0"),
        dose_changes=(DoseChangeTruth(cycle=3, drug="PLT", reason="ADVERSE EVENT"),),
        assessments=(AssessmentTruth(D(2021, 3, 15), "SD", -10.3),
                     AssessmentTruth(D(2021, 4, 26), "PD", 15.0, new_lesion=True)),
        bor="SD", pd_date=D(2021, 4, 26), death_date=D(2022, 1, 9), death_cause="DISEASE PROGRESSION",
        eot_date=D(2021, 4, 30), eot_reason="PROGRESSIVE DISEASE", eos_date=D(2022, 1, 9), eos_reason="DEATH",
        last_alive=D(2021, 12, 20), subsequent_therapy=(("Docetaxel", D(2021, 5, 20)),),
        aes=(ae("Nausea", D(2021, 2, 3), D(2021, 2, 6), related=False),
             ae("Anaemia", D(2021, 2, 20), D(2021, 3, 2), grade=2),
             ae("Fatigue", D(2021, 3, 5), D(2021, 3, 9), related=False)),
        expected={"BOR": "SD"},
    )


def subject_nadir_pd(subjid: str = "01003") -> SubjectTruth:
    """TCAC, PR then PD by the 20 % / 5 mm rule from the nadir (still -35 % from baseline); on treatment."""
    s = D(2024, 6, 3)
    return make_subject(
        subjid, "TCAC", trt_start=s, last_dose=None, on_treatment_at_cutoff=True, n_cycles=15, n_induction=6,
        assessments=(AssessmentTruth(D(2024, 7, 15), "PR", -50.0),
                     AssessmentTruth(D(2024, 8, 26), "PR", -49.96),
                     AssessmentTruth(D(2024, 11, 18), "PD", -35.0)),
        bor="PR", last_alive=D(2025, 4, 1), expected={"BASE_SUM": 80.0},
    )


def subject_ne(subjid: str = "01004") -> SubjectTruth:
    """TCC, NE assessment then PD by unequivocal non-target progression; lost to follow-up."""
    s = D(2022, 3, 7)
    return make_subject(
        subjid, "TCC", trt_start=s, n_cycles=6, n_induction=6, last_dose=s + timedelta(days=21 * 5),
        assessments=(AssessmentTruth(D(2022, 4, 18), "NE", float("nan")),
                     AssessmentTruth(D(2022, 5, 30), "PD", -5.0, nontarget="UNEQUIVOCAL PROGRESSION")),
        eot_date=D(2022, 6, 1), eot_reason="PROGRESSIVE DISEASE", lost_to_follow_up=True,
        last_alive=D(2022, 10, 3), eos_date=D(2022, 10, 31), eos_reason="LOST TO FOLLOW-UP", pdl1_cps=None,
    )


def make_truth(*subjects: SubjectTruth) -> StudyTruth:
    return StudyTruth(studyid="NCT04471480", cutoff=CUTOFF, subjects=tuple(subjects), seed=7)


@pytest.fixture(scope="module")
def truth() -> StudyTruth:
    return make_truth(subject_cr(), subject_pd(), subject_nadir_pd(), subject_ne())


@pytest.fixture(scope="module")
def forms(truth: StudyTruth) -> dict[str, pd.DataFrame]:
    return create_raw_forms(truth, seed=11)


def test_01_every_form_present_with_exact_columns(forms):
    assert sorted(forms) == sorted(f"{name}.csv" for name in FORM_FIELDS)
    assert list(forms["dm.csv"].columns) == ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS", "BRTHDAT",
                                             "SEX", "RACE", "ETHNIC", "SMOKING", "ALCOHOL"]
    for name, frame in forms.items():
        assert list(frame.columns[:5]) == ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"], name
        assert list(frame.columns[5:]) == list(FORM_FIELDS[name[:-4]]), name
        assert all(frame[c].map(type).eq(str).all() for c in frame.columns), name
        assert set(frame["STUDYID"]) <= {"NCT04471480"} and set(frame["SITEID"]) <= {"01"}


def test_02_dates_in_edc_print_format(forms):
    pattern = re.compile(r"^(\d\d|UN) (JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|UNK) \d{4}$")
    checked = 0
    for frame in forms.values():
        for column in [c for c in frame.columns if c.endswith("DAT")]:
            for value in frame[column]:
                assert value == "" or pattern.match(value), (column, value)
                checked += value != ""
    assert checked > 100
    assert format_date(D(2020, 8, 3)) == "03 AUG 2020"
    ae_rows = forms["ae.csv"]
    assert ae_rows.loc[ae_rows["AEPT"] == "Hypertension", "AESTDAT"].tolist() == ["UN FEB 2021"]


def _tenths(text: str) -> int:
    return int(round(float(text) * 10))


def recompute_recist(forms) -> dict[tuple[str, str], dict[str, str]]:
    """Independent RECIST 1.1 from the written tl/ntl/nl: (SUBJID, FOLDER) -> responses."""
    tl, ntl, nl = forms["tl.csv"], forms["ntl.csv"], forms["nl.csv"]
    out = {}
    for subjid, lesions in tl.groupby("SUBJID"):
        base = sum(_tenths(v) for v in lesions.loc[lesions["FOLDER"] == "SCRN", "TLDIAM"])
        history = [base]
        nt_subject = ntl[ntl["SUBJID"] == subjid]
        for folder in sorted(f for f in lesions["FOLDER"].unique() if f.startswith("TA")):
            rows = lesions[lesions["FOLDER"] == folder]
            if (rows["TLDIAM"] == "NE").any():
                target = "NE"
            else:
                values = [_tenths(v) for v in rows["TLDIAM"]]
                total, nadir = sum(values), min(history)
                nodal = rows["TLNODAL"].eq("Yes").tolist()
                if all((v < 100) if n else (v == 0) for v, n in zip(values, nodal)):
                    target = "CR"
                elif total - nadir >= 0.2 * nadir and total - nadir >= 50:
                    target = "PD"
                elif (total - base) / base <= -0.30:
                    target = "PR"
                else:
                    target = "SD"
                history.append(total)
            status = nt_subject.loc[nt_subject["FOLDER"] == folder, "NTLSTAT"].tolist()
            if not status:
                nontarget = "NA"
            elif "Unequivocal progression" in status:
                nontarget = "PD"
            elif set(status) == {"Absent"}:
                nontarget = "CR"
            else:
                nontarget = "NON-CR/NON-PD"
            new = bool(((nl["SUBJID"] == subjid) & (nl["FOLDER"] == folder)).any())
            if new or "PD" in (target, nontarget):
                overall = "PD"
            elif target == "CR":
                overall = "CR" if nontarget in ("CR", "NA") else "PR"
            else:
                overall = target
            out[(subjid, folder)] = {"TRGRESP": target, "NTRGRESP": nontarget, "OVRLRESP": overall,
                                     "NEWLES": "Yes" if new else "No"}
    return out


def test_03_recist_recomputed_from_diameters_equals_truth(truth, forms):
    recomputed = recompute_recist(forms)
    rs = forms["rs.csv"].set_index(["SUBJID", "FOLDER"])
    n = 0
    for subject in truth.subjects:
        for k, assessment in enumerate(subject.assessments):
            key = (subject.subjid, f"TA{k + 1:02d}")
            assert recomputed[key]["OVRLRESP"] == assessment.response, key
            for column in ("TRGRESP", "NTRGRESP", "NEWLES", "OVRLRESP"):
                assert rs.loc[key, column] == recomputed[key][column], (key, column)
            n += 1
    assert n == 11
    assert recomputed[("01003", "TA03")]["TRGRESP"] == "PD"  # nadir rule, -35 % from baseline
    assert recomputed[("01004", "TA01")]["TRGRESP"] == "NE"


def test_04_target_sums_give_truth_pchg_and_base_sum(truth, forms):
    tl = forms["tl.csv"]
    for subject in truth.subjects:
        rows = tl[tl["SUBJID"] == subject.subjid]
        base = sum(_tenths(v) for v in rows.loc[rows["FOLDER"] == "SCRN", "TLDIAM"])
        if "BASE_SUM" in subject.expected:
            assert base == subject.expected["BASE_SUM"] * 10
        baseline = rows[rows["FOLDER"] == "SCRN"]
        assert (baseline.loc[baseline["TLNODAL"] == "Yes", "TLDIAM"].map(_tenths) >= 150).all()
        assert 1 <= len(baseline) <= 5
        assert baseline["TLDIAM"].map(lambda v: v.isdigit()).all()  # whole mm at baseline
        for k, a in enumerate(subject.assessments):
            if a.response == "NE":
                continue
            total = sum(_tenths(v) for v in rows.loc[rows["FOLDER"] == f"TA{k + 1:02d}", "TLDIAM"])
            assert abs((total - base) * 100 / base - a.target_pchg) <= 0.1
    cr_rows = tl[(tl["SUBJID"] == "01001")]
    assert cr_rows.loc[cr_rows["FOLDER"] == "TA02", "TLDIAM"].str.isdigit().all()  # 24 mm: whole mm
    assert cr_rows.loc[cr_rows["FOLDER"] == "TA01", "TLDIAM"].map(_tenths).sum() == 384
    assert (cr_rows["TLNODAL"] == "No").all()
    assert set(cr_rows.loc[cr_rows["FOLDER"].isin(["TA03", "TA04"]), "TLDIAM"]) == {"0"}
    # -49.96 stays above -50 after rounding (depth of response > 50 % is not gained by rounding)
    nadir_rows = tl[(tl["SUBJID"] == "01003") & (tl["FOLDER"] == "TA02")]
    assert sum(nadir_rows["TLDIAM"].map(_tenths)) == 401


def test_05_ex_cycles_doses_and_anlotinib_only_for_tcac(truth, forms):
    ex = forms["ex.csv"]
    cr = ex[ex["SUBJID"] == "01001"]
    assert len(cr) == 8 * 2 + 6 * 2  # camrelizumab + anlotinib every cycle; chemo in 6 induction cycles
    assert cr.loc[cr["EXTRT"] == "Anlotinib", "EXDOSE"].unique().tolist() == ["8"]
    assert cr.loc[cr["EXTRT"] == "Anlotinib", "EXROUTE"].unique().tolist() == ["Oral"]
    assert cr.loc[cr["FOLDER"] == "C1D1", "EXTRT"].tolist() == ["Camrelizumab", "Paclitaxel", "Cisplatin",
                                                                 "Anlotinib"]
    assert cr.loc[cr["FOLDER"] == "C1D1", "EXENDAT"].tolist() == ["04 JAN 2021"] * 3 + ["17 JAN 2021"]
    assert cr.loc[cr["FOLDER"] == "C2D1", "EXSTDAT"].unique().tolist() == ["25 JAN 2021"]
    assert cr.loc[cr["FOLDER"] == "C7D1", "EXTRT"].tolist() == ["Camrelizumab", "Anlotinib"]
    assert not (ex[ex["SUBJID"].isin(["01002", "01004"])]["EXTRT"] == "Anlotinib").any()
    for subject in truth.subjects:
        rows = ex[ex["SUBJID"] == subject.subjid]
        dates = [pd.Timestamp(d).date() for d in pd.to_datetime(rows["EXENDAT"], format="%d %b %Y")]
        if subject.last_dose is not None:
            assert max(dates) == subject.last_dose
            assert rows["EXCYCLE"].astype(int).max() == subject.n_cycles
        else:
            assert max(dates) <= CUTOFF
            assert max(pd.to_datetime(rows["EXSTDAT"], format="%d %b %Y")).date() > CUTOFF - timedelta(days=21)
    pd_rows = ex[ex["SUBJID"] == "01002"]
    assert pd_rows.loc[pd_rows["EXTRT"] == "Carboplatin", "EXDOSU"].unique().tolist() == ["AUC"]
    assert pd_rows.loc[pd_rows["EXTRT"] == "Nab-paclitaxel", "EXDOSE"].unique().tolist() == ["260"]


def test_06_dose_reduction_from_its_cycle_on(forms):
    ex = forms["ex.csv"]
    tax = ex[(ex["SUBJID"] == "01001") & (ex["EXTRT"] == "Paclitaxel")]
    assert tax["EXDOSE"].tolist() == ["175", "150", "150", "150", "150", "150"]
    assert tax["EXADJ"].tolist() == ["No", "Yes", "No", "No", "No", "No"]
    assert tax["EXADJRS"].tolist() == ["", "Adverse event", "", "", "", ""]
    plt = ex[(ex["SUBJID"] == "01002") & (ex["EXTRT"] == "Carboplatin")]
    assert plt["EXDOSE"].tolist() == ["5", "5", "4", "4"]
    assert (ex.loc[ex["EXTRT"] == "Camrelizumab", "EXADJ"] == "No").all()


def test_07_ae_columns(forms):
    ae_rows = forms["ae.csv"]
    assert len(ae_rows) == 6
    first = ae_rows.iloc[0].to_dict()
    assert first["AEPT"] == "Neutrophil count decreased" and first["AESOC"] == "Investigations"
    assert first["AETERM"].strip().lower() in AE_DICTIONARY["Neutrophil count decreased"][4]
    assert (first["AESTDAT"], first["AEENDAT"], first["AEONGO"], first["AETOXGR"]) == (
        "20 JAN 2021", "30 JAN 2021", "No", "3")
    assert (first["AERELCAM"], first["AERELANL"], first["AERELTAX"], first["AERELPLT"]) == (
        "Related", "Related", "Not related", "Related")
    assert (first["AEACN"], first["AEOUT"], first["RECPOS"], first["FOLDER"]) == (
        "Dose not changed", "Recovered/resolved", "1", "LOG")
    ongoing = ae_rows[ae_rows["AEPT"] == "Hypertension"].iloc[0]
    assert (ongoing["AEENDAT"], ongoing["AEONGO"], ongoing["AEOUT"]) == ("", "Yes", "Not recovered/not resolved")
    assert ae_rows.loc[ae_rows["AEPT"] == "Rash", "AETERM"].str.strip().str.lower().tolist() == ["itchy rash on chest"]
    assert set(ae_rows.loc[ae_rows["SUBJID"] == "01002", "AERELANL"]) == {"Not applicable"}


def test_08_follow_up_death_surgery_and_disposition(truth, forms):
    fu = forms["fu.csv"]
    for subject in truth.subjects:
        rows = fu[fu["SUBJID"] == subject.subjid]
        alive = rows.loc[rows["FUSTAT"] == "Alive", "FUDAT"].tolist()
        if subject.on_treatment_at_cutoff:
            assert rows[["FOLDER", "FUDAT", "FUSTAT"]].values.tolist() == [["FU01", "01 APR 2025", "Alive"]]
            continue
        assert alive[-1] == format_date(subject.last_alive)
        assert rows["FOLDER"].tolist() == [f"FU{i:02d}" for i in range(1, len(rows) + 1)]
    assert fu.loc[fu["SUBJID"] == "01002", "FUSTAT"].tolist()[-1] == "Dead"
    assert fu.loc[fu["SUBJID"] == "01004", ["FUDAT", "FUSTAT"]].values.tolist()[-1] == [
        "31 OCT 2022", "Lost to follow-up"]
    assert forms["pr.csv"][["SUBJID", "PRDAT", "PRR0", "PRPCR"]].values.tolist() == [
        ["01001", "20 AUG 2021", "Yes", "Yes"]]
    assert forms["dth.csv"][["SUBJID", "DTHDAT", "DTHCAUSE"]].values.tolist() == [
        ["01002", "09 JAN 2022", "Disease progression"]]
    assert forms["eot.csv"]["SUBJID"].tolist() == ["01001", "01002", "01004"]
    assert forms["cm.csv"][["CMTRT", "CMSTDAT", "CMLINE"]].values.tolist() == [["Docetaxel", "20 MAY 2021", "2"]]
    assert forms["dx.csv"]["PDL1CPS"].tolist() == ["12", "12", "12", "NE"]
    ecog = forms["ecog.csv"]
    assert ecog.loc[ecog["SUBJID"] == "01001", "FOLDER"].tolist() == ["SCRN"] + [f"C{i}D1" for i in range(1, 7)]
    assert forms["ic.csv"]["ARMSEL"].tolist() == ["TCAC", "TCC", "TCAC", "TCC"]
    assert forms["dm.csv"]["SEX"].str.strip().str.lower().tolist() == ["male", "female", "male", "male"]


def test_09_double_write_is_byte_identical(truth, tmp_path):
    first = write_raw_forms(create_raw_forms(truth, seed=11), tmp_path / "a")
    second = write_raw_forms(create_raw_forms(truth, seed=11), tmp_path / "b")
    assert [p.name for p in first] == sorted(f"{n}.csv" for n in FORM_FIELDS)
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    text = (tmp_path / "a" / "dm.csv").read_bytes()
    assert b"\r" not in text and text.startswith(b"STUDYID,SITEID,SUBJID,FOLDER,RECPOS,BRTHDAT,")
    assert not list((tmp_path / "a").glob("*.tmp"))


def _problem_truth() -> StudyTruth:
    subjects = [subject_cr("01001"), subject_nadir_pd("01003"), subject_ne("01004")]
    subjects += [subject_pd(f"0100{i}") for i in (5, 6, 7, 8, 9)]
    return make_truth(*subjects)


def test_10_problems_injected_only_when_asked():
    truth = _problem_truth()
    clean = create_raw_export(truth, seed=3, inject=False)
    dirty = create_raw_export(truth, seed=3, inject=True)
    assert clean.problems == ()
    assert [(p.file, p.subjid, p.column) for p in dirty.problems] == [
        ("ae.csv", "01005", "AEENDAT"), ("ae.csv", "01006", "AEENDAT"), ("ae.csv", "01007", "AEOUT"),
        ("ae.csv", "01008", "(whole row)"), ("ae.csv", "01009", "AETOXGR"), ("tl.csv", "01001", "TLDIAM"),
        ("fu.csv", "01999", "SUBJID")]
    ae_rows = dirty.forms["ae"]
    assert ae_rows.loc[ae_rows["SUBJID"] == "01005", "AEENDAT"].tolist()[0] == "31 FEB 2021"
    assert ae_rows.loc[ae_rows["SUBJID"] == "01006", "AEENDAT"].tolist()[0] == "31 JAN 2021"
    assert len(ae_rows) == len(clean.forms["ae"]) + 1
    assert ae_rows[ae_rows.duplicated(keep=False)]["SUBJID"].tolist() == ["01008", "01008"]
    assert dirty.forms["tl"].loc[dirty.forms["tl"]["TLDIAM"] == "0 mm", "FOLDER"].tolist() == ["TA04"]
    assert dirty.forms["fu"]["SUBJID"].tolist()[-1] == "01999"
    for name in ("dm", "ex", "rs", "nl", "ntl"):
        assert dirty.forms[name].equals(clean.forms[name]), name


def test_11_inconsistent_truth_raises():
    bad = dataclasses.replace(subject_pd(), assessments=(AssessmentTruth(D(2021, 3, 15), "PR", -10.0),))
    with pytest.raises(DataError, match="truth response PR but RECIST 1.1 gives SD"):
        create_raw_forms(make_truth(bad), seed=1)
    unknown = dataclasses.replace(subject_pd(), aes=(ae("Headache", D(2021, 3, 1), None),))
    with pytest.raises(DataError, match="'Headache' is not in the AE dictionary"):
        create_raw_forms(make_truth(unknown), seed=1)


def test_12_ae_dictionary_csv_is_the_committed_file():
    committed = (REPO / "specs" / "dictionaries" / "ae_dictionary.csv").read_text(encoding="utf-8")
    assert committed == render_ae_dictionary_csv()
    frame = pd.read_csv(REPO / "specs" / "dictionaries" / "ae_dictionary.csv", dtype=str)
    assert list(frame.columns) == ["LLT", "LLTCD", "PT", "PTCD", "HLT", "HLTCD", "HLGT", "HLGTCD", "SOC", "SOCCD",
                                   "VERBATIMS"]
    assert len(frame) == 25 and frame["PTCD"].is_unique and frame["PTCD"].str.startswith("9").all()
    assert (frame["LLT"] == frame["PT"]).all() and (frame["LLTCD"] == frame["PTCD"]).all()  # MedDRA: PT = its LLT
    for column in ("HLTCD", "HLGTCD", "SOCCD"):  # invented codes, one per name
        assert frame[column].str.fullmatch(r"9\d{7}").all()
        assert frame.groupby(column[:-2])[column].nunique().eq(1).all()
    assert frame.set_index("PT").loc["Reactive cutaneous capillary endothelial proliferation", "SOC"] == (
        "Skin and subcutaneous tissue disorders")


def test_13_truth_json_sorted_and_stable(tmp_path):
    truth = make_truth(subject_cr(), subject_pd())
    path = write_truth_json(truth, tmp_path / "truth.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["subjects"]["01001"] == {"ARM": "TCAC", "BASE_SUM": 64.0, "BOR": "CR", "DEPTH": -100.0}
    assert path.read_text(encoding="utf-8") == write_truth_json(truth, tmp_path / "t2.json").read_text(
        encoding="utf-8")


def test_14_simulate_writes_forms_and_readme_with_problems_only_for_embedded(tmp_path, monkeypatch):
    import types

    from tlfgen.simulate.run import simulate

    fake = types.ModuleType("tlfgen.simulate.truth")
    calls = []

    def create_study_truth(subjects_per_arm: int = 30, seed: int = 20200803) -> StudyTruth:
        calls.append((subjects_per_arm, seed))
        return _problem_truth()

    fake.create_study_truth = create_study_truth  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "tlfgen.simulate.truth", fake)
    written = simulate(tmp_path / "embedded")
    assert [p.name for p in written] == sorted(f"{n}.csv" for n in FORM_FIELDS) + ["README.md"]
    readme = (tmp_path / "embedded" / "README.md").read_text(encoding="utf-8")
    assert "`tlfgen simulate --subjects-per-arm 30 --seed 20200803 --out raw/`" in readme
    for line in ("| 1 | ae.csv | 01005 | LOG | 1 | AEENDAT | \"31 FEB 2021\" |",
                 "| 7 | fu.csv | 01999 | FU01 | 0 | SUBJID | \"01999\" |"):
        assert line in readme
    assert "| Best overall response: CR | 1 | 0 |" in readme
    simulate(tmp_path / "other", subjects_per_arm=2, seed=5)
    other = (tmp_path / "other" / "README.md").read_text(encoding="utf-8")
    assert "None: this export was written without deliberate problems." in other
    assert calls == [(30, 20200803), (2, 5)]
    assert "01999" not in (tmp_path / "other" / "fu.csv").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def study_export():
    truth_module = pytest.importorskip("tlfgen.simulate.truth")
    truth = truth_module.create_study_truth()
    return (truth, create_raw_export(truth, seed=20200803, inject=False),
            create_raw_export(truth, seed=20200803, inject=True))


def test_15_study_truth_forms_agree_with_the_truth(study_export):
    truth, export, _ = study_export
    forms = {f"{name}.csv": frame for name, frame in export.forms.items()}
    recomputed = recompute_recist(forms)
    n = 0
    for subject in truth.subjects:
        for k, assessment in enumerate(subject.assessments):
            assert recomputed[(subject.subjid, f"TA{k + 1:02d}")]["OVRLRESP"] == assessment.response
            n += 1
    assert n == len(forms["rs.csv"]) > 100
    ex = export.forms["ex"]
    last = pd.to_datetime(ex["EXENDAT"], format="%d %b %Y").groupby(ex["SUBJID"]).max()
    for subject in truth.subjects:
        if subject.last_dose is not None:
            assert last[subject.subjid].date() == subject.last_dose, subject.subjid
        anl = (ex["SUBJID"] == subject.subjid) & (ex["EXTRT"] == "Anlotinib")
        assert anl.any() == (subject.arm == "TCAC")
    fu = export.forms["fu"]
    for subject in truth.subjects:
        alive = fu.loc[(fu["SUBJID"] == subject.subjid) & (fu["FUSTAT"] == "Alive"), "FUDAT"].tolist()
        after = subject.eot_date or subject.last_dose
        if subject.last_alive is not None and (subject.on_treatment_at_cutoff or (
                after is not None and subject.last_alive > after)):
            assert alive[-1] == format_date(subject.last_alive), subject.subjid


def test_16_study_problems_are_exactly_the_listed_changes(study_export):
    truth, clean, dirty = study_export
    assert len(dirty.problems) == 7
    changed = set()
    for name in FORM_FIELDS:
        a, b = clean.forms[name], dirty.forms[name]
        if name == "ae":
            b = b.drop_duplicates().reset_index(drop=True)
        if name == "fu":
            b = b[b["SUBJID"] != "01999"].reset_index(drop=True)
        diff = (a != b)
        for row, column in zip(*diff.to_numpy().nonzero()):
            changed.add((f"{name}.csv", a.iloc[row]["SUBJID"], a.columns[column]))
    listed = {(p.file, p.subjid, p.column) for p in dirty.problems if p.column not in ("(whole row)", "SUBJID")}
    assert changed == listed
    assert len(dirty.forms["ae"]) == len(clean.forms["ae"]) + 1
    assert len(dirty.forms["fu"]) == len(clean.forms["fu"]) + 1
    dead = {s.subjid for s in truth.subjects if s.death_date is not None}
    assert {p.subjid for p in dirty.problems[:3]} <= dead


def test_17_study_last_known_alive_gives_the_truth_os_days(study_export):
    truth, export, _ = study_export

    def parse(series: pd.Series) -> list[date]:
        return [d.date() for d in pd.to_datetime(series, format="%d %b %Y", errors="coerce") if not pd.isna(d)]

    f = export.forms
    checked = 0
    for s in truth.subjects:
        if s.death_date is not None:
            continue
        mine = {name: frame[frame["SUBJID"] == s.subjid] for name, frame in f.items()}
        dates = (parse(mine["ex"]["EXSTDAT"]) + parse(mine["ex"]["EXENDAT"]) + parse(mine["ae"]["AESTDAT"])
                 + parse(mine["ae"]["AEENDAT"]) + parse(mine["rs"]["RSDAT"])
                 + parse(mine["fu"].loc[mine["fu"]["FUSTAT"] == "Alive", "FUDAT"]))
        end = min(max(dates), truth.cutoff)
        if s.surgery_date is not None:
            end = s.surgery_date
        assert (end - s.trt_start).days + 1 == s.expected["OS_DAYS"], s.subjid
        checked += 1
    assert checked >= 20
