"""Small helpers shared by tests that start other processes."""

from django.db import connection


def database_url() -> str:
    """A DATABASE_URL for the test database, so a subprocess (worker, sandbox) uses it too."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
