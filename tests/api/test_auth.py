"""Who is calling: bearer tokens (made, listed and revoked with `navbat token`) and the pages' session."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from navbat.accounts.api_auth import token_hash
from navbat.accounts.models import ApiToken
from navbat.api import api
from tests import factories
from tests.api.conftest import API, ApiClient, assert_error


def token_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_token_create_prints_the_token_once_and_stores_only_its_hash(world):
    out, err = token_command("create", "--user", "api-operator", "--name", "call-centre softphone")

    token = out.strip()
    assert re.fullmatch(r"nbt_[A-Za-z0-9_-]{43}", token)
    assert "shown only now" in err
    record = ApiToken.objects.get()
    assert (record.user, record.name) == (world.users["operator"], "call-centre softphone")
    assert record.token_hash == token_hash(token) != token
    assert not ApiToken.objects.filter(token_hash__contains=token[4:]).exists()

    response = ApiClient(token).get("/clinics")

    assert response.status_code == 200
    record.refresh_from_db()
    assert record.last_used_at is not None


def test_token_list_and_revoke(world):
    token = token_command("create", "--user", "api-registrar")[0].strip()
    record = ApiToken.objects.get()

    listing = token_command("list")[0]
    revoked = token_command("revoke", str(record.pk))[0]
    again = token_command("revoke", str(record.pk))[0]

    assert "api-registrar" in listing and f"{record.pk:>5}" in listing
    assert revoked.strip() == f"Revoked token #{record.pk}."
    assert "already revoked" in again
    assert_error(ApiClient(token).get("/clinics"), 401, "unauthorized")
    assert token_command("list")[0].splitlines()[1].split()[-2:] != ["-", "-"]


def test_token_command_refuses_unknown_users_and_tokens(world):
    with pytest.raises(CommandError, match="No user named"):
        token_command("create", "--user", "nobody")
    with pytest.raises(CommandError, match="No token #4242"):
        token_command("revoke", "4242")


def test_a_deactivated_users_token_opens_nothing(world):
    token = world.token("operator")
    world.users["operator"].is_active = False
    world.users["operator"].save()

    assert_error(ApiClient(token).get("/clinics"), 401, "unauthorized")


def test_an_account_with_no_role_is_refused(world):
    nobody = factories.UserFactory(username="no-role")
    token = token_command("create", "--user", nobody.username)[0].strip()

    assert_error(ApiClient(token).get("/clinics"), 403, "no_role")


def test_the_pages_session_works_and_unsafe_methods_need_the_csrf_token(world):
    appointment = world.book(world.patient, world.at(1, 9))
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["registrar"])
    url = f"{API}/appointments/{appointment.pk}"

    assert client.get(url).status_code == 200
    refused = client.patch(url, data={"notes": "x"}, content_type="application/json")
    assert_error(refused, 403, "csrf_failed")

    client.get("/patients/")  # a page: sets the CSRF cookie, as a browser would have it
    csrf = client.cookies["csrftoken"].value
    allowed = client.patch(
        url, data={"notes": "x"}, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert allowed.status_code == 200, allowed.content


def test_without_a_session_an_unsafe_method_is_asked_to_sign_in_not_for_csrf(world):
    response = Client(enforce_csrf_checks=True).post(
        f"{API}/appointments", data={}, content_type="application/json"
    )

    assert_error(response, 401, "unauthorized")


def test_a_token_needs_no_csrf_token(world):
    appointment = world.book(world.patient, world.at(1, 9))
    client = ApiClient(world.token("registrar"))
    client.client = Client(enforce_csrf_checks=True)

    assert client.patch(f"/appointments/{appointment.pk}", {"notes": "x"}).status_code == 200


def test_docs_page_and_schema_are_public(db):
    assert Client().get(f"{API}/docs").status_code == 200
    schema = Client().get(f"{API}/openapi.json").json()
    assert schema["info"]["title"] == "navbat"


def test_operation_ids_are_stable_and_every_operation_declares_its_errors():
    schema = json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/v1/")))
    operations = {
        (method.upper(), path): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }

    assert {op["operationId"] for op in operations.values()} == {
        "slots_list",
        "appointment_create",
        "appointment_detail",
        "appointment_update",
        "appointment_cancel",
        "appointment_reschedule",
        "appointment_arrive",
        "appointment_noshow",
        "appointment_fulfil",
        "appointment_transfer",
        "patient_list",
        "patient_detail",
        "dentist_list",
        "service_list",
        "clinic_list",
    }
    for key, operation in operations.items():
        declared = set(operation["responses"])
        assert {"401", "403", "422"} <= declared, key
        for status in declared - {"200", "201"}:
            content = operation["responses"][status]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorOut"}, (key, status)
    assert operations[("POST", "/api/v1/appointments")]["responses"].keys() >= {"201", "409"}
