"""The deploy files validate: compose (docker-compose config), Kubernetes schemas, systemd units."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.functional
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_compose_file_is_valid(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is missing: it is in deploy/debian-packages.txt (bin/bootstrap)")
    work = tmp_path / "compose"
    shutil.copytree(DEPLOY / "compose", work)
    (work / ".env").write_text((work / "env.example").read_text())
    done = subprocess.run([compose, "-f", str(work / "docker-compose.yml"), "config"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert {"nats", "postgres", "influxdb", "ingest", "poller", "web", "grafana"} <= set(services)
    assert services["poller"]["environment"]["TRUCBAN_CLUSTER_URL"] == "nats://trucban:change-me-nats@nats:4222"
    published = {name: svc.get("ports", []) for name, svc in services.items() if svc.get("ports")}
    assert set(published) == {"web", "grafana"}, published  # NATS, PostgreSQL, InfluxDB: compose network only
    for name, ports in published.items():
        for port in ports:
            text = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published')}"
            assert text.startswith("127.0.0.1:"), f"{name} published beyond loopback: {port}"
    nats = services["nats"]
    assert nats["command"] == ["-c", "/etc/nats/trucban.conf"]
    assert nats["environment"]["TRUCBAN_NATS_PASSWORD"] == "change-me-nats"
    conf = (DEPLOY / "compose" / "nats.conf").read_text()
    assert re.search(r"authorization\s*\{[^}]*password:\s*\$TRUCBAN_NATS_PASSWORD", conf)


def test_compose_refuses_a_missing_secret(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose")
    assert compose is not None
    work = tmp_path / "compose"
    shutil.copytree(DEPLOY / "compose", work)  # no .env: the required secrets are unset
    done = subprocess.run([compose, "-f", str(work / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert re.search(r"TRUCBAN_INFLUX_TOKEN|POSTGRES_PASSWORD|TRUCBAN_NATS_PASSWORD", done.stderr)
    (work / ".env").write_text("\n".join(line for line in (work / "env.example").read_text().splitlines()
                                         if not line.startswith("TRUCBAN_NATS_PASSWORD=")))
    done = subprocess.run([compose, "-f", str(work / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode != 0 and "TRUCBAN_NATS_PASSWORD" in done.stderr


def test_kubernetes_manifests_validate() -> None:
    tool = ROOT / ".venv" / "bin" / "kubernetes-validate"
    done = subprocess.run([str(tool), "--strict", "-k", "1.30.0", str(DEPLOY / "k8s" / "trucban.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    docs = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "trucban.yaml").read_text()) if d]
    kinds = [d["kind"] for d in docs]
    assert {"StatefulSet", "Deployment", "ConfigMap", "Secret", "Service"} <= set(kinds)
    named = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    service = named["Service", "nats"]["spec"]
    assert service.get("type", "ClusterIP") == "ClusterIP" and [p["port"] for p in service["ports"]] == [4222]
    conf = named["ConfigMap", "nats-config"]["data"]["trucban.conf"]
    assert re.search(r"authorization\s*\{[^}]*password:\s*\$TRUCBAN_NATS_PASSWORD", conf)
    assert "leafnodes" not in conf
    nats = named["StatefulSet", "nats"]["spec"]["template"]["spec"]["containers"][0]
    assert nats["args"] == ["-c", "/etc/nats/trucban.conf"]
    assert nats["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "trucban-nats"
    cluster_url = named["Secret", "trucban-nats"]["stringData"]["TRUCBAN_CLUSTER_URL"]
    assert re.fullmatch(r"nats://trucban:[^@]+@nats\.trucban\.svc:4222", cluster_url)
    assert "TRUCBAN_CLUSTER_URL" not in named["ConfigMap", "trucban-config"]["data"]
    for name in ("trucban-ingest", "trucban-poller"):
        spec = named["Deployment", name]["spec"]["template"]["spec"]["containers"][0]
        assert {"name": "trucban-nats"} in [e.get("secretRef") for e in spec["envFrom"]], name


def test_kubernetes_validation_catches_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: three}\n")
    tool = ROOT / ".venv" / "bin" / "kubernetes-validate"
    done = subprocess.run([str(tool), "--strict", "-k", "1.30.0", str(bad)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").glob("*.service")))
def test_systemd_units_verify(unit: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    for path in (DEPLOY / "systemd").glob("*.service"):  # units that refer to each other are all there
        name = path.name.replace("@.service", "@1.service")
        (tmp_path / name).write_text(path.read_text().replace("/opt/trucban", str(ROOT)))
    target = tmp_path / unit.replace("@.service", "@1.service")
    env = {"PATH": "/usr/bin:/bin", "SYSTEMD_UNIT_PATH": f"{tmp_path}:"}
    done = subprocess.run([analyze, "verify", str(target)], capture_output=True, text=True, timeout=60,
                          env=env)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if target.stem.split("@")[0] in line
                and "Unknown" in line or "Failed" in line or "not executable" in line]
    assert not problems, "\n".join(problems)


def _blocks(conf: str, name: str) -> str:
    """The text of the first ``name { … }`` block (nested braces kept)."""
    start = re.search(rf"^\s*{name}\s*\{{", conf, re.M)
    assert start, f"no {name} block"
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(conf[i], 0)
        i += 1
    return conf[start.end():i - 1]


def _active(conf: str) -> str:
    """The config without comments."""
    return "\n".join(line.split("#", 1)[0] for line in conf.splitlines())


def test_nats_hub_config_requires_auth_and_leaf_tls() -> None:
    conf = _active((DEPLOY / "nats-hub.conf").read_text())
    auth = _blocks(conf, "authorization")
    assert re.search(r"password:\s*\$TRUCBAN_NATS_PASSWORD\b", auth)  # from the environment, not the file
    assert "no_auth_user" not in conf
    leaf = _blocks(conf, "leafnodes")
    tls = _blocks(leaf, "tls")
    assert "cert_file" in tls and "key_file" in tls
    assert re.search(r"password:\s*\$TRUCBAN_NATS_LEAF_PASSWORD\b", _blocks(leaf, "authorization"))


def test_nats_leaf_config_uses_tls_and_a_secret_url() -> None:
    conf = _active((DEPLOY / "nats-leaf.conf").read_text())
    assert re.search(r"^listen:\s*127\.0\.0\.1:", conf, re.M)
    remotes = _blocks(conf, "leafnodes")
    assert re.search(r"url:\s*\$TRUCBAN_NATS_LEAF_URL\b", remotes)
    assert "ca_file" in _blocks(remotes, "tls")


def test_systemd_nats_units_read_their_secrets_from_the_environment() -> None:
    hub = (DEPLOY / "systemd" / "nats-hub.service").read_text()
    assert "EnvironmentFile=/etc/trucban/nats-hub.env" in hub  # no leading '-': missing file, no start
    assert "nats-hub.conf" in hub
    leaf = (DEPLOY / "systemd" / "nats-leaf.service").read_text()
    assert "EnvironmentFile=/etc/trucban/nats-leaf.env" in leaf
    for unit in ("trucban-ingest.service", "trucban-poller@.service"):
        assert "nats-hub.service" in (DEPLOY / "systemd" / unit).read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nats-server did not listen on {port}: {log.read_text()}")


class NatsHub:
    """The shipped hub config on loopback (paths and ports moved to a temp dir), and an edge leaf node."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port, self.leaf_port, self.edge_port = _free_port(), _free_port(), _free_port()
        self.password, self.leaf_password = "hub-" + os.urandom(8).hex(), "leaf-" + os.urandom(8).hex()

    def start(self, conf: str, env: dict[str, str], port: int, name: str) -> subprocess.Popen[bytes]:
        path = self.root / f"{name}.conf"
        path.write_text(conf)
        log = self.root / f"{name}.log"
        proc = subprocess.Popen(["nats-server", "-c", str(path), "-l", str(log)],
                                env={"PATH": "/usr/bin:/bin:/usr/sbin", **env})
        self.procs.append(proc)
        log.touch()
        _wait_port(port, proc, log)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture()
