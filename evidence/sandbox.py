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

A fresh interpreter costs its start-up and the imports every call needs (about 0.1 s of CPU),
more than decoding a few small files. A caller that runs alone may have the worker fork()ed
from it instead (:func:`fork_workers_when_alone`; the command-line interface does, a library
user or the web server does not): only while the process has one thread (fork() copies no
other thread, and a lock another thread held would stay locked in the child), otherwise the
fresh interpreter starts as before. The forked worker drops what it inherited that a fresh
one does not have (``evidence._worker.run_forked``), applies the same memory limit to itself
and takes the same CPU budgets; its address space starts as large as the caller's, which the
limit counts.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import select
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from evidence._channel import Channel

if TYPE_CHECKING:  # a fresh interpreter's start imports subprocess; a forked worker's does not
    import subprocess

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


class _Process(Protocol):
    """A worker process, as the sandbox handles it (:class:`_Spawned` or :class:`_Forked`);
    ``wait`` raises ``TimeoutError`` when it is still running after ``timeout`` seconds."""

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class DecoderSandbox:
    """``fork``: start the worker by fork() when this process has one thread (True), never
    (False), or as :func:`fork_workers_when_alone` says for the whole process (None)."""

    def __init__(
        self,
        *,
        seconds: float,
        memory_bytes: int,
        preload: tuple[str, ...] = (),
        fork: bool | None = None,
    ) -> None:
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self.preload = preload
        self.fork = fork
        self._lock = threading.Lock()
        self._process: _Process | None = None
        self._conn: Channel | None = None
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

    def _ensure_worker(self) -> Channel:
        if self._process is not None and self._process.poll() is None and self._conn is not None:
            return self._conn
        self._stop(kill=True)
        calls_read, calls_write = os.pipe()  # calls to the worker
        answers_read, answers_write = os.pipe()  # its answers
        theirs = (calls_read, answers_write)
        try:
            fork = _fork_by_default if self.fork is None else self.fork
            if fork and _alone():
                process: _Process = _Forked.start(theirs, self.memory_bytes, list(self.preload))
            else:
                process = _Spawned(_spawner.popen(theirs, self.memory_bytes, list(self.preload)))
        except BaseException:
            for fd in (*theirs, answers_read, calls_write):
                os.close(fd)
            raise
        for fd in theirs:  # the worker's ends: its own now
            os.close(fd)
        conn = Channel(answers_read, calls_write)
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
        except TimeoutError:  # pragma: no cover - a worker that ignores EOF
            process.kill()
            return process.wait()


class _Spawned:
    """A worker started as a fresh interpreter (``subprocess.Popen``)."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def kill(self) -> None:
        self.popen.kill()

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"worker {self.pid} still running after {timeout} s") from None


class _Forked:
    """A worker fork()ed from this process (its only thread), handled as ``Popen`` would be."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    @classmethod
    def start(cls, fds: tuple[int, int], memory_bytes: int, preload: list[str]) -> _Forked:
        from evidence import _worker  # before fork(): the child has it

        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns (coverage cannot see it)
            _worker.run_forked(fds, memory_bytes, parent, preload)
        return cls(pid)

    def poll(self) -> int | None:
        if self.returncode is None:
            self._reap(os.WNOHANG)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and timeout is not None:
            _wait_exit(self.pid, timeout)
            if self.poll() is None:
                raise TimeoutError(f"worker {self.pid} still running after {timeout} s")
        if self.returncode is None:
            self._reap(0)
        assert self.returncode is not None
        return self.returncode

    def _reap(self, options: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, options)
        except ChildProcessError:  # reaped elsewhere: its status is lost, as Popen says
            self.returncode = 0
            return
        if pid == self.pid:
            self.returncode = os.waitstatus_to_exitcode(status)


def _wait_exit(pid: int, timeout: float) -> None:
    """Wait at most ``timeout`` seconds for the child ``pid`` to exit (not reaping it)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): poll its status
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return
            except ChildProcessError:  # reaped elsewhere
                return
            time.sleep(0.005)
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


def _alone() -> bool:
    """Whether this process has one thread, the one asking (Python's, and on Linux the
    kernel's count, which sees threads a native library started)."""
    if threading.active_count() != 1:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: Python's own count
        return True


_fork_by_default = False


def fork_workers_when_alone(enabled: bool = True) -> bool:
    """Let every sandbox of this process (``fork=None``, the shared ones included) fork() its
    worker when the process has one thread: for a program that runs alone, such as a
    command-line run, where a fresh interpreter's start-up is much of a short run's work.
    Returns the setting it replaces (to put back)."""
    global _fork_by_default  # a setting of the whole process
    before, _fork_by_default = _fork_by_default, enabled
    return before


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

    def popen(
        self, fds: tuple[int, int], memory_bytes: int, preload: list[str]
    ) -> subprocess.Popen[bytes]:
        """``python -m evidence._worker`` with the ends ``fds`` of its pipes (calls in,
        answers out), its standard streams on /dev/null."""
        import subprocess

        argv = [
            sys.executable,
            "-m",
            "evidence._worker",
            ",".join(map(str, fds)),
            str(memory_bytes),
            str(os.getpid()),
            json.dumps(sys.path),
            json.dumps(preload),
        ]
        options = {
            "pass_fds": fds,
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,  # FFmpeg and libheif talk on stderr
        }
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
        import subprocess

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
