"""Serve the sandbox over real HTTP: a WSGI handler bound to ``sandbox.urls`` and a thread server.

The handler serves the sandbox whatever ``ROOT_URLCONF`` says, so tests can run it in-process
beside the app (Django's ``resolve_request`` honours ``request.urlconf``).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler


class SandboxRequest(WSGIRequest):
    """A request resolved against the sandbox's URLconf."""

    urlconf = "sandbox.urls"


class SandboxWSGIHandler(WSGIHandler):
    """Django's WSGI handler, serving ``sandbox.urls``."""

    request_class = SandboxRequest


class SandboxRequestHandler(WSGIRequestHandler):
    """Puts the client socket in the WSGI environ, so the fault switches can drop it."""

    # The handler writes the headers, then the body: with Nagle's algorithm on, the body
    # waited for the client's delayed ACK of the headers, about 40 ms a call.
    disable_nagle_algorithm = True

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = dict(super().get_environ())
        environ["sandbox.socket"] = self.connection
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the journal records every call; keeps test and console output quiet."""


def make_server(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedWSGIServer, str]:
    """Bind a threaded sandbox server without serving yet; returns ``(server, base_url)``."""
    server = ThreadedWSGIServer((host, port), SandboxRequestHandler, allow_reuse_address=True)
    server.set_app(SandboxWSGIHandler())
    return server, f"http://{host}:{server.server_address[1]}"


def start_server(host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedWSGIServer, str]:
    """Start a threaded server for the sandbox in a daemon thread.

    ``port=0`` picks a free port. Returns ``(server, base_url)``, e.g.
    ``http://127.0.0.1:54321`` (no trailing slash). Stop it with ``stop(server)``.
    """
    server, base_url = make_server(host, port)
    thread = threading.Thread(target=server.serve_forever, name="hubspot-sandbox", daemon=True)
    thread.start()
    return server, base_url


def stop(server: ThreadedWSGIServer) -> None:
    """Stop a server started by ``start_server`` and close its socket."""
    server.shutdown()
    server.server_close()
