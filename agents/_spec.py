"""How an agent class or instance describes itself to the graph (``__fsm_state__``).

A class is described without being instantiated.  Its tools are its ``@function_tool``
methods plus the ones its constructor passes as ``tools=[...]`` (LiveKit's usual pattern),
read from the constructor's source: the names in that list are looked up in the module and
the constructor's defaults, and no code of the class runs.  An instance is described from its
own tools.  Each tool's transitions carry the declared targets and, separately, the targets a
static reading inferred (``tool.inferred_targets``, filled by the LiveKit-compatibility layer;
empty otherwise).  The one-line summary is the class docstring, or else the instructions, so
a node reads the same before and after the agent ran.
"""

from __future__ import annotations

import ast
import inspect
import logging
import textwrap
import typing
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from voxfsm.agents._ends_call import ends_call
from voxfsm.agents.context import RunContext
from voxfsm.agents.tools import FunctionTool, function_tool
from voxfsm.fsm.spec import StateSpec, TransitionSpec, Unresolved

if TYPE_CHECKING:
    from voxfsm.agents.agent import Agent

log = logging.getLogger("voxfsm.agents")


class StateHook:
    """``__fsm_state__`` works on the class (no instance needed) and on instances."""

    def __get__(self, instance: Agent | None, owner: type[Agent]) -> Callable[[], StateSpec]:
        if instance is None:
            return lambda: class_spec(owner)
        return lambda: instance_spec(instance)


def tool_transitions(tool: FunctionTool) -> tuple[TransitionSpec, ...]:
    """A tool as graph transitions: one for its handoff targets, one for its AgentTask calls."""
    from voxfsm.agents.agent import AgentTask

    try:
        info = tool.info
    except Exception as exc:  # a broken annotation is a finding, not a crash, when drawing
        return (TransitionSpec(tool.name, None, (Unresolved(tool.name, str(exc)),)),)
    declared = tuple(info.handoff_targets)
    inferred = tuple(t for t in inferred_targets(tool) if t not in declared)

    def is_task(t: object) -> bool:
        return isinstance(t, type) and issubclass(t, AgentTask)

    out = []
    plain = tuple(t for t in declared if not is_task(t))
    plain_inf = tuple(t for t in inferred if not is_task(t))
    tasks = tuple(t for t in declared if is_task(t))
    tasks_inf = tuple(t for t in inferred if is_task(t))
    if plain or plain_inf or not (tasks or tasks_inf):
        out.append(TransitionSpec(tool.name, info.description, plain, "handoff", plain_inf))
    if tasks or tasks_inf:
        out.append(TransitionSpec(tool.name, info.description, tasks, "task", tasks_inf))
    return tuple(out)


def inferred_targets(tool: FunctionTool) -> tuple[object, ...]:
    """Targets a static reading of the tool found; the hook is ``tool.inferred_targets``."""
    try:
        found = getattr(tool, "inferred_targets", ())
        if callable(found):
            found = found()
        return tuple(found or ())
    except Exception as exc:  # inference is a best effort: never break a drawing
        log.debug("cannot infer the targets of tool %r: %s", tool.name, exc)
        return ()


def context_types(tools: Iterable[FunctionTool]) -> tuple[type, ...]:
    """The ``T`` of every ``RunContext[T]`` parameter of ``tools`` (the userdata types)."""
    found: dict[type, None] = {}
    for tool in tools:
        fn = inspect.unwrap(tool.fn)
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # an unresolvable hint is reported by the tool itself
            continue
        for hint in hints.values():
            origin = typing.get_origin(hint) or hint
            if isinstance(origin, type) and issubclass(origin, RunContext):
                for arg in typing.get_args(hint):
                    if isinstance(arg, type):
                        found[arg] = None
    return tuple(found)


def _summary(cls: type, instructions: str | None) -> str:
    from voxfsm.agents.agent import Agent, AgentTask

    if cls not in (Agent, AgentTask):
        doc = (cls.__doc__ or "").strip().splitlines()
        if doc:
            return doc[0]
    lines = (instructions or "").strip().splitlines()
    return lines[0] if lines else ""


def class_spec(cls: type[Agent]) -> StateSpec:
    from voxfsm.agents.agent import class_tools, default_id

    reading = read_constructor(cls)
    methods = [t for _, t in class_tools(cls)]
    names = {t.name for t in methods}
    tools = methods + [t for t in reading.tools if t.name not in names]
    return StateSpec(
        id=default_id(cls),
        cls=cls,
        summary=_summary(cls, reading.instructions),
        terminal=bool(getattr(cls, "terminal", False)) or any(ends_call(t) for t in tools),
        transitions=tuple(ts for t in tools for ts in tool_transitions(t)) + hook_tasks(cls),
        context_types=context_types(tools),
    )


_TASK_HOOKS = ("on_enter", "on_user_turn_completed")


def hook_tasks(cls: type) -> tuple[TransitionSpec, ...]:
    """The ``AgentTask`` classes a hook starts (LiveKit runs a ``TaskGroup`` from
    ``on_enter``), as task transitions named after the hook."""
    from voxfsm.agents._infer import inferred_targets as read_targets
    from voxfsm.agents.agent import Agent, AgentTask

    out = []
    for name in _TASK_HOOKS:
        fn = getattr(cls, name, None)
        if fn is None or fn is getattr(Agent, name, None) or fn is getattr(AgentTask, name, None):
            continue
        tasks = tuple(
            t for t in read_targets(fn) if isinstance(t, type) and issubclass(t, AgentTask)
        )
        if tasks:
            when = "becomes active" if name == "on_enter" else "hears the user"
            text = f"Starts these tasks when the agent {when}."
            out.append(TransitionSpec(name, text, (), "task", tasks))
    return tuple(out)


