"""The Content-Security-Policy of the sandbox's own HTML pages (consent, settings, journal).

Where the sandbox is served beside the app in one process (tests), the app's strict policy
would apply to them; these pages keep their small inline stylesheet, and nothing else inline.
"""

from django.utils.csp import CSP
from django.views.decorators.csp import csp_override

sandbox_page = csp_override(
    {
        "default-src": [CSP.SELF],
        "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
        "frame-ancestors": [CSP.NONE],
    }
)
