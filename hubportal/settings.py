"""Settings for hubportal, read from the environment through small strict helpers.

Every variable has a working default for the local demo (SQLite, the embedded HubSpot
sandbox on 127.0.0.1:8765). With ``DJANGO_DEBUG=false`` the secrets have no default and a
missing one stops the start-up with a message naming it.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable ``name``; raise ImproperlyConfigured when unset and no default."""
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return ``name`` as a boolean: true/false/1/0/yes/no/on/off; anything else raises."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true or false.")


def env_int(name: str, default: int) -> int:
    """Return ``name`` as an integer; a value that is not one raises."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_list(name: str, default: str) -> list[str]:
    """Return ``name`` split on commas, blanks dropped."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

_DEMO_SECRET = "django-insecure-hubportal-demo-key-change-me-in-production"  # noqa: S105
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEMO_SECRET if DEBUG else None)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# The HubSpot sandbox app (SANDBOX.md): for the demo, the tests and the benchmarks, never in
# production, where its tables would land in the real database. Defaults to DEBUG;
# `manage.py sandbox` installs it whatever this says (sandbox/settings.py).
HUBPORTAL_SANDBOX = env_bool("HUBPORTAL_SANDBOX", DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # intcomma: every count on a page with the language's thousands separator.
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "django_rq",
    "axes",
    "appointments",
    *(["sandbox"] if HUBPORTAL_SANDBOX else []),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware, as WhiteNoise asks: static files answer before sessions.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Below it: adds form-action from settings read per response (hubportal.middleware).
    "hubportal.middleware.csp_form_action",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hubportal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "hubportal.wsgi.application"

# Database: SQLite file by default; any dj-database-url URL (postgres://...) otherwise.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process, the worker and the sandbox write at once: WAL, a busy timeout and
    # BEGIN IMMEDIATE avoid "database is locked"
    # (https://docs.djangoproject.com/en/stable/ref/databases/#database-is-locked-errors).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so the worker and sandbox processes started by tests share it.
    # One file per test process, so parallel test runs do not collide.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / ".pytest-db" / f"test-{os.getpid()}.sqlite3"),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "appointments:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
# Proposed on the upload form until a person has used another zone (dates without an offset
# are read in it).
HUBPORTAL_DEFAULT_TIMEZONE = env_str("HUBPORTAL_DEFAULT_TIMEZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves STATIC_ROOT (filled by `manage.py collectstatic`) with hashed names and
# far-future caching in production; the demo and tests serve the sources as they are.
# https://whitenoise.readthedocs.io/en/stable/django.html
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# The demo and tests (DEBUG in the environment, even where the test runner turns DEBUG off)
# serve the sources through the finders and need no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS is declared (the site is reached over https://, directly or through a proxy): redirect
# plain HTTP, send HSTS and mark cookies Secure. On by default in production.
HUBPORTAL_HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HUBPORTAL_HTTPS
# Probes inside the network ask over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if HUBPORTAL_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", HUBPORTAL_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """``Header-Name: value`` (e.g. ``X-Forwarded-Proto: https``) as Django's
    SECURE_PROXY_SSL_HEADER tuple; empty gives None. Set it only behind a proxy that always
    sets or strips that header."""
    value = env_str(name, "")
    if not value:
        return None
    header, sep, expected = value.partition(":")
    if not sep or not header.strip() or not expected.strip():
        raise ImproperlyConfigured(
            f"{name}={value!r} is not 'Header-Name: value', e.g. 'X-Forwarded-Proto: https'."
        )
    return "HTTP_" + header.strip().upper().replace("-", "_"), expected.strip()


SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("DJANGO_SECURE_PROXY_SSL_HEADER")

# Uploads: files above this size are refused with a message before they are read.
HUBPORTAL_MAX_UPLOAD_BYTES = env_int("HUBPORTAL_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
HUBPORTAL_MAX_ROWS = env_int("HUBPORTAL_MAX_ROWS", 100_000)
# Cells (rows x columns) one upload may hold, counted before a sheet is loaded: memory stays
# bounded whatever a small, dense workbook inflates to.
HUBPORTAL_MAX_CELLS = env_int("HUBPORTAL_MAX_CELLS", 2_000_000)
# Columns the mapping screen shows with their samples and a target select; further columns of
# a wide file are listed by name (and shown in full when mapped or asked for), so the page
# stays small whatever the file's width.
HUBPORTAL_MAPPING_COLUMNS = env_int("HUBPORTAL_MAPPING_COLUMNS", 50)
# Seconds without a stored chunk after which a batch whose rows were being stored is taken to
# have lost its process (killed mid-confirm) and is stored again by the next visit or worker.
HUBPORTAL_STORING_LEASE = env_int("HUBPORTAL_STORING_LEASE", 60)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Background tasks: django-tasks-db on the app's database by default (worker: manage.py
# worker); HUBPORTAL_TASK_BACKEND=rq switches to RQ on Redis (django-tasks-rq) so workers can
# run on several machines.
HUBPORTAL_TASK_BACKEND = env_str("HUBPORTAL_TASK_BACKEND", "db")
if HUBPORTAL_TASK_BACKEND not in {"db", "rq"}:
    raise ImproperlyConfigured("HUBPORTAL_TASK_BACKEND must be db or rq.")
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks_rq.RQBackend"
            if HUBPORTAL_TASK_BACKEND == "rq"
            else "django_tasks_db.DatabaseBackend"
        ),
    }
}
RQ_QUEUES = {
    "default": {"URL": env_str("HUBPORTAL_RQ_REDIS_URL", "redis://127.0.0.1:6379/0")},
}

# HubSpot. The defaults point at the embedded sandbox (`python manage.py sandbox`); a real
# app sets https://api.hubapi.com and https://app.hubspot.com and its own credentials.
# The embedded sandbox where it is installed (the demo, tests), HubSpot itself otherwise: a
# production deploy that sets no URL talks to HubSpot, never to a sandbox that is not there.
_HUBSPOT_API, _HUBSPOT_APP = (
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765")
    if HUBPORTAL_SANDBOX
    else ("https://api.hubapi.com", "https://app.hubspot.com")
)
HUBSPOT_API_BASE_URL = env_str("HUBSPOT_API_BASE_URL", _HUBSPOT_API).rstrip("/")
HUBSPOT_APP_BASE_URL = env_str("HUBSPOT_APP_BASE_URL", _HUBSPOT_APP).rstrip("/")
HUBSPOT_CLIENT_ID = env_str("HUBSPOT_CLIENT_ID", "hubportal-demo-client" if DEBUG else "")
HUBSPOT_CLIENT_SECRET = env_str("HUBSPOT_CLIENT_SECRET", "hubportal-demo-secret" if DEBUG else "")
HUBSPOT_SCOPES = env_list(
    "HUBSPOT_SCOPES",
    "oauth,crm.objects.appointments.read,crm.objects.appointments.write,"
    "crm.schemas.appointments.read",
)
HUBSPOT_OPTIONAL_SCOPES = env_list(
    "HUBSPOT_OPTIONAL_SCOPES",
    "crm.objects.contacts.read,crm.objects.companies.read,crm.objects.deals.read,"
    "crm.objects.owners.read,crm.objects.contacts.write",
)
# Absolute redirect URI registered with the HubSpot app; empty means "build it from the request".
HUBSPOT_REDIRECT_URI = env_str("HUBSPOT_REDIRECT_URI", "")
HUBSPOT_TIMEOUT_SECONDS = float(env_str("HUBSPOT_TIMEOUT_SECONDS", "30"))
# What HubSpot calls may cost a page view in all (schema reads, the record check): one attempt
# each, no retries, so a hanging HubSpot holds a person this long at most.
HUBSPOT_PAGE_TIMEOUT_SECONDS = float(env_str("HUBSPOT_PAGE_TIMEOUT_SECONDS", "10"))
# HubSpot's rolling 10-second budget per portal and app
# (https://developers.hubspot.com/docs/api/usage-details; SANDBOX.md, "Rate limits").
HUBSPOT_RATE_LIMIT_PER_10S = env_int("HUBSPOT_RATE_LIMIT_PER_10S", 110)
# Searches per second and portal: HubSpot's search limit is 5 (SANDBOX.md, "Search limit"); one
# is kept in reserve as for the 10-second budget.
HUBSPOT_SEARCH_PER_SECOND = env_int("HUBSPOT_SEARCH_PER_SECOND", 4)
# Batch-create calls one batch keeps in flight at once (each on its own DB connection and HTTP
# session); HubSpot answers in hundreds of milliseconds, so one at a time wastes the budget.
HUBPORTAL_CALLS_IN_FLIGHT = env_int("HUBPORTAL_CALLS_IN_FLIGHT", 3)
# A worker renews its lease on the batch it sends (Batch.heartbeat_at) every quarter of this,
# from its own thread; every worker looks for expired leases as often and resumes those batches.
# A killed worker's batch therefore resumes within about 1.25 x this plus the worker's poll.
HUBPORTAL_WORKER_LEASE_SECONDS = env_int("HUBPORTAL_WORKER_LEASE_SECONDS", 20)
if HUBPORTAL_WORKER_LEASE_SECONDS < 4:
    raise ImproperlyConfigured("HUBPORTAL_WORKER_LEASE_SECONDS must be at least 4.")
# Longest wait between two tries of a call HubSpot did not answer or could not be reached for
# (the wait doubles from 2 s up to this; 8 tries a call).
HUBPORTAL_RETRY_WAIT_MAX_SECONDS = env_int("HUBPORTAL_RETRY_WAIT_MAX_SECONDS", 30)
# After a call whose answer was lost (no row key), how long the engine waits before searching
# HubSpot for what it created, and before "Check HubSpot again" may call a row not sent. HubSpot's
# search guide says new records "may take a few moments" to appear in search and gives no figure;
# integrators report several seconds (Locoia) and advise waiting 10 s after a create, 60 s after
# an update (Okta Workflows); 60 s covers both (README, "Exactly once").
HUBPORTAL_SEARCH_SETTLE_SECONDS = env_int("HUBPORTAL_SEARCH_SETTLE_SECONDS", 60)
# Calls kept in reserve below that budget (our window starts at send, HubSpot's at arrival).
HUBSPOT_RATE_LIMIT_MARGIN = env_int("HUBSPOT_RATE_LIMIT_MARGIN", 2)
# Redis URL for the shared call budget (workers on several machines); empty: a SQLite file.
HUBPORTAL_REDIS_URL = env_str("HUBPORTAL_REDIS_URL", "")
# Where process-shared state files live (the call budget without Redis).
HUBPORTAL_STATE_DIR = env_str("HUBPORTAL_STATE_DIR", str(BASE_DIR / "var"))
# Fernet keys (comma-separated, newest first) for tokens at rest; derived from SECRET_KEY if empty.
HUBPORTAL_TOKEN_KEYS = env_list("HUBPORTAL_TOKEN_KEYS", "")

# E-mail to the person who sent a batch when it finishes or pauses: printed on the console in
# the demo, SMTP in production.
# https://docs.djangoproject.com/en/6.1/topics/email/
_EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS: dict[str, dict[str, object]] = {"default": {"BACKEND": _EMAIL_BACKEND}}
if _EMAIL_BACKEND.endswith(".smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("DJANGO_EMAIL_HOST", "localhost"),
        "port": env_int("DJANGO_EMAIL_PORT", 25),
        "username": env_str("DJANGO_EMAIL_HOST_USER", ""),
        "password": env_str("DJANGO_EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", False),
        "timeout": env_int("DJANGO_EMAIL_TIMEOUT", 10),
    }
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "hubportal@localhost")
# The site's address as people open it (https://ops.example.com), for links in e-mails.
HUBPORTAL_SITE_URL = env_str("HUBPORTAL_SITE_URL", "http://127.0.0.1:8000" if DEBUG else "")
# Retention: `manage.py purge_data` deletes batches (their rows and calls) and uploads last
# active this many days ago.
HUBPORTAL_RETENTION_DAYS = env_int("HUBPORTAL_RETENTION_DAYS", 90)

# Single sign-on through OpenID Connect (appointments/oidc.py, services/accounts.py), on when a
# discovery URL is set: https://openid.net/specs/openid-connect-discovery-1_0.html
OIDC_DISCOVERY_URL = env_str("OIDC_DISCOVERY_URL", "")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "")
# Empty: built from the request (<site>/accounts/sso/callback/); register it with the provider.
OIDC_REDIRECT_URI = env_str("OIDC_REDIRECT_URI", "")
OIDC_SCOPES = env_list("OIDC_SCOPES", "openid,email,profile")
# The ID token claim listing the person's groups, and which group gives which role
# (``group=role`` pairs; role: admin, operator or viewer; the highest one found wins).
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUP_ROLES = env_list("OIDC_GROUP_ROLES", "")
for _pair in OIDC_GROUP_ROLES:
    # Refused at start, not at someone's first sign-in.
    if _pair.partition("=")[2].strip() not in {"admin", "operator", "viewer"}:
        raise ImproperlyConfigured(
            f"OIDC_GROUP_ROLES: {_pair!r} is not group=role with role admin, operator or viewer."
        )
# The button's label on the sign-in page, e.g. the company's name for its login.
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "")
# Password sign-in (the form); turn it off once everyone signs in through single sign-on.
HUBPORTAL_PASSWORD_LOGIN = env_bool("HUBPORTAL_PASSWORD_LOGIN", True)

# Password sign-ins are throttled by django-axes: after this many failures for one username
# from one address, that pair is locked out for the cool-off (hours).
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_FAILURE_LIMIT = env_int("HUBPORTAL_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("HUBPORTAL_LOGIN_COOLOFF_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env_int("HUBPORTAL_PROXY_COUNT", 0)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]


# Content-Security-Policy (Django's own, django.middleware.csp): scripts and styles come only
# from our static files, never inline; no <base> (base-uri 'none', stricter than 'self'); never
# framed. form-action ('self' and HubSpot's authorize host, where the Connect form's redirect
# goes) is added per response by hubportal.middleware.csp_form_action: HUBSPOT_APP_BASE_URL is a
# setting tests and deployments change.
# https://docs.djangoproject.com/en/6.0/ref/csp/
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}
# No page of the app uses these browser features (django-permissions-policy).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}

# The sandbox's own knobs (see SANDBOX.md).
SANDBOX_TOKEN_LIFETIME_SECONDS = env_int("SANDBOX_TOKEN_LIFETIME_SECONDS", 1800)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # A 4xx (PermissionDenied, a bad request) is logged in one line, without its traceback.
    "filters": {"client_errors": {"()": "hubportal.logs.ClientErrorsInOneLine"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("HUBPORTAL_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes: its start-up banner and a line per sign-in are INFO; lockouts warn.
        "axes": {"level": "WARNING"},
    },
}
