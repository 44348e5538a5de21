"""``adjudicator token create`` and ``adjudicator serve`` as an operator runs them: a real
server process on a loopback port, called over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import run, serving


def call(url: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    db = f"sqlite:///{tmp_path / 'api.db'}"
    made = run("token", "create", "--role", "host", "--label", "order system", "--db", db)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    with serving(db) as base:
        yield base, token


def test_a_token_made_on_the_command_line_opens_a_dispute_over_http(
    server: tuple[str, str],
) -> None:
    base, token = server
    assert token.startswith("t_")
    assert call(f"{base}/disputes/KS-1", None)[0] == 401
    assert call(f"{base}/disputes/KS-1", token)[0] == 404
    order = {
        "order_id": "O-1",
        "category": "general",
        "paid_amount": "99.00",
        "currency": "CNY",
        "items": [{"sku": "C", "name": "charger", "price": "99.00", "quantity": 1}],
    }
    body = {
        "case_id": "KS-1",
        "order": order,
        "claim": {"type": "not_shipped", "requested_remedy": "refund_only"},
        "at": "2026-03-04T18:00:00+08:00",
    }
    status, line = call(f"{base}/disputes", token, body)
    assert (status, line["state"]) == (201, "requested")
    schema = json.loads(urllib.request.urlopen(f"{base}/openapi.json", timeout=5).read())
    assert "/disputes/{case_id}/events" in schema["paths"]


def test_a_token_of_an_unknown_role_is_a_usage_error(tmp_path: Path) -> None:
    done = run("token", "create", "--role", "admin", "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 2
    assert "invalid choice: 'admin'" in done.stderr
