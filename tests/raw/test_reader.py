"""Raw CSV reader (tlfgen.raw.reader): text only, exact rows, encoding, ragged rows, empty files."""

import pytest

from tlfgen.errors import DataError
from tlfgen.raw.reader import read_raw_form

LEAD = ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"]


def read(tmp_path, data: bytes, columns=("MHTERM", "MHSTDAT")):
    path = tmp_path / "mh.csv"
    path.write_bytes(data)
    return read_raw_form(path, name="mh", columns=list(columns), leading=LEAD, display="raw/mh.csv")


def test_values_stay_text_with_row_and_line_numbers(tmp_path):
    form = read(tmp_path, b'STUDYID,SITEID,SUBJID,FOLDER,RECPOS,MHTERM,MHSTDAT\n'
                          b'S,01,01001,LOG,1,"two\nlines",01 JAN 2020\nS,01,01002,LOG,1,NA,\n')
    assert form.rows_read == 2
    assert form.data["SUBJID"].tolist() == ["01001", "01002"]
    assert form.data["MHTERM"].tolist() == ["two\nlines", "NA"]  # "NA" is not missing
    assert form.data["__row"].tolist() == [1, 2]
    assert form.data["__line"].tolist() == [2, 4]
    assert form.findings == []


def test_latin1_line_is_decoded_and_reported(tmp_path):
    form = read(tmp_path, "STUDYID,SITEID,SUBJID,FOLDER,RECPOS,MHTERM,MHSTDAT\n"
                          "S,01,01001,LOG,1,Ulc\u00e8re,\n".encode("latin-1"))
    assert form.data["MHTERM"].tolist() == ["Ulc\u00e8re"]
    [finding] = form.findings
    assert (finding.severity, finding.rule, finding.file, finding.row) == ("WARNING", "RAW-ENCODING", "raw/mh.csv", 2)
    assert finding.message == "line 2 is not UTF-8 (byte 0xE8); read as Windows-1252/Latin-1"


def test_empty_file_is_an_error_finding(tmp_path):
    form = read(tmp_path, b"")
    assert form.rows_read == 0 and len(form.data) == 0
    assert [(f.severity, f.rule, f.message) for f in form.findings] == [
        ("ERROR", "RAW-FILE-EMPTY", "file is empty (no header row)")]


def test_ragged_row_is_rejected(tmp_path):
    form = read(tmp_path, b"STUDYID,SITEID,SUBJID,FOLDER,RECPOS,MHTERM,MHSTDAT\nS,01,01001,LOG,1,X\n"
                          b"S,01,01002,LOG,1,Y,\n")
    assert form.rows_read == 2
    assert form.rejected == {1: "ragged row"}
    assert form.findings[0].message == "line 2 has 6 fields, the header has 7"


def test_missing_declared_column_is_a_finding_and_reads_blank(tmp_path):
    form = read(tmp_path, b"STUDYID,SITEID,SUBJID,FOLDER,RECPOS,MHTERM\nS,01,01001,LOG,1,X\n")
    assert form.missing_columns == ("MHSTDAT",)
    assert form.data["MHSTDAT"].tolist() == [""]
    assert form.findings[0].message == "declared column MHSTDAT is missing from the file; its values are blank"


def test_missing_leading_column_is_a_data_error(tmp_path):
    with pytest.raises(DataError) as err:
        read(tmp_path, b"STUDYID,SITEID,FOLDER,RECPOS,MHTERM,MHSTDAT\nS,01,LOG,1,X,\n")
    assert str(err.value).startswith("raw/mh.csv:1, column SUBJID: required column SUBJID is missing")


def test_field_counts_match_the_csv_module():
    import csv
    import io

    from tlfgen.raw.reader import _field_counts

    for text in ["A,B\n1,2\n", "A,B\n1,2", "A,B\n\n1,2\n", "A\n\n", "A,B\n1,2,3\n",
                 'A,B\n"x,y",2\n', "A,B\r\n1,2\r\n", 'A,B\n"open,2\n']:
        try:
            expected = [len(r) for r in csv.reader(io.StringIO(text, newline=""), strict=True)]
        except csv.Error:
            expected = None
        assert _field_counts(text) == expected, text
    assert _field_counts("A,B\n1,2\n\n") == [2, 2, 0]


