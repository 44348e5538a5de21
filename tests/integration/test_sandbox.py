"""The decoder sandbox turns hangs, crashes and errors in native code into answers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evidence import DecoderSandbox, SandboxFailure
from tests.integration import sandbox_targets as targets


@pytest.fixture
def make_sandbox() -> Iterator[Callable[[float, int], DecoderSandbox]]:
    made: list[DecoderSandbox] = []

    def make(seconds: float, memory_bytes: int) -> DecoderSandbox:
        made.append(DecoderSandbox(seconds=seconds, memory_bytes=memory_bytes))
        return made[-1]

    yield make
    for box in made:
        box.close()


def test_a_call_runs_in_another_process_that_is_reused(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(30, 0)
    assert box.call(targets.add, 2, 3) == 5
    first = box.call(targets.worker_pid)
    assert first != os.getpid()
    assert box.call(targets.worker_pid) == first


def test_a_hang_is_killed_and_the_next_call_gets_a_fresh_worker(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(0.5, 0)
    before = box.call(targets.worker_pid)
    result = box.call(targets.sleep_forever)
    assert isinstance(result, SandboxFailure)
    assert result.cause == "timeout"
    assert box.call(targets.add, 1, 1) == 2
    assert box.call(targets.worker_pid) != before


def test_a_call_over_its_cpu_budget_is_killed_as_a_timeout(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    """The budget is CPU time, enforced in the worker: the wall-clock limit (30 s) is far off."""
    box = make_sandbox(30, 0)
    before = box.call(targets.worker_pid)
    result = box.call(targets.spin, 60.0, cpu_seconds=0.2)
    assert result == SandboxFailure("timeout", "used up its 0.2 s of CPU time without an answer")
    assert box.call(targets.worker_pid) != before  # killed, and replaced


def test_the_cpu_budget_is_per_call(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(30, 0)
    pid = box.call(targets.worker_pid)
    for _ in range(3):  # 0.45 s of CPU in all, each call within its own 0.3 s
        spent = box.call(targets.spin, 0.15, cpu_seconds=0.3)
        assert isinstance(spent, float)
    assert box.call(targets.spin, 0.4) >= 0.4  # no budget given: none applies
    assert box.call(targets.worker_pid) == pid


def test_a_segfault_is_a_failure_not_the_callers_death(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(30, 0)
    result = box.call(targets.segfault)
    assert isinstance(result, SandboxFailure)
    assert result.cause == "crash"
    assert "-11" in result.detail  # SIGSEGV
    assert box.call(targets.add, 4, 4) == 8


def test_an_exception_is_reported_and_the_worker_lives_on(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(30, 0)
    pid = box.call(targets.worker_pid)
    result = box.call(targets.raise_value_error)
    assert result == SandboxFailure("error", "ValueError: bad input")
    assert box.call(targets.worker_pid) == pid


def test_the_memory_limit_holds_in_the_worker(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(30, 1024 * 1024 * 1024)
    result = box.call(targets.allocate, 2048)
    assert isinstance(result, SandboxFailure)
    assert "MemoryError" in result.detail
    assert box.call(targets.allocate, 16) == 16 * 1024 * 1024


def test_a_host_script_without_a_main_guard_can_validate_video(
    corpus: Path, tmp_path: Path
) -> None:
    """The worker never re-imports the host's __main__ (multiprocessing's spawn would)."""
    script = tmp_path / "host.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from evidence import validate
            print(validate({str(corpus / "videos" / "white.mp4")!r}, "video").accepted)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_an_answer_that_is_not_plain_data_is_an_error(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(30, 0)
    result = box.call(targets.not_json)
    assert isinstance(result, SandboxFailure)
    assert "not JSON serializable" in result.detail


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_worker_dies_with_its_caller() -> None:
    host = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tests.integration.sandbox_targets import start_host_and_hang as h; h(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert host.stdout is not None
    worker = int(host.stdout.readline())
    assert alive(worker)
    host.kill()  # SIGKILL: no atexit, no cleanup
    host.wait()
    for _ in range(100):
        if not alive(worker):
            break
        time.sleep(0.05)
    assert not alive(worker)


def test_a_forked_child_starts_its_own_worker(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    box = make_sandbox(30, 0)
    parents_worker = box.call(targets.worker_pid)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, str(box.call(targets.worker_pid)).encode())
            box.close()
        finally:
            os._exit(0)
    os.close(write)
    childs_worker = int(os.read(read, 64))
    os.close(read)
    os.waitpid(child, 0)
    assert childs_worker not in (parents_worker, 0)
    assert box.call(targets.worker_pid) == parents_worker  # the parent's is untouched


def test_a_worker_outlives_the_thread_that_started_it(
    make_sandbox: Callable[[float, int], DecoderSandbox],
) -> None:
    """Linux's parent-death signal follows the parent *thread*; hosts call from many threads."""
    box = make_sandbox(30, 0)
    started: list[int] = []
    thread = threading.Thread(target=lambda: started.append(box.call(targets.worker_pid)))
    thread.start()
    thread.join()
    time.sleep(0.2)
    assert alive(started[0])
    assert box.call(targets.worker_pid) == started[0]
