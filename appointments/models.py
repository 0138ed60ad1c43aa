"""Portals (HubSpot connections), batches, their rows and the batch-create calls that carry them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from appointments import crypto
from appointments.intake.encoding import RowLayout
from appointments.intake.messages import error_text
from appointments.status_messages import message_text, status_text


class Portal(models.Model):
    """A HubSpot account (portal, keyed by ``hub_id``) connected by a staff member.

    Tokens are stored encrypted (``appointments.crypto``); read them with ``access_token`` /
    ``refresh_token`` and write them with ``set_tokens``.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
        DISCONNECTED = "disconnected", _("Disconnected")

    class AuthKind(models.TextChoices):
        OAUTH = "oauth", _("OAuth app")
        PRIVATE_APP = "private_app", _("Private app token")

    hub_id = models.BigIntegerField(unique=True)
    hub_domain = models.CharField(max_length=255, blank=True)
    # The account's name in HubSpot ("Riverside Care Network"), shown wherever the portal is
    # named; "" until HubSpot told it (services.portals.portal_read_name).
    name = models.CharField(max_length=255, blank=True)
    # Who connected it first, for the record: who may use it is ``grants`` (PortalAccess), and
    # reconnecting (refreshing its tokens) changes neither.
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="portals"
    )
    connected_user = models.CharField(max_length=255, blank=True, help_text="HubSpot user")
    auth_kind = models.CharField(max_length=20, choices=AuthKind, default=AuthKind.OAUTH)
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    status_message = models.TextField(blank=True)
    scopes = models.JSONField(default=list)
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    # Set with NEEDS_RECONNECT when the stored tokens could not be decrypted (the token keys
    # changed): unlike a refused refresh token, restoring the previous key is enough to recover.
    tokens_unreadable = models.BooleanField(default=False)
    # A short lease so that one process refreshes the token while the others wait for it.
    refresh_lease_until = models.DateTimeField(null=True, blank=True)
    # The row key: a unique-value appointment property holding each input's objectWriteTraceId,
    # so an unknown outcome is settled by a read by idProperty and a resend cannot duplicate.
    # Empty: no row key (settled by search). services.portals.portal_set_row_key sets it.
    row_key_property = models.CharField(max_length=100, blank=True)
    # Why the portal cannot take appointments (the appointments object not activated, a scope
    # missing, properties unreadable) and what an admin must do; "" when it can. Checked at
    # connect and before every Send (services.portals.portal_check_readiness).
    readiness_problem = models.TextField(blank=True)
    readiness_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["hub_id"]
        permissions = [
            ("manage_portal", "Can connect, disconnect and set up portals, and grant access"),
        ]

    def __str__(self) -> str:
        if self.name:
            return self.name
        if self.hub_domain:
            return _("HubSpot %(hub_id)s (%(domain)s)") % {
                "hub_id": self.hub_id,
                "domain": self.hub_domain,
            }
        return _("HubSpot %(hub_id)s") % {"hub_id": self.hub_id}

    @property
    def can_create_row_key(self) -> bool:
        """Whether the connection was granted the scope creating a property needs
        (``crm.schemas.appointments.write``): "Create the row key" is offered only then."""
        return "crm.schemas.appointments.write" in (self.scopes or [])

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted)

    def set_tokens(
        self, *, access_token: str, refresh_token: str | None, expires_in: int | None
    ) -> None:
        """Store tokens encrypted; ``expires_in`` is HubSpot's lifetime in seconds (None: never)."""
        self.access_token_encrypted = crypto.encrypt(access_token)
        if refresh_token:
            self.refresh_token_encrypted = crypto.encrypt(refresh_token)
        self.access_token_expires_at = (
            timezone.now() + timedelta(seconds=expires_in) if expires_in else None
        )


