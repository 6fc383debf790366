"""Shared test set-up. Tests that touch the database are marked `database` so CI can run them again on
PostgreSQL (`pytest -m database` with DATABASE_URL=postgres://…)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from tests.accounts.helpers import sign_in_verified
from tests.small_clinic import SmallClinic, build_small_clinic

DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "admin_client", "admin_user"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & DATABASE_FIXTURES:
            item.add_marker(pytest.mark.database)


@pytest.fixture
def small_clinic(db: None) -> SmallClinic:
    """Two therapists, two chairs (one with X-ray), Mon–Fri 09:00–18:00 from 2027 on."""
    return build_small_clinic()


_audit_migration = importlib.import_module("navbat.accounts.migrations.0002_audit_append_only")


@pytest.fixture(autouse=True)
def _audit_log_append_only(request: pytest.FixtureRequest) -> Iterator[None]:
    """The audit triggers hold in every test. SQLite's flush after a transactional test deletes rows,
    which the triggers refuse: drop them for that flush and put them back before the next test."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = bool(marker) or bool(DATABASE_FIXTURES & set(request.fixturenames))
    if connection.vendor != "sqlite" or not uses_db:
        yield
        return
    transactional = bool({"transactional_db", "live_server"} & set(request.fixturenames)) or bool(
        marker and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    with connection.cursor() as cursor:
        for statement in _audit_migration.SQLITE:
            cursor.execute(statement)
    yield
    if transactional:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS audit_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS audit_no_delete")


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    """A superuser past the second factor, which administrators must use."""
    return sign_in_verified(client, admin_user)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Rate-limit counters (accounts.ratelimits, accounts.otp) live in the local-memory cache: each test
    starts with none, so that a long run's searches do not add up to a 429 in an unrelated test."""
    from django.core.cache import cache

    cache.clear()
    yield
