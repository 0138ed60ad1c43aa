"""Upload actions: keep a file, show its columns on the mapping screen, confirm it as a batch.

Keyword-only, typed functions named ``upload_<action>``. Reading and validating are
``appointments.intake`` (pure); the batch is made by ``services.batches.batch_create``.
Confirming 100,000 rows takes 3 to 6 s (bench/intake.py: SQLite, PostgreSQL), too long for one
web request on a small server: above ``CONFIRM_INLINE_MAX_ROWS`` the task ``confirm_upload``
(defined here, beside the code that enqueues it) checks and stores them.
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import python_calamine
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.tasks import task
from django.tasks.base import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils.translation import gettext as _

from appointments.hubspot.errors import (
    TIMED_OUT,
    HubSpotError,
    HubSpotNotSent,
    HubSpotTransientError,
    HubSpotUnknownOutcome,
)
from appointments.hubspot.schema import AssociationLabel, PropertyDefinition, Schema
from appointments.intake.cells import display_text, without_nul
from appointments.intake.errors import IntakeError
from appointments.intake.headers import Proposal
from appointments.intake.mapping import ColumnTarget, mapping_to_json, target_from_json
from appointments.intake.readers import Table, read_table
from appointments.intake.tuning import ambiguous_date_columns, date_order_verdicts, table_reading
from appointments.models import Batch, Portal, SavedMapping, Upload
from appointments.services import access
from appointments.services.access import Action
from appointments.services.batches import (
    batch_can_recheck,
    batch_create,
    batch_recheck,
    batch_resume_storing,
    batch_storing_stalled,
)
from appointments.services.mappings import (
    mapping_last_used,
    mapping_learn,
    mapping_mark_used,
    mapping_propose,
    mapping_save,
)
from appointments.services.portals import PortalNeedsReconnect, portal_schema
from appointments.services.resolving import keys_problem
from appointments.services.states import Action as StateAction
from appointments.services.states import batch_transition

# About 0.4 s of checking and storing: more rows than this are confirmed by a task.
CONFIRM_INLINE_MAX_ROWS = 10_000
# First values shown per column on the mapping screen, and their length.
SAMPLE_ROWS = 3
SAMPLE_LENGTH = 60
# A column with more distinct values than this is no list of words to map one by one.
DISTINCT_VALUES = 50


def schema_problem(exc: Exception) -> str:
    """The sentence shown when the portal's properties cannot be read from HubSpot, with what
    to do for that cause: a time-out or an unreachable HubSpot is waited out (reconnecting
    would not help); a refused connection (``PortalNeedsReconnect``, 401) is reconnected."""
    if isinstance(exc, HubSpotUnknownOutcome) and exc.category == TIMED_OUT:
        return _(
            "Could not read the portal's appointment properties from HubSpot: it did not answer "
            "in time (%(message)s). Try again in a minute; if it keeps happening, check "
            "HubSpot's status at https://status.hubspot.com."
        ) % {"message": exc}
    if isinstance(exc, HubSpotNotSent | HubSpotUnknownOutcome | HubSpotTransientError):
        return _(
            "Could not read the portal's appointment properties from HubSpot: %(message)s "
            "Try again in a minute; if it keeps happening, check HubSpot's status at "
            "https://status.hubspot.com."
        ) % {"message": exc}
    return _(
        "Could not read the portal's appointment properties from HubSpot: %(message)s "
        "Try again in a minute, or reconnect the portal from the dashboard."
    ) % {"message": exc}


def upload_create(
    *,
    user: User,
    portal: Portal,
    data: bytes,
    filename: str,
    timezone_name: str,
    sheet: str | None = None,
) -> tuple[Upload | None, str]:
    """Read an uploaded file once, as the mapping screen will (header found automatically,
    ``sheet`` or the first visible one), and keep it with what that screen shows
    (``TablePreview``): ``(upload, "")``; or ``(None, why)`` when it cannot become a batch
    (unreadable, too large, or no data rows), nothing kept. Raises PermissionDenied unless
    ``user`` may use ``portal``."""
    access.require(user, Action.PORTAL_USE, portal)
    choices = ReadingChoices(sheet=sheet)
    try:
        table = _read(data, filename, choices)
    except IntakeError as exc:
        return None, exc.message
    if not table.rows:
        return None, _(
            "“%(name)s” has a header row but no appointments under it. Check that you chose "
            "the right file (or sheet)."
        ) % {"name": filename}
    preview = TablePreview.of(table, choices, hidden_sheets=_hidden_sheets(data, table))
    upload = Upload.objects.create(
        portal=portal,
        created_by=user,
        filename=filename[:255],
        data=data,
        timezone=timezone_name,
        preview=preview.to_json(),
    )
    return upload, ""


def upload_schema(*, upload: Upload, for_page: bool = False) -> Schema:
    """The portal's schema for this upload: read from HubSpot the first time (``for_page``: as
    for ``services.portals.portal_client``), then kept on the upload. Raises HubSpotError or
    PortalNeedsReconnect on the first read."""
    if upload.schema:
        return Schema.from_json(upload.schema)
    schema = portal_schema(portal=upload.portal, for_page=for_page)
    upload.schema = schema.to_json()
    if upload.pk and not upload._state.adding:
        Upload.objects.filter(pk=upload.pk).update(schema=upload.schema)
    return schema


def upload_read(
    *,
    upload: Upload,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
) -> Table:
    """Read the kept file with the user's reading choices (None: detected).

    Raises ``appointments.intake.errors.IntakeError`` with a sentence the user can act on.
    """
    choices = ReadingChoices(sheet=sheet or None, encoding=encoding or None, header_row=header_row)
    return _read(bytes(upload.data), upload.filename, choices)


def _read(data: bytes, filename: str, choices: ReadingChoices) -> Table:
    return read_table(
        data,
        filename,
        sheet=choices.sheet,
        encoding=choices.encoding,
        header_row=choices.header_row,
        max_rows=settings.HUBPORTAL_MAX_ROWS,
        max_cells=settings.HUBPORTAL_MAX_CELLS,
    )


def _hidden_sheets(data: bytes, table: Table) -> set[str]:
    """Names of the workbook's hidden sheets (empty for CSV); only called once the file was
    read, so it is known to be a sound workbook."""
    if not table.sheet_names:
        return set()
    with python_calamine.CalamineWorkbook.from_object(io.BytesIO(data)) as book:
        return {
            m.name
            for m in book.sheets_metadata
            if m.visible != python_calamine.SheetVisibleEnum.Visible
        }


def _column_distinct(table: Table) -> list[list[tuple[str, int]]]:
    """Per column, its distinct non-blank displayed values with their counts, most frequent
    first, when it has at most ``DISTINCT_VALUES`` of them (else ``[]``): what the value
    mapping of an enumeration shows, and what the header matcher reads values from."""
    result: list[list[tuple[str, int]]] = []
    for index in range(len(table.headers)):
        counts: Counter[str] = Counter()
        for _number, cells in table.rows:
            cell = cells[index]
            text = (cell if type(cell) is str else display_text(cell)).strip()
            if text:
                counts[without_nul(text[:SAMPLE_LENGTH])] += 1
                if len(counts) > DISTINCT_VALUES:
                    counts.clear()
                    break
        result.append(counts.most_common())
    return result


def _column_samples(table: Table) -> list[list[str]]:
    """The displayed values of the first data rows, per column; blank cells stay (as ""), so a
    column's samples line up with the other columns' by row."""
    samples: list[list[str]] = [[] for _ in table.headers]
    for _number, cells in table.rows[:SAMPLE_ROWS]:
        for index, cell in enumerate(cells):
            samples[index].append(without_nul(display_text(cell).strip()[:SAMPLE_LENGTH]))
    return samples


@dataclass(frozen=True)
class ReadingChoices:
    """How the person asked the file to be read: ``sheet``, ``encoding`` (a Python codec
    name), ``header_row`` (1-based; 0 for none) or None to detect; ``mapping`` the saved
    mapping's id to apply, "" for none chosen, None when the person did not say."""

    sheet: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    mapping: str | None = None