class PortalAccess(models.Model):
    """A person allowed to use a portal (their role says how: operator or viewer).

    Granted by an admin (``services.access.portal_grant``); reconnecting the portal keeps it.
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["portal", "user"]
        constraints = [
            models.UniqueConstraint(fields=["portal", "user"], name="unique_portal_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.user} -> {self.portal}"


class Batch(models.Model):
    """One upload or form-grid entry: its rows, the portal schema snapshot, and its progress."""

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Upload")
        GRID = "grid", _("Form grid")

    class Status(models.TextChoices):
        # Rows are being checked and stored (in short transactions); nothing can be sent yet.
        STORING = "storing", _("Checking rows")
        DRAFT = "draft", _("Checked, not sent")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Sending")
        PAUSED = "paused", _("Paused")
        # The first rows (``canary_size``) are answered: a person sends the rest or undoes them.
        CANARY = "canary", _("Waiting at the canary")
        COMPLETED = "completed", _("Completed")
        # "Check HubSpot again" is asking HubSpot about rows whose outcome was unknown.
        CHECKING = "checking", _("Checking HubSpot")
        CANCELED = "canceled", _("Canceled")
        # The records the batch created are being archived (services.undo), then are.
        UNDOING = "undoing", _("Undoing")
        UNDONE = "undone", _("Undone")

    class Search(models.TextChoices):
        """The look in HubSpot for appointments like the rows (services.duplicate_search)."""

        NONE = "", _("Not looked in HubSpot")
        RUNNING = "running", _("Looking in HubSpot")
        DONE = "done", _("Looked in HubSpot")
        FAILED = "failed", _("Look in HubSpot stopped")

    class WriteMode(models.TextChoices):
        CREATE = "create", _("Create every row")
        UPDATE = "update", _("Update the appointments named, create the rest")
        UPDATE_ONLY = "update_only", _("Update the appointments named only")
        UPSERT = "upsert", _("Update existing appointments, create the rest")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portal = models.ForeignKey(Portal, on_delete=models.PROTECT, related_name="batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="batches"
    )
    source = models.CharField(max_length=10, choices=Source, default=Source.UPLOAD)
    filename = models.CharField(max_length=255, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list, help_text="ColumnTarget per column, or null")
    properties_snapshot = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT)
    status_message = models.TextField(blank=True)
    # How the file was read, so a fixed row is re-validated as its file was: column index (as
    # text) -> "DMY"/"MDY", decimal comma (bool or null), 1904 dates (bool).
    reading = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Which worker process ("host:pid") is sending, and when it last showed life: a batch whose
    # worker died is handed to another one (appointments.services.sending.batch_recover_stalled).
    worker = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The latest send task queued for the batch (its django.tasks result id): while it waits for
    # a worker, the stalled-batch scan does not queue another one.
    send_task_id = models.CharField(max_length=64, blank=True)
    # Time spent sending (RUNNING) in the stretches that ended, and when the current one began:
    # rows per second leave out queues and pauses.
    sending_time = models.DurationField(default=timedelta(0))
    running_since = models.DateTimeField(null=True, blank=True)
    # The engine's last wait before trying a call again that HubSpot did not answer or could
    # not be reached for: what happened, the attempt, and when it tries again. Cleared when a
    # call is answered and when the batch stops.
    retry_message = models.TextField(blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    # What the batch was made from ("upload:<id>", "grid:<form key>"): unique, so confirming
    # the same upload or posting the same grid twice, at once or after a crash, finds the
    # first batch instead of making a second one.
    origin = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # The uploaded file's SHA-256 (hex) and size in bytes: the same file sent twice is named,
    # and the audit says which file a batch came from. Empty for the form grid.
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    file_size = models.BigIntegerField(null=True, blank=True)
    # Canary: send this many rows first, then wait (status CANARY) for "send the rest" or
    # "undo these"; 0: no canary.
    canary_size = models.PositiveIntegerField(default=0)
    # Groups of in-file duplicates (lists of row numbers) a person chose to send all of.
    duplicates_kept = models.JSONField(default=list, blank=True)
    # What the last look in HubSpot found (services.duplicates.batch_duplicates_search_hubspot):
    # ``[{"row": row number, "record_id": id}]`` of appointments the app did not create.
    hubspot_duplicates = models.JSONField(default=list, blank=True)
    # The look in HubSpot for appointments like the rows, run in the background
    # (services.duplicate_search): its state, who asked and when, when it ended and, when it
    # stopped (or the Send waiting for it did not send), why; its searches done of those
    # planned; the worker holding it and its lease; the Send waiting for it
    # (``{"check_records": bool, "on_duplicate": str, "canary": int}``, null: none).
    hubspot_search_state = models.CharField(
        max_length=10, choices=Search, blank=True, default=Search.NONE
    )
    hubspot_search_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    hubspot_search_at = models.DateTimeField(null=True, blank=True)
    hubspot_search_ended_at = models.DateTimeField(null=True, blank=True)
    hubspot_search_message = models.TextField(blank=True)
    hubspot_search_done = models.PositiveIntegerField(default=0)
    hubspot_search_total = models.PositiveIntegerField(default=0)
    hubspot_search_worker = models.CharField(max_length=100, blank=True)
    hubspot_search_heartbeat_at = models.DateTimeField(null=True, blank=True)
    hubspot_search_then_send = models.JSONField(null=True, blank=True)
    # Undo (services.undo): who asked and when, when it ended, and whether records changed in
    # HubSpot since the batch wrote them are archived too.
    undo_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    undo_requested_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_include_changed = models.BooleanField(default=False)
    # Who the worker acts for while it sends: the person who last pressed Send, Resume or
    # "Send the failed rows again" (null before the first send: the batch's creator).
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # ``status_message`` and ``retry_message`` as a message code and its parameters, said in
    # the reader's language (``appointments.intake.messages.status_text``); the text columns
    # keep HubSpot's own words, and older batches' text.
    status_code = models.CharField(max_length=40, blank=True)
    status_params = models.JSONField(default=dict, blank=True)
    retry_code = models.CharField(max_length=40, blank=True)
    retry_params = models.JSONField(default=dict, blank=True)
    # The waiting state the sender was last mailed about ("canary", "hubspot_duplicates",
    # "unknown_outcome"), so each entry into one mails once; cleared when the batch is queued.
    waiting_notified = models.CharField(max_length=20, blank=True)
    # Update or create (services.updating): "create" sends every row through batch create;
    # "update" sends rows naming a record (a column mapped to hs_object_id, or a duplicate the
    # person chose to update) through batch update and creates the rest; "update_only" refuses
    # the rest; "upsert" sends rows through batch upsert by ``upsert_property``.
    write_mode = models.CharField(max_length=12, choices=WriteMode, default=WriteMode.CREATE)
    # The unique-value appointment property of an "upsert" batch (``idProperty``).
    upsert_property = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")
        permissions = [
            ("send_batch", "Can upload, map, send, retry and undo their own batches"),
            ("see_every_batch", "Can see every batch of every portal"),
            ("act_on_every_batch", "Can send, retry, cancel and undo anyone's batch"),
        ]

    def __str__(self) -> str:
        return self.filename or _("Batch %(id)s") % {"id": self.pk}

    @property
    def acting_user_id(self) -> int:
        """Who the worker acts for: the person who last sent it, else its creator."""
        return self.sent_by_id or self.created_by_id

    @property
    def status_text(self) -> str:
        """``status_message`` in the reader's language (``status_code`` when set)."""
        return status_text(self.status_code, self.status_params) or self.status_message

    @property
    def retry_text(self) -> str:
        """``retry_message`` in the reader's language (``retry_code`` when set)."""
        return status_text(self.retry_code, self.retry_params) or self.retry_message

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_changing(self) -> bool:
        """True while the results page should poll: rows are being stored, sent or archived,
        or HubSpot is being looked in for appointments like them."""
        return (
            self.is_active
            or self.status in (self.Status.STORING, self.Status.UNDOING)
            or self.hubspot_search_state == self.Search.RUNNING
        )

    @cached_property
    def name_column(self) -> int | None:
        """Index of the first column mapped to ``hs_appointment_name`` (None if none is)."""
        for index, target in enumerate(self.mapping):
            if target and target["kind"] == "property" and target["name"] == "hs_appointment_name":
                return index
        return None

    @cached_property
    def layout(self) -> RowLayout:
        """Where this batch's rows keep their property values and record IDs (from
        ``mapping``; see ``BatchRow``)."""
        return RowLayout.of_json(self.mapping)


