"""The lock file (requirements.lock) pins versions that pyproject.toml's ranges admit."""
from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _locked_pins(environment: dict[str, str]) -> dict[str, str]:
    """name -> pinned version for the lines of requirements.lock whose marker holds in ``environment``."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        text = line.split("\\")[0].strip()
        if not text or text.startswith(("#", "--")):
            continue
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        (spec,) = req.specifier
        assert spec.operator == "==", f"requirements.lock: {text!r} is not an exact pin"
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def _environment(python: str) -> dict[str, str]:
    env = default_environment()
    env.update(python_version=python, python_full_version=f"{python}.0", sys_platform="linux",
               platform_system="Linux")
    return env


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    for python in ("3.11", "3.12", "3.13"):
        pins = _locked_pins(_environment(python))
        for req in _declared():
            name = canonicalize_name(req.name)
            assert name in pins, f"requirements.lock has no pin for {req.name} (python {python})"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"requirements.lock pins {req.name}=={pins[name]}, outside pyproject's {req} (python {python})")


def test_every_lock_line_carries_a_hash() -> None:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    blocks = [b for b in text.split("\n") if b and not b.startswith((" ", "#"))]
    assert blocks, "requirements.lock is empty"
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line in blocks:
            assert line.endswith("\\") and lines[i + 1].strip().startswith("--hash=sha256:"), (
                f"requirements.lock line {i + 1}: {line!r} has no --hash")
