"""The decoder sandbox turns hangs, crashes and errors in native code into answers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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
