"""Reliability corpus, raw inputs: one broken raw file per case, through ``tlfgen sdtm``.

Each case starts from the clean 4-subject study (already mapped once) and asserts:

1. the exit code of the CLI;
2. the exact findings the break adds to outputs/qc/findings.xlsx
   (severity, rule, file, row, column, message);
3. nothing lost: for the broken file, rows read == mapped + rejected/not mapped
   (the reconciliation sheet, i.e. the StageResult counts), with the expected
   numbers and reasons;
4. nothing half-written: when the run aborts, every previous output
   (sdtm/*.xpt, *.json, lineage, define.xml, findings.xlsx) is byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import openpyxl
import pyreadstat
import pytest
from reliability_helpers import (
    get_value, invoke, one_line, outputs_snapshot, raw_lines, read_findings, read_reconciliation, records,
    set_value, write_lines, write_records,
)

AE, DM, TL = "raw/ae.csv", "raw/dm.csv", "raw/tl.csv"
S1 = "NCT04471480-01001"
AE_ROWS, DM_ROWS, TL_ROWS = 22, 4, 55


@dataclass(frozen=True)
class Case:
    mutate: Callable
    exit_code: int
    added: tuple = ()  # (severity, rule, file, row, column, message) findings the break adds
    file: str = AE  # the raw file whose reconciliation is checked
    recon: tuple | None = None  # (rows in, rows out, {reason: rows}); None when the run aborts
    error: str | None = None  # the one-line error the CLI prints when the run aborts
    extra: Callable | None = None  # further checks on the study after the run
    reasons: dict = field(default_factory=dict)


def _append_line(name: str, line: str):
    def mutate(study):
        lines = raw_lines(study, name)
        write_lines(study, name, lines + [line])
    return mutate


def _replace_line(name: str, index: int, func):
    def mutate(study):
        lines = raw_lines(study, name)
        lines[index] = func(lines[index])
        write_lines(study, name, lines)
    return mutate


def _set(name: str, row: int, column: str, value: str):
    return lambda study: set_value(study, name, row, column, value)


def _bytes(name: str, func):
    def mutate(study):
        path = study / "raw" / name
        path.write_bytes(func(path.read_bytes()))
    return mutate


def _drop_column(name: str, column: str):
    def mutate(study):
        rows = records(study, name)
        i = rows[0].index(column)
        write_records(study, name, [r[:i] + r[i + 1:] for r in rows])
    return mutate


def _add_column(name: str, column: str, value: str):
    def mutate(study):
        rows = records(study, name)
        write_records(study, name, [rows[0] + [column]] + [r + [value] for r in rows[1:]])
    return mutate


def _close_quote_in_aeterm(line: str) -> str:
    parts = line.split(",")
    parts[5] += '"'
    return ",".join(parts)


def _latin1_row1(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[1] = lines[1].replace(b"low white cells", "caf\u00e9 cells".encode("latin-1"))
    return b"\n".join(lines)


def _mixed(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[1] = lines[1].replace(b"low white cells", "caf\u00e9 cells".encode("latin-1"))
    lines[2] = lines[2].replace(b"neutropenia", "na\u00efve neutropenia".encode("utf-8"))
    return b"\n".join(lines)


def _check_supp_qnams(study):
    supp, _ = pyreadstat.read_xport(str(study / "sdtm" / "suppae.xpt"))
    parts = supp[supp["QNAM"].str.startswith("AETER")]
    # 2,500 characters: the first 200 in AETERM, 12 parts in SUPPAE, every QNAM within 8 characters
    assert sorted(parts["QNAM"], key=lambda q: int(q[5:] if q[5].isdigit() else q[6:])) == [
        f"AETERM{n}" for n in range(1, 13)]
    assert parts["QNAM"].str.len().max() == 8
    ae, _ = pyreadstat.read_xport(str(study / "sdtm" / "ae.xpt"))
    assert len(ae.loc[0, "AETERM"]) <= 200


def _check_ascii_in_xpt(study):
    ae, _ = pyreadstat.read_xport(str(study / "sdtm" / "ae.xpt"))
    assert ae.loc[1, "AETERM"] == "neutropenie ?????"


def _check_control_removed(study):
    ae, _ = pyreadstat.read_xport(str(study / "sdtm" / "ae.xpt"))
    assert ae.loc[1, "AETERM"] == "neutro pe nia"


def _check_formulas_stay_text(study):
    ws = openpyxl.load_workbook(study / "outputs" / "qc" / "findings.xlsx")["findings"]
    header = [c.value for c in ws[1]]
    col = header.index("value") + 1
    cells = {ws.cell(row=r, column=col).value: ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)}
    for text in ("=1+1", "+1", "-1", "@SUM(A1)"):
        assert cells[text].data_type == "s", text


LONG = "abdominal pain " + "x" * 2_485  # 2,500 characters

CASES = {
    # -- malformed CSV
    "ragged_extra_field": Case(
        _replace_line("ae.csv", 2, lambda s: s.rstrip("\n") + ",extra\n"), 1,
        (("ERROR", "RAW-RAGGED-ROW", AE, 3, None, "line 3 has 26 fields, the header has 25"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: ragged row": 1})),
    "ragged_missing_field": Case(
        _replace_line("ae.csv", 2, lambda s: s.rstrip("\n").rsplit(",", 1)[0] + "\n"), 1,
        (("ERROR", "RAW-RAGGED-ROW", AE, 3, None, "line 3 has 24 fields, the header has 25"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: ragged row": 1})),
    "unclosed_quote": Case(
        _replace_line("ae.csv", 1, lambda s: s.replace("low white", '"low white')), 1,
        (("ERROR", "RAW-MALFORMED-QUOTES", AE, 2, None,
          "line 2 cannot be parsed (unexpected end of data): a quoted value is not closed, or has text after "
          "its closing quote; the line is rejected and reading resumes on line 3"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: malformed quotes": 1})),
    "unclosed_quote_last_row": Case(
        _replace_line("ae.csv", -1, lambda s: s.replace(",LOG,", ',LOG,"', 1)), 1,
        (("ERROR", "RAW-MALFORMED-QUOTES", AE, 23, None,
          "line 23 cannot be parsed (unexpected end of data): a quoted value is not closed, or has text after "
          "its closing quote; the line is rejected and reading resumes on line 24"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: malformed quotes": 1})),
    "text_after_closing_quote": Case(
        _replace_line("ae.csv", 3, lambda s: s.replace(",LOG,", ',"LOG"X,', 1)), 1,
        (("ERROR", "RAW-MALFORMED-QUOTES", AE, 4, None,
          "line 4 cannot be parsed (',' expected after '\"'): a quoted value is not closed, or has text after "
          "its closing quote; the line is rejected and reading resumes on line 5"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: malformed quotes": 1})),
    "quote_swallows_rows": Case(  # a quote opened on row 2 closes on row 4: rows 3 and 4 must not vanish
        lambda st: (_replace_line("ae.csv", 2, lambda s: s.replace(",neutropenia,", ',"neutropenia,'))(st),
                    _replace_line("ae.csv", 4, lambda s: s.replace(",LOG,", ',LOG",', 1))(st)), 1,
        (("ERROR", "RAW-MALFORMED-QUOTES", AE, 3, None,
          "line 3 starts a record that runs over 3 lines and has 27 fields, not 25: a quoted value is not "
          "closed, or has text after its closing quote; the line is rejected and reading resumes on line 4"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: malformed quotes": 1})),
    "quote_swallows_whole_rows": Case(  # same, but the swallowed record has the header's 25 fields
        lambda st: (_replace_line("ae.csv", 2, lambda s: s.replace(",neutropenia,", ',"neutropenia,'))(st),
                    _replace_line("ae.csv", 4, _close_quote_in_aeterm)(st)), 1,
        (("ERROR", "RAW-MALFORMED-QUOTES", AE, 3, None,
          "line 3 starts a record that runs over 3 lines and holds later rows of the file: a quoted value is "
          "not closed, or has text after its closing quote; the line is rejected and reading resumes on line 4"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: malformed quotes": 1})),
    "embedded_newline_in_quotes": Case(
        # findings name file lines: the clean file's partial date (line 17) is now on line 18
        _set("ae.csv", 2, "AETERM", "neutro\npenia"), 0, (("NOTE", "DATE-PARTIAL", AE, 18, "AESTDAT", "'UN NOV 2021' is a partial date"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    "blank_line_inside": Case(
        lambda st: write_lines(st, "ae.csv", raw_lines(st, "ae.csv")[:5] + ["\n"] + raw_lines(st, "ae.csv")[5:]),
        0, (("NOTE", "DATE-PARTIAL", AE, 18, "AESTDAT", "'UN NOV 2021' is a partial date"),), recon=(AE_ROWS, AE_ROWS, {})),  # as above: one line further down
    "crlf_line_ends": Case(_bytes("ae.csv", lambda b: b.replace(b"\n", b"\r\n")), 0, (),
                           recon=(AE_ROWS, AE_ROWS, {})),
    # -- encodings
    "utf8_bom": Case(_bytes("dm.csv", lambda b: b"\xef\xbb\xbf" + b), 0, (), file=DM,
                     recon=(DM_ROWS, DM_ROWS, {})),
    "latin1_line": Case(
        _bytes("ae.csv", _latin1_row1), 0,
        (("WARNING", "RAW-ENCODING", AE, 2, None, "line 2 is not UTF-8 (byte 0xE9); read as Windows-1252/Latin-1"),
         ("WARNING", "TEXT-NON-ASCII", AE, 2, "AETERM", "AETERM 'caf\u00e9 cells' has non-ASCII characters")),
        recon=(AE_ROWS, AE_ROWS, {})),
    "mixed_encodings": Case(
        _bytes("ae.csv", _mixed), 0,
        (("WARNING", "RAW-ENCODING", AE, 2, None, "line 2 is not UTF-8 (byte 0xE9); read as Windows-1252/Latin-1"),
         ("WARNING", "TEXT-NON-ASCII", AE, 2, "AETERM", "AETERM 'caf\u00e9 cells' has non-ASCII characters"),
         ("WARNING", "TEXT-NON-ASCII", AE, 3, "AETERM", "AETERM 'na\u00efve neutropenia' has non-ASCII characters")),
        recon=(AE_ROWS, AE_ROWS, {})),
    # -- empty, header only, missing
    "empty_file": Case(lambda st: (st / "raw" / "ae.csv").write_bytes(b""), 1,
                       (("ERROR", "RAW-FILE-EMPTY", AE, None, None, "file is empty (no header row)"),),
                       recon=(0, 0, {})),
    "header_only": Case(lambda st: write_lines(st, "ae.csv", raw_lines(st, "ae.csv")[:1]), 0,
                        (("NOTE", "RAW-FILE-NO-ROWS", AE, None, None, "file has a header but no data rows"),),
                        recon=(0, 0, {})),
    # a form the specs read but the study lacks stops the run (issue 17), unless the form is optional
    "missing_file": Case(lambda st: (st / "raw" / "ae.csv").unlink(), 1,
                         error="error: raw/ae.csv: raw form 'ae' (Adverse events) is missing; the SDTM specs "
                               "read it for AE"),
    # a column the specs declare but the header lacks is a spec error found by the check (issue 17)
    "missing_declared_column": Case(
        _drop_column("ae.csv", "AEOUT"), 2,
        error="error: specs/sdtm/forms.yaml:28:116: raw file raw/ae.csv has no column AEOUT (its header, line 1, "
              "has STUDYID,"),
    "missing_leading_column": Case(
        _drop_column("ae.csv", "SUBJID"), 1,
        error="error: raw/ae.csv:1, column SUBJID: required column SUBJID is missing (header: STUDYID, "
              "SITEID, FOLDER, RECPOS, AETERM,"),
    "unparseable_header": Case(
        _replace_line("ae.csv", 0, lambda s: s.replace("SITEID,", '"SITEID"X,')), 1,
        error="error: raw/ae.csv:1: the header line cannot be parsed (',' expected after '\"')"),
    "undeclared_extra_column": Case(
        _add_column("ae.csv", "AECOMM", "x"), 0,
        (("NOTE", "RAW-COLUMN-EXTRA", AE, None, "AECOMM", "column AECOMM is not declared in forms.yaml; ignored"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    # -- duplicates and subjects
    "duplicate_subject_in_dm": Case(
        lambda st: write_lines(st, "dm.csv", raw_lines(st, "dm.csv") + [raw_lines(st, "dm.csv")[1].replace(
            "Female", "Male")]), 1,
        (("ERROR", "RAW-DUPLICATE-KEY", DM, 6, "SUBJID", "key (SUBJID=01001) is already used by an earlier row"),),
        file=DM, recon=(DM_ROWS + 1, DM_ROWS, {"rejected: duplicate key": 1})),
    "duplicate_ae_record": Case(
        lambda st: write_lines(st, "ae.csv", raw_lines(st, "ae.csv") + [raw_lines(st, "ae.csv")[1].replace(
            ",LOG,1,", ",LOG,99,")]), 0,
        (("WARNING", "RAW-DUPLICATE-RECORD", AE, 24, None, "line 24 repeats line 2 (same values in every field but RECPOS)"),),
        recon=(AE_ROWS + 1, AE_ROWS, {"rejected: duplicate record": 1})),
    "unknown_subject": Case(
        _set("ae.csv", 1, "SUBJID", "09999"), 1,
        (("ERROR", "RAW-UNKNOWN-SUBJECT", AE, 2, "SUBJID", "SUBJID '09999' is not on dm.csv or ic.csv"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: unknown subject": 1})),
    "blank_subject": Case(
        _set("ae.csv", 1, "SUBJID", ""), 1,
        (("ERROR", "RAW-UNKNOWN-SUBJECT", AE, 2, "SUBJID", "SUBJID is blank"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: unknown subject": 1})),
    "other_studyid": Case(
        _set("ae.csv", 1, "STUDYID", "NCT00000000"), 0,
        (("WARNING", "RAW-STUDYID", AE, 2, "STUDYID", "STUDYID 'NCT00000000' is not NCT04471480"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    # -- dates
    "date_after_cutoff": Case(
        _set("ae.csv", 1, "AESTDAT", "22 APR 2030"), 0,
        (("WARNING", "DATE-AFTER-CUTOFF", AE, 2, "AESTDAT", "AESTDTC 2030-04-22 is after the data cutoff 2025-04-12"),
         ("WARNING", "DATE-END-BEFORE-START", AE, 2, "AEENDAT", "AEENDTC 2021-04-30 is before AESTDTC")),
        recon=(AE_ROWS, AE_ROWS, {})),
    "date_before_birth": Case(
        _set("ae.csv", 1, "AESTDAT", "22 APR 1920"), 1,
        (("ERROR", "DATE-BEFORE-BIRTH", AE, 2, "AESTDAT", "AESTDTC 1920-04-22 is before the subject's birth date"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    "impossible_date": Case(
        _set("ae.csv", 1, "AEENDAT", "31 APR 2021"), 1,
        (("ERROR", "DATE-INVALID", AE, 2, "AEENDAT", "'31 APR 2021' is not a valid date"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    "unreadable_date": Case(
        _set("ae.csv", 1, "AEENDAT", "yesterday"), 1,
        (("ERROR", "DATE-INVALID", AE, 2, "AEENDAT", "'yesterday' is not a valid date"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    "year_out_of_range": Case(
        _set("ae.csv", 1, "AEENDAT", "30 APR 2150"), 1,
        (("ERROR", "DATE-INVALID", AE, 2, "AEENDAT", "'30 APR 2150' is not a valid date"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    "partial_date": Case(
        _set("ae.csv", 1, "AEENDAT", "UN APR 2021"), 0,
        (("NOTE", "DATE-PARTIAL", AE, 2, "AEENDAT", "'UN APR 2021' is a partial date"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    # -- numbers
    "number_with_comma": Case(
        _set("tl.csv", 1, "TLDIAM", "1,234"), 1,
        (("ERROR", "NUMBER-COMMA", TL, 2, "TLDIAM",
          "'1,234' has a comma; decimal or thousands separator is ambiguous"),),
        file=TL, recon=(TL_ROWS, TL_ROWS, {})),
    "number_with_its_unit": Case(
        _set("tl.csv", 1, "TLDIAM", "23 mm"), 0,
        (("WARNING", "NUMBER-UNIT", TL, 2, "TLDIAM", "'23 mm' carries its unit; number kept"),),
        file=TL, recon=(TL_ROWS, TL_ROWS, {})),
    "number_with_other_unit": Case(
        _set("tl.csv", 1, "TLDIAM", "2.3 cm"), 1,
        (("ERROR", "NUMBER-INVALID", TL, 2, "TLDIAM", "'2.3 cm' is not a number"),),
        file=TL, recon=(TL_ROWS, TL_ROWS, {})),
    # -- codes and text
    "unknown_code": Case(
        _set("dm.csv", 1, "SEX", "Unknown gender"), 1,
        (("ERROR", "CT-UNMAPPED", DM, 2, "SEX", "'Unknown gender' is not in codelist SEX"),
         ("ERROR", "REQUIRED-MISSING", DM, 2, "SEX", "DM.SEX is required but blank")),
        file=DM, recon=(DM_ROWS, DM_ROWS, {})),
    "uncoded_preferred_term": Case(
        _set("ae.csv", 1, "AEPT", "Low white cells"), 0,
        (("WARNING", "DICT-UNCODED", AE, 2, "AEPT",
          "'Low white cells' is not a PT of specs/dictionaries/ae_dictionary.csv (AEDECOD)"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    "soc_not_of_the_pt": Case(
        _set("ae.csv", 1, "AESOC", "Blood and lymphatic system disorders"), 0,
        (("WARNING", "DICT-SOC-MISMATCH", AE, 2, "AESOC",
          "'Blood and lymphatic system disorders' is not the SOC of PT 'White blood cell count decreased' "
          "(specs/dictionaries/ae_dictionary.csv gives 'Investigations')"),),
        recon=(AE_ROWS, AE_ROWS, {})),
    "control_characters": Case(
        _set("ae.csv", 2, "AETERM", "neutro\x07pe\x00nia"), 0,
        (("WARNING", "TEXT-CONTROL-CHAR", AE, 3, "AETERM", "AETERM 'neutro\\x07pe\\x00nia' has control characters"),),
        recon=(AE_ROWS, AE_ROWS, {}), extra=_check_control_removed),
    "text_over_200_bytes": Case(
        _set("ae.csv", 1, "AETERM", LONG), 0,
        (("NOTE", "TEXT-SPLIT", AE, 2, "AETERM", "AETERM is 2500 bytes, more than 200"),),
        recon=(AE_ROWS, AE_ROWS, {}), extra=_check_supp_qnams),
    "non_ascii_for_xpt": Case(
        _set("ae.csv", 2, "AETERM", "neutrop\u00e9nie \u4e2d\u6027\u7c92\u7ec6\u80de"), 0,
        (("WARNING", "TEXT-NON-ASCII", AE, 3, "AETERM",
          "AETERM 'neutrop\u00e9nie \u4e2d\u6027\u7c92\u7ec6\u80de' has non-ASCII characters"),),
        recon=(AE_ROWS, AE_ROWS, {}), extra=_check_ascii_in_xpt),
    "huge_field_1mb": Case(
        _set("ae.csv", 2, "AETERM", "x" * 1_000_000), 1,
        (("ERROR", "RAW-VALUE-TOO-LONG", AE, 3, "AETERM",
          "AETERM holds 1000000 characters, more than the 32767 a value may have"),),
        recon=(AE_ROWS, AE_ROWS - 1, {"rejected: value too long": 1})),
    "formula_values_for_xlsx": Case(
        lambda st: [set_value(st, "ae.csv", 1, col, val) for col, val in
                    (("AEOUT", "=1+1"), ("AESER", "+1"), ("AEACN", "-1"), ("AEONGO", "@SUM(A1)"))], 1,
        (("ERROR", "CT-UNMAPPED", AE, 2, "AEOUT", "'=1+1' is not in codelist OUT"),
         ("ERROR", "CT-UNMAPPED", AE, 2, "AESER", "'+1' is not in codelist NY"),
         ("ERROR", "REQUIRED-MISSING", AE, 2, "AESER", "AE.AESER is required but blank"),
         ("ERROR", "CT-UNMAPPED", AE, 2, "AEACN", "'-1' is not in codelist ACN"),
         ("ERROR", "CT-UNMAPPED", AE, 2, "AEONGO", "'@SUM(A1)' is not in codelist NY")),
        recon=(AE_ROWS, AE_ROWS, {}), extra=_check_formulas_stay_text),
}


def test_the_corpus_has_enough_raw_cases():
    assert len(CASES) >= 30


def test_clean_study_is_clean(clean_snapshot):
    assert not [f for f in clean_snapshot["findings"] if f.severity != "NOTE"]
    recon = clean_snapshot["recon"]
    assert (recon[AE]["in"], recon[DM]["in"], recon[TL]["in"]) == (AE_ROWS, DM_ROWS, TL_ROWS)


def _key(f) -> tuple:
    return (f.severity, f.rule, f.file, f.row, f.column, f.message)


@pytest.mark.parametrize("name", sorted(CASES))
def test_raw_case(name, case_study, clean_snapshot):
    case = CASES[name]
    case.mutate(case_study)
    result = invoke(case_study, "sdtm")
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    assert result.exit_code == case.exit_code, result.output
    if case.error is not None:
        # the run aborted: one clear error, and every previous output is untouched
        assert one_line(result.output).startswith(case.error), result.output
        assert outputs_snapshot(case_study) == clean_snapshot["hashes"]
        return
    before = {_key(f) for f in clean_snapshot["findings"]}
    added = sorted((_key(f) for f in read_findings(case_study) if _key(f) not in before), key=repr)
    assert added == sorted(case.added, key=repr)
    recon = read_reconciliation(case_study)[case.file]
    assert recon["in"] == recon["out"] + recon["rejected"]  # nothing lost
    assert (recon["in"], recon["out"], recon["reasons"]) == case.recon
    if case.extra is not None:
        case.extra(case_study)


def test_value_is_read_back_exactly(case_study):
    """Sanity of the helpers the corpus relies on."""
    set_value(case_study, "ae.csv", 2, "AETERM", 'a "quoted", value')
    assert get_value(case_study, "ae.csv", 2, "AETERM") == 'a "quoted", value'
