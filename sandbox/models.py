"""State of the HubSpot sandbox, kept in the default database so every process agrees on it."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

# The search lag of a new sandbox: "a few moments" in HubSpot's search guide; several seconds
# in integrators' reports (SANDBOX.md cites them).
DEFAULT_SEARCH_LAG_SECONDS = 5.0


class Portal(models.Model):
    """A HubSpot account ("portal", "hub") with its switches: limits, faults, enablement.

    Faults: SANDBOX.md, "Faults"; limits: https://developers.hubspot.com/docs/api/usage-details.
    """

    class Fault(models.TextChoices):
        NONE = "", "No fault"
        LOCKED_423 = "423", "423 Locked"
        BAD_GATEWAY_502 = "502", "502 Bad Gateway"
        UNAVAILABLE_503 = "503", "503 Service Unavailable"
        GATEWAY_TIMEOUT_504 = "504", "504 Gateway Timeout"
        DROP = "drop", "Connection dropped before the response"
        CREATE_THEN_TIMEOUT = "create_timeout", "Records created, response never arrives"

    hub_id = models.IntegerField(unique=True)
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200)
    appointments_enabled = models.BooleanField(default=True)
    next_record_id = models.BigIntegerField(default=61_000_000_001)
    rate_limit_per_10s = models.PositiveIntegerField(default=110)
    daily_limit = models.PositiveIntegerField(default=500_000)
    search_per_second = models.PositiveIntegerField(default=5)
    latency_ms = models.PositiveIntegerField(default=0)
    fault = models.CharField(max_length=20, choices=Fault.choices, default=Fault.NONE, blank=True)
    # How many API calls the fault still applies to; None means until it is switched off.
    fault_remaining = models.PositiveIntegerField(null=True, blank=True)
    # Which paths the fault applies to (substring match); empty means every API call.
    fault_path_contains = models.CharField(max_length=200, blank=True, default="")
    # How long a "response never arrives" call holds the connection before dropping it.
    hang_seconds = models.PositiveIntegerField(default=60)

    def __str__(self) -> str:
        return f"{self.name} ({self.hub_id})"


class Switches(models.Model):
    """Sandbox-wide switches (a single row, pk=1): clock, token lifetime, UNCONFIRMED choices."""

    class JournalMode(models.TextChoices):
        FULL = "full", "Full: request and response bodies kept"
        SUMMARY = "summary", "Summary: no bodies (benchmarks)"

    class DuplicateValue(models.TextChoices):
        """How a batch create answers an input whose unique value is taken."""

        PER_INPUT = "per_input", "That input fails (207), its objectWriteTraceId in the error"
        PER_INPUT_UNTRACED = "untraced", "That input fails (207), no objectWriteTraceId"
        WHOLE_CALL = "whole_call", "The whole call fails (409), nothing created"
        WHOLE_CALL_UNNAMED = (
            "whole_call_unnamed",
            "The whole call fails (409) naming neither the property nor the value",
        )

    clock_offset_seconds = models.FloatField(default=0.0)
    token_lifetime_seconds = models.PositiveIntegerField(default=1800)
    auth_code_lifetime_seconds = models.PositiveIntegerField(default=600)
    echo_trace_id_on_success = models.BooleanField(default=False)
    rotate_refresh_tokens = models.BooleanField(default=False)
    contract_checking = models.BooleanField(default=True)
    journal_mode = models.CharField(
        max_length=10, choices=JournalMode.choices, default=JournalMode.FULL
    )
    # HubSpot's search index lags writes ("may take a few moments", SANDBOX.md): a record
    # created or updated is found by search only this many seconds (sandbox clock) later.
    # Integrators report several seconds, and advise waiting 10 s after a create (SANDBOX.md).
    search_lag_seconds = models.FloatField(
        default=DEFAULT_SEARCH_LAG_SECONDS,
        validators=[MinValueValidator(0.0)],
        help_text="Seconds before a created or updated record appears in search results.",
    )
    # HubSpot's rule for IN/NOT_IN on string properties: values must be lowercase, and a value
    # with capitals matches nothing (SANDBOX.md). Off: any case matches.
    search_in_lowercase = models.BooleanField(
        default=True,
        help_text="IN/NOT_IN on string properties match lowercase values only, as HubSpot's.",
    )
    # UNCONFIRMED points about unique-value properties (SANDBOX.md, last section).
    # Whether 0-421 accepts a new property with hasUniqueValue: true.
    unique_properties_allowed = models.BooleanField(default=True)
    # How long a created record stays invisible to reads by idProperty (0: at once).
    id_property_lag_seconds = models.FloatField(default=0.0)
    duplicate_value = models.CharField(
        max_length=20, choices=DuplicateValue.choices, default=DuplicateValue.PER_INPUT
    )

    class Meta:
        verbose_name_plural = "switches"

    def __str__(self) -> str:
        return "Sandbox switches"


class OAuthApp(models.Model):
    """A HubSpot public app: credentials, registered redirect URIs and the scopes it may ask for."""

    app_id = models.IntegerField(unique=True)
    name = models.CharField(max_length=200)
    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=100)
    redirect_uris = models.JSONField(default=list)
    scopes = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class AuthorizationCode(models.Model):
    """A single-use, short-lived code issued by the consent page (https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide)."""

    code = models.CharField(max_length=100, unique=True)
    app = models.ForeignKey(OAuthApp, on_delete=models.CASCADE)
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    redirect_uri = models.TextField()
    scopes = models.JSONField(default=list)
    expires_at = models.FloatField()
    used = models.BooleanField(default=False)
    # PKCE (RFC 7636), when the authorize URL carried a code_challenge.
    code_challenge = models.CharField(max_length=200, blank=True, default="")
    code_challenge_method = models.CharField(max_length=10, blank=True, default="")

    def __str__(self) -> str:
        return f"code for {self.app_id} on portal {self.portal_id}"


class Token(models.Model):
    """An access or refresh token; access tokens expire (expires_at None: never, the static one)."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    token = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    app = models.ForeignKey(OAuthApp, on_delete=models.CASCADE)
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    user_id = models.IntegerField()
    scopes = models.JSONField(default=list)
    expires_at = models.FloatField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    # For access tokens: the refresh token they were issued with (revocation does not touch them).
    refresh_token = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.kind} token {self.token[:12]}..."


