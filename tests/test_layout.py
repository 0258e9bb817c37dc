"""Repository layout rules that keep a clean checkout testable."""

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_test_module_basenames_are_unique():
    # pytest's default import mode imports test modules by basename: two test_x.py files in
    # different folders fail collection on a fresh checkout.
    names = Counter(p.name for p in (ROOT / "tests").rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []


def test_fixed_top_level_layout_exists():
    for name in ("specs", "src/tlfgen", "raw", "sdtm", "adam", "outputs", "tests", "pyproject.toml"):
        assert (ROOT / name).exists(), name
