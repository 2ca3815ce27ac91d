"""An aiohttp transport for python-telegram-bot: the bot's replies, its long poll and the push
fan-out (the bot's, `newsbot push`).

PTB ships only an httpx transport; aiohttp's C-accelerated client spends about a quarter of
the CPU per request, which is most of the push's budget per delivered message and a large
part of a short reply's.
"""

from __future__ import annotations

import asyncio

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_TimeoutArg = float | None | object
CONNECTIONS = 4
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


class AiohttpRequest(BaseRequest):
    def __init__(self, connections: int = CONNECTIONS) -> None:
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections)
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _seconds(self, value: _TimeoutArg, default: float) -> float | None:
        if value is BaseRequest.DEFAULT_NONE:
            return default
        return value if isinstance(value, float | int) else None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: _TimeoutArg = BaseRequest.DEFAULT_NONE,
        write_timeout: _TimeoutArg = BaseRequest.DEFAULT_NONE,
        connect_timeout: _TimeoutArg = BaseRequest.DEFAULT_NONE,
        pool_timeout: _TimeoutArg = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        await self.initialize()
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(
            sock_connect=self._seconds(connect_timeout, CONNECT_TIMEOUT),
            sock_read=self._seconds(read_timeout, READ_TIMEOUT),
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    if request_data is None:
        return None
    if not request_data.contains_files:
        return request_data.json_parameters
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content, mimetype = part if len(part) == 3 else (part[0], part[1], None)
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
