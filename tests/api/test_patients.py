"""The registry through the API: the same rules and the same audit trail as the pages."""

from __future__ import annotations

from navbat.accounts.models import AuditAction, AuditEntry
from tests.api.conftest import assert_error


def test_staff_search_the_registry_and_each_search_is_one_audit_entry(world, as_user):
    response = as_user("registrar").get("/patients", {"q": "yuldash"})

    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [world.patient.pk]
    assert set(response.json()[0]) == {"id", "number", "surname", "name", "patronymic", "birth_date", "phone"}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_type, entry.note) == (
        AuditAction.SEARCH,
        "patient_search",
        "1 results",
    )
    assert entry.actor == world.users["registrar"]
    assert "yuldash" not in f"{entry.note} {entry.fields} {entry.path}".lower()


def test_names_are_found_across_scripts(world, as_user):
    response = as_user("operator").get("/patients", {"q": "Юлдашев"})

    assert [p["id"] for p in response.json()] == [world.patient.pk]


def test_an_empty_search_finds_nobody_and_is_not_audited(world, as_user):
    assert as_user("operator").get("/patients").json() == []
    assert not AuditEntry.objects.exists()


def test_a_patient_lists_himself_and_his_children(world, as_user):
    response = as_user("patient").get("/patients")

    assert {p["id"] for p in response.json()} == {world.parent.pk, world.child.pk}


def test_dentists_do_not_search_the_registry(world, as_user):
    assert_error(as_user("dentist").get("/patients", {"q": "a"}), 403, "forbidden")


def test_an_operator_learns_that_there_are_alerts_not_what_they_are(world, as_user):
    response = as_user("operator").get(f"/patients/{world.patient.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["has_alerts"] is True
    assert body["alerts"] is None
    assert "Lidocaine" not in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.patient_id) == (AuditAction.VIEW, world.patient.pk)
    assert "alerts" not in entry.fields and "phone" in entry.fields


def test_reception_sees_the_alerts_and_the_audit_log_says_so(world, as_user):
    body = as_user("registrar").get(f"/patients/{world.patient.pk}").json()

    assert body["alerts"] == [{"kind": "allergy", "note": "Lidocaine"}]
    assert "alerts" in AuditEntry.objects.get().fields


def test_a_dentist_opens_his_own_patients_only(world, as_user):
    world.book(world.patient, world.at(1, 9), dentist=0)
    client = as_user("dentist")

    assert client.get(f"/patients/{world.patient.pk}").json()["alerts"] == [
        {"kind": "allergy", "note": "Lidocaine"}
    ]
    assert_error(client.get(f"/patients/{world.stranger.pk}"), 404, "not_found")


def test_a_patient_opens_his_childs_record_but_not_a_strangers(world, as_user):
    client = as_user("patient")

    assert client.get(f"/patients/{world.child.pk}").json()["surname"] == "Karimov"
    assert_error(client.get(f"/patients/{world.stranger.pk}"), 404, "not_found")
