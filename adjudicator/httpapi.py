"""The HTTP API (``adjudicator serve``): every command and read of :class:`Adjudicator` over JSON.

Requests are the case file's own shapes (:mod:`adjudicator.casemodel`): a dispute is opened
with its order and claim, and each later command is one case-file event. Every request needs
a token (``Authorization: Bearer <token>``, :mod:`adjudicator.tokens`) whose role allows it;
the token's id is logged with each command it makes. An ``Idempotency-Key`` header is the
service's idempotency key. Every error is one shape, RFC 9457 problem details
(``application/problem+json``): 401 without a valid token, 403 for a role that may not, 404 for
an unknown dispute, 409 for an event the dispute's state refuses (with the state and event), a
lost race or a reused key, 413 for a body over the rulebooks' largest file, 422 for a body
that is not what the format says (naming the field's JSON pointer). docs/http.md.

Evidence files come as ``multipart/form-data``: the form parser spools each file part to disk
as it reads it (never a whole video in memory), the request is cut off once it passes the
largest file any built-in rulebook admits, and the files are validated in the sandbox as a
case file's are.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adjudicator import casemodel as model
from adjudicator import desk, tokens
from adjudicator.casefile import DECLARED, claim_from, event_from, instant_from, order_from
from adjudicator.errors import (
    AdjudicationError,
    ConflictError,
    DisputeExists,
    InvalidCase,
    KeyReused,
    RefusedEvent,
    RulebookError,
    StoreMismatch,
    Unavailable,
    UnknownDispute,
    UsageError,
)
from adjudicator.explain import explain
from adjudicator.problems import Problem, invalid
from adjudicator.replay import outcome
from adjudicator.rulebook import BUILTIN, builtin_reference
from adjudicator.service import (
    CONSUMER_CHARS,
    EFFECTS_LIMIT,
    LARGEST_ID,
    LEASE_LIMIT,
    Adjudicator,
)
from adjudicator.tokens import Caller, Role
from adjudicator.workflow import Event, Submission
from evidence import EvidenceKind

CHUNK = 1024 * 1024
EVIDENCE_ACTIONS = frozenset({"submit_evidence", "appeal"})
REVIEWER_ACTIONS = frozenset({"decide", "finding"})
_EVENT: TypeAdapter[Any] = TypeAdapter(model.EventModel)
_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["event", "files"],
                    "properties": {
                        "event": {
                            "type": "string",
                            "description": "the submit_evidence or appeal event as JSON; each "
                            "evidence item's file is the file name of one uploaded part",
                        },
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            }
        },
    }
}


class ProblemDetails(BaseModel):
    """An error (RFC 9457): what kind, its status, and what went wrong; ``pointer`` names the
    request body's field at fault, ``state`` and ``event`` a refused event's."""

    type: str
    title: str
    status: int
    detail: str
    pointer: str | None = None
    state: str | None = None
    event: str | None = None


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses a route documents in the OpenAPI document."""
    said = {
        401: "no valid token",
        403: "the token's role may not do this",
        404: "no such dispute",
        409: "refused by the dispute's state, a conflict, or a reused idempotency key",
        413: "the request body is too large",
        422: "a field of the request is not what it must be",
        500: "the store does not match its database",
        503: "the database is unavailable",
    }
    return {
        status: {
            "model": ProblemDetails,
            "description": said[status],
            "content": {"application/problem+json": {}},
        }
        for status in (*statuses, 401, 403, 413, 422, 500, 503)
    }


COMMAND = _documented(404, 409)
READ = _documented(404)
LOG = _documented()


def problem_of(exc: AdjudicationError) -> Problem:
    """The problem details of an error the service raises."""
    if isinstance(exc, UnknownDispute):
        return Problem(404, "Unknown dispute", str(exc))
    if isinstance(exc, RefusedEvent):
        if exc.field is not None:  # the event's own field: the body is what is wrong
            return invalid(exc.why, f"/{exc.field}")
        return Problem(409, "Refused event", str(exc), state=str(exc.state), event=exc.event)
    if isinstance(exc, KeyReused):
        return Problem(409, "Idempotency key reused", str(exc))
    if isinstance(exc, ConflictError | DisputeExists):
        return Problem(409, "Conflict", str(exc))
    if isinstance(exc, InvalidCase):
        return invalid(exc.message, exc.pointer)
    if isinstance(exc, UsageError):
        pointer, _, why = str(exc).partition(": ")
        return invalid(why, pointer) if pointer.startswith("/") else invalid(str(exc), "")
    if isinstance(exc, Unavailable):
        return Problem(503, "Unavailable", str(exc))
    if isinstance(exc, StoreMismatch):
        return Problem(500, "Store mismatch", str(exc))
    return Problem(500, "Error", str(exc))


