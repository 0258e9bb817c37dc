"""tlfgen.terminal and its users (issue 24, item 3): study text reaches the terminal as it is
written, even through a console that interprets markup and emoji codes (rich's defaults)."""

from __future__ import annotations

import io

from rich.console import Console

from tlfgen import pipeline
from tlfgen.lineage.trace_render import render
from tlfgen.report import print_summary
from tlfgen.terminal import make_console, plain, visible

HOSTILE = "[/x][bold]SUBJ:x:ID\x1b[31m\x9b\x00"


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=400, color_system=None, soft_wrap=True), out


def test_visible_escapes_c0_c1_and_del_but_keeps_tab_and_newline():
    assert visible("a\x1bb\x07c\x7fd\x85e\tf\ng") == "a\\x1bb\\x07c\\x7fd\\x85e\tf\ng"
    assert visible(12) == "12"


def test_plain_and_make_console_print_markup_and_emoji_codes_as_written():
    out = io.StringIO()
    console = make_console(file=out, width=200, color_system=None)
    console.print(plain(HOSTILE))
    console.print("[b]:x:[/b]")
    assert out.getvalue() == "[/x][bold]SUBJ:x:ID\\x1b[31m\\x9b\\x00\n[b]:x:[/b]\n"


def test_the_run_summary_prints_dataset_names_reasons_and_notes_literally():
    console, out = _console()
    result = pipeline.StageResult("sdtm", counts=[pipeline.DatasetCount(HOSTILE, 3, 2, {":x: [/b]": 1})],
                                  notes=[HOSTILE])
    print_summary(console, [result], study=None)
    text = out.getvalue()
    assert "[/x][bold]SUBJ:x:ID\\x1b[31m\\x9b\\x00" in text
    assert ":x: [/b]: 1" in text
    assert "sdtm: [/x][bold]SUBJ:x:ID\\x1b[31m\\x9b\\x00" in text
    assert "\x1b" not in text and "\u274c" not in text


def test_trace_tables_print_values_and_names_literally():
    console, out = _console()
    result = {"kind": "variable", "variable": "ADSL.[/x]", "rules": [],
              "metadata": {"label": HOSTILE, "origin": ":x:", "method": None, "source": None, "spec": None},
              "chain": [{"to": "ADSL.[/x]", "from": "raw.[b]", "name": "\x1b[2J", "spec": ""}],
              "raw_columns": ["[/i]:x:"]}
    render(result, console)
    text = out.getvalue()
    for expected in ("ADSL.[/x]", "[/x][bold]SUBJ:x:ID\\x1b[31m\\x9b\\x00", "raw.[b]", "\\x1b[2J",
                     "raw columns: [/i]:x:", " :x: "):
        assert expected in text
    assert "\x1b" not in text and "\u274c" not in text
