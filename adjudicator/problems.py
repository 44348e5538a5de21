"""Errors as RFC 9457 problem details, the one shape every error of the HTTP API has."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

PROBLEMS = "https://dispute-adjudicator.example/problems/"


class Problem(Exception):
    """An error as RFC 9457 problem details: ``status``, a short ``title``, the ``detail``,
    and any extension members (``pointer``, ``state``, ``event``)."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"type": PROBLEMS + self.title.lower().replace(" ", "-")}
        body["title"] = self.title
        body |= {"status": self.status, "detail": self.detail, **self.extra}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(
            body, status_code=self.status, media_type="application/problem+json", headers=headers
        )


def invalid(detail: str, pointer: str) -> Problem:
    return Problem(422, "Invalid field", detail, pointer=pointer)
