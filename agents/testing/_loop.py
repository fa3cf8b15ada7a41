"""The event loop a driver runs its session on, and the per-step deadline.

Every step runs under a deadline; a step that cannot finish is cancelled and reported, never
waited for.  Most hangs are found long before the deadline: when the loop has nothing ready,
no timer due before the deadline and no worker thread busy, nothing can ever wake the step.
Worker threads (``asyncio.to_thread``, which runs the workflow's plain ``def`` tools) are
counted by the loop's default executor; its threads are daemons, so a tool stuck in
``time.sleep`` neither holds the step past its deadline nor the process at exit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any

_POLL = 0.02
_IDLE_POLLS = 10  # 0.2 s with nothing able to run: the step can never finish
_CANCEL_GRACE = 1.0  # how long a cancelled step may take to unwind before we move on


class DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """One daemon thread per job, counting the jobs in flight (asyncio wants this base class;
    its pool is never used)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.busy = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            self.busy += 1

        def work() -> None:
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args, **kwargs))
                    except BaseException as exc:
                        future.set_exception(exc)
            finally:
                with self._lock:
                    self.busy -= 1

        threading.Thread(target=work, name="voxfsm-check-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to join: a stuck worker is a daemon and is left behind on purpose."""
        super().shutdown(wait=False)


class StepTimeout(Exception):
    """A step did not finish: ``idle`` says whether it could never finish (else: too slow)."""

    def __init__(self, idle: bool, seconds: float) -> None:
        super().__init__("step did not finish")
        self.idle = idle
        self.seconds = seconds


class _Step:
    """The step being run: its task, deadline and what the watchdog decided."""

    __slots__ = ("deadline", "handle", "idle", "started", "task", "timeout")

    def __init__(self, task: asyncio.Task[Any], started: float, deadline: float) -> None:
        self.task = task
        self.started = started
        self.deadline = deadline
        self.idle = 0
        self.timeout: StepTimeout | None = None
        self.handle: asyncio.TimerHandle | None = None


class LoopRunner:
    """A private event loop; ``run(coro, timeout)`` runs one step under a deadline.

    The deadline is kept by a watchdog timer on the loop itself (no wrapper task, no
    ``asyncio.wait`` per poll): most steps finish before it first fires.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.executor = DaemonExecutor()
        self.loop.set_default_executor(self.executor)
        self._step: _Step | None = None

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        loop = self.loop
        started = loop.time()
        step = _Step(loop.create_task(coro), started, started + timeout)
        self._step = step
        step.handle = loop.call_at(started + _POLL, self._watch, step)
        try:
            result = loop.run_until_complete(step.task)
        except BaseException:
            if step.timeout is not None:
                raise step.timeout from None
            raise
        finally:
            self._step = None
            if step.handle is not None:
                step.handle.cancel()
        if step.timeout is not None:  # cancelled at the deadline, but it returned anyway
            raise step.timeout
        if loop.time() > step.deadline + _POLL:
            # it finished, but late: something blocked the loop itself (a blocking call in
            # async code), so the watchdog could not run meanwhile
            raise StepTimeout(False, loop.time() - started)
        return result

    def cancel_step(self) -> None:
        """Stop the running step (a listener saw it go wrong); ``run`` then raises."""
        step = self._step
        if step is not None and not step.task.done():
            step.task.cancel()

    def _watch(self, step: _Step) -> None:
        loop = self.loop
        step.handle = None
        if step.task.done():
            return
        if step.timeout is not None:
            # cancelled a grace period ago and still running: abandon it (run() raises)
            loop.stop()
            return
        step.idle = step.idle + 1 if self._idle(step.deadline) else 0
        now = loop.time()
        if step.idle >= _IDLE_POLLS or now > step.deadline:
            step.timeout = StepTimeout(step.idle >= _IDLE_POLLS, now - step.started)
            step.task.cancel()
            step.handle = loop.call_later(_CANCEL_GRACE, self._watch, step)
            return
        step.handle = loop.call_later(_POLL, self._watch, step)

    def _idle(self, deadline: float) -> bool:
        """Nothing ready, no timer due before ``deadline``, no worker thread busy.

        Reads the pure-Python loop's queues; on a loop without them, report "busy" so only
        the deadline applies.  Timers due after the deadline (the session's own generous
        bounds) cannot rescue the step in time, so they do not count.
        """
        ready = getattr(self.loop, "_ready", None)
        scheduled = getattr(self.loop, "_scheduled", None)
        if ready is None or scheduled is None or self.executor.busy:
            return False
        return not ready and all(h.cancelled() or h.when() > deadline for h in scheduled)

    def _cancel_all(self) -> bool:
        """Cancel every task left, bounded; true when some did not finish."""
        loop = self.loop
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=_CANCEL_GRACE))
        return any(not t.done() for t in pending)

    def close(self) -> None:
        """Cancel what is left (bounded: a task that ignores cancellation is abandoned)."""
        loop = self.loop
        if loop.is_closed():
            return
        self._cancel_all()
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), _CANCEL_GRACE))
        loop.close()


class LoopPool:
    """Event loops handed from one conversation to the next (a new loop costs more than a
    short conversation's steps); ``close()`` when the run is over."""

    def __init__(self) -> None:
        self._idle: list[LoopRunner] = []
        self._lock = threading.Lock()

    def acquire(self) -> LoopRunner:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return LoopRunner()

    def release(self, runner: LoopRunner) -> None:
        """Cancel what ``runner`` has left and keep it for the next conversation.

        A loop with a task that ignores cancellation, or a worker thread still busy, is
        closed instead: its leftovers must not run during, or count against, another
        conversation.
        """
        if runner._cancel_all() or runner.executor.busy:
            runner.close()
            return
        with self._lock:
            self._idle.append(runner)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for runner in idle:
            runner.close()
