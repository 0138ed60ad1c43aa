"""Settings for running the sandbox alone (``manage.py sandbox``): the project's, re-rooted.

The sandbox app is installed whatever ``HUBPORTAL_SANDBOX`` says (even with
``DJANGO_DEBUG=false``, as the benchmarks run it). It gets its own session and CSRF cookie
names: browsers do not separate cookies by port (RFC 6265 section 8.5), so the app on
127.0.0.1:8000 and the sandbox on 127.0.0.1:8765 would overwrite each other's cookies and lose
the OAuth ``state``.
"""

from hubportal.settings import *  # noqa: F403
from hubportal.settings import DATABASES, INSTALLED_APPS

if "sandbox" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]

ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"
SESSION_COOKIE_NAME = "hubsandbox_sessionid"
CSRF_COOKIE_NAME = "hubsandbox_csrftoken"

# Only what the sandbox's views use: none reads a session, a user, messages or the language,
# and each does its own CSRF check (sandbox.csrf). The project's full list cost about 1 ms
# of CPU per call.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Sets Content-Length, which keeps the client's connection open between calls.
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# A local emulator over plain HTTP, even when the project's settings declare HTTPS (the
# benchmarks run it with DJANGO_DEBUG=false): no redirect to https, no HSTS, no Secure cookies.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# The admin is installed (the project's apps) but sandbox.urls does not serve it; nobody signs
# in to the sandbox, so django-axes's middleware has nothing to throttle.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410", "axes.W002"]

# Keep a thread's database connection for the life of its HTTP connection (the threaded server
# closes it when the client hangs up): opening and closing a SQLite connection per call, with
# its WAL checkpoint, cost about 3 ms of CPU per call.
DATABASES["default"]["CONN_MAX_AGE"] = None
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
