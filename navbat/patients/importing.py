"""Importing an existing patient list (CSV or XLSX) into a clinic's registry.

Two steps:
- `read_rows` turns a file into `RawRow`s: it decodes the text (UTF-8 with or without BOM, UTF-16, or the
  cp1251 of Russian Excel exports), sniffs the delimiter, and recognises the column names in English,
  Russian and Uzbek. A file without a surname, name or birth-date column is refused before any row is read.
- `import_patients` runs every row through `register_patient` — the same rules as a registrar's form — in
  one transaction, and says for every row whether it went in or why not. A dry run, and a real run that
  found a rejected row (unless told to skip them), roll the whole transaction back: so a dry run sees the
  duplicates inside the file exactly as the real run will, and the database never holds half an import.

Messages name the rule a row breaks and the row's number, never the row's data: the report is
downloaded, mailed and kept, and must not become a second copy of the patient list.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any, TextIO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException

from navbat.accounts.audit import Actor, record
from navbat.accounts.models import AuditAction
from navbat.clinic.models import Clinic
from navbat.errors import DomainError
from navbat.patients import identifiers
from navbat.patients.errors import PatientErrorCode
from navbat.patients.models import Language, NationalIdentifier, Patient, Sex
from navbat.patients.selectors import similar_names
from navbat.patients.services import PatientData, register_patient

# What a cell can hold: text from a CSV; from an XLSX also numbers, dates, booleans.
Cell = str | int | float | bool | date | datetime | None
Progress = Callable[[int, int], None]


class ImportErrorCode(StrEnum):
    """Why a whole file is refused (before any row is looked at)."""

    BAD_FILE = "bad_file"
    EMPTY_FILE = "empty_file"
    MISSING_COLUMNS = "missing_columns"
    TOO_MANY_ROWS = "too_many_rows"


class RowStatus(StrEnum):
    OK = "ok"
    REJECTED = "rejected"


class RowReason(StrEnum):
    """Why one row is rejected: stable codes for programs and for the report file."""

    MISSING_FIELD = "missing_field"
    BAD_DATE = "bad_date"
    BAD_PHONE = "bad_phone"
    BAD_IDENTIFIER = "bad_identifier"
    IDENTIFIER_TAKEN = "identifier_taken"
    DUPLICATE = "duplicate"
    PHONE_LIMIT = "phone_limit"
    INVALID = "invalid"


# The registry fields a file may fill, under the names people give the columns (compared by `_header_key`:
# case, spaces, punctuation, apostrophes and ё/е do not matter). "full_name" is split into the first three.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "surname": ("surname", "last name", "lastname", "family name", "фамилия", "familiya", "familiyasi"),
    "name": ("name", "first name", "firstname", "given name", "имя", "ism", "ismi", "исм", "исми"),
    "patronymic": (
        "patronymic",
        "middle name",
        "отчество",
        "otasining ismi",
        "отасининг исми",
        "sharifi",
        "шарифи",
    ),
    "full_name": ("full name", "фио", "ф и о", "fish", "f i sh", "фиш", "ф и ш"),
    "birth_date": (
        "birth date",
        "date of birth",
        "birthdate",
        "dob",
        "дата рождения",
        "tugilgan sana",
        "tugilgan sanasi",
        "tugilgan kun",
        "tugilgan kuni",
        "туғилган сана",
        "туғилган санаси",
    ),
    "sex": ("sex", "gender", "пол", "jinsi", "jins", "жинси", "жинс"),
    "phone": (
        "phone",
        "phone number",
        "telephone",
        "mobile",
        "телефон",
        "тел",
        "номер телефона",
        "мобильный телефон",
        "telefon",
        "telefon raqami",
        "телефон рақами",
    ),
    "email": ("email", "e mail", "электронная почта", "эл почта", "elektron pochta", "электрон почта"),
    "address": ("address", "адрес", "адрес проживания", "manzil", "manzili", "яшаш манзили", "манзил"),
    "pinfl": ("pinfl", "пинфл", "jshshir", "жшшир"),
    "snils": ("snils", "снилс"),
    "oms": ("oms", "омс", "полис омс", "номер полиса омс", "oms policy", "полис", "енп"),
}
REQUIRED_FIELDS = ("surname", "name", "birth_date")
IDENTIFIER_FIELDS = ("pinfl", "snils", "oms")

# How people write the sex in a list: English, Russian and Uzbek words and their first letters.
SEX_WORDS: dict[str, Sex] = {
    **dict.fromkeys(("m", "male", "man", "м", "муж", "мужской", "e", "erkak", "э", "эркак"), Sex.MALE),
    **dict.fromkeys(("f", "female", "woman", "ж", "жен", "женский", "a", "ayol", "а", "аёл"), Sex.FEMALE),
}

_APOSTROPHES = re.compile(r"['`´ʻʼ‘’]")  # the apostrophes Uzbek is typed with
_NOT_WORD = re.compile(r"[\W_]+")
_DAY_FIRST = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]*)?")
# Excel's day numbers that make sense for a date of birth (1 is 1900-01-01; 2958465 is 9999-12-31).
_EXCEL_DAYS = range(1, 2958466)


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    text = _APOSTROPHES.sub("", text)
    return " ".join(_NOT_WORD.sub(" ", text).split())


_FIELD_OF_HEADER = {_header_key(alias): name for name, aliases in COLUMN_NAMES.items() for alias in aliases}
_SEX_OF_WORD = {_header_key(word): sex for word, sex in SEX_WORDS.items()}


# Reading ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRow:
    """One data row: its number as a spreadsheet shows it (the header is row 1) and its cells by field."""

    number: int
    cells: Mapping[str, Cell]


class RowReader(Iterator[RawRow]):
    """The rows of a patient file. The header is read and checked when the reader is made, so a file
    without a required column is refused before any row; blank rows are skipped."""

    def __init__(
        self, lines: Iterator[tuple[int, Sequence[Cell]]], *, kind: str, max_rows: int | None = None
    ) -> None:
        self.kind = kind
        self.max_rows = max_rows
        self._lines = lines
        self._count = 0
        header = next((cells for _number, cells in lines if any(_text(c) for c in cells)), None)
        if header is None:
            raise DomainError(ImportErrorCode.EMPTY_FILE, gettext_lazy("The file is empty."))
        self.columns, self.unknown_columns = _map_header([_text(cell) for cell in header])
        found = set(self.columns.values())
        if "full_name" in found:
            found |= {"surname", "name"}
        missing = [name for name in REQUIRED_FIELDS if name not in found]
        if missing:
            labels = ", ".join(_label(name) for name in missing)
            raise DomainError(
                ImportErrorCode.MISSING_COLUMNS,
                _(
                    "The file has no column for: %(columns)s. The first row must name the columns, "
                    "for example: surname, name, birth date, phone."
                )
                % {"columns": labels},
                columns=missing,
            )

    def __next__(self) -> RawRow:
        for number, cells in self._lines:
            if any(_text(cell) for cell in cells):
                self._count += 1
                if self.max_rows is not None and self._count > self.max_rows:
                    raise DomainError(
                        ImportErrorCode.TOO_MANY_ROWS,
                        _(
                            "The file has more than %(limit)d rows. Split it, or ask an administrator to run "
                            "the navbat import_patients command."
                        )
                        % {"limit": self.max_rows},
                        limit=self.max_rows,
                    )
                return RawRow(
                    number=number,
                    cells={name: cells[i] for i, name in self.columns.items() if i < len(cells)},
                )
        raise StopIteration


def read_rows(file: IO[bytes], filename: str, *, max_rows: int | None = None) -> RowReader:
    """The rows of a CSV or XLSX file (DomainError if it is neither, is empty, or lacks a required column;
    while reading, if it has more than `max_rows` rows)."""
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    if suffix in ("xlsx", "xlsm"):
        return RowReader(_xlsx_lines(file), kind="xlsx", max_rows=max_rows)
    if suffix in ("csv", "txt"):
        data = file.read()
        if data.startswith(b"PK\x03\x04"):  # a workbook saved under a .csv name
            return RowReader(_xlsx_lines(io.BytesIO(data)), kind="xlsx", max_rows=max_rows)
        return RowReader(_csv_lines(data), kind="csv", max_rows=max_rows)
    if suffix == "xls":
        raise DomainError(
            ImportErrorCode.BAD_FILE,
            gettext_lazy("This is the old Excel format. Save the file as XLSX or CSV and upload it again."),
        )
    raise DomainError(ImportErrorCode.BAD_FILE, gettext_lazy("Upload a CSV or XLSX file."))


def _csv_lines(data: bytes) -> Iterator[tuple[int, Sequence[Cell]]]:
    text = _decode(data)
    if "\x00" in text:  # a binary file under a .csv name (and PostgreSQL refuses NUL in text)
        raise _unreadable("CSV")
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    try:
        yield from enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)
    except csv.Error:
        raise _unreadable("CSV") from None


def _decode(data: bytes) -> str:
    """UTF-8 (Excel adds a BOM), UTF-16 (Excel's "Unicode text"), else cp1251 (Russian Windows)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def _xlsx_lines(file: IO[bytes]) -> Iterator[tuple[int, Sequence[Cell]]]:
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except _BROKEN_WORKBOOK:
        raise _unreadable("XLSX") from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write wrong dimensions; read what is there
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    except _BROKEN_WORKBOOK:
        raise _unreadable("XLSX") from None
    finally:
        workbook.close()


# What openpyxl raises for a file that is not a workbook or is damaged (an XML ParseError is a SyntaxError).
_BROKEN_WORKBOOK = (
    zipfile.BadZipFile,
    InvalidFileException,
    KeyError,
    IndexError,
    OSError,
    ValueError,
    SyntaxError,
)


def _unreadable(kind: str) -> DomainError:
    return DomainError(
        ImportErrorCode.BAD_FILE,
        _("This file cannot be read as %(kind)s. Save it again from the spreadsheet program.")
        % {"kind": kind},
    )


def _map_header(header: Sequence[str]) -> tuple[dict[int, str], tuple[str, ...]]:
    """Column index → field; and the names of columns nobody knows (ignored, reported once)."""
    columns: dict[int, str] = {}
    unknown: list[str] = []
    for index, title in enumerate(header):
        name = _FIELD_OF_HEADER.get(_header_key(title))
        if name is not None and name not in columns.values():
            columns[index] = name
        elif title:
            unknown.append(title[:60])
    return columns, tuple(unknown)


# Turning a row into registration data ----------------------------------------------------------------------


class RowRejected(Exception):
    def __init__(self, reason: RowReason, message: str) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.message = message


def patient_data(row: RawRow, *, clinic: Clinic, today: date) -> PatientData:
    """What the registration service needs, from one row (RowRejected if the row cannot give it)."""
    surname, name, patronymic = _names(row)
    missing = [label for label, value in (("surname", surname), ("name", name)) if not value]
    if _text(row.cells.get("birth_date")) == "":
        missing.append("birth_date")
    if missing:
        labels = ", ".join(_label(f) for f in missing)
        raise RowRejected(RowReason.MISSING_FIELD, _("Not filled in: %(fields)s.") % {"fields": labels})
    return PatientData(
        surname=surname,
        name=name,
        patronymic=patronymic,
        birth_date=_birth_date(row.cells.get("birth_date"), today=today),
        sex=_sex(row.cells.get("sex")),
        phone=_text(row.cells.get("phone")),
        email=_text(row.cells.get("email")),
        address=_text(row.cells.get("address")),
        # A list has no language column: Uzbek in Uzbekistan, Russian in the other countries we serve.
        preferred_language=Language.UZBEK if clinic.country == "UZ" else Language.RUSSIAN,
        identifiers={
            kind: _identifier(kind, row.cells.get(kind))
            for kind in IDENTIFIER_FIELDS
            if _text(row.cells.get(kind))
        },
    )


def _names(row: RawRow) -> tuple[str, str, str]:
    surname, name = _text(row.cells.get("surname")), _text(row.cells.get("name"))
    patronymic = _text(row.cells.get("patronymic"))
    if not (surname and name) and "full_name" in row.cells:
        # "Surname Name Patronymic": an Uzbek patronymic may be two words ("Alisher oʻgʻli").
        parts = _text(row.cells["full_name"]).split()
        surname = surname or (parts[0] if parts else "")
        name = name or (parts[1] if len(parts) > 1 else "")
        patronymic = patronymic or " ".join(parts[2:])
    return surname, name, patronymic


def _text(cell: Cell) -> str:
    """A cell as the text a person sees: whole numbers without ".0", dates as ISO dates."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    return str(cell).strip()


def _birth_date(cell: Cell, *, today: date) -> date:
    born = _date(cell)
    if born is None:
        raise RowRejected(
            RowReason.BAD_DATE, _("The date of birth is not a date; write it as DD.MM.YYYY or YYYY-MM-DD.")
        )
    if born > today:
        raise RowRejected(RowReason.BAD_DATE, _("The date of birth is in the future."))
    if born.year < 1900:
        raise RowRejected(RowReason.BAD_DATE, _("The date of birth is before 1900."))
    return born


def _date(cell: Cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        # An XLSX date cell that lost its date format: Excel's day number.
        if cell != int(cell) or int(cell) not in _EXCEL_DAYS:
            return None
        converted = from_excel(cell)
        return converted.date() if isinstance(converted, datetime) else None
    text = _text(cell)
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _sex(cell: Cell) -> str:
    text = _text(cell)
    if not text:
        return ""
    sex = _SEX_OF_WORD.get(_header_key(text))
    if sex is None:
        raise RowRejected(
            RowReason.INVALID,
            _("The sex is not recognised; write M or F (М or Ж, E or A), or leave it empty."),
        )
    return sex.value


def _identifier(kind: str, cell: Cell) -> str:
    """The identifier as text. A number cell lost its leading zeros in Excel: put them back (a SNILS may
    begin with 0); a longer number is left for the validator to refuse."""
    text = _text(cell)
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return text.zfill(identifiers.LENGTHS[identifiers.IdentifierKind(kind)])
    return text


# The import ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    row: int
    status: RowStatus
    reason: RowReason | None = None
    message: str = ""


@dataclass(frozen=True)
class ImportReport:
    """What an import did or would do, row by row. `committed` says whether the rows are in the registry."""

    outcomes: tuple[RowOutcome, ...]
    dry_run: bool
    committed: bool
    skip_rejected: bool = False
    unknown_columns: tuple[str, ...] = ()
    rejected: tuple[RowOutcome, ...] = field(init=False)

    def __post_init__(self) -> None:
        rejected = tuple(o for o in self.outcomes if o.status is RowStatus.REJECTED)
        object.__setattr__(self, "rejected", rejected)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def ok_count(self) -> int:
        return self.total - len(self.rejected)

    @property
    def imported(self) -> int:
        """Patients written to the registry by this run (0 for a dry run or a refused import)."""
        return self.ok_count if self.committed else 0

    def summary(self) -> str:
        counts = {"total": self.total, "ok": self.ok_count, "rejected": len(self.rejected)}
        if self.dry_run:
            return (
                _(
                    "Dry run: %(total)d rows, %(ok)d can be imported, %(rejected)d rejected. "
                    "Nothing was saved."
                )
                % counts
            )
        if self.committed:
            return _("Imported %(ok)d patients of %(total)d rows; %(rejected)d rows rejected.") % counts
        return (
            _(
                "Nothing was imported: %(rejected)d of %(total)d rows were rejected. Correct them and import "
                "the file again, or choose to skip the rejected rows."
            )
            % counts
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "outcomes": [[o.row, o.status, o.reason or "", o.message] for o in self.outcomes],
                "dry_run": self.dry_run,
                "committed": self.committed,
                "skip_rejected": self.skip_rejected,
                "unknown_columns": list(self.unknown_columns),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ImportReport:
        data: dict[str, Any] = json.loads(text)
        outcomes = tuple(
            RowOutcome(row, RowStatus(status), RowReason(reason) if reason else None, message)
            for row, status, reason, message in data["outcomes"]
        )
        return cls(
            outcomes=outcomes,
            dry_run=data["dry_run"],
            committed=data["committed"],
            skip_rejected=data["skip_rejected"],
            unknown_columns=tuple(data["unknown_columns"]),
        )


def import_patients(
    *,
    clinic: Clinic,
    rows: Iterable[RawRow],
    actor: Actor,
    dry_run: bool,
    skip_rejected: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Register every row as `register_patient` would (duplicates refused), in one transaction.

    Dry run: roll everything back. Otherwise all rows or none, unless `skip_rejected`, which keeps the good
    rows. One IMPORT audit entry (counts only) when anything is committed, beside the service's CREATE ones.
    """
    unknown_columns = rows.unknown_columns if isinstance(rows, RowReader) else ()
    kind = rows.kind if isinstance(rows, RowReader) else "rows"
    today = timezone.localdate(timezone=clinic.tz)
    parsed = [(row, _parse(row, clinic=clinic, today=today)) for row in rows]
    total = len(parsed)
    outcomes: list[RowOutcome] = []
    created: dict[int, int] = {}  # patient id → the row it came from, to name the earlier row of a duplicate
    with transaction.atomic():
        for done, (row, data) in enumerate(parsed, start=1):
            outcomes.append(
                data if isinstance(data, RowOutcome) else _register(row, data, clinic, actor, created)
            )
            if progress is not None:
                progress(done, total)
        report = ImportReport(
            outcomes=tuple(outcomes),
            dry_run=dry_run,
            committed=False,
            skip_rejected=skip_rejected,
            unknown_columns=unknown_columns,
        )
        if dry_run or (report.rejected and not skip_rejected):
            transaction.set_rollback(True)
            return report
        if report.ok_count:
            record(
                actor,
                AuditAction.IMPORT,
                object_type="patient_import",
                note=f"{kind}: {total} rows, {report.ok_count} imported, {len(report.rejected)} rejected",
            )
    return ImportReport(
        outcomes=report.outcomes,
        dry_run=False,
        committed=True,
        skip_rejected=skip_rejected,
        unknown_columns=unknown_columns,
    )


def _parse(row: RawRow, *, clinic: Clinic, today: date) -> PatientData | RowOutcome:
    try:
        return patient_data(row, clinic=clinic, today=today)
    except RowRejected as rejected:
        return RowOutcome(row.number, RowStatus.REJECTED, rejected.reason, rejected.message)


def _register(
    row: RawRow, data: PatientData, clinic: Clinic, actor: Actor, created: dict[int, int]
) -> RowOutcome:
    try:
        patient = register_patient(clinic=clinic, data=data, actor=actor, allow_duplicates=False)
    except DomainError as error:
        reason, message = _rejection(error, data, created)
        return RowOutcome(row.number, RowStatus.REJECTED, reason, message)
    created[patient.pk] = row.number
    return RowOutcome(row.number, RowStatus.OK)


def _rejection(error: DomainError, data: PatientData, created: Mapping[int, int]) -> tuple[RowReason, str]:
    """The reason code and the message for a refusal of the registration service. The service's messages
    name rules, not values, so they can be shown as they are."""
    code = error.code
    if code == PatientErrorCode.POSSIBLE_DUPLICATE:
        candidates: list[int] = error.details.get("candidates", [])
        if candidates and all(pk in created for pk in candidates):
            earlier = min(created[pk] for pk in candidates)
            return RowReason.DUPLICATE, _earlier_row_message(earlier)
        return RowReason.DUPLICATE, _("This patient seems to be registered already.")
    if code == PatientErrorCode.IDENTIFIER_TAKEN:
        holder = _identifier_holder(error.details.get("kind", ""), data)
        if holder is not None and holder.pk in created:
            return RowReason.DUPLICATE, _earlier_row_message(created[holder.pk])
        if holder is not None and _same_person(holder, data):
            return RowReason.DUPLICATE, _("This patient seems to be registered already.")
        return RowReason.IDENTIFIER_TAKEN, str(error.message)
    if code == PatientErrorCode.INVALID:
        names = error.details.get("fields", {})
        labels = ", ".join(_label(name) for name in sorted(names))
        return RowReason.INVALID, _("Not filled in correctly: %(fields)s.") % {"fields": labels}
    reasons: dict[StrEnum, RowReason] = {
        PatientErrorCode.BAD_PHONE: RowReason.BAD_PHONE,
        PatientErrorCode.PHONE_REQUIRED: RowReason.MISSING_FIELD,
        PatientErrorCode.PHONE_LIMIT: RowReason.PHONE_LIMIT,
        PatientErrorCode.BAD_IDENTIFIER: RowReason.BAD_IDENTIFIER,
    }
    return reasons.get(code, RowReason.INVALID), str(error.message)


def _label(field_name: str) -> str:
    """A registry field's name in the user's language (the model's verbose name)."""
    return str(getattr(Patient._meta.get_field(field_name), "verbose_name", field_name))


def _earlier_row_message(row: int) -> str:
    return _("This row seems to be the same patient as row %(row)d of this file.") % {"row": row}


def _identifier_holder(kind: str, data: PatientData) -> Patient | None:
    """Who holds the identifier the row gives (one query, on a refusal only)."""
    try:
        value = identifiers.normalize(identifiers.IdentifierKind(kind), data.identifiers[kind])
    except (KeyError, ValueError):
        return None
    country = identifiers.COUNTRY_OF[identifiers.IdentifierKind(kind)]
    held = NationalIdentifier.objects.filter(country=country, kind=kind, value=value).select_related(
        "patient"
    )
    return held[0].patient if held else None


def _same_person(patient: Patient, data: PatientData) -> bool:
    """The identifier's holder is this row's patient (a file imported twice), not someone else's number:
    the same date of birth and a similar name, as find_duplicates judges them."""
    return patient.birth_date == data.birth_date and similar_names(
        patient.surname, patient.name, data.surname, data.name
    )


# The report file -------------------------------------------------------------------------------------------


def write_rejections_csv(report: ImportReport, out: TextIO) -> None:
    """The rejected rows as CSV: row number, reason code, message. Nothing else from the rows."""
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Reason"), _("Message")])
    for outcome in report.rejected:
        writer.writerow([outcome.row, outcome.reason or "", outcome.message])
