"""The validated row and its cell errors: the shapes validation gives and storage keeps.

A leaf module: validation builds these, and the encoders (``encoding``, ``columnar``) read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CellError:
    """One bad cell. ``column`` is the header as in the file (the property label for a missing
    required property or the form grid); ``value`` the cell as displayed; ``code`` a machine
    code; ``message`` a sentence naming row, column, value and what to do, in the language
    active when validating; ``params`` what fills the sentence, so that it is said again in
    each reader's language (``messages.error_text``; stored with the row)."""

    column: str
    value: str
    code: str
    message: str
    params: dict[str, object] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class ValidatedRow:
    """One row: what the user gave, what would be sent, and what is wrong.

    ``raw``: every cell's displayed text, in the file's column order (one per header).
    ``properties``: internal name -> HubSpot string; empty cells are left out.
    ``associations``: one ``[record id, associationCategory, associationTypeId]`` per record ID,
    in column order, e.g. ``[["123", "HUBSPOT_DEFINED", 906]]``.
    """

    row_number: int
    raw: list[str]
    properties: dict[str, str]
    associations: list[list[Any]]
    errors: list[CellError]

    @property
    def valid(self) -> bool:
        return not self.errors