class PropertyDefinition(models.Model):
    """A property of an object type in a portal; ``definition`` is HubSpot's Property JSON."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    object_type = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    definition = models.JSONField()
    required = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "object_type", "name"], name="sandbox_property_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type}.{self.name}"


class AssociationLabel(models.Model):
    """An association type from one object type to another (https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide)."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    from_object_type = models.CharField(max_length=20)
    to_object_type = models.CharField(max_length=20)
    category = models.CharField(max_length=30)
    type_id = models.IntegerField()
    # HubSpot answers label null for the unlabeled default association type.
    label = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001

    def __str__(self) -> str:
        return f"{self.from_object_type}->{self.to_object_type} {self.category} {self.type_id}"


class Pipeline(models.Model):
    """A pipeline of an object type; ``stages`` is a list of HubSpot PipelineStage JSON."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    object_type = models.CharField(max_length=20)
    pipeline_id = models.CharField(max_length=50)
    label = models.CharField(max_length=200)
    display_order = models.IntegerField(default=0)
    stages = models.JSONField(default=list)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.object_type} pipeline {self.label}"


class CrmRecord(models.Model):
    """A CRM record (contact 0-1, company 0-2, deal 0-3, appointment 0-421).

    ``properties`` holds HubSpot's string values; ``associations`` a list of
    ``{"toObjectTypeId", "toObjectId", "associationCategory", "associationTypeId"}``.
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    object_type = models.CharField(max_length=20)
    record_id = models.CharField(max_length=30)
    properties = models.JSONField(default=dict)
    associations = models.JSONField(default=list)
    object_write_trace_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    archived = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "object_type", "record_id"], name="sandbox_record_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.record_id}"


class JournalEntry(models.Model):
    """One call the sandbox received: method, path, bodies, status, timing (SANDBOX.md, Journal).

    The bodies are empty when ``Switches.journal_mode`` is "summary"; their sizes are always kept.
    """

    portal = models.ForeignKey(Portal, null=True, blank=True, on_delete=models.SET_NULL)
    correlation_id = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    path = models.TextField()
    query = models.TextField(blank=True, default="")
    request_body = models.TextField(blank=True, default="")
    status = models.IntegerField(null=True)
    response_body = models.TextField(blank=True, default="")
    request_bytes = models.PositiveIntegerField(default=0)
    response_bytes = models.PositiveIntegerField(default=0)
    duration_ms = models.FloatField(default=0.0)
    received_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name_plural = "journal entries"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


class RateCall(models.Model):
    """One counted API call, for the rolling windows (a DB table so processes agree)."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=100)
    policy = models.CharField(max_length=30)
    at = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["portal", "policy", "client_id", "at"])]

    def __str__(self) -> str:
        return f"{self.policy} call at {self.at}"


class DailyUsage(models.Model):
    """Calls counted per portal, app and UTC day, for the DAILY limit."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=100)
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "client_id", "day"], name="sandbox_daily_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.calls} calls"


class UniqueValue(models.Model):
    """A value taken for a unique-value property (``hasUniqueValue``), indexed by its SHA-256.

    A table rather than a query over the records' JSON, so the check stays one indexed lookup
    however many appointments a benchmark has created.
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    object_type = models.CharField(max_length=20)
    property = models.CharField(max_length=100)
    value_hash = models.CharField(max_length=64)
    record_id = models.CharField(max_length=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "object_type", "property", "value_hash"],
                name="sandbox_unique_value",
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type}.{self.property} of {self.record_id}"


class Owner(models.Model):
    """A HubSpot owner (a user who can own records), as the owners API lists them.

    ``owner_id`` is what ``hubspot_owner_id`` holds; ``user_id`` is the user's own ID;
    ``archived`` owners are deactivated users, listed only with ``archived=true``
    (https://developers.hubspot.com/docs/api-reference/latest/crm/owners/guide).
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE)
    owner_id = models.CharField(max_length=30)
    user_id = models.BigIntegerField()
    email = models.CharField(max_length=200)
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["portal", "owner_id"], name="sandbox_owner_unique")
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"owner {self.owner_id} ({self.email})"
