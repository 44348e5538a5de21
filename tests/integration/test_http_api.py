"""The HTTP API over a real database (SQLite, and PostgreSQL where one is configured), called
in-process through FastAPI's TestClient: tokens and roles, every error as problem details,
idempotency keys, evidence uploads, and the commands a token makes logged with its id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from adjudicator import tokens
from adjudicator.httpapi import UploadLimit, create_app
from adjudicator.service import Adjudicator
from tests.photos import sharp_photo

T = "2026-03-0{}T{:02d}:00:00+08:00"
ORDER: dict[str, Any] = {
    "order_id": "O-H1",
    "category": "general",
    "paid_amount": "300.00",
    "currency": "CNY",
    "items": [{"sku": "K-1", "name": "kettle", "price": "300.00", "quantity": 1}],
    "shipped_at": "2026-03-02T09:00:00+08:00",
    "tracking_no": "SF1",
    "signed_at": "2026-03-04T15:20:00+08:00",
}
OPEN: dict[str, Any] = {
    "case_id": "H-1",
    "order": ORDER,
    "claim": {"type": "visible_defect", "requested_remedy": "refund_only"},
    "at": T.format(4, 18),
}


def at(day: int, hour: int) -> str:
    return T.format(day, hour)


class Api:
    """A client with a token of each role."""

    def __init__(self, service: Adjudicator) -> None:
        self.client = TestClient(create_app(service))
        now = datetime(2026, 3, 1, tzinfo=UTC)
        self.tokens = {
            role: tokens.create(service.engine, role, at=now, label=f"test {role}")
            for role in ("host", "reviewer", "auditor")
        }

    def headers(self, role: str | None, key: str | None = None) -> dict[str, str]:
        out = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        return out if key is None else {**out, "Idempotency-Key": key}

    def post(self, path: str, body: Any, role: str | None = "host", key: str | None = None) -> Any:
        return self.client.post(path, json=body, headers=self.headers(role, key))

    def get(self, path: str, role: str | None = "host") -> Any:
        return self.client.get(path, headers=self.headers(role))

    def event(
        self, case_id: str, body: dict[str, Any], role: str = "host", key: str | None = None
    ) -> Any:
        return self.post(f"/disputes/{case_id}/events", body, role, key)


@pytest.fixture
def api(service: Adjudicator) -> Api:
    return Api(service)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


def test_nothing_answers_without_a_valid_token(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    routes = [(path, method) for path, item in schema["paths"].items() for method in item]
    assert len(routes) == 12
    for path, method in routes:
        url = path.replace("{case_id}", "H-1").replace("{order_id}", "O-H1")
        for headers in ({}, {"Authorization": "Bearer t_00000000.nope"}, {"Authorization": "x"}):
            answer = api.client.request(method, url, headers=headers)
            assert problem(answer, 401)["title"] == "Unauthorized", (method, url)
            assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_each_role_is_refused_what_it_may_not_do(api: Api) -> None:
    assert problem(api.post("/disputes", OPEN, role="reviewer"), 403)["detail"] == (
        "a reviewer token may not do this"
    )
    assert api.post("/disputes", OPEN).status_code == 201
    reject = {"at": at(4, 19), "actor": "merchant", "action": "reject"}
    assert problem(api.event("H-1", reject, role="reviewer"), 403)["detail"] == (
        "a reviewer token may not reject"
    )
    decide = {"at": at(4, 19), "actor": "platform", "action": "decide"}
    decide |= {"liability": "merchant", "remedy": "refund_only"}
    assert problem(api.event("H-1", decide), 403)["detail"] == "a host token may not decide"
    assert problem(api.event("H-1", reject, role="auditor"), 403)["title"] == "Forbidden"
    for path in ("/disputes/H-1", "/disputes/H-1/explain", "/orders/O-H1/disputes"):
        problem(api.get(path, role="auditor"), 403)
    for role in ("host", "reviewer"):
        problem(api.get("/log", role=role), 403)
        problem(api.get("/log/verify", role=role), 403)
    for role in ("reviewer", "auditor"):  # the effects are the host's to carry out
        problem(api.get("/effects", role=role), 403)
        problem(api.post("/effects/ack", {"ids": [1]}, role=role), 403)
    assert api.get("/log", role="auditor").status_code == 200


def test_a_dispute_runs_its_course_over_http(api: Api, tmp_path: Path) -> None:
    opened = api.post("/disputes", OPEN)
    assert (opened.status_code, opened.json()["state"]) == (201, "requested")
    for body in (
        {"at": at(5, 10), "actor": "merchant", "action": "reject", "reason": "人为损坏"},
        {"at": at(5, 12), "actor": "buyer", "action": "escalate"},
    ):
        assert api.event("H-1", body).status_code == 200
    photo = sharp_photo(tmp_path / "crack.jpg", 3)
    event = {
        "at": at(5, 13),
        "actor": "buyer",
        "action": "submit_evidence",
        "evidence": [{"kind": "photo", "file": "crack.jpg", "description": "裂痕"}],
    }
    with photo.open("rb") as handle:
        uploaded = api.client.post(
            "/disputes/H-1/evidence",
            data={"event": json.dumps(event)},
            files=[("files", ("crack.jpg", handle, "image/jpeg"))],
            headers=api.headers("host"),
        )
    assert uploaded.status_code == 200, uploaded.text
    item = uploaded.json()["evidence"][0]
    assert (item["kind"], item["accepted"], item["description"]) == ("photo", True, "裂痕")
    for body in (
        {"at": at(5, 14), "actor": "buyer", "action": "evidence_complete"},
        {"at": at(5, 15), "actor": "merchant", "action": "evidence_complete"},
    ):
        done = api.event("H-1", body)
    assert (done.json()["state"], done.json()["liability"]) == ("refunded", "merchant")
    assert api.get("/disputes/H-1").json() == done.json()
    assert api.get("/disputes/H-1/evidence", role="reviewer").json()[0]["file"] == "crack.jpg"
    text = api.get("/disputes/H-1/explain").text
    assert text.startswith("Dispute H-1: visible_defect on order O-H1")
    history = api.get("/disputes/H-1/history").json()
    host_id = api.tokens["host"].split(".")[0]
    assert [e.get("via") for e in history if e["event"] in ("open", "reject")] == [host_id] * 2
    assert api.get("/orders/O-H1/disputes").json() == ["H-1"]
    lines = api.get("/log", role="auditor").text.splitlines()
    assert [json.loads(line)["event"] for line in lines][:3] == ["open", "reject", "escalate"]
    assert api.get("/log/verify", role="auditor").json() == {
        "intact": True,
        "entries": len(lines),
        "problems": [],
    }


def test_a_reviewers_decision_is_logged_with_the_reviewers_token(api: Api) -> None:
    costly = {**OPEN, "order": {**ORDER, "paid_amount": "12000.00"}}
    costly["order"]["items"] = [
        {"sku": "K-1", "name": "kettle", "price": "12000.00", "quantity": 1}
    ]
    api.post("/disputes", costly)
    for body in (
        {"at": at(5, 10), "actor": "merchant", "action": "reject"},
        {"at": at(5, 12), "actor": "buyer", "action": "escalate"},
        {"at": at(5, 13), "actor": "buyer", "action": "evidence_complete"},
        {"at": at(5, 14), "actor": "merchant", "action": "evidence_complete"},
    ):
        api.event("H-1", body)
    assert api.get("/disputes/H-1").json()["resolution"] == "pending_review"
    decide = {"at": at(5, 16), "actor": "platform", "action": "decide", "reason": "看过照片"}
    decide |= {"liability": "buyer", "remedy": "reject_refund"}
    decided = api.event("H-1", decide, role="reviewer")
    assert decided.status_code == 200, decided.text
    reviewer = api.tokens["reviewer"].split(".")[0]
    entries = api.get("/disputes/H-1/history", role="reviewer").json()
    assert [e["via"] for e in entries if e["event"] in ("decide", "decision")] == [reviewer] * 2


def test_the_host_reads_the_effects_over_http_and_acknowledges_them(api: Api) -> None:
    api.post("/disputes", OPEN)
    api.event("H-1", {"at": at(5, 10), "actor": "merchant", "action": "agree"})
    handed = api.get("/effects?lease=0.2&consumer=payments")
    assert handed.status_code == 200, handed.text
    (refund,) = handed.json()
    assert (refund["kind"], refund["amount"], refund["payee"]) == ("refund_due", "300.00", "buyer")
    assert (refund["key"], refund["delivery"]) == ("H-1#3.0", 1)
    assert api.get("/effects").json() == []  # leased to payments meanwhile
    time.sleep(0.3)
    again = api.get(f"/effects?after={refund['id'] - 1}").json()
    assert [(e["key"], e["delivery"]) for e in again] == [("H-1#3.0", 2)]  # not acknowledged
    acked = api.post("/effects/ack", {"ids": [refund["id"]]})
    assert acked.json() == {"acknowledged": 1}
    time.sleep(0.3)
    assert api.get("/effects").json() == []
    unknown = problem(api.post("/effects/ack", {"ids": [refund["id"], 999]}), 422)
    assert (unknown["pointer"], "no effect 999" in unknown["detail"]) == ("/ids", True)
    assert problem(api.get("/effects?limit=0"), 422)["pointer"] == "/query/limit"
    assert problem(api.get("/effects?lease=nan"), 422)["pointer"] == "/query/lease"
    # ids past a 64-bit integer (the contract test found them reaching SQLite: a 500)
    assert problem(api.post("/effects/ack", {"ids": [2**63]}), 422)["pointer"] == "/ids/0"
    assert problem(api.get(f"/effects?after={2**63}"), 422)["pointer"] == "/query/after"


def test_errors_are_problem_details_naming_what_is_wrong(api: Api) -> None:
    assert problem(api.get("/disputes/NOPE"), 404)["title"] == "Unknown dispute"
    bad_amount = {**OPEN, "order": {**ORDER, "paid_amount": 300}}
    said = problem(api.post("/disputes", bad_amount), 422)
    assert said["pointer"] == "/order/paid_amount"
    no_item = {**OPEN, "claim": {**OPEN["claim"], "items": [{"sku": "X", "quantity": 1}]}}
    said = problem(api.post("/disputes", no_item), 422)
    assert (said["pointer"], said["detail"]) == (
        "/claim/items/0/sku",
        "the order has no item with SKU 'X'",
    )
    assert (
        problem(api.post("/disputes", {**OPEN, "at": "2026-02-30T10:00:00+08:00"}), 422)["pointer"]
        == "/at"
    )
    for path in ("tracking_no", "../../etc/passwd", "/etc/passwd", "kuaishou.general@1999.1"):
        said = problem(api.post("/disputes", {**OPEN, "rulebook": path}), 422)
        assert said["pointer"] == "/rulebook", path  # an id, never a path: no file is read
    released = api.post(
        "/disputes", {**OPEN, "case_id": "H-0", "rulebook": "kuaishou.general@2026.2"}
    )
    assert released.json()["rulebook"] == "kuaishou.general@2026.2"
    api.post("/disputes", OPEN)
    said = problem(api.post("/disputes", OPEN), 409)
    assert said["title"] == "Conflict"
    refused = problem(
        api.event("H-1", {"at": at(5, 1), "actor": "buyer", "action": "escalate"}), 409
    )
    assert (refused["state"], refused["event"]) == ("requested", "escalate")
    wrong_actor = problem(
        api.event("H-1", {"at": at(5, 1), "actor": "buyer", "action": "agree"}), 422
    )
    assert (wrong_actor["pointer"], wrong_actor["detail"]) == (
        "/actor",
        "agree is done by the merchant",
    )
    api.event("H-1", {"at": at(5, 2), "actor": "merchant", "action": "reject"})
    above = {"at": at(5, 3), "actor": "merchant", "action": "offer", "remedy": "partial_refund"}
    said = problem(api.event("H-1", above | {"amount": "300.01"}), 422)
    assert (said["pointer"], said["detail"]) == (
        "/amount",
        "300.01 is more than the disputed amount 300.00",
    )
    lapsed = {"at": at(8, 4), "actor": "buyer", "action": "accept_offer", "offer": "O1"}
    api.event("H-1", above | {"amount": "100.00"})
    said = problem(api.event("H-1", lapsed), 422)
    assert said["pointer"] == "/offer"
    assert "lapsed at 2026-03-07T03:00:00+08:00" in said["detail"]
    files = problem(api.event("H-1", {"at": at(5, 4), "actor": "buyer", "action": "appeal"}), 422)
    assert files["pointer"] == "/action"


def test_the_idempotency_key_header_is_the_commands_key(api: Api) -> None:
    api.post("/disputes", OPEN, key="open-1")
    again = api.post("/disputes", OPEN, key="open-1")
    assert again.status_code == 201  # the first result, not a conflict
    reject = {"at": at(5, 10), "actor": "merchant", "action": "reject"}
    first = api.event("H-1", reject, key="hook-7")
    assert api.event("H-1", reject, key="hook-7").json() == first.json()
    other = {"at": at(5, 11), "actor": "buyer", "action": "escalate"}
    said = problem(api.event("H-1", other, key="hook-7"), 409)
    assert said["title"] == "Idempotency key reused"
    assert len(api.get("/disputes/H-1/history").json()) == 2  # open and reject, once each


def test_an_upload_over_the_limit_is_cut_off_before_it_is_read_whole() -> None:
    read: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            read.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    client = TestClient(UploadLimit(app, limit=1000))
    assert client.post("/", content=b"x" * 1000).status_code == 200
    declared = client.post("/", content=b"x" * 1001)
    assert problem(declared, 413)["title"] == "Too large"

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * 400

    read.clear()
    streamed = client.post("/", content=chunks())  # no Content-Length: counted as it comes
    assert problem(streamed, 413)["detail"] == "a request body is at most 1000 bytes"
    assert sum(read) <= 1000
