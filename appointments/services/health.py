"""What ``/healthz`` checks: the database, the task queue and the HubSpot base URL.

A load balancer or an uptime probe reads it; each check is bounded in time and never raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import django_rq
from django.conf import settings
from django.db import connection
from django_tasks_db.models import DBTaskResult

from appointments.hubspot.reachability import reachability_problem

logger = logging.getLogger(__name__)

# A probe that waits longer than its own time-out reports nothing useful.
HUBSPOT_PROBE_SECONDS = 2.0


@dataclass(frozen=True)
class HealthCheck:
    """One check: its ``name`` (database, tasks, hubspot), whether it passed, and why not."""

    name: str
    ok: bool
    problem: str = ""


def _database() -> HealthCheck:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is the answer
        return HealthCheck("database", False, f"{type(exc).__name__}: {exc}")
    return HealthCheck("database", True)


def _tasks() -> HealthCheck:
    """The configured queue answers: Redis's PING for RQ, the task table for the database one."""
    try:
        if settings.HUBPORTAL_TASK_BACKEND == "rq":
            django_rq.get_connection("default").ping()
        else:
            DBTaskResult.objects.exists()
    except Exception as exc:  # any failure is the answer
        return HealthCheck("tasks", False, f"{type(exc).__name__}: {exc}")
    return HealthCheck("tasks", True)


def _hubspot() -> HealthCheck:
    problem = reachability_problem(timeout=HUBSPOT_PROBE_SECONDS)
    return HealthCheck("hubspot", not problem, problem)


def health_checks() -> list[HealthCheck]:
    """Run every check, in order database, tasks, hubspot; log each failure with its reason.

    The HubSpot check counts any HTTP answer from ``settings.HUBSPOT_API_BASE_URL`` as up
    (``appointments/hubspot/reachability.py``), at most 2 s.
    """
    checks = [_database(), _tasks(), _hubspot()]
    for check in checks:
        if not check.ok:
            logger.warning("healthz: %s failing: %s", check.name, check.problem)
    return checks
