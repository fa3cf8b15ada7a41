"""``voxfsm console APP``: talk to a workflow with the microphone, audio files, or by typing.

Failures follow the command-line contract (:mod:`voxfsm.io.cli.errors`): the output file is
checked before the call, a signal (Ctrl-C, SIGTERM, SIGHUP) writes what was recorded so far
and exits 130, and every problem is one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import threading
from typing import Any

from rich.console import Console
from rich.text import Text

from voxfsm.io.cli.app import App, load_app, start_session
from voxfsm.io.cli.errors import CLIError, UsageError, run_async
from voxfsm.io.cli.warm import prepare_llm

logger = logging.getLogger(__name__)

HELP = {
    "/help": "show these commands",
    "/agent": "show the active agent",
    "/quit": "end the conversation (also /exit, or Ctrl-D)",
}


def end_silence_ms(text: str) -> int:
    """``--end-silence-ms``: whole milliseconds between 100 and 10000."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ms") from None
    if not 100 <= value <= 10_000:
        raise argparse.ArgumentTypeError(
            f"{value} ms is outside 100-10000 (300 suits quick talkers, 800 slow ones)"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "app", nargs="?", help="workflow: path/to/file.py[:NAME] or package.module[:NAME]"
    )
    parser.add_argument("--text", action="store_true", help="type instead of speaking")
    parser.add_argument(
        "--input",
        metavar="IN.wav",
        help="read the user's speech from an audio file (WAV of any kind, FLAC, OGG)",
    )
    parser.add_argument(
        "--output", metavar="OUT.wav", help="write the agents' speech to a .wav, .flac or .ogg"
    )
    parser.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    parser.add_argument("--input-device", metavar="DEV", help="microphone: index or name part")
    parser.add_argument("--output-device", metavar="DEV", help="speaker: index or name part")
    parser.add_argument(
        "--stt",
        choices=["vosk", "whisper"],
        help="speech recognizer (default: vosk when a vosk model is installed, else whisper)",
    )
    parser.add_argument(
        "--scripted",
        action="store_true",
        help="keep the app's own LLM instead of the local model (the default when installed)",
    )
    parser.add_argument("--llm", metavar="URL", help="OpenAI-compatible server (e.g. llama.cpp)")
    parser.add_argument("--model", metavar="NAME", help="model name on the --llm server")
    parser.add_argument(
        "--end-silence-ms",
        type=end_silence_ms,
        default=300,
        metavar="MS",
        help="silence that ends your turn (default 300; raise it if you get cut off mid-pause)",
    )


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def _list_devices(console: Console) -> int:
    from voxfsm.io.audio import list_devices

    devices = list_devices()
    if not devices:
        raise CLIError(
            "no audio devices (no sound card, or no PulseAudio/PipeWire server reachable); "
            "use --input IN.wav --output OUT.wav, or --text"
        )
    console.print("  < default input, > default output")
    for device in devices:
        console.print(str(device), markup=False)
    return 0


def _override_plugins(session: Any, args: argparse.Namespace, console: Console) -> None:
    # the command line wins over what make_session() chose
    if args.llm or args.model:
        from voxfsm.agents.llm import OpenAILLM

        session.update_options(llm=OpenAILLM(model=args.model or "default", base_url=args.llm))
        console.print(Text(f"LLM: {args.model or '(server default)'} at {args.llm}", style="dim"))
    else:
        from voxfsm.agents.llm.local import default_llm

        llm, notice = default_llm(scripted=args.scripted)
        if llm is None:
            console.print(Text(f"LLM: the app's own ({notice})", style="dim"))
        else:
            session.update_options(llm=llm)
            console.print(Text(notice, style="dim"))


def choose_stt(name: str | None) -> tuple[Any, str]:
    """The recognizer to use and how to describe it.

    ``name`` forces one; without it vosk is used when a vosk model is installed (streaming,
    lowest latency), else whisper tiny.en when faster-whisper and its model are; with
    neither, a :class:`CLIError` says how to install one.
    """
    from voxfsm.io.models import ModelNotFoundError

    if name == "whisper":
        from voxfsm.io.stt import WhisperSTT

        return WhisperSTT(), "whisper tiny.en"
    if name == "vosk":
        from voxfsm.io.stt import VoskSTT

        return VoskSTT(), "vosk"
    from voxfsm.io.stt.vosk import resolve_vosk_model
    from voxfsm.io.stt.whisper import resolve_whisper_model

    try:
        import vosk  # noqa: F401

        path = resolve_vosk_model()
    except (ImportError, ModelNotFoundError) as exc:
        no_vosk = str(exc)
    else:
        from voxfsm.io.stt import VoskSTT

        return VoskSTT(path), f"vosk ({path.name})"
    try:
        import faster_whisper  # noqa: F401

        resolve_whisper_model("tiny.en")
    except (ImportError, ModelNotFoundError) as exc:
        raise CLIError(
            "no speech recognizer is installed: for whisper, `pip install 'voxfsm[whisper]'`; "
            f"for vosk: {no_vosk}"
        ) from exc
    from voxfsm.io.stt import WhisperSTT

    return WhisperSTT(), "whisper tiny.en (no vosk model installed)"


