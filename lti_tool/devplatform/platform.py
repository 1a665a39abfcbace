"""Development LMS (core): the whole platform, one object a test or the demo drives.

It plays an LMS for real: its own RSA key and JWKS, OIDC authorisation with
Moodle's exact-redirect rule, signed id_tokens, an OAuth2 token endpoint that
verifies the tool's client assertion against the tool's JWKS, AGS and NRPS
endpoints that enforce Moodle's rules, and a Deep Linking return that verifies
the tool's signed response. It reaches the tool only over HTTP and LTI, so a
test against it exercises the tool as an LMS would. Its state lives in memory:
it stands in for someone else's LMS and is not part of the product.
"""

from __future__ import annotations

from lti_tool.devplatform.deep_linking import DeepLinkReturns
from lti_tool.devplatform.oauth import AccessTokens
from lti_tool.devplatform.oidc import OidcLaunches
from lti_tool.devplatform.services import LtiServices


class DevPlatform(OidcLaunches, AccessTokens, LtiServices, DeepLinkReturns):
    """An LTI 1.3 platform with in-memory state; thread-safe for a threaded HTTP server.

    Each base class is one thing an LMS does, all over the state of PlatformState
    (see its constructor for the arguments).
    """
