"""Shared infrastructure: the one guarded HTTP client for every outbound fetch.

Dynamic Registration, platform key sets and LRS connections all fetch URLs that
someone outside the install typed in (an LMS's configuration, an admin's LRS
endpoint). In production such a URL must not reach the install's own network:
loopback, private (RFC 1918/4193), link-local (cloud metadata), shared, multicast,
reserved and unspecified addresses are refused unless an operator names the host in
``PATHWISE_OUTBOUND_ALLOW_HOSTS``. The check runs where the socket is opened, on the
address actually connected to, so a DNS answer that changes between check and
connect (rebinding) and a redirect to an internal host are both caught. Answers are
read up to a size cap, with timeouts, and errors never carry the remote body.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util import connection as urllib3_connection

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
ALLOW_HOSTS_SETTING = "PATHWISE_OUTBOUND_ALLOW_HOSTS"
# Cloud instance metadata services: never a legitimate LMS or LRS, in any mode.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class OutboundPolicy:
    """Which addresses an outbound fetch may reach (one per process)."""

    # Production: refuse every address that is not globally routable.
    guard_internal: bool = True
    # Hosts (exactly as written in URLs, lower case) an operator allows anyway.
    allow_hosts: frozenset[str] = frozenset()
    max_response_bytes: int = MAX_RESPONSE_BYTES

    def allows_host(self, host: str) -> bool:
        return normalise_host(host) in self.allow_hosts


class OutboundRefused(requests.RequestException):
    """An outbound fetch Pathwise will not make or finish; the message is for an admin."""


class AnswerTooLarge(OutboundRefused):
    """The answer was larger than the cap: a smaller request (a shorter page) may fit."""


class _AddressRefused(Exception):
    """Raised inside the connection; deliberately not an OSError, so urllib3 does not
    retry it or wrap it into a connection error that hides the reason."""


_policy = OutboundPolicy()


def configure_outbound(*, guard_internal: bool, allow_hosts: Iterable[str]) -> None:
    """Set the process-wide policy (the composition root calls this at start-up).

    Until then every internal address is refused: a process that forgot to say
    it is a development one fails closed.
    """
    global _policy
    _policy = OutboundPolicy(
        guard_internal=guard_internal,
        allow_hosts=frozenset(normalise_host(h) for h in allow_hosts if h.strip()),
    )


def current_policy() -> OutboundPolicy:
    return _policy


def normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def refusal_reason(address: IPAddress, policy: OutboundPolicy) -> str | None:
    """Why this address may not be reached, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return refusal_reason(address.ipv4_mapped, policy)
        if address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            return refusal_reason(embedded, policy)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if not policy.guard_internal:
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private or not address.is_global:
        return "a private or reserved address"
    return None


def _refused_message(host: str, address: str, reason: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return (
        f"{shown} resolves to {reason} ({address}); Pathwise does not fetch "
        f"internal addresses in production. An operator can allow this host with "
        f"{ALLOW_HOSTS_SETTING}={shown}."
    )


class _GuardedConnectionMixin:
    """Resolve, check every address, then connect to a checked one (no second lookup)."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    outbound_policy: OutboundPolicy = OutboundPolicy()

    def _new_conn(self) -> socket.socket:
        policy = self.outbound_policy
        host = normalise_host(self.host)
        try:
            infos = socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not policy.allows_host(host):
            for text in addresses:
                reason = refusal_reason(
                    ipaddress.ip_address(text.split("%")[0]), policy
                )
                if reason is not None:
                    # One internal answer is enough: a round-robin name must not
                    # reach the network on the unlucky tries.
                    raise _AddressRefused(_refused_message(host, text, reason))
        problem: OSError | None = None
        for text in addresses:
            try:
                return urllib3_connection.create_connection(
                    (text, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out."
                ) from exc
            except OSError as exc:
                problem = exc
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {problem}",
        )


def _adapter_for(policy: OutboundPolicy) -> HTTPAdapter:
    connection_cls = type(
        "GuardedHTTPConnection",
        (_GuardedConnectionMixin, HTTPConnection),
        {"outbound_policy": policy},
    )
    tls_connection_cls = type(
        "GuardedHTTPSConnection",
        (_GuardedConnectionMixin, HTTPSConnection),
        {"outbound_policy": policy},
    )
    pools = {
        "http": type(
            "GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": connection_cls}
        ),
        "https": type(
            "GuardedHTTPSPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": tls_connection_cls},
        ),
    }
    return _GuardedAdapter(policy, pools)


class _GuardedAdapter(HTTPAdapter):
    """Every hop (redirects included) passes here: guarded pools, timeouts, size cap."""

    def __init__(self, policy: OutboundPolicy, pools: Mapping[str, type]) -> None:
        self._policy = policy
        self._pools = dict(pools)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        url = request.url or ""
        if urlsplit(url).scheme not in {"http", "https"}:
            raise OutboundRefused("Only http and https URLs are fetched.")
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
        kwargs["stream"] = True
        try:
            response = super().send(request, **kwargs)
        except _AddressRefused as exc:
            # Not logged here: the caller's refusal (launch, registration, sync) is
            # the one log line, and it carries this message.
            raise OutboundRefused(str(exc), request=request) from None
        _read_capped(response, self._policy.max_response_bytes)
        return response


def _read_capped(response: requests.Response, cap: int) -> None:
    """Read the body now, refusing one larger than ``cap`` (declared or actual)."""
    host = urlsplit(response.url or "").hostname or "the server"
    declared = response.headers.get("Content-Length", "")
    too_big = AnswerTooLarge(
        f"{host} answered with more than {cap // 1024} KiB; Pathwise stopped reading."
    )
    if declared.isdigit() and int(declared) > cap:
        response.close()
        raise too_big
    body = bytearray()
    try:
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > cap:
                raise too_big
    finally:
        response.close()
    # What Response.content does itself once it has read the stream.
    response._content = bytes(body)
    response._content_consumed = True  # type: ignore[attr-defined]


class GuardedSession(requests.Session):
    """A ``requests.Session`` whose every connection follows the outbound policy.

    Proxies from the environment are ignored: through a proxy the checked address
    would be the proxy's, not the server's.
    """

    def __init__(self, policy: OutboundPolicy | None = None) -> None:
        super().__init__()
        self.max_redirects = MAX_REDIRECTS
        adapter = _adapter_for(policy or current_policy())
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["proxies"] = {}
        return merged


def outbound_session() -> GuardedSession:
    """A new guarded session under the process-wide policy."""
    return GuardedSession()


def describe_failure(url: str, exc: BaseException) -> str:
    """A readable reason for a failed fetch that never repeats what the server said."""
    host = urlsplit(url).netloc or url
    if isinstance(exc, OutboundRefused):
        return str(exc)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"{host} answered {exc.response.status_code}."
    if isinstance(exc, requests.Timeout):
        return f"{host} did not answer in time."
    if isinstance(exc, requests.ConnectionError):
        return f"{host} could not be reached."
    if isinstance(exc, ValueError):
        return f"{host} did not answer with JSON."
    return f"{host} could not be fetched."
