"""One-time codes and the patients' pages: sign in with phone + code, register online, "my page".

Through the service (otp.py) for the rules — format, life, tries, limits, the SMS text — and through HTTP
with Django's test client for the flows a patient goes through.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.utils import timezone, translation
from pytest_django.fixtures import Settings as SettingsWrapper

from navbat.accounts import otp
from navbat.accounts.access import own_patient
from navbat.accounts.audit import Actor
from navbat.accounts.models import AuditEntry, OneTimeCode, OtpPurpose
from navbat.accounts.otp_forms import CONSENT_TEXT_VERSION
from navbat.accounts.otp_views import client_ip, initials
from navbat.booking.services import book_appointment
from navbat.booking.statuses import Channel
from navbat.clinic.models import Clinic, StaffRole
from navbat.errors import DomainError
from navbat.notify.backends import MemoryBackend, Message
from navbat.patients.models import Consent, ConsentKind, Guardianship, Patient
from navbat.patients.services import PatientData
from tests import factories
from tests.small_clinic import MONDAY, NOW, SmallClinic, at

pytestmark = pytest.mark.django_db

# 10:15 UTC: 45 minutes left in the hour, 13 h 45 min in the (UTC) day.
T0 = datetime(2027, 3, 1, 10, 15, tzinfo=UTC)
PHONE = "+998901234567"
OTHER_PHONE = "+998911112267"  # the same last two digits: the code page shows "+998 … 67" for both
IP = "203.0.113.5"

Ask = Callable[..., otp.OtpChallenge]


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def outbox(settings: SettingsWrapper) -> list[Message]:
    settings.NAVBAT_NOTIFY_BACKEND = "navbat.notify.backends.MemoryBackend"
    MemoryBackend.clear()
    return MemoryBackend.outbox


@pytest.fixture
def clinic() -> Clinic:
    return factories.ClinicFactory(name="Yunusobod tish poliklinikasi")


@pytest.fixture
def adult(clinic: Clinic) -> Patient:
    return factories.PatientFactory(
        clinic=clinic,
        surname="Yuldasheva",
        name="Malika",
        phone=PHONE,
        birth_date=date(1990, 5, 17),
        number="NB-000007-5",
        preferred_language="en",
    )


@pytest.fixture
def ask(clinic: Clinic, outbox: list[Message], django_capture_on_commit_callbacks: Any) -> Ask:
    """request_code as a page calls it, with its on-commit SMS delivered."""

    def ask(**overrides: Any) -> otp.OtpChallenge:
        arguments: dict[str, Any] = {
            "phone": PHONE,
            "purpose": "login",
            "ip": IP,
            "clinic": clinic,
            "now": T0,
        }
        arguments |= overrides
        with django_capture_on_commit_callbacks(execute=True):
            return otp.request_code(**arguments)

    return ask


def code_in(message: Message) -> str:
    found = re.search(r"\b(\d{6})\b", message.text)
    assert found, "no code in the message"
    return found.group(1)


def refusal(error: pytest.ExceptionInfo[DomainError]) -> tuple[str, dict[str, Any]]:
    return str(error.value.code), error.value.details


# The code: format, life, tries ---------------------------------------------------------------------------


def test_a_code_is_six_digits_sent_by_sms_and_valid_for_five_minutes(
    ask: Ask, adult: Patient, outbox: list[Message]
) -> None:
    challenge = ask(phone="90 123-45-67")  # as a person types it

    [message] = outbox
    assert message.channel == "sms"
    assert message.to == PHONE
    assert re.fullmatch(r"\d{6}", code_in(message))
    assert message.idempotency_key == f"otp:{challenge.id}"
    assert challenge.phone == PHONE
    assert challenge.expires_at - T0 == timedelta(minutes=5)


def test_codes_are_random(ask: Ask, adult: Patient, outbox: list[Message]) -> None:
    for _ in range(5):
        ask()

    assert len({code_in(message) for message in outbox}) > 1


def test_the_code_is_stored_only_as_a_keyed_hash(ask: Ask, adult: Patient, outbox: list[Message]) -> None:
    challenge = ask()
    code = code_in(outbox[0])

    row = OneTimeCode.objects.values().get(public_id=challenge.id)

    assert all(code not in str(value) for value in row.values())
    assert len(row["code_hash"]) == 64


def test_the_right_code_verifies_the_phone_once(ask: Ask, adult: Patient, outbox: list[Message]) -> None:
    challenge = ask()
    code = code_in(outbox[0])

    verified = otp.verify_code(challenge_id=challenge.id, code=code, ip=IP, now=T0 + timedelta(minutes=1))
    with pytest.raises(DomainError) as again:
        otp.verify_code(challenge_id=challenge.id, code=code, ip=IP, now=T0 + timedelta(minutes=2))

    assert (verified.phone, verified.purpose, verified.clinic_id) == (
        PHONE,
        OtpPurpose.LOGIN,
        adult.clinic_id,
    )
    assert refusal(again)[0] == "otp_used"


def test_a_code_copied_with_a_space_is_accepted(ask: Ask, adult: Patient, outbox: list[Message]) -> None:
    challenge = ask()
    code = code_in(outbox[0])

    verified = otp.verify_code(challenge_id=str(challenge.id), code=f" {code[:3]} {code[3:]} ", ip=IP, now=T0)

    assert verified.phone == PHONE


def test_three_wrong_tries_kill_the_challenge(ask: Ask, adult: Patient, outbox: list[Message]) -> None:
    challenge = ask()
    code = code_in(outbox[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    left = []
    for _ in range(3):
        with pytest.raises(DomainError) as error:
            otp.verify_code(challenge_id=challenge.id, code=wrong, ip=IP, now=T0)
        code_name, details = refusal(error)
        assert code_name == "otp_wrong"
        left.append(details["tries_left"])
    with pytest.raises(DomainError) as right_but_too_late:
        otp.verify_code(challenge_id=challenge.id, code=code, ip=IP, now=T0)

    assert left == [2, 1, 0]
    assert refusal(right_but_too_late)[0] == "otp_locked"


def test_a_code_works_until_its_fifth_minute_ends(ask: Ask, adult: Patient, outbox: list[Message]) -> None:
    in_time, too_late = ask(), ask(ip="203.0.113.6")
    code_in_time, code_too_late = code_in(outbox[0]), code_in(outbox[1])

    verified = otp.verify_code(
        challenge_id=in_time.id, code=code_in_time, ip=IP, now=T0 + timedelta(minutes=4, seconds=59)
    )
    with pytest.raises(DomainError) as error:
        otp.verify_code(challenge_id=too_late.id, code=code_too_late, ip=IP, now=T0 + timedelta(minutes=5))

    assert verified.phone == PHONE
    assert refusal(error)[0] == "otp_expired"


@pytest.mark.parametrize("challenge_id", ["not-a-uuid", "6f1c2a3e-0000-4000-8000-000000000000"])
def test_an_unknown_challenge_is_an_expired_code(challenge_id: str) -> None:
    with pytest.raises(DomainError) as error:
        otp.verify_code(challenge_id=challenge_id, code="123456", ip=IP)

    assert refusal(error)[0] == "otp_expired"


def test_a_bad_phone_number_is_refused_and_counts_nothing(ask: Ask, outbox: list[Message]) -> None:
    with pytest.raises(DomainError) as error:
        ask(phone="12345")

    assert refusal(error)[0] == "bad_phone"
    assert not OneTimeCode.objects.exists()
    assert outbox == []


# Limits per phone and per address -------------------------------------------------------------------------


def test_a_phone_gets_five_codes_an_hour_then_waits_for_the_next_hour(ask: Ask, adult: Patient) -> None:
    for attempt in range(5):
        ask(ip=f"198.51.100.{attempt}", now=T0 + timedelta(minutes=attempt))

    with pytest.raises(DomainError) as error, translation.override("en"):
        ask(ip="198.51.100.99", now=T0 + timedelta(minutes=10))
    next_hour = ask(ip="198.51.100.99", now=T0 + timedelta(minutes=45))

    assert refusal(error) == ("otp_rate_limited", {"retry_after": 35 * 60})
    assert "35 minutes" in str(error.value.message)
    assert next_hour.phone == PHONE


def test_a_phone_gets_twenty_codes_a_day(ask: Ask, adult: Patient) -> None:
    for hour in range(4):
        for attempt in range(5):
            ask(ip=f"198.51.100.{hour * 5 + attempt}", now=T0 + timedelta(hours=hour, minutes=attempt))

    with pytest.raises(DomainError) as error:
        ask(ip="198.51.100.200", now=T0 + timedelta(hours=4))
    tomorrow = ask(ip="198.51.100.200", now=datetime(2027, 3, 2, 0, 0, tzinfo=UTC))

    end_of_day = datetime(2027, 3, 2, tzinfo=UTC)
    assert refusal(error) == (
        "otp_rate_limited",
        {"retry_after": int((end_of_day - (T0 + timedelta(hours=4))).total_seconds())},
    )
    assert tomorrow.phone == PHONE


def phone_number(index: int) -> str:
    return f"+99893{1000000 + index}"


def test_an_address_gets_twenty_codes_an_hour(ask: Ask) -> None:
    for index in range(20):
        ask(phone=phone_number(index))

    with pytest.raises(DomainError) as error:
        ask(phone=phone_number(20), now=T0 + timedelta(minutes=30))

    assert refusal(error) == ("otp_rate_limited", {"retry_after": 15 * 60})


def test_an_address_gets_a_hundred_codes_a_day(ask: Ask) -> None:
    for index in range(100):
        ask(phone=phone_number(index), now=T0 + timedelta(hours=index // 20, minutes=index % 20))

    with pytest.raises(DomainError) as error:
        ask(phone=phone_number(100), now=T0 + timedelta(hours=5))

    end_of_day = datetime(2027, 3, 2, tzinfo=UTC)
    assert refusal(error) == (
        "otp_rate_limited",
        {"retry_after": int((end_of_day - (T0 + timedelta(hours=5))).total_seconds())},
    )


def test_a_refused_request_uses_up_nothing(ask: Ask, adult: Patient) -> None:
    """Refused by the address's limit, the phone's own counters are untouched (and vice versa)."""
    for index in range(20):
        ask(phone=phone_number(index))
    for _ in range(3):
        with pytest.raises(DomainError):
            ask()  # PHONE from the exhausted address

    for attempt in range(5):
        ask(ip=f"198.51.100.{attempt}")

    assert OneTimeCode.objects.filter(phone=PHONE).count() == 5


def test_limits_come_from_the_settings(ask: Ask, adult: Patient, settings: SettingsWrapper) -> None:
    settings.NAVBAT_OTP_LIMITS = settings.NAVBAT_OTP_LIMITS | {"phone_per_hour": 1}
    ask()

    with pytest.raises(DomainError) as error:
        ask(ip="198.51.100.1")

    assert refusal(error)[0] == "otp_rate_limited"


# The SMS ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "warning"),
    [
        ("en", "the clinic will never ask you for this code; fraudsters posing as the clinic do"),
        ("ru", "клиника никогда не спросит у вас этот код"),
        ("uz", "klinika bu kodni sizdan hech qachon soʻramaydi"),
    ],
)
def test_the_sms_warns_never_to_tell_the_code_in_the_patients_language(
    ask: Ask, adult: Patient, outbox: list[Message], language: str, warning: str
) -> None:
    adult.preferred_language = language
    adult.save()

    ask(language="en" if language != "en" else "ru")  # the page's language: the patient's wins

    [message] = outbox
    assert warning in message.text
    assert code_in(message) in message.text
    assert "5" in message.text


def test_a_registration_code_speaks_the_language_chosen_on_the_form(ask: Ask, outbox: list[Message]) -> None:
    ask(purpose="register", language="ru")

    assert "мошенники" in outbox[0].text


def test_no_code_or_phone_reaches_the_logs(
    ask: Ask, adult: Patient, outbox: list[Message], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        challenge = ask()
        code = code_in(outbox[0])
        otp.verify_code(challenge_id=challenge.id, code=code, ip=IP, now=T0)

    assert code not in caplog.text
    assert PHONE not in caplog.text
    assert "901234567" not in caplog.text


# Who may sign in -----------------------------------------------------------------------------------------


def test_a_phone_nobody_may_sign_in_with_gets_no_code_but_looks_the_same(
    ask: Ask, outbox: list[Message]
) -> None:
    challenge = ask(phone=OTHER_PHONE)

    with pytest.raises(DomainError) as error:
        otp.verify_code(challenge_id=challenge.id, code="123456", ip=IP, now=T0)

    assert outbox == []
    assert refusal(error) == ("otp_wrong", {"tries_left": 2})


def test_a_childs_own_phone_is_not_a_sign_in(ask: Ask, clinic: Clinic, outbox: list[Message]) -> None:
    factories.PatientFactory(clinic=clinic, phone=PHONE, birth_date=date(2015, 1, 1))

    ask()

    assert outbox == []


def test_a_registration_code_is_sent_whoever_has_the_phone(ask: Ask, outbox: list[Message]) -> None:
    ask(phone=OTHER_PHONE, purpose="register")

    assert len(outbox) == 1


def test_signing_in_creates_the_account_once_and_audits_the_link(
    ask: Ask, adult: Patient, outbox: list[Message]
) -> None:
    actor = Actor(user=None, ip=IP, path="/me/code/")
    first = ask()
    verified = otp.verify_code(challenge_id=first.id, code=code_in(outbox[0]), ip=IP, now=T0)
    user = otp.sign_in(verified=verified, patient_id=adult.pk, actor=actor, now=T0)
    again = ask(now=T0 + timedelta(minutes=1))
    verified_again = otp.verify_code(challenge_id=again.id, code=code_in(outbox[1]), ip=IP, now=T0)

    assert otp.sign_in(verified=verified_again, patient_id=adult.pk, actor=actor, now=T0) == user
    assert user.username == adult.number
    assert not user.has_usable_password()
    assert own_patient(user) == adult
    assert AuditEntry.objects.filter(patient_id=adult.pk, fields=["user"]).count() == 1


def test_a_verified_phone_signs_in_only_as_an_adult_on_it(
    ask: Ask, adult: Patient, clinic: Clinic, outbox: list[Message]
) -> None:
    stranger = factories.PatientFactory(clinic=clinic)
    challenge = ask()
    verified = otp.verify_code(challenge_id=challenge.id, code=code_in(outbox[0]), ip=IP, now=T0)

    with pytest.raises(DomainError) as error:
        otp.sign_in(verified=verified, patient_id=stranger.pk, actor=Actor(user=None), now=T0)

    assert refusal(error)[0] == "not_on_phone"


def test_a_verification_is_good_for_a_few_minutes_only(
    ask: Ask, adult: Patient, outbox: list[Message]
) -> None:
    challenge = ask()
    verified = otp.verify_code(challenge_id=challenge.id, code=code_in(outbox[0]), ip=IP, now=T0)

    with pytest.raises(DomainError) as error:
        otp.sign_in(
            verified=verified, patient_id=adult.pk, actor=Actor(user=None), now=T0 + timedelta(minutes=6)
        )

    assert refusal(error)[0] == "otp_expired"


def test_self_registration_needs_a_registration_code(ask: Ask, adult: Patient, outbox: list[Message]) -> None:
    challenge = ask()  # a sign-in code
    verified = otp.verify_code(challenge_id=challenge.id, code=code_in(outbox[0]), ip=IP, now=T0)
    data = PatientData(surname="Karimov", name="Bobur", birth_date=date(1985, 1, 2), phone=PHONE)

    with pytest.raises(DomainError) as error:
        otp.register_self(verified=verified, data=data, consent_version="v", actor=Actor(user=None), now=T0)

    assert refusal(error)[0] == "otp_expired"


# Pages -------------------------------------------------------------------------------------------------


def post(capture: Any, client: Client, url: str, data: dict[str, Any], **extra: Any) -> Any:
    """A form submitted by a browser; SMS sent on commit are delivered."""
    with capture(execute=True):
        return client.post(url, data, HTTP_ACCEPT_LANGUAGE="en", **extra)


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    def send(client: Client, url: str, data: dict[str, Any], **extra: Any) -> Any:
        return post(django_capture_on_commit_callbacks, client, url, data, **extra)

    return send


def test_a_registered_patient_signs_in_with_phone_and_code(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    form = client.get("/me/login/", HTTP_ACCEPT_LANGUAGE="en")
    asked = send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": "90 123 45 67"})
    code_page = client.get("/me/code/", HTTP_ACCEPT_LANGUAGE="en")
    signed_in = send(client, "/me/code/", {"code": code_in(outbox[0])})
    my_page = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")

    assert form.status_code == 200
    assert '<label for="id_phone"' in form.content.decode()
    assert (asked.status_code, asked["Location"]) == (302, "/me/code/")
    assert "+998 … 67" in code_page.content.decode()
    assert adult.surname not in code_page.content.decode()
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/me/")
    html = my_page.content.decode()
    assert my_page.status_code == 200
    assert "Yuldasheva Malika" in html
    assert "NB-000007-5" in html
    assert "not yet confirmed" in html
    assert PHONE not in client.session.values()


def test_an_unknown_phone_gets_the_same_pages_and_no_code(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    known, unknown = Client(), Client()
    send(known, "/me/login/", {"clinic": adult.clinic_id, "phone": PHONE})
    send(unknown, "/me/login/", {"clinic": adult.clinic_id, "phone": OTHER_PHONE})
    known_page = known.get("/me/code/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    unknown_page = unknown.get("/me/code/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    guessed = send(unknown, "/me/code/", {"code": "123456"})

    assert [message.to for message in outbox] == [PHONE]
    assert without_csrf(unknown_page) == without_csrf(known_page)
    assert "If a patient of the clinic has the number" in unknown_page
    assert guessed.status_code == 400
    assert "The code is wrong. You have 2 more tries." in guessed.content.decode()
    assert "_auth_user_id" not in unknown.session


def test_a_wrong_code_on_the_page_is_a_400_with_the_tries_left(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": PHONE})
    code = code_in(outbox[0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [send(client, "/me/code/", {"code": wrong}) for _ in range(3)]
    too_late = send(client, "/me/code/", {"code": code})

    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert "1 more try." in answers[1].content.decode()
    assert "no tries are left" in answers[2].content.decode()
    assert too_late.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_code_that_is_not_six_digits_costs_no_try(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": PHONE})

    answer = send(client, "/me/code/", {"code": "12ab"})

    assert answer.status_code == 400
    assert "The code has 6 digits." in answer.content.decode()
    assert OneTimeCode.objects.get().tries_left == 3


def test_a_new_code_can_be_asked_for_from_the_code_page(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": PHONE})

    resent = send(client, "/me/code/", {"resend": "1"})
    signed_in = send(client, "/me/code/", {"code": code_in(outbox[1])})

    assert len(outbox) == 2
    assert resent.status_code == 302
    assert signed_in["Location"] == "/me/"


def test_too_many_codes_from_the_page_is_a_429_with_retry_after(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    answers = [send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": PHONE}) for _ in range(6)]

    assert [answer.status_code for answer in answers] == [302] * 5 + [429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 3600
    assert "Too many codes have been asked for" in answers[-1].content.decode()
    assert len(outbox) == 5


def test_adults_sharing_a_phone_choose_by_initials_after_the_code(
    client: Client, send: Callable[..., Any], adult: Patient, clinic: Clinic, outbox: list[Message]
) -> None:
    husband = factories.PatientFactory(
        clinic=clinic, surname="Karimov", name="Jasur", phone=PHONE, birth_date=date(1988, 2, 3)
    )
    send(client, "/me/login/", {"clinic": clinic.pk, "phone": PHONE})
    code_page = client.get("/me/code/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    to_who = send(client, "/me/code/", {"code": code_in(outbox[0])})
    who = client.get("/me/who/", HTTP_ACCEPT_LANGUAGE="en")
    chosen = send(client, "/me/who/", {"patient": husband.pk})

    assert "Karimov" not in code_page and "Yuldasheva" not in code_page
    assert to_who["Location"] == "/me/who/"
    html = who.content.decode()
    assert "K. J." in html and "Y. M." in html
    assert "Karimov" not in html and "Yuldasheva" not in html
    assert chosen["Location"] == "/me/"
    assert Patient.objects.get(pk=husband.pk).user_id is not None
    assert Patient.objects.get(pk=adult.pk).user_id is None


def test_the_choice_cannot_name_someone_else(
    client: Client, send: Callable[..., Any], adult: Patient, clinic: Clinic, outbox: list[Message]
) -> None:
    factories.PatientFactory(clinic=clinic, surname="Karimov", phone=PHONE, birth_date=date(1988, 2, 3))
    stranger = factories.PatientFactory(clinic=clinic)
    send(client, "/me/login/", {"clinic": clinic.pk, "phone": PHONE})
    send(client, "/me/code/", {"code": code_in(outbox[0])})

    answer = send(client, "/me/who/", {"patient": stranger.pk})

    assert answer.status_code == 400
    assert "_auth_user_id" not in client.session


def test_the_choice_page_needs_a_verified_phone(client: Client) -> None:
    assert client.get("/me/who/")["Location"] == "/me/login/"
    assert client.get("/me/code/")["Location"] == "/me/login/"


def test_initials_tell_apart_family_members_with_the_same_ones() -> None:
    twins = [
        Patient(pk=1, surname="Aliyev", name="Aziz", birth_date=date(1990, 1, 1)),
        Patient(pk=2, surname="Aliyev", name="Anvar", birth_date=date(1995, 1, 1)),
        Patient(pk=3, surname="Qodirova", name="Zarina", birth_date=date(1992, 1, 1)),
    ]

    assert initials(twins) == [(1, "A. A. (1990)"), (2, "A. A. (1995)"), (3, "Q. Z.")]


REGISTRATION = {
    "surname": "Karimova",
    "name": "Dilnoza",
    "patronymic": "Rustamovna",
    "birth_date": "1994-07-12",
    "sex": "female",
    "phone": "+998 93 555 12 34",
    "preferred_language": "uz",
    "consent": "on",
}


def test_a_person_registers_online_and_is_signed_in_unverified(
    client: Client, send: Callable[..., Any], clinic: Clinic, outbox: list[Message]
) -> None:
    form = client.get("/me/register/", HTTP_ACCEPT_LANGUAGE="en")
    asked = send(client, "/me/register/", REGISTRATION | {"clinic": clinic.pk})
    nothing_yet = Patient.objects.count()
    done = send(client, "/me/code/", {"code": code_in(outbox[0])})
    my_page = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")

    html = form.content.decode()
    assert form.status_code == 200
    for field in ("surname", "name", "patronymic", "birth_date", "phone", "preferred_language", "consent"):
        assert f'for="id_{field}' in html, field
    assert "processes my personal data" in html
    assert asked["Location"] == "/me/code/"
    assert nothing_yet == 0
    assert "hech qachon" in outbox[0].text  # the SMS in the language chosen on the form
    assert done["Location"] == "/me/"
    patient = Patient.objects.get()
    assert (patient.surname, patient.name, patient.patronymic) == ("Karimova", "Dilnoza", "Rustamovna")
    assert str(patient.phone) == "+998935551234"
    assert patient.self_registered and not patient.is_verified
    assert re.fullmatch(r"NB-\d{6}-\d", patient.number or "")
    consent = Consent.objects.get(patient=patient)
    assert (consent.kind, consent.granted, consent.text_version) == (
        ConsentKind.PERSONAL_DATA,
        True,
        CONSENT_TEXT_VERSION,
    )
    assert own_patient(get_user_model().objects.get(pk=client.session["_auth_user_id"])) == patient
    assert str(patient.number) in my_page.content.decode()
    # His pages speak the language he chose on the form (Uzbek), not the browser's English.
    assert "hali tasdiqlanmagan" in my_page.content.decode()
    assert AuditEntry.objects.filter(patient_id=patient.pk, action="create", ip_address="127.0.0.1").exists()


def test_a_possible_duplicate_is_not_shown_to_the_public(
    client: Client, send: Callable[..., Any], clinic: Clinic, outbox: list[Message]
) -> None:
    existing = factories.PatientFactory(
        clinic=clinic, surname="Karimova", name="Dilnoza", birth_date=date(1994, 7, 12), number="NB-000042-1"
    )
    send(client, "/me/register/", REGISTRATION | {"clinic": clinic.pk})

    answer = send(client, "/me/code/", {"code": code_in(outbox[0])})

    html = answer.content.decode()
    assert answer.status_code == 409
    assert "come to the clinic's registry" in html
    assert existing.number not in html
    assert str(existing.phone) not in html
    assert "already registered" not in html
    assert Patient.objects.count() == 1
    assert "_auth_user_id" not in client.session


def test_registration_into_the_clinic_chosen_on_the_page(
    client: Client, send: Callable[..., Any], clinic: Clinic, outbox: list[Message]
) -> None:
    other = factories.ClinicFactory(name="Chilonzor stomatologiya", patient_prefix="CH")

    page = client.get("/me/register/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    send(client, "/me/register/", REGISTRATION | {"clinic": other.pk})
    send(client, "/me/code/", {"code": code_in(outbox[0])})

    assert '<select name="clinic"' in page
    assert "Chilonzor stomatologiya" in page and "Yunusobod tish poliklinikasi" in page
    assert Patient.objects.get().clinic == other
    assert str(Patient.objects.get().number).startswith("CH-")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phone": "12345"}, "This is not a valid phone number."),
        ({"phone": ""}, "This field is required."),
        ({"consent": ""}, "Registration needs your consent"),
        ({"birth_date": "2099-01-01"}, "The date of birth cannot be in the future."),
        ({"birth_date": "2020-01-01"}, "Online registration is for adults."),
        ({"birth_date": "31.02.1990"}, "Enter a valid date."),
        ({"surname": "  "}, "This field is required."),
        ({"sex": "other"}, "Select a valid choice."),
    ],
    ids=["bad-phone", "no-phone", "no-consent", "future-birth", "child", "no-such-date", "no-surname", "sex"],
)
def test_bad_registration_input_is_a_400_with_the_form_and_nothing_is_created(
    client: Client,
    send: Callable[..., Any],
    clinic: Clinic,
    outbox: list[Message],
    change: dict[str, str],
    message: str,
) -> None:
    answer = send(client, "/me/register/", REGISTRATION | {"clinic": clinic.pk} | change)

    html = answer.content.decode()
    assert answer.status_code == 400
    assert message in html
    assert '<form method="post"' in html
    assert 'value="Karimova"' in html or change.get("surname")  # what was typed is kept
    assert not Patient.objects.exists()
    assert not OneTimeCode.objects.exists()
    assert outbox == []


def test_a_bad_phone_on_the_sign_in_page_is_a_400(
    client: Client, send: Callable[..., Any], clinic: Clinic, outbox: list[Message]
) -> None:
    answer = send(client, "/me/login/", {"clinic": clinic.pk, "phone": "+1 555"})

    assert answer.status_code == 400
    assert "This is not a valid phone number." in answer.content.decode()
    assert not OneTimeCode.objects.exists()


def test_the_pages_speak_uzbek_and_russian(client: Client, clinic: Clinic) -> None:
    uzbek = client.get("/me/login/", HTTP_ACCEPT_LANGUAGE="uz").content.decode()
    russian = client.get("/me/register/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Sign in with your phone" not in uzbek
    assert "Register online" not in russian
    assert "Фамилия" in russian


# My page ------------------------------------------------------------------------------------------------


def test_my_page_shows_my_children_and_upcoming_appointments(
    client: Client, small_clinic: SmallClinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = small_clinic
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    child = factories.PatientFactory(
        clinic=c.clinic, surname="Testova", name="Laylo", phone="", birth_date=date(2018, 4, 1)
    )
    Guardianship.objects.create(guardian=c.patient, child=child, relation=Guardianship.Relation.MOTHER)
    book_appointment(
        patient=c.patient, service=c.therapy, starts_at=at(MONDAY, 10), channel=Channel.PHONE, now=NOW
    )
    book_appointment(
        patient=child, service=c.therapy, starts_at=at(MONDAY, 11), channel=Channel.PHONE, now=NOW
    )
    user = otp.account_for(patient=c.patient, actor=Actor(user=None))
    client.force_login(user)

    page = client.get("/me/", HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Testova Laylo" in html
    assert "1 March 2027, 10:00" in html
    assert "1 March 2027, 11:00" in html
    assert c.other_patient.surname not in html


def test_my_page_wants_a_signed_in_patient(client: Client, clinic: Clinic) -> None:
    anonymous = client.get("/me/")
    registrar = factories.StaffFactory(clinic=clinic, role=StaffRole.REGISTRAR)
    client.force_login(registrar.user)
    staff = client.get("/me/")

    assert anonymous["Location"] == "/me/login/"
    assert staff.status_code == 403


def test_sign_out(client: Client, adult: Patient) -> None:
    client.force_login(otp.account_for(patient=adult, actor=Actor(user=None)))

    refused = client.get("/me/logout/")
    answer = client.post("/me/logout/")

    assert refused.status_code == 405
    assert answer["Location"] == "/me/login/"
    assert "_auth_user_id" not in client.session


# Where a request comes from ------------------------------------------------------------------------------


def test_behind_a_trusted_proxy_the_client_is_the_address_it_saw(settings: SettingsWrapper) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")

    settings.NAVBAT_TRUSTED_PROXIES = 0
    direct = client_ip(request)
    settings.NAVBAT_TRUSTED_PROXIES = 1
    proxied = client_ip(request)

    assert (direct, proxied) == ("10.0.0.2", "203.0.113.7")


def test_signing_in_returns_the_patient_to_the_page_that_sent_him(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    client.get("/me/login/?next=/book/", HTTP_ACCEPT_LANGUAGE="en")
    send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": "90 123 45 67"})
    signed_in = send(client, "/me/code/", {"code": code_in(outbox[0])})

    assert (signed_in.status_code, signed_in["Location"]) == (302, "/book/")


def test_a_next_page_on_another_site_is_ignored(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    client.get("/me/login/?next=https://evil.example/steal", HTTP_ACCEPT_LANGUAGE="en")
    send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": "90 123 45 67"})
    signed_in = send(client, "/me/code/", {"code": code_in(outbox[0])})

    assert (signed_in.status_code, signed_in["Location"]) == (302, "/me/")


def test_a_language_chosen_on_this_device_before_signing_in_becomes_his_preference(
    client: Client, send: Callable[..., Any], adult: Patient, outbox: list[Message]
) -> None:
    client.post("/language/", {"language": "ru", "next": "/me/login/"})
    send(client, "/me/login/", {"clinic": adult.clinic_id, "phone": "90 123 45 67"})
    signed_in = send(client, "/me/code/", {"code": code_in(outbox[0])})

    adult.refresh_from_db()
    assert adult.preferred_language == "ru"
    assert signed_in.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
