"""The `navbat` console script, as `make demo` runs it: migrate, demo, serve, worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from navbat.cli import main
from navbat.clinic.models import Clinic

NAVBAT = [sys.executable, "-m", "navbat.cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db
def test_demo_builds_once_and_prints_the_staff_logins(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo")
    call_command("demo")

    out = capsys.readouterr().out
    assert Clinic.objects.count() == 1
    assert "Built the demo clinic" in out
    assert "already has a clinic" in out
    assert "registrar" in out and "operator" in out and "navbat-demo" in out
    assert out.count("Authorization: Bearer nbt_") == 2  # a token for the demo operator, each run


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_batch_and_exits() -> None:
    main(["navbat", "worker", "--batch", "--no-startup-delay", "--verbosity", "0"])


def test_a_fresh_install_migrates_builds_the_demo_and_serves_it(tmp_path: Path) -> None:
    """The steps of `make demo`, in a fresh var/ directory, until the home page answers."""
    env = {**os.environ, "NAVBAT_VAR_DIR": str(tmp_path), "DATABASE_URL": "", "PYTHONUNBUFFERED": "1"}
    subprocess.run([*NAVBAT, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=120)
    demo = subprocess.run([*NAVBAT, "demo"], env=env, check=True, timeout=120, capture_output=True, text=True)
    assert "admin" in demo.stdout and "navbat-demo" in demo.stdout

    port = _free_port()
    server = subprocess.Popen([*NAVBAT, "serve", "--port", str(port), "--workers", "1"], env=env)
    try:
        html = _wait_for(f"http://127.0.0.1:{port}/", server)
        assert "Navbat demo stomatologiya poliklinikasi" in html
        css = _wait_for(f"http://127.0.0.1:{port}/static/navbat.css", server)
        assert "--accent" in css
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server stopped"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")
