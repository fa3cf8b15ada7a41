"""After hypothesis found a failure: make it smaller, then show it.

Hypothesis's shrinker stops after a fixed number of improvements and a time limit, which a
long conversation can use up, while replaying a step list costs milliseconds; so the
failing list is minimized once more here (drop a step, or do less in it) before it is
printed as a conversation and as a regression test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._actions import Action, CallChain, CallParallel, CallTool, SayDuring, Start, TaskRoundTrip
from ._report import Failure, WorkflowFailure, conversation, regression_test

if TYPE_CHECKING:
    from ._driver import DriverConfig
    from ._machine import Conversation

Invariant = Callable[[Any], Any]


def attempt(config: DriverConfig, steps: Sequence[Action]) -> tuple[Any, BaseException | None]:
    """Run ``steps`` on a fresh driver; return it (closed) and the failure, if any."""
    from ._driver import Driver

    driver = Driver(config)
    first = steps[0] if steps and isinstance(steps[0], Start) else None
    try:
        driver.start(first)
        driver.check()
        for step in steps[1:] if first is not None else steps:
            driver.perform(step)
            driver.check()
        driver.close()
    except Exception as exc:
        return driver, exc
    finally:
        driver.dispose()
    return driver, None


def _kind(exc: BaseException) -> str:
    return exc.check if isinstance(exc, WorkflowFailure) else f"crash:{type(exc).__name__}"


def _simpler(step: Action) -> list[Action]:
    """Steps that do less than ``step`` (one call instead of several, no overlap)."""
    if isinstance(step, CallParallel):
        return list(step.calls)
    if isinstance(step, CallChain):
        shorter = [CallChain(step.calls[:-1])] if len(step.calls) > 2 else []
        return [step.calls[0], *shorter]
    if isinstance(step, SayDuring):
        return [step.call]
    if isinstance(step, Start) and step.enter_calls:
        return [Start(step.enter_calls[:-1])]
    if isinstance(step, CallTool) and step.enter_calls:
        return [CallTool(step.tool, step.arguments, step.enter_calls[:-1])]
    if isinstance(step, TaskRoundTrip) and step.on_enter:
        return [TaskRoundTrip(step.tool, step.arguments, step.fail)]
    return []


def minimize(
    config: DriverConfig,
    steps: Sequence[Action],
    kind: str,
    budget: int = 400,
    seconds: float = 60.0,
) -> tuple[list[Action], Any, BaseException] | None:
    """Drop or simplify steps one at a time while the same rule still fails.

    Hypothesis's shrinker stops after a fixed number of improvements (and a time limit),
    which long conversations can use up; replays are cheap, so finish the job here.
    """
    best = list(steps)
    found: tuple[Any, BaseException] | None = None
    changed = True
    # a replay that hangs costs up to the step deadline: bound the whole search in time too
    stop = time.monotonic() + seconds
    while changed and budget > 0 and time.monotonic() < stop:
        changed = False
        for i in reversed(range(len(best))):
            # first without the step, then with a simpler step in its place (a Start step
            # is only ever simplified: dropping it changes nothing)
            options = (
                _simpler(best[i]) if isinstance(best[i], Start) else [None, *_simpler(best[i])]
            )
            for simpler in options:
                if budget <= 0 or i >= len(best) or time.monotonic() > stop:
                    break
                budget -= 1
                trial = best[:i] + ([] if simpler is None else [simpler]) + best[i + 1 :]
                driver, exc = attempt(config, trial)
                if exc is not None and _kind(exc) == kind:
                    best, found, changed = trial, (driver, exc), True
                    break
    if found is None:
        driver, exc = attempt(config, best)  # hypothesis's own answer, replayed for its history
        if exc is None or _kind(exc) != kind:
            return None
        found = (driver, exc)
    return best, found[0], found[1]


def _importable(obj: Any) -> tuple[str, str] | None:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    return module, qualname


def failure_of(
    machine: type[Conversation],
    exc: BaseException,
    entry: Any,
    invariants: Sequence[Invariant],
    entry_import: str | None,
    entry_expr: str | None,
    replay_kwargs: str | None,
) -> Failure:
    driver = machine.last_driver
    actions: list[Action] = list(driver.actions) if driver is not None else []
    if driver is not None and driver.start_action.enter_calls:
        actions.insert(0, driver.start_action)
    smaller = minimize(machine.config, actions, _kind(exc))
    if smaller is not None:
        actions, driver, exc = smaller
    check = exc.check if isinstance(exc, WorkflowFailure) else "crash"
    message = exc.message if isinstance(exc, WorkflowFailure) else f"{type(exc).__name__}: {exc}"
    history = list(driver.session.history.items) if driver and driver.session else []
    marks = list(driver.marks) if driver is not None else []
    if entry_expr is None:
        found = _importable(entry)
        if found is not None:
            entry_import = f"from {found[0]} import {found[1].split('.')[0]}"
            entry_expr = found[1]
        else:
            entry_import, entry_expr = "# import your entry agent here", "ENTRY"
    if replay_kwargs is None:
        cfg = machine.config
        replay_kwargs, more = _kwargs_code(
            invariants, session_factory=cfg.session_factory, userdata_factory=cfg.userdata_factory
        )
        entry_import = (entry_import or "") + more
    return Failure(
        check=check,
        message=message,
        steps=tuple(actions),
        conversation=conversation(actions, history, marks),
        regression_test=regression_test(
            actions,
            entry_import=entry_import or "",
            entry_expr=entry_expr,
            replay_kwargs=replay_kwargs,
        ),
    )


def _kwargs_code(invariants: Sequence[Invariant], **factories: Any) -> tuple[str, str]:
    """The ``replay`` keyword arguments for the regression test, and the imports they need."""
    args: list[str] = []
    imports: list[tuple[str, str]] = []
    for key, fn in factories.items():
        if fn is None:
            continue
        where = _importable(fn)
        if where is None:
            args.append(f"{key}=...,  # the {key} you used")
            continue
        imports.append(where)
        args.append(f"{key}={where[1]}")
    names = [_importable(f) for f in invariants]
    if names and all(n is not None for n in names):
        found = [n for n in names if n is not None]
        imports.extend(found)
        args.append(f"invariants=[{', '.join(q for _, q in found)}]")
    elif names:
        args.append("invariants=[...],  # the invariants you checked")
    code = "".join(f"\nfrom {m} import {q.split('.')[0]}" for m, q in dict.fromkeys(imports))
    return "\n".join(a if a.endswith(",") or "#" in a else a + "," for a in args), code
