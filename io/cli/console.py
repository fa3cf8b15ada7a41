"""``voxfsm console APP``: talk to a workflow with the microphone, WAV files, or by typing."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from typing import Any

from rich.console import Console

from voxfsm.io.cli.app import App, load_app

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "app", nargs="?", help="workflow: path/to/file.py[:NAME] or package.module[:NAME]"
    )
    parser.add_argument("--text", action="store_true", help="type instead of speaking")
    parser.add_argument("--input", metavar="IN.wav", help="read the user's speech from a WAV file")
    parser.add_argument(
        "--output", metavar="OUT.wav", help="write the agents' speech to a WAV file"
    )
    parser.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    parser.add_argument("--input-device", metavar="DEV", help="microphone: index or name part")
    parser.add_argument("--output-device", metavar="DEV", help="speaker: index or name part")
    parser.add_argument("--stt", choices=["vosk", "whisper"], help="speech recognizer to use")
    parser.add_argument("--llm", metavar="URL", help="OpenAI-compatible server (e.g. llama.cpp)")
    parser.add_argument("--model", metavar="NAME", help="model name on the --llm server")
    parser.add_argument(
        "--end-silence-ms",
        type=int,
        default=300,
        metavar="MS",
        help="silence that ends your turn (default 300; raise it if you get cut off mid-pause)",
    )


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def _list_devices(console: Console) -> int:
    from voxfsm.io.audio import AudioDeviceError, list_devices

    try:
        devices = list_devices()
    except AudioDeviceError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    if not devices:
        console.print(
            "no audio devices (no sound card, or no PulseAudio/PipeWire server reachable). "
            "Use --input IN.wav --output OUT.wav, or --text."
        )
        return 1
    console.print("  < default input, > default output")
    for device in devices:
        console.print(str(device), markup=False)
    return 0


def _override_plugins(session: Any, args: argparse.Namespace, console: Console) -> None:
    # the command line wins over what make_session() chose
    if args.llm or args.model:
        from voxfsm.agents.llm import OpenAILLM

        session.update_options(llm=OpenAILLM(model=args.model or "default", base_url=args.llm))
        console.print(f"[dim]LLM: {args.model or '(server default)'} at {args.llm}[/dim]")
    if args.stt:
        session.update_options(stt=_make_stt(args.stt))


def _make_stt(name: str) -> Any:
    if name == "whisper":
        from voxfsm.io.stt import WhisperSTT

        return WhisperSTT()
    from voxfsm.io.stt import VoskSTT

    return VoskSTT()


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines typed on stdin; ``None`` at end of input.

    A daemon thread of our own, not ``to_thread``: a worker blocked in ``input()`` would
    keep ``asyncio.run`` from exiting after Ctrl-C.
    """
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        while True:
            try:
                line: str | None = input()
            except (EOFError, OSError):
                line = None
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if line is None:
                return

    threading.Thread(target=read, name="voxfsm-stdin", daemon=True).start()
    return lines


async def _text_mode(app: App, args: argparse.Namespace, console: Console) -> int:
    from voxfsm.io.cli.transcript import TranscriptPrinter

    session = app.new_session()
    _override_plugins(session, args, console)
    session.output = None
    printer = TranscriptPrinter(console)
    printer.attach(session)
    echo = not sys.stdin.isatty()  # piped turns were never seen on screen: show them
    console.print("[dim]type your turn and press Enter; Ctrl-D or /quit ends[/dim]")
    lines = _stdin_lines(asyncio.get_running_loop())
    async with session:
        await session.start(app.new_entry())
        while (line := await lines.get()) is not None and line.strip() not in ("/quit", "/exit"):
            if not line.strip():
                continue
            if echo:
                printer.user(line)
            try:
                await session.run(user_input=line)
            except Exception as exc:  # a failed turn (LLM down...) must not end the console
                console.print(f"[red]turn failed: {exc}[/red]")
    return 0


async def _voice_mode(app: App, args: argparse.Namespace, console: Console) -> int:
    from voxfsm.io.audio import Microphone, Speaker, WavSink, WavSource
    from voxfsm.io.cli.view import ConsoleView
    from voxfsm.io.loop import VoiceLoop
    from voxfsm.io.tts import Pyttsx3TTS

    session = app.new_session()
    _override_plugins(session, args, console)
    # offline defaults for whatever the app leaves unset (the loop brings its own VAD)
    stt = None if session.stt is not None else _make_stt("vosk")
    tts = None if session.tts is not None else Pyttsx3TTS()
    prepare = getattr(session.stt or stt, "prepare", None)
    if prepare is not None:
        with console.status("loading the speech recognition model…"):
            await prepare()
    source: Any = (
        WavSource(args.input, realtime=True)
        if args.input
        else Microphone(_device(args.input_device))
    )
    sink: Any = (
        WavSink(args.output, realtime=True) if args.output else Speaker(_device(args.output_device))
    )
    # open the devices now: a missing one is reported before anything else happens
    try:
        for end in (source, sink):
            if hasattr(end, "start"):
                await end.start()
    except BaseException:
        await source.aclose()
        raise
    from voxfsm.io.stt import WhisperSTT

    loop = VoiceLoop(
        session,
        source=source,
        sink=sink,
        stt=stt,
        tts=tts,
        end_silence_ms=args.end_silence_ms,
        # a batch recognizer starts decoding early in the silence; measured in
        # bench/voice_latency.py, this is what brings whisper under 500 ms
        speculate_ms=60 if isinstance(stt, WhisperSTT) else None,
    )
    view = ConsoleView(session, loop, console)
    view.attach()
    heard_from = args.input or "the microphone"
    console.print(f"[dim]listening to {heard_from}; Ctrl-C ends[/dim]")
    try:
        async with session, view.live():
            await loop.run(app.new_entry())
    finally:
        await source.aclose()
        await sink.aclose()
        view.summary()
        if args.output:
            console.print(f"[dim]wrote {args.output}[/dim]")
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
        console.print("voxfsm console: name the workflow, e.g. `voxfsm console my_app.py`")
        return 2
    if args.text and (args.input or args.output):
        console.print("voxfsm console: --text cannot be combined with --input/--output")
        return 2
    from voxfsm.io.audio import AudioDeviceError
    from voxfsm.io.models import ModelNotFoundError

    try:
        return asyncio.run(_main(args, console))
    except KeyboardInterrupt:
        console.print("[dim]bye[/dim]")
        return 0
    except (AudioDeviceError, ModelNotFoundError, FileNotFoundError, ImportError) as exc:
        console.print(f"voxfsm console: {exc}", markup=False)
        return 1
