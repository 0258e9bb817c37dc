"""Property-based tests (hypothesis) of the mapping and derivation functions.

- raw stage: for random raw files (valid rows, ragged rows, broken quotes, blank lines,
  quoted commas and line breaks, Latin-1 lines, duplicates) rows read == kept + rejected,
  every valid row is read back exactly, and the reconciliation balances;
- ISO 8601: EDC date text -> ISO -> EDC text round-trips (complete and partial dates);
- study day: no day 0, and day -1 is followed by day 1;
- RECIST: the confirmed best overall response does not depend on the input row order.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tlfgen.adam.recist_bor import compute_confirmed_bor
from tlfgen.raw.checks import check_duplicates, check_unknown_subjects, known_subjects
from tlfgen.raw.reader import read_raw_form
from tlfgen.raw.reconcile import FileUsage, reconcile
from tlfgen.sdtm.iso8601 import MONTHS, OK, PARTIAL, parse_edc_date
from tlfgen.sdtm.iso8601 import iso_to_date
from tlfgen.sdtm.timing import compute_day_number

LEAD = ["STUDYID", "SITEID", "SUBJID", "FOLDER", "RECPOS"]
FIELDS = ["MHTERM", "MHSTDAT"]
HEADER = ",".join(LEAD + FIELDS) + "\n"
MONTH_NAMES = {v: k for k, v in MONTHS.items()}
SETTINGS = settings(max_examples=50, deadline=None)

plain = st.text(alphabet="abcdefghij XYZ\u00e9-/", min_size=1, max_size=12).map(str.strip).filter(bool)
valid_row = st.tuples(st.sampled_from(["01001", "01002", "01003"]), st.sampled_from(["SCRN", "LOG", "C1D1"]),
                      st.integers(0, 5), plain, st.sampled_from(["03 AUG 2020", "UN JAN 2021", ""]),
                      st.sampled_from(["plain", "quoted", "newline", "latin1"]))
line = st.one_of(
    st.tuples(st.just("valid"), valid_row),
    st.tuples(st.just("ragged"), st.integers(1, 9).filter(lambda n: n != 7)),
    st.tuples(st.just("broken"), st.sampled_from(['S,01,01001,LOG,"1,X,', 'S,01,01001,LOG,1,"X,03 AUG 2020'])),
    st.tuples(st.just("blank"), st.none()),
)


def _encode(kind: str, row: tuple) -> tuple[bytes, tuple]:
    subj, folder, recpos, term, start, style = row
    values = ["S", "01", subj, folder, str(recpos), term, start]
    if style == "quoted":
        values[5] = f"{term}, with comma"
    elif style == "newline":
        values[5] = f"{term}\nsecond line"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    text = out.getvalue()
    data = text.encode("latin-1") if style == "latin1" else text.encode("utf-8")
    return data, tuple(values)


def _build(lines: list[tuple]) -> tuple[bytes, list[tuple], int, int]:
    """File bytes, the valid rows' values, rows that must be rejected, rows read."""
    parts, valid, bad = [HEADER.encode()], [], 0
    for kind, payload in lines:
        if kind == "valid":
            data, values = _encode(kind, payload)
            parts.append(data)
            valid.append(values)
        elif kind == "ragged":
            parts.append((",".join(["S"] * payload) + "\n").encode())
            bad += 1
        elif kind == "broken":
            parts.append((payload + "\n").encode())
            bad += 1
        else:
            parts.append(b"\n")
    return b"".join(parts), valid, bad, len(valid) + bad


