"""Account information endpoint of the sandbox: ``GET /account-info/v3/details``.

HubSpot's "Account information API" (legacy v3, "Retrieve account details"): the portal a token
belongs to. Follows
https://developers.hubspot.com/docs/api-reference/latest/account/account-information/get-account-details
(SANDBOX.md, "Account details").
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.api import api_view
from sandbox.context import ApiContext

# Fixed account settings of every sandbox portal (a Paris-based EU account).
ACCOUNT_SETTINGS = {
    "accountType": "STANDARD",
    "timeZone": "Europe/Paris",
    "companyCurrency": "EUR",
    "additionalCurrencies": [],
    "utcOffset": "+01:00",
    "utcOffsetMilliseconds": 3_600_000,
    "uiDomain": "app.hubspot.com",
    "dataHostingLocation": "eu1",
}


@api_view(scopes_any=())
def account_details(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``GET /account-info/v3/details``: ``{"portalId": <hub id>, "accountType", "timeZone",
    "companyCurrency", "additionalCurrencies", "utcOffset", "utcOffsetMilliseconds", "uiDomain",
    "dataHostingLocation"}`` for any valid token (no scope needed); 401 as every API call for
    an unknown or expired token (``sandbox.api``)."""
    assert ctx.portal is not None
    return JsonResponse({"portalId": ctx.portal.hub_id, **ACCOUNT_SETTINGS})


@api_view(scopes_any=())
def account_details_beta(request: HttpRequest, ctx: ApiContext) -> HttpResponse:
    """``GET /account-info/2027-03-beta/details``: the same answer plus ``portalName``, the
    account's name (HubSpot's beta of the account information API,
    https://developers.hubspot.com/docs/api-reference/2027-03-beta/account/account-information/guide)."""
    assert ctx.portal is not None
    return JsonResponse(
        {"portalId": ctx.portal.hub_id, "portalName": ctx.portal.name, **ACCOUNT_SETTINGS}
    )
