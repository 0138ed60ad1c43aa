"""Run the intake on a file from a script: print what would be sent, or create and send it."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import re
import zoneinfo
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appointments.hubspot.errors import HubSpotError
from appointments.hubspot.schema import Schema
from appointments.intake.cells import column_index, column_labels
from appointments.intake.converters import RECORD_ID_PROPERTY
from appointments.intake.encoding import association_object_types
from appointments.intake.errors import IntakeError
from appointments.intake.headers import repeated_targets, sample_values
from appointments.intake.keys import OWNER_PROPERTY, resolved_keys
from appointments.intake.mapping import ColumnTarget
from appointments.intake.readers import Table
from appointments.intake.rows import ValidatedRow
from appointments.intake.tuning import DATE_ORDERS, ambiguous_date_columns, date_order_verdicts
from appointments.intake.validation import validate_table
from appointments.intake.values import value_map_from_rows
from appointments.management.acting import acting_user, add_user_argument, deny_as_error
from appointments.models import Batch, BatchRow, Portal, Upload
from appointments.services import batches as batch_services
from appointments.services import duplicates as duplicate_services
from appointments.services import mappings as mapping_services
from appointments.services import uploads as upload_services
from appointments.services.access import Action
from appointments.services.portals import PortalNeedsReconnect, portal_schema
from appointments.services.resolving import keys_create_contacts, keys_problem, keys_resolve


def row_json(
    row: ValidatedRow,
    object_types: dict[tuple[str, int], str],
    keys_of: dict[tuple[str, str], tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """One row of the output: ``row``, ``properties``, ``associations`` (each with the
    natural ``key`` it was resolved from and its ``key_property``, when it was: ``keys_of``
    maps ``(object type, record id)`` to them), ``errors`` (``code`` ``not_found``,
    ``ambiguous``, ``bad_key``...)."""
    associations = []
    for record_id, category, type_id in row.associations:
        object_type = object_types.get((category, type_id), "")
        item = {"to_object_type": object_type, "id": record_id, "association_type_id": type_id}
        found = (keys_of or {}).get((object_type, record_id))
        if found is not None:
            item["key"], item["key_property"] = found
        associations.append(item)
    return {
        "row": row.row_number,
        "properties": row.properties,
        "associations": associations,
        "errors": [
            {"column": e.column, "value": e.value, "code": e.code, "message": e.message}
            for e in row.errors
        ],
    }


def write_action(
    row: ValidatedRow, duplicates: list[dict[str, Any]], on_duplicate: str | None
) -> dict[str, Any]:
    """What sending would do with a valid row: ``{"action": "update", "record_id": id}`` when
    it names a record (an ``hs_object_id`` column) or duplicates a known one with
    ``--on-duplicate update``; ``{"action": "create"}`` otherwise; nothing for an invalid
    row (``services.updating``)."""
    if not row.valid:
        return {}
    record_id = row.properties.get(RECORD_ID_PROPERTY)
    if not record_id and on_duplicate == "update":
        record_id = next((d["record_id"] for d in duplicates if d.get("record_id")), None)
    if record_id:
        return {"action": "update", "record_id": record_id}
    return {"action": "create"}


class Command(BaseCommand):
    help = (
        "Read, map and validate a CSV/XLSX/XLSM/XLS/ODS file for a connected portal, like the "
        "upload page. With --dry-run print what would be sent; without, create the batch and "
        "send its valid rows, as --user (who must be allowed to use the portal)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--portal", type=int, required=True, help="HubSpot hub ID")
        add_user_argument(parser)
        parser.add_argument(
            "--timezone", required=True, help="Time zone of times without an offset"
        )
        parser.add_argument("--sheet", help="Workbook sheet (default: the first visible one)")
        parser.add_argument("--mapping", help="Name of a mapping saved for this portal")
        parser.add_argument(
            "--date-order",
            choices=DATE_ORDERS,
            help="Day/month order for date columns whose values all read both ways",
        )
        parser.add_argument(
            "--value-map",
            action="append",
            default=[],
            metavar="COLUMN=FILE",
            help=(
                "What the file's own words mean in an enumeration column, as on the mapping "
                "screen: COLUMN is the header (or the column's letter), FILE a CSV of two "
                "columns, the file's text and the option it means (label or internal value), "
                "e.g. Confirmed,Scheduled. Repeat it for several columns; it adds to (and wins "
                "over) the value map of a saved mapping"
            ),
        )
        parser.add_argument("--dry-run", action="store_true", help="Validate only; send nothing")
        parser.add_argument(
            "--create-contacts",
            action="store_true",
            help="Create the contacts whose emails HubSpot lacks (not on a dry run)",
        )
        parser.add_argument("--format", choices=["json"], default="json")
        parser.add_argument(
            "--on-duplicate",
            choices=duplicate_services.ON_DUPLICATE_CHOICES,
            help=(
                "What to do with rows already in the portal (same start and contact, or same "
                "unique value), created by this app or found in HubSpot (looked in before "
                "sending, unless create): skip them, create them anyway, or update the existing "
                "appointment with the row. Without it, a file "
                "with such rows is not sent"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["user"])
        portal = Portal.objects.filter(
            hub_id=options["portal"], status=Portal.Status.ACTIVE
        ).first()
        if portal is None:
            raise CommandError(
                f"No connected portal has hub ID {options['portal']}. Connect it first "
                "(manage.py portal_add, or the dashboard)."
            )
        deny_as_error(user, Action.PORTAL_USE, portal)
        if options["timezone"] not in zoneinfo.available_timezones():
            raise CommandError(
                f"“{options['timezone']}” is not a time zone. Use an IANA name such as "
                "Europe/Paris."
            )
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        saved = None
        if options["mapping"]:
            saved = portal.saved_mappings.filter(name=options["mapping"]).first()
            if saved is None:
                names = ", ".join(portal.saved_mappings.values_list("name", flat=True))
                raise CommandError(
                    f"Portal {portal.hub_id} has no mapping named “{options['mapping']}”. "
                    f"Saved mappings: {names or 'none'}."
                )
        try:
            schema = portal_schema(portal=portal)
            upload = Upload(
                portal=portal, filename=path.name, data=data, timezone=options["timezone"]
            )
            table = upload_services.upload_read(upload=upload, sheet=options["sheet"])
        except IntakeError as exc:
            raise CommandError(f"{path.name}: {exc.message}") from None
        except (HubSpotError, PortalNeedsReconnect) as exc:
            raise CommandError(
                f"Could not read the portal's properties from HubSpot: {exc}"
            ) from None
        proposals = mapping_services.mapping_propose(
            headers=table.headers,
            schema=schema,
            saved=saved,
            portal=portal,
            values=sample_values(table),
        )
        clashes = repeated_targets(table.headers, proposals)
        if clashes:
            # The second column's cells would be lost without a word: a person must choose.
            labels = column_labels(table.headers)
            taken = [str(getattr(proposals[kept].target, "name", "")) for kept, _left in clashes]
            raise CommandError(
                "; ".join(
                    f"Columns “{labels[kept]}” and “{labels[left]}” both name the property "
                    f"{name}: only one column can give it"
                    for (kept, left), name in zip(clashes, taken, strict=True)
                )
                + ". Rename or remove one of them, or map the file once on the upload page "
                "and save the mapping (--mapping)."
            )
        mapping = [proposal.target for proposal in proposals]
        for spec in options["value_map"]:
            self._add_value_map(spec, table.headers, mapping, schema)
        try:
            keys = keys_resolve(portal=portal, mapping=mapping, rows=table.rows)
            if options["create_contacts"] and not options["dry_run"] and keys:
                keys_create_contacts(
                    portal=portal,
                    mapping=mapping,
                    rows=table.rows,
                    resolution=keys,
                )
        except (HubSpotError, PortalNeedsReconnect, TimeoutError) as exc:
            raise CommandError(keys_problem(exc)) from None
        orders = {
            index: options["date_order"]
            for index in ambiguous_date_columns(
                date_order_verdicts(table), mapping, schema.properties
            )
            if options["date_order"]
        }
        rows = validate_table(
            table,
            mapping=mapping,
            properties=schema.properties,
            timezone=zoneinfo.ZoneInfo(options["timezone"]),
            date_orders=orders,
            keys=keys,
        )
        object_types = association_object_types(mapping)
        keys_of = resolved_keys(keys)
        valid = sum(row.valid for row in rows)
        same_as = duplicate_services.row_keyer(mapping=mapping, properties=schema.properties)
        found = duplicate_services.duplicates_report(
            portal_id=portal.pk,
            keyed=[(r.row_number, same_as(r.properties, r.associations)) for r in rows if r.valid],
            file_sha256=hashlib.sha256(data).hexdigest(),
        ).by_row()
        output: dict[str, Any] = {
            "rows": [
                {
                    **row_json(row, object_types, keys_of),
                    "duplicates": found.get(row.row_number, []),
                    **write_action(row, found.get(row.row_number, []), options["on_duplicate"]),
                }
                for row in rows
            ],
            "summary": {
                "total": len(rows),
                "valid": valid,
                "invalid": len(rows) - valid,
                "duplicates": len(found),
            },
        }
        if keys.get("created"):
            output["created_contacts"] = keys["created"]["0-1"]
        refused = None
        if not options["dry_run"]:
            upload.created_by = user
            output["batch"], refused = self._create_and_send(
                user,
                upload,
                table,
                mapping,
                schema,
                orders,
                keys,
                options["on_duplicate"] or "ask",
            )
        if saved is not None:
            mapping_services.mapping_mark_used(saved=saved)
        self.stdout.write(json.dumps(output, ensure_ascii=False))
        if refused:
            raise CommandError(refused)

    def _add_value_map(
        self,
        spec: str,
        headers: list[str],
        mapping: list[ColumnTarget | None],
        schema: Schema,
    ) -> None:
        """Apply one ``--value-map COLUMN=FILE`` to ``mapping`` in place (the rules of the
        mapping screen's value map: ``intake.values.value_map_from_rows``); CommandError
        naming what to fix for a malformed spec, an unknown column, a column that is no
        enumeration, or a bad line of FILE."""
        column, sep, name = spec.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise CommandError(
                f"--value-map “{spec}”: write COLUMN=FILE, e.g. --value-map Status=statuses.csv."
            )
        wanted = column.strip().casefold()
        index = next((i for i, h in enumerate(headers) if h.strip().casefold() == wanted), None)
        if index is None and re.fullmatch(r"[A-Z]{1,3}", column.strip()):
            index = column_index(column.strip())
        if index is None or not 0 <= index < len(headers):
            raise CommandError(
                f"--value-map: the file has no column “{column.strip()}”. Its columns: "
                + ", ".join(f"“{h}”" for h in headers if h)
                + "."
            )
        target = mapping[index]
        prop = (
            next((p for p in schema.properties if p.name == target.name), None)
            if target is not None and target.kind == "property"
            else None
        )
        if prop is None or prop.type != "enumeration" or prop.name == OWNER_PROPERTY:
            raise CommandError(
                f"--value-map: column “{headers[index]}” does not go to a property with options "
                "(like the appointment status), so it has no values to map. Map it to one with "
                "a saved mapping (--mapping), or leave --value-map out for it."
            )
        path = Path(name.strip())
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                pairs = value_map_from_rows(prop, list(csv.reader(handle)), source=path.name)
        except OSError as exc:
            raise CommandError(f"--value-map: cannot read {path}: {exc.strerror}.") from None
        except (UnicodeDecodeError, csv.Error):
            raise CommandError(
                f"--value-map: {path.name} is not a UTF-8 CSV file. Save it as CSV UTF-8."
            ) from None
        except IntakeError as exc:
            raise CommandError(f"--value-map: {exc.message}") from None
        assert target is not None
        mapping[index] = dataclasses.replace(target, values=(*target.values, *pairs))

    def _create_and_send(
        self,
        user: User,
        upload: Upload,
        table: Table,
        mapping: list[ColumnTarget | None],
        schema: Schema,
        orders: dict[int, str],
        keys: dict[str, Any],
        on_duplicate: str,
    ) -> tuple[dict[str, Any], str | None]:
        """Create the batch and send it; its JSON and, when duplicates stopped it, why."""
        upload.save()
        batch = upload_services.upload_table_confirm(
            upload=upload,
            table=table,
            mapping=mapping,
            properties=schema.properties,
            date_orders=orders,
            keys=keys,
        )
        refused = None
        queued = 0
        try:
            if on_duplicate != "create":
                # As Send on the pages, which look in the background: a script may wait.
                duplicate_services.batch_duplicates_search_hubspot(user=user, batch=batch)
            queued = batch_services.batch_submit(user=user, batch=batch, on_duplicate=on_duplicate)
        except duplicate_services.DuplicatesUndecided as exc:
            refused = (
                f"{exc.count} row(s) duplicate appointments already in portal "
                f"{batch.portal.hub_id} (created by this app, or found in HubSpot); nothing "
                "was sent. Run again with --on-duplicate skip (leave them out), "
                "--on-duplicate create (create them anyway) or --on-duplicate update (update the "
                "existing appointments)."
            )
        except (HubSpotError, PortalNeedsReconnect) as exc:
            refused = (
                f"HubSpot could not be asked for appointments like these rows ({exc}); nothing "
                "was sent. Run again, or with --on-duplicate create to send without looking."
            )
        batch.refresh_from_db()
        skipped = batch.rows.filter(state=BatchRow.State.EXCLUDED).count()
        return {
            "id": str(batch.pk),
            "queued": queued,
            "skipped_duplicates": skipped,
            "found_in_hubspot": len(batch.hubspot_duplicates),
            "status": Batch.Status(batch.status).value,
        }, refused
