"""SDTM stage: running one ``derive`` rule of a domain spec, the way the ADaM engine runs a step.

Every registered derivation (``compute_*`` of the SDTM library, the mapping algorithms of
``tlfgen.sdtm.algorithms``, the ADaM flag and category derivations ``derive_var_*``) is
called through ``registry.call_derivation``: the working frame as ``dataset``, the context
values it declares by keyword (``ctx``: the mapping context, ``study``, ``sources``), the
spec's arguments. Its ``requires`` are checked against the working frame first; it returns
a Series (the variable's values) or a DataFrame holding the variable (``new_var``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tlfgen.errors import DerivationError, ExpressionError, TlfgenError
from tlfgen.registry import call_derivation, get_derivation
from tlfgen.sdtm.context import MappingContext
from tlfgen.spec.base import closest
from tlfgen.spec.sdtm import DeriveSpec, ResolvedDomain


def run_derivation(data: pd.DataFrame, derive: DeriveSpec, ctx: MappingContext, rd: ResolvedDomain,
                   name: str, path: tuple) -> pd.Series:
    """The values of variable ``name`` by its ``derive`` rule (spec key ``path``), aligned to ``data``."""
    found = get_derivation(derive.name)
    location = rd.source.location((*path, "derive"))
    args: dict[str, Any] = dict(derive.args)
    if "new_var" in found.parameters and "new_var" not in args:
        args["new_var"] = name
    for req in found.required_vars(args):
        if "." in req or req in data or req == args.get("new_var"):
            continue
        near = closest(req, [c for c in data.columns if not str(c).startswith("__")])
        raise DerivationError(
            f"{derive.name} needs column {req}, which the records of {rd.name} do not have",
            dataset=rd.name, variable=name, location=location,
            hint=("did you mean " + " or ".join(near) + "? " if near else "")
            + "a derivation reads raw fields of the domain's sources or variables derived before it")
    try:
        result = call_derivation(found, derive.args, dataset=data,
                                 context={"ctx": ctx, "study": ctx.study, "sources": {}}, new_var=args.get("new_var"))
    except ExpressionError as exc:
        if exc.location is None or exc.location.file is None:
            exc.location = location
        raise
    except DerivationError as exc:
        exc.location = exc.location or location
        exc.dataset = exc.dataset or rd.name
        exc.variable = getattr(exc, "variable", None) or name
        raise
    except TlfgenError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise DerivationError(f"{derive.name} failed: {type(exc).__name__}: {exc}", dataset=rd.name,
                              variable=name, location=location,
                              hint="check the rule's arguments and the raw data") from exc
    if isinstance(result, pd.DataFrame):
        column = args.get("new_var", name)
        if column not in result:
            raise DerivationError(f"{derive.name} did not produce {column}", dataset=rd.name, variable=name,
                                  location=location)
        result = result[column]
    if not isinstance(result, pd.Series):
        raise DerivationError(f"{derive.name} returned {type(result).__name__}, not a column", dataset=rd.name,
                              variable=name, location=location)
    return result
