"""Run crash-prone decoders (FFmpeg, the PDF parser) where they cannot take the caller down.

A :class:`DecoderSandbox` keeps one worker process (a fresh interpreter running
``evidence._worker``: it shares no locks or threads with the caller and never imports the
caller's ``__main__``) and sends it one call at a time. The worker runs under an
address-space limit; the caller waits at most ``seconds`` for the answer, and a call may be
given a budget of CPU time (``cpu_seconds``), which the worker's kernel enforces: a decoder
that computes too long is killed after that much work whatever the machine's load, so the
verdict does not depend on how busy the machine was. A call that hangs is killed; a worker
that dies (a segfault in native code, the memory limit) is replaced on the next call. Either
way the caller gets a :class:`SandboxFailure`, never an exception.

Answers come back as JSON (the function must return plain data), bounded in size: the caller
never unpickles what a process that parsed hostile bytes sends it. The worker dies with its
caller, and a forked child of the caller starts its own worker rather than share one.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

MAX_ANSWER_BYTES = 16 * 1024 * 1024
# What the evidence decoders import. The worker imports a decoder's libraries before the first
# call that needs them (the ``DECODER_IMPORTS`` of the function's module), outside the call's
# CPU budget, so that importing FFmpeg or libheif is never counted against a file; a sandbox
# may also import all of them when its worker starts (``preload``).
DECODER_MODULES = ("evidence.image", "evidence.video", "evidence.pdf", "av", "pypdf")


@dataclass(frozen=True)
class SandboxFailure:
    cause: Literal["timeout", "crash", "error"]
    detail: str


class DecoderSandbox:
    def __init__(self, *, seconds: float, memory_bytes: int, preload: tuple[str, ...] = ()) -> None:
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self.preload = preload
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        _all_sandboxes.add(self)

    def call(self, fn: Callable[..., Any], *args: Any, cpu_seconds: float | None = None) -> Any:
        """``fn(*args)`` in the worker: its JSON-shaped result, or a :class:`SandboxFailure`.

        ``fn`` must be importable by the worker and return plain data (JSON types); the
        caller must check that data's shape, as it comes from a process that read hostile bytes.
        With ``cpu_seconds``, the call may use that much CPU time (all the worker's threads
        together) and no more: past it the worker is killed and the answer is a ``timeout``.
        """
        with self._lock:
            conn = self._ensure_worker()
            try:
                conn.send((fn, args, cpu_seconds))
                if not conn.poll(self.seconds):
                    self._stop(kill=True)
                    return SandboxFailure("timeout", f"gave no answer within {self.seconds:g} s")
                answer = json.loads(conn.recv_bytes(MAX_ANSWER_BYTES))
            except (EOFError, OSError):
                code = self._stop(kill=True)
                if code == -signal.SIGPROF:
                    return SandboxFailure(
                        "timeout", f"used up its {cpu_seconds:g} s of CPU time without an answer"
                    )
                return SandboxFailure("crash", f"the decoder process died (exit code {code})")
            except ValueError:  # not JSON: the worker is not ours to trust any more
                self._stop(kill=True)
                return SandboxFailure("error", "the decoder process answered nonsense")
            if isinstance(answer, list) and len(answer) == 2 and answer[0] == "ok":
                return answer[1]
            detail = answer[1] if isinstance(answer, list) and len(answer) == 2 else answer
            return SandboxFailure("error", str(detail)[:500])

    def _forget_after_fork(self) -> None:
        """In a forked child: the worker is the parent's; start afresh on the next call."""
        self._lock = threading.Lock()
        if self._conn is not None:
            self._conn.close()  # the child's copy of the descriptor only
        self._process = self._conn = None

    def close(self) -> None:
        with self._lock:
            self._stop(kill=False)

    def _ensure_worker(self) -> Connection:
        if self._process is not None and self._process.poll() is None and self._conn is not None:
            return self._conn
        self._stop(kill=True)
        ours, theirs = socket.socketpair()
        with ours, theirs:
            process = _spawner.popen(
                [
                    sys.executable,
                    "-m",
                    "evidence._worker",
                    str(theirs.fileno()),
                    str(self.memory_bytes),
                    str(os.getpid()),
                    json.dumps(sys.path),
                    json.dumps(list(self.preload)),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # FFmpeg and libheif talk on stderr
            )
            conn = Connection(ours.detach())
        self._process, self._conn = process, conn
        return conn

    def _stop(self, *, kill: bool) -> int | None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            if not kill:
                with contextlib.suppress(OSError):
                    conn.send(None)
            conn.close()
        if process is None:
            return None
        if kill:
            process.kill()
        try:
            return process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a worker that ignores EOF
            process.kill()
            return process.wait()


class _Spawner:
    """Starts workers from one long-lived thread.

    The worker asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``), but
    Linux means the parent *thread*: a worker started from a request thread of a web server
    would die with that thread. Started from this thread, which lives as long as the process,
    it dies with the process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: queue.Queue[tuple[list[str], dict[str, Any], queue.Queue[Any]]] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None

    def popen(self, argv: list[str], **options: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="evidence-worker-spawner", daemon=True
                )
                self._thread.start()
        done: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._requests.put((argv, options, done))
        result = done.get()
        if isinstance(result, BaseException):
            raise result
        return result  # type: ignore[no-any-return]

    def _serve(self) -> None:
        while True:
            argv, options, done = self._requests.get()
            try:
                done.put(subprocess.Popen(argv, **options))
            except BaseException as exc:  # handed to the asking thread
                done.put(exc)


_spawner = _Spawner()
_all_sandboxes: weakref.WeakSet[DecoderSandbox] = weakref.WeakSet()
_shared: dict[tuple[float, int], DecoderSandbox] = {}
_shared_lock = threading.Lock()


def shared_sandbox(seconds: float, memory_bytes: int) -> DecoderSandbox:
    """One sandbox per (time, memory) limit for the whole process, closed at exit.

    Its worker imports each decoder when first given a file for it (a replay of photos and
    PDFs never imports FFmpeg), before that call's CPU budget starts.
    """
    with _shared_lock:
        key = (seconds, memory_bytes)
        if key not in _shared:
            _shared[key] = DecoderSandbox(seconds=seconds, memory_bytes=memory_bytes)
        return _shared[key]


@atexit.register
def _close_shared() -> None:
    for sandbox in _shared.values():
        sandbox.close()


def _after_fork_in_child() -> None:
    global _shared_lock, _spawner  # noqa: PLW0603 - other threads' state is lost at fork()
    _shared_lock = threading.Lock()
    _spawner = _Spawner()
    for sandbox in list(_all_sandboxes):
        sandbox._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
