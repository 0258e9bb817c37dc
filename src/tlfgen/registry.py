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

Every derivation has a typed arguments model (pydantic) generated from its
signature: each spec argument is a keyword-only parameter whose annotation is its
type (``Literal[...]`` for choices) and whose default makes it optional.
``Derivation.check_args`` validates a spec's arguments through that model, so a
wrong type or an unknown choice is a ``SpecError`` at ``tlfgen check`` with
file:line:column, key path, the expected type and the closest choice.

Derivation modules register themselves on import; ``load_builtin_derivations``
imports the libraries of the stages.
"""

from __future__ import annotations

import importlib
import inspect
import re
import string
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping, Union, get_args, get_origin

from tlfgen.errors import ErrorList, Location, SpecError

Names = tuple[str, ...] | Callable[[Mapping[str, Any]], Iterable[str]]

#: Modules whose import registers the built-in derivations.
BUILTIN_LIBRARIES = ("tlfgen.sdtm.library", "tlfgen.adam.library")

_VERBS = ("derive_", "compute_", "create_", "map_", "assign_")


class _Locator(typing.Protocol):
    def location(self, key_path: tuple = ...) -> Location: ...


@dataclass(frozen=True)
class Argument:
    """One spec argument of a derivation: its name, type, default and whether it is required."""

    name: str
    annotation: Any
    default: Any
    required: bool

    @property
    def type_text(self) -> str:
        return type_text(self.annotation)


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

    @property
    def summary(self) -> str:
        """The description on one line."""
        return " ".join(self.description.split())

    def arguments(self) -> tuple[Argument, ...]:
        """The spec arguments with their types (from the annotations) and defaults."""
        hints = _type_hints(self.func)
        params = inspect.signature(self.func).parameters
        return tuple(
            Argument(name, hints.get(name, Any),
                     None if params[name].default is params[name].empty else params[name].default,
                     params[name].default is params[name].empty)
            for name in self.parameters
        )

    def arguments_model(self) -> type:
        """The pydantic model of the spec arguments (built once per derivation)."""
        model = _MODELS.get(self.name)
        if model is None or _MODELS_OF.get(self.name) is not self.func:
            from pydantic import ConfigDict, Field, create_model

            fields: dict[str, Any] = {
                arg.name: (arg.annotation, Field(...) if arg.required else Field(default=arg.default))
                for arg in self.arguments()
            }
            model = create_model(  # type: ignore[call-overload]
                f"{self.name}_arguments",
                __config__=ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True),
                **fields,
            )
            _MODELS[self.name] = model
            _MODELS_OF[self.name] = self.func
        return model

    def check_args(self, args: Mapping[str, Any], *, location: Location | None = None,
                   key_path: str | None = None, source: _Locator | None = None,
                   prefix: tuple[str | int, ...] = ()) -> None:
        """Validate spec arguments through the arguments model; every problem is a SpecError.

        ``source`` (a ``SpecSource``) and ``prefix`` (the key path of the arguments in the
        spec) place each error on the argument's own line; otherwise ``location`` and
        ``key_path`` name the arguments as a whole. All problems are raised together.
        """
        from tlfgen.spec.base import closest, format_key_path

        def where(*parts: str | int) -> tuple[Location | None, str | None]:
            if source is None:
                return location, key_path
            return source.location(prefix + parts), format_key_path(prefix + parts)

        errors = ErrorList()

        def add(error: SpecError, *parts: str | int) -> None:
            error.arg_path = tuple(parts)  # type: ignore[attr-defined]  # key path inside the arguments
            errors.add(error)

        for key in args:
            if key not in self.parameters:
                near = closest(key, self.parameters)
                loc, path = where(key)
                add(SpecError(
                    f"derivation '{self.name}' has no argument '{key}'", location=loc, key_path=path,
                    hint=("did you mean " + " or ".join(f"'{n}'" for n in near) + "?") if near
                    else "arguments: " + ", ".join(self.parameters),
                ), key)
        missing = [p for p in self.required_parameters if p not in args]
        if missing and not errors.errors:  # a misspelled argument is also a missing one: say it once
            loc, path = where()
            add(SpecError(
                f"derivation '{self.name}' needs argument(s) {', '.join(missing)}", location=loc, key_path=path,
                hint="; ".join(f"{a.name}: {a.type_text}" for a in self.arguments() if a.name in missing),
            ))
        if errors.errors:
            errors.raise_if_any()
        from pydantic import ValidationError

        try:
            self.arguments_model().model_validate(dict(args))
        except ValidationError as exc:
            by_name = {a.name: a for a in self.arguments()}
            for err in exc.errors():
                loc_parts = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.endswith("]")
                                                                and "[" in p))
                arg = by_name.get(str(loc_parts[0])) if loc_parts else None
                loc, path = where(*loc_parts)
                add(_argument_error(self, arg, loc_parts, err, loc, path), *loc_parts)
        errors.raise_if_any()


def _argument_error(deriv: Derivation, arg: Argument | None, loc_parts: tuple, err: Mapping[str, Any],
                    location: Location | None, key_path: str | None) -> SpecError:
    """A pydantic error on one argument as a SpecError: expected type or choices, did-you-mean."""
    from tlfgen.spec.base import closest, format_key_path

    name = format_key_path(loc_parts) if loc_parts else "?"
    got = err.get("input")
    hint_parts = []
    if err["type"] == "literal_error":
        choices = [str(c) for c in _literal_choices(err)]
        near = closest(str(got), choices, n=1) if isinstance(got, str) else []
        message = f"argument '{name}' of '{deriv.name}' is {got!r}, not one of the choices"
        if near:
            hint_parts.append(f"did you mean '{near[0]}'?")
    elif err["type"] == "extra_forbidden":
        message = f"argument '{format_key_path(loc_parts[:-1])}' of '{deriv.name}' has an unknown key " \
                  f"'{loc_parts[-1]}'"
        allowed = _keys_at(arg.annotation, loc_parts[1:-1]) if arg is not None else []
        near = closest(str(loc_parts[-1]), allowed)
        if near:
            hint_parts.append("did you mean " + " or ".join(f"'{n}'" for n in near) + "?")
        elif allowed:
            hint_parts.append("keys: " + ", ".join(allowed))
    elif err["type"] == "missing":
        message = f"argument '{format_key_path(loc_parts[:-1]) if len(loc_parts) > 1 else name}' of " \
                  f"'{deriv.name}' needs the key '{loc_parts[-1]}'"
    else:
        shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
        message = f"argument '{name}' of '{deriv.name}': {err['msg'].lower()[0]}{err['msg'][1:]}{shown}"
    if arg is not None and len(loc_parts) == 1:
        expected = get_args(arg.annotation) if get_origin(arg.annotation) is Literal else ()
        hint_parts.append(("expected one of " + ", ".join(repr(c) for c in expected)) if expected
                          else f"expected {arg.type_text}")
        if not arg.required:
            hint_parts[-1] += f" (default {arg.default!r})"
    elif arg is not None:
        hint_parts.append(f"{arg.name} is {arg.type_text}")
    return SpecError(message, location=location, key_path=key_path, hint="; ".join(hint_parts) or None)


def _literal_choices(err: Mapping[str, Any]) -> list[Any]:
    expected = (err.get("ctx") or {}).get("expected", "")
    return re.findall(r"'([^']*)'", str(expected)) or [expected]


def _keys_at(annotation: Any, parts: tuple) -> list[str]:
    """The keys a TypedDict (or pydantic model) inside ``annotation`` allows, at ``parts``."""
    tp = annotation
    for part in (*parts, None):
        tp = _strip_optional(tp)
        if isinstance(part, int) or get_origin(tp) in (list, tuple):
            args = get_args(tp)
            tp = args[0] if args else Any
            continue
        if _is_typeddict(tp):
            hints = typing.get_type_hints(tp)
            if part is None:
                return list(hints)
            tp = hints.get(str(part), Any)
            continue
        return []
    return []


def _is_typeddict(tp: Any) -> bool:
    import typing_extensions  # pydantic's own dependency; it knows both kinds of TypedDict

    return typing_extensions.is_typeddict(tp)


def _strip_optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def type_text(tp: Any) -> str:
    """A readable type: ``int``, ``'ignore' | 'break'``, ``list[str]``, ``str | None``."""
    if tp is Any:
        return "any"
    if tp is type(None) or tp is None:
        return "None"
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return type_text(get_args(tp)[0])
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(type_text(a) for a in get_args(tp))
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        args = get_args(tp)
        inner = ", ".join("..." if a is Ellipsis else type_text(a) for a in args)
        return f"{name}[{inner}]" if args else name
    if isinstance(tp, type):
        return tp.__name__
    return str(tp)


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """The annotations of ``func`` resolved; when they cannot be (a name imported only for type
    checkers) every argument counts as Any (tests/test_registry.py holds the built-ins to it)."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except (NameError, TypeError):
        return {}


#: arguments models built so far (derivation name -> model) and the function each was built from
_MODELS: dict[str, type] = {}
_MODELS_OF: dict[str, Callable[..., Any]] = {}


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
