"""A Python traceback on a command's stderr, in one line: what was raised, and where."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_OURS = tuple(f'File "{REPO / package}/' for package in ("adjudicator", "evidence"))


def traceback_summary(stderr: str) -> tuple[str, str]:
    """The exception line of the (last) traceback on ``stderr``, and its innermost frame in
    the project's own code (``adjudicator/``, ``evidence/``) as ``path:line in function``."""
    lines = stderr.rstrip("\n").splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Traceback (most recent"))
    after = lines[start + 1 :]
    frames = [line.strip() for line in after if line.strip().startswith(_OURS)]
    inner = "?"
    if frames:  # File "/repo/adjudicator/x.py", line 12, in name
        path, line, function = frames[-1][len('File "') :].split(", ", 2)
        where = Path(path.removesuffix('"')).relative_to(REPO)
        inner = f"{where}:{line.split()[-1]} {function}"
    # the exception line: the first line after the frames that is not indented
    exception = next(
        (line for line in after if line and not line.startswith(" ")), after[-1] if after else ""
    )
    return exception[:300], inner
