"""Loaded by every Python process of an offline-proof run (it is put on PYTHONPATH).

An audit hook (PEP 578) sees each ``socket.connect``/``sendto``/``getaddrinfo`` before it
happens, so attempts that fail (as they must with no network) are recorded too.  Each
attempt to reach a non-loopback address is appended at once to the file named by
``VOXFSM_NET_REPORT``, so a process that is killed still leaves its record.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

_REPORT = os.environ.get("VOXFSM_NET_REPORT")


def _is_local(host: object) -> bool:
    if host in (None, "", "localhost", b"localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    if _REPORT:
        with open(_REPORT, "a") as f:
            f.write(f"{os.getpid()} {what}\n")


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event in ("socket.connect", "socket.sendto"):
        sock, address = args[0], args[-1]
        if getattr(sock, "family", None) == getattr(socket, "AF_UNIX", None):
            return
        host = address[0] if isinstance(address, tuple) else address
        if not _is_local(host):
            _record(f"{event} {address!r}")
    elif event == "socket.getaddrinfo" and not _is_local(args[0]):
        _record(f"{event} {args[0]!r}")


if _REPORT:
    sys.addaudithook(_hook)
    # a process that started under the hook says so, so the test can tell it was watched
    with open(_REPORT + ".pids", "a") as f:
        f.write(f"{os.getpid()} {' '.join(sys.argv)[:200]}\n")
