"""`navbat serve`: collect static files and run the clinic's web server (gunicorn) on a local port."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve navbat with gunicorn (static files through whitenoise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")

    def handle(self, *args: Any, host: str, port: int, workers: int, threads: int, **options: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(
            self.style.SUCCESS(f"navbat is serving on http://{host}:{port}/  (Ctrl+C stops it)")
        )
        self.stdout.flush()
        # exec: gunicorn takes over this process, so Ctrl+C and signals reach it directly.
        os.execv(
            sys.executable,
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
            ],
        )
