"""A TCP proxy in front of a real server that a test can close and open again, as a network
partition or a database failover looks to the process behind it."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class TcpProxy:
    target_port: int
    target_host: str = "127.0.0.1"
    port: int = 0
    _server: asyncio.Server | None = None
    _links: set[asyncio.StreamWriter] = field(default_factory=set)

    async def open(self) -> None:
        """Listen (on the same port as before, once it has one) and forward connections."""
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Refuse new connections and cut every open one, mid-query if need be."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _link(self, client_reader: asyncio.StreamReader,
                    client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(self.target_host,
                                                                         self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._links |= {client_writer, server_writer}
        await asyncio.gather(_pipe(client_reader, server_writer),
                             _pipe(server_reader, client_writer))
        self._links -= {client_writer, server_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()
