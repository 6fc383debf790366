"""`navbat serve`: collect static files and run the clinic's web server (gunicorn) on a local port, with a
notification worker (`navbat worker`) beside it unless told not to.

Both run as child processes of this one: when the server stops (Ctrl+C, SIGTERM, or it dies), the worker
is stopped too, and the other way round the server keeps serving if the worker dies (messages wait in the
outbox for the next worker). Production runs its workers separately and passes --no-worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

STOP_SECONDS = 15


class Command(BaseCommand):
    help = "Serve navbat with gunicorn (static files through whitenoise), and a notification worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start a notification worker (run `navbat worker` separately)",
        )

    def handle(
        self, *args: Any, host: str, port: int, workers: int, threads: int, no_worker: bool, **options: Any
    ) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        worker = None if no_worker else subprocess.Popen([sys.executable, "-m", "navbat.cli", "worker"])
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "navbat.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--log-level",
                "warning",
            ]
        )
        children = [child for child in (server, worker) if child is not None]

        def forward(signum: int, frame: FrameType | None) -> None:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        self.stdout.write(
            self.style.SUCCESS(f"navbat is serving on http://{host}:{port}/  (Ctrl+C stops it)")
            + ("" if no_worker else "\n" + "with a notification worker (messages go out in the background)")
        )
        self.stdout.flush()
        try:
            code = _wait(server)
        finally:
            if worker is not None:
                _stop(worker)
        sys.exit(code)


def _wait(process: subprocess.Popen[bytes]) -> int:
    """The server's exit code; Ctrl+C reached it too (one process group), so wait for it to finish."""
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