class OpenRequest(BaseModel):
    """A new dispute: the buyer opens it on its order with its claim, at ``at``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    case_id: model.CaseId
    rulebook: model.RulebookId | None = None
    order: model.Order
    claim: model.Claim
    at: model.Instant
    reason: model.FreeText | None = None


class UploadLimit:
    """Cuts a request off once its body passes ``limit`` bytes (413), before it is read in
    full: by its Content-Length when it says one, else as it streams."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        too_large = Problem(413, "Too large", f"a request body is at most {self.limit} bytes")
        if length.isdigit() and int(length) > self.limit:
            await too_large.response()(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _Cut
            return message

        try:
            await self.app(scope, counted, send)
        except _Cut:
            await too_large.response()(scope, receive, send)


class _Cut(Exception):
    pass


def create_app(service: Adjudicator) -> FastAPI:
    """The API over ``service`` (which the caller closes)."""
    app = FastAPI(title="dispute-adjudicator", version="1", summary=(__doc__ or "").split("\n")[0])
    largest = max(max(service.rulebook(name)[1].evidence.size_limits.values()) for name in BUILTIN)
    app.add_middleware(UploadLimit, limit=largest + CHUNK)
    app.state.service = service
    app.state.known_tokens = {}
    _errors(app)
    _commands(app, service)
    _reads(app, service)
    _effects(app, service)
    desk.install(app, service, _event)
    return app


KNOWN_TOKENS = 1024
"""How many verified tokens the server remembers: verifying one costs a database read, 1.5 to
2 ms of a request's p50 (scripts/bench_api.py). Tokens cannot be revoked yet, so a known one
stays good; whatever revokes tokens must empty this too. One made after the server started is
looked up when first used."""


async def _caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """Who the request comes from: its bearer token's id and role (401 for anything else).

    A coroutine, as every dependency here is: FastAPI runs a plain ``def`` dependency in its
    thread pool, a hop there and back for each (0.1 to 0.4 ms of a request's p50,
    scripts/bench_api.py). Only a token not yet known is looked up, in the thread pool."""
    scheme, _, token = (authorization or "").partition(" ")
    known: dict[str, Caller] = request.app.state.known_tokens
    found = known.get(token)
    if found is None and scheme.lower() == "bearer":
        found = await run_in_threadpool(tokens.verify, request.app.state.service.engine, token)
        if found is not None and len(known) < KNOWN_TOKENS:
            known[token] = found
    if found is None or scheme.lower() != "bearer":
        raise Problem(401, "Unauthorized", "a valid token is needed: Authorization: Bearer …")
    return found


def _role(*allowed: Role) -> Any:
    """A dependency that admits a caller whose token has one of ``allowed`` (403 else)."""

    async def check(found: Annotated[Caller, Depends(_caller)]) -> Caller:
        if found.role not in allowed:
            raise Problem(403, "Forbidden", f"a {found.role} token may not do this")
        return found

    return Depends(check)


AnyCaller = Annotated[Caller, Depends(_caller)]
Host = Annotated[Caller, _role(Role.HOST)]
Reader = Annotated[Caller, _role(Role.HOST, Role.REVIEWER)]
Auditor = Annotated[Caller, _role(Role.AUDITOR)]
Key = Annotated[str | None, Header(description="the command's idempotency key")]


def _errors(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(AdjudicationError)
    async def _service_error(request: Request, exc: AdjudicationError) -> JSONResponse:
        return problem_of(exc).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0]
        if desk.serves(request):  # a person at a browser: a page, not JSON
            return desk.invalid_form(request, first)
        where = model.pointer([p for p in first["loc"] if p != "body"])
        return invalid(str(first.get("msg")), where).response()


def _commands(app: FastAPI, service: Adjudicator) -> None:
    @app.post("/disputes", status_code=201, responses=_documented(409))
    def open_dispute(body: OpenRequest, who: Host, idempotency_key: Key = None) -> dict[str, Any]:
        """The buyer opens a dispute on its order with its claim, under the rulebook its
        order's category chooses, or the one ``rulebook`` names: an id, built in or registered
        with the server, never a path."""
        order = order_from(body.order, "request")
        rulebook: str | Path | None = None
        if body.rulebook is not None:
            try:
                source, _ = service.rulebook_by_id(body.rulebook)
            except RulebookError as exc:
                raise invalid(str(exc), "/rulebook") from None
            rulebook = source if builtin_reference(source) is not None else Path(source)
        case = service.open(
            body.case_id,
            order,
            claim_from(body.claim, order, "request"),
            at=instant_from(body.at, "request", "/at"),
            rulebook=rulebook,
            reason=body.reason,
            idempotency_key=idempotency_key,
            via=who.token_id,
        )
        return outcome(case)

    @app.post("/disputes/{case_id}/events", responses=COMMAND, response_model=dict[str, Any])
    async def command(
        case_id: str,
        body: Annotated[dict[str, Any], Body(description="one case-file event")],
        who: AnyCaller,
        idempotency_key: Key = None,
    ) -> JSONResponse:
        """Any later event, as a case file writes it (``{"at", "actor", "action", ...}``); a
        reviewer's token decides and records findings, a host's does everything else. An event
        with files goes to ``/disputes/{case_id}/evidence``."""
        if body.get("action") in EVIDENCE_ACTIONS:
            raise invalid(f"{body['action']} sends files: POST …/evidence", "/action")

        def run() -> JSONResponse:
            event = _event(body, who)
            return _line(service.apply(case_id, event, idempotency_key=idempotency_key))

        return await run_in_threadpool(run)

    @app.post("/disputes/{case_id}/evidence", openapi_extra=_UPLOAD, responses=COMMAND)
    async def submit(
        case_id: str, request: Request, who: Host, idempotency_key: Key = None
    ) -> dict[str, Any]:
        """``submit_evidence`` or ``appeal`` with its files: a form with ``event`` (the
        case-file event as JSON, each evidence item's ``file`` the name of an uploaded part)
        and the ``files``."""
        form = await request.form(max_files=model.LIMITS.evidence_per_event)
        folder = Path(tempfile.mkdtemp(prefix="adjudicator-upload-"))
        try:
            event = await run_in_threadpool(_upload, form, folder, who)
            case = await run_in_threadpool(
                service.apply, case_id, event, idempotency_key=idempotency_key
            )
        finally:
            await form.close()
            shutil.rmtree(folder, ignore_errors=True)
        return outcome(case)


def _reads(app: FastAPI, service: Adjudicator) -> None:
    @app.get("/disputes/{case_id}", responses=READ, response_model=dict[str, Any])
    async def get(case_id: str, who: Reader) -> JSONResponse:
        """The dispute now, as a replay output line."""
        return await run_in_threadpool(lambda: _line(service.get(case_id)))

    @app.get("/disputes/{case_id}/explain", response_class=PlainTextResponse, responses=READ)
    def explained(case_id: str, who: Reader) -> str:
        """The dispute's decision in words."""
        case = service.get(case_id)
        return explain(case, service.evidence(case_id), service.history(case_id))

    @app.get("/disputes/{case_id}/history", responses=READ)
    def history(case_id: str, who: Reader) -> list[dict[str, Any]]:
        """The dispute's decision-log entries, oldest first."""
        if not service.exists(case_id):
            raise UnknownDispute(case_id)
        return service.history(case_id)

    @app.get("/disputes/{case_id}/evidence", responses=READ)
    def evidence(case_id: str, who: Reader) -> list[dict[str, Any]]:
        """Every evidence item of the dispute, with its verdict."""
        return service.evidence(case_id)

    @app.get("/orders/{order_id}/disputes", responses=LOG)
    def of_order(order_id: str, who: Reader) -> list[str]:
        """The disputes about one order (several claims on one order are several disputes)."""
        return service.disputes_of_order(order_id)

    @app.get("/log", response_class=StreamingResponse, responses=LOG)
    def log(who: Auditor) -> StreamingResponse:
        """The whole decision log as JSON Lines, oldest first (streamed)."""

        def lines() -> Iterator[str]:
            for entry in service.log():
                yield json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"

        return StreamingResponse(lines(), media_type="application/jsonl")

    @app.get("/log/verify", responses=LOG)
    def verify(who: Auditor) -> dict[str, Any]:
        """The audit: the chain, its head, and every stored dispute against its log."""
        found = service.audit()
        problems = [str(problem) for problem in found.problems]
        return {"intact": found.intact, "entries": found.entries, "problems": problems}


class AckRequest(BaseModel):
    """The effects the host has carried out (their ``id``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ids: Annotated[
        list[Annotated[int, Field(ge=1, le=LARGEST_ID)]], Field(max_length=EFFECTS_LIMIT)
    ]


def _effects(app: FastAPI, service: Adjudicator) -> None:
    @app.get("/effects", responses=LOG)
    def effects(
        who: Host,
        after: Annotated[
            int, Query(ge=0, le=LARGEST_ID, description="the last id already handed out")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=EFFECTS_LIMIT)] = 100,
        lease: Annotated[float, Query(gt=0, le=LEASE_LIMIT, description="seconds")] = 30.0,
        consumer: Annotated[str | None, Query(min_length=1, max_length=CONSUMER_CHARS)] = None,
    ) -> list[dict[str, Any]]:
        """The money and goods movements the decisions order, oldest first after ``after``,
        each leased to the caller for ``lease`` seconds: one not acknowledged before its lease
        ends is handed out again (docs/effects.md). Act on each idempotently by its ``key``."""
        return service.effects(after, limit=limit, lease_seconds=lease, consumer=consumer)

    @app.post("/effects/ack", responses=LOG)
    def ack(body: AckRequest, who: Host) -> dict[str, int]:
        """Acknowledge effects carried out: they are never handed out again. Idempotent; an id
        that is no effect is refused (422) and nothing is acknowledged."""
        try:
            return {"acknowledged": service.ack(body.ids)}
        except UsageError as exc:
            raise invalid(str(exc), "/ids") from None


def _line(case: Any) -> JSONResponse:
    """The dispute as its replay output line, made JSON here: a route that returns a response
    skips FastAPI's validating and encoding of what it returns (``response_model`` stays the
    route's document), which for a plain ``def`` route is one more hop to the thread pool."""
    return JSONResponse(outcome(case))


def _event(body: dict[str, Any], who: Caller, files: bool = False) -> Event:
    """A case-file event from a request body, checked as a case file's is and allowed to
    the caller's role (a reviewer decides and finds; a host does everything else)."""
    try:
        parsed = _EVENT.validate_python(body)
    except ValidationError as exc:
        # said as of the first event of a case file (its tagged union's tag left out)
        errors = [
            {**e, "loc": ("events", 0, *e["loc"])}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        pointer, words = model.problem(errors, {"events": [body]})  # type: ignore[arg-type]
        raise invalid(words, pointer.removeprefix("/events/0")) from None
    action = parsed.action
    if who.role is Role.AUDITOR or (who.role is Role.REVIEWER) != (action in REVIEWER_ACTIONS):
        raise Problem(403, "Forbidden", f"a {who.role} token may not {action}")
    try:
        without = parsed.model_copy(update={"evidence": None}) if files else parsed
        event = event_from(without, "request")
    except InvalidCase as exc:
        raise invalid(exc.message, exc.pointer.removeprefix("/events/0")) from None
    return replace(event, via=who.token_id)


def _upload(form: Any, folder: Path, who: Caller) -> Event:
    """The evidence event of an upload form, its files copied into ``folder`` a chunk at a
    time: each evidence item names one uploaded part by its file name."""
    text = form.get("event")
    if not isinstance(text, str):
        raise invalid("is required: the event as JSON", "/event")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise invalid(f"is not JSON: {exc}", "/event") from None
    if not isinstance(body, dict) or body.get("action") not in EVIDENCE_ACTIONS:
        raise invalid("must be a submit_evidence or appeal event", "/event/action")
    event = _event(body, who, files=True)
    uploads = {f.filename: f for f in form.getlist("files") if isinstance(f, UploadFile)}
    items = body.get("evidence") or []
    submissions = []
    for index, item in enumerate(items):
        upload = uploads.get(item["file"])
        if upload is None:
            why = f"no uploaded file is named {item['file']!r}"
            raise invalid(why, f"/evidence/{index}/file")
        path = folder / f"{index}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, CHUNK)
        declared = {k: v for k, v in item.items() if k in DECLARED}
        submissions.append(
            Submission(
                EvidenceKind(item["kind"]),
                path,
                declared,
                within=folder,
                description=item.get("description"),
                name=upload.filename,
            )
        )
    return replace(event, evidence=tuple(submissions))
