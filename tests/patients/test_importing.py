"""Importing a patient list: reading CSV and XLSX, every rejection reason, dry run, all-or-nothing, the
command and the pages. Every name, date, phone and identifier here is generated."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditAction, AuditEntry
from navbat.clinic.models import Clinic, StaffRole
from navbat.errors import DomainError
from navbat.patients import identifiers
from navbat.patients.importing import (
    ImportErrorCode,
    ImportReport,
    RawRow,
    RowReason,
    RowStatus,
    import_patients,
    read_rows,
)
from navbat.patients.models import NationalIdentifier, Patient, PatientCounter
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = ["surname", "name", "birth date", "sex", "phone", "pinfl"]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def clinic() -> Clinic:
    return factories.ClinicFactory(country="UZ", max_patients_per_phone=6)


@pytest.fixture
def actor() -> Actor:
    return Actor(user=factories.UserFactory(), ip="127.0.0.1", path="/test")


def pinfl(born: date, *, male: bool = True, serial: str = "123456") -> str:
    """A valid PINFL for a person born in the 1900s (century-and-sex code 3 or 4)."""
    body = f"{3 if male else 4}{born:%d%m%y}{serial}"
    return body + identifiers.compute_check_digits(identifiers.IdentifierKind.PINFL, body)


def person(i: int, **overrides: str) -> list[str]:
    """A generated adult: distinct name, birth date and phone for every i, so no two look alike."""
    born = date(1950, 1, 1) + timedelta(days=7 * i)
    row = {
        "surname": f"Sinovov{i}",
        "name": "Aziz",
        "birth date": born.strftime("%d.%m.%Y"),
        "sex": "M",
        "phone": f"+99890{1000000 + i}",
        "pinfl": pinfl(born, serial=f"{i:06d}"),
    }
    row.update(overrides)
    return [row[column] for column in HEADER]


def csv_file(
    rows: Sequence[Sequence[object]],
    *,
    header: Sequence[str] = HEADER,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> io.BytesIO:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(out.getvalue().encode(encoding))


def run(clinic: Clinic, actor: Actor, rows: Sequence[Sequence[object]], **options: bool) -> ImportReport:
    options.setdefault("dry_run", False)
    return import_patients(
        clinic=clinic, rows=read_rows(csv_file(rows), "list.csv"), actor=actor, progress=None, **options
    )


def reasons(report: ImportReport) -> dict[int, RowReason | None]:
    return {outcome.row: outcome.reason for outcome in report.rejected}


def registry_state() -> tuple[int, int, int, int, int]:
    return (
        Patient.objects.count(),
        NationalIdentifier.objects.count(),
        AuditEntry.objects.count(),
        sum(PatientCounter.objects.values_list("last", flat=True)),
        Patient.objects.filter(number__isnull=False).count(),
    )


# Reading files ----------------------------------------------------------------------------------------------


def test_a_utf8_csv_with_bom_semicolons_and_russian_headers_is_read() -> None:
    header = ["Фамилия", "Имя", "Отчество", "Дата рождения", "Пол", "Телефон", "Цвет глаз"]
    file = csv_file(
        [["Синов", "Азиз", "Тестович", "17.05.1990", "М", "90 100-00-01", "карие"]],
        header=header,
        delimiter=";",
        encoding="utf-8-sig",
    )

    reader = read_rows(file, "Пациенты.CSV")
    rows = list(reader)

    assert reader.kind == "csv"
    assert reader.unknown_columns == ("Цвет глаз",)
    assert rows == [
        RawRow(
            number=2,
            cells={
                "surname": "Синов",
                "name": "Азиз",
                "patronymic": "Тестович",
                "birth_date": "17.05.1990",
                "sex": "М",
                "phone": "90 100-00-01",
            },
        )
    ]


def test_a_cp1251_csv_from_russian_excel_is_read() -> None:
    header = ["ФИО", "Дата рождения", "Телефон", "Снилс"]
    file = csv_file([["Синова Малика Тестовна", "1990-05-17", "8 912 100-00-02", ""]], header=header)
    data = file.getvalue().decode().encode("cp1251")

    rows = list(read_rows(io.BytesIO(data), "export.csv"))

    assert rows[0].cells["full_name"] == "Синова Малика Тестовна"
    assert rows[0].cells["birth_date"] == "1990-05-17"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1251"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_every_encoding_and_delimiter_excel_writes_is_read(encoding: str, delimiter: str) -> None:
    header = ["Фамилия", "Имя", "Дата рождения"]
    # Uzbek Cyrillic қ is not in cp1251: a Russian Windows export has Russian letters only.
    name = "Ёкуб" if encoding == "cp1251" else "Ёқуб"
    file = csv_file([["Синов", name, "01.02.1980"]], header=header, delimiter=delimiter, encoding=encoding)

    rows = list(read_rows(file, "list.csv"))

    assert [(row.cells["surname"], row.cells["name"]) for row in rows] == [("Синов", name)]
    assert rows[0].cells["birth_date"] == "01.02.1980"


def test_a_page_sized_reader_refuses_a_longer_file_before_anything_is_written(
    clinic: Clinic, actor: Actor
) -> None:
    reader = read_rows(csv_file([person(i) for i in range(4)]), "list.csv", max_rows=3)

    with pytest.raises(DomainError) as refused:
        import_patients(clinic=clinic, rows=reader, actor=actor, dry_run=False, progress=None)

    assert refused.value.code == ImportErrorCode.TOO_MANY_ROWS
    assert Patient.objects.count() == 0


def test_uzbek_headers_are_recognised_with_any_apostrophe() -> None:
    header = ["Familiya", "Ism", "Otasining ismi", "Tug‘ilgan sana", "Jinsi", "Telefon", "JShShIR", "Manzil"]
    reader = read_rows(csv_file([], header=header), "royxat.csv")

    assert sorted(reader.columns.values()) == sorted(
        ["surname", "name", "patronymic", "birth_date", "sex", "phone", "pinfl", "address"]
    )
    assert reader.unknown_columns == ()


def test_an_xlsx_with_date_cells_and_number_cells_is_read(clinic: Clinic, actor: Actor) -> None:
    snils_body = "012345678"  # a leading zero, which a number cell loses
    snils = snils_body + identifiers.compute_check_digits(identifiers.IdentifierKind.SNILS, snils_body)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Фамилия", "Имя", "Дата рождения", "Телефон", "СНИЛС"])
    sheet.append([])  # a blank line is skipped, the numbering goes on
    sheet.append(["Sinovov", "Bobur", date(1985, 3, 9), 998901000003, int(snils)])
    file = io.BytesIO()
    workbook.save(file)
    file.seek(0)

    reader = read_rows(file, "list.xlsx")
    report = import_patients(clinic=clinic, rows=reader, actor=actor, dry_run=False, progress=None)

    assert reader.kind == "xlsx"
    assert [(o.row, o.status) for o in report.outcomes] == [(3, RowStatus.OK)]
    patient = Patient.objects.get(surname="Sinovov")
    assert patient.birth_date == date(1985, 3, 9)
    assert patient.phone == "+998901000003"
    assert patient.identifiers.get().value == snils


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["surname", "name", "phone"], ["birth_date"]),
        (["Имя", "Телефон", "Дата рождения"], ["surname"]),
        (["color"], ["surname", "name", "birth_date"]),
    ],
)
def test_a_missing_required_column_stops_before_any_row(header: list[str], missing: list[str]) -> None:
    with pytest.raises(DomainError) as refused:
        read_rows(csv_file([["x"] * len(header)], header=header), "list.csv")

    assert refused.value.code == ImportErrorCode.MISSING_COLUMNS
    assert refused.value.details["columns"] == missing
    assert "has no column for" in str(refused.value.message)


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"", "list.csv", ImportErrorCode.EMPTY_FILE),
        (b"\n;;\n", "list.csv", ImportErrorCode.EMPTY_FILE),
        (b"not a workbook", "list.xlsx", ImportErrorCode.BAD_FILE),
        (b"\xd0\xcf\x11\xe0", "list.xls", ImportErrorCode.BAD_FILE),
        (b"%PDF-1.4", "list.pdf", ImportErrorCode.BAD_FILE),
        (b"surname,name,birth date\nA,\x00B,01.01.2000\n", "list.csv", ImportErrorCode.BAD_FILE),
        (b"surname,name,birth date\n" + b"x" * 200_000 + b",B,01.01.2000\n", "list.csv", None),
    ],
)
def test_a_file_that_is_not_a_patient_list_is_refused_clearly(
    data: bytes, filename: str, code: ImportErrorCode | None
) -> None:
    if code is None:  # a field beyond the csv module's limit: refused while reading, still clearly
        with pytest.raises(DomainError) as refused:
            list(read_rows(io.BytesIO(data), filename))
        code = ImportErrorCode.BAD_FILE
    else:
        with pytest.raises(DomainError) as refused:
            read_rows(io.BytesIO(data), filename)

    assert refused.value.code == code


# Every row checked as registration checks it ----------------------------------------------------------------


def test_each_rejection_reason_is_reported_with_the_row_number_and_no_personal_data(
    clinic: Clinic, actor: Actor
) -> None:
    registered = factories.PatientFactory(
        clinic=clinic, surname="Ruyxatov", name="Karim", birth_date=date(1970, 2, 2), phone="+998901999999"
    )
    taken = pinfl(date(1971, 3, 3), serial="777777")
    NationalIdentifier.objects.create(patient=registered, kind="pinfl", country="UZ", value=taken)
    for i in range(6):
        factories.PatientFactory(clinic=clinic, surname=f"Oilaviy{i}", name="Olim", phone="+998901888888")
    rows = [
        person(1),  # row 2: fine
        person(2, surname=""),  # row 3
        person(3, **{"birth date": "31.02.1990"}),  # row 4
        person(4, phone="12345"),  # row 5
        person(5, pinfl="12345678901234"),  # row 6
        person(6, **{"birth date": "03.03.1971", "pinfl": taken}),  # row 7
        person(7, surname="Ruyxatov", name="Karim", pinfl="", **{"birth date": "02.02.1970"}),  # row 8
        person(1, pinfl=""),  # row 9: row 2 again
        person(8, phone="+998901888888"),  # row 10
        person(9, sex="unknown"),  # row 11
        person(10, phone=""),  # row 12
        person(11, **{"birth date": "01.01.2090"}),  # row 13
        person(12, pinfl=pinfl(date(1950, 1, 1) + timedelta(days=7 * 12), male=False)),  # row 14
    ]

    report = run(clinic, actor, rows, dry_run=True)

    assert reasons(report) == {
        3: RowReason.MISSING_FIELD,
        4: RowReason.BAD_DATE,
        5: RowReason.BAD_PHONE,
        6: RowReason.BAD_IDENTIFIER,
        7: RowReason.IDENTIFIER_TAKEN,
        8: RowReason.DUPLICATE,
        9: RowReason.DUPLICATE,
        10: RowReason.PHONE_LIMIT,
        11: RowReason.INVALID,
        12: RowReason.MISSING_FIELD,
        13: RowReason.BAD_DATE,
        14: RowReason.BAD_IDENTIFIER,
    }
    messages = {outcome.row: outcome.message for outcome in report.rejected}
    assert messages[3] == "Not filled in: surname."
    assert "same patient as row 2" in messages[9]
    assert "registered already" in messages[8]
    assert "PINFL" in messages[7]
    assert "sex" in messages[14]
    personal = {value for row in rows for value in row if len(value) > 3} | {
        taken,
        "Ruyxatov",
        "+998901888888",
    }
    assert not [m for m in messages.values() for value in personal if value in m]


def test_the_same_identifier_twice_in_one_file_is_a_duplicate_of_the_earlier_row(
    clinic: Clinic, actor: Actor
) -> None:
    shared = pinfl(date(1950, 1, 1) + timedelta(days=7))
    rows = [person(1, pinfl=shared), person(2, **{"birth date": person(1)[2], "pinfl": shared})]

    report = run(clinic, actor, rows, dry_run=True)

    assert [(o.row, o.reason) for o in report.rejected] == [(3, RowReason.DUPLICATE)]
    assert "row 2" in report.rejected[0].message


def test_a_bad_email_is_invalid_and_names_the_field(clinic: Clinic, actor: Actor) -> None:
    header = [*HEADER, "e-mail"]
    reader = read_rows(csv_file([[*person(1), "not-an-address"]], header=header), "list.csv")

    report = import_patients(clinic=clinic, rows=reader, actor=actor, dry_run=True, progress=None)

    assert [(o.reason, o.message) for o in report.rejected] == [
        (RowReason.INVALID, "Not filled in correctly: e-mail.")
    ]


def test_a_full_name_column_is_split_into_surname_name_and_patronymic(clinic: Clinic, actor: Actor) -> None:
    header = ["Ф.И.О.", "Дата рождения", "Телефон"]
    rows = [["Sinovov Alisher Karim oʻgʻli", "01.02.1980", "+998901000009"]]

    report = import_patients(
        clinic=clinic,
        rows=read_rows(csv_file(rows, header=header), "list.csv"),
        actor=actor,
        dry_run=False,
        progress=None,
    )

    assert report.imported == 1
    patient = Patient.objects.get()
    assert (patient.surname, patient.name, patient.patronymic) == ("Sinovov", "Alisher", "Karim oʻgʻli")


# Dry run, all or nothing, skipping the rejected rows --------------------------------------------------------


def test_a_dry_run_writes_nothing_and_reports_what_the_real_run_would(clinic: Clinic, actor: Actor) -> None:
    rows = [person(1), person(2), person(1, pinfl="")]
    before = registry_state()
    seen: list[tuple[int, int]] = []

    report = import_patients(
        clinic=clinic,
        rows=read_rows(csv_file(rows), "list.csv"),
        actor=actor,
        dry_run=True,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert registry_state() == before
    assert (report.dry_run, report.committed, report.total, report.ok_count, report.imported) == (
        True,
        False,
        3,
        2,
        0,
    )
    assert reasons(report) == {4: RowReason.DUPLICATE}
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert "Nothing was saved" in report.summary()


def test_a_real_run_with_a_rejected_row_writes_nothing(clinic: Clinic, actor: Actor) -> None:
    before = registry_state()

    report = run(clinic, actor, [person(1), person(2, phone="12"), person(3)])

    assert registry_state() == before
    assert (report.committed, report.imported, len(report.rejected)) == (False, 0, 1)
    assert "Nothing was imported" in report.summary()


def test_a_clean_real_run_registers_everyone_with_numbers_identifiers_and_one_import_entry(
    clinic: Clinic, actor: Actor
) -> None:
    report = run(clinic, actor, [person(1), person(2), person(3)])

    assert (report.committed, report.imported) == (True, 3)
    patients = Patient.objects.filter(clinic=clinic)
    assert patients.count() == 3
    assert all(p.number and p.number.startswith(clinic.patient_prefix) for p in patients)
    assert NationalIdentifier.objects.filter(patient__in=patients, kind="pinfl").count() == 3
    imports = AuditEntry.objects.filter(action=AuditAction.IMPORT)
    assert [(e.actor, e.note) for e in imports] == [(actor.user, "csv: 3 rows, 3 imported, 0 rejected")]
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_type="patient").count() == 3


def test_skip_rejected_imports_the_good_rows_only(clinic: Clinic, actor: Actor) -> None:
    report = run(clinic, actor, [person(1), person(2, phone="12"), person(3)], skip_rejected=True)

    assert (report.committed, report.imported, len(report.rejected)) == (True, 2, 1)
    assert set(Patient.objects.values_list("surname", flat=True)) == {"Sinovov1", "Sinovov3"}
    assert AuditEntry.objects.get(action=AuditAction.IMPORT).note == "csv: 3 rows, 2 imported, 1 rejected"
    assert "Imported 2 patients of 3 rows" in report.summary()


def test_a_file_imported_twice_is_all_duplicates_the_second_time(clinic: Clinic, actor: Actor) -> None:
    rows = [person(1), person(2)]
    run(clinic, actor, rows)

    again = run(clinic, actor, rows, dry_run=True)

    assert set(reasons(again).values()) == {RowReason.DUPLICATE}
    assert Patient.objects.count() == 2


def test_the_report_survives_its_json_round_trip(clinic: Clinic, actor: Actor) -> None:
    header = [*HEADER, "notes"]
    rows = [[*person(1), ""], [*person(2, phone="1"), ""]]
    report = import_patients(
        clinic=clinic,
        rows=read_rows(csv_file(rows, header=header), "a.csv"),
        actor=actor,
        dry_run=True,
        progress=None,
    )

    assert ImportReport.from_json(report.to_json()) == report


# The command ------------------------------------------------------------------------------------------------


def _write_csv(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    path.write_bytes(csv_file(rows, delimiter=";", encoding="utf-8-sig").getvalue())
    return path


def test_the_command_dry_runs_by_default_and_writes_the_report(clinic: Clinic, tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "list.csv", [person(1), person(2, phone="12"), person(3)])
    report_path = tmp_path / "report.csv"
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "import_patients",
        str(source),
        clinic=clinic.pk,
        report=str(report_path),
        language="en",
        stdout=out,
        stderr=err,
    )

    assert Patient.objects.count() == 0
    assert "Dry run: 3 rows, 2 can be imported, 1 rejected. Nothing was saved." in out.getvalue()
    assert "Row 3: bad_phone — This is not a valid phone number." in out.getvalue()
    assert "3/3" in err.getvalue()  # the progress bar
    lines = list(csv.reader(io.StringIO(report_path.read_text(encoding="utf-8-sig"))))
    assert lines == [["Row", "Reason", "Message"], ["3", "bad_phone", "This is not a valid phone number."]]
    assert "Sinovov2" not in report_path.read_text(encoding="utf-8-sig")


def test_the_command_commits_all_or_nothing(clinic: Clinic, tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "list.csv", [person(1), person(2, phone="12")])
    out = io.StringIO()

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command(
            "import_patients",
            str(source),
            clinic=clinic.pk,
            commit=True,
            language="en",
            stdout=out,
            stderr=out,
        )
    assert Patient.objects.count() == 0

    call_command(
        "import_patients",
        str(source),
        clinic=clinic.pk,
        commit=True,
        skip_rejected=True,
        language="en",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert Patient.objects.count() == 1
    assert "Imported 1 patients of 2 rows; 1 rows rejected." in out.getvalue()


def test_the_command_names_the_staff_member_in_the_audit_log(clinic: Clinic, tmp_path: Path) -> None:
    manager = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    source = _write_csv(tmp_path / "list.csv", [person(1)])

    call_command(
        "import_patients",
        str(source),
        clinic=clinic.pk,
        commit=True,
        by=manager.user.username,
        language="en",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    entry = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert (entry.actor, entry.path) == (manager.user, "navbat import_patients")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"clinic": 999999}, "no clinic"),
        ({"file": "missing.csv"}, "Cannot read the file"),
        ({"file": "nocolumns.csv"}, "has no column for"),
    ],
)
def test_the_command_fails_clearly(
    clinic: Clinic, tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    (tmp_path / "nocolumns.csv").write_text("colour\nred\n")
    file = tmp_path / str(arguments.pop("file", "list.csv"))
    _write_csv(tmp_path / "list.csv", [person(1)])

    with pytest.raises(CommandError, match=message):
        call_command(
            "import_patients",
            str(file),
            **{"clinic": clinic.pk, **arguments},
            language="en",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


# The pages --------------------------------------------------------------------------------------------------


@pytest.fixture
def import_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "imports"
    with override_settings(NAVBAT_IMPORT_DIR=directory):
        yield directory


def _upload(client: Client, clinic: Clinic, rows: Sequence[Sequence[object]]) -> Any:
    file = SimpleUploadedFile("list.csv", csv_file(rows).getvalue(), content_type="text/csv")
    return client.post(
        reverse("patient_import:upload"), {"file": file, "clinic": clinic.pk}, HTTP_ACCEPT_LANGUAGE="en"
    )


def test_a_manager_checks_a_file_reads_the_report_and_imports_the_good_rows(
    client: Client, clinic: Clinic, import_dir: Path
) -> None:
    manager = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    client.force_login(manager.user)

    form = client.get(reverse("patient_import:upload"), HTTP_ACCEPT_LANGUAGE="en")
    checked = _upload(client, clinic, [person(1), person(2, phone="12"), person(3)])
    report_page = client.get(checked["Location"], HTTP_ACCEPT_LANGUAGE="en")

    assert form.status_code == 200
    assert "Check the file" in form.content.decode()
    assert checked.status_code == 302
    html = report_page.content.decode()
    assert report_page.status_code == 200
    assert "Dry run: 3 rows, 2 can be imported, 1 rejected." in html
    assert "This is not a valid phone number." in html
    assert "Import 2 patients, skip 1 rejected rows" in html
    assert "Sinovov2" not in html
    assert Patient.objects.count() == 0

    token = checked["Location"].rstrip("/").rsplit("/", 1)[-1]
    download = client.get(reverse("patient_import:rejections_csv", kwargs={"token": token}))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert b"bad_phone" in download.content

    commit_url = reverse("patient_import:commit", kwargs={"token": token})
    done = client.post(commit_url, {"skip_rejected": "on"})
    again = client.post(commit_url, {"skip_rejected": "on"})  # a second click imports nothing more
    result = client.get(done["Location"], HTTP_ACCEPT_LANGUAGE="en")

    assert done.status_code == again.status_code == 302
    assert result.status_code == 200
    assert "Imported 2 patients of 3 rows" in result.content.decode()
    assert Patient.objects.count() == 2
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT).count() == 1
    assert not list(import_dir.glob("*.upload")) and not list(import_dir.glob("*.importing"))


def test_a_commit_that_meets_a_rejected_row_imports_nothing_and_shows_why(
    client: Client, clinic: Clinic, import_dir: Path
) -> None:
    manager = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    client.force_login(manager.user)
    checked = _upload(client, clinic, [person(1), person(2)])
    token = checked["Location"].rstrip("/").rsplit("/", 1)[-1]
    # Between the check and the confirmation, a registrar registers the second patient.
    run(clinic, Actor(user=None), [person(2)])

    refused = client.post(reverse("patient_import:commit", kwargs={"token": token}))
    page = client.get(refused["Location"], HTTP_ACCEPT_LANGUAGE="en")

    assert refused["Location"] == checked["Location"]
    assert "Nothing was imported" in page.content.decode()
    assert Patient.objects.count() == 1
    assert list(import_dir.glob("*.upload"))  # kept, so the good row can still be imported


def test_a_file_without_a_required_column_is_a_400_with_the_reason(
    client: Client, clinic: Clinic, import_dir: Path
) -> None:
    manager = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    client.force_login(manager.user)
    file = SimpleUploadedFile("list.csv", b"surname;phone\nSinovov;901000001\n", content_type="text/csv")

    page = client.post(
        reverse("patient_import:upload"), {"file": file, "clinic": clinic.pk}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert page.status_code == 400
    assert "The file has no column for: first name, date of birth." in page.content.decode()
    assert not list(import_dir.iterdir())  # the refused file is not kept


def test_an_operator_may_not_import(client: Client, clinic: Clinic, import_dir: Path) -> None:
    manager = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    operator = factories.StaffFactory(clinic=clinic, role=StaffRole.OPERATOR)
    client.force_login(manager.user)
    token = _upload(client, clinic, [person(1)])["Location"].rstrip("/").rsplit("/", 1)[-1]
    client.force_login(operator.user)

    assert client.get(reverse("patient_import:upload")).status_code == 403
    assert _upload(client, clinic, [person(2)]).status_code == 403
    assert client.get(reverse("patient_import:report", kwargs={"token": token})).status_code == 403
    assert client.post(reverse("patient_import:commit", kwargs={"token": token})).status_code == 403
    assert Patient.objects.count() == 0


def test_another_managers_token_opens_nothing(client: Client, clinic: Clinic, import_dir: Path) -> None:
    first = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    second = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    client.force_login(first.user)
    token = _upload(client, clinic, [person(1)])["Location"].rstrip("/").rsplit("/", 1)[-1]
    client.force_login(second.user)

    assert client.get(reverse("patient_import:report", kwargs={"token": token})).status_code == 404
    assert client.post(reverse("patient_import:commit", kwargs={"token": token})).status_code == 404
    assert client.get(reverse("patient_import:report", kwargs={"token": token + "x"})).status_code == 404
    assert Patient.objects.count() == 0


def test_a_manager_cannot_import_into_another_clinic(
    client: Client, clinic: Clinic, import_dir: Path
) -> None:
    manager = factories.StaffFactory(clinic=clinic, role=StaffRole.MANAGER)
    other = factories.ClinicFactory()
    client.force_login(manager.user)

    page = _upload(client, other, [person(1)])

    assert page.status_code == 400
    assert Patient.objects.count() == 0


# Performance sanity -----------------------------------------------------------------------------------------


def test_two_thousand_rows_import_without_queries_beyond_what_registration_does(
    clinic: Clinic, actor: Actor, capsys: pytest.CaptureFixture[str]
) -> None:
    """Measures, does not assert, the time (machines are shared); asserts the queries per row stay flat."""
    rows = [person(i) for i in range(2000)]
    file = csv_file(rows)

    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        report = import_patients(
            clinic=clinic, rows=read_rows(file, "big.csv"), actor=actor, dry_run=False, progress=None
        )
    elapsed = time.perf_counter() - started

    assert report.imported == 2000
    per_row = queries / 2000
    assert per_row < 16
    with capsys.disabled():
        print(f"\n2,000-row import on {connection.vendor}: {elapsed:.1f} s, {per_row:.1f} queries a row")
