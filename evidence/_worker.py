"""The decoder sandbox's worker process: ``python -m evidence._worker FD MEMORY SYSPATH``.

It reads ``(function, args)`` pairs from the connection on file descriptor FD, runs each,
and answers ``("ok", result)`` or ``("error", text)``, until told to stop or the caller goes.
"""

from __future__ import annotations

import json
import resource
import sys
from multiprocessing.connection import Connection


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
            conn.send(("ok", fn(*args)))
        except BaseException as exc:  # report anything; the worker lives on
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))


if __name__ == "__main__":
    fd, memory, path = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path[:] = json.loads(path)
    serve(Connection(int(fd)), int(memory))
