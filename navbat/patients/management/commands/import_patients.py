"""`navbat import_patients FILE --clinic ID`: check (and with --commit, import) a patient list.

A dry run unless --commit. The rejected rows go to --report as CSV: row number, reason code, message —
nothing of the rows' data, so the report can be mailed to whoever corrects the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.utils import translation
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from navbat.accounts.audit import Actor
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients.importing import ImportReport, import_patients, read_rows, write_rejections_csv

# How many rejected rows the console lists; the report file has them all.
SHOWN_REJECTIONS = 20


class Command(BaseCommand):
    help = "Import patients from a CSV or XLSX file into a clinic's registry. A dry run unless --commit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV or XLSX file")
        parser.add_argument("--clinic", type=int, required=True, help="the id of the clinic")
        parser.add_argument("--commit", action="store_true", help="write the patients (default: dry run)")
        parser.add_argument(
            "--skip-rejected", action="store_true", help="import the good rows even if some are rejected"
        )
        parser.add_argument("--report", type=Path, help="write the rejected rows to this CSV file")
        parser.add_argument("--by", metavar="USERNAME", help="the staff member the audit log names")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="the language of the messages",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"]):
            self.run(options)

    def run(self, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        clinic = Clinic.objects.filter(pk=options["clinic"]).first()
        if clinic is None:
            raise CommandError(_("There is no clinic with the id %(id)s.") % {"id": options["clinic"]})
        actor = Actor(user=self.user(options["by"]), path="navbat import_patients")
        try:
            with path.open("rb") as file, self.progress_bar() as bar:
                task = bar.add_task(_("Checking rows") if not options["commit"] else _("Importing rows"))
                report = import_patients(
                    clinic=clinic,
                    rows=read_rows(file, path.name),
                    actor=actor,
                    dry_run=not options["commit"],
                    skip_rejected=options["skip_rejected"],
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        except OSError as error:
            raise CommandError(_("Cannot read the file: %(error)s") % {"error": error.strerror}) from None
        except DomainError as error:
            raise CommandError(str(error.message)) from None
        self.print_report(report, Path(options["report"]) if options["report"] else None)
        if not report.dry_run and not report.committed:
            raise CommandError(_("Nothing was imported."))

    def user(self, username: str | None) -> User | None:
        if not username:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("There is no user %(username)s.") % {"username": username})
        return user

    def progress_bar(self) -> Progress:
        """A bar on stderr, so that stdout keeps only the summary (and stays readable when redirected)."""
        console = Console(file=cast(IO[str], _Unwrapped(self.stderr)), stderr=True)
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )

    def print_report(self, report: ImportReport, report_path: Path | None) -> None:
        style = self.style.SUCCESS if report.committed or not report.rejected else self.style.WARNING
        self.stdout.write(style(report.summary()))
        if report.unknown_columns:
            self.stdout.write(
                _("These columns were not recognised and were ignored: %(columns)s")
                % {"columns": ", ".join(report.unknown_columns)}
            )
        for outcome in report.rejected[:SHOWN_REJECTIONS]:
            self.stdout.write(
                _("Row %(row)d: %(reason)s — %(message)s")
                % {"row": outcome.row, "reason": outcome.reason, "message": outcome.message}
            )
        hidden = len(report.rejected) - SHOWN_REJECTIONS
        if hidden > 0:
            self.stdout.write(_("… and %(count)d more rejected rows.") % {"count": hidden})
        if report_path is not None:
            # With a BOM, so that Excel opens the file as UTF-8 and the messages keep their letters.
            with report_path.open("w", encoding="utf-8-sig", newline="") as out:
                write_rejections_csv(report, out)
            self.stdout.write(_("The rejected rows are listed in %(path)s.") % {"path": report_path})


class _Unwrapped:
    """Django's OutputWrapper adds a newline to every write; rich writes pieces of lines."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> int:
        self.wrapper.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()