class StoredJSONField(models.JSONField):
    """A JSONField without SQLite's ``JSON_VALID`` check constraint.

    Batch rows' JSON is written only by this field and by ``services.storage`` (orjson), which
    never produce anything else; SQLite checking it again re-parses every document on insert,
    about a quarter of the time of storing 100,000 rows (bench/intake.py). PostgreSQL's
    ``jsonb`` has no such check either.
    """

    def db_check(self, connection: BaseDatabaseWrapper) -> None:
        return None


class BatchRow(models.Model):
    """One row the user gave, kept whatever happens to it.

    ``row_number`` is the row as the spreadsheet numbers it; ``raw`` every cell's displayed text,
    in the order of ``batch.headers``; ``properties`` the exact strings for HubSpot's
    batch-create input, one per name of ``batch.layout`` (null: not sent;
    ``batch.layout.unpack_properties`` gives ``{name: value}``); ``associations`` one array of
    record IDs per association type of ``batch.layout`` (``unpack_associations`` gives
    ``[record id, associationCategory, associationTypeId]`` items, from which ``services.sending``
    builds HubSpot's association objects); ``errors`` the validation errors (list of {column,
    value, code, message, params}; ``error_texts`` says them in the reader's language).
    """

    class State(models.TextChoices):
        INVALID = "invalid", _("Invalid, held back")
        READY = "ready", _("Ready")
        SENDING = "sending", _("Sending")
        CREATED = "created", _("Created")
        FAILED = "failed", _("Failed")
        UNSENT = "unsent", _("Not sent")
        EXCLUDED = "excluded", _("Excluded, never sent")

    # No index of its own: the (batch, row_number) constraint and the (batch, state) index both
    # start with it, and every extra index slows storing 100,000 rows.
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rows", db_index=False)
    row_number = models.PositiveIntegerField()
    raw = StoredJSONField(default=list)
    properties = StoredJSONField(default=list)
    associations = StoredJSONField(default=list)
    errors = StoredJSONField(default=list)
    state = models.CharField(max_length=10, choices=State)
    # Unique by construction (``services.storage.trace_ids``: batch, row number, random part);
    # nothing looks a row up by it, and an index would cost a fifth of storing 100,000 rows.
    object_write_trace_id = models.CharField(max_length=64)
    # Indexed only where set (below): a stored row has no call yet.
    call = models.ForeignKey(
        "BatchCall",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rows",
        db_index=False,
    )
    # Database defaults too: storing a row sends only what intake decides (services.storage).
    hubspot_id = models.CharField(max_length=32, blank=True, db_default="")
    error_category = models.CharField(max_length=64, blank=True, db_default="")
    error_message = models.TextField(blank=True, db_default="")
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["batch", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_number"], name="unique_row_per_batch"),
        ]
        indexes = [
            # With row_number: a filtered page of the results (created, failed...) is read in
            # row order straight from the index, never sorted or scanned over the batch.
            models.Index(fields=["batch", "state", "row_number"], name="row_batch_state_number"),
            models.Index(
                fields=["call"], condition=models.Q(call__isnull=False), name="row_call_when_set"
            ),
        ]

    def __str__(self) -> str:
        return f"Row {self.row_number}"

    @property
    def appointment_name(self) -> str:
        """The row's ``hs_appointment_name``, else (an invalid name) the text of the column
        mapped to it, else "". Reads ``self.batch``: fetch rows through ``batch.rows`` so they
        share one batch (and its layout)."""
        batch = self.batch
        name = batch.layout.unpack_properties(self.properties).get("hs_appointment_name")
        if name is not None:
            return name
        if batch.name_column is None:
            return ""
        if "name_cell" in self.__dict__:
            # Read alone by the results page, which leaves ``raw`` (every cell) unread.
            return str(self.__dict__["name_cell"] or "")
        return self.raw_text(batch.name_column)

    # Outcomes the app itself decides, by ``error_category``: said in the reader's language
    # (``outcome_text``); any other category is HubSpot's, whose message is shown as it came.
    OUTCOME_MESSAGES = {
        "NOT_SENT": _(
            "HubSpot has no such appointment: this row was not created. Send the "
            "failed rows again to send it."
        ),
        "NOT_FOUND_BY_SEARCH": _(
            "HubSpot's search did not show this row when it was checked, but its search lags "
            "and the appointment may still appear. Check HubSpot again later; send it again "
            "only if you accept it may be created twice."
        ),
        "UNMATCHED": _(
            "HubSpot's answer did not say what happened to this row; check HubSpot before "
            "sending it again."
        ),
    }

    @property
    def outcome_text(self) -> str:
        """``error_message`` in the reader's language when the app wrote it: by its category
        (``OUTCOME_MESSAGES``), or the failed call's stored message (``BatchCall.error_said``,
        read from a ``call_error_said`` annotation or an already fetched ``call``, never by a
        query of its own); else as stored (HubSpot's own words)."""
        fixed = self.OUTCOME_MESSAGES.get(self.error_category)
        if fixed:
            return str(fixed)
        if "call_error_said" in self.__dict__:
            said = self.__dict__["call_error_said"]
        else:
            said = self.call.error_said if BatchRow.call.is_cached(self) and self.call else None
        if said and self.state == self.State.FAILED:
            return message_text(said) or self.error_message
        return self.error_message

    @property
    def error_texts(self) -> list[str]:
        """The row's errors as sentences in the active language (the reader's, not the
        uploader's): ``intake.messages.error_text``."""
        return [error_text(error, row=self.row_number) for error in self.errors]

    def error_texts_for(self, column: str | None) -> list[str]:
        """``error_texts`` of the errors of ``column`` (None: every error)."""
        return [
            error_text(error, row=self.row_number)
            for error in self.errors
            if column is None or error["column"] == column
        ]

    def raw_text(self, index: int) -> str:
        """The displayed text of the row's cell in column ``index`` (0-based; ``""`` past the
        row's end)."""
        return self.raw[index] if 0 <= index < len(self.raw) else ""

    @property
    def is_refused(self) -> bool:
        """True when HubSpot refused this row itself (its own error in a 207 answer): sending
        it unchanged would fail again, so it is fixed first (``REFUSED_ROWS``, the same rule
        as a query). Needs ``call`` (select_related it)."""
        return (
            self.state == self.State.FAILED
            and self.call is not None
            and self.call.http_status == MULTI_STATUS
            and self.error_category not in NEVER_FIXED
        )

    @property
    def is_fixable(self) -> bool:
        """True while a person may change the row: never given to a call (``is_editable``), or
        failed with an outcome known to be "not created" (refused, not sent); never a row
        HubSpot may have created."""
        return self.is_editable or (
            self.state == self.State.FAILED and self.error_category not in NEVER_FIXED
        )

    @property
    def state_label(self) -> str:
        """The state's label, as ``get_state_display`` but without rebuilding the choices (the
        live table shows 100 rows every 2 s); "Updated" for a row that updated a record, when
        its ``write`` was fetched with it (``select_related("write")``; never a query here)."""
        write = self._state.fields_cache.get("write")
        if (
            self.state == self.State.CREATED
            and write is not None
            and write.outcome == RowWrite.Outcome.UPDATED
        ):
            return str(RowWrite.Outcome.UPDATED.label)
        return str(self.State(self.state).label)

    @property
    def is_editable(self) -> bool:
        """True while no HubSpot call holds the row: it may be fixed, excluded or included."""
        return self.call_id is None and self.state in (
            self.State.INVALID,
            self.State.READY,
            self.State.EXCLUDED,
        )


