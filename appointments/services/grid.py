"""The form grid: inputs driven by the portal's property definitions, rows stored as a batch."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from appointments.hubspot.schema import ASSOCIATION_TARGETS, Schema, default_label
from appointments.intake.keys import AUTO, OWNER_PROPERTY
from appointments.intake.mapping import ColumnTarget
from appointments.models import Batch, Portal
from appointments.services.batches import batch_create
from appointments.services.portals import portal_schema

# At most this many grid rows in one form: beyond it, a spreadsheet upload is the better tool.
MAX_GRID_ROWS = 200
SESSION_KEY = "grid-schema-{portal}"


def grid_form_key(posted: str | None = None) -> str:
    """The key a grid form carries from its first display to its creation: ``posted`` when it
    is one (32 hex digits), else a new random one."""
    if posted and len(posted) == 32 and all(c in "0123456789abcdef" for c in posted):
        return posted
    return uuid.uuid4().hex


def grid_schema(
    *, portal: Portal, store: MutableMapping[str, Any], refresh: bool = False
) -> Schema:
    """The portal's schema for one grid session, kept in ``store`` (the user's Django session,
    under ``grid-schema-<portal pk>``) so adding, removing and checking rows ask HubSpot nothing.

    Read from HubSpot (4 calls: properties and three label lists, see
    ``services.portals.portal_schema``) when ``refresh`` is true (the grid is shown afresh) or
    ``store`` has no copy, within the page timeout. Raises HubSpotError or PortalNeedsReconnect
    on a read.
    """
    key = SESSION_KEY.format(portal=portal.pk)
    kept = store.get(key)
    if kept and not refresh:
        return Schema.from_json(kept)
    schema = portal_schema(portal=portal, for_page=True)
    store[key] = schema.to_json()
    return schema


@dataclass(frozen=True)
class GridColumn:
    """One grid column. ``key`` is the property's internal name or ``contact_ids``-style;
    ``input`` the HTML input kind (``text``, ``textarea``, ``number``, ``date``,
    ``datetime-local``, ``checkbox``, ``select``); ``options`` ``(value, label)`` pairs."""

    key: str
    label: str
    input: str
    target: ColumnTarget
    options: tuple[tuple[str, str], ...] = ()
    multiple: bool = False
    required: bool = False
    help: str = ""


_INPUTS = {"number": "number", "date": "date", "datetime": "datetime-local", "bool": "checkbox"}


def grid_columns(*, schema: Schema) -> list[GridColumn]:
    """Writable, visible properties (required first), then for contacts, companies and deals
    a column for the portal's default association type (key ``contact_ids``...) followed by one
    per labelled type, user-defined ones included (key ``contact_ids-<typeId>``), each labelled
    by what it takes: record IDs or the object's usual key ("Contacts (email or record ID)";
    contact emails, company domains, deal names), with a help text; then one column per
    unique-value property of the object (``Schema.key_properties``) for its default type (key
    ``contact_ids-by-<property>``, "Contacts by Patient number"). The owner input takes an
    email, name or owner ID."""
    columns: list[GridColumn] = []
    properties = sorted(
        (p for p in schema.properties if p.writable and not p.hidden),
        key=lambda p: (not p.required, p.name != "hs_appointment_start", p.label.casefold()),
    )
    for prop in properties:
        kind = "select" if prop.type == "enumeration" else _INPUTS.get(prop.type, "text")
        if prop.name == OWNER_PROPERTY:
            # Typed as an email, a full name or an owner ID (resolved like a file's).
            kind = "text"
        if kind == "text" and prop.field_type == "textarea":
            kind = "textarea"
        columns.append(
            GridColumn(
                key=prop.name,
                label=prop.label,
                input=kind,
                target=ColumnTarget(kind="property", name=prop.name),
                options=tuple((o.value, o.label) for o in prop.options if not o.hidden),
                multiple=prop.multiple,
                required=prop.required,
            )
        )
    names = {
        "0-1": _("Contacts (email or record ID)"),
        "0-2": _("Companies (domain or record ID)"),
        "0-3": _("Deals (deal name or record ID)"),
    }
    labelled_names = {
        "0-1": _("Contacts as %(label)s (email or record ID)"),
        "0-2": _("Companies as %(label)s (domain or record ID)"),
        "0-3": _("Deals as %(label)s (deal name or record ID)"),
    }
    helps = {
        "0-1": _("Each contact's email (name@example.com) or record ID, several separated by “;”."),
        "0-2": _(
            "Each company's domain or website (example.com) or record ID, several separated by “;”."
        ),
        "0-3": _("Each deal's name or record ID, several separated by “;”."),
    }
    by_names = {
        "0-1": _("Contacts by %(property)s"),
        "0-2": _("Companies by %(property)s"),
        "0-3": _("Deals by %(property)s"),
    }
    for key, (object_type, _name) in ASSOCIATION_TARGETS.items():
        default = default_label(schema.labels, object_type)
        labelled = [
            label
            for label in schema.labels
            if label.to_object_type == object_type and not label.is_default
        ]
        for label in [default, *labelled]:
            columns.append(
                GridColumn(
                    key=key if label is default else f"{key}-{label.type_id}",
                    label=names[object_type]
                    if label is default
                    else labelled_names[object_type] % {"label": label.label or label.type_id},
                    input="text",
                    target=ColumnTarget(
                        kind="association",
                        name=object_type,
                        association_type_id=label.type_id,
                        association_category=label.category,
                        match_property=AUTO,
                    ),
                    help=helps[object_type],
                )
            )
        for prop in schema.key_properties.get(object_type, []):
            columns.append(
                GridColumn(
                    key=f"{key}-by-{prop.name}",
                    label=by_names[object_type] % {"property": prop.label},
                    input="text",
                    target=ColumnTarget(
                        kind="association",
                        name=object_type,
                        association_type_id=default.type_id,
                        association_category=default.category,
                        match_property=prop.name,
                    ),
                    help=_("The value of %(property)s, several separated by “;”.")
                    % {"property": prop.label},
                )
            )
    return columns


def grid_create_batch(
    *,
    user: User,
    portal: Portal,
    timezone_name: str,
    schema: Schema,
    columns: list[GridColumn],
    rows: list[tuple[int, list[str]]],
    form_key: str,
) -> Batch:
    """Validate grid rows (``(grid row number, one text per column)``) like spreadsheet rows and
    store every one of them on a new draft batch (source GRID). Nothing is sent.

    ``form_key`` is the grid form's own key (``grid_form_key``): the same form posted twice
    with the same rows (a double click, a resubmitted page) gives the first batch, never a
    second; posted again with other rows (back, edit, check again) it makes a new one."""
    content = hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:32]
    return batch_create(
        origin=f"grid:{form_key}:{content}",
        user=user,
        portal=portal,
        source=Batch.Source.GRID,
        filename="",
        timezone_name=timezone_name,
        headers=[column.label for column in columns],
        mapping=[column.target for column in columns],
        properties=schema.properties,
        # Inputs give ISO dates and dot decimals: nothing to decide from the data.
        reading={"decimal_comma": False},
        rows=[(number, list(values)) for number, values in rows],
    )
