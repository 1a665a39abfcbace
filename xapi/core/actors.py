"""Pure xAPI core: the Agent we send for a learner, and keys for the actors we read.

An LTI identity (issuer, deployment, ``sub``) becomes an ``account`` Agent by default,
or an ``mbox`` one when the LRS's other tools know people by email.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

ActorMode = Literal["account", "mbox"]
ACTOR_MODES: tuple[ActorMode, ...] = ("account", "mbox")


@dataclass(frozen=True)
class Identity:
    """A learner on the LTI side: issuer, deployment, ``sub`` (plus email, name)."""

    issuer: str
    deployment_id: str
    sub: str
    email: str | None = None
    name: str = ""


def account_home_page(
    issuer: str,
    deployment_id: str,
    *,
    include_deployment: bool = False,
    override: str | None = None,
) -> str:
    """The ``account.homePage`` for an LTI identity.

    Default: the issuer. When one issuer serves several tenants (Canvas cloud), the
    deployment is appended as a path segment so the same ``sub`` cannot collide.
    """
    if override:
        return override
    if not include_deployment:
        return issuer
    return f"{issuer.rstrip('/')}/deployments/{quote(deployment_id, safe='')}"


def build_actor(
    identity: Identity,
    *,
    mode: ActorMode = "account",
    include_deployment: bool = False,
    home_page: str | None = None,
) -> dict[str, Any]:
    """The xAPI Agent for a learner; mbox mode falls back to account sans email."""
    actor: dict[str, Any] = {"objectType": "Agent"}
    if identity.name:
        actor["name"] = identity.name
    if mode == "mbox" and identity.email:
        actor["mbox"] = "mailto:" + identity.email.strip().lower()
        return actor
    actor["account"] = {
        "homePage": account_home_page(
            identity.issuer,
            identity.deployment_id,
            include_deployment=include_deployment,
            override=home_page,
        ),
        "name": identity.sub,
    }
    return actor


def actor_key(actor: Any) -> str | None:
    """A stable lookup key for an incoming statement's actor, or None without an IFI."""
    if not isinstance(actor, dict):
        return None
    account = actor.get("account")
    if isinstance(account, dict):
        home, name = account.get("homePage"), account.get("name")
        if isinstance(home, str) and isinstance(name, str) and home and name:
            return f"account:{home}|{name}"
        return None
    mbox = actor.get("mbox")
    if isinstance(mbox, str) and mbox:
        return "mbox:" + mbox.strip().lower()
    sha = actor.get("mbox_sha1sum")
    if isinstance(sha, str) and sha:
        return "sha1:" + sha.strip().lower()
    openid = actor.get("openid")
    if isinstance(openid, str) and openid:
        return "openid:" + openid
    return None


def actor_filter(key: str) -> dict[str, Any]:
    """The ``agent`` query parameter (a dict) selecting an actor key's statements."""
    kind, _, value = key.partition(":")
    if kind == "account":
        home, _, name = value.partition("|")
        return {"objectType": "Agent", "account": {"homePage": home, "name": name}}
    if kind == "mbox":
        return {"objectType": "Agent", "mbox": value}
    if kind == "sha1":
        return {"objectType": "Agent", "mbox_sha1sum": value}
    return {"objectType": "Agent", "openid": value}