class _StdinLines:
    """Lines typed on stdin, read by a daemon thread with ``os.read``; ``None`` at the end.

    ``os.read`` takes no Python-level lock, so a reader still blocked when the console ends
    (a pipe left open) cannot abort the interpreter at shutdown, and it does not keep
    ``asyncio`` waiting as a ``to_thread`` worker would.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = loop
        threading.Thread(target=self._read, name="voxfsm-stdin", daemon=True).start()

    def _put(self, line: str | None) -> None:
        # a closed loop raises RuntimeError: nobody is listening any more
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self.queue.put_nowait, line)

    def _read(self) -> None:
        pending = b""
        try:
            fd = sys.stdin.fileno()
            while chunk := os.read(fd, 4096):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._put(line.decode("utf-8", "replace").rstrip("\r"))
        except (OSError, ValueError, AttributeError):
            pass  # no usable stdin: the same as its end
        if pending.strip():
            self._put(pending.decode("utf-8", "replace"))
        self._put(None)


def _show_help(console: Console) -> None:
    for command, what in HELP.items():
        console.print(Text.assemble((f"  {command:<8}", "bold"), what))


async def _text_mode(app: App, args: argparse.Namespace, console: Console) -> int:
    from voxfsm.io.cli.transcript import TranscriptPrinter

    session = app.new_session()
    _override_plugins(session, args, console)
    await prepare_llm(session, console, app)
    session.output = None
    printer = TranscriptPrinter(console)
    printer.attach(session)
    interactive = sys.stdin.isatty()  # piped turns were never seen on screen: echo them
    console.print(Text("type your turn and press Enter; /help lists commands", style="dim"))
    lines = _StdinLines(asyncio.get_running_loop())
    async with session:
        await start_session(session, app.new_entry())
        while True:
            if interactive:
                console.print(Text("you> ", style="bold"), end="")
            line = await lines.queue.get()
            if line is None:
                break
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit"):
                break
            if text == "/help":
                _show_help(console)
                continue
            if text == "/agent":
                console.print(Text(f"active agent: {session.current_agent.id}", style="dim"))
                continue
            if text.startswith("/") and " " not in text:
                console.print(Text(f"unknown command {text}; /help lists them", style="yellow"))
                continue
            if not interactive:
                printer.user(line)
            try:
                await session.run(user_input=line)
            except Exception as exc:  # a failed turn (LLM down...) must not end the console
                console.print(Text(f"turn failed: {' '.join(str(exc).split())}", style="red"))
    return 0


async def _voice_mode(app: App, args: argparse.Namespace, console: Console) -> int:
    from voxfsm.io.audio import Microphone, Speaker, WavSink, WavSource, check_output_path
    from voxfsm.io.cli.view import ConsoleView
    from voxfsm.io.loop import VoiceLoop
    from voxfsm.io.stt import WhisperSTT
    from voxfsm.io.tts import Pyttsx3TTS

    # everything that can be checked is checked before the call starts
    if args.output:
        check_output_path(args.output)
    source: Any = WavSource(args.input, realtime=True) if args.input else None
    session = app.new_session()
    _override_plugins(session, args, console)
    await prepare_llm(session, console, app)
    # offline defaults for whatever the app leaves unset (the loop brings its own VAD)
    stt = None
    if args.stt or session.stt is None:
        stt, described = choose_stt(args.stt)
        console.print(Text(f"speech recognition: {described}", style="dim"))
        if args.stt:
            session.update_options(stt=stt)
            stt = None
    tts = None if session.tts is not None else Pyttsx3TTS()
    prepare = getattr(session.stt or stt, "prepare", None)
    if prepare is not None:
        with console.status("loading the speech recognition model…"):
            await prepare()
    if source is None:
        source = Microphone(_device(args.input_device))
    sink: Any = (
        WavSink(args.output, realtime=True) if args.output else Speaker(_device(args.output_device))
    )
    try:
        # open the devices now: a missing one is reported before anything else happens
        for end in (source, sink):
            if hasattr(end, "start"):
                await end.start()
        recognizer = session.stt or stt
        loop = VoiceLoop(
            session,
            source=source,
            sink=sink,
            stt=stt,
            tts=tts,
            end_silence_ms=args.end_silence_ms,
            # a batch recognizer starts decoding early in the silence; measured in
            # bench/voice_latency.py, this is what brings whisper under 500 ms
            speculate_ms=60 if isinstance(recognizer, WhisperSTT) else None,
        )
        view = ConsoleView(session, loop, console)
        view.attach()
        heard_from = args.input or "the microphone"
        console.print(Text(f"listening to {heard_from}; Ctrl-C ends", style="dim"))
        try:
            async with session, view.live():
                await loop.run(app.new_entry())
        finally:
            view.summary()
    finally:
        # also on Ctrl-C, SIGTERM or SIGHUP: the recording so far is written
        await source.aclose()
        await sink.aclose()
        if args.output:
            console.print(Text(f"wrote {args.output}", style="dim"))
    return 0


async def _main(args: argparse.Namespace, console: Console) -> int:
    app = load_app(args.app)
    if args.text:
        return await _text_mode(app, args, console)
    return await _voice_mode(app, args, console)


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    if args.list_devices:
        return _list_devices(console)
    if not args.app:
        raise UsageError("name the workflow, e.g. `voxfsm console voxfsm.examples.restaurant`")
    if args.text and (args.input or args.output):
        raise UsageError("--text cannot be combined with --input/--output")
    return run_async(_main(args, console))
