"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(
    r"<!-- readme-example -->\n```python\n(.*?)```", README.read_text("utf-8"), re.S
)


def test_the_readme_has_examples() -> None:
    assert EXAMPLES


@pytest.mark.parametrize("code", EXAMPLES)
def test_a_readme_example_runs(code: str) -> None:
    exec(compile(code, str(README), "exec"), {})
