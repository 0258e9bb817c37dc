"""Spec layer: safe YAML loading with file:line:column positions, and strict pydantic models.

Loading is two-stage (after dbt's ``Unparsed*`` -> resolved split):

1. ``load_yaml`` reads a file with a safe loader into plain Python values and a
   map from key path to position. Aliases are refused (no YAML bombs), unsafe
   tags are refused, duplicate keys are refused.
2. ``validate_model`` turns the plain values into a frozen ``StrictModel``
   (unknown keys rejected); every pydantic error becomes a ``SpecError`` with
   file, line, column, key path and, for an unknown key, the closest valid names.

Resolution (references between specs) happens in each stage's spec module.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tlfgen.errors import ErrorList, Location, SpecError

#: Largest spec file read, in bytes: a spec is hand-written text.
MAX_SPEC_BYTES = 2_000_000

KeyPath = tuple[str | int, ...]

#: Characters a spec text may not hold (written as YAML escapes such as "\e" or "\x07"): C0
#: controls but tab, newline and carriage return, DEL, C1 controls, lone surrogates and the
#: non-characters U+FFFE/U+FFFF. They make define.xml not well-formed and drive terminals.
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors, objects are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


@dataclass(frozen=True)
class SpecSource:
    """A loaded spec file: its path (as shown to users) and key-path positions."""

    path: Path
    display: str
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def location(self, key_path: KeyPath = ()) -> Location:
        """The closest known position for a key path (walks up to the parent)."""
        path = tuple(key_path)
        while path and path not in self.positions:
            path = path[:-1]
        line, col = self.positions.get(path, (1, 1))
        return Location(self.display, line, col)

    def line(self, key_path: KeyPath = ()) -> int:
        return self.location(key_path).line or 1


@dataclass(frozen=True)
class YamlDoc:
    data: Any
    source: SpecSource


def format_key_path(key_path: KeyPath) -> str:
    text = ""
    for part in key_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<root>"


class _NoAliasSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (and so billion-laughs bombs)."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML aliases (*name) are not allowed in specs; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def load_yaml(path: Path, *, root: Path | None = None) -> YamlDoc:
    """Read one YAML spec safely, keeping the position of every key."""
    display = _display_path(path, root)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise SpecError("spec file not found", location=Location(display)) from exc
    except OSError as exc:
        raise SpecError(f"cannot read spec file: {exc.strerror}", location=Location(display)) from exc
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(
            f"spec file is {len(raw)} bytes, more than the {MAX_SPEC_BYTES} allowed",
            location=Location(display),
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"spec file is not UTF-8 (byte {exc.start})", location=Location(display),
            hint="save the file as UTF-8",
        ) from exc
    return parse_yaml_text(text, display=display, path=path)


class _SharedNode(Exception):
    """A node reached twice while building: the document uses an alias."""


#: libyaml's parser when PyYAML was built with it (about 10x faster than the pure-Python one).
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def parse_yaml_text(text: str, *, display: str = "<string>", path: Path | None = None) -> YamlDoc:
    """Parse spec text; libyaml when available, the pure-Python loader to report an alias exactly."""
    if _FAST_LOADER is not None:
        try:
            return _parse_with(_FAST_LOADER, text, display, path)
        except _SharedNode:
            pass  # the Python loader refuses the alias with its own line and column
    return _parse_with(_NoAliasSafeLoader, text, display, path)


def _parse_with(loader_class, text: str, display: str, path: Path | None) -> YamlDoc:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        positions: dict[KeyPath, tuple[int, int]] = {}
        seen: set[int] = set()
        data = _construct(loader, node, (), positions, display, seen) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(exc):
            problem = f"unsafe or unknown YAML tag: {problem.split('tag ')[-1] if 'tag' in problem else problem}"
        raise SpecError(f"YAML error: {problem}", location=Location(display, line, col)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", location=Location(display)) from None
    finally:
        loader.dispose()
    return YamlDoc(data=data, source=SpecSource(Path(path or display), display, positions))


_PLAIN_TAGS = {yaml.MappingNode: "tag:yaml.org,2002:map", yaml.SequenceNode: "tag:yaml.org,2002:seq"}


def _construct(loader, node, key_path: KeyPath, positions, display, seen: set[int]):
    if id(node) in seen:
        raise _SharedNode()
    seen.add(id(node))
    positions[key_path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    expected_tag = _PLAIN_TAGS.get(type(node))
    if expected_tag is not None and node.tag != expected_tag:
        raise SpecError(
            f"YAML error: unsafe or unknown YAML tag {node.tag}",
            location=Location(display, node.start_mark.line + 1, node.start_mark.column + 1),
            hint="specs are plain YAML: mappings, lists and scalars only",
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError(
                    "mapping keys must be plain scalars",
                    location=Location(display, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                )
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SpecError(
                    "YAML merge keys (<<) are not allowed in specs",
                    location=Location(display, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                )
            key = _checked_text(str(loader.construct_object(key_node, deep=True)), key_node, display)
            if key in result:
                raise SpecError(
                    f"duplicate key '{key}'",
                    location=Location(display, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                    key_path=format_key_path(key_path + (key,)),
                )
            child = key_path + (key,)
            result[key] = _construct(loader, value_node, child, positions, display, seen)
            # the key's own position is more useful than its value's
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, key_path + (i,), positions, display, seen)
            for i, item in enumerate(node.value)
        ]
    value = loader.construct_object(node, deep=True)
    return _checked_text(value, node, display) if isinstance(value, str) else value


def _checked_text(text: str, node, display: str) -> str:
    """``text`` unchanged, or a spec error at ``node`` when it holds a control character."""
    bad = _FORBIDDEN_CHARS.search(text)
    if bad is None:
        return text
    raise SpecError(
        f"text holds the control character U+{ord(bad.group(0)):04X} at position {bad.start() + 1}",
        location=Location(display, node.start_mark.line + 1, node.start_mark.column + 1),
        hint="remove it: spec text is written to define.xml, documents and the terminal",
    )


M = TypeVar("M", bound=BaseModel)


def _field_names_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the (sub)model that a pydantic error location points into."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            fld = current.model_fields.get(str(part))
            if fld is None:
                return []
            current = fld.annotation
        else:
            current = _unwrap(current)
            if isinstance(part, int) or get_origin(current) in (list, tuple, dict):
                args = [a for a in get_args(current) if a is not type(None)]
                current = args[-1] if args else None
            else:
                return []
        current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """Peel Optional[...] / Annotated to the model type when there is exactly one."""
    for _ in range(5):
        args = [a for a in get_args(tp) if a is not type(None)]
        origin = get_origin(tp)
        if origin in (list, tuple, dict) or not args:
            return tp
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1 and origin is not None:
            tp = models[0]
        elif len(args) == 1:
            tp = args[0]
        else:
            return tp
    return tp


def closest(name: str, candidates, n: int = 3) -> list[str]:
    return difflib.get_close_matches(str(name), [str(c) for c in candidates], n=n, cutoff=0.6)


def _data_key_path(value: Any, loc: tuple) -> KeyPath:
    """A pydantic error location as a key path into ``value``: the parts pydantic adds for a union
    member or a validator (``function-after[...]``) are dropped, a key of the data is kept even
    when it looks like one (a YAML key ``bad[0]``)."""
    kept: list = []
    current = value
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, (list, tuple)) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif isinstance(part, str) and "[" in part and part.endswith("]"):
            continue
        else:
            current = None
        kept.append(part)
    return tuple(kept)


def validate_model(model: type[M], doc: YamlDoc, *, prefix: KeyPath = (), data: Any = None) -> M:
    """Validate plain YAML values into a strict model; errors carry file:line and key path."""
    value = doc.data if data is None else data
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = ErrorList()
        for err in exc.errors():
            loc = _data_key_path(value, err["loc"])
            key_path = prefix + loc
            location = doc.source.location(key_path)
            hint = None
            if err["type"] == "extra_forbidden":
                allowed = _field_names_at(model, loc)
                near = closest(loc[-1], allowed) if loc else []
                message = f"unknown key '{loc[-1]}'"
                if near:
                    hint = "did you mean " + " or ".join(f"'{n}'" for n in near) + "?"
                elif allowed:
                    hint = "allowed keys: " + ", ".join(sorted(allowed))
            elif err["type"] == "missing":
                message = f"missing required key '{loc[-1]}'"
                location = doc.source.location(key_path[:-1])
            else:
                message = err["msg"]
                if "input" in err and not isinstance(err["input"], (dict, list)):
                    message += f" (got {err['input']!r})"
            errors.add(SpecError(message, location=location, key_path=format_key_path(key_path), hint=hint))
        errors.raise_if_any()
        raise  # pragma: no cover - raise_if_any always raises here


def load_model(model: type[M], path: Path, *, root: Path | None = None) -> tuple[M, SpecSource]:
    """Load and validate one spec file; return the model and its source positions."""
    doc = load_yaml(path, root=root)
    return validate_model(model, doc), doc.source


def resolve_inside(root: Path, relative: str | Path, *, what: str, location: Location | None = None) -> Path:
    """Resolve a spec path against the study folder, refusing anything outside it."""
    candidate = (root / relative).resolve()
    base = root.resolve()
    if candidate != base and base not in candidate.parents:
        raise SpecError(
            f"{what} path '{relative}' points outside the study folder {base}",
            location=location,
            hint="keep specs, raw data and outputs inside the study folder, or pass the path on the command line",
        )
    return candidate
