"""What a name in the app's code refers to, worked out from the source alone.

A name resolves to a ``Ref`` (a dotted name: ``datetime.datetime.now`` for ``dt.now`` after
``from datetime import datetime as dt``) or an ``Instance`` (a value of a class: a parameter
annotated with it, or a variable assigned from calling it). ``Resolver.target`` then says
whether a dotted name is one of the app's functions, classes or modules, or lies outside the
app. Whatever cannot be told from the source (attributes of ``self``, values returned by
calls, containers) resolves to None.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from dataclasses import dataclass

from devhost.lint.sources import (
    AppSources,
    ClassSource,
    FunctionNode,
    ModuleSource,
    decorator_names,
    import_bindings,
)

__all__ = ["AppClass", "AppFunction", "External", "FunctionScope", "Instance", "Ref",
           "Resolver", "Target", "Value"]

# Resolution follows at most this many re-exports and aliases before giving up (cycles).
MAX_DEPTH = 32
BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(frozen=True)
class Ref:
    """A name that refers to a module, function or class by its dotted name."""

    qualname: str


@dataclass(frozen=True)
class Instance:
    """A value of the class named ``qualname``."""

    qualname: str


Value = Ref | Instance | None


@dataclass(frozen=True)
class AppFunction:
    """A function (or method, with its ``owner``) defined in one of the app's modules."""

    module: ModuleSource
    node: FunctionNode
    qualname: str
    owner: ClassSource | None = None


@dataclass(frozen=True)
class AppClass:
    """A class defined in one of the app's modules."""

    module: ModuleSource
    source: ClassSource


@dataclass(frozen=True)
class External:
    """Something outside the app folder: the standard library or an installed package."""

    qualname: str


# None: part of the app, but not something this lint can follow (a module's constant...).
Target = AppFunction | AppClass | External | ModuleSource | None

NameLookup = Callable[[str], Value]


class Resolver:
    """Resolves names and dotted names against one app's sources."""

    def __init__(self, sources: AppSources) -> None:
        self.sources = sources
        self._in_progress: set[tuple[str, str]] = set()

    def target(self, qualname: str, depth: int = 0) -> Target:
        """What the dotted name ``qualname`` is, following the app's re-exports."""
        parts = qualname.split(".")
        for cut in range(len(parts), 0, -1):
            module = self.sources.module(".".join(parts[:cut]))
            if module is not None:
                return self._inside(module, parts[cut:], depth)
        return External(qualname)

    def _inside(self, module: ModuleSource, rest: list[str], depth: int) -> Target:
        if not rest:
            return module
        if depth > MAX_DEPTH:
            return None
        name, more = rest[0], rest[1:]
        binding = module.bindings.get(name)
        if isinstance(binding, ast.FunctionDef | ast.AsyncFunctionDef):
            return None if more else AppFunction(module, binding, f"{module.name}.{name}")
        if isinstance(binding, ClassSource):
            return self._member(module, binding, more, depth)
        if isinstance(binding, str):
            return self.target(".".join([binding, *more]), depth + 1)
        if isinstance(binding, ast.expr):
            value = self.module_value(module, name)
            if isinstance(value, Ref):
                return self.target(".".join([value.qualname, *more]), depth + 1)
            if isinstance(value, Instance) and more:
                return self.target(".".join([value.qualname, *more]), depth + 1)
        return None

    def _member(self, module: ModuleSource, source: ClassSource, rest: list[str],
                depth: int) -> Target:
        """A class, or a method found on it or on its bases."""
        if not rest:
            return AppClass(module, source)
        method = source.methods.get(rest[0])
        if method is not None:
            qualname = f"{source.qualname}.{rest[0]}"
            return None if rest[1:] else AppFunction(module, method, qualname, source)
        for base in source.node.bases:
            value = evaluate(base, lambda name: self.module_value(module, name), self)
            if isinstance(value, Ref):
                found = self.target(".".join([value.qualname, *rest]), depth + 1)
                if found is not None:
                    return found
        return None

    def module_value(self, module: ModuleSource, name: str) -> Value:
        """What the module-level ``name`` of ``module`` refers to."""
        binding = module.bindings.get(name)
        if isinstance(binding, str):
            return Ref(binding)
        if isinstance(binding, ast.FunctionDef | ast.AsyncFunctionDef):
            return Ref(f"{module.name}.{name}")
        if isinstance(binding, ClassSource):
            return Ref(binding.qualname)
        if isinstance(binding, ast.expr):
            key = (module.name, name)
            if key in self._in_progress:
                return None
            self._in_progress.add(key)
            try:
                return evaluate(binding, lambda other: self.module_value(module, other), self)
            finally:
                self._in_progress.discard(key)
        return Ref(f"builtins.{name}") if name in BUILTIN_NAMES else None

    def is_class(self, qualname: str) -> bool:
        """Whether calling ``qualname`` makes an instance of it.

        Known for the app's own classes; for other code, guessed from the naming convention
        (``pathlib.Path``, ``requests.Session``).
        """
        found = self.target(qualname)
        if isinstance(found, AppClass):
            return True
        return isinstance(found, External) and qualname.rpartition(".")[2][:1].isupper()


