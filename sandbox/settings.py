"""Settings for running the sandbox alone (``manage.py sandbox``): the project's, re-rooted.

The sandbox gets its own session and CSRF cookie names: browsers do not separate cookies by
port, so the app on 127.0.0.1:8000 and the sandbox on 127.0.0.1:8765 would overwrite each
other's cookies and lose the OAuth ``state`` (NOTES.md).
"""

from hubportal.settings import *  # noqa: F403

ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"
SESSION_COOKIE_NAME = "hubsandbox_sessionid"
CSRF_COOKIE_NAME = "hubsandbox_csrftoken"