# HubSpot's multi-status answer: each refused input has its own error.
MULTI_STATUS = 207
# Failure categories whose row HubSpot may have created (services.sending): never changed or
# resent before someone checked HubSpot.
NEVER_FIXED = ("UNKNOWN_OUTCOME", "UNMATCHED", "NOT_FOUND_BY_SEARCH")
# Failure categories whose creation HubSpot has not confirmed either way: no answer came, or
# its search (which lags) did not show the row yet. "Check HubSpot again" looks for them.
UNSETTLED_OUTCOMES = ("UNKNOWN_OUTCOME", "NOT_FOUND_BY_SEARCH")
# Rows HubSpot refused one by one (``BatchRow.is_refused``): "send the failed rows again"
# skips them until they are fixed.
REFUSED_ROWS = models.Q(state=BatchRow.State.FAILED, call__http_status=MULTI_STATUS) & ~models.Q(
    error_category__in=NEVER_FIXED
)
# Failed rows a person may fix (``BatchRow.is_fixable`` once sent).
FIXABLE_FAILED_ROWS = models.Q(state=BatchRow.State.FAILED) & ~models.Q(
    error_category__in=NEVER_FIXED
)


class RowUndo(models.Model):
    """What undoing a batch did to one created row's record (``services.undo``).

    A table of its own, not a column of ``BatchRow``: adding one would rebuild that table on
    SQLite and drop its count triggers, and only undone batches have these rows.
    """

    class Outcome(models.TextChoices):
        # Chosen for archiving, the call not yet answered: archived again on resume.
        ARCHIVING = "archiving", _("Being archived")
        ARCHIVED = "archived", _("Archived")
        # An updated record: its values before the batch are being written back, then are.
        RESTORING = "restoring", _("Being restored")
        RESTORED = "restored", _("Restored to its previous values")
        CHANGED = "changed", _("Kept: changed in HubSpot since")
        MISSING = "missing", _("Already gone from HubSpot")

    row = models.OneToOneField(
        "BatchRow", primary_key=True, on_delete=models.CASCADE, related_name="undo"
    )
    batch = models.ForeignKey("Batch", on_delete=models.CASCADE, related_name="undos")
    record_id = models.CharField(max_length=32)
    outcome = models.CharField(max_length=10, choices=Outcome)
    at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["batch", "row"]

    def __str__(self) -> str:
        return f"{self.record_id}: {self.outcome}"


