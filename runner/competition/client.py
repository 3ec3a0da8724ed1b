"""The participant's side: ``airlock login`` keeps the server and the team's token in the
user's config directory (mode 0600); ``airlock submit`` streams ``docker save`` to the
server and follows the submission until its folds are done."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from runner.errors import AirlockError, UsageError

SERVER_ENV = "AIRLOCK_SERVER"
TOKEN_ENV = "AIRLOCK_TOKEN"  # noqa: S105 - the name of a variable, not a secret


class ServerError(AirlockError):
    """The server refused or failed a request; the message is its problem's detail."""

    def __init__(self, status: int, detail: str, retry_after: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.retry_after = status, retry_after


def config_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "airlock" / "credentials.json"


@dataclass(frozen=True)
class Login:
    server: str
    token: str


def save_login(login: Login) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"server": login.server, "token": login.token}, handle)
    path.chmod(0o600)
    return path


def current_login(server: str | None = None) -> Login:
    """From the environment, else the saved login; ``server`` overrides the address."""
    saved: dict[str, str] = {}
    path = config_path()
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
    address = server or os.environ.get(SERVER_ENV) or saved.get("server")
    token = os.environ.get(TOKEN_ENV) or saved.get("token")
    if not address or not token:
        raise UsageError(
            "no competition server configured: run `airlock login URL --token TOKEN` with the "
            "token your organizer gave you"
        )
    return Login(address.rstrip("/"), token)


class Client:
    """A thin, typed wrapper of the server's API."""

    def __init__(self, login: Login, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=login.server,
            headers={"Authorization": f"Bearer {login.token}"},
            timeout=httpx.Timeout(timeout, write=None),
        )

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail") or response.text
            except ValueError:
                detail = response.text[:300]
            raise ServerError(
                response.status_code, str(detail), response.headers.get("retry-after")
            )
        return response.json()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._check(self._http.request(method, path, **kwargs))
        except httpx.HTTPError as exc:
            raise ServerError(0, f"cannot reach the competition server: {exc}") from exc

    def submit(self, archive: Iterator[bytes], phase: str | None) -> dict[str, Any]:
        params = {"phase": phase} if phase else {}
        return dict(self.request("POST", "/api/v1/submissions", params=params, content=archive))

    def submission(self, submission_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v1/submissions/{submission_id}"))

    def submissions(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/v1/submissions"))

    def phases(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/v1/phases"))