@SETTINGS
@given(st.lists(line, max_size=25))
def test_raw_rows_are_conserved(tmp_path_factory, lines):
    data, valid, bad, expected_rows = _build(lines)
    path = tmp_path_factory.mktemp("raw") / "mh.csv"
    path.write_bytes(data)
    form = read_raw_form(path, name="mh", columns=FIELDS, leading=LEAD, display="raw/mh.csv")
    assert form.rows_read == expected_rows
    assert len(form.rejected) == bad
    assert form.rows_read == len(form.data) + len(form.rejected)
    got = sorted(tuple(r) for r in form.data[LEAD + FIELDS].itertuples(index=False))
    assert got == sorted(valid)  # every valid row read back exactly, whatever broke around it
    # record checks and reconciliation: every row read lands in exactly one bucket
    forms = {"mh": form}
    check_unknown_subjects(form, known_subjects(forms, ("mh",)) - {"01003"}, "S")
    check_duplicates(form, ["SUBJID", "FOLDER", "RECPOS"], LEAD + FIELDS, "S")
    usage = FileUsage()
    half = form.data["__row"].tolist()
    usage.use("MH", half[: len(half) // 2])
    usage.skip(half[len(half) // 2:], "MH source filter")
    count = reconcile(form, usage)
    assert count.rows_in == expected_rows == count.rows_out + count.rows_rejected


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


def _edc(d: date) -> str:
    return f"{d.day:02d} {MONTH_NAMES[d.month]} {d.year:04d}"


def _iso_to_edc(iso: str) -> str:
    """The EDC's printing of an ISO 8601 date, complete or partial."""
    parts = iso.split("-")
    if len(parts) == 1:
        return f"UN UNK {parts[0]}"
    month = MONTH_NAMES[int(parts[1])]
    return f"UN {month} {parts[0]}" if len(parts) == 2 else f"{parts[2]} {month} {parts[0]}"


@SETTINGS
@given(dates, st.sampled_from(["full", "month", "year"]), st.sampled_from([str.upper, str.lower, str.title]),
       st.sampled_from([" ", "  ", " - ", "-", "/"]))
def test_iso8601_round_trips(d, precision, case, sep):
    text = {"full": _edc(d), "month": f"UN {MONTH_NAMES[d.month]} {d.year}", "year": f"UN UNK {d.year}"}[precision]
    iso, status = parse_edc_date(text)
    assert status == (OK if precision == "full" else PARTIAL)
    assert iso == {"full": d.isoformat(), "month": d.isoformat()[:7], "year": d.isoformat()[:4]}[precision]
    assert _iso_to_edc(iso) == text  # ... and back
    # the EDC's texture (case, separators, stray spaces) does not change the date
    messy = "  " + sep.join(case(p) for p in text.split(" ")) + " "
    assert parse_edc_date(messy) == (iso, status)
    assert parse_edc_date(iso) == (iso, status)  # ISO text is accepted as is


@SETTINGS
@given(st.integers(2000, 2030), st.sampled_from(["FEB", "APR", "JUN", "SEP", "NOV"]), st.integers(30, 31))
def test_days_that_do_not_exist_are_invalid(year, month, day):
    if month == "FEB" or day == 31:
        assert parse_edc_date(f"{day} {month} {year}") == ("", "invalid")


def compute_dy(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """--DY from ISO 8601 texts, as the mapping derives it (iso_to_date, then compute_day_number)."""
    return compute_day_number(iso_to_date(dates), iso_to_date(reference))


@SETTINGS
@given(dates, st.lists(st.integers(-800, 800), min_size=1, max_size=30))
def test_study_day_has_no_day_zero(reference, offsets):
    days = [reference + timedelta(days=o) for o in offsets if date(1900, 1, 1) <= reference + timedelta(days=o)
            <= date(2100, 12, 31)]
    dy = compute_dy(pd.Series([d.isoformat() for d in days], dtype=object),
                    pd.Series([reference.isoformat()] * len(days), dtype=object))
    assert 0 not in dy.tolist()
    for d, value in zip(days, dy.tolist()):
        delta = (d - reference).days
        assert value == (delta + 1 if delta >= 0 else delta)
    pair = compute_dy(pd.Series([(reference - timedelta(days=1)).isoformat(), reference.isoformat()]),
                      pd.Series([reference.isoformat()] * 2)) if reference > date(1900, 1, 1) else None
    if pair is not None:
        assert pair.tolist() == [-1.0, 1.0]


RESPONSES = ["CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD"]
assessment = st.tuples(st.sampled_from(["S1", "S2", "S3"]), st.integers(0, 400), st.sampled_from(RESPONSES))


@SETTINGS
@given(st.lists(assessment, min_size=1, max_size=25), st.randoms(use_true_random=False),
       st.sampled_from(["ignore", "break"]))
def test_best_response_ignores_row_order(visits, rnd, ne):
    start = pd.Timestamp("2021-01-01")
    frame = pd.DataFrame({
        "USUBJID": [v[0] for v in visits],
        "ADT": [start + pd.Timedelta(days=v[1]) for v in visits],
        "AVALC": [v[2] for v in visits],
        "SRCSEQ": list(range(1, len(visits) + 1)),
    })
    starts = {u: start for u in ("S1", "S2", "S3")}
    expected = compute_confirmed_bor(frame, starts, ne_between_responses=ne)
    order = list(range(len(frame)))
    rnd.shuffle(order)
    shuffled = frame.iloc[order].reset_index(drop=True)
    pd.testing.assert_frame_equal(compute_confirmed_bor(shuffled, starts, ne_between_responses=ne), expected)