def instance_spec(agent: Agent) -> StateSpec:
    tools = agent.all_tools()
    return StateSpec(
        id=agent.id,
        cls=type(agent),
        summary=_summary(type(agent), agent.instructions),
        terminal=bool(getattr(type(agent), "terminal", False)) or any(ends_call(t) for t in tools),
        transitions=tuple(ts for t in tools for ts in tool_transitions(t))
        + hook_tasks(type(agent)),
        context_types=context_types(tools),
    )


# ------------------------------------------------------------------ reading a constructor


class ConstructorReading(typing.NamedTuple):
    tools: tuple[FunctionTool, ...]
    instructions: str | None


_NOTHING = ConstructorReading((), None)


_readings: WeakKeyDictionary[type, ConstructorReading] = WeakKeyDictionary()


def read_constructor(cls: type) -> ConstructorReading:
    """What ``cls``'s constructor passes to ``Agent.__init__`` (cached per class)."""
    found = _readings.get(cls)
    if found is None:
        found = _readings[cls] = _read_constructor(cls)
    return found


def _read_constructor(cls: type) -> ConstructorReading:
    """The ``tools=[...]`` and constant ``instructions=`` a class passes to ``Agent.__init__``.

    The nearest ``__init__`` in the MRO that calls the base constructor with ``tools=`` or
    ``instructions=`` is read.  Only names are resolved (module globals, the constructor's
    closure and parameter defaults, attributes of modules and classes); nothing is called.
    """
    from voxfsm.agents.agent import Agent, AgentTask

    tools: tuple[FunctionTool, ...] | None = None
    instructions: str | None = None
    for klass in cls.__mro__:
        if klass in (Agent, AgentTask) or klass is object:
            break
        init = vars(klass).get("__init__")
        if init is None:
            continue
        call = _base_init_call(init)
        if call is None:
            continue
        scope = _Scope(init)
        for kw in call.keywords:
            if kw.arg == "tools" and tools is None:
                tools = tuple(_as_tools(scope.values(kw.value), klass))
            elif kw.arg == "instructions" and instructions is None:
                try:
                    value = scope.value(kw.value)
                except (LookupError, AttributeError):
                    value = None  # built at run time (an f-string, a parameter...)
                instructions = value if isinstance(value, str) else None
        if tools is not None and instructions is not None:
            break
    if tools is None and instructions is None:
        return _NOTHING
    return ConstructorReading(tools or (), instructions)


def _base_init_call(init: Any) -> ast.Call | None:
    """The ``super().__init__(...)`` (or ``Base.__init__(self, ...)``) call in ``init``."""
    try:
        source = textwrap.dedent(inspect.getsource(init))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None  # no source (built in a REPL, compiled): nothing to read
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
        ):
            return node
    return None


class _Scope:
    """Resolves names as the constructor would see them, without running it."""

    def __init__(self, init: Any) -> None:
        fn = inspect.unwrap(init)
        self.globals: dict[str, Any] = getattr(fn, "__globals__", {})
        self.locals: dict[str, Any] = {}
        code = getattr(fn, "__code__", None)
        closure = getattr(fn, "__closure__", None) or ()
        if code is not None:
            for name, cell in zip(code.co_freevars, closure, strict=False):
                try:
                    self.locals[name] = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
        try:
            for name, param in inspect.signature(fn).parameters.items():
                if param.default is not inspect.Parameter.empty:
                    self.locals[name] = param.default
        except (TypeError, ValueError):
            pass

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.locals:
                return self.locals[node.id]
            if node.id in self.globals:
                return self.globals[node.id]
            raise LookupError(node.id)
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            if not (inspect.ismodule(base) or isinstance(base, type)):
                raise LookupError(ast.unparse(node))  # never run an instance's properties
            return getattr(base, node.attr)
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            for part in node.values:  # ``tools or [a, b]``: the first value that is set
                try:
                    found = self.value(part)
                except LookupError:
                    continue
                if found:
                    return found
            return None
        if isinstance(node, (ast.List, ast.Tuple)):
            return self.values(node)
        raise LookupError(ast.unparse(node))

    def values(self, node: ast.AST) -> list[Any]:
        """The items of a list/tuple expression (``*rest`` and ``a + b`` included)."""
        if isinstance(node, (ast.List, ast.Tuple)):
            out: list[Any] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    out += self.values(elt.value)
                else:
                    try:
                        out.append(self.value(elt))
                    except (LookupError, AttributeError) as exc:
                        log.debug("cannot read tool %s of a constructor: %s", ast.unparse(elt), exc)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.values(node.left) + self.values(node.right)
        try:
            found = self.value(node)
        except (LookupError, AttributeError) as exc:
            log.debug("cannot read the tools of a constructor: %s", exc)
            return []
        return list(found) if isinstance(found, (list, tuple)) else []


def _as_tools(objs: Iterable[Any], cls: type) -> Iterable[FunctionTool]:
    for obj in objs:
        if isinstance(obj, FunctionTool):
            yield obj
        elif inspect.isfunction(obj):
            try:
                yield function_tool(obj)
            except Exception as exc:
                log.debug("%s passes %r as a tool, which is not one: %s", cls.__name__, obj, exc)


def shared_transitions(tools: Iterable[Any]) -> tuple[TransitionSpec, ...]:
    """A session's own tools (``AgentSession(tools=[...])``) as triggers every state has."""
    from voxfsm.agents.agent import _as_tool

    return tuple(ts for t in tools for ts in tool_transitions(_as_tool(t)))
