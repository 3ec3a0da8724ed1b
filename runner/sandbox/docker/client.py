"""The only module that talks to the docker SDK.

Each method is a thin call; docker and requests exceptions are translated here into the
runner's own (see runner/errors.py) so nothing above this file ever sees them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.models.containers as _sdk_containers
import requests.exceptions

from runner.errors import EngineUnavailable, ImageUnavailable
from runner.sandbox.base import ExitInfo, ImageInfo, ResourceSample

_ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise ImageUnavailable(f"{action}: image not found ({exc.explanation})") from exc
    except _ENGINE_ERRORS as exc:
        raise EngineUnavailable(f"{action}: {_describe(exc)}") from exc


def _os_error_in(exc: BaseException, depth: int = 0) -> OSError | None:
    """The operating-system error at the bottom of a requests/urllib3 wrapper chain."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    if depth > 6:
        return None
    inner = [exc.__cause__, exc.__context__, *(a for a in exc.args if isinstance(a, BaseException))]
    for candidate in inner:
        if candidate is not None and (found := _os_error_in(candidate, depth + 1)):
            return found
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        return str(exc.explanation)
    if isinstance(exc, docker.errors.DockerException | requests.exceptions.RequestException):
        cause = _os_error_in(exc)
        if cause is not None:
            return (cause.strerror or str(cause)).lower()
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _close_quietly(thing: object) -> None:
    """Close an SDK object we are done with; a failure to close it changes nothing for us."""
    close = getattr(thing, "close", None)
    if close is not None:
        with suppress(Exception):
            close()


def engine_address() -> str:
    """Where the SDK looks for the engine: ``DOCKER_HOST`` or the default local socket."""
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


