"""What the journal page may show: a call's path, query and body with every OAuth secret
(client secret, authorization code, PKCE verifier, access and refresh tokens) replaced by a
mark, so the demo's unauthenticated page never hands out a working credential.

The journal itself keeps the bodies as they went over the wire (tests read them); only the
page masks. The names are HubSpot's OAuth parameters
(https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

MASK = "********"
SECRET_NAMES = frozenset(
    {"client_secret", "code", "code_verifier", "refresh_token", "access_token", "token"}
)
# The v1 endpoints that carry a token in the path (metadata and revocation).
_TOKEN_IN_PATH = re.compile(r"^(/oauth/v1/(?:access|refresh)-tokens/)[^/]+")


def mask_path(path: str) -> str:
    """``path`` with a token in it (``/oauth/v1/refresh-tokens/<token>``) masked."""
    return _TOKEN_IN_PATH.sub(lambda m: m.group(1) + MASK, path)


def mask_query(query: str) -> str:
    """A form-encoded query or body with the values of ``SECRET_NAMES`` masked."""
    if "=" not in query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, MASK if k in SECRET_NAMES else v) for k, v in pairs], safe="*")


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_NAMES else _mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(item) for item in value]
    return value


def mask_body(body: str) -> str:
    """A request body (JSON or form-encoded) with its secrets masked; other text unchanged."""
    text = body.strip()
    if text.startswith(("{", "[")):
        try:
            return json.dumps(_mask_json(json.loads(text)), ensure_ascii=False)
        except ValueError:
            return body
    return mask_query(body)