def evaluate(expr: ast.expr, lookup: NameLookup, resolver: Resolver) -> Value:
    """What the expression ``expr`` refers to, with ``lookup`` for its bare names."""
    if isinstance(expr, ast.Name):
        return lookup(expr.id)
    if isinstance(expr, ast.Attribute):
        base = evaluate(expr.value, lookup, resolver)
        return Ref(f"{base.qualname}.{expr.attr}") if base is not None else None
    if isinstance(expr, ast.Call):
        called = evaluate(expr.func, lookup, resolver)
        if isinstance(called, Ref) and resolver.is_class(called.qualname):
            return Instance(called.qualname)
    return None


def annotation_value(expr: ast.expr | None, lookup: NameLookup, resolver: Resolver) -> Value:
    """The class an annotation names (``X``, ``"X"``, ``X | None``, ``Optional[X]``)."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            expr = ast.parse(expr.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        sides = [side for side in (expr.left, expr.right)
                 if not (isinstance(side, ast.Constant) and side.value is None)]
        return annotation_value(sides[0], lookup, resolver) if len(sides) == 1 else None
    if isinstance(expr, ast.Subscript):
        wrapper = evaluate(expr.value, lookup, resolver)
        if isinstance(wrapper, Ref) and wrapper.qualname == "typing.Optional":
            return annotation_value(expr.slice, lookup, resolver)
        return None
    value = evaluate(expr, lookup, resolver)
    return Instance(value.qualname) if isinstance(value, Ref) else None


def _stored_names(node: ast.AST) -> list[str]:
    """Names a statement or expression binds other than by plain assignment."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        return [node.id]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


class FunctionScope:
    """The names one function body sees: its own first, then its module's (without a
    function: what a class body sees)."""

    def __init__(self, resolver: Resolver, module: ModuleSource,
                 function: AppFunction | None = None) -> None:
        self.resolver = resolver
        self.module = module
        self._values: dict[str, Value] = {}
        self._bound: set[str] = set()
        if function is not None:
            self._read(function)

    def lookup(self, name: str) -> Value:
        """What ``name`` refers to inside this function."""
        if name in self._values:
            return self._values[name]
        if name in self._bound:
            return None
        return self.resolver.module_value(self.module, name)

    def evaluate(self, expr: ast.expr) -> Value:
        """What ``expr`` refers to inside this function."""
        return evaluate(expr, self.lookup, self.resolver)

    def _set(self, name: str, value: Value) -> None:
        """Bind ``name``; a name bound to two different things is unknown."""
        if name in self._bound and self._values.get(name) != value:
            self._values[name] = None
        else:
            self._values[name] = value
        self._bound.add(name)

    def _read(self, function: AppFunction) -> None:
        node = function.node
        decorators = set(decorator_names(node))
        params = [*node.args.posonlyargs, *node.args.args]
        if function.owner is not None and params and "staticmethod" not in decorators:
            first = params.pop(0)
            owner = function.owner.qualname
            self._set(first.arg, Ref(owner) if "classmethod" in decorators
                      else Instance(owner))
        for param in [*params, *node.args.kwonlyargs]:
            self._set(param.arg, annotation_value(param.annotation, self.lookup, self.resolver))
        for extra in (node.args.vararg, node.args.kwarg):
            if extra is not None:
                self._bound.add(extra.arg)
        for child in ast.walk(ast.Module(node.body, [])):
            self._read_binding(child)

    def _read_binding(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name, qualname in import_bindings(node, self.module.package).items():
                self._set(name, Ref(qualname))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            self._set(node.targets[0].id, self.evaluate(node.value))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = annotation_value(node.annotation, self.lookup, self.resolver)
            self._set(node.target.id, value)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for inner in ast.walk(target):
                    for name in _stored_names(inner):
                        self._set(name, None)
        else:
            for name in _stored_names(node):
                if not (isinstance(node, ast.Name) and name in self._bound):
                    self._set(name, None)
