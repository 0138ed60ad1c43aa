"""The user-facing sentence for each cell error code: row, column, value, and what to do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

# The error code of an association to a record the portal does not have.
RECORD_NOT_FOUND = "record_not_found"

_VALUE_SHOWN = 80  # long texts are cut in messages; the full value stays in the row's raw data


def _problem(code: str, params: dict[str, object]) -> str:
    """The part after 'Row R, column "C": "V"', ending with what to do."""
    if code == "invalid_datetime":
        return _("is not a date and time. Use YYYY-MM-DD HH:MM.")
    if code == "invalid_date":
        return _("is not a date. Use YYYY-MM-DD.")
    if code == "date_with_time":
        return _("has a time of day, but this property holds a date only. Remove the time.")
    if code == "ambiguous_date_order":
        return (
            _(
                "could be day %(first)s of month %(second)s or day %(second)s of month %(first)s. "
                "Choose the day/month order for this column, or use YYYY-MM-DD."
            )
            % params
        )
    if code == "nonexistent_time":
        return (
            _(
                "does not exist in %(zone)s: the clocks skip that hour when daylight saving time "
                "starts. Use a time outside the skipped hour, or add an explicit UTC offset."
            )
            % params
        )
    if code == "ambiguous_time":
        return (
            _(
                "happens twice in %(zone)s, when the clocks go back. Add the UTC offset to say "
                "which one: %(first_offset)s for the first, %(second_offset)s for the second."
            )
            % params
        )
    if code == "invalid_number":
        return _("is not a number. Use digits with a decimal point, e.g. 12.5.")
    if code == "ambiguous_number":
        return _(
            "could be a decimal or a number with a thousands separator. Write it without the "
            "thousands separator (e.g. 1500 or 1.5)."
        )
    if code == "invalid_bool":
        return _("is not a yes/no value. Use true/false, yes/no, oui/non or 1/0.")
    if code == "invalid_option":
        if params.get("part") and params.get("part") != params.get("value"):
            return (
                _(
                    "contains “%(part)s”, which is not an option of this property. Use one of: "
                    "%(choices)s."
                )
                % params
            )
        return _("is not an option of this property. Use one of: %(choices)s.") % params
    if code == "invalid_record_id":
        return _(
            "is not a list of record IDs. Use each record's numeric HubSpot ID, separated by “;”."
        )
    if code == "too_long":
        # Grouped as the language writes numbers: "70,000" in English, "70 000" in French.
        length = number_format(str(params["length"]), force_grouping=True)
        return _("is %(length)s characters long; HubSpot accepts at most 65,536. Shorten it.") % {
            "length": length
        }
    if code == "end_before_start":
        return _("is before the start (“%(start)s”). Put the end after the start.") % params
    if code == "read_only":
        return _(
            "cannot be set: HubSpot calculates this property. Leave the column out of the mapping."
        )
    if code == "unknown_property":
        return (
            _(
                "cannot be sent: the portal has no property “%(name)s”. Map the column to another "
                "property."
            )
            % params
        )
    if code == "nul_character":
        return _(
            "contains an invisible NUL character (shown as �), which HubSpot cannot store. "
            "Delete it, or type the value again."
        )
    if code == "conflicting_columns":
        return (
            _("differs from column “%(other)s”, mapped to the same property. Keep one of them.")
            % params
        )
    if code == "invalid_time":
        return _("is not a time of day. Use HH:MM, e.g. 09:00 or 9:00 AM.")
    if code == "invalid_minutes":
        return _("is not a number of minutes. Use a whole number of minutes, e.g. 45.")
    if code in ("bad_key", "not_found", "ambiguous", "owner_inactive"):
        return _key_problem(code, params)
    return _("is not valid.")


def _not_found(object_type: object) -> str:
    """What "no such record" says for each object type (one sentence each: the French
    article depends on the noun)."""
    if object_type == "0-1":
        return _(
            "matches no contact in HubSpot by %(property)s. Check the spelling, or create the "
            "contact in HubSpot first."
        )
    if object_type == "0-2":
        return _(
            "matches no company in HubSpot by %(property)s. Check the spelling, or create the "
            "company in HubSpot first."
        )
    if object_type == "0-3":
        return _(
            "matches no deal in HubSpot by %(property)s. Check the spelling, or create the deal "
            "in HubSpot first."
        )
    return _("matches no HubSpot record by %(property)s. Check the spelling.")


def _key_problem(code: str, params: dict[str, object]) -> str:
    """The natural keys' problems (``intake.keys``): a key of the wrong shape, a key matching
    nothing or several records, a deactivated owner."""
    several = {"0-1": _("contacts"), "0-2": _("companies"), "0-3": _("deals")}
    context = {**params, "several": several.get(str(params.get("object")), _("records"))}
    part = str(params.get("part", ""))
    if part and part.lower() != str(params.get("value", "")).strip().lower():
        prefix = _("contains “%(part)s”, which") % context + " "
    else:
        prefix = ""
    if code == "bad_key":
        if params.get("kind") == "email":
            return prefix + _(
                "is not an email address. Write the contact's email (name@example.com), "
                "several separated by “;”."
            )
        if params.get("kind") == "value":
            return prefix + (
                _(
                    "is not a value of %(property)s: write one identifier per value, on one "
                    "line and at most 255 characters, several separated by “;”."
                )
                % context
            )
        return prefix + _(
            "is not a website or domain. Write the company's domain (example.com) or website."
        )
    if code == "owner_inactive":
        return (
            _("is %(owner)s, a deactivated HubSpot user (owner %(id)s). Choose an active owner.")
            % context
        )
    if params.get("object") == "owners":
        if code == "ambiguous":
            return (
                _("matches several HubSpot owners: %(candidates)s. Use the owner's email instead.")
                % context
            )
        return _(
            "matches no HubSpot owner by email, full name or owner ID. Check the spelling, or "
            "use the owner's email as HubSpot has it."
        )
    if code == "ambiguous":
        return prefix + (
            _(
                "matches several %(several)s: %(candidates)s. Choose one with “Fix”; the choice "
                "applies to every row with this value."
            )
            % context
        )
    return prefix + _not_found(params.get("object")) % context


def cell_message(
    code: str, *, row: int, column: str, value: str, params: dict[str, object] | None = None
) -> str:
    """A complete sentence for one bad cell, e.g. ``Row 7, column "Start time": "31/02/2026
    10:00" is not a date and time. Use YYYY-MM-DD HH:MM.``"""
    if len(value) > _VALUE_SHOWN:
        value = value[: _VALUE_SHOWN - 1] + "…"
    context = {**(params or {}), "value": value}
    if code == "required" and not context.get("no_column"):
        return _('Row %(row)s, column "%(column)s": a value is required. Fill it in.') % {
            "row": row,
            "column": column,
        }
    # "required" with no column: the property is required and no column gives it.
    if code == "required_column" or (code == "required" and context.get("no_column")):
        return _(
            'Row %(row)s: "%(column)s" is required, and no column gives it. Add or map a column '
            "for it."
        ) % {"row": row, "column": column}
    if code == RECORD_NOT_FOUND:
        return _(
            'Row %(row)s, column "%(column)s": there is no record %(id)s in '
            "HubSpot portal %(hub)s. Correct the ID or remove it."
        ) % {"row": row, "column": column, "id": value, "hub": context.get("hub", "")}
    if code == "time_without_date":
        return _(
            'Row %(row)s, column "%(column)s": the time “%(time)s” has no date. Fill in the date.'
        ) % {"row": row, "column": column, "time": context.get("time", "")}
    if code == "missing_time":
        return _(
            'Row %(row)s, column "%(column)s": the time of day of this row\'s date is missing. '
            "Fill it in (HH:MM)."
        ) % {"row": row, "column": column}
    if code == "formula_without_value":
        return _(
            'Row %(row)s, column "%(column)s": the formula in this cell was saved without its '
            "result. Type the value with “Fix”, or open the file in your spreadsheet program, "
            "let it calculate, save it and upload it again."
        ) % {"row": row, "column": column}
    return _('Row %(row)s, column "%(column)s": "%(value)s" %(problem)s') % {
        "row": row,
        "column": column,
        "value": value,
        "problem": _problem(code, context),
    }


def error_text(error: Mapping[str, Any], *, row: int) -> str:
    """A stored row error (``{column, value, code, params}``, see ``rows.CellError``) as a
    sentence in the active language, for row number ``row``.

    Errors stored before they kept their ``params`` (already a sentence, in the uploader's
    language) are given as stored.
    """
    if "params" not in error:
        return str(error.get("message", ""))
    return cell_message(
        str(error["code"]),
        row=row,
        column=str(error["column"]),
        value=str(error["value"]),
        params=dict(error["params"]),
    )