def nats_hub(tmp_path: Path) -> Iterator[NatsHub]:
    if shutil.which("nats-server") is None:
        pytest.skip("nats-server not installed")
    openssl = shutil.which("openssl")
    assert openssl is not None
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(tmp_path / "hub.key"), "-out", str(tmp_path / "hub.crt"),
                    "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    hub = NatsHub(tmp_path)
    conf = (DEPLOY / "nats-hub.conf").read_text()
    conf = conf.replace("0.0.0.0:4222", f"127.0.0.1:{hub.port}")
    conf = conf.replace("0.0.0.0:7422", f"127.0.0.1:{hub.leaf_port}")
    conf = conf.replace("/var/lib/nats/jetstream", str(tmp_path / "js")).replace("/etc/nats/", f"{tmp_path}/")
    assert f"127.0.0.1:{hub.port}" in conf and f"127.0.0.1:{hub.leaf_port}" in conf
    try:
        secrets = {"TRUCBAN_NATS_PASSWORD": hub.password, "TRUCBAN_NATS_LEAF_PASSWORD": hub.leaf_password}
        hub.start(conf, secrets, hub.port, "hub")
        yield hub
    finally:
        hub.stop()


async def _connect(url: str) -> str:
    import nats

    try:
        nc = await nats.connect(url, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0)
    except Exception as exc:  # noqa: BLE001 - any refusal is what the test looks for
        return f"refused: {exc}"
    await nc.close()
    return "connected"


