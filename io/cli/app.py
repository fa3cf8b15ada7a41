"""Load a user's workflow from ``path/to/file.py`` or ``package.module``, with ``:NAME``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from voxfsm.io.cli.errors import CLIError, UsageError


class AppError(UsageError):
    """The APP argument cannot be loaded; the message says why and what to pass instead."""


class AppFailed(CLIError):
    """The app's own code raised while being imported or built; the message says where."""


def _failed(what: str, exc: BaseException) -> AppFailed:
    text = " ".join(str(exc).split())
    error = AppFailed(
        f"{what} raised {type(exc).__name__}: {text} (run with --debug for the traceback)"
    )
    error.__cause__ = exc
    return error


async def start_session(session: Any, agent: Any) -> None:
    """``session.start(agent)``; the app's own failure (its ``on_enter``) becomes one line."""
    from voxfsm.io.cli.errors import is_expected

    try:
        await session.start(agent)
    except Exception as exc:
        if is_expected(exc) or isinstance(exc, CLIError):
            raise
        raise _failed(f"starting {type(agent).__name__} (its on_enter)", exc) from exc


@attrs.frozen
class App:
    """A loaded workflow: its module, the entry agent and the optional session factory."""

    module: ModuleType
    name: str
    entry: Any
    make_session: Callable[[], Any] | None

    def new_entry(self) -> Any:
        """A fresh entry agent instance (classes and factories are called, instances reused)."""
        from voxfsm.agents import Agent

        entry = self.entry
        if isinstance(entry, Agent):
            return entry
        if callable(entry):
            made = self._call(entry, f"{self.name}()")
            if not isinstance(made, Agent):
                raise AppError(f"{self.name}() returned {type(made).__name__}, not an Agent")
            return made
        raise AppError(f"{self.name} is {type(entry).__name__}, not an Agent class or instance")

    def _call(self, factory: Callable[[], Any], what: str) -> Any:
        import inspect

        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):
            signature = None
        if signature is not None:
            required = [
                p.name
                for p in signature.parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            if required:
                raise AppError(
                    f"{what} needs arguments ({', '.join(required)}); give the APP an entry "
                    "that takes none, e.g. `def entry(): return MyAgent(...)`, and run APP:entry"
                )
        try:
            return factory()
        except (AppError, AppFailed):
            raise
        except Exception as exc:
            raise _failed(f"{self.module.__name__}: {what}", exc) from exc

    def new_session(self, **defaults: Any) -> Any:
        """The session ``make_session()`` returns, or a plain one built from ``defaults``."""
        from voxfsm.agents import AgentSession

        if self.make_session is not None:
            session = self._call(self.make_session, "make_session()")
            if not isinstance(session, AgentSession):
                raise AppError("make_session() must return an unstarted AgentSession")
            return session
        return AgentSession(**defaults)


def _import_file(path: Path) -> ModuleType:
    name = path.stem if path.stem.isidentifier() else "voxfsm_app"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AppError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    # registered before exec so dataclasses, pickling and typing can find the module
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise AppError(f"{path} has a syntax error: {exc}") from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raise _failed(f"importing {path}", exc) from exc
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_app(spec: str) -> App:
    """Import ``spec`` (``file.py[:NAME]`` or ``pkg.module[:NAME]``); NAME defaults to ``entry``."""
    target, _, name = spec.partition(":")
    name = name or "entry"
    if target.endswith(".py") or Path(target).is_file():
        path = Path(target)
        if not path.is_file():
            raise AppError(f"no such file: {target}")
        module = _import_file(path.resolve())
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if exc.name is not None and not target.startswith(exc.name):
                raise _failed(f"importing {target}", exc) from exc  # the app imports a module
            raise AppError(
                f"cannot import {target!r} ({exc}); pass a path ending in .py or an importable "
                "module, e.g. voxfsm.examples.restaurant"
            ) from exc
        except Exception as exc:
            raise _failed(f"importing {target}", exc) from exc
    if not hasattr(module, name):
        raise AppError(
            f"{module.__name__} has no attribute {name!r}; name the entry agent with "
            f"{target}:NAME or define `entry` in the module"
        )
    make_session = getattr(module, "make_session", None)
    return App(
        module, name, getattr(module, name), make_session if callable(make_session) else None
    )
