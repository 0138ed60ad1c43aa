"""Account information endpoint of the sandbox: ``GET /account-info/v3/details``.

HubSpot's "Account information API" (legacy v3, "Retrieve account details"): the portal a token
belongs to. It has no OpenAPI file in ../shared/hubspot/spec/, so its answer is contract-exempt
(SANDBOX.md, "Account details").
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.api import ApiContext, api_view

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
    ctx.contract_exempt = "no OpenAPI file for the account information API in spec/"
    return JsonResponse({"portalId": ctx.portal.hub_id, **ACCOUNT_SETTINGS})
