"""Check the orchestrators' code and follow the app's functions it reaches, transitively.

From each orchestrator, every call (or function passed on) that resolves to a function of
the app is checked in turn, once, however many orchestrators reach it; constructing or
using one of the app's classes checks its ``__init__``, its validators and its class body.
Code outside the app folder is never entered: a call into it is checked against the rules
at the call site. Functions that are triggers themselves (activities, HTTP functions) are
never entered either: the worker runs them, not the orchestrator.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass

from devhost.lint.discovery import is_trigger
from devhost.lint.report import Finding
from devhost.lint.rules import ASYNC, Rule, call_rule, method_rule, reference_rule
from devhost.lint.scope import AppClass, AppFunction, External, FunctionScope, Resolver, Target
from devhost.lint.sources import ClassSource, ModuleSource, decorator_names

__all__ = ["CheckedCode", "Walked", "walk"]

# Methods that run when a class is constructed or validated (dataclasses, pydantic).
CONSTRUCTION_METHODS = ("__new__", "__init__", "__post_init__", "model_post_init")
VALIDATOR_SUFFIX = "validator"


@dataclass(frozen=True)
class CheckedCode:
    """The lines of one function (or class body) that were checked, for allow comments."""

    module: ModuleSource
    first_line: int
    last_line: int


@dataclass(frozen=True)
class _Work:
    function: AppFunction
    orchestrator: str


def _finding(module: ModuleSource, node: ast.AST, rule: Rule, message: str) -> Finding:
    line = getattr(node, "lineno", 1)
    return Finding(module.path, line, getattr(node, "col_offset", 0) + 1, rule.name,
                   message, rule.fix, getattr(node, "end_lineno", None) or line)


def _short(qualname: str) -> str:
    return qualname.rpartition(".")[2]


class _BodyChecker(ast.NodeVisitor):
    """Checks one body: reports what breaks a rule, collects the app code it reaches."""

    def __init__(self, scope: FunctionScope, module: ModuleSource, where: str) -> None:
        self.scope = scope
        self.module = module
        self.where = where
        self.findings: list[Finding] = []
        self.reached: list[Target] = []

    def _report(self, node: ast.AST, rule: Rule, what: str) -> None:
        self.findings.append(_finding(self.module, node, rule,
                                      f"{what} {rule.problem}, {self.where}"))

    def _shown(self, expr: ast.expr, qualname: str, call: str = "") -> str:
        """How the name found reads in the message: as written, and what it resolved to."""
        written = ast.unparse(expr)
        if any(isinstance(node, ast.Call) for node in ast.walk(expr)):
            return f"`{qualname}{call}`"
        shown = f"`{written}{call}`"
        return shown if written == qualname else f"{shown} ({qualname})"

    def _descend_chain(self, expr: ast.expr) -> None:
        """Visit what a dotted chain is built on, when that is more than a name."""
        while isinstance(expr, ast.Attribute):
            expr = expr.value
        if not isinstance(expr, ast.Name):
            self.visit(expr)

    def _target(self, expr: ast.expr) -> Target:
        """What ``expr`` is; the app classes it goes through count as used
        (``Model.model_validate`` runs ``Model``'s validators and field defaults)."""
        value = self.scope.evaluate(expr)
        if value is None:
            return None
        parts = value.qualname.split(".")
        for cut in range(1, len(parts)):
            outer = self.scope.resolver.target(".".join(parts[:cut]))
            if isinstance(outer, AppClass):
                self.reached.append(outer)
        return self.scope.resolver.target(value.qualname)

    def visit_Call(self, node: ast.Call) -> None:
        """A call: an app function to follow, or a name outside the app to check."""
        # What the call is made on first: ``threading.Thread(...).start()`` is reported
        # once, at the call that creates the thread.
        self._descend_chain(node.func)
        target = self._target(node.func)
        rule: Rule | None = None
        if isinstance(target, External):
            rule = call_rule(target.qualname, node)
        elif target is not None:
            self.reached.append(target)
        if rule is None and not isinstance(target, AppFunction) \
                and isinstance(node.func, ast.Attribute):
            rule = method_rule(node.func.attr)
        if rule is not None and not self._reported(node, rule):
            shown = (self._shown(node.func, target.qualname, "()")
                     if isinstance(target, External) else f"`{ast.unparse(node.func)}()`")
            self._report(node, rule, shown)
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            self.visit(argument)

    def _reported(self, node: ast.AST, rule: Rule) -> bool:
        """Whether ``rule`` was reported already where ``node`` starts."""
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0) + 1
        return any((f.line, f.col, f.rule) == (line, col, rule.name) for f in self.findings)

    def _reference(self, node: ast.Name | ast.Attribute) -> None:
        if not isinstance(node.ctx, ast.Load):
            return
        target = self._target(node)
        if isinstance(target, External):
            rule = reference_rule(target.qualname)
            if rule is not None:
                self._report(node, rule, self._shown(node, target.qualname))
        elif isinstance(target, AppFunction | AppClass):
            self.reached.append(target)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        """A dotted name read (not called): ``os.environ``, a function passed on."""
        self._reference(node)
        self._descend_chain(node)

    def visit_Name(self, node: ast.Name) -> None:
        """A bare name read (not called)."""
        self._reference(node)

    def visit_Await(self, node: ast.Await) -> None:
        """``await`` suspends a coroutine the SDK never drives."""
        self._report(node, ASYNC, "`await`")
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        """``async for`` awaits on every step."""
        self._report(node, ASYNC, "`async for`")
        self.generic_visit(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        """``async with`` awaits on entry and exit."""
        self._report(node, ASYNC, "`async with`")
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        """``async for`` inside a comprehension."""
        if node.is_async:
            self._report(node.iter, ASYNC, "`async for` in a comprehension")
        self.generic_visit(node)


class _Walk:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.findings: list[Finding] = []
        self.checked: list[CheckedCode] = []
        self.functions: list[str] = []
        self._seen: set[int] = set()
        self._classes_seen: set[int] = set()
        self._pending: deque[_Work] = deque()

    def run(self, orchestrators: list[AppFunction]) -> None:
        for orchestrator in orchestrators:
            self._queue(orchestrator, orchestrator.qualname)
        while self._pending:
            self._check(self._pending.popleft())

    def _queue(self, function: AppFunction, orchestrator: str) -> None:
        if id(function.node) not in self._seen:
            self._seen.add(id(function.node))
            self._pending.append(_Work(function, orchestrator))

    def _check(self, work: _Work) -> None:
        function, node = work.function, work.function.node
        is_orchestrator = function.qualname == work.orchestrator
        where = (f"in orchestrator {_short(function.qualname)}" if is_orchestrator else
                 f"in {_short(function.qualname)}, reached from orchestrator "
                 f"{_short(work.orchestrator)}")
        self.functions.append(function.qualname)
        first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        self.checked.append(CheckedCode(function.module, first, node.end_lineno or node.lineno))
        if isinstance(node, ast.AsyncFunctionDef):
            what = ("`async def` orchestrator: the SDK drives only generator functions, so "
                    "this coroutine never runs as one" if is_orchestrator else
                    "`async def` function called from an orchestrator: calling it only "
                    "makes a coroutine, which the SDK never runs")
            self.findings.append(_finding(function.module, node, ASYNC, f"{what}, {where}"))
        scope = FunctionScope(self.resolver, function.module, function)
        checker = _BodyChecker(scope, function.module, where)
        for statement in node.body:
            checker.visit(statement)
        self._absorb(checker, work.orchestrator)

    def _absorb(self, checker: _BodyChecker, orchestrator: str) -> None:
        self.findings += checker.findings
        for target in checker.reached:
            if isinstance(target, AppFunction) and not is_trigger(target.node):
                self._queue(target, orchestrator)
            elif isinstance(target, AppClass):
                self._check_class(target, orchestrator)

    def _check_class(self, found: AppClass, orchestrator: str) -> None:
        """A class the orchestrator uses: its construction, validators and class body."""
        source = found.source
        if id(source.node) in self._classes_seen:
            return
        self._classes_seen.add(id(source.node))
        for name in CONSTRUCTION_METHODS:
            method = self.resolver.target(f"{source.qualname}.{name}")
            if isinstance(method, AppFunction):
                self._queue(method, orchestrator)
        for name, method_node in source.methods.items():
            if any(d.endswith(VALIDATOR_SUFFIX) for d in decorator_names(method_node)):
                self._queue(AppFunction(found.module, method_node,
                                        f"{source.qualname}.{name}", source), orchestrator)
        self._check_class_body(found.module, source, orchestrator)

    def _check_class_body(self, module: ModuleSource, source: ClassSource,
                          orchestrator: str) -> None:
        """Field defaults and other class-level statements (``default_factory=...``)."""
        where = f"in class {source.name}, used by orchestrator {_short(orchestrator)}"
        checker = _BodyChecker(FunctionScope(self.resolver, module), module, where)
        for statement in source.node.body:
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                checker.visit(statement)
                self.checked.append(CheckedCode(module, statement.lineno,
                                                statement.end_lineno or statement.lineno))
        self._absorb(checker, orchestrator)


@dataclass(frozen=True)
class Walked:
    """What checking the orchestrators found, and what code it read to find it."""

    findings: list[Finding]
    checked: list[CheckedCode]
    # The functions checked, as ``module.function``: the orchestrators first.
    functions: list[str]


def walk(resolver: Resolver, orchestrators: list[AppFunction]) -> Walked:
    """Check ``orchestrators`` and everything of the app they reach."""
    walking = _Walk(resolver)
    walking.run(orchestrators)
    return Walked(walking.findings, walking.checked, walking.functions)
