"""Azure Functions route templates: parse them once, match request paths against them.

The Functions host routes with ASP.NET Core templates. This module supports the parts a
Python app uses: literal segments (matched case-insensitively), ``{name}``, optional
trailing ``{name?}``, constraints (``int``, ``long``, ``double``, ``bool``, ``alpha``,
``guid``; chained like ``{id:int:long}``), catch-all ``{*rest}`` / ``{**rest}`` as the last
segment, and segments mixing literals with parameters (``{name}.{ext}``). A value that
fails its constraint makes the route not match, as in ASP.NET.

When several templates match a path, the more specific wins (ASP.NET's inbound
precedence: literals before constrained parameters, before plain ones, before optional
ones, before catch-alls), so ``items/summary`` beats ``items/{itemId}``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

__all__ = ["RouteMatch", "RouteTable", "RouteTemplate", "RouteTemplateError"]

T = TypeVar("T")

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Invariant-culture decimal notation; .NET also takes thousands separators and "NaN",
# which no route in practice relies on.
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ALPHA = re.compile(r"[A-Za-z]+")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RouteTemplateError(ValueError):
    """A route template this host cannot parse (bad syntax or an unknown constraint)."""


def _in_range(text: str, bounds: tuple[int, int]) -> bool:
    """Whether ``text`` is an integer literal within ``bounds``."""
    return bool(_INTEGER.fullmatch(text)) and bounds[0] <= int(text) <= bounds[1]


def _is_double(text: str) -> bool:
    """Whether ``text`` reads as a finite double."""
    return bool(_DOUBLE.fullmatch(text)) and float(text) not in (float("inf"), float("-inf"))


def _is_guid(text: str) -> bool:
    """Whether ``text`` is a GUID in any of .NET's formats (D, N, B, P)."""
    if len(text) == 38 and (text[0], text[-1]) in (("{", "}"), ("(", ")")):
        text = text[1:-1]
    if len(text) not in (32, 36) or (len(text) == 36 and text.count("-") != 4):
        return False
    if len(text) == 36 and [len(part) for part in text.split("-")] != [8, 4, 4, 4, 12]:
        return False
    try:
        uuid.UUID(hex=text.replace("-", ""))
    except ValueError:
        return False
    return True


_CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": lambda value: _in_range(value, _INT32),
    "long": lambda value: _in_range(value, _INT64),
    "double": _is_double,
    "bool": lambda value: value.lower() in ("true", "false"),
    "alpha": lambda value: bool(_ALPHA.fullmatch(value)),
    "guid": _is_guid,
}


@dataclass(frozen=True)
class _Parameter:
    """One ``{...}`` of a template."""

    name: str
    constraints: tuple[str, ...] = ()
    optional: bool = False
    catch_all: bool = False

    def accepts(self, value: str) -> bool:
        """Whether every constraint accepts ``value``."""
        return all(_CONSTRAINTS[name](value) for name in self.constraints)