def test_field_counts_match_the_csv_module_on_every_short_text():
    """Every text of up to 6 characters over the characters that matter (numpy count vs csv module)."""
    import csv
    import io
    import itertools

    from tlfgen.raw.reader import _field_counts

    for size in range(1, 7):
        for chars in itertools.product('a,"\n', repeat=size):
            text = "".join(chars)
            try:
                expected = [len(r) for r in csv.reader(io.StringIO(text, newline=""), strict=True)]
            except csv.Error:
                expected = None
            assert _field_counts(text) == expected, repr(text)


def test_quoted_field_counts():
    from tlfgen.raw.reader import _UNDECIDED, _quoted_field_counts, _utf8

    assert _quoted_field_counts(_utf8('A,B\n"x,y",2\n""""," ""\n"\n')) == [2, 2, 2]
    assert _quoted_field_counts(_utf8('A,B\n"x"y,2\n')) is None  # text after a closing quote
    assert _quoted_field_counts(_utf8('A,B\n"x,2\n')) is None  # never closed
    assert _quoted_field_counts(_utf8('A,B\nx"y",2\n')) is _UNDECIDED  # a quote inside an unquoted value


def test_leading_columns_are_stripped(tmp_path):
    path = tmp_path / "ae.csv"
    path.write_text("STUDYID,SUBJID,AETERM\n S1 ,01001 , Headache \nS1, 01002,Rash\n")
    form = read_raw_form(path, name="ae", columns=["AETERM"], leading=["STUDYID", "SUBJID"], display="raw/ae.csv")
    assert form.data[["STUDYID", "SUBJID", "AETERM"]].values.tolist() == [
        ["S1", "01001", " Headache "], ["S1", "01002", "Rash"]]


def test_plain_field_counts_and_longest_line():
    from tlfgen.raw.reader import _longest_line, _plain_field_counts

    assert _plain_field_counts("A,B\n1,2\n\n") == [2, 2, 0]
    assert _plain_field_counts("A,B,C\né,x,y") == [3, 3]
    assert _plain_field_counts("") == [0]
    assert _longest_line("ab\nabcd\n") == 4
    assert _longest_line("") == 0


def test_longest_line_bytes():
    from tlfgen.raw.reader import _longest_line_bytes, _utf8

    assert _longest_line_bytes(_utf8("ab\nabcd\n")) == 4
    assert _longest_line_bytes(_utf8("é\n")) == 2  # two bytes, one character
    assert _longest_line_bytes(_utf8("")) == 0


def test_strip_returns_the_same_series_when_nothing_to_strip():
    import pandas as pd

    from tlfgen.raw.reader import _strip

    values = pd.Series(["01001", "01002"], dtype=object)
    assert _strip(values) is values
    assert _strip(pd.Series([" 01001 ", "01002"], dtype=object)).tolist() == ["01001", "01002"]


def test_a_bare_carriage_return_inside_an_unquoted_value_is_part_of_the_value(tmp_path):
    """Issue 24 item 14: lines end at LF (or CRLF); a lone CR is text (SDTM then treats it as
    whitespace), not "a quoted value is not closed"."""
    form = read(tmp_path, b"STUDYID,SITEID,SUBJID,FOLDER,RECPOS,MHTERM,MHSTDAT\r\n"
                          b"S,01,01001,LOG,1,ulcer\rgastric,01 JAN 2020\r\nS,01,01002,LOG,1,\"a\rb\",\r\n")
    assert form.rows_read == 2 and form.rejected == {}
    assert form.data["MHTERM"].tolist() == ["ulcer\rgastric", "a\rb"]
    assert form.data["MHSTDAT"].tolist() == ["01 JAN 2020", ""]
    assert form.data["__line"].tolist() == [2, 3]
    assert form.findings == []
