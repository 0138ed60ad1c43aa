"""``/healthz``: the answer a load balancer or uptime probe reads."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from appointments.services.health import health_checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 ``{"status": "ok", "checks": {"database": "ok", ...}}`` when every check passes,
    503 with ``"status": "failing"`` otherwise.

    Open without signing in, as probes are: it names each check and whether it passed, never
    why (the reason, which may hold a host name, goes to the log).
    """
    checks = health_checks()
    healthy = all(check.ok for check in checks)
    return JsonResponse(
        {
            "status": "ok" if healthy else "failing",
            "checks": {check.name: "ok" if check.ok else "failing" for check in checks},
        },
        status=200 if healthy else 503,
    )
