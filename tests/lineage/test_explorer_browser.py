"""The explorer page (outputs/lineage.html) in a real browser: Debian's chromium, driven headless by Selenium.

Opens the embedded study's page from file:// (no server, no network), clicks a cell as an auditor
would and follows it down to the raw rows; the raw file lines named on the page are read back
from raw/*.csv and checked against the subject and the value that was counted.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1600,1000")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip("chromium and chromedriver not installed (apt-get install chromium chromium-driver): "
                    "needed to open the explorer page in a real browser")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install -e .[test])")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with both paths given, Selenium Manager never downloads anything
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(browser, lineage_study):
    from selenium.webdriver.support.ui import WebDriverWait

    study = lineage_study[0]
    browser.get((study.outputs_dir / "lineage.html").resolve().as_uri())
    WebDriverWait(browser, 30).until(lambda d: d.find_element("css selector", "body[data-ready='1']"))
    return browser, study


def _click_cell(driver, output_id: str, row_id: str, column_key: str):
    cell = driver.find_element(
        "css selector", f'section#out-{output_id} tr[data-row="{row_id}"] td.traced[data-col="{column_key}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
    driver.execute_script("document.getElementById('panel').innerHTML=''")  # the page's data are read asynchronously
    cell.click()
    _wait(driver, "#panel .subj-count")
    return cell.text


def _wait(driver, css: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 20).until(lambda d: d.find_elements("css selector", css))


def _shown_subjects(driver) -> dict[str, list[str]]:
    """USUBJID -> the raw rows (file:line) shown under it in the trace panel."""
    found = {}
    for subject in driver.find_elements("css selector", "#panel .subj"):
        found[subject.get_attribute("data-usubjid")] = [r.text for r in subject.find_elements("css selector", ".raw")]
    return found


def _raw_line(study, ref: str) -> dict[str, str]:
    file, line = ref.rsplit(":", 1)
    lines = (study.root / file).read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    return dict(zip(header, next(csv.reader([lines[int(line) - 1]]))))


def _count(text: str) -> int:
    return int(re.match(r"\s*(\d+)", text).group(1))


# 1. Table 2, ORR for TCAC: the responders, each down to the raw/rs.csv lines of its confirmed response
def test_orr_cell_reaches_the_rs_rows_of_each_responder(page):
    driver, study = page
    text = _click_cell(driver, "T2", "ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N", "TCAC")
    n = _count(text)
    assert n == 27
    panel = driver.find_element("css selector", "#panel")
    assert "Clopper-Pearson" in panel.text and "specs/tlf/T2.yaml:" in panel.text
    assert int(driver.find_element("css selector", "#panel .subj-count").get_attribute("data-n")) == n
    subjects = _shown_subjects(driver)
    assert len(subjects) == n
    for usubjid, raws in subjects.items():
        rs = [r for r in raws if r.startswith("raw/rs.csv:")]
        assert len(rs) >= 2, usubjid  # the response and its confirmation
        assert {r.split(":")[0] for r in raws} == {"raw/rs.csv"}, usubjid  # no other form is on this path
        for ref in rs:
            row = _raw_line(study, ref)
            assert usubjid.endswith("-" + row["SUBJID"]), ref
            assert row["OVRLRESP"] in ("CR", "PR"), ref


# 2. Table 3, grade >= 3 treatment-related AEs for TCAC: the subjects and their AE raw rows
def test_grade_3_count_reaches_the_ae_rows(page):
    driver, study = page
    text = _click_cell(driver, "T3", "TRAE.ANY_TRAE", "TCAC.HIGH")
    n = _count(text)
    assert n > 0
    assert int(driver.find_element("css selector", "#panel .subj-count").get_attribute("data-n")) == n
    subjects = _shown_subjects(driver)
    assert len(subjects) == n
    for usubjid, raws in subjects.items():
        ae = [r for r in raws if r.startswith("raw/ae.csv:")]
        assert ae, usubjid
        for ref in ae:
            row = _raw_line(study, ref)
            assert usubjid.endswith("-" + row["SUBJID"]), ref
            assert int(row["AETOXGR"]) >= 3, ref


# 3. a subject's own view: every stage of one USUBJID; the search jumps to a row and marks it
def test_subject_view_and_search(page):
    driver, study = page
    _click_cell(driver, "T2", "ORR.OBJECTIVE_RESPONSE_RATE_CR_PR_N", "TCAC")
    first = driver.find_element("css selector", "#panel .subj .sid")
    usubjid = first.text
    first.click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(lambda d: d.find_elements("css selector", "#panel .subject-raw"))
    panel = driver.find_element("css selector", "#panel").text
    assert panel.startswith("Subject " + usubjid)
    assert "ADaM records" in panel and "SDTM records" in panel and "raw/rs.csv:" in panel
    # every record of the subject, counted independently in the XPT files the stages wrote
    import pyreadstat

    def count(folder, names):
        return sum(int((pyreadstat.read_xport(str(folder / f"{n}.xpt"), usecols=["USUBJID"])[0]["USUBJID"]
                        == usubjid).sum()) for n in names)

    shown = {k: int(driver.find_element("css selector", f"#panel .subject-{k}").get_attribute("data-n"))
             for k in ("adam", "sdtm", "raw")}
    lineage = sorted(p.stem for p in (study.sdtm_dir / "lineage").glob("*.json") if p.stem not in ("ta", "te", "ts"))
    assert shown["sdtm"] == count(study.sdtm_dir, lineage) > 30
    assert shown["adam"] == count(study.adam_dir, sorted(p.stem for p in study.adam_dir.glob("*.xpt")))
    raws = [r.text for r in driver.find_elements("css selector", "#panel .subject-raw .raw")]
    assert len(raws) == shown["raw"] and {"raw/dm.csv", "raw/ae.csv", "raw/ex.csv"} <= {r.split(":")[0] for r in raws}
    for ref in raws:
        if ref.startswith("raw/"):
            assert usubjid.endswith("-" + _raw_line(study, ref)["SUBJID"]), ref

    driver.find_element("css selector", "#q").send_keys("objective response")
    current = WebDriverWait(driver, 10).until(lambda d: d.find_elements("css selector", ".cur"))
    assert len(current) == 1 and "objective response" in current[0].text.lower()
    hits = driver.find_elements("css selector", ".hit")
    assert all("objective response" in h.text.lower() for h in hits)
    assert re.fullmatch(rf"1 of {len(hits)} matches", driver.find_element("css selector", "#hits").text)


# 4. a listing row (L1, all AEs): its ADaM and SDTM records and the one raw/ae.csv line it was made from
def test_listing_row_reaches_its_ae_row(page):
    driver, study = page
    section = driver.find_element("css selector", "section#out-L1")
    button = section.find_element("css selector", "button.more")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    rows = _wait(driver, "section#out-L1 tr.lrow")
    assert len(rows) > 300
    row = rows[2]
    cells = [td.text for td in row.find_elements("css selector", "td")]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    _wait(driver, "#panel .listing-records")
    panel = driver.find_element("css selector", "#panel")
    assert f"tlfgen trace L1 --row {row.get_attribute('data-row')}" in panel.text
    raws = [r.text for r in panel.find_elements("css selector", ".listing-records .raw")]
    ae = [r for r in raws if r.startswith("raw/ae.csv:")]
    assert len(ae) == 1, raws
    raw = _raw_line(study, ae[0])
    assert row.get_attribute("data-row").split(".AESEQ=")[0].endswith("-" + raw["SUBJID"])
    assert raw["AETERM"].strip() == cells[1] and raw["AETOXGR"] == cells[6]
    assert "ADAE" in panel.text and "AE " in panel.text  # the ADaM and the SDTM record
    usubjid = panel.find_element("css selector", ".listing-records .sid").text
    assert row.get_attribute("data-row").startswith(usubjid + ".AESEQ=")
    panel.find_element("css selector", ".listing-records .sid").click()  # on to the subject's own view
    _wait(driver, "#panel .subject-raw")
    assert ae[0] in [r.text for r in driver.find_elements("css selector", "#panel .subject-raw .raw")]


# 5. a define.xml method (ADSL.AGEGR1): the MethodDef, the variable's spec line and the derive_var_cat step
def test_define_method_reaches_its_step(page):
    driver, study = page
    row = driver.find_element("css selector", 'section#out-DEFINE tr.mrow[data-item="ADSL.AGEGR1"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    _wait(driver, "#panel .rules")
    panel = driver.find_element("css selector", "#panel").text
    assert "MT.ADSL.AGEGR1 (adam/define.xml:" in panel
    assert "derive_var_cat (step agegr1)" in panel and "tlfgen.adam.common.derive_var_cat" in panel
    step = re.search(r"\[(specs/adam/ADSL\.yaml):(\d+)\]", panel)
    lines = (study.root / step.group(1)).read_text(encoding="utf-8").splitlines()
    assert lines[int(step.group(2)) - 1].strip() == "- id: agegr1"
    assert "- id: agegr1" in panel and "new_var: AGEGR1" in panel  # the step's spec text is shown
