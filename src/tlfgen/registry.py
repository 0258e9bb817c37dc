"""Derivation registry: the named functions that specs may call.

A derivation is a small pure function (``derive_*`` adds variables to a
dataset, ``compute_*`` maps vectors to a vector, ``create_*`` builds a new
dataset). It is registered with what it requires and what it produces, so the
variable-level dependency graph is known before any data runs::

    @derivation(requires=("{dataset}.{var}",), produces=("{new_var}",))
    def derive_var_example(dataset, *, var, new_var): ...

``requires``/``produces`` entries are templates filled from the spec's
arguments (a list argument expands to one entry per item), or a callable
``args -> iterable of names``. Names are plain variable names of the dataset
being built, or qualified ``DOMAIN.VAR`` references to another dataset.

Derivation modules register themselves on import; ``load_builtin_derivations``
imports the libraries of the stages.
"""

from __future__ import annotations

import importlib
import inspect
import re
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from tlfgen.errors import Location, SpecError

Names = tuple[str, ...] | Callable[[Mapping[str, Any]], Iterable[str]]

#: Modules whose import registers the built-in derivations.
BUILTIN_LIBRARIES = ("tlfgen.sdtm.library", "tlfgen.adam.library")

_VERBS = ("derive_", "compute_", "create_", "map_", "assign_")


@dataclass(frozen=True)
class Derivation:
    name: str
    func: Callable[..., Any]
    requires: Names = ()
    produces: Names = ()
    description: str = ""
    parameters: tuple[str, ...] = field(default_factory=tuple)
    required_parameters: tuple[str, ...] = field(default_factory=tuple)

    def required_vars(self, args: Mapping[str, Any]) -> list[str]:
        return _expand(self.requires, args)

    def produced_vars(self, args: Mapping[str, Any]) -> list[str]:
        return _expand(self.produces, args)

    def check_args(self, args: Mapping[str, Any], *, location: Location | None = None,
                   key_path: str | None = None) -> None:
        """Unknown or missing arguments are spec errors, with the closest valid names."""
        from tlfgen.spec.base import closest

        for key in args:
            if key not in self.parameters:
                near = closest(key, self.parameters)
                raise SpecError(
                    f"derivation '{self.name}' has no argument '{key}'",
                    location=location, key_path=key_path,
                    hint=("did you mean " + " or ".join(f"'{n}'" for n in near) + "?") if near
                    else "arguments: " + ", ".join(self.parameters),
                )
        missing = [p for p in self.required_parameters if p not in args]
        if missing:
            raise SpecError(
                f"derivation '{self.name}' needs argument(s) {', '.join(missing)}",
                location=location, key_path=key_path,
            )


_REGISTRY: dict[str, Derivation] = {}


def derivation(*, requires: Names = (), produces: Names = (), name: str | None = None,
               context: tuple[str, ...] = ("dataset",)) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a derivation function under its own name (or ``name``).

    ``context`` lists the leading parameters the engine supplies (not the spec):
    by default the dataset being built.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        key = name or func.__name__
        if not key.startswith(_VERBS):
            raise ValueError(f"derivation {key} must start with one of {_VERBS}")
        if key in _REGISTRY and _REGISTRY[key].func is not func:
            raise ValueError(f"derivation {key} is registered twice")
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.name not in context
                  and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        _REGISTRY[key] = Derivation(
            name=key,
            func=func,
            requires=requires,
            produces=produces,
            description=inspect.cleandoc(func.__doc__ or "").split("\n\n")[0],
            parameters=tuple(p.name for p in params),
            required_parameters=tuple(p.name for p in params if p.default is p.empty),
        )
        return func

    return register


def get_derivation(name: str, *, location: Location | None = None, key_path: str | None = None) -> Derivation:
    """Look a derivation up by name; an unknown name is a spec error naming the closest ones."""
    load_builtin_derivations()
    try:
        return _REGISTRY[name]
    except KeyError:
        from tlfgen.spec.base import closest

        near = closest(name, _REGISTRY)
        raise SpecError(
            f"unknown derivation '{name}'",
            location=location,
            key_path=key_path,
            hint=("did you mean " + " or ".join(f"'{n}'" for n in near) + "?") if near
            else "run `tlfgen check --list-derivations` to see them all",
        ) from None


def registered() -> dict[str, Derivation]:
    load_builtin_derivations()
    return dict(sorted(_REGISTRY.items()))


_LOADED = False


def load_builtin_derivations() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in BUILTIN_LIBRARIES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_FIELD = re.compile(r"\{(\w+)\}")


def _expand(names: Names, args: Mapping[str, Any]) -> list[str]:
    if callable(names):
        return [str(n) for n in names(args)]
    out: list[str] = []
    for template in names:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
        if any(f not in args or args[f] is None for f in fields):
            continue  # an optional argument that was not given
        list_fields = [f for f in fields if isinstance(args[f], (list, tuple))]
        if not list_fields:
            out.append(template.format(**{f: args[f] for f in fields}))
            continue
        lf = list_fields[0]
        for item in args[lf]:
            values = {f: args[f] for f in fields}
            values[lf] = item
            out.append(template.format(**values))
    return out


def call_derivation(found: Derivation, args: Mapping[str, Any], *, dataset: Any,
                    context: Mapping[str, Any], new_var: str | None = None) -> Any:
    """Call a derivation the one way every stage does: ``dataset`` and the context values the
    function declares (``sources``, ``study``, ``ctx`` ...) by keyword, then the spec's ``args``;
    ``new_var`` fills a ``new_var`` parameter the spec left out (an SDTM rule's variable)."""
    params = inspect.signature(found.func).parameters
    call = {k: v for k, v in {"dataset": dataset, **context}.items() if k in params and k not in found.parameters}
    extra = {"new_var": new_var} if new_var and "new_var" in found.parameters and "new_var" not in args else {}
    return found.func(**call, **args, **extra)
