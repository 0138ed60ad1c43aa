"""Validated rows as the JSON text their stored columns hold, and the layout of that text.

Storing a row means writing its ``raw``, ``properties``, ``associations`` and ``errors`` as JSON
(``services.storage``). Property values and record IDs are stored as arrays in the order of
the batch's ``RowLayout`` (names once per batch, not once per row: a third fewer bytes to
write for 100,000 rows). A row validated alone is encoded here with orjson; the
column-at-a-time path (``columnar.encode_columns``) gives the same text, byte for byte (orjson
writes no spaces, and the record-ID arrays it joins itself hold only ASCII digits).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .mapping import ColumnTarget
from .rows import ValidatedRow

EMPTY_LIST = "[]"


def association_type(category: str | None, type_id: int | None) -> tuple[str, int]:
    """A mapped association column's ``(associationCategory, associationTypeId)``, as rows store
    and send it: the category defaults to ``HUBSPOT_DEFINED``."""
    return (category or "HUBSPOT_DEFINED", type_id or 0)


def association_object_types(mapping: Sequence[ColumnTarget | None]) -> dict[tuple[str, int], str]:
    """``(associationCategory, associationTypeId)`` -> target object type, from the mapping's
    association columns (a batch-create association names its type, not the object type)."""
    return {
        association_type(target.association_category, target.association_type_id): target.name
        for target in mapping
        if target is not None
        and target.kind == "association"
        and target.association_type_id is not None
    }


@dataclass(frozen=True, slots=True)
class RowLayout:
    """The order of a stored row's property values and record IDs, one per batch.

    ``properties``: HubSpot property names; a row stores one value per name, in this order
    (``null`` where the cell was blank or invalid). ``associations``: ``(associationCategory,
    associationTypeId)`` pairs; a row stores one array of record IDs per pair, in this order.
    Both follow the batch's column mapping (first column first, each name or pair once), so
    ``RowLayout.of`` the same mapping always gives the same layout.
    """

    properties: tuple[str, ...]
    associations: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, mapping: Sequence[ColumnTarget | None]) -> RowLayout:
        """The layout of rows validated with ``mapping`` (one ColumnTarget or None per column)."""
        return cls._of(
            (
                target.kind,
                target.name,
                target.association_category,
                target.association_type_id,
            )
            for target in mapping
            if target is not None
        )

    @classmethod
    def of_json(cls, mapping: Sequence[Mapping[str, Any] | None]) -> RowLayout:
        """``of`` for a mapping as ``Batch.mapping`` stores it (``kind``, ``name``,
        ``association_category``, ``association_type_id`` per column, or null)."""
        return cls._of(
            (
                target["kind"],
                target["name"],
                target.get("association_category"),
                target.get("association_type_id"),
            )
            for target in mapping
            if target
        )

    @classmethod
    def _of(cls, targets: Iterable[tuple[str, str, str | None, int | None]]) -> RowLayout:
        properties: dict[str, None] = {}
        associations: dict[tuple[str, int], None] = {}
        for kind, name, category, type_id in targets:
            if kind == "association":
                associations[association_type(category, type_id)] = None
            elif kind == "property":
                # A "contact" column feeds created contacts, not the appointment.
                properties[name] = None
        return cls(tuple(properties), tuple(associations))

    def pack_properties(self, properties: Mapping[str, str]) -> list[str | None]:
        """``{name: value}`` as stored: one value per layout name.

        Raises ValueError for a name outside the layout, which would otherwise be lost.
        """
        values = [properties.get(name) for name in self.properties]
        if len(properties) > len(values) - values.count(None):
            unknown = sorted(set(properties) - set(self.properties))
            raise ValueError(f"properties outside the batch's layout: {unknown}")
        return values

    def unpack_properties(self, values: Sequence[str | None]) -> dict[str, str]:
        """Stored values as ``{name: HubSpot string}``, blanks left out: what is sent.

        Raises ValueError if ``values`` does not have one value per layout name."""
        pairs = zip(self.properties, values, strict=True)
        return {name: value for name, value in pairs if value is not None}

    def pack_associations(self, associations: Iterable[Sequence[Any]]) -> list[list[str]]:
        """``[record id, associationCategory, associationTypeId]`` items as stored: one array
        of record IDs per layout pair, each in the items' order.

        Raises ValueError for a pair outside the layout.
        """
        position = {pair: index for index, pair in enumerate(self.associations)}
        packed: list[list[str]] = [[] for _pair in self.associations]
        for record_id, category, type_id in associations:
            index = position.get((category, type_id))
            if index is None:
                raise ValueError(f"association outside the batch's layout: {category} {type_id}")
            packed[index].append(record_id)
        return packed

    def unpack_associations(self, packed: Sequence[Sequence[str]]) -> list[list[Any]]:
        """Stored record IDs as ``[record id, associationCategory, associationTypeId]`` items,
        layout pair by pair. Raises ValueError if ``packed`` has not one array per pair."""
        return [
            [record_id, category, type_id]
            for (category, type_id), ids in zip(self.associations, packed, strict=True)
            for record_id in ids
        ]


@dataclass(slots=True)
class EncodedRows:
    """Validated rows ready to store, one list per stored column, in row order.

    ``raw`` and ``errors`` hold JSON text of ValidatedRow's shapes, ``properties`` and
    ``associations`` JSON arrays in ``layout``'s order; ``valid`` is True for a row without
    errors. Kept by column so a chunk of 2,000 rows goes into the database without a Python
    object per row.
    """

    layout: RowLayout
    row_numbers: list[int] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    associations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def append(self, row: ValidatedRow) -> None:
        """Add one ValidatedRow at the end."""
        for column, value in zip(self._columns(), self._encoded(row), strict=True):
            column.append(value)

    def _columns(self) -> tuple[list[Any], ...]:
        return (
            self.row_numbers,
            self.raw,
            self.properties,
            self.associations,
            self.errors,
            self.valid,
        )

    def put(self, position: int, row: ValidatedRow) -> None:
        """Set the row at ``position`` to ``row`` (its row number included)."""
        for column, value in zip(self._columns(), self._encoded(row), strict=True):
            column[position] = value

    def _encoded(self, row: ValidatedRow) -> tuple[object, ...]:
        """One row's values in ``_columns`` order."""
        return (
            row.row_number,
            json_text(row.raw),
            json_text(self.layout.pack_properties(row.properties)),
            json_text(self.layout.pack_associations(row.associations)),
            json_text(row.errors),
            not row.errors,
        )


def json_text(value: object) -> str:
    """Compact JSON for dicts, lists, strings and CellError dataclasses (as objects)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses what the stdlib accepts with escapes (a lone surrogate in a cell).
        return json.dumps(value, default=dataclasses.asdict, separators=(",", ":"))


def encode_rows(rows: Iterable[ValidatedRow], layout: RowLayout) -> EncodedRows:
    """The stored form of ValidatedRows validated one at a time, with the batch's ``layout``."""
    encoded = EncodedRows(layout)
    for row in rows:
        encoded.append(row)
    return encoded