class RowWrite(models.Model):
    """How a row of an update-or-create batch reaches HubSpot, and what it did
    (``services.updating``).

    ``target_id``: the record the row updates by ID (batch update), "" for an upsert or a
    create. ``before``: the record's values of the properties the row changes, read just
    before the first attempt (``{name: value}``, "" for no value), kept for undo; null when
    no record held them (an upsert that creates). ``attempts``: attempts sent, counted before
    each leaves. ``outcome``: "created" or "updated", set once from the first answer received.

    A table of its own, like ``RowUndo``: a column of ``BatchRow`` would rebuild that table
    on SQLite and drop its count triggers.
    """

    class Outcome(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")

    row = models.OneToOneField(
        "BatchRow", primary_key=True, on_delete=models.CASCADE, related_name="write"
    )
    batch = models.ForeignKey("Batch", on_delete=models.CASCADE, related_name="writes")
    target_id = models.CharField(max_length=32, blank=True)
    before = models.JSONField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome, blank=True)

    class Meta:
        ordering = ["batch", "row"]

    def __str__(self) -> str:
        return f"{self.target_id or '-'}: {self.outcome or 'waiting'}"


class BatchCounts(models.Model):
    """How many rows of a batch are in each ``BatchRow.State`` (``n_<state>``).

    Kept by the database itself: triggers on ``BatchRow`` (migration 0010) add and subtract as
    rows are inserted, change state or are deleted, in the same transaction, whatever code
    path changed them. The live results poll reads this one row instead of counting rows, so
    a poll costs the same for 100 rows as for 100,000.
    """

    batch = models.OneToOneField(
        "Batch", primary_key=True, on_delete=models.CASCADE, related_name="row_counts"
    )
    n_invalid = models.IntegerField(default=0)
    n_ready = models.IntegerField(default=0)
    n_sending = models.IntegerField(default=0)
    n_created = models.IntegerField(default=0)
    n_failed = models.IntegerField(default=0)
    n_unsent = models.IntegerField(default=0)
    n_excluded = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "batch counts"

    def __str__(self) -> str:
        return f"Counts of {self.batch_id}"

    def by_state(self) -> dict[str, int]:
        """``{state value: rows}`` for every ``BatchRow.State``."""
        return {state: getattr(self, f"n_{state}") for state in BatchRow.State.values}


