"""The decoder sandbox's worker: ``python -m evidence._worker R,W MEMORY PARENT SYSPATH PRELOAD``.

It imports the modules named in PRELOAD (a JSON list), then reads ``(function, args,
cpu_seconds)`` triples (pickled by the trusted caller) from the pipe on file descriptor R and
answers on the one on W (:mod:`evidence._channel`). Before a call's budget starts it imports
the libraries the function's module names in its ``DECODER_IMPORTS`` (FFmpeg's, the PDF
parser's: once per worker, and only for the kinds of file it is given), so that importing
them is not counted as decoding. It runs each call and answers with JSON bytes, ``["ok",
result]`` or ``["error", text]``: never a pickle, so a decoder subverted by a hostile file
cannot make the caller run code. A call given
``cpu_seconds`` runs under a profiling timer (``ITIMER_PROF``: CPU time of all the worker's
threads, whatever the machine's load): when it expires, ``SIGPROF``, left at its default
action, kills the worker, wherever native code is. It lives until told to stop, until the
caller closes the connection, or (Linux) the moment the caller dies.

A caller that runs alone (one thread) may instead fork() it (:func:`run_forked`): the child
starts from the caller's imports instead of a fresh interpreter's, then cuts itself off from
the caller's state (its standard streams on ``/dev/null``, every descriptor but its pipes'
closed, the caller's objects never collected, its signal handlers reset) and runs
:func:`serve` as the fresh worker does, under the same limits, which it applies to itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import resource
import signal
import sys
from typing import NoReturn

from evidence._channel import Channel

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    # not Linux: no prctl, but EOF on the connection still ends the worker
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the caller died before we asked
        os._exit(1)


def _preload(modules: list[str]) -> None:
    """Import ``modules`` (those not imported yet). What importing makes lives as long as the
    worker: the garbage collector, which would go through it again and again meanwhile
    (FFmpeg's and the PDF parser's modules: a tenth of their import), waits, then leaves it
    out of every later collection (``gc.freeze``)."""
    missing = [name for name in modules if name not in sys.modules]
    if not missing:
        return
    collecting = gc.isenabled()
    gc.disable()
    try:
        for name in missing:
            with contextlib.suppress(Exception):  # a missing decoder fails the call that needs it
                importlib.import_module(name)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


def serve(conn: Channel, memory_bytes: int) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGPROF, signal.SIG_DFL)  # an expired CPU budget ends the process
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args, cpu_seconds = message  # unpickling imported fn's module
        _preload(list(getattr(sys.modules.get(fn.__module__), "DECODER_IMPORTS", ())))
        try:
            if cpu_seconds:
                signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
            try:
                result = fn(*args)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            answer = json.dumps(["ok", result])
        except BaseException as exc:  # report anything; the worker lives on
            answer = json.dumps(["error", f"{type(exc).__name__}: {exc}"[:500]])
        conn.send_bytes(answer.encode())


def run_forked(
    fds: tuple[int, int], memory_bytes: int, parent: int, preload: list[str]
) -> NoReturn:
    """The worker in a child the caller fork()ed (from its only thread): never returns.

    What a fresh interpreter does not have, it drops first: the caller's objects are never
    collected here (``gc.freeze``: a finalizer would close a descriptor number this process
    reuses, or flush the caller's buffers), its standard streams go to ``/dev/null`` and every
    other descriptor but ``fds`` is closed (the caller's files, sockets and database
    connections), and the signal handlers it set are reset. It exits with ``os._exit`` (no
    ``atexit`` handler of the caller's runs); the exit status is a fresh worker's."""
    code = 1
    try:
        gc.freeze()
        _detach(keep=fds)
        _reset_signal_handlers()
        _die_with(parent)
        _preload(preload)
        serve(Channel(*fds), memory_bytes)
        code = 0
    finally:
        os._exit(code)


def _detach(keep: tuple[int, ...]) -> None:
    """Standard streams on ``/dev/null`` and every other descriptor but those in ``keep``
    closed, as ``subprocess`` leaves a fresh worker."""
    null = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(null, std)
    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: every number up to the limit
        open_fds = list(range(3, os.sysconf("SC_OPEN_MAX")))
    for fd in open_fds:
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _reset_signal_handlers() -> None:
    """The handlers a fresh interpreter starts with: a signal the caller handles in Python
    gets its default action back (SIGINT: KeyboardInterrupt); one it ignores stays ignored,
    as it would across ``exec``."""
    for number in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError):
            handler = signal.getsignal(number)
            if callable(handler) and handler is not signal.default_int_handler:
                default = signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL
                signal.signal(number, default)


if __name__ == "__main__":
    fds, memory, parent, path, preload = sys.argv[1:6]
    _die_with(int(parent))
    sys.path[:] = json.loads(path)
    _preload(json.loads(preload))
    read_fd, write_fd = map(int, fds.split(","))
    serve(Channel(read_fd, write_fd), int(memory))
