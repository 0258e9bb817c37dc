"""One row numbering (issue 17): findings, messages and ``tlfgen trace`` all give the file's line
number (header = line 1), also after a blank line or a value holding a line break."""

from __future__ import annotations

import pytest

from tlfgen.errors import DataError
from tlfgen.lineage.records import raw_line_numbers
from tlfgen.raw.reader import LINE, ROW, read_raw_form

TEXT = ("STUDYID,SITEID,SUBJID,FOLDER,RECPOS,MHTERM,MHSTDAT\n"   # line 1
        "S,01,01001,LOG,1,Rash,\n"                                # line 2: row 1
        "\n"                                                      # line 3: blank, not a record
        'S,01,01002,LOG,1,"two\nlines",\n'                        # lines 4-5: row 2
        "S,01,01003,LOG,1,Cough,x,extra\n"                        # line 6: row 3, ragged
        "S,01,01004,LOG,1,Fever,\n")                              # line 7: row 4


def _read(tmp_path, text=TEXT):
    path = tmp_path / "mh.csv"
    path.write_bytes(text.encode())
    return path, read_raw_form(path, name="mh", columns=["MHTERM", "MHSTDAT"],
                               leading=["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"], display="raw/mh.csv")


def test_findings_messages_and_trace_lines_agree(tmp_path):
    path, form = _read(tmp_path)
    assert form.data[ROW].tolist() == [1, 2, 4] and form.data[LINE].tolist() == [2, 4, 7]
    [ragged] = [f for f in form.findings if f.rule == "RAW-RAGGED-ROW"]
    assert (ragged.row, ragged.message) == (6, "line 6 has 8 fields, the header has 7")  # field and text agree
    # trace maps lineage rows to lines with raw_line_numbers: the same lines as the reader
    lines = raw_line_numbers(path)
    assert [lines[r - 1] for r in form.data[ROW]] == form.data[LINE].tolist()


def test_a_header_problem_is_line_1(tmp_path):
    with pytest.raises(DataError) as err:
        _read(tmp_path, "STUDYID,SITEID,FOLDER,RECPOS,MHTERM,MHSTDAT\nS,01,LOG,1,X,\n")
    assert str(err.value).startswith("raw/mh.csv:1, column SUBJID: required column SUBJID is missing")
