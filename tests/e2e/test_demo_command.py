"""`pendamping demo` (what `make run` runs): on a fresh database it seeds the demo and
serves the console and the simulator, printing the address and a coordinator's login link
that open."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.test_inbox_crash import PENDAMPING, free_port

ADDRESS = re.compile(r"(http://127\.0\.0\.1:\d+)/simulator")
LINK = re.compile(r"http://127\.0\.0\.1:\d+/masuk/[A-Za-z0-9_-]+")


def test_pendamping_demo_serves_the_console_and_the_simulator(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PENDAMPING_CONFIG": "",
        "PENDAMPING_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'pendamping.db'}",
        "PENDAMPING_WEB_PORT": str(port),
        "PENDAMPING_WEB_SESSION_SECRET_FILE": str(tmp_path / "web_secret"),
        "PENDAMPING_MEDIA_FOLDER": str(tmp_path / "media"),
    }
    env.pop("PENDAMPING_WEB_SIMULATOR", None)  # the command turns it on itself
    process = subprocess.Popen(
        [str(PENDAMPING), "demo"], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    printed: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):
            printed.append(line.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not LINK.search("".join(printed)):
            assert process.poll() is None, "".join(printed)
            assert time.monotonic() < deadline, "".join(printed)
            time.sleep(0.1)
        output = "".join(printed)
        address = ADDRESS.search(output)
        link = LINK.search(output)
        assert address and link
        assert address.group(1) == f"http://127.0.0.1:{port}"
        simulator = None
        while time.monotonic() < deadline:
            try:
                simulator = httpx.get(f"{address.group(1)}/simulator", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert simulator is not None and simulator.status_code == 200
        assert "Ani Suryani" in simulator.text and "Dewi Lestari" in simulator.text
        login = httpx.get(link.group(0), timeout=5)
        assert login.status_code == 200
        assert "Dewi Lestari" in login.text
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