class DockerEngine:
    """A connection to one Docker engine (``DOCKER_HOST`` or the local socket)."""

    def __init__(self, timeout: float = 60.0) -> None:
        with _translated(f"cannot reach the Docker engine at {engine_address()}"):
            self._client = docker.from_env(timeout=int(timeout))
        self._api = self._client.api
        if not self._api.base_url.startswith(("http+docker://localhost", "http://")):
            # Folds are driven over the engine's raw attach stream, read as a plain socket.
            raise EngineUnavailable(
                f"the engine at {engine_address()} is reached over TLS or SSH, which Airlock "
                "cannot drive a fold through; use its unix socket or a plain tcp:// address"
            )
        with _translated(f"cannot reach the Docker engine at {engine_address()}"):
            self._client.ping()

    def version(self) -> str:
        with _translated("cannot read the engine version"):
            info = self._api.version()
        return f"docker {info.get('Version', '?')} (API {info.get('ApiVersion', '?')})"

    def info(self) -> dict[str, Any]:
        """The engine's ``docker info`` (system-wide facts: runtimes, root dir, cgroups)."""
        with _translated("cannot read the engine's info"):
            return dict(self._api.info())

    def versions(self) -> dict[str, Any]:
        """The engine's ``docker version`` fields."""
        with _translated("cannot read the engine version"):
            return dict(self._api.version())

    def runtimes(self) -> dict[str, Any]:
        """The engine's runtimes by name, each with its entry (``path``, ``runtimeArgs``)."""
        with _translated("cannot read the engine's runtimes"):
            return dict(self._api.info().get("Runtimes") or {})

    def image(self, ref: str) -> ImageInfo:
        try:
            attrs: dict[str, Any] = self._api.inspect_image(ref)  # type: ignore[no-untyped-call]
        except docker.errors.ImageNotFound as exc:
            raise ImageUnavailable(
                f"image {ref!r} is not on this Docker engine: build it (`docker build -t {ref} "
                f".` in its directory) or pull it (`docker pull {ref}`)"
            ) from exc
        except _ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"image {ref!r}: {_describe(exc)}") from exc
        config = attrs.get("Config") or {}
        return ImageInfo(
            ref=ref,
            id=attrs["Id"],
            repo_digests=list(attrs.get("RepoDigests") or []),
            user=config.get("User") or "",
            labels=dict(config.get("Labels") or {}),
        )

    def layer_dirs(self, ref: str) -> list[str]:
        """The host directories of the image's filesystem layers (overlay2), if visible."""
        with _translated(f"image {ref!r}"):
            attrs: dict[str, Any] = self._api.inspect_image(ref)  # type: ignore[no-untyped-call]
        data = (attrs.get("GraphDriver") or {}).get("Data") or {}
        return [
            d for key in ("UpperDir", "LowerDir") for d in (data.get(key) or "").split(":") if d
        ]

    def registry_digest(self, ref: str) -> str:
        """``repository@sha256:...`` of ``ref`` as the registry knows it (the image must
        have been pushed there)."""
        repository = ref.split("@", 1)[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository.rsplit(":", 1)[0]
        with _translated(f"cannot ask the registry about {ref!r} (push it first)"):
            digest = self._client.images.get_registry_data(ref).id
        return f"{repository}@{digest}"

    def has_image(self, ref: str) -> bool:
        try:
            self._api.inspect_image(ref)  # type: ignore[no-untyped-call]
        except docker.errors.ImageNotFound:
            return False
        except _ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"image {ref!r}: {_describe(exc)}") from exc
        return True

    def load(self, archive: Path) -> str:
        """``docker load`` of an archive; returns the id of the image it held."""
        loaded = ""
        with _translated("cannot load the image archive"), archive.open("rb") as handle:
            for line in self._api.load_image(handle):  # type: ignore[no-untyped-call]
                text = str(line.get("stream") or line.get("error") or "")
                if line.get("error"):
                    raise EngineUnavailable(f"cannot load the image archive: {text.strip()}")
                if "Loaded image ID:" in text:
                    loaded = text.split("Loaded image ID:", 1)[1].strip()
        if not loaded:
            raise EngineUnavailable("the engine loaded no image from the archive")
        return loaded

    def save(self, ref: str) -> Iterator[bytes]:
        """``docker save``: the image archive, streamed in chunks."""
        with _translated(f"cannot export {ref!r}"):
            response = self._api.get_image(ref)
        return iter(response)

    def tag(self, image_id: str, repository: str, tag: str = "latest") -> None:
        with _translated(f"cannot tag {image_id[:19]} as {repository}:{tag}"):
            self._api.tag(image_id, repository, tag)

    def push(self, repository: str, tag: str = "latest") -> None:
        with _translated(f"cannot push {repository}:{tag}"):
            for line in self._api.push(repository, tag=tag, stream=True, decode=True):
                if isinstance(line, dict) and line.get("error"):
                    raise EngineUnavailable(f"cannot push {repository}:{tag}: {line['error']}")

    def pull(self, ref: str) -> None:
        """Pull ``repository@sha256:...`` (or a tag) from its registry."""
        with _translated(f"cannot pull {ref!r}"):
            self._client.images.pull(ref)

    def create(self, kwargs: dict[str, Any]) -> str:
        """Create a container from ``containers.create``-style arguments, plus
        ``masked_paths``, which the engine accepts but the SDK's keywords lack."""
        kwargs = dict(kwargs)
        masked = kwargs.pop("masked_paths", None)
        with _translated("cannot create the container"):
            # The SDK's own translation of these keywords (what containers.create uses).
            to_args = _sdk_containers._create_container_args  # type: ignore[attr-defined]
            args = to_args(
                {**kwargs, "command": kwargs.get("command"), "version": self._api.api_version}
            )
            if masked is not None:
                args["host_config"]["MaskedPaths"] = list(masked)
            created = self._api.create_container(**args)
        return str(created["Id"])

    def attach(self, container_id: str) -> socket.socket:
        """The raw, bidirectional attach socket (stdin in, multiplexed stdout/stderr out).

        The caller gets its own duplicate of the connection's descriptor, and the SDK's
        response is closed here: left to the garbage collector, the SDK closes the socket
        under a running fold whenever its response object happens to be collected."""
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1, "logs": 0}
        with _translated("cannot attach to the container"):
            wrapped = self._api.attach_socket(container_id, params=params)
        raw = getattr(wrapped, "_sock", wrapped)
        try:
            if not isinstance(raw, socket.socket):  # TLS and SSH engines are refused above
                raise EngineUnavailable(
                    "the engine's attach stream is not a plain socket; use the engine's unix "
                    "socket or a plain tcp:// address"
                )
            return raw.dup()
        finally:
            _close_quietly(getattr(wrapped, "_response", None))
            _close_quietly(wrapped)

    def start(self, container_id: str) -> None:
        with _translated("cannot start the container"):
            self._api.start(container_id)

    def pid(self, container_id: str) -> int:
        with _translated("cannot inspect the container"):
            return int(self._api.inspect_container(container_id)["State"].get("Pid") or 0)

    def exit_info(self, container_id: str) -> ExitInfo | None:
        """How the container ended, or None if it is still running."""
        with _translated("cannot inspect the container"):
            state = self._api.inspect_container(container_id)["State"]
        if state.get("Running"):
            return None
        return ExitInfo(exit_code=state.get("ExitCode"), oom_killed=bool(state.get("OOMKilled")))

    def wait(self, container_id: str, timeout: float) -> ExitInfo | None:
        """Block until the container exits (None if it still runs after ``timeout``)."""
        try:
            self._api.wait(container_id, timeout=max(timeout, 0.01))  # type: ignore[arg-type]
        except requests.exceptions.ConnectionError as exc:
            # A read timeout surfaces as ConnectionError(ReadTimeoutError) in the SDK.
            if "timed out" not in str(exc).lower():
                raise EngineUnavailable(f"waiting for the container: {_describe(exc)}") from exc
        except requests.exceptions.ReadTimeout:
            pass
        except _ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"waiting for the container: {_describe(exc)}") from exc
        return self.exit_info(container_id)

    def kill(self, container_id: str) -> None:
        try:
            self._api.kill(container_id)
        except docker.errors.APIError as exc:
            if exc.status_code not in (404, 409):  # already gone or not running
                raise EngineUnavailable(f"cannot kill the container: {_describe(exc)}") from exc
        except _ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"cannot kill the container: {_describe(exc)}") from exc

    def remove(self, container_id: str) -> None:
        try:
            self._api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if exc.status_code == 409 and "in progress" in _describe(exc):
                return  # another cleanup path is already removing it
            raise EngineUnavailable(f"cannot remove the container: {_describe(exc)}") from exc
        except _ENGINE_ERRORS as exc:
            raise EngineUnavailable(f"cannot remove the container: {_describe(exc)}") from exc

    def stats(self, container_id: str) -> ResourceSample | None:
        """One-shot engine stats (slow: used only when the cgroup files are out of reach)."""
        try:
            raw = self._api.stats(container_id, stream=False, one_shot=True)
        except _ENGINE_ERRORS:
            return None
        memory = raw.get("memory_stats") or {}
        cpu = (raw.get("cpu_stats") or {}).get("cpu_usage") or {}
        peak = memory.get("max_usage") or memory.get("usage")
        total = cpu.get("total_usage")
        return ResourceSample(
            cpu_seconds=total / 1e9 if total else None,
            peak_memory_bytes=int(peak) if peak else None,
        )

    def containers_with_label(self, label: str) -> list[tuple[str, dict[str, str]]]:
        """Ids and labels of every container (running or not) carrying ``label``."""
        with _translated("cannot list containers"):
            found = self._api.containers(all=True, filters={"label": label})
        return [(item["Id"], dict(item.get("Labels") or {})) for item in found]
