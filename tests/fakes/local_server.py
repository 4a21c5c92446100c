"""An ASGI app served by uvicorn on 127.0.0.1 at a free port, inside the test's event loop:
the transport of the provider fakes."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    """uvicorn tuned for tests: no signal handlers (the test runner keeps Ctrl-C), and a stop
    that takes milliseconds instead of uvicorn's 0.1 s ticks and fixed 0.1 s grace sleep."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_requested = asyncio.Event()

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the Date header once
        await self.exit_requested.wait()

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        for server in self.servers:
            server.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 2)
        # uvicorn's state has nothing to await: poll it briefly
        while (state.connections or state.tasks) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        for task in list(state.tasks):
            task.cancel()


class LocalServer:
    def __init__(self, app: Any, name: str) -> None:
        self._app = app
        self._name = name
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port: int | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def connections(self) -> list[Any]:
        """uvicorn's open connections (to cut one off, as a network fault)."""
        return list(self._server.server_state.connections) if self._server else []

    async def start(self) -> int:
        """Serve at a free port as a task of the running loop; returns the port."""
        if self._server is not None:
            raise RuntimeError(f"{self._name} is already running")
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(), name=self._name)
        while not server.started:
            if task.done():
                await task
                raise RuntimeError(f"{self._name} did not start")
            await asyncio.sleep(0.005)
        self._server, self._task = server, task
        self.port = server.servers[0].sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        self._server.exit_requested.set()
        try:
            await self._task
        finally:
            self._server = self._task = None
            self.port = None
