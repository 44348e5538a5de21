"""The reviewer's desk: server-rendered pages under ``/desk`` for the platform's reviewers.

A reviewer signs in with a ``reviewer`` token (kept server-side: the browser holds only a random
session id in an ``HttpOnly``, ``SameSite=Strict`` cookie), sees the queue of disputes waiting for
a manual decision (:mod:`adjudicator.review_queue`), opens one (its order, claim, statements,
timeline, every evidence item with its verdict and a picture of it, the rules that sent it to
review and the automatic outcome), and decides it through the same checked ``decide`` command the
API runs, logged with the reviewer's token id.

Hostile content stays inert: every page is a Jinja2 template with autoescaping, and every
response forbids scripts altogether (``Content-Security-Policy: default-src 'none'``), so a
claim or statement holding ``<script>`` is shown as text and could not run even if it were not.
Pictures are made in the decoder sandbox from the stored bytes (:mod:`evidence.preview`); the
request names a dispute and an evidence id, never a file. Each form carries a per-session CSRF
token, and a POST whose ``Origin`` is another site's is refused.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Cookie, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from adjudicator import tokens
from adjudicator.decision import decide
from adjudicator.domain import REMEDIES, EvidenceRecord, Liability, Resolution
from adjudicator.errors import AdjudicationError, KeyReused, UnknownDispute
from adjudicator.explain import step
from adjudicator.problems import Problem
from adjudicator.review_queue import Waiting, waiting
from adjudicator.service import Adjudicator
from adjudicator.tokens import Caller, Role
from adjudicator.workflow import Case, Event
from evidence.preview import Picture, picture
from evidence.store import FilesystemStore

PREFIX = "/desk"
"""Where the desk's pages are."""

