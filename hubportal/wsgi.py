"""WSGI entry point for hubportal: the web process (runserver and gunicorn load it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubportal.settings")

application = get_wsgi_application()

# Imported once Django is set up. Here rather than in a system check or AppConfig.ready:
# only the web process loads this module (tests, migrate and the other commands do not), so
# the check never runs during tests, nor before `make run` has started the sandbox.
from appointments.hubspot.reachability import warn_if_unreachable_in_background  # noqa: E402

warn_if_unreachable_in_background()
