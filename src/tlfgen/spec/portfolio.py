"""Spec layer: a portfolio file, the study folders ``tlfgen run --portfolio FILE`` runs.

::

    studies:          # folders holding specs/ and raw/, relative to this file
      - oncology/nct04471480
      - oncology/study-b

Unknown keys are errors (file:line:column, exit 2), as in every spec; a folder named twice
is an error too (both runs would write the same files).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from tlfgen.errors import SpecError
from tlfgen.spec.base import StrictModel, load_yaml, validate_model


class PortfolioFile(StrictModel):
    studies: list[str] = Field(min_length=1)


def load_portfolio(path: Path) -> list[Path]:
    """The study folders of the portfolio file ``path``, resolved against its folder, in file order."""
    doc = load_yaml(path)
    spec = validate_model(PortfolioFile, doc)
    folders: list[Path] = []
    for i, name in enumerate(spec.studies):
        folder = (path.parent / name).resolve()
        if folder in folders:
            raise SpecError(f"study folder '{name}' is listed twice", location=doc.source.location(("studies", i)),
                            hint="list each study folder once")
        folders.append(folder)
    return folders
