"""The whole-file intake error, raised by readers with a sentence the user can act on."""

from __future__ import annotations


class IntakeError(Exception):
    """A problem with the whole file (format, encoding, size, sheet): nothing was read.

    ``message`` is a complete, translated sentence naming what is wrong and what to do.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
