"""TLF stage: the Jinja templates that own the wording of outputs (``tlfgen.spec.templates``).

The spec layer compiles them when the TLF specs load (so ``tlfgen check`` reports a broken
template); the TLF stage renders them. They live below both, in ``spec/templates.py``.
"""

from tlfgen.spec.templates import CELLS_TEMPLATE, DEFAULT_CELLS, REQUIRED_MACROS, TemplateSet  # noqa: F401
