"""Versions of tlfgen, Python and tlfgen's direct dependencies.

Printed by ``tlfgen --version`` and recorded in the run manifest. Reads installed package
metadata only (``importlib.metadata``): nothing is imported, so it stays fast. The dependency
list is the one ``pyproject.toml`` declares (read from the installed metadata), so it follows
the project's dependencies; extras (test, bench) are left out.
"""

from __future__ import annotations

import platform
import re
from importlib import metadata

from tlfgen import __version__

#: used when tlfgen's own metadata is not installed (running from a source tree)
FALLBACK_PACKAGES = (
    "pandas", "numpy", "pyreadstat", "pydantic", "jinja2", "python-docx", "openpyxl", "PyYAML",
    "statsmodels", "scipy", "lifelines", "matplotlib", "typer", "rich",
)
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def dependency_names() -> tuple[str, ...]:
    """The direct dependencies tlfgen declares (not its extras), in declaration order."""
    try:
        requires = metadata.requires("tlfgen") or []
    except metadata.PackageNotFoundError:
        return FALLBACK_PACKAGES
    names = []
    for requirement in requires:
        marker = requirement.split(";", 1)[1] if ";" in requirement else ""
        found = _NAME.match(requirement)
        if found and "extra" not in marker:
            names.append(found.group(1))
    return tuple(dict.fromkeys(names)) or FALLBACK_PACKAGES


def package_versions() -> dict[str, str]:
    """Installed version of each direct dependency ("not installed" when missing)."""
    versions = {}
    for name in dependency_names():
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def version_text() -> str:
    """``tlfgen 0.1.0`` then Python and one line per dependency, for ``tlfgen --version``."""
    lines = [f"tlfgen {__version__}", f"  python {platform.python_version()}"]
    lines += [f"  {name} {version}" for name, version in sorted(package_versions().items(), key=lambda i: i[0].lower())]
    return "\n".join(lines)
