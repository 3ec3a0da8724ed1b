"""The HTTP API (FastAPI; OpenAPI at /docs): JSON under /api/v1, the leaderboard page at /.

Every call is authenticated with a bearer token: a team's, or the organizer's for /admin.
A wrong or missing token is 401; another team's object is 404, exactly as a missing one
(no existence oracle). Errors are RFC 9457 problem details with one-line messages; quota
refusals are 429 with Retry-After and when the quota resets.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse

from runner import __version__
from runner.competition import boards, service
from runner.competition.db import Team
from runner.competition.images import ArchiveError, ArchiveTooLarge, rewrite_archive
from runner.competition.state import ServerState
from runner.competition.teams import is_organizer, team_for
from runner.errors import AirlockError, Refused, UsageError

PROBLEM = "application/problem+json"
log = logging.getLogger("airlock.server")


class Unauthorized(Refused):
    """No valid token (401)."""


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem: what an error becomes on the wire."""

    status: int
    title: str
    detail: str
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _problem(exc: Exception) -> Problem:
    if isinstance(exc, Unauthorized):
        return Problem(401, "Unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, service.NotFound):
        return Problem(404, "Not Found", str(exc))
    if isinstance(exc, service.PhaseClosed):
        return Problem(409, "Phase Closed", str(exc))
    if isinstance(exc, service.QuotaExceeded):
        refusal = exc.refusal
        return Problem(
            429, "Quota Exceeded", str(exc), {"Retry-After": str(refusal.retry_after)},
            {"quota_resets_at": refusal.resets_at.isoformat()},
        )  # fmt: skip
    if isinstance(exc, ArchiveTooLarge):
        return Problem(413, "Image Too Large", str(exc))
    if isinstance(exc, ArchiveError | UsageError):
        return Problem(422, "Unprocessable Image", str(exc))
    return Problem(503, "Service Unavailable", str(exc).splitlines()[0][:300])


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    return token.strip()


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.airlock
    return state


def _team(request: Request, authorization: Annotated[str | None, Header()] = None) -> Team:
    found = team_for(_state(request).db, _bearer(authorization))
    if found is None:
        raise Unauthorized("unknown or revoked token")
    return found


def _organizer(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    if not is_organizer(_state(request).db, _bearer(authorization)):
        raise Unauthorized("the organizer's token is needed here")


def _anyone(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    token, db = _bearer(authorization), _state(request).db
    if team_for(db, token) is None and not is_organizer(db, token):
        raise Unauthorized("unknown or revoked token")


Caller = Annotated[Team, Depends(_team)]
Organizer = Annotated[None, Depends(_organizer)]
Anyone = Annotated[None, Depends(_anyone)]


State = Annotated[ServerState, Depends(_state)]
participants = APIRouter(prefix="/api/v1")
admin = APIRouter(prefix="/api/v1/admin")
public = APIRouter()


def create_app(state: ServerState) -> FastAPI:
    """The API of one running server; ``state`` is what every route reads."""
    app = FastAPI(title=f"Airlock: {state.competition.title}", version=__version__)
    app.state.airlock = state
    app.add_exception_handler(AirlockError, _problem_response)
    app.add_exception_handler(Exception, _defect_response)
    for router in (participants, admin, public):
        app.include_router(router)
    return app


async def _defect_response(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error", exc_info=exc)
    body = {"type": "about:blank", "title": "Internal Server Error", "status": 500,
            "detail": f"internal error in the server ({type(exc).__name__})"}  # fmt: skip
    return JSONResponse(body, 500, media_type=PROBLEM)


async def _problem_response(_request: Request, exc: Exception) -> JSONResponse:
    found = _problem(exc)
    body = {"type": "about:blank", "title": found.title, "status": found.status,
            "detail": found.detail, **found.extra}  # fmt: skip
    return JSONResponse(body, found.status, headers=found.headers, media_type=PROBLEM)


@participants.post("/submissions", status_code=202)
async def submit(
    request: Request, state: State, caller: Caller, phase: str | None = None
) -> dict[str, Any]:
    """Upload an image archive (`docker save IMAGE`) as the request body."""
    limit = state.competition.max_image_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit:
        raise ArchiveTooLarge(f"the image archive is {declared} bytes, over the {limit}-byte limit")
    upload = await _receive(request, state.uploads, limit)
    try:
        checked = await run_in_threadpool(
            rewrite_archive, upload.open("rb"), upload.with_suffix(".load")
        )
    finally:
        upload.unlink(missing_ok=True)
    try:
        submission_id = await run_in_threadpool(service.reserve, state, caller, phase, checked)
        await run_in_threadpool(service.load, state, submission_id, checked.path)
    finally:
        checked.path.unlink(missing_ok=True)
    return await run_in_threadpool(service.show_own, state, caller, submission_id)


@participants.get("/submissions")
def my_submissions(state: State, caller: Caller) -> list[dict[str, Any]]:
    return service.list_own(state, caller)


@participants.get("/submissions/{submission_id}")
def my_submission(submission_id: str, state: State, caller: Caller) -> dict[str, Any]:
    return service.show_own(state, caller, submission_id)


@participants.get("/phases")
def phases(state: State, _: Anyone) -> list[dict[str, Any]]:
    return boards.phases(state)


@participants.get("/leaderboard/{phase}")
def leaderboard(phase: str, state: State, _: Anyone) -> dict[str, Any]:
    return boards.board_json(state, phase)


@public.get("/", response_class=HTMLResponse)
def page(state: State) -> str:
    return boards.board_html(state)


@admin.get("/submissions")
def all_submissions(state: State, _: Organizer) -> list[dict[str, Any]]:
    return service.list_all(state)


@admin.post("/submissions/{submission_id}/rerun")
def rerun(submission_id: str, state: State, _: Organizer) -> dict[str, str]:
    service.rerun(state, submission_id)
    return {"id": submission_id, "status": "queued"}


@admin.post("/submissions/{submission_id}/disqualify")
def disqualify(submission_id: str, state: State, _: Organizer) -> dict[str, str]:
    service.disqualify(state, submission_id)
    return {"id": submission_id, "disqualified": "true"}


@admin.post("/submissions/{submission_id}/release-logs")
def release_logs(submission_id: str, state: State, _: Organizer) -> dict[str, str]:
    service.release_logs(state, submission_id)
    return {"id": submission_id, "logs_released": "true"}


@admin.post("/phases/{phase}/reveal")
def reveal(phase: str, state: State, _: Organizer) -> dict[str, str]:
    service.reveal(state, phase)
    return {"phase": phase, "revealed": "true"}


async def _receive(request: Request, directory: Path, limit: int) -> Path:
    """The request body, written to a file as it arrives; 413 past the limit."""
    received = 0
    with tempfile.NamedTemporaryFile(
        dir=directory, prefix="upload-", suffix=".tar", delete=False
    ) as handle:
        path = Path(handle.name)
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > limit:
                    raise ArchiveTooLarge(
                        f"the image archive is over the {limit}-byte limit of this competition"
                    )
                handle.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    if received == 0:
        path.unlink(missing_ok=True)
        raise ArchiveError("empty body: send the image archive (docker save IMAGE)")
    return path