class RowEdit(models.Model):
    """One bulk fix of a batch's unsent rows (``services.rows.rows_bulk_apply``), kept as the
    batch's history of edits so that the latest can be undone until its rows are sent.

    ``column`` is the index in ``batch.headers``; ``before`` maps each changed row's number
    (as text) to the cell's text before the edit.
    """

    class Kind(models.TextChoices):
        FILL = "fill", _("Fill the empty cells")
        REPLACE = "replace", _("Find and replace")
        SAME_ERROR = "same_error", _("Fix every row with the same error and value")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="edits")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=Kind)
    column = models.PositiveIntegerField()
    find = models.TextField(blank=True)
    replace = models.TextField(blank=True)
    before = models.JSONField(default=dict)
    changed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    # While the edit (or its undo) is being applied: the batch's other bulk edits wait for it
    # (``services.rows``). Renewed as rows are done; one silent for a lease was cut short.
    applying_since = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.changed})"


class BatchCall(models.Model):
    """One ``POST /crm/objects/2026-03/0-421/batch/create`` call of at most 100 rows.

    ``hubspot_status`` is the response's batch ``status`` (PENDING, PROCESSING, CANCELED,
    COMPLETE); ``requested_at``/``started_at``/``completed_at`` are HubSpot's timestamps.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Answered")
        FAILED = "failed", _("Failed")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="calls")
    sequence = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    hubspot_status = models.CharField(max_length=16, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # ``error_message`` as a ``status_messages`` message (a code and its parameters, or
    # HubSpot's own text), said in the reader's language (``error_text``); the call's failed
    # rows say the same.
    error_said = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the call was first sent: reconciliation looks for records created since then.
    sent_at = models.DateTimeField(null=True, blank=True)
    reconciled = models.PositiveIntegerField(
        default=0, help_text="Rows found already created in HubSpot after an unknown outcome"
    )
    # Set when an attempt's outcome was unknown (no answer): the moment HubSpot's search can be
    # trusted to show what that attempt created (HUBPORTAL_SEARCH_SETTLE_SECONDS after it). The
    # engine searches only then, and "Check HubSpot again" calls no row of the call "not sent"
    # before it.
    settles_at = models.DateTimeField(null=True, blank=True)
    # The portal's row key when the call was first sent (empty: none): the property its inputs
    # carry. A lost answer is settled by reading it only if the rows carried it; a key chosen
    # later finds nothing of an earlier send, which would pass for "not created".
    row_key_property = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["batch", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "sequence"], name="unique_call_sequence"),
        ]

    def __str__(self) -> str:
        return f"Call {self.sequence}"

    @property
    def error_text(self) -> str:
        """``error_message`` in the reader's language (``error_said`` when set)."""
        return message_text(self.error_said) if self.error_said else self.error_message

    @property
    def state_label(self) -> str:
        """The state's label, as ``get_state_display`` without rebuilding the choices."""
        return str(self.State(self.state).label)


