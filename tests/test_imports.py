"""The package's imports: no cycle between modules, and none running back up the layers.

Every module under src/tlfgen is parsed (``ast``, nothing is imported or run); each
``import tlfgen...`` / ``from tlfgen... import`` in it, at the top, inside a function or under
``TYPE_CHECKING``, is an edge to the module it names. The layers are those of
docs/executor.md ("Import layers"); keep the two in step.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: top to bottom; a module belongs to the layer of the longest prefix that names it (the module
#: itself or a package above it). A module may import its own layer and the layers below.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("command line", ("tlfgen.cli",)),
    ("pipeline", ("tlfgen.pipeline", "tlfgen.executor", "tlfgen.report")),
    ("lineage stage", ("tlfgen.lineage.run", "tlfgen.lineage.trace", "tlfgen.lineage.trace_context",
                       "tlfgen.lineage.record_columns", "tlfgen.lineage.explorer_store", "tlfgen.lineage.trace_figure",
                       "tlfgen.lineage.trace_render", "tlfgen.lineage.trace_command",
                       "tlfgen.lineage.trace_listing", "tlfgen.lineage.trace_define",
                       "tlfgen.lineage.explorer_subjects",
                       "tlfgen.lineage.explorer_data", "tlfgen.lineage.html_report",
                       "tlfgen.lineage.manifest")),
    ("tlf stage", ("tlfgen.tlf",)),
    ("adam stage", ("tlfgen.adam",)),
    ("sdtm stage", ("tlfgen.sdtm",)),
    ("raw stage", ("tlfgen.raw", "tlfgen.simulate")),
    ("lineage model", ("tlfgen.lineage",)),
    ("stage services", ("tlfgen.units", "tlfgen.forks")),
    ("specs", ("tlfgen.spec", "tlfgen.registry")),
    ("tools", ("tlfgen.stats", "tlfgen.io", "tlfgen.gc_pause", "tlfgen.frames")),
    ("ground", ("tlfgen.results", "tlfgen.errors", "tlfgen.terminal", "tlfgen.versions", "tlfgen")),
]


def module_files(src: Path = SRC) -> dict[str, Path]:
    """Module name -> file, for every .py under src/tlfgen (a package by its __init__.py)."""
    modules = {}
    for path in sorted((src / "tlfgen").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The module of this tree that ``name`` (a module, or a name inside one) is."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_edges(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """Module -> {imported module of tlfgen: first line that imports it}."""
    edges: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                module = _target(target, modules) if target.startswith("tlfgen") else None
                if module is not None and module != name:
                    found.setdefault(module, node.lineno)
        edges[name] = found
    return edges


def layer_of(module: str) -> int:
    best, index = "", None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, index = prefix, i
    assert index is not None, f"{module} is in no layer: add it to LAYERS (and to docs/executor.md)"
    return index


def find_cycle(edges: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle (its modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def upward_imports(edges: dict[str, dict[str, int]], modules: dict[str, Path]) -> list[str]:
    out = []
    for module, targets in sorted(edges.items()):
        for target, line in sorted(targets.items()):
            if layer_of(target) < layer_of(module):
                out.append(f"{modules[module].relative_to(SRC.parent)}:{line}: {module} "
                           f"({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})")
    return out


# ------------------------------------------------------------------ the package itself

def test_no_module_of_tlfgen_imports_itself_round_in_a_cycle():
    modules = module_files()
    assert len(modules) > 150  # the whole package was read
    assert find_cycle(import_edges(modules)) is None


def test_every_import_points_down_the_layers():
    modules = module_files()
    assert upward_imports(import_edges(modules), modules) == []


def test_every_module_is_in_a_layer():
    assert {layer_of(m) for m in module_files()} <= set(range(len(LAYERS)))


def test_the_layers_in_the_docs_are_the_layers_tested():
    text = (SRC.parent / "docs" / "executor.md").read_text(encoding="utf-8")
    section = text.split("## Import layers", 1)[1].split("\n## ", 1)[0]
    for name, prefixes in LAYERS:
        assert f"**{name}**" in section, name
        for prefix in prefixes:
            assert f"`{prefix}`" in section, prefix


# ------------------------------------------------------------------ the checks can fail

def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        path = tmp_path / "tlfgen" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files(tmp_path)


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    modules = _tree(tmp_path, {
        "__init__.py": "",
        "tlf/__init__.py": "",
        "tlf/run.py": "def f():\n    from tlfgen.lineage.run import g\n",
        "lineage/__init__.py": "",
        "lineage/run.py": "from tlfgen.tlf import run\n",
    })
    assert find_cycle(import_edges(modules)) == ["tlfgen.lineage.run", "tlfgen.tlf.run", "tlfgen.lineage.run"]


def test_a_relative_import_and_a_type_checking_import_are_edges(tmp_path):
    modules = _tree(tmp_path, {
        "__init__.py": "",
        "sdtm/__init__.py": "",
        "sdtm/write.py": "from typing import TYPE_CHECKING\nfrom . import engine\n"
                         "if TYPE_CHECKING:\n    from tlfgen.pipeline import Finding\n",
        "sdtm/engine.py": "import os\n",
        "pipeline.py": "",
    })
    edges = import_edges(modules)
    assert edges["tlfgen.sdtm.write"] == {"tlfgen.sdtm.engine": 2, "tlfgen.pipeline": 4}
    assert find_cycle(edges) is None


@pytest.mark.parametrize(("importer", "imported", "upward"), [
    ("tlfgen.sdtm.write", "tlfgen.pipeline", True),     # a stage reaching up for the result types
    ("tlfgen.tlf.run", "tlfgen.lineage.run", True),     # the TLF stage reaching into the lineage stage
    ("tlfgen.spec.tlf", "tlfgen.tlf.text", True),       # the spec layer reaching into a stage
    ("tlfgen.lineage.trace", "tlfgen.tlf.run", False),  # the lineage stage reads the TLF stage's tables
    ("tlfgen.sdtm.write", "tlfgen.lineage.define", False),  # define.xml is a lineage-model writer
    ("tlfgen.sdtm.write", "tlfgen.results", False),
])
def test_the_layers_tell_up_from_down(importer, imported, upward):
    assert (layer_of(imported) < layer_of(importer)) is upward
