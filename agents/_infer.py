"""Where a tool can hand off, read from its source code (for tools that declare nothing).

LiveKit code never declares handoff targets: a tool just ``return``s an agent.  To draw its
graph anyway, this module parses the tool's body with :mod:`ast` and collects the agent classes
it can return (``return Billing(...)``, ``return Billing(), "msg"``, ``agent = Billing(); return
agent``, conditional returns), following small helpers (``return await self._transfer(...)``,
module-level functions) a few calls deep, and the ``AgentTask`` classes it constructs (a tool
that builds a task awaits it).  A helper that looks its agent up at run time (``return
userdata.agents[name]``) is matched by the string literal the tool passes it against the
names of the agent classes in the tool's module (``"takeaway"`` → ``Takeaway``).

Inference is static and best-effort: anything it cannot see (agents built by factories it
cannot read, names computed at run time) is simply not found.  Explicit declarations
(``handoff=`` or the return annotation) always take precedence.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import logging
import re
import textwrap
from collections.abc import Callable, Iterator
from typing import Any
from weakref import WeakKeyDictionary

log = logging.getLogger("voxfsm.agents")

_MAX_DEPTH = 3
_cache: WeakKeyDictionary[Callable[..., Any], tuple[type, ...]] = WeakKeyDictionary()


def inferred_targets(fn: Callable[..., Any]) -> tuple[type, ...]:
    """Agent classes ``fn`` can return or start as a task, found in its source (cached)."""
    fn = inspect.unwrap(fn)
    try:
        return _cache[fn]
    except (KeyError, TypeError):
        pass
    try:
        found = tuple(_Reader(fn, None, 0).targets())
    except Exception as exc:  # inference must never break building an agent or a graph
        log.debug("no handoff inference for %r: %s", fn, exc)
        found = ()
    with contextlib.suppress(TypeError):
        _cache[fn] = found
    return found


def _agent_bases() -> tuple[type, type]:
    from voxfsm.agents.agent import Agent, AgentTask

    return Agent, AgentTask


def _is_agent_class(obj: Any) -> bool:
    agent, task = _agent_bases()
    return isinstance(obj, type) and issubclass(obj, agent) and obj not in (agent, task)


def _owner_class(fn: Callable[..., Any]) -> type | None:
    """The class a method was defined in, from its qualified name (module-level classes)."""
    parts = getattr(fn, "__qualname__", "").split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    obj: Any = getattr(fn, "__globals__", {}).get(parts[0])
    for part in parts[1:-1]:
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _function_node(fn: Callable[..., Any]) -> ast.AST | None:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == fn.__name__:
            return node
    return None


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions, lambdas or classes
    (a lambda itself is yielded, its body is not)."""
    todo = list(ast.iter_child_nodes(func))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            if isinstance(node, ast.Lambda):
                yield node
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def _words(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class _Reader:
    """Reads one function; ``owner`` is the class ``self`` stands for."""

    def __init__(self, fn: Callable[..., Any], owner: type | None, depth: int) -> None:
        self.fn = fn
        self.owner = owner or _owner_class(fn)
        self.depth = depth
        self.globals: dict[str, Any] = dict(getattr(fn, "__globals__", {}))
        with contextlib.suppress(TypeError, ValueError):
            self.globals.update(inspect.getclosurevars(fn).nonlocals)
        self.found: list[type] = []
        self.assigned: dict[str, list[ast.expr]] = {}
        self.annotated: dict[str, ast.expr] = {}

    def add(self, cls: type) -> None:
        if cls not in self.found:
            self.found.append(cls)

    def targets(self) -> list[type]:
        node = _function_node(self.fn)
        if node is None:
            return []
        nodes = list(_own_nodes(node))
        for n in nodes:
            if isinstance(n, ast.Assign):
                for tgt in n.targets:
                    if isinstance(tgt, ast.Name):
                        self.assigned.setdefault(tgt.id, []).append(n.value)
            elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
                self.annotated[n.target.id] = n.annotation
                if n.value is not None:
                    self.assigned.setdefault(n.target.id, []).append(n.value)
        for n in nodes:
            if isinstance(n, ast.Return) and n.value is not None:
                self.returned(n.value, set())
            elif (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == "update_agent"
                and n.args
            ):
                # ``self.session.update_agent(LongAgent())`` in a tool: a swap the tool makes
                self.returned(n.args[0], set())
            elif isinstance(n, ast.Call):
                # building an AgentTask inside a tool means awaiting it: a task edge
                cls = self.resolve(n.func)
                _, task = _agent_bases()
                if _is_agent_class(cls) and issubclass(cls, task):
                    self.add(cls)
                elif cls is None or not _is_agent_class(cls):
                    self.tasks_of_helper(n)
        # a task built by a lambda (``group.add(lambda: GetEmailTask(), ...)``) is started
        # by the code the lambda is given to: a task edge of this function too
        _, task = _agent_bases()
        for n in nodes:
            if isinstance(n, ast.Lambda):
                for inner in ast.walk(n.body):
                    if isinstance(inner, ast.Call):
                        cls = self.resolve(inner.func)
                        if _is_agent_class(cls) and issubclass(cls, task):
                            self.add(cls)
        return self.found

    # ------------------------------------------------------------------ expressions

    def returned(self, expr: ast.expr, seen: set[str]) -> None:
        if isinstance(expr, ast.Await):
            self.returned(expr.value, seen)
        elif isinstance(expr, (ast.Tuple, ast.List)) and expr.elts:
            self.returned(expr.elts[0], seen)
        elif isinstance(expr, ast.IfExp):
            self.returned(expr.body, seen)
            self.returned(expr.orelse, seen)
        elif isinstance(expr, ast.BoolOp):
            for value in expr.values:
                self.returned(value, seen)
        elif isinstance(expr, ast.Name) and expr.id in self.assigned and expr.id not in seen:
            for value in self.assigned[expr.id]:
                self.returned(value, seen | {expr.id})
        elif isinstance(expr, ast.Call):
            self.called(expr)

    def called(self, call: ast.Call) -> None:
        target = self.resolve(call.func)
        if _is_agent_class(target):
            self.add(target)
            return
        helper, owner = self.helper(call.func)
        if helper is None or self.depth >= _MAX_DEPTH:
            return
        found = _Reader(helper, owner, self.depth + 1).targets()
        if not found:
            found = self.by_literal(call)
        for cls in found:
            self.add(cls)

    def tasks_of_helper(self, call: ast.Call) -> None:
        """``await self._collect_profile()``: the tasks a helper starts are this tool's too."""
        if self.depth >= _MAX_DEPTH:
            return
        helper, owner = self.helper(call.func)
        if helper is None or helper is self.fn:
            return
        _, task = _agent_bases()
        for cls in _Reader(helper, owner, self.depth + 1).targets():
            if issubclass(cls, task):
                self.add(cls)

    def resolve(self, expr: ast.expr) -> Any:
        """A name or dotted name looked up in the function's globals and closure."""
        if isinstance(expr, ast.Name):
            return self.globals.get(expr.id)
        if isinstance(expr, ast.Attribute):
            base = self.resolve(expr.value)
            return getattr(base, expr.attr, None) if base is not None else None
        return None

    def helper(self, func: ast.expr) -> tuple[Callable[..., Any] | None, type | None]:
        """The function a call goes to: ``self.m``, ``var.m`` (annotated var), or a global."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            name = func.value.id
            cls: Any = None
            if name in ("self", "cls"):
                cls = self.owner
            elif name in self.annotated:
                cls = self.resolve(self.annotated[name])
            if isinstance(cls, type):
                return _plain(inspect.getattr_static(cls, func.attr, None)), cls
        target = self.resolve(func)
        return _plain(target), None

    def by_literal(self, call: ast.Call) -> list[type]:
        """``self._transfer("takeaway", ...)``: match the literal against agent class names."""
        literals = [
            a.value
            for a in [*call.args, *(k.value for k in call.keywords)]
            if isinstance(a, ast.Constant) and isinstance(a.value, str)
        ]
        if not literals:
            return []
        classes = [v for v in self.globals.values() if _is_agent_class(v)]
        out = []
        for text in literals:
            want = _words(text)
            for cls in classes:
                name = _words(cls.__name__)
                if want and want in (name, name.removesuffix("agent"), name.removesuffix("task")):
                    out.append(cls)
        return out


def _plain(obj: Any) -> Callable[..., Any] | None:
    """The Python function behind a method, staticmethod, classmethod or function tool."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    fn = getattr(obj, "fn", None)  # a FunctionTool
    if fn is not None and callable(fn):
        obj = fn
    return obj if inspect.isfunction(obj) else None
