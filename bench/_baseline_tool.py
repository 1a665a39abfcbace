"""The benchmark's baseline: a minimal tool that only runs pylti1p3's own login and launch.

No database, no tenants, no landing page beyond echoing the name: the cost of
validating a launch with the library alone. Its key set is fetched once per process
(pylti1p3's public-key caching), the most favourable set-up for the baseline.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.launch_data_storage.cache import CacheDataStorage
from pylti1p3.tool_config import ToolConfDict

ISSUER = os.environ["BENCH_LMS_ISSUER"]
TOOL_URL = os.environ["BENCH_TOOL_URL"]
_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = _key.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
PUBLIC_PEM = (
    _key.public_key()
    .public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    .decode()
)

CONF = ToolConfDict(
    {
        ISSUER: [
            {
                "default": True,
                "client_id": os.environ["BENCH_CLIENT_ID"],
                "auth_login_url": ISSUER + "/auth",
                "auth_token_url": ISSUER + "/token",
                "key_set_url": ISSUER + "/jwks",
                "deployment_ids": [os.environ["BENCH_DEPLOYMENT_ID"]],
            }
        ]
    }
)
CONF.set_public_key(ISSUER, PUBLIC_PEM, client_id=os.environ["BENCH_CLIENT_ID"])
CONF.set_private_key(ISSUER, PRIVATE_PEM, client_id=os.environ["BENCH_CLIENT_ID"])


class _ProcessCache:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any, exp: int | None = None) -> None:
        self.values[key] = value


class _KeyCache(CacheDataStorage[Any]):
    _cache = _ProcessCache()


app = Flask(__name__)
app.secret_key = os.environ["PATHWISE_SECRET_KEY"]


@app.get("/healthz")
def healthz() -> str:
    return "ok"


@app.route("/login", methods=["GET", "POST"])
def login() -> Any:
    oidc = FlaskOIDCLogin(FlaskRequest(), CONF)
    return oidc.redirect(TOOL_URL + "/launch")


@app.post("/launch")
def launch() -> Any:
    message_launch = FlaskMessageLaunch(FlaskRequest(), CONF)
    message_launch.set_public_key_caching(_KeyCache(), cache_lifetime=7200)
    data = message_launch.validate().get_launch_data()
    return f"<p>Hello {data.get('name', '')}</p>"
