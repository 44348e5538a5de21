"""A worker fork()ed from a caller that runs alone is held as a fresh interpreter's is.

``fork_workers_when_alone`` (the command line's) lets the sandbox fork() its worker rather
than start an interpreter, while the caller has one thread. Each scenario runs in a host
process of its own (``tests/integration/fork_host.py``): this test session may have threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.integration.test_sandbox import alive

REPO = Path(__file__).resolve().parents[2]
FRESH = "evidence._worker"  # in a fresh worker's command line, never in a forked one's
HOST = "from tests.integration.fork_host import main"


def host(scenario: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", f"{HOST}; main({scenario!r})"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def forked_from(worker: dict[str, Any], host_cmdline: str) -> bool:
    return worker["cmdline"] == host_cmdline and FRESH not in worker["cmdline"]


def test_a_forked_worker_keeps_nothing_of_its_caller_but_the_connection() -> None:
    seen = host("forked")
    worker, caller = seen["first"], seen["host"]
    assert forked_from(worker, caller["cmdline"])
    assert worker["pid"] != caller["pid"]
    assert seen["reused"]  # one worker for every call, as a fresh one
    fds = worker["fds"]
    assert [fds[std] for std in ("0", "1", "2")] == ["/dev/null"] * 3
    others = {fd: target for fd, target in fds.items() if fd not in ("0", "1", "2")}
    assert len(others) == 2, fds  # its ends of the pipes; not the caller's file, nor ends
    assert caller["held_fd"] not in others
    assert all(target.startswith("pipe:") for target in others.values())
    assert worker["address_space"] == [1024**3, 1024**3]
    assert worker["sigterm_default"]  # the caller's handler is not run here
    assert worker["sigint_interrupts"]  # KeyboardInterrupt, as in a fresh interpreter
    assert worker["gc_frozen"]  # the caller's objects are never collected (finalized) here
    assert seen["reaped"]  # closed: the worker exited and was waited for


def test_the_cpu_budget_and_the_memory_limit_stop_a_forked_worker() -> None:
    seen = host("limits")
    assert forked_from(seen["before"], seen["host_cmdline"])
    assert seen["over_cpu"] == {
        "failure": "timeout",
        "detail": "used up its 0.2 s of CPU time without an answer",
    }
    assert seen["after_cpu"]["pid"] != seen["before"]["pid"]  # killed, and replaced...
    assert forked_from(seen["after_cpu"], seen["host_cmdline"])  # ...by a forked one
    assert isinstance(seen["within"], float)
    assert seen["over_memory"]["failure"] == "error"
    assert "MemoryError" in seen["over_memory"]["detail"]
    assert seen["small"] == 16 * 1024 * 1024
    assert seen["crash"]["failure"] == "crash"
    assert "-11" in seen["crash"]["detail"]  # SIGSEGV
    assert forked_from(seen["after_crash"], seen["host_cmdline"])
    assert seen["hung"]["failure"] == "timeout"  # the wall clock: killed
    assert forked_from(seen["after_hang"], seen["host_cmdline"])


def test_a_video_over_its_cpu_budget_in_a_forked_worker_is_a_verdict() -> None:
    seen = host("video_budget")
    assert forked_from(seen["worker"], seen["host_cmdline"])
    assert seen["sound"]  # the premise: the clip is sound when decoding has its time
    assert seen["reasons"] == ["undecodable"]
    assert seen["detail"] == (
        "the video decoder timed out: used up its 0.001 s of CPU time without an answer"
    )


def test_a_caller_with_another_thread_starts_a_fresh_interpreter() -> None:
    seen = host("with_a_thread")
    assert FRESH in seen["worker"]["cmdline"]
    assert not seen["worker"]["gc_frozen"]


def test_the_process_wide_setting_reaches_the_shared_sandboxes() -> None:
    seen = host("process_wide")
    assert forked_from(seen["shared"], seen["host_cmdline"])
    assert FRESH in seen["not_forked"]["cmdline"]


def test_a_forked_worker_dies_with_its_caller() -> None:
    caller = subprocess.Popen(
        [sys.executable, "-c", f"{HOST}; main('host_and_hang')"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert caller.stdout is not None
    worker = json.loads(caller.stdout.readline())
    assert FRESH not in worker["cmdline"]
    assert alive(worker["pid"])
    caller.kill()  # SIGKILL: no atexit, no cleanup
    caller.wait()
    caller.stdout.close()
    for _ in range(100):
        if not alive(worker["pid"]):
            break
        time.sleep(0.05)
    assert not alive(worker["pid"])
