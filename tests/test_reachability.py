"""At start, the worker and the web process say clearly when they cannot reach the configured
HUBSPOT_API_BASE_URL, and start anyway."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.core.management import call_command

from appointments.hubspot.reachability import reachability_problem


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_explains(text: str, url: str) -> None:
    assert f"HUBSPOT_API_BASE_URL={url}" in text
    assert "Connection refused" in text
    assert "make run" in text and "set HUBSPOT_API_BASE_URL" in text


def test_it_names_the_url_the_error_and_the_fix_when_hubspot_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{closed_port()}"

    assert_explains(reachability_problem(base_url=url), url)


def test_it_says_nothing_when_the_sandbox_answers(hubspot: Any) -> None:
    assert reachability_problem() == ""


def test_the_worker_says_so_at_start_and_runs_anyway(transactional_db: Any, settings: Any) -> None:
    # Transactional: db_worker closes the database connection when it stops.
    settings.HUBSPOT_API_BASE_URL = url = f"http://127.0.0.1:{closed_port()}"
    stderr = io.StringIO()

    call_command("worker", burst=True, stderr=stderr, stdout=io.StringIO())

    assert_explains(stderr.getvalue(), url)


def test_the_web_process_says_so_at_start_and_serves_anyway(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {
        **os.environ,
        "HUBSPOT_API_BASE_URL": url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
    }
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{closed_port()}"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    # readline blocks: a thread reads, so the wait below is bounded whatever the process does.
    reader = threading.Thread(target=lambda: [lines.put(line) for line in web.stderr or ()])
    reader.start()
    said = ""
    try:
        deadline = time.monotonic() + 30
        while not said and (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=left)
                said = line if "cannot be reached" in line else ""
        assert web.poll() is None, "the web process stopped"
    finally:
        web.terminate()
        web.wait(timeout=20)
        reader.join(timeout=20)
        if web.stderr is not None:
            web.stderr.close()
    assert_explains(said, url)