class Upload(models.Model):
    """An uploaded file kept from the upload until its column mapping is confirmed.

    ``data`` holds the file's bytes (the upload form limits their size); ``batch`` is set once
    the mapping is confirmed and the rows are stored, and ``data`` is then emptied. Unconfirmed
    uploads are deleted after a few days by ``manage.py prune_uploads``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="uploads")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    filename = models.CharField(max_length=255)
    data = models.BinaryField()
    timezone = models.CharField(max_length=64, default="UTC")
    # The portal's schema read once for this upload ({"properties": [...], "labels": [...]}),
    # so the mapping screen and its confirmation agree and HubSpot is asked only once.
    schema = models.JSONField(default=dict, blank=True)
    # What the mapping screen shows of the file read with the last reading choices (headers,
    # samples, counts, day/month verdicts; ``services.uploads.TablePreview``), so a page view
    # does not parse the file again.
    preview = models.JSONField(default=dict, blank=True)
    batch = models.OneToOneField(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="upload"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class SavedMapping(models.Model):
    """A column mapping saved by name for a portal, reused on later files with those headers.

    ``columns`` is a list of ``{"header": str, "target": {kind, name, association_type_id,
    association_category} | null}``; a null target means the column is ignored on purpose.
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="saved_mappings")
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    columns = models.JSONField(default=list)
    last_used_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["portal", "name"], name="unique_mapping_name"),
        ]

    def __str__(self) -> str:
        return self.name


