"""Roles are Django groups whose permissions are the table in accounts/roles.py."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from navbat.accounts.access import Role
from navbat.accounts.roles import (
    ADMIN_SITE_ROLES,
    NO_GROUP_PERMISSIONS,
    PATIENT_DATA,
    ROLE_PERMISSIONS,
    permission_names,
    sync_roles,
)
from navbat.accounts.services import assign_role
from tests import factories

pytestmark = pytest.mark.django_db

NAVBAT_APPS = ("accounts", "clinic", "patients", "booking", "notify")


def group_permissions(role: Role) -> set[str]:
    group = Group.objects.get(name=role.value)
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def test_migrate_leaves_one_group_per_role_with_the_tables_permissions() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}
    for role in Role:
        assert group_permissions(role) == permission_names(role), role


def test_syncing_again_changes_nothing_and_repairs_a_tampered_group() -> None:
    registrar = Group.objects.get(name=Role.REGISTRAR)
    registrar.permissions.add(Permission.objects.get(codename="delete_patient"))
    Group.objects.get(name=Role.PATIENT).delete()

    sync_roles()
    sync_roles()

    assert Group.objects.filter(name__in=[role.value for role in Role]).count() == len(Role)
    assert "patients.delete_patient" not in group_permissions(Role.REGISTRAR)
    assert group_permissions(Role.PATIENT) == permission_names(Role.PATIENT)


def test_every_model_of_the_project_has_a_rule() -> None:
    """A new model needs a line in roles.py: which roles may do what with it, or NO_GROUP_PERMISSIONS."""
    named = set(NO_GROUP_PERMISSIONS).union(*(table.keys() for table in ROLE_PERMISSIONS.values()))
    models = {
        f"{model._meta.app_label}.{model._meta.model_name}"
        for model in apps.get_models()
        if model._meta.app_label in NAVBAT_APPS and model._meta.managed
    }
    assert models - named == set(), "add these models to accounts/roles.py"


def test_the_roles_that_reach_the_admin_site_get_no_patient_data_there() -> None:
    """The admin lists every clinic's rows: patient data is reached through the registry pages only."""
    for role in ADMIN_SITE_ROLES:
        assert not set(ROLE_PERMISSIONS[role]) & PATIENT_DATA, role


def test_an_operator_may_not_read_medical_alerts_nor_delete_patients() -> None:
    operator = permission_names(Role.OPERATOR)

    assert "patients.view_patient" in operator
    assert "booking.add_appointment" in operator
    assert not {"patients.view_medicalalert", "patients.delete_patient"} & operator


def test_assign_role_puts_the_user_in_exactly_his_roles_group() -> None:
    user = factories.UserFactory(password="!")

    assign_role(user=user, role=Role.REGISTRAR)
    assign_role(user=user, role=Role.MANAGER)

    assert list(user.groups.values_list("name", flat=True)) == ["manager"]
    user.refresh_from_db()
    assert user.is_staff  # managers set up the clinic in the admin
    assert user.has_perm("clinic.change_workingplan")
    assert not user.has_perm("patients.view_patient")


def test_a_role_without_the_admin_site_is_not_staff_and_a_superuser_stays_one() -> None:
    dentist = factories.UserFactory(password="!", is_staff=True)
    root = factories.UserFactory(password="!", is_superuser=True)

    assign_role(user=dentist, role=Role.DENTIST)
    assign_role(user=root, role=Role.DENTIST)

    dentist.refresh_from_db()
    root.refresh_from_db()
    assert not dentist.is_staff
    assert root.is_staff and root.is_superuser


def test_assign_role_creates_the_groups_if_the_database_has_none_yet() -> None:
    Group.objects.all().delete()
    user = factories.UserFactory(password="!")

    assign_role(user=user, role="operator")

    assert user.groups.get().name == "operator"
    assert user.has_perm("booking.change_appointment")
