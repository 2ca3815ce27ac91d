"""What a source may be: local paths only under the allowed roots, URLs only to public hosts.

Every source is untrusted input (an admin's chat message can be forwarded or mistyped), so a
path is resolved through its symlinks before it is compared with the roots, and a host is
checked at the moment of connecting: the HTTP client resolves each name itself, refuses when
any address of it is loopback, private, link-local (cloud metadata), multicast, reserved or
otherwise not global, and connects to the very address it checked. That covers every
redirect hop and leaves nothing for DNS rebinding to swap in between check and connect.
Messages name the path or host, never anything read from a file.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


class SourceRefused(ValueError):
    """A source this bot will not read; `reason` names the rule for translated replies."""

    def __init__(self, reason: str, message: str, values: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.values = values or {}


def blocked_reason(address: Address) -> str | None:
    """Why connecting to `address` is refused, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or address.is_unspecified or not address.is_global:
        return "a reserved or non-public address"
    return None


def refuse_address(host: str, address: str, reason: str) -> SourceRefused:
    return SourceRefused(
        "private_address",
        f"refused: {host} is {reason} ({address}); "
        "set NEWSBOT_ALLOW_PRIVATE_SOURCES=true to allow it",
        {"host": host, "address": address},
    )


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def public_addresses(host: str, port: int, resolve: Resolver = system_resolve) -> list[str]:
    """The addresses of `host`, all checked; raises SourceRefused when any is not public."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            found = await resolve(host, port)
        except OSError as exc:
            raise SourceRefused(
                "unresolvable", f"cannot resolve the host {host}: {exc}", {"host": host}
            ) from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    if not addresses:
        raise SourceRefused("unresolvable", f"cannot resolve the host {host}", {"host": host})
    for address in addresses:
        reason = blocked_reason(address)
        if reason is not None:
            raise refuse_address(host, str(address), reason)
    return [str(a) for a in addresses]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks every host before connecting, then connects to a checked address."""

    def __init__(
        self, inner: httpcore.AsyncNetworkBackend, resolve: Resolver = system_resolve
    ) -> None:
        self.inner = inner
        self.resolve = resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        async with asyncio.timeout(timeout):
            addresses = await public_addresses(host, port, self.resolve)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise SourceRefused("scheme", "refused: unix sockets are not sources")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(
    *,
    allow_private: bool,
    resolve: Resolver = system_resolve,
    inner: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection (so every redirect hop) passes the check.

    httpx offers no public hook for httpcore's network backend, so the pool it builds is
    replaced by one built the same way with the guarded backend.
    """
    if allow_private:
        return httpx.AsyncHTTPTransport()
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(inner or httpcore.AnyIOBackend(), resolve),
    )
    return transport


def check_url(source: str) -> tuple[str, int]:
    """The host and port of an http(s) URL (after a `git+` prefix), or SourceRefused."""
    url = source.removeprefix("git+")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SourceRefused("scheme", f"refused: {source} is not an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise SourceRefused("scheme", f"refused: {source} has a bad port") from None
    return parts.hostname, port


async def check_remote(
    source: str, *, allow_private: bool, resolve: Resolver = system_resolve
) -> None:
    """Refuse a URL whose host is not public now (the client checks again on connecting)."""
    host, port = check_url(source)
    if not allow_private:
        await public_addresses(host, port, resolve)


def allowed_roots(roots: Iterable[str], configured_sources: Iterable[str]) -> list[Path]:
    """The resolved roots local sources may lie under: the setting and the configured paths."""
    found = []
    for entry in [*roots, *configured_sources]:
        if "://" in entry:
            continue
        try:
            found.append(Path(entry).expanduser().resolve(strict=True))
        except (OSError, RuntimeError):
            continue
    return found


def check_local_path(source: str, roots: Sequence[Path]) -> Path:
    """The real path of `source` (symlinks resolved) when it lies under one of `roots`."""
    try:
        real = Path(source.removeprefix("file://")).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise SourceRefused(
            "no_such_path", f"refused: {source}: no such file or folder", {"path": source}
        ) from None
    if not any(real == root or real.is_relative_to(root) for root in roots):
        raise SourceRefused(
            "outside_roots",
            f"refused: {source} is outside the folders allowed for local sources "
            "(NEWSBOT_LOCAL_SOURCE_ROOTS)",
            {"path": source},
        )
    return real


def is_remote(source: str) -> bool:
    scheme = urlsplit(source).scheme.lower()
    return len(scheme) > 1 and "://" in source and scheme != "file" and scheme != "git+file"


async def vet_source(
    source: str,
    *,
    roots: Sequence[Path],
    allow_private: bool,
    resolve: Resolver = system_resolve,
) -> str:
    """The location to store and read for a source named in chat or on the command line:
    a URL as given once its host is public, a path as its real path under the roots."""
    source = source.strip()
    if is_remote(source):
        await check_remote(source, allow_private=allow_private, resolve=resolve)
        return source
    if source.startswith("git+file://"):
        path, _, branch = source.removeprefix("git+file://").partition("#")
        real = check_local_path(path, roots)
        return f"git+file://{real}" + (f"#{branch}" if branch else "")
    return str(check_local_path(source, roots))
