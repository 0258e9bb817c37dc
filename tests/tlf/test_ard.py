"""Tests of tlf/ard.py: the analysis results dataset CSV."""

from __future__ import annotations

from tlfgen.tlf.ard import create_ard_csv
from tlfgen.tlf.model import Analysis, Cell, Column, Row, Table


def test_01_one_line_per_statistic_in_table_order() -> None:
    table = Table(
        id="T9", kind="table", title=("T",), stub_header="",
        columns=(Column("A", "A", 2), Column("CMP", "p")),
        rows=(Row("ORR", (Cell("1 (50.0)", "T9.ORR.A", (("n", 1), ("denominator", 2), ("pct", 50.0)), ("S-1",)),
                          Cell("0.370", "T9.ORR.TEST", (("p", 0.37012345678912345),)))),
              Row("Header", (), kind="header")),
        analyses=(Analysis("T9.ORR.A", "ORR", method="Clopper-Pearson"), Analysis("T9.ORR.TEST", "test", method="chisq")),
    )
    assert create_ard_csv(table) == (
        "output_id,analysis_id,group,row,statistic,value,formatted,method,subjects\n"
        "T9,T9.ORR.A,A,ORR,n,1,1 (50.0),Clopper-Pearson,S-1\n"
        "T9,T9.ORR.A,A,ORR,denominator,2,1 (50.0),Clopper-Pearson,S-1\n"
        "T9,T9.ORR.A,A,ORR,pct,50,1 (50.0),Clopper-Pearson,S-1\n"
        "T9,T9.ORR.TEST,CMP,ORR,p,0.370123456789,0.370,chisq,\n"
    )


def test_02_suffixed_ids_inherit_the_method_and_empty_cells_are_skipped() -> None:
    table = Table(
        id="T9", kind="table", title=("T",), stub_header="", columns=(Column("A", "A"), Column("B", "B")),
        rows=(Row("Median", (Cell("NE", "T9.PFS.A.MEDIAN", (("median", float("nan")),)), Cell(""))),),
        analyses=(Analysis("T9.PFS.A", "PFS", method="KM"),),
    )
    assert create_ard_csv(table).splitlines()[1] == "T9,T9.PFS.A.MEDIAN,A,Median,median,,NE,KM,"
    assert len(create_ard_csv(table).splitlines()) == 2


def test_03_csv_field_quotes_only_what_csv_quotes() -> None:
    import csv

    from tlfgen.tlf.ard import _Sink, csv_field

    lines: list[str] = []
    writer = csv.writer(_Sink(lines), lineterminator="\n")
    assert csv_field(writer, lines, "S-1;S-2") == "S-1;S-2"
    assert csv_field(writer, lines, "") == ""
    assert csv_field(writer, lines, 'S,1;S"2') == '"S,1;S""2"'
    assert csv_field(writer, lines, "S\n1") == '"S\n1"'
    assert lines == []


def test_04_subjects_needing_quotes_are_written_as_csv_writes_them() -> None:
    table = Table(
        id="T9", kind="table", title=("T",), stub_header="", columns=(Column("A", "A"),),
        rows=(Row("n, all", (Cell("2", "T9.N.A", (("n", 2),), ("S,1", 'S"2')),)),),
        analyses=(Analysis("T9.N.A", "N", method="count"),),
    )
    assert create_ard_csv(table).splitlines()[1] == 'T9,T9.N.A,A,"n, all",n,2,2,count,"S,1;S""2"'


def test_04_text_a_spreadsheet_would_run_as_a_formula_is_neutralised() -> None:
    """OWASP CSV injection: =, +, -, @, tab and CR at the start of a field; plain numbers are data."""
    table = Table(
        id="T9", kind="table", title=("T",), stub_header="", columns=(Column("A", "A", 2),),
        rows=(Row("=cmd|' /C calc'!A0", (Cell("-12.5 (3.1)", "T9.X.A", (("mean", -12.5),), ("@sum(1)", "S-2")),)),
              Row("+sum(1,1)", (Cell("-0.5", "T9.Y.A", (("mean", -0.5),), ()),))),
        analyses=(Analysis("T9.X.A", "X", method="-t"), Analysis("T9.Y.A", "Y", method="t")),
    )
    lines = create_ard_csv(table).splitlines()
    assert lines[1] == "T9,T9.X.A,A,'=cmd|' /C calc'!A0,mean,-12.5,'-12.5 (3.1),'-t,'@sum(1);S-2"
    assert lines[2] == "T9,T9.Y.A,A,\"'+sum(1,1)\",mean,-0.5,-0.5,t,"


def test_05_formula_safe_leaves_numbers_and_plain_text() -> None:
    from tlfgen.io.xlsx_safe import formula_safe

    assert [formula_safe(t) for t in ("-0.5", "+3", "1e-3", "-.5", "", "S-1", "NE")] == \
        ["-0.5", "+3", "1e-3", "-.5", "", "S-1", "NE"]
    assert [formula_safe(t) for t in ("=1+1", "@A1", "\tx", "\rx", "-x", "+ 1")] == \
        ["'=1+1", "'@A1", "'\tx", "'\rx", "'-x", "'+ 1"]
