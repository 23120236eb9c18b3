"""Real peers for the scale-out and edge tests (and ``bench.scale``): nats-server and a cuttable link.

``NatsServer`` runs ``/usr/sbin/nats-server`` as a child process on a free
loopback port with its config and JetStream store in a temp dir: a *hub*
(JetStream domain ``hub``, a leaf-node listener) or an *edge* leaf node (its
own JetStream domain, connecting to the hub); :meth:`NatsServer.restart`
kills it and starts it again on the same store. The shared server on 4222 is
never touched. ``TcpProxy`` sits between an edge and the hub so a test can cut
the WAN (close every connection, refuse new ones) and heal it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from lab.processes import stop_process

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def free_tcp_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """One nats-server with JetStream on 127.0.0.1, config and store under ``root``."""

    def __init__(self, root: Path, name: str, *, domain: str = "hub", leaf_listen: bool = True,
                 hub_leaf_url: str | None = None, max_store_mb: int = 2048) -> None:
        """Choose ports and write nothing yet; ``hub_leaf_url`` makes this an edge leaf node."""
        self.root = Path(root) / name
        self.name = name
        self.domain = domain
        self.port = free_tcp_port()
        self.leaf_port = free_tcp_port() if leaf_listen else None
        self.hub_leaf_url = hub_leaf_url
        self.leaf_advertise: str | None = None  # host:port edges are told to reconnect to
        self.max_store_mb = max_store_mb
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def config(self) -> str:
        """nats-server.conf text."""
        lines = [
            f'server_name: "{self.name}"', f"listen: 127.0.0.1:{self.port}",
            "jetstream {", f'  store_dir: "{self.root / "js"}"', f'  domain: "{self.domain}"',
            f"  max_file_store: {self.max_store_mb}MB", "  max_memory_store: 64MB", "}",
        ]
        if self.leaf_port is not None or self.hub_leaf_url:
            lines.append("leafnodes {")
            if self.leaf_port is not None:
                lines.append(f"  listen: 127.0.0.1:{self.leaf_port}")
                # edges must reach the hub only through the address they were given (a TcpProxy in
                # tests), never by the listener's own address gossiped in INFO: advertise the proxy
                if self.leaf_advertise:
                    lines.append(f'  advertise: "{self.leaf_advertise}"')
            if self.hub_leaf_url:
                lines += ["  reconnect: 1", "  remotes: [", f'    {{url: "{self.hub_leaf_url}"}}', "  ]"]
            lines.append("}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 15) -> NatsServer:
        """Run nats-server; wait until it accepts TCP connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        conf = self.root / "nats.conf"
        conf.write_text(self.config(), encoding="utf-8")
        log = open(self.root / "nats.log", "ab")  # noqa: SIM115 - owned by the child for its life
        self.proc = subprocess.Popen([NATS_SERVER, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server {self.name} exited: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server {self.name} not listening after {timeout} s: "
                                   f"{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        """Last lines of the server log."""
        try:
            text = (self.root / "nats.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the server (kill after 5 s)."""
        proc, self.proc = self.proc, None
        stop_process(proc)

    def restart(self, *, kill: bool = True, timeout: float = 60) -> float:
        """Stop the server (SIGKILL by default: no clean shutdown), start it again; seconds until it listens.

        Same ports, same config, same JetStream store dir: streams, consumers and
        key-value buckets come back from disk; clients reconnect on their own.
        """
        started = time.monotonic()
        proc, self.proc = self.proc, None
        if kill and proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        else:
            stop_process(proc)
        self.start(timeout=timeout)
        return time.monotonic() - started


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 that can cut (and later heal) the link it carries."""

    def __init__(self, target_port: int) -> None:
        """Forward a free local port to ``127.0.0.1:target_port``; call :meth:`start`."""
        self.target_port = target_port
        self.port = free_tcp_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.cut = False

    @property
    def url(self) -> str:
        """The proxied leaf-node URL."""
        return f"nats-leaf://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        """Start listening."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def set_cut(self, cut: bool) -> None:
        """Cut the link (drop every connection, refuse new ones) or heal it."""
        self.cut = cut
        if cut:
            def drop() -> None:
                for w in list(self._writers):
                    w.close()
                self._writers.clear()
            self._loop.call_soon_threadsafe(drop)

    def stop(self) -> None:
        """Stop forwarding and the proxy's thread."""
        self.set_cut(True)
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


TRUCBAN = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "trucban"


class TrucbanProcess:
    """One ``trucban poller|ingest|edge`` child process, its log in ``root``."""

    def __init__(self, root: Path, name: str, args: list[str], env: dict[str, str]) -> None:
        """Prepare; :meth:`start` runs it."""
        self.root = Path(root)
        self.name = name
        self.args = args
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where stdout/stderr go."""
        return self.root / f"{self.name}.log"

    def start(self) -> TrucbanProcess:
        """Start the process (own session, so a kill reaches only it)."""
        import os
        import sys

        self.root.mkdir(parents=True, exist_ok=True)
        exe = str(TRUCBAN) if TRUCBAN.exists() else sys.executable
        cmd = [exe, *self.args] if TRUCBAN.exists() else [exe, "-m", "trucban.cli", *self.args]
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        """True while alive."""
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL: no clean-up, leases expire by TTL."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a clean stop), SIGKILL after ``timeout``."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


async def lease_owners(url: str, bucket: str = "trucban_leases") -> dict[str, str]:
    """partition → poller id, as the lease bucket says now."""
    import nats
    from nats.js.errors import BucketNotFoundError, NoKeysError

    nc = await nats.connect(url)
    try:
        try:
            kv = await nc.jetstream().key_value(bucket)
        except BucketNotFoundError:
            return {}
        try:
            keys = await kv.keys()
        except NoKeysError:
            return {}
        out = {}
        for key in keys:
            with contextlib.suppress(Exception):
                entry = await kv.get(key)
                out[key] = (entry.value or b"").decode()
        return out
    finally:
        await nc.close()


async def consumer_pending(url: str, stream: str, consumer: str) -> int:
    """Messages the ingest has not acknowledged yet."""
    import nats

    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(stream, consumer)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    finally:
        await nc.close()
