"""Terminal text (below every stage): user text shown literally, never interpreted.

Everything tlfgen prints may hold text from a study: a raw header, a subject id, a spec label,
a trace argument. Rich would read ``[/x]`` as markup (and fail with a traceback),
``:x:`` as an emoji code, and an ESC byte would reach the terminal as a control sequence.
``visible`` replaces every C0/C1 control character (tab and newline excepted) with a visible
escape (``\\x1b``); ``plain`` wraps text in a ``rich.text.Text`` so rich prints it as is;
``make_console`` is a console whose defaults interpret nothing.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape_one(match: re.Match[str]) -> str:
    return "\\x" + format(ord(match.group(0)), "02x")


def visible(text: object) -> str:
    """``text`` as a string whose control characters (but tab and newline) are visible escapes."""
    return _CONTROL.sub(_escape_one, str(text))


def plain(text: object, style: str = "") -> Any:
    """A ``rich.text.Text`` of ``visible(text)``: rich prints it without markup or emoji codes."""
    from rich.text import Text

    return Text(visible(text), style=style)


def make_console(**options: Any) -> Any:
    """A rich console that interprets no markup, emoji codes or highlighting by default."""
    from rich.console import Console

    options.setdefault("highlight", False)
    return Console(markup=False, emoji=False, **options)
