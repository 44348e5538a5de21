"""What the command does at start-up to start faster changes nothing it computes.

The command stands in for pydantic's plugin loader (which imports ``importlib.metadata`` to
look for plugins) with the answer that loader gives when plugins are disabled, and disables
them unless the user says otherwise (``PYDANTIC_DISABLE_PLUGINS``).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from adjudicator import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cases"
# the loader a run ends with, whether importlib.metadata was imported, and the variable
PROBE = (
    "import contextlib, io, json, sys, os\n"
    "from adjudicator.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    f"    main(['replay', {str(EXAMPLES / 'KS-EX-0002.json')!r}])\n"
    "loader = sys.modules['pydantic.plugin._loader']\n"
    "print(json.dumps([hasattr(loader, 'PYDANTIC_ENTRY_POINT_GROUP'),\n"
    "                  'importlib.metadata' in sys.modules,\n"
    "                  os.environ.get('PYDANTIC_DISABLE_PLUGINS')]))\n"
)


def _names_pydantic_takes_from_its_loader() -> set[str]:
    """Every name any module of the installed pydantic imports from ``plugin._loader``."""
    names: set[str] = set()
    root = Path(pydantic.__file__).parent
    for source in root.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        package = ".".join(source.relative_to(root.parent).with_suffix("").parts[:-1])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                module = ".".join(part for part in (base, node.module or "") if part)
                if module == "pydantic.plugin._loader":
                    names |= {alias.name for alias in node.names}
                elif module == "pydantic.plugin" and any(
                    alias.name == "_loader" for alias in node.names
                ):
                    names.add("* (the module itself)")
            elif isinstance(node, ast.Import) and any(
                alias.name == "pydantic.plugin._loader" for alias in node.names
            ):
                names.add("* (the module itself)")
    return names


def test_pydantic_asks_its_plugin_loader_for_get_plugins_only() -> None:
    """What the stand-in has (a pydantic upgrade that asks for more must change it)."""
    assert _names_pydantic_takes_from_its_loader() == {"get_plugins"}


def test_the_stand_in_answers_what_pydantics_loader_answers_with_plugins_disabled() -> None:
    # pydantic's own loader, from its file (this process may hold the stand-in already)
    path = Path(pydantic.__file__).parent / "plugin" / "_loader.py"
    spec = importlib.util.spec_from_file_location("pydantic.plugin._loader", path)
    assert spec is not None
    assert spec.loader is not None
    _loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(_loader)
    for value in cli.PYDANTIC_PLUGINS_OFF:
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = value
        try:
            assert list(_loader.get_plugins()) == list(cli._no_plugins()) == []
        finally:
            del os.environ["PYDANTIC_DISABLE_PLUGINS"]


def _probe(env_value: str | None) -> list[object]:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if env_value is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = env_value
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    answer: list[object] = json.loads(done.stdout)
    return answer


def test_a_command_disables_plugins_and_never_imports_importlib_metadata() -> None:
    assert _probe(None) == [False, False, "__all__"]


def test_the_users_own_setting_is_kept() -> None:
    assert _probe("1") == [False, False, "1"]  # all disabled: the same answer
    # only some disabled, or none: pydantic's own loader looks for the others
    assert _probe("some_plugin") == [True, True, "some_plugin"]
    assert _probe("") == [True, True, ""]


# --- exit: an in-memory replay and an evidence check skip the last garbage collections ------

# whether objects were frozen between the command's end and its first exit handler (the last
# to run), beyond those its imports froze
EXIT_PROBE = (
    "import atexit, gc, os, sys\n"
    "fd = int(os.environ.pop('PROBE_FD'))\n"
    "after = []\n"
    "atexit.register(lambda: os.write(fd, str(gc.get_freeze_count() > after[0]).encode()))\n"
    "from adjudicator.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "after.append(gc.get_freeze_count())\n"
    "sys.exit(code)\n"
)
PHOTO = EXAMPLES / "evidence" / "KS-EX-0002" / "buyer-crack.jpg"


def _run_to_exit(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """The command run as the program, its temporary folder in ``tmp_path``: what it printed,
    and whether the objects were frozen when its first exit handler (the last to run) ran."""
    read, write = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-c", EXIT_PROBE, *args],
            env={**os.environ, "TMPDIR": str(tmp_path), "PROBE_FD": str(write)},
            capture_output=True,
            text=True,
            pass_fds=(write,),
            check=False,
        )
    finally:
        os.close(write)
    with os.fdopen(read) as answer:
        return done, answer.read()


def test_an_in_memory_replay_exits_without_collecting_and_still_cleans_up(
    tmp_path: Path,
) -> None:
    done, frozen = _run_to_exit(["replay", "--json", str(EXAMPLES)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert frozen == "True"
    lines = done.stdout.splitlines()  # every line written out, as before
    assert len(lines) == len(list(EXAMPLES.glob("*.json")))
    assert all(json.loads(line)["case_id"] for line in lines)
    assert list(tmp_path.iterdir()) == []  # the scratch store's exit handler ran


def test_an_evidence_check_exits_without_collecting(tmp_path: Path) -> None:
    done, frozen = _run_to_exit(["evidence", "check", str(PHOTO), "--kind", "photo"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert frozen == "True"
    assert done.stdout.startswith(f"{PHOTO}: accepted")


def test_a_replay_into_a_database_collects_as_usual(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'disputes.db'}"
    done, frozen = _run_to_exit(["replay", "--db", db, str(EXAMPLES / "KS-EX-0002.json")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert frozen == "False"


def test_a_commands_modules_are_imported_once_for_good() -> None:
    """Frozen after the first import, the collector as the caller had it; never again (an
    in-process caller's later objects stay collectable)."""
    code = (
        "import gc, json, sys\n"
        "from adjudicator import cli\n"
        "seen = ['adjudicator.replay' in sys.modules]\n"
        "cli._import_for_good('adjudicator.replay')\n"
        "frozen = gc.get_freeze_count()\n"
        "seen += ['adjudicator.replay' in sys.modules, frozen > 0, gc.isenabled()]\n"
        "gc.unfreeze()\n"
        "cli._import_for_good('adjudicator.replay')\n"
        "seen.append(gc.get_freeze_count())\n"
        "gc.disable()\n"
        "cli._import_for_good('evidence.validate')\n"
        "seen.append(gc.isenabled())\n"
        "print(json.dumps(seen))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, True, True, True, 0, False]


@pytest.mark.parametrize(
    "command",
    [
        ["replay", str(EXAMPLES / "KS-EX-0005.json")],
        ["whatif", str(EXAMPLES / "KS-EX-0005.json"), "--rulebook", "kuaishou.used_3c"],
    ],
    ids=["replay", "whatif"],
)
def test_a_command_forks_decoders_only_while_it_runs(command: list[str]) -> None:
    """The command's worker (a video's decoder, still running after the command) was forked
    from the command's process; an in-process caller of ``main`` gets its own setting back
    when the command ends."""
    code = (
        "import contextlib, io, json, os\n"
        "from pathlib import Path\n"
        "from evidence import sandbox\n"
        "from adjudicator.cli import main\n"
        "def children():\n"
        "    task = Path(f'/proc/self/task/{os.getpid()}/children')\n"
        "    pids = task.read_text().split()\n"
        "    return [Path(f'/proc/{pid}/cmdline').read_bytes() for pid in pids]\n"
        "seen = []\n"
        "for before in (False, True):\n"
        "    sandbox.fork_workers_when_alone(before)\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        f"        assert main({command!r}) == 0\n"
        "    seen.append(sandbox.fork_workers_when_alone(False))\n"
        "seen.append(children() == [Path('/proc/self/cmdline').read_bytes()])\n"
        "print(json.dumps(seen))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [False, True, True]


# --- the parser: only the command given first is built ------------------------------------


def _help(parser: object, argv: list[str]) -> tuple[str, str, object]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            parser.parse_args(argv)  # type: ignore[attr-defined]
            status: object = 0
        except SystemExit as stop:
            status = stop.code
    return out.getvalue(), err.getvalue(), status


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def test_the_parser_of_one_command_says_what_the_whole_parser_says() -> None:
    whole = cli._parser()
    for name, command in _commands(whole).items():
        alone = cli._parser(only=name)
        assert set(_commands(alone)) == {name}
        argvs = [[name, "--help"], [name], [name, "--no-such-option"]]
        argvs += [[name, sub, "--help"] for sub in _commands(command)]
        argvs += [[name, sub] for sub in _commands(command)]
        for argv in argvs:
            assert _help(alone, argv) == _help(whole, argv), argv


def test_an_unknown_command_gets_the_whole_parser() -> None:
    assert set(_commands(cli._parser(only="no-such-command"))) == set(_commands(cli._parser()))