COOKIE = "desk_session"
SESSION_SECONDS = 12 * 3600
SESSIONS = 10_000  # the oldest sign-in is forgotten past this many
PICTURE_PIXELS = 480
PICTURES = 256  # pictures kept made, by content
POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_TEMPLATES = Environment(
    loader=PackageLoader("adjudicator", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Signed:
    """A reviewer signed in: whose token, this session's CSRF token, and when it ends."""

    caller: Caller
    csrf: str
    ends: float


class Sessions:
    """Signed-in reviewers by session id, in this process's memory (a restart signs everyone
    out); at most :data:`SESSIONS`, each for :data:`SESSION_SECONDS`."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Signed] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, caller: Caller) -> str:
        session = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[session] = Signed(
                caller, secrets.token_urlsafe(32), time.monotonic() + SESSION_SECONDS
            )
            while len(self._by_id) > SESSIONS:
                self._by_id.popitem(last=False)
        return session

    def find(self, session: str | None) -> Signed | None:
        with self._lock:
            found = self._by_id.get(session or "")
            if found is not None and found.ends < time.monotonic():
                del self._by_id[session or ""]
                return None
            return found

    def end(self, session: str | None) -> None:
        with self._lock:
            self._by_id.pop(session or "", None)


class Pictures:
    """Pictures already made, by the stored bytes' SHA-256 (the same bytes, the same picture)."""

    def __init__(self) -> None:
        self._made: OrderedDict[str, Picture] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> Picture | None:
        with self._lock:
            found = self._made.get(sha256)
            if found is not None:
                self._made.move_to_end(sha256)
            return found

    def keep(self, sha256: str, made: Picture) -> None:
        with self._lock:
            self._made[sha256] = made
            while len(self._made) > PICTURES:
                self._made.popitem(last=False)


class _SignIn(Exception):
    """The request has no live session: go to the sign-in page."""


class _NotFound(Exception):
    """A dispute or evidence item that does not exist: a page that says so."""


class _Forbidden(Exception):
    """A POST from another site, or without this session's CSRF token."""


class DecideForm(BaseModel):
    """The decide form: what the reviewer chose, the session's CSRF token, and a key made with
    the page (a form sent twice decides once)."""

    model_config = ConfigDict(extra="ignore")

    csrf: str = Field(default="", max_length=100)
    key: str = Field(default="", max_length=100)
    liability: str = Field(max_length=20)
    remedy: str = Field(max_length=30)
    refund_amount: str = Field(default="", max_length=30)
    reason: str = Field(default="", max_length=2000)


Session = Annotated[str | None, Cookie(alias=COOKIE)]


class Desk:
    """The desk over ``service``; ``decide_event(body, caller)`` turns a decide form into the
    checked event exactly as the API turns a request body."""

    def __init__(self, service: Adjudicator, decide_event: Callable[..., Event]) -> None:
        self.service, self.decide_event = service, decide_event
        self.sessions, self.pictures = Sessions(), Pictures()

    def router(self) -> APIRouter:
        desk = APIRouter(prefix=PREFIX, include_in_schema=False)
        desk.get("/login")(self.login_page)
        desk.post("/login")(self.login)
        desk.post("/logout")(self.logout)
        desk.get("")(self.queue)
        desk.get("/desk.css")(self.stylesheet)
        desk.get("/disputes/{case_id}")(self.dispute)
        desk.post("/disputes/{case_id}/decide")(self.decide)
        desk.get("/disputes/{case_id}/evidence/{evidence_id}/picture")(self.picture)
        return desk

    def login_page(self, request: Request) -> Response:
        return _page(request, "login.html")

    def login(self, request: Request, token: Annotated[str, Form(max_length=200)] = "") -> Response:
        _same_site(request)
        found = tokens.verify(self.service.engine, token.strip())
        if found is None or found.role is not Role.REVIEWER:
            why = "not a token" if found is None else f"a {found.role} token cannot use the desk"
            return _page(request, "login.html", status=401, error=f"Sign-in refused: {why}.")
        response = RedirectResponse("/desk", status_code=303)
        response.set_cookie(
            COOKIE,
            self.sessions.start(found),
            max_age=SESSION_SECONDS,
            path="/desk",
            httponly=True,
            samesite="strict",
        )
        return response

    def logout(
        self,
        request: Request,
        session: Session = None,
        csrf: Annotated[str, Form(max_length=100)] = "",
    ) -> Response:
        _checked(request, self.signed(session), csrf)
        self.sessions.end(session)
        response = RedirectResponse("/desk/login", status_code=303)
        response.delete_cookie(COOKIE, path="/desk")
        return response

    def queue(
        self, request: Request, session: Session = None, decided: str | None = None
    ) -> Response:
        who = self.signed(session)
        now = datetime.now(UTC)
        queue = self.service.awaiting_review()
        cases = self.service.get_many(w.case_id for w in queue)
        # (a dispute decided since the queue was read is no longer shown)
        rows = [_row(cases[w.case_id], w, now) for w in queue if w.case_id in cases]
        return _page(request, "queue.html", who=who, rows=rows, decided=decided)

    def stylesheet(self) -> Response:
        css = _TEMPLATES.get_template("desk.css").render()
        headers = {"Cache-Control": "max-age=3600", **HEADERS}
        return Response(css, media_type="text/css", headers=headers)

    def dispute(self, request: Request, case_id: str, session: Session = None) -> Response:
        return self._dispute_page(request, self.signed(session), case_id)

    def decide(
        self,
        request: Request,
        case_id: str,
        form: Annotated[DecideForm, Form()],
        session: Session = None,
    ) -> Response:
        """The reviewer's decision, through the same checked ``decide`` command as the API's,
        made now (the reviewer's wall clock is when the platform decided)."""
        who = self.signed(session)
        _checked(request, who, form.csrf)
        case = self._load(case_id)
        body: dict[str, Any] = {
            "at": datetime.now(_zone(case)).isoformat(timespec="seconds"),
            "actor": "platform",
            "action": "decide",
            "liability": form.liability,
            "remedy": form.remedy,
        }
        if form.refund_amount.strip():
            body["refund_amount"] = form.refund_amount.strip()
        if form.reason.strip():
            body["reason"] = form.reason.strip()
        key = f"desk-{form.key}" if form.key else None
        try:
            self.service.apply(case_id, self.decide_event(body, who.caller), idempotency_key=key)
        except KeyReused:
            # this page's form was sent before (a second later, so at another time): the
            # first send is the decision; the dispute left the queue then
            pass
        except AdjudicationError as exc:
            return self._dispute_page(request, who, case_id, error=str(exc), status=409)
        except Problem as exc:  # a field that is not what it must be, as the API says it
            error = f"{exc.extra.get('pointer', '')}: {exc.detail}"
            return self._dispute_page(request, who, case_id, error=error, status=exc.status)
        return RedirectResponse(f"/desk?decided={quote(case_id)}", status_code=303)

    def picture(self, case_id: str, evidence_id: str, session: Session = None) -> Response:
        self.signed(session)
        case = self._load(case_id)
        record = next((e for e in case.evidence if e.id == evidence_id), None)
        if record is None:
            raise _NotFound(f"Dispute {case_id} has no evidence {evidence_id}.")
        shown = self._made(record, case)
        if shown.jpeg is None:
            raise _NotFound(shown.why or f"{evidence_id} is shown as text, not as a picture.")
        headers = {"Cache-Control": "private, max-age=86400", "ETag": f'"{record.sha256}"'}
        return Response(shown.jpeg, media_type="image/jpeg", headers=headers | HEADERS)

    def signed(self, session: str | None) -> Signed:
        found = self.sessions.find(session)
        if found is None:
            raise _SignIn
        return found

    def _load(self, case_id: str) -> Case:
        try:
            return self.service.get(case_id)
        except UnknownDispute:
            raise _NotFound(f"There is no dispute {case_id}.") from None

    def _made(self, record: EvidenceRecord, case: Case) -> Picture:
        """The item's picture, made once per content, in the sandbox, from the stored bytes:
        the path comes from the stored hash, never from the request."""
        found = self.pictures.get(record.sha256)
        if found is None:
            store = self.service.store
            if not isinstance(store, FilesystemStore):  # pragma: no cover - one store today
                return Picture(why="pictures need a FilesystemStore")
            policy = case.rulebook.evidence_policy()
            found = picture(store.path_of(record.sha256), policy, PICTURE_PIXELS)
            self.pictures.keep(record.sha256, found)
        return found

    def _dispute_page(
        self,
        request: Request,
        who: Signed,
        case_id: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        case = self._load(case_id)
        waits = waiting(self.service.engine, case_id)
        items = self.service.evidence(case_id)
        shown = [
            _shown(record, item, self._made(record, case))
            for record, item in zip(case.evidence, items, strict=True)
        ]
        history = self.service.history(case_id)
        return _page(
            request,
            "dispute.html",
            status=status,
            who=who,
            case=case,
            evidence=shown,
            timeline=[step(entry).strip() for entry in history],
            waiting=waits,
            automatic=_automatic(case, waits),
            liabilities=[liability.value for liability in Liability],
            remedies=[r.value for r in REMEDIES if case.rulebook.admits(r) is None],
            key=secrets.token_urlsafe(16),
            error=error,
        )


def install(app: FastAPI, service: Adjudicator, decide_event: Callable[..., Event]) -> None:
    """Mount the desk on ``app``: its routes, and its pages for a missing sign-in, a forged
    form, or an unknown dispute."""
    app.include_router(Desk(service, decide_event).router())
    app.add_exception_handler(_SignIn, _to_sign_in)
    app.add_exception_handler(_Forbidden, _forbidden)
    app.add_exception_handler(_NotFound, _not_found)


def serves(request: Request) -> bool:
    """Whether ``request`` is one of the desk's (its answers are pages, not JSON)."""
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def invalid_form(request: Request, error: Mapping[str, Any]) -> HTMLResponse:
    """The page for a desk form the browser sent incomplete or too long (``error``: the
    first of FastAPI's validation errors): which field, and why."""
    field = next((str(part) for part in reversed(error.get("loc", ())) if part != "body"), "")
    why = str(error.get("msg", "is not valid"))
    return _page(request, "error.html", status=422, error=f"The form's {field}: {why}.")


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse("/desk/login", status_code=303)
    return _page(request, "login.html", status=401, error="Your session ended: sign in again.")


async def _forbidden(request: Request, exc: Exception) -> Response:
    return _page(request, "error.html", status=403, error=str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _page(request, "error.html", status=404, error=str(exc))


def _page(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    html = _TEMPLATES.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **HEADERS})


def _same_site(request: Request) -> None:
    """Refuse a POST that a page of another site made (the ``Origin`` a browser sends)."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise _Forbidden(f"a form from {origin} cannot act on this desk")


def _checked(request: Request, who: Signed, csrf: str) -> None:
    _same_site(request)
    if not hmac.compare_digest(csrf.encode(), who.csrf.encode()):
        raise _Forbidden("the form is stale or forged (its CSRF token is wrong): reload the page")


def _zone(case: Case) -> Any:
    opened = case.opened_at
    return opened.tzinfo if opened is not None and opened.tzinfo is not None else UTC


def _row(case: Case, waiting: Waiting, now: datetime) -> dict[str, Any]:
    return {
        "case": case,
        "waiting": waiting,
        "waited": _duration(now - waiting.since),
        "disputed": case.for_review(waiting.since).disputed_amount,
    }


def _duration(span: Any) -> str:
    """A wait in days, hours and minutes (the largest two units that are not zero)."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
    return " ".join(parts[:2]) or "under a minute"


def _shown(record: EvidenceRecord, item: dict[str, Any], made: Picture) -> dict[str, Any]:
    """One item as the page shows it: the stored verdict, the submitter's words, and its
    picture, or its text, or why there is neither."""
    verdict = item["verdict"]
    return {
        **item,
        "accepted": verdict.get("accepted", False),
        "mime": verdict.get("mime", ""),
        "details": verdict.get("details", []),
        "flags": verdict.get("flags", []),
        "description": record.description,
        "picture": made.jpeg is not None,
        "text": made.text,
        "why": made.why,
    }


def _automatic(case: Case, waiting: Waiting | None) -> dict[str, Any] | None:
    """What the engine would decide alone (shown beside the form; nothing is recorded)."""
    if case.resolution != Resolution.PENDING_REVIEW or waiting is None:
        return None
    decision = decide(case.for_review(waiting.since), case.rulebook)
    return {
        "liability": decision.liability.value,
        "remedy": decision.remedy.value,
        "refund": str(decision.refund_amount),
        "penalty": str(decision.penalty_amount),
        "payer": None
        if decision.return_shipping_payer is None
        else decision.return_shipping_payer.value,
        "trace": [(s.rule, s.because) for s in decision.trace],
    }