@dataclass(frozen=True)
class _Segment:
    """One ``/``-separated part: literal text and parameters, compiled to one regex."""

    parts: tuple[str | _Parameter, ...]
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def literal(self) -> bool:
        """A segment made of literal text only."""
        return all(isinstance(part, str) for part in self.parts)

    @property
    def parameter(self) -> _Parameter | None:
        """The parameter when the segment is exactly one parameter."""
        only = self.parts[0] if len(self.parts) == 1 else None
        return only if isinstance(only, _Parameter) else None

    @property
    def omissible(self) -> bool:
        """Whether a path may end before this segment."""
        only = self.parameter
        return only is not None and (only.optional or only.catch_all)

    def rank(self) -> int:
        """ASP.NET inbound precedence digit: lower is more specific."""
        only = self.parameter
        if self.literal:
            return 1
        if only is None:
            return 2
        if only.catch_all:
            return 5
        if only.optional:
            return 4
        return 3 if only.constraints else 4

    def canonical(self) -> str:
        """The segment with parameter names erased, to spot equivalent templates."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part.lower())
            else:
                mark = "*" if part.catch_all else "?" if part.optional else ""
                out.append("{" + mark + ":".join(part.constraints) + "}")
        return "".join(out)

    def match(self, text: str) -> dict[str, str] | None:
        """Parameter values when ``text`` matches this segment, else None."""
        found = self.pattern.fullmatch(text)
        if found is None:
            return None
        values: dict[str, str] = {}
        params = [part for part in self.parts if isinstance(part, _Parameter)]
        for index, param in enumerate(params):
            value = found.group(f"p{index}")
            if not param.accepts(value):
                return None
            values[param.name] = value
        return values


def _parse_parameter(body: str, template: str) -> _Parameter:
    """Read the inside of ``{...}``."""
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    optional = body.endswith("?")
    body = body.rstrip("?")
    if "=" in body:
        raise RouteTemplateError(f"route {template!r}: default values ({{{body}}}) are not "
                                 "supported")
    name, *constraints = body.split(":")
    if not _PARAM_NAME.fullmatch(name):
        raise RouteTemplateError(f"route {template!r}: {{{body}}} is not a parameter name")
    for constraint in constraints:
        if constraint not in _CONSTRAINTS:
            known = ", ".join(sorted(_CONSTRAINTS))
            raise RouteTemplateError(
                f"route {template!r}: constraint {constraint!r} of {{{name}}} is not "
                f"supported (supported: {known})")
    return _Parameter(name, tuple(constraints), optional, catch_all)


def _parse_segment(text: str, template: str) -> _Segment:
    """Split a segment into literal text and parameters and compile its regex."""
    if not text:
        raise RouteTemplateError(f"route {template!r} has an empty segment")
    parts: list[str | _Parameter] = []
    for piece in re.split(r"(\{[^{}]*\})", text):
        if not piece:
            continue
        if piece.startswith("{"):
            parts.append(_parse_parameter(piece[1:-1], template))
        elif "{" in piece or "}" in piece:
            raise RouteTemplateError(f"route {template!r}: unbalanced braces in {text!r}")
        else:
            parts.append(piece)
    regex: list[str] = []
    count = 0
    for index, part in enumerate(parts):
        if isinstance(part, str):
            regex.append(re.escape(part))
            continue
        if len(parts) > 1 and (part.catch_all or part.optional):
            raise RouteTemplateError(
                f"route {template!r}: {{{part.name}}} cannot be optional or catch-all inside "
                f"segment {text!r}")
        if index > 0 and isinstance(parts[index - 1], _Parameter):
            raise RouteTemplateError(
                f"route {template!r}: parameters in {text!r} need literal text between them")
        # Greedy, like ASP.NET matching a complex segment from its right end.
        regex.append(f"(?P<p{count}>.+)")
        count += 1
    return _Segment(tuple(parts), re.compile("".join(regex), re.IGNORECASE | re.DOTALL))


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template; ``match`` works on the path below the route prefix."""

    text: str
    segments: tuple[_Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        """Parse ``text`` (leading/trailing ``/`` ignored); raise ``RouteTemplateError``."""
        stripped = text.strip("/")
        segments = tuple(_parse_segment(s, text) for s in stripped.split("/")) if stripped else ()
        names: set[str] = set()
        for position, segment in enumerate(segments):
            for part in segment.parts:
                if not isinstance(part, _Parameter):
                    continue
                if part.name.lower() in names:
                    raise RouteTemplateError(f"route {text!r} uses {{{part.name}}} twice")
                names.add(part.name.lower())
                last = position == len(segments) - 1
                if part.catch_all and not last:
                    raise RouteTemplateError(
                        f"route {text!r}: catch-all {{*{part.name}}} must be the last segment")
        # Only a run of trailing optional segments may be left out of a path.
        seen_optional = False
        for segment in segments:
            if segment.omissible:
                seen_optional = True
            elif seen_optional:
                raise RouteTemplateError(
                    f"route {text!r}: optional parameters must be the last segments")
        return cls(text, segments)

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: lower is more specific (compared segment by segment)."""
        return tuple(segment.rank() for segment in self.segments)

    @property
    def canonical(self) -> str:
        """The template with parameter names erased: equal for equivalent templates."""
        return "/".join(segment.canonical() for segment in self.segments)

    def match(self, path: str) -> dict[str, str] | None:
        """Route values when ``path`` (percent-encoded, no query) matches, else None.

        Each segment is decoded on its own, so ``%2F`` stays inside its segment's value.
        """
        stripped = path.strip("/")
        pieces = [unquote(piece) for piece in stripped.split("/")] if stripped else []
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            only = segment.parameter
            if only is not None and only.catch_all:
                rest = "/".join(pieces[index:])
                if rest:
                    values[only.name] = rest
                return values
            if index >= len(pieces):
                if all(later.omissible for later in self.segments[index:]):
                    return values
                return None
            found = segment.match(pieces[index])
            if found is None:
                return None
            values.update(found)
        return values if len(pieces) == len(self.segments) else None


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    """A matched target with its route values."""

    target: T
    template: RouteTemplate
    values: dict[str, str]


class RouteTable(Generic[T]):
    """Templates compiled once, each bound to a target (e.g. an HTTP function)."""

    def __init__(self, entries: list[tuple[str, T]] | None = None) -> None:
        self._entries: list[tuple[RouteTemplate, int, T]] = []
        for template, target in entries or []:
            self.add(template, target)

    def add(self, template: str, target: T) -> RouteTemplate:
        """Compile ``template`` and bind it to ``target``; raise ``RouteTemplateError``."""
        compiled = RouteTemplate.parse(template)
        self._entries.append((compiled, len(self._entries), target))
        # Stable order: precedence first, then the order routes were added.
        self._entries.sort(key=lambda entry: (entry[0].precedence, entry[1]))
        return compiled

    def match(self, path: str) -> list[RouteMatch[T]]:
        """Every target whose template matches ``path``, most specific first."""
        return list(self._iter_matches(path))

    def _iter_matches(self, path: str) -> Iterator[RouteMatch[T]]:
        for template, _, target in self._entries:
            values = template.match(path)
            if values is not None:
                yield RouteMatch(target, template, values)
