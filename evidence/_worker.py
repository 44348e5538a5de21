"""The decoder sandbox's worker process: ``python -m evidence._worker FD MEMORY PARENT SYSPATH``.

It reads ``(function, args)`` pairs (pickled by the trusted caller) from the connection on
file descriptor FD, runs each, and answers with JSON bytes, ``["ok", result]`` or
``["error", text]``: never a pickle, so a decoder subverted by a hostile file cannot make the
caller run code. It lives until told to stop, until the caller closes the connection, or
(Linux) the moment the caller dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
from multiprocessing.connection import Connection

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    # not Linux: no prctl, but EOF on the connection still ends the worker
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the caller died before we asked
        os._exit(1)


def serve(conn: Connection, memory_bytes: int) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        try:
            answer = json.dumps(["ok", fn(*args)])
        except BaseException as exc:  # report anything; the worker lives on
            answer = json.dumps(["error", f"{type(exc).__name__}: {exc}"[:500]])
        conn.send_bytes(answer.encode())


if __name__ == "__main__":
    fd, memory, parent, path = sys.argv[1:5]
    _die_with(int(parent))
    sys.path[:] = json.loads(path)
    serve(Connection(int(fd)), int(memory))
