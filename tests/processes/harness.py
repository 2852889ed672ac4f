"""
Real worker processes for the scale-out tests: a database of their own on
the suite's PostgreSQL server, gunicorn servers started as subprocesses, an
HTTP client, and a TCP proxy that can cut a server off from the database.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings

PROJECT_DIR = Path(__file__).resolve().parents[2]
API_KEY = "process-tests-key"
PREVIEW_TOKEN = "process-tests-preview"
ADMIN_USERNAME = "operator"
ADMIN_PASSWORD = "a-process-test-password"


def services_missing_reason() -> str | None:
    """Say why the process tests cannot run here, or None when they can."""
    engine = settings.DATABASES["default"]["ENGINE"]
    cache_backend = settings.CACHES["default"]["BACKEND"]
    if engine != "django.db.backends.postgresql" or "redis" not in cache_backend.lower():
        return (
            "multi-process tests need the suite on PostgreSQL and Redis "
            "(set DATABASE_URL=postgres://… and CACHE_URL=redis://…, as .ci/run does)"
        )
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Database ---------------------------------------------------------------------


@dataclass
class ProcessDatabase:
    """A database of its own on the suite's PostgreSQL server, migrated and seeded."""

    name: str
    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_settings(cls, name: str) -> ProcessDatabase:
        db = settings.DATABASES["default"]
        return cls(
            name=name,
            host=db.get("HOST") or "127.0.0.1",
            port=int(db.get("PORT") or 5432),
            user=db.get("USER") or "postgres",
            password=db.get("PASSWORD") or "",
        )

    def url(self, *, port: int | None = None) -> str:
        credentials = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{credentials}@{self.host}:{port or self.port}/{self.name}"

    def _admin_connection(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname="postgres",
            autocommit=True,
        )

    def create(self) -> None:
        with self._admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with self._admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)


def manage(*arguments: str, env: dict[str, str]) -> str:
    """Run a management command in a fresh process and return its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{result.stderr}")
    return result.stdout


def server_environment(*, database_url: str, cache_url: str) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV"}
    environment = {key: value for key, value in os.environ.items() if key in keep}
    environment.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "process-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            "CHECKOUT_API_KEY": API_KEY,
            "CHECKOUT_PREVIEW_TOKEN": PREVIEW_TOKEN,
            "TRUST_ENVIRONMENT": "development",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environment


# Servers ----------------------------------------------------------------------


@dataclass
class Server:
    """One gunicorn server (with `workers` worker processes) on its own port."""

    name: str
    environment: dict[str, str]
    log_path: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "trustsite/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--max-requests",
                "0",
                "trustsite.wsgi:application",
            ],
            cwd=PROJECT_DIR,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            try:
                if request(self, "GET", "/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not come up:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# HTTP -------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


def request(
    server: Server,
    method: str,
    path: str,
    *,
    payload: Any = None,
    api_key: str | None = API_KEY,
    opener: urllib.request.OpenerDirector | None = None,
    form: dict[str, Any] | list[tuple[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    data = None
    all_headers = dict(headers or {})
    if payload is not None:
        data = json.dumps(payload).encode()
        all_headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    if api_key:
        all_headers["X-API-Key"] = api_key
    outgoing = urllib.request.Request(
        server.base_url + path, data=data, method=method, headers=all_headers
    )
    try:
        with (opener or urllib.request.build_opener()).open(outgoing, timeout=timeout) as reply:
            return Response(reply.status, dict(reply.headers), reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers), error.read())


def resolve(server: Server, metric_ids: list[str], **kwargs: Any) -> Response:
    payload = {"slug": "checkout", "metrics": [{"metric_id": m} for m in metric_ids]}
    return request(server, "POST", "/api/v1/trust/experiences", payload=payload, **kwargs)


class _FormParser(HTMLParser):
    """Collect the fields of the first form with a given id, as a browser would submit it."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form" and values.get("id") == self.form_id:
            self.inside = True
        if not self.inside or ("name" not in values and tag != "option"):
            return
        if tag == "input":
            kind = values.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in values:
                return
            if kind in {"submit", "button", "file", "image"}:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self.fields.append((values["name"], values.get("value", default)))
        elif tag == "select":
            self._select, self._select_value = values["name"], None
        elif tag == "option" and self._select is not None:
            # The first option is the default until a selected one comes.
            if "selected" in values or self._select_value is None:
                self._select_value = values.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = values["name"], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select is not None:
            self.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text).lstrip("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def admin_session(server: Server) -> urllib.request.OpenerDirector:
    """Log into admin on `server` and return an opener that carries the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = request(server, "GET", "/admin/login/", opener=opener, api_key=None)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    reply = request(
        server,
        "POST",
        "/admin/login/?next=/admin/",
        opener=opener,
        api_key=None,
        form={
            "csrfmiddlewaretoken": token,
            "username": ADMIN_USERNAME,
            "password": ADMIN_PASSWORD,
            "next": "/admin/",
        },
        headers={"Referer": server.base_url + "/admin/login/"},
    )
    if "log out" not in reply.text.lower():
        raise RuntimeError(f"admin login failed on {server.name}: {reply.status}")
    return opener


def submit_admin_form(
    server: Server,
    opener: urllib.request.OpenerDirector,
    path: str,
    form_id: str,
    changes: dict[str, str],
) -> Response:
    """Load an admin change form, change some fields and save it, as an operator would."""
    page = request(server, "GET", path, opener=opener, api_key=None)
    parser = _FormParser(form_id)
    parser.feed(page.text)
    fields = [(name, changes.get(name, value)) for name, value in parser.fields]
    return request(
        server,
        "POST",
        path,
        opener=opener,
        api_key=None,
        form=fields,
        headers={"Referer": server.base_url + path},
    )


# A proxy that can cut the database off ----------------------------------------------


class TCPProxy:
    """Forward a local port to the database; `stop()` cuts every connection at once."""

    def __init__(self, *, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TCPProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update({client, upstream})
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        pair = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in pair:
                sock.close()
            with self._lock:
                self._sockets.difference_update(pair)
