"""WSGI entry point for serving the sandbox alone with any WSGI server (e.g. gunicorn)."""

import os

from django import setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
setup(set_prefix=False)

from sandbox.server import SandboxWSGIHandler  # noqa: E402

application = SandboxWSGIHandler()
