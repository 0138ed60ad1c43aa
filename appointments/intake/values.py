"""A file's own words for an enumeration's options: which values need mapping, and the option
each most likely means (the mapping screen's value map, ``ColumnTarget.values``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils.translation import gettext as _
from rapidfuzz import fuzz, process

from appointments.hubspot.schema import PropertyDefinition

from .errors import IntakeError
from .headers import words

# Below this similarity to an option's label, no option is proposed for a value.
CLOSE = 75
# Words booking tools and ops files use for the usual appointment statuses, by the words of
# the option they mean (English and French).
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "scheduled": (
        "confirmed",
        "booked",
        "reserved",
        "planned",
        "upcoming",
        "accepted",
        "approved",
        "pending",
        "confirme",
        "reserve",
        "prevu",
        "planifie",
        "a venir",
    ),
    "completed": (
        "done",
        "attended",
        "finished",
        "complete",
        "termine",
        "effectue",
        "realise",
        "fait",
    ),
    "canceled": ("cancelled", "cancel", "annule", "annulee", "rejected", "declined"),
    "no show": ("noshow", "no show", "missed", "absent", "did not attend", "dna", "lapin"),
    "rescheduled": ("moved", "reporte", "deplace"),
}


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def option_lookup(prop: PropertyDefinition) -> set[str]:
    """The texts a cell may hold as they are (labels and values, spacing and case ignored)."""
    return {_key(o.label) for o in prop.options} | {_key(o.value) for o in prop.options}


def unmatched_values(
    prop: PropertyDefinition, distinct: Sequence[tuple[str, int]]
) -> list[tuple[str, int]]:
    """The ``(value, count)`` pairs of ``distinct`` that are no option of ``prop``, in the
    order given; for a multi-select, each ``;``-separated part that is none, with the number
    of cells holding it, most frequent first."""
    known = option_lookup(prop)
    if not prop.multiple:
        return [(text, count) for text, count in distinct if _key(text) not in known]
    # A multi-select cell lists several values: each is mapped on its own, counted by cell.
    parts: dict[str, int] = {}
    for text, count in distinct:
        for part in {p.strip() for p in text.split(";") if p.strip()}:
            if _key(part) not in known:
                parts[part] = parts.get(part, 0) + count
    return sorted(parts.items(), key=lambda item: -item[1])


def propose_option(prop: PropertyDefinition, text: str) -> str | None:
    """The value of the option ``text`` most likely means: a known word for it (``Confirmed``
    -> Scheduled), else the label closest by edit distance (``No-show`` -> No show), else
    None."""
    options = [o for o in prop.options if not o.hidden] or list(prop.options)
    wanted = words(text)
    for option in options:
        if wanted in STATUS_WORDS.get(words(option.label), ()) or wanted in STATUS_WORDS.get(
            words(option.value).replace("_", " "), ()
        ):
            return option.value
    labels = [words(o.label) for o in options]
    best = process.extractOne(wanted, labels, scorer=fuzz.ratio, score_cutoff=CLOSE)
    if best is None:
        return None
    return options[best[2]].value


def value_map_from_rows(
    prop: PropertyDefinition, rows: Iterable[Sequence[str]], *, source: str
) -> tuple[tuple[str, str], ...]:
    """A value map given as rows of ``(the file's text, the option it means)``, as the
    mapping screen's value map (``ColumnTarget.values``): the option by its label or its
    value, spacing and case ignored. Blank lines and a first line naming no option (a
    header) are skipped. ``source`` names the rows' file in messages.

    Returns ``(text, option value)`` pairs. Raises IntakeError naming the line, the text
    and what to do for a line without two cells, or whose option is none of ``prop``'s.
    """
    by_text = {_key(o.label): o.value for o in prop.options}
    by_text.update({_key(o.value): o.value for o in prop.options})
    choices = ", ".join(o.label for o in prop.options if not o.hidden)
    pairs: list[tuple[str, str]] = []
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise IntakeError(
                _(
                    "%(source)s, line %(line)s: give two cells, the file's text and the option "
                    "it means (e.g. Confirmed,Scheduled)."
                )
                % {"source": source, "line": number}
            )
        value = by_text.get(_key(cells[1]))
        if value is None:
            if number == 1:
                continue  # a header line ("text,option")
            raise IntakeError(
                _(
                    "%(source)s, line %(line)s: “%(option)s” is no option of “%(property)s”. "
                    "Use one of: %(choices)s."
                )
                % {
                    "source": source,
                    "line": number,
                    "option": cells[1],
                    "property": prop.label,
                    "choices": choices,
                }
            )
        pairs.append((cells[0], value))
    return tuple(pairs)
