"""Every role against every page: what tests/access_rules.py says each visitor gets, he gets.

The URLs come from the URL conf itself (walked with get_resolver), so a page or an API endpoint added
without a rule fails here with a message saying where to add one. Each case runs once per visitor:
anonymous, and a user of each role (staff of clinic A, or a signed-in patient).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from pytest_django.fixtures import Settings
from pytest_django.plugin import DjangoDbBlocker

from tests.access_rules import (
    RULES,
    SKIPPED_NAMES,
    SKIPPED_NAMESPACES,
    WHO,
    Case,
    Outcome,
    World,
    build_world,
    sign_in,
)


def url_names() -> list[str]:
    """Every URL pattern's full name ("namespace:name"), outside the skipped namespaces; an unnamed pattern
    appears as "<unnamed: route>" so that it fails too."""
    names: list[str] = []

    def walk(patterns: list[URLPattern | URLResolver], namespace: str, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace not in SKIPPED_NAMESPACES:
                    inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                    walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
            elif pattern.name is None:
                names.append(f"<unnamed: {prefix}{pattern.pattern}>")
            else:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                if name not in SKIPPED_NAMES:
                    names.append(name)

    walk(get_resolver().url_patterns, "", "/")
    return sorted(set(names))


def matrix() -> Iterator[object]:
    for name in url_names():
        cases = RULES.get(name)
        if not cases:
            yield pytest.param(name, None, "", id=f"{name}-NO-RULE")
            continue
        for case in cases:
            for who in WHO:
                label = f"{name}[{case.label}]" if case.label else name
                yield pytest.param(name, case, who, id=f"{label}-{who}")


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    """Built once for the module, inside a transaction rolled back at its end; each test runs in a savepoint
    of it, so what one test changes (an alert removed, a list imported) the next does not see."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings: Settings, tmp_path: object) -> None:
    settings.NAVBAT_IMPORT_DIR = tmp_path


@pytest.mark.parametrize(("name", "case", "who"), list(matrix()))
def test_each_visitor_gets_what_the_rules_say(
    db: None, world: World, client: Client, name: str, case: Case | None, who: str
) -> None:
    assert case is not None, (
        f"The URL {name!r} has no access rule. Add an entry for it to RULES in tests/access_rules.py: "
        "for each visitor (anonymous and every role), what he gets — 200, a redirect, 403 or 404."
    )
    user = world.user(who)
    kwargs = {
        key: value(world, user) if callable(value) else getattr(world, value).pk
        for key, value in case.kwargs.items()
    }
    url = reverse(name, kwargs=kwargs)
    if user is not None:
        sign_in(client, user)

    response = getattr(client, case.method)(url, dict(case.data))

    expected = case.expect[who]
    got = Outcome(response.status_code, _target(response) if response.status_code == 302 else "")
    assert got == expected, f"{who} {case.method.upper()} {url}: got {got}, the rule says {expected}"


def _target(response: HttpResponseBase) -> str:
    """The name of the page a redirect leads to (its path, if it is not one of ours)."""
    location = urlsplit(response["Location"]).path
    try:
        return resolve(location).view_name
    except Resolver404:
        return location


def test_every_rule_names_a_url_that_exists() -> None:
    stale = set(RULES) - set(url_names())
    assert not stale, (
        f"rules for URLs that no longer exist (remove them from access_rules.py): {sorted(stale)}"
    )


def test_every_case_says_what_every_visitor_gets() -> None:
    for name, cases in RULES.items():
        for case in cases:
            assert set(case.expect) == set(WHO), f"{name}[{case.label}]: {set(WHO) ^ set(case.expect)}"


def test_the_matrix_covers_the_pages_and_all_eight_visitors() -> None:
    tried = list(matrix())
    assert {"patients:card", "patients:search", "accounts:two_factor_setup", "me:home"} <= set(url_names())
    assert len(tried) >= 8 * len(url_names())
    assert "set_language" not in url_names() and not any(n.startswith("admin:") for n in url_names())
