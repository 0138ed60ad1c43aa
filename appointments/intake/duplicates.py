"""What makes two appointment rows the same appointment: pure keys, no HTTP, no database.

Two rows are the same appointment when they have the same start (``hs_appointment_start``,
HubSpot's exact string) and at least one associated contact in common, or the same value of a
unique-value property (HubSpot refuses the second anyway; saying so before sending is kinder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

START = "hs_appointment_start"
CONTACT_TYPES = frozenset({"0-1", "contacts", "contact"})


def contact_pairs(object_types: Mapping[tuple[str, int], str]) -> frozenset[tuple[str, int]]:
    """The ``(associationCategory, associationTypeId)`` pairs of a mapping that point at
    contacts (``object_types`` as ``intake.encoding.association_object_types`` gives it)."""
    return frozenset(pair for pair, name in object_types.items() if name.lower() in CONTACT_TYPES)


def appointment_keys(
    *,
    properties: Mapping[str, str],
    associations: Iterable[Sequence[Any]],
    contacts: frozenset[tuple[str, int]],
    unique_properties: Iterable[str],
) -> list[tuple[str, ...]]:
    """The keys under which a row is the same appointment as another: one
    ``("start", start, contact id)`` per associated contact (with a start), and one
    ``("unique", property, value)`` per unique-value property the row has a value for.

    ``properties`` is ``{name: HubSpot string}``; ``associations`` ``[record id,
    associationCategory, associationTypeId]`` items; ``contacts`` the pairs that are contacts
    (``contact_pairs``).
    """
    keys: list[tuple[str, ...]] = []
    start = properties.get(START)
    if start:
        for record_id, category, type_id in associations:
            if (category, int(type_id)) in contacts:
                keys.append(("start", start, str(record_id)))
    for name in unique_properties:
        value = properties.get(name)
        if value:
            keys.append(("unique", name, value))
    return list(dict.fromkeys(keys))


def group_rows(keyed: Iterable[tuple[int, list[tuple[str, ...]]]]) -> list[list[int]]:
    """Groups of at least two row numbers that share a key, directly or through another row
    (a union-find over keys), each in row order, groups in the order of their first row.

    ``keyed``: ``(row number, keys)`` pairs, as ``appointment_keys`` gives keys.
    """
    parent: dict[int, int] = {}

    def find(row: int) -> int:
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    first_with: dict[tuple[str, ...], int] = {}
    for row, keys in keyed:
        parent.setdefault(row, row)
        for key in keys:
            if key in first_with:
                a, b = find(first_with[key]), find(row)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                first_with[key] = row
    groups: dict[int, list[int]] = {}
    for row in parent:
        groups.setdefault(find(row), []).append(row)
    return sorted((sorted(rows) for rows in groups.values() if len(rows) > 1), key=lambda g: g[0])
