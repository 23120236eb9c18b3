"""The deploy files validate: compose (docker-compose config), Kubernetes schemas, systemd units."""

from __future__ import annotations

import shutil
import subprocess
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
    assert services["poller"]["environment"]["TRUCBAN_CLUSTER_URL"] == "nats://nats:4222"


def test_compose_refuses_a_missing_secret(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose")
    assert compose is not None
    work = tmp_path / "compose"
    shutil.copytree(DEPLOY / "compose", work)  # no .env: the required secrets are unset
    done = subprocess.run([compose, "-f", str(work / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "TRUCBAN_INFLUX_TOKEN" in done.stderr or "POSTGRES_PASSWORD" in done.stderr


def test_kubernetes_manifests_validate() -> None:
    tool = ROOT / ".venv" / "bin" / "kubernetes-validate"
    done = subprocess.run([str(tool), "--strict", "-k", "1.30.0", str(DEPLOY / "k8s" / "trucban.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all((DEPLOY / "k8s" / "trucban.yaml").read_text()) if d]
    assert {"StatefulSet", "Deployment", "ConfigMap", "Secret", "Service"} <= set(kinds)


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
