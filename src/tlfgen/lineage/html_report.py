"""Lineage layer: the explorer page (``outputs/lineage.html``).

One self-contained file (inline CSS and JavaScript, no network access, opens from file://):
the outputs in their own order, tables as printed; a click on a cell shows its analysis and
method, the subjects and their analysis records with the values each contributed, the SDTM
records and the raw rows (file:line), each step with its spec rules (file:line and text); a
search that jumps to and highlights matches; a view per subject (every record of one USUBJID);
listing rows and define.xml methods traced too. The data come from ``explorer_data`` (the
functions ``tlfgen trace`` uses): the shell and the spec texts as JSON in ``<script
type="application/json">`` blocks, every output's block and the subject view's records (one block
per 100 subjects) deflated in URL-safe base64 (``explorer_subjects.pack_json``), inflated by the
page on first use, so a large study opens about as fast as a small one. The page builds its text
with ``textContent`` only; the JSON is written with every ``<`` as ``\\u003c`` (no ``</script>``
can end a block early).
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from typing import Any

from tlfgen.lineage.explorer_data import ExplorerData, create_explorer_data
from tlfgen.spec.study import ResolvedStudy

REPORT_NAME = "lineage.html"
TEMPLATE_NAME = "explorer.html"


def json_block(block_id: str, value: Any) -> str:
    """A ``<script type="application/json">`` block; ``<``, ``>`` and ``&`` escaped inside the JSON."""
    from tlfgen.lineage.explorer_subjects import dumps_page_json

    text = dumps_page_json(value)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{html.escape(block_id, quote=True)}">{text}</script>\n'


def packed_block(block_id: str, text: str) -> str:
    """A ``<script type="application/octet-stream">`` block of ``explorer_subjects.pack_json`` text
    (URL-safe base64: nothing to escape)."""
    return f'<script type="application/octet-stream" id="{html.escape(block_id, quote=True)}">{text}</script>\n'


def create_explorer_html(data: ExplorerData) -> str:
    """The page: the template with the shell, spec texts and one block per output filled in."""
    template = resources.files("tlfgen.lineage").joinpath(TEMPLATE_NAME).read_text(encoding="utf-8")
    shell = json_block("tlfgen-shell", data.shell) + json_block("tlfgen-specs", data.specs)
    blocks = [packed_block(f"tlfgen-output-{oid}", text) for oid, text in data.blocks.items()]
    blocks += [packed_block(f"tlfgen-subjects-{k}", chunk) for k, chunk in enumerate(data.subject_chunks)]
    title = html.escape(f"Lineage explorer {data.shell.get('study', '')}")
    head, _, rest = template.partition("__SHELL__")
    script, _, tail = rest.partition("__DATA__")
    # the outputs are drawn as soon as the shell is read; the per-output blocks follow the script
    return head.replace("__TITLE__", title) + shell + script + "".join(blocks) + tail


def write_html_report(study: ResolvedStudy, tables: list[Any]) -> Path:
    """Build the explorer's data for ``tables`` (from adam/, sdtm/ and their lineage files) and write the page."""
    from tlfgen.io.atomic import atomic_write_text
    from tlfgen.lineage.trace import TraceContext

    study.outputs_dir.mkdir(parents=True, exist_ok=True)
    data = create_explorer_data(TraceContext(study), list(tables))
    return Path(atomic_write_text(study.outputs_dir / REPORT_NAME, create_explorer_html(data)))
