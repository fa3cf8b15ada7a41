"""The command line's contract for failures, interruptions and signals.

Every expected failure is ONE line on stderr, ``voxfsm COMMAND: what is wrong; what to do``,
and exit code 1; a usage error exits 2; an interrupted command (Ctrl-C, SIGTERM, SIGHUP)
exits 130 after writing what it had recorded so far. ``--debug`` adds the traceback.
Messages are printed as plain text, never as rich markup, so ``[voice]`` or ``[/INST]`` in
an error shows as written.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CLIError",
    "Interrupted",
    "UsageError",
    "describe",
    "run_async",
]

T = TypeVar("T")

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

# a module that the named extra brings; a missing one gets the install hint, not a traceback
_EXTRAS = {
    "numpy": "voice",
    "sounddevice": "voice",
    "soundfile": "voice",
    "soxr": "voice",
    "vosk": "voice",
    "pyttsx3": "voice",
    "webrtcvad": "voice",
    "pysbd": "voice",
    "faster_whisper": "whisper",
    "ctranslate2": "whisper",
    "piper": "piper",
    "onnxruntime": "piper",
}


class CLIError(Exception):
    """An expected failure: the message says what is wrong and how to fix it (exit 1)."""


class UsageError(CLIError):
    """The command line itself is wrong (exit 2)."""


class Interrupted(Exception):
    """The command was stopped by a signal after cleaning up (exit 130)."""

    def __init__(self, signame: str) -> None:
        super().__init__(f"interrupted by {signame}")
        self.signame = signame


def _missing_module_hint(exc: ImportError) -> str | None:
    name = (getattr(exc, "name", None) or "").split(".")[0]
    extra = _EXTRAS.get(name)
    if extra is None:
        return None
    return (
        f"this needs {name}, which comes with the {extra!r} extra: "
        f"pip install 'voxfsm[{extra}]' (a full install: bash .ci/install)"
    )


def describe(exc: BaseException) -> str:
    """One line for ``exc``: its message, or for a bug its type and a pointer to ``--debug``."""
    if isinstance(exc, ImportError) and (hint := _missing_module_hint(exc)):
        return hint
    text = " ".join(str(exc).split())  # one line, whatever the message held
    expected = (CLIError, OSError, ValueError, ImportError, TimeoutError)
    if is_expected(exc) or isinstance(exc, expected):
        return text or type(exc).__name__
    return f"unexpected {type(exc).__name__}: {text} (run with --debug for the traceback)"


def is_expected(exc: BaseException) -> bool:
    """Errors whose message is written for the user (LLM, audio devices, models)."""
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(
        names
        & {
            "LLMError",
            "AudioDeviceError",
            "AudioFileError",
            "ModelNotFoundError",
            "ModelDownloadError",
            "VoiceLoopError",
            "PluginError",
        }
    )


def report(command: str, exc: BaseException, *, debug: bool) -> int:
    """Print ``exc`` for ``command`` and return the exit code it means."""
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if isinstance(exc, (KeyboardInterrupt, Interrupted)):
        what = exc.signame if isinstance(exc, Interrupted) else "Ctrl-C"
        print(f"voxfsm {command}: interrupted ({what})", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"voxfsm {command}: {describe(exc)}", file=sys.stderr)
    return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` where SIGINT, SIGTERM and SIGHUP cancel ``main``.

    The coroutine's ``finally`` blocks run (writing the WAV, the transcript) before
    :class:`Interrupted` is raised; a second signal while cleaning up is left to the
    default handler, so a stuck clean-up can still be killed.
    """
    received: list[str] = []

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        installed: list[int] = []

        def on_signal(signum: int) -> None:
            received.append(signal.Signals(signum).name)
            for sig in installed:  # the next one kills, as the user expects
                loop.remove_signal_handler(sig)
                signal.signal(
                    sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
                )
            task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, on_signal, sig)
                installed.append(sig)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                pass
        try:
            return await main
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    try:
        result = _run(guarded())
    except asyncio.CancelledError:
        if received:
            raise Interrupted(received[0]) from None
        raise
    if received:  # the command swallowed the cancellation but was still stopped
        raise Interrupted(received[0])
    return result


def _run(main: Coroutine[Any, Any, T], executor_grace_s: float = 5.0) -> T:
    """Like ``asyncio.run``, but waits at most ``executor_grace_s`` for worker threads.

    ``asyncio.run`` on Python 3.11 waits forever for ``to_thread`` work still running (a
    model load, a blocked read); a command must end, so stuck workers are left behind and
    :func:`voxfsm.io.cli.main` exits without joining them.
    """
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending, timeout=executor_grace_s))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(
                asyncio.wait(
                    [loop.create_task(loop.shutdown_default_executor())],
                    timeout=executor_grace_s,
                )
            )
        finally:
            asyncio.set_event_loop(None)
            loop.close()