def test_nats_hub_refuses_strangers(nats_hub: NatsHub) -> None:
    base = f"127.0.0.1:{nats_hub.port}"
    assert asyncio.run(_connect(f"nats://{base}")).startswith("refused")
    assert asyncio.run(_connect(f"nats://trucban:wrong@{base}")).startswith("refused")
    # the cluster code's nats.connect(url) takes the credentials from the URL (TRUCBAN_CLUSTER_URL)
    assert asyncio.run(_connect(f"nats://trucban:{nats_hub.password}@{base}")) == "connected"


def test_edge_leaf_reaches_the_hub_over_tls_with_its_password(nats_hub: NatsHub) -> None:
    conf = (DEPLOY / "nats-leaf.conf").read_text()
    conf = conf.replace("127.0.0.1:4222", f"127.0.0.1:{nats_hub.edge_port}")
    conf = conf.replace("/var/lib/trucban/nats", str(nats_hub.root / "edge-js"))
    conf = conf.replace("/etc/trucban/nats-hub-ca.crt", str(nats_hub.root / "hub.crt"))
    url = f"nats-leaf://leaf:{nats_hub.leaf_password}@localhost:{nats_hub.leaf_port}"
    nats_hub.start(conf, {"TRUCBAN_NATS_LEAF_URL": url}, nats_hub.edge_port, "edge")

    async def relayed() -> bool:
        import nats

        hub = await nats.connect(f"nats://trucban:{nats_hub.password}@127.0.0.1:{nats_hub.port}")
        edge = await nats.connect(f"nats://127.0.0.1:{nats_hub.edge_port}")
        try:
            sub = await hub.subscribe("trucban.test")
            await hub.flush()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the leaf link comes up within a second or two
                await edge.publish("trucban.test", b"edge")
                await edge.flush()
                try:
                    await sub.next_msg(timeout=0.5)
                    return True
                except Exception:  # noqa: BLE001 - not yet
                    continue
            return False
        finally:
            await hub.close()
            await edge.close()

    assert asyncio.run(relayed()), (nats_hub.root / "edge.log").read_text()[-2000:]
