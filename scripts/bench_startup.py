"""How much CPU a short ``adjudicator`` command costs, start-up included.

    .venv/bin/python scripts/bench_startup.py [--runs 5] [--no-bytecode-cache]

Each command runs ``--runs`` times in a fresh process (the console script beside this
interpreter, else ``python -m adjudicator``); its CPU time is the user + system time
``os.wait4`` reports for it, which includes the processes it waited for (the evidence
decoders' sandbox worker). Printed: the median of each against its target, and against the
interpreter's own start-up (``python -c pass``) measured in the same run. The last line is one
JSON object.

Commands: ``--help``; ``replay examples/cases/`` (in memory; its videos and PDFs are decoded
in the sandbox's worker, a second process the command forks from itself, so the parent's own
share is printed too);
``evidence check`` of one photo; ``audit verify --db`` and ``show --db`` of a small SQLite
database (the examples replayed into it first, not timed). It also checks, in a separate
process, that a replay in memory leaves the database layer unimported.

By default the children write their bytecode to a private cache (``PYTHONPYCACHEPREFIX`` in a
temporary folder, one untimed warm-up run first): an installed package has its ``.pyc``
files. ``--no-bytecode-cache`` keeps the environment as it is (``PYTHONDONTWRITEBYTECODE=1``
then means the project's modules are compiled on every start).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "cases"
PHOTO = EXAMPLES / "evidence" / "KS-EX-0002" / "buyer-crack.jpg"
TARGETS = {"replay_examples": 0.5, "help": 0.25}
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "av", "pypdf", "fastapi", "jinja2", "uvicorn")

# runs the CLI's main in this process, then writes its own CPU seconds and its children's
# (the sandbox worker, waited for at exit) to the file descriptor its first argument names
_SPLIT = """
import atexit, os, resource, sys
fd = int(sys.argv.pop(1))
def report():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    os.write(fd, f"{s.ru_utime + s.ru_stime} {c.ru_utime + c.ru_stime}".encode())
atexit.register(report)  # registered first: runs last, after the sandbox worker is waited for
from adjudicator.cli import main
sys.exit(main(sys.argv[1:]))
"""


def command() -> list[str]:
    script = Path(sys.executable).with_name("adjudicator")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "adjudicator"]


def cpu_seconds(argv: list[str], env: dict[str, str], *, ok: tuple[int, ...] = (0,)) -> float:
    """User + system CPU seconds of one run of ``argv`` and what it waited for."""
    process = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)}: exit {process.returncode}\n{errors.decode()}")
    return usage.ru_utime + usage.ru_stime


def median_cpu(argv: list[str], env: dict[str, str], runs: int, **kw: tuple[int, ...]) -> float:
    return statistics.median(cpu_seconds(argv, env, **kw) for _ in range(runs))


def split_cpu(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """The command's own CPU seconds and its children's (the sandbox worker)."""
    read, write = os.pipe()
    try:
        subprocess.run(
            [sys.executable, "-c", _SPLIT, str(write), *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write,),
            check=False,
        )
    finally:
        os.close(write)
    with os.fdopen(read) as answer:
        own, children = answer.read().split()
    return float(own), float(children)


def heavy_modules_after_replay(env: dict[str, str]) -> list[str]:
    code = (
        "import contextlib, io, json, sys\n"
        "from adjudicator.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['replay', {str(EXAMPLES)!r}])\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-bytecode-cache", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch:
        if not args.no_bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        db = f"sqlite:///{Path(scratch) / 'bench.db'}"
        adjudicator = command()
        commands = {
            "python_pass": [sys.executable, "-c", "pass"],
            "help": [*adjudicator, "--help"],
            "replay_examples": [*adjudicator, "replay", str(EXAMPLES)],
            "evidence_check_photo": [
                *adjudicator,
                *("evidence", "check", str(PHOTO), "--kind", "photo"),
            ],
            "audit_verify_db": [*adjudicator, "audit", "verify", "--db", db],
            "show_db": [*adjudicator, "show", "KS-2026-000123", "--db", db],
        }
        # the database to read, and a warm-up of each command (writes the bytecode cache)
        cpu_seconds([*adjudicator, "replay", "--db", db, str(EXAMPLES)], env)
        for argv in commands.values():
            cpu_seconds(argv, env, ok=(0, 1))
        medians = {
            name: median_cpu(argv, env, args.runs, ok=(0, 1)) for name, argv in commands.items()
        }
        parent, worker = zip(
            *(split_cpu(["replay", str(EXAMPLES)], env) for _ in range(args.runs)), strict=True
        )
        heavy = heavy_modules_after_replay(env)
    base = medians["python_pass"]
    cache = "off (compiled on every start)" if args.no_bytecode_cache else "private cache"
    print(f"median CPU seconds (user+system) of {args.runs} runs; bytecode: {cache}")
    for name, value in medians.items():
        target = TARGETS.get(name)
        verdict = (
            ""
            if target is None
            else f"  target {target:.2f} s: {'ok' if value <= target else 'OVER'}"
        )
        print(f"  {name:22} {value:6.3f} s  {value / base:5.1f}x python -c pass{verdict}")
    print(
        f"  replay_examples split: {statistics.median(parent):.3f} s in the command's process, "
        f"{statistics.median(worker):.3f} s in the decoder worker"
    )
    print(f"  heavy packages imported by replay in memory: {heavy or 'none'}")
    result = {
        "runs": args.runs,
        "bytecode_cache": not args.no_bytecode_cache,
        "python_pass_cpu_s": round(base, 4),
        "help_cpu_s": round(medians["help"], 4),
        "replay_examples_cpu_s": round(medians["replay_examples"], 4),
        "replay_examples_parent_cpu_s": round(statistics.median(parent), 4),
        "replay_examples_worker_cpu_s": round(statistics.median(worker), 4),
        "evidence_check_photo_cpu_s": round(medians["evidence_check_photo"], 4),
        "audit_verify_db_cpu_s": round(medians["audit_verify_db"], 4),
        "show_db_cpu_s": round(medians["show_db"], 4),
        "help_ratio_to_python": round(medians["help"] / base, 2),
        "replay_examples_ratio_to_python": round(medians["replay_examples"] / base, 2),
        "import_sqlalchemy_on_replay": "sqlalchemy" in heavy,
        "heavy_imports_on_replay": heavy,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
