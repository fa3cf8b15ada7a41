"""Where scenarios run: in this process with asyncio, or as Ray tasks (local or a cluster).

Each Ray task receives the app reference (a string such as ``voxfsm.examples.restaurant``) and
one scenario as plain data, builds its session on the worker, and returns plain data: no
session or agent is ever pickled.  A local Ray runtime is started for the run (``num_cpus``
= the worker count) and shut down after it; ``address="ray://host:10001"`` (or ``"auto"``)
joins an existing cluster instead, whose nodes must have voxfsm and the app installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from voxfsm.io.eval.runner import EvalOptions, result_converter, run_scenario
from voxfsm.io.eval.scenario import Scenario, to_data

__all__ = ["EvalError", "choose_backend", "ray_available", "run_asyncio", "run_ray"]

log = logging.getLogger("voxfsm.io.eval")

OnResult = Callable[[dict[str, Any]], None]


class EvalError(RuntimeError):
    """The run itself failed (not a scenario): the message names the cause and the fix."""


def ray_available() -> bool:
    """Whether Ray is installed (the ``ray`` extra), without importing it."""
    return importlib.util.find_spec("ray") is not None


def choose_backend(requested: str, workers: int, address: str | None) -> str:
    """``auto``: Ray for a cluster or more than one worker when it is installed, else asyncio."""
    if requested == "ray" or address:
        if not ray_available():
            raise EvalError("Ray is not installed: pip install 'voxfsm[ray]'")
        return "ray"
    if requested == "asyncio":
        return "asyncio"
    return "ray" if workers > 1 and ray_available() else "asyncio"


def _options_data(options: EvalOptions) -> dict[str, Any]:
    data: dict[str, Any] = result_converter().unstructure(options)
    return data


async def _run_asyncio(
    app: str,
    scenarios: Sequence[Scenario],
    options: EvalOptions,
    workers: int,
    on_result: OnResult,
    timeout: float,
) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(workers)
    conv = result_converter()

    async def one(sc: Scenario) -> dict[str, Any]:
        async with gate:
            data: dict[str, Any] = conv.unstructure(await run_scenario(app, sc, options))
        on_result(data)
        return data

    try:
        return await asyncio.wait_for(asyncio.gather(*(one(s) for s in scenarios)), timeout)
    except asyncio.TimeoutError:
        raise EvalError(
            f"the evaluation took longer than {timeout:g} s (raise --timeout)"
        ) from None


def run_asyncio(
    app: str,
    scenarios: Sequence[Scenario],
    options: EvalOptions,
    *,
    workers: int = 1,
    on_result: OnResult = lambda _: None,
    timeout: float = 3600.0,
) -> list[dict[str, Any]]:
    """Every scenario as its own session in this process, ``workers`` at a time."""
    return asyncio.run(_run_asyncio(app, scenarios, options, workers, on_result, timeout))


@contextlib.contextmanager
def ray_runtime(workers: int, address: str | None, init_timeout: float = 120.0) -> Iterator[None]:
    """Ray for one run: join ``address``, or start a local runtime with ``workers`` CPUs.

    Nothing happens when Ray is already initialized (the caller owns it); a runtime started
    here is shut down at the end.
    """
    import ray

    if ray.is_initialized():
        yield
        return
    begin = time.monotonic()
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    took = time.monotonic() - begin
    log.info("Ray ready in %.1f s", took)
    if took > init_timeout:
        log.warning("starting Ray took %.0f s (more than %.0f s)", took, init_timeout)
    try:
        yield
    finally:
        ray.shutdown()


def _remote_run(app: str, scenario: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    # runs on a Ray worker: import there, so the driver never ships engine objects
    import logging as _logging

    from voxfsm.io.eval.runner import run_scenario_data

    _logging.getLogger("voxfsm.agents").setLevel(_logging.CRITICAL)
    return run_scenario_data(app, scenario, options)


def run_ray(
    app: str,
    scenarios: Sequence[Scenario],
    options: EvalOptions,
    *,
    workers: int = 2,
    address: str | None = None,
    on_result: OnResult = lambda _: None,
    timeout: float = 3600.0,
    init_timeout: float = 120.0,
) -> list[dict[str, Any]]:
    """Every scenario as one Ray task; at most ``workers`` run at once. Results in input order."""
    import ray

    with ray_runtime(workers, address, init_timeout):
        task = ray.remote(num_cpus=1, max_retries=1)(_remote_run)
        opts = _options_data(options)
        app_ref = ray.put(app)
        todo = list(enumerate(scenarios))
        pending: dict[Any, int] = {}
        results: list[dict[str, Any] | None] = [None] * len(scenarios)
        deadline = time.monotonic() + timeout
        while todo or pending:
            # keep at most `workers` tasks in flight, so a cluster is not flooded either
            while todo and len(pending) < workers:
                i, sc = todo.pop(0)
                pending[task.remote(app_ref, to_data(sc), opts)] = i
            left = deadline - time.monotonic()
            if left <= 0:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise EvalError(f"the evaluation took longer than {timeout:g} s (raise --timeout)")
            done, _ = ray.wait(list(pending), num_returns=1, timeout=min(left, 1.0))
            for ref in done:
                i = pending.pop(ref)
                try:
                    data: dict[str, Any] = ray.get(ref, timeout=max(deadline - time.monotonic(), 1))
                except Exception as exc:  # the worker itself failed: a scenario failure
                    data = _crashed(scenarios[i], app, exc)
                results[i] = data
                on_result(data)
        return [r for r in results if r is not None]


def _crashed(sc: Scenario, app: str, exc: BaseException) -> dict[str, Any]:
    error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return {
        "name": sc.name,
        "app": sc.app or app,
        "passed": False,
        "reasons": [f"the worker failed: {error}"],
        "path": [],
        "steps": [],
        "tools": [],
        "transcript": [],
        "latencies": {},
        "turns": 0,
        "seconds": 0.0,
        "worker": "",
        "error": error,
    }