@dataclass(frozen=True)
class TablePreview:
    """What the mapping screen shows of a file read with ``choices``: its ``headers``, the
    ``sheet_names`` and ``sheet`` read (workbooks; ``hidden_sheets`` among them), the
    ``encoding`` (CSV), the ``header_row`` and the other rows that could be it
    (``header_candidates``), ``row_count`` data rows, the first values of each column
    (``samples``), each column's day/month ``date_verdicts`` (``tuning``) and its
    ``distinct`` values with counts (``_column_distinct``; ``[]`` in previews kept before it
    existed). Kept on the upload as JSON so that a page view never parses the file again."""

    choices: ReadingChoices
    headers: list[str]
    sheet_names: list[str]
    sheet: str | None
    encoding: str | None
    header_row: int
    header_candidates: list[int]
    row_count: int
    samples: list[list[str]]
    date_verdicts: dict[int, str]
    hidden_sheets: list[str]
    distinct: list[list[tuple[str, int]]] = field(default_factory=list)

    @classmethod
    def of(cls, table: Table, choices: ReadingChoices, *, hidden_sheets: set[str]) -> TablePreview:
        """The preview of ``table``, read with ``choices``."""
        return cls(
            choices=choices,
            headers=table.headers,
            sheet_names=table.sheet_names,
            sheet=table.sheet,
            encoding=table.encoding,
            header_row=table.header_row,
            header_candidates=table.header_candidates,
            row_count=len(table.rows),
            samples=_column_samples(table),
            date_verdicts=date_order_verdicts(table),
            hidden_sheets=sorted(hidden_sheets),
            distinct=_column_distinct(table),
        )

    def to_json(self) -> dict[str, Any]:
        """The preview as stored on ``Upload.preview``."""
        data = dataclasses.asdict(self)
        data["choices"] = [self.choices.sheet, self.choices.encoding, self.choices.header_row]
        data["date_verdicts"] = {str(k): v for k, v in self.date_verdicts.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TablePreview:
        """The inverse of ``to_json``."""
        sheet, encoding, header_row = data["choices"]
        # Other keys kept beside the preview (``confirm_problem``) are not the preview's.
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        return cls(
            **{
                **data,
                "choices": ReadingChoices(sheet=sheet, encoding=encoding, header_row=header_row),
                "date_verdicts": {int(k): v for k, v in data["date_verdicts"].items()},
                "distinct": [
                    [(str(text), int(n)) for text, n in column]
                    for column in data.get("distinct") or []
                ],
            }
        )

    def column_values(self, index: int) -> list[str]:
        """Some of column ``index``'s texts: its distinct values, else its samples."""
        distinct = self.distinct[index] if index < len(self.distinct) else []
        return [text for text, _n in distinct] or self.samples[index]

    def read_with(self, choices: ReadingChoices) -> bool:
        """Whether reading with ``choices`` gives this preview again: each of sheet, encoding
        and header row asked as this preview asked it, or as what it found (the mapping
        screen posts back what was detected)."""
        return (
            choices.sheet in (self.choices.sheet, self.sheet)
            and choices.encoding in (self.choices.encoding, self.encoding)
            and choices.header_row in (self.choices.header_row, self.header_row)
        )


def upload_preview(*, upload: Upload, choices: ReadingChoices) -> TablePreview:
    """The upload's preview read with ``choices``: the one kept on it when it was read so,
    else the file is read (once) and the new preview kept. Raises IntakeError."""
    if upload.preview:
        kept = TablePreview.from_json(upload.preview)
        if kept.read_with(choices):
            return kept
    data = bytes(upload.data)
    table = _read(data, upload.filename, choices)
    preview = TablePreview.of(table, choices, hidden_sheets=_hidden_sheets(data, table))
    upload.preview = preview.to_json()
    Upload.objects.filter(pk=upload.pk).update(preview=upload.preview)
    return preview


@dataclass
class MappingScreen:
    """What the mapping screen shows: a ``problem`` sentence (the file or HubSpot could not be
    read; then ``retry`` says whether reading again with detected choices may help), or the
    file's ``preview``, the ``schema``, the ``targets`` (one per column: proposed, or posted)
    and the matcher's ``proposals`` (confidence and reason; empty for a batch's own mapping),
    the ``ambiguous`` date columns, the portal's ``saved`` mappings and the one ``applied``.
    ``batch``: the draft batch whose mapping is being changed (the rows are checked again in
    place); None for a file not confirmed yet."""

    choices: ReadingChoices
    problem: str = ""
    retry: bool = False
    preview: TablePreview | None = None
    schema: Schema | None = None
    targets: list[ColumnTarget | None] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    ambiguous: list[int] = field(default_factory=list)
    saved: list[SavedMapping] = field(default_factory=list)
    applied: SavedMapping | None = None
    batch: Batch | None = None


def upload_mapping_screen(
    *,
    upload: Upload,
    choices: ReadingChoices,
    posted_targets: Callable[[list[str], list[AssociationLabel]], list[ColumnTarget | None]]
    | None = None,
    batch: Batch | None = None,
) -> MappingScreen:
    """Read the kept file with ``choices`` and the portal's schema; propose a target per
    column (the applied saved mapping's, else the last used one's, else matched by header
    and values, choices confirmed in this portal first), or take ``posted_targets(headers,
    labels)``'s (the targets a mapping POST asks for). With ``batch`` (the upload's draft
    batch, ``upload_can_remap``), the file's kept preview and the batch's own mapping and
    schema are shown instead: the file itself is gone, so its reading cannot change.

    Never raises for a bad file or an unreachable HubSpot: the screen's ``problem`` says it.
    """
    saved = list(upload.portal.saved_mappings.all())
    applied = next((m for m in saved if str(m.pk) == choices.mapping), None)
    if applied is None and choices.mapping is None and batch is None:
        applied = mapping_last_used(portal=upload.portal)
    screen = MappingScreen(choices=choices, saved=saved, applied=applied, batch=batch)
    try:
        schema = (
            Schema.from_json(upload.schema)
            if batch is not None and upload.schema
            else upload_schema(upload=upload, for_page=True)
        )
    except (HubSpotError, PortalNeedsReconnect) as exc:
        screen.problem = schema_problem(exc)
        return screen
    try:
        if batch is not None:
            if not upload.preview:
                raise IntakeError(_("The file's columns were not kept: upload it again."))
            preview = TablePreview.from_json(upload.preview)
        else:
            preview = upload_preview(upload=upload, choices=choices)
    except IntakeError as exc:
        screen.problem, screen.retry = exc.message, batch is None
        return screen
    if batch is None or applied is not None:
        screen.proposals = mapping_propose(
            headers=preview.headers,
            schema=schema,
            saved=applied,
            portal=upload.portal,
            values=[preview.column_values(i) for i in range(len(preview.headers))],
        )
    if posted_targets is not None:
        targets = posted_targets(preview.headers, schema.labels)
    elif batch is not None and applied is None:
        targets = [target_from_json(target) for target in batch.mapping]
    else:
        targets = [proposal.target for proposal in screen.proposals]
    screen.preview, screen.schema, screen.targets = preview, schema, targets
    screen.ambiguous = ambiguous_date_columns(preview.date_verdicts, targets, schema.properties)
    return screen


def upload_to_remap(*, batch: Batch) -> Upload | None:
    """The upload whose mapping screen a batch's preview may go back to (``upload_can_remap``),
    or None (a grid batch, a batch sent or being sent, an upload kept without its columns)."""
    if batch.source != Batch.Source.UPLOAD or batch.status != Batch.Status.DRAFT:
        return None
    upload = Upload.objects.filter(batch=batch).select_related("batch").first()
    return upload if upload is not None and upload_can_remap(upload=upload) else None


def upload_can_remap(*, upload: Upload) -> bool:
    """Whether the upload's batch may go back to the mapping screen: a draft none of whose
    rows was given to HubSpot (``batches.batch_can_recheck``), with the file's columns kept."""
    batch = upload.batch
    return batch is not None and bool(upload.preview) and batch_can_recheck(batch=batch)


@dataclass(frozen=True)
class Confirmation:
    """What confirming did: the new ``batch``, or (a large file) the ``task_id`` of the task
    checking its ``rows`` (None when the backend gives no id until the transaction commits)."""

    batch: Batch | None
    rows: int
    task_id: str | None = None


def upload_confirm(
    *,
    upload: Upload,
    user: User,
    screen: MappingScreen,
    mapping: list[ColumnTarget | None],
    date_orders: dict[int, str],
    save_as: str = "",
    create_contacts: bool = False,
) -> Confirmation:
    """Confirm the mapping screen: save the mapping as ``save_as`` (or mark the applied saved
    mapping used), then store every row, valid or not, on a new batch linked to the upload;
    above ``CONFIRM_INLINE_MAX_ROWS`` rows a task does that (``upload_confirm_queued``).

    ``date_orders``: column index -> ``"DMY"``/``"MDY"`` for the ambiguous date columns.
    Every column's target is remembered for its header in the portal (``mapping_learn``).
    With ``screen.batch`` (back from a draft batch), that batch's rows are checked again with
    the new mapping instead (``batches.batch_recheck``). ``create_contacts``: contact emails
    HubSpot lacks become contacts (``batch_create``). No appointment is sent to HubSpot.
    Raises PermissionDenied unless ``user`` may use the portal and, to save a mapping (shared
    by everyone on the portal), manage portals.
    """
    access.require(user, Action.PORTAL_USE, upload.portal)
    if save_as.strip():
        access.require(user, Action.PORTAL_MANAGE, upload.portal)
    assert screen.preview is not None and screen.schema is not None
    preview = screen.preview
    if save_as.strip():
        mapping_save(
            portal=upload.portal, user=user, name=save_as, headers=preview.headers, mapping=mapping
        )
    elif screen.applied is not None:
        mapping_mark_used(saved=screen.applied)
    mapping_learn(portal=upload.portal, user=user, headers=preview.headers, mapping=mapping)
    if screen.batch is not None:
        # Back from the batch: its rows are checked again in place, never a second batch. A
        # batch's columns are its sender's (or an admin's) to change.
        access.require(user, Action.BATCH_ACT, screen.batch)
        batch = batch_recheck(
            batch=screen.batch,
            mapping=mapping,
            properties=screen.schema.properties,
            date_orders=date_orders,
            create_contacts=create_contacts,
        )
        return Confirmation(batch=batch, rows=preview.row_count)
    if preview.row_count > CONFIRM_INLINE_MAX_ROWS:
        task_id = _confirm_later(
            upload=upload,
            choices=screen.choices,
            mapping=mapping,
            date_orders=date_orders,
            create_contacts=create_contacts,
        )
        return Confirmation(batch=None, rows=preview.row_count, task_id=task_id)
    # The one full read of the confirmed file: its rows become the batch's.
    table = upload_read(
        upload=upload,
        sheet=screen.choices.sheet,
        encoding=screen.choices.encoding,
        header_row=screen.choices.header_row,
    )
    batch = upload_table_confirm(
        upload=upload,
        table=table,
        mapping=mapping,
        properties=screen.schema.properties,
        date_orders=date_orders,
        create_contacts=create_contacts,
    )
    return Confirmation(batch=batch, rows=preview.row_count)


def upload_table_confirm(
    *,
    upload: Upload,
    table: Table,
    mapping: list[ColumnTarget | None],
    properties: list[PropertyDefinition],
    date_orders: dict[int, str],
    keys: dict[str, Any] | None = None,
    create_contacts: bool = False,
) -> Batch:
    """Validate every row of the upload's ``table`` with the confirmed ``mapping`` and
    ``date_orders``; store them on the upload's batch (``batch_create``, origin
    ``upload:<id>``: confirming twice, at once or after a crash, never makes a second batch);
    the file's bytes are then cleared (the rows hold every value), its name and schema kept.
    The batch keeps how the file was read (sheet, encoding, header row), so that a confirm
    stopped midway can be stored again (``upload_resume``). ``keys``: the natural keys'
    resolution when the caller already has it (else ``batch_create`` asks HubSpot). Nothing is
    sent."""
    reading = table_reading(table, mapping, properties, date_orders)
    if keys is not None:
        reading["keys"] = keys
    if create_contacts:
        reading["create_contacts"] = True
    reading["file"] = {
        "sheet": table.sheet,
        "encoding": table.encoding,
        "header_row": table.header_row,
    }
    return batch_create(
        origin=f"upload:{upload.pk}",
        user=upload.created_by,
        portal=upload.portal,
        source=Batch.Source.UPLOAD,
        filename=upload.filename,
        timezone_name=upload.timezone,
        headers=table.headers,
        mapping=mapping,
        properties=properties,
        reading=reading,
        rows=table.rows,
        upload=upload,
    )


def upload_resume(*, batch: Batch) -> bool:
    """Store again, in the background, the rows of an upload's batch whose storing stopped
    (``batch_storing_stalled``: the process confirming it was killed). True when queued."""
    if batch.source != Batch.Source.UPLOAD or not batch_storing_stalled(batch=batch):
        return False
    batch_id = str(batch.pk)
    transaction.on_commit(lambda: resume_upload_batch.enqueue(batch_id))
    return True


@task()
def resume_upload_batch(batch_id: str) -> None:
    """Read a stalled batch's upload again as it was read, and store its rows afresh."""
    batch = Batch.objects.filter(pk=batch_id).first()
    upload = Upload.objects.filter(batch_id=batch_id).first()
    if batch is None or upload is None or not batch_storing_stalled(batch=batch):
        return
    choices = batch.reading.get("file", {})
    try:
        table = upload_read(
            upload=upload,
            sheet=choices.get("sheet"),
            encoding=choices.get("encoding"),
            header_row=choices.get("header_row"),
        )
        if table.headers != batch.headers:
            raise IntakeError(_("The file no longer has the columns it had when confirmed."))
    except IntakeError as exc:
        # Never a loop of failing attempts: the batch says why, and nothing of it is sent.
        batch_transition(
            batch_id=batch.pk,
            action=StateAction.ABANDON,
            status_message=_(
                "Checking the rows stopped and could not start again: %(reason)s Upload the "
                "file again."
            )
            % {"reason": exc.message},
        )
        return
    batch_resume_storing(batch=batch, rows=table.rows)


def _confirm_later(
    *,
    upload: Upload,
    choices: ReadingChoices,
    mapping: list[ColumnTarget | None],
    date_orders: dict[int, str],
    create_contacts: bool = False,
) -> str | None:
    """Queue ``confirm_upload`` of ``upload`` read with the same ``choices`` as the mapping
    screen. Enqueued once the current transaction commits (at once outside one). Returns the
    task result's id when it is already enqueued, else None."""
    payload = {
        "sheet": choices.sheet,
        "encoding": choices.encoding,
        "header_row": choices.header_row,
        "mapping": mapping_to_json(mapping),
        "date_orders": {str(index): order for index, order in date_orders.items()},
        "create_contacts": create_contacts,
    }
    enqueued: list[str] = []
    upload_id = str(upload.pk)
    transaction.on_commit(lambda: enqueued.append(confirm_upload.enqueue(upload_id, payload).id))
    return enqueued[0] if enqueued else None


def upload_confirm_queued(*, upload_id: str, choices: dict[str, Any]) -> Batch | None:
    """Run by ``confirm_upload``: read the kept file with ``choices`` (as ``_confirm_later``
    stores them) and store its rows on a new batch; return it.

    Returns None, doing nothing, when the upload is gone or already has its batch (a task run
    twice, or a second confirmation), so an upload never gets two batches. The schema was kept
    on the upload by its mapping screen, so no HubSpot call is made. Raises IntakeError if
    the file can no longer be read with those choices.
    """
    upload = Upload.objects.select_related("portal", "created_by").filter(pk=upload_id).first()
    if upload is None or upload.batch_id:
        return None
    schema = upload_schema(upload=upload)
    table = upload_read(
        upload=upload,
        sheet=choices.get("sheet"),
        encoding=choices.get("encoding"),
        header_row=choices.get("header_row"),
    )
    # No transaction around this: batch_create claims the upload's batch in a short one
    # (a second task, or a second confirm, then finds it) and stores rows chunk by chunk.
    return upload_table_confirm(
        upload=upload,
        table=table,
        mapping=[target_from_json(target) for target in choices["mapping"]],
        properties=schema.properties,
        date_orders={int(index): order for index, order in choices["date_orders"].items()},
        create_contacts=bool(choices.get("create_contacts")),
    )


def upload_confirm_failed(*, task_id: str | None) -> bool:
    """Whether the queued confirmation ``task_id`` ended in an error (False while it waits or
    runs, and when the task backend cannot tell: the immediate one, or an unknown id)."""
    if task_id is None:
        return False
    try:
        result = confirm_upload.get_result(task_id)
    except (TaskResultDoesNotExist, NotImplementedError):
        return False
    return result.status == TaskResultStatus.FAILED


@task()
def confirm_upload(upload_id: str, choices: dict[str, Any]) -> None:
    """Check and store every row of a large confirmed upload (``upload_confirm_queued``). When
    HubSpot cannot be asked about the file's keys, nothing is stored and the upload keeps why
    (``upload_confirm_problem``), for the waiting page to say."""
    try:
        upload_confirm_queued(upload_id=upload_id, choices=choices)
    except (HubSpotError, PortalNeedsReconnect, TimeoutError) as exc:
        upload = Upload.objects.filter(pk=upload_id).first()
        if upload is not None:
            preview = {**(upload.preview or {}), "confirm_problem": keys_problem(exc)}
            Upload.objects.filter(pk=upload_id).update(preview=preview)


def upload_confirm_problem(*, upload: Upload) -> str:
    """Why the queued confirmation of ``upload`` stored nothing (HubSpot could not be asked
    about its keys), once: the sentence is cleared as it is read. "" when there is none."""
    problem = str((upload.preview or {}).get("confirm_problem") or "")
    if problem:
        upload.preview = {k: v for k, v in upload.preview.items() if k != "confirm_problem"}
        Upload.objects.filter(pk=upload.pk).update(preview=upload.preview)
    return problem
