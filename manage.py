#!/usr/bin/env python
"""Django's command-line utility for hubportal."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hubportal.settings")
    if sys.argv[1:2] == ["sandbox"]:
        # The standalone sandbox runs under its own settings, which install the sandbox app
        # whatever HUBPORTAL_SANDBOX says: with DJANGO_DEBUG=false the project's leave it out,
        # and Django would not find the command.
        os.environ["DJANGO_SETTINGS_MODULE"] = "sandbox.settings"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
