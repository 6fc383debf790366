"""Schemathesis over the whole OpenAPI document, against the Django WSGI application in this process.

For every operation it sends generated requests — valid ones and deliberately invalid ones (wrong types,
NUL characters, huge numbers, missing fields) — as the clinic's administrator (a staff token), and checks
that no answer is a server error, that every status code is one the document declares, and that every body
conforms to its declared schema. Bounded and derandomised: the same examples on every run.

Random ids and codes would almost never name anything, so half of the valid requests (chosen by a hash of
what was generated) get real ones instead: a patient, the clinic's service, an appointment in each status,
a time when the clinic works. Then bookings, conflicts, moves and status changes are exercised too.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from navbat.booking.statuses import Status
from tests.api.conftest import ApiWorld

CONFIG = schemathesis.Config.from_dict(
    {"generation": {"max-examples": 30, "deterministic": True, "with-security-parameters": False}}
)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# Loaded when the module is collected (fetching the document needs no database). Not through
# schemathesis.pytest.from_fixture: under pytest 9 its lazy loader fails (it sets Node._nodeid, gone in 9).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler(), config=CONFIG)

# What the real-object hook picks from, filled by the `real_objects` fixture for each test.
REAL: dict[str, list[Any]] = {}


def _pick(options: list[Any], seed: int, salt: str) -> Any:
    return options[zlib.crc32(f"{salt}{seed}".encode()) % len(options)]


@schema.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    """Half of the valid cases name real objects (see the module's docstring)."""
    if not REAL or case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return case
    seed = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    if seed % 2:
        return case
    path = case.operation.path
    if case.path_parameters and "id" in case.path_parameters:
        kind = "patients" if path.startswith("/patients") else "appointments"
        case.path_parameters["id"] = _pick(REAL[kind], seed, "id")
    if isinstance(case.query, dict):
        for name, kind in (("patient", "patients"), ("clinic", "clinics"), ("dentist", "dentist_refs")):
            if case.query.get(name) is not None:
                case.query[name] = _pick(REAL[kind], seed, name)
        if "service" in case.query:
            case.query["service"] = "checkup"
    if isinstance(case.body, dict):
        for name, kind in (
            ("patient", "patients"),
            ("clinic", "clinics"),
            ("dentist", "dentists"),
            ("chair", "chairs"),
        ):
            if case.body.get(name) is not None:
                case.body[name] = _pick(REAL[kind], seed, name)
        if "service" in case.body:
            case.body["service"] = "checkup"
        if "start" in case.body:
            case.body["start"] = _pick(REAL["times"], seed, "start")
    return case


@pytest.fixture
def real_objects(world: ApiWorld) -> Iterator[None]:
    """An appointment in each status, and the ids and times the hook hands out."""
    appointments = [
        world.book(world.patient, world.at(2, 9)),
        world.book(world.child, world.at(2, 10), dentist=1),
        world.book(world.stranger, world.at(3, 9), status=Status.ARRIVED),
        world.book(world.patient, world.at(4, 9), status=Status.CANCELLED),
        world.book(world.parent, world.at(4, 11), status=Status.FULFILLED),
    ]
    REAL.update(
        appointments=[a.pk for a in appointments],
        patients=[p.pk for p in (world.patient, world.child, world.stranger, world.parent)],
        clinics=[world.clinic.pk],
        dentists=[d.pk for d in world.dentists],
        dentist_refs=["any", *(str(d.pk) for d in world.dentists)],
        chairs=[c.pk for c in world.chairs],
        times=[
            world.at(days, hour, minute).isoformat()
            for days in (1, 2, 5)
            for hour in (8, 9, 14)
            for minute in (0, 15)
        ],
    )
    yield
    REAL.clear()


@pytest.fixture
def _one_connection() -> Iterator[None]:
    """The WSGI handler closes "old" database connections at each request's start and end, which would end
    the test's transaction: Django's own test client switches that off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("_one_connection", "real_objects")
@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_operation_answers_as_documented(case: schemathesis.Case[Any], world: ApiWorld) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {world.token('administrator')}"}, checks=CHECKS)