class SsoIdentity(models.Model):
    """The person an OpenID provider knows as ``subject`` at ``issuer``: their account here.

    Created at their first single sign-on; the pair, never the e-mail address (which can
    change or be reused), finds them again (OpenID Connect Core 1.0, section 5.7).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"


class HeaderChoice(models.Model):
    """The target a person confirmed for a header of a file in a portal, proposed first for the
    next file with that header (``intake.headers.match_headers``' ``learned``): learning per
    portal, whatever the file or saved mapping.

    ``header`` is ``intake.mapping.normalise``'d (case, accents, spacing ignored); ``target``
    one ``intake.mapping.mapping_to_json`` item, or null for a column ignored on purpose.
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="header_choices")
    header = models.CharField(max_length=255)
    target = models.JSONField(null=True, blank=True)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["portal", "header"], name="unique_header_choice"),
        ]

    def __str__(self) -> str:
        return self.header


class DataRemoval(models.Model):
    """A record of data removed on purpose: a retention purge or one person's erasure.

    ``criteria`` says what was asked (``{"older_than_days": 90}``, or for an erasure the
    SHA-256 of the lower-cased e-mail address, never the address itself); ``counts`` what was
    removed (``{"batches": 3, "rows": 1200, "uploads": 2}``).
    """

    class Kind(models.TextChoices):
        PURGE = "purge", _("Retention purge")
        ERASURE = "erasure", _("Erasure of one person's data")

    kind = models.CharField(max_length=10, choices=Kind)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    performed_at = models.DateTimeField(default=timezone.now)
    criteria = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-performed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.performed_at:%Y-%m-%d %H:%M}"


class HubSpotCallLog(models.Model):
    """One HTTP call the app made to HubSpot for a portal (``hubspot.client``, its one writer):
    when, what (method and path, no query, body or token), HubSpot's answer (``status``: null
    when none came), how long it took, its correlation ID and error category. The admins'
    activity page (``services.activity``) reads the last day; ``manage.py purge_data`` deletes
    older ones.
    """

    hub_id = models.BigIntegerField()
    at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    error_category = models.CharField(max_length=64, blank=True)
    # Who the call was made for (a page view's person, or the person a background task acts
    # for); null for calls made for nobody in particular (e.g. a probe).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["hub_id", "at"], name="call_log_hub_at")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"

    @property
    def is_error(self) -> bool:
        """An error response (4xx, 5xx) or no answer at all."""
        return self.status is None or self.status >= 400
