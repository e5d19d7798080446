"""The app's own modules, read as syntax trees: where each lives and what its names bind.

Only files inside the app folder are read, the way the Python worker finds them with the
folder first on ``sys.path``: ``a.b`` is ``a/b.py``, ``a/b/__init__.py`` or a namespace
folder ``a/b/``. Nothing is imported or run.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from devhost.errors import AppLoadError

__all__ = [
    "AppSources",
    "Binding",
    "ClassSource",
    "FunctionNode",
    "ModuleSource",
    "UnreadableApp",
    "decorator_names",
    "import_bindings",
]

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# The comments this lint reads (allow comments) all carry this marker.
COMMENT_MARKER = b"devhost:"


class UnreadableApp(AppLoadError):
    """The app folder, or one of the modules it imports, cannot be read or parsed."""


@dataclass(eq=False)
class ClassSource:
    """A module-level class: its methods by name and the expressions of its bases."""

    name: str
    qualname: str
    node: ast.ClassDef
    methods: dict[str, FunctionNode]


# What a module-level name is bound to: a dotted name it imports, the expression assigned
# to it, or a function or class the module defines.
Binding = str | ast.expr | ast.FunctionDef | ast.AsyncFunctionDef | ClassSource


@dataclass(eq=False)
class ModuleSource:
    """One app module: its tree, its comments by line and its module-level names."""

    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    # The ``devhost:`` comment of each line that has one, with its column.
    comments: dict[int, tuple[int, str]] = field(default_factory=dict)
    bindings: dict[str, Binding] = field(default_factory=dict)
    # Dotted names of everything its module-level imports may load, app modules or not.
    imported: list[str] = field(default_factory=list)

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def decorator_names(node: FunctionNode) -> list[str]:
    """The name each decorator ends in: ``bp.activity_trigger(...)`` -> ``activity_trigger``."""
    names = []
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute):
            names.append(target.attr)
        elif isinstance(target, ast.Name):
            names.append(target.id)
    return names


def _relative_base(package: str, level: int, module: str | None) -> str:
    """The absolute module ``from <level dots><module> import ...`` names in ``package``."""
    parts = package.split(".") if package else []
    keep = len(parts) - (level - 1)
    base = ".".join(parts[:max(keep, 0)])
    if module:
        return f"{base}.{module}" if base else module
    return base


def import_bindings(node: ast.Import | ast.ImportFrom, package: str) -> dict[str, str]:
    """The local names an import statement binds, each to the dotted name it refers to."""
    bound: dict[str, str] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                bound[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                bound[top] = top
        return bound
    base = (_relative_base(package, node.level, node.module) if node.level
            else node.module or "")
    for alias in node.names:
        if alias.name != "*":
            bound[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
    return bound


def _imported_names(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """Every module an import statement may load (``from m import n`` may load ``m.n``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = (_relative_base(package, node.level, node.module) if node.level
            else node.module or "")
    names = [base] if base else []
    names += [f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"]
    return names


def _module_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements run at import time, including those under module-level if/try/with."""
    found: list[ast.stmt] = []
    for statement in body:
        found.append(statement)
        if isinstance(statement, ast.If | ast.With):
            found += _module_statements(statement.body)
            if isinstance(statement, ast.If):
                found += _module_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody,
                          *(handler.body for handler in statement.handlers)):
                found += _module_statements(block)
    return found


def _comments(data: bytes) -> dict[int, tuple[int, str]]:
    """Each line's ``devhost:`` comment, with its column (tokenizing is the slow part of
    reading a module, so a file without the marker is not tokenized)."""
    found: dict[int, tuple[int, str]] = {}
    if COMMENT_MARKER not in data:
        return found
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.COMMENT and COMMENT_MARKER.decode() in token.string:
                found[token.start[0]] = (token.start[1], token.string)
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def _class_source(module: str, node: ast.ClassDef) -> ClassSource:
    methods = {item.name: item for item in node.body
               if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)}
    return ClassSource(node.name, f"{module}.{node.name}", node, methods)


def parse_module(name: str, path: Path, is_package: bool) -> ModuleSource:
    """Read and parse one module file; ``UnreadableApp`` when it cannot be."""
    try:
        data = path.read_bytes()
        tree = ast.parse(data, filename=str(path))
    except OSError as err:
        raise UnreadableApp(f"cannot read {path}: {err.strerror or err}") from err
    except (SyntaxError, ValueError) as err:
        where = f"{path}:{err.lineno}" if isinstance(err, SyntaxError) else str(path)
        raise UnreadableApp(f"cannot parse {where}: {err}") from err
    module = ModuleSource(name, path, is_package, tree, _comments(data))
    for statement in _module_statements(tree.body):
        if isinstance(statement, ast.Import | ast.ImportFrom):
            module.bindings.update(import_bindings(statement, module.package))
            module.imported += _imported_names(statement, module.package)
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            module.bindings[statement.name] = statement
        elif isinstance(statement, ast.ClassDef):
            module.bindings[statement.name] = _class_source(name, statement)
        elif isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) \
                else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    module.bindings[target.id] = statement.value
    return module


class AppSources:
    """The modules of one app folder, parsed on first use and kept."""

    def __init__(self, app_dir: Path) -> None:
        self.app_dir = app_dir
        self._modules: dict[str, ModuleSource | None] = {}

    def _locate(self, name: str) -> tuple[Path, bool] | None:
        """The file of app module ``name`` (a namespace folder for one without a file)."""
        parts = name.split(".")
        if not all(part.isidentifier() for part in parts):
            return None
        base = self.app_dir.joinpath(*parts)
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py"), False
        if base.is_dir():
            return base / "__init__.py", True
        return None

    def module(self, name: str) -> ModuleSource | None:
        """The app module called ``name``, or None when the app folder has none by that name."""
        if name not in self._modules:
            found = self._locate(name)
            if found is None:
                self._modules[name] = None
            elif found[0].is_file():
                self._modules[name] = parse_module(name, *found)
            else:
                # A namespace package: a folder without __init__.py binds nothing itself.
                self._modules[name] = ModuleSource(name, found[0].parent, True, ast.Module([], []))
        return self._modules[name]

    def loaded(self) -> list[ModuleSource]:
        """Every app module read so far."""
        return [module for module in self._modules.values() if module is not None]
