"""A realistic demo clinic, built deterministically from a seed. Every person in it is generated, never real.

`build_demo_clinic(DemoSpec())` makes the clinic `make demo` shows; the benchmark builds one ten times larger.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction

from navbat.accounts.access import Role
from navbat.accounts.services import assign_role
from navbat.booking.models import Appointment, AppointmentEvent, Urgency
from navbat.booking.selectors import load_availability
from navbat.booking.statuses import Channel, Status
from navbat.booking.waitlist import join_waitlist
from navbat.clinic.models import (
    CapacityPolicy,
    Chair,
    Clinic,
    Department,
    DepartmentKind,
    Equipment,
    Funding,
    PlanInterval,
    PlanIntervalKind,
    ScheduleException,
    ScheduleExceptionKind,
    Service,
    Specialty,
    StaffMember,
    StaffRole,
    WorkingPlan,
)
from navbat.clinic.selectors import urgent_codes
from navbat.notify.services import plan_appointment_messages, policies_read_once
from navbat.patients.models import Consent, ConsentKind, Guardianship, Patient, PatientCounter, Sex
from navbat.patients.services import patient_number, refresh_search_keys

DEMO_PASSWORD = "navbat-demo"
DEMO_CONSENT_VERSION = "demo-1"
# What share of the demo's adults agreed to messages of each kind.
DEMO_CONSENT_SHARES = ((ConsentKind.SMS, 0.8), (ConsentKind.MESSENGER, 0.3), (ConsentKind.EMAIL, 0.2))

SPECIALTIES = [  # code, uz, ru, en
    ("therapist", "Stomatolog-terapevt", "Стоматолог-терапевт", "Therapeutic dentist"),
    ("surgeon", "Stomatolog-jarroh", "Стоматолог-хирург", "Oral surgeon"),
    ("orthodontist", "Ortodont", "Ортодонт", "Orthodontist"),
    ("paediatric", "Bolalar stomatologi", "Детский стоматолог", "Paediatric dentist"),
    ("periodontist", "Parodontolog", "Пародонтолог", "Periodontist"),
    ("prosthodontist", "Stomatolog-ortoped", "Стоматолог-ортопед", "Prosthodontist"),
    ("hygienist", "Gigiyenist", "Гигиенист", "Dental hygienist"),
]

EQUIPMENT = [
    ("xray", "Rentgen apparati", "Рентген-аппарат", "X-ray unit"),
    ("microscope", "Dental mikroskop", "Дентальный микроскоп", "Dental microscope"),
    ("scaler", "Ultratovushli skaler", "Ультразвуковой скалер", "Ultrasonic scaler"),
]

# code, uz, ru, en, minutes, specialty, equipment, price (UZS), funding, min age, max age
SERVICES = [
    (
        "consult",
        "Birlamchi koʻrik va maslahat",
        "Первичный осмотр и консультация",
        "First examination and consultation",
        20,
        "therapist",
        [],
        80_000,
        Funding.STATE,
        18,
        None,
    ),
    (
        "caries-1",
        "Karies davolash (bitta tish)",
        "Лечение кариеса (один зуб)",
        "Caries treatment (one tooth)",
        45,
        "therapist",
        [],
        350_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "filling-photo",
        "Fotopolimer plomba",
        "Светоотверждаемая пломба",
        "Light-cured composite filling",
        60,
        "therapist",
        [],
        450_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "pulpitis",
        "Pulpit davolash",
        "Лечение пульпита",
        "Pulpitis treatment",
        60,
        "therapist",
        ["xray"],
        600_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "endo-micro",
        "Mikroskop ostida kanal davolash",
        "Лечение каналов под микроскопом",
        "Root canal treatment under microscope",
        90,
        "therapist",
        ["microscope", "xray"],
        1_500_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "xray-tooth",
        "Tish rentgen surati",
        "Прицельный рентген-снимок зуба",
        "Periapical X-ray",
        10,
        "therapist",
        ["xray"],
        60_000,
        Funding.STATE,
        None,
        None,
    ),
    (
        "pain-relief",
        "Shoshilinch ogʻriqni qoldirish",
        "Неотложное снятие боли",
        "Urgent pain relief",
        30,
        "therapist",
        [],
        0,
        Funding.STATE,
        None,
        None,
    ),
    (
        "extraction",
        "Tish olib tashlash (oddiy)",
        "Удаление зуба (простое)",
        "Tooth extraction (simple)",
        30,
        "surgeon",
        ["xray"],
        250_000,
        Funding.STATE,
        18,
        None,
    ),
    (
        "extraction-wisdom",
        "Aql tishini olib tashlash",
        "Удаление зуба мудрости",
        "Wisdom tooth removal",
        60,
        "surgeon",
        ["xray"],
        900_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "implant",
        "Implant oʻrnatish",
        "Установка импланта",
        "Dental implant placement",
        90,
        "surgeon",
        ["xray"],
        6_500_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "abscess",
        "Abstsessni ochish",
        "Вскрытие абсцесса",
        "Abscess drainage",
        30,
        "surgeon",
        [],
        0,
        Funding.STATE,
        None,
        None,
    ),
    (
        "ortho-consult",
        "Ortodont maslahati",
        "Консультация ортодонта",
        "Orthodontic consultation",
        30,
        "orthodontist",
        [],
        150_000,
        Funding.PAID,
        6,
        None,
    ),
    (
        "braces",
        "Breket-tizim oʻrnatish",
        "Установка брекет-системы",
        "Fitting braces",
        120,
        "orthodontist",
        [],
        8_000_000,
        Funding.PAID,
        10,
        None,
    ),
    (
        "braces-adjust",
        "Breketlarni sozlash",
        "Коррекция брекетов",
        "Braces adjustment",
        30,
        "orthodontist",
        [],
        300_000,
        Funding.PAID,
        10,
        None,
    ),
    (
        "child-exam",
        "Bolalar profilaktik koʻrigi",
        "Профилактический осмотр ребёнка",
        "Child check-up",
        20,
        "paediatric",
        [],
        0,
        Funding.STATE,
        0,
        17,
    ),
    (
        "child-caries",
        "Sut tishi kariesini davolash",
        "Лечение кариеса молочного зуба",
        "Milk-tooth caries treatment",
        40,
        "paediatric",
        [],
        0,
        Funding.STATE,
        0,
        17,
    ),
    (
        "child-sealing",
        "Fissuralarni germetiklash",
        "Герметизация фиссур",
        "Fissure sealing",
        30,
        "paediatric",
        [],
        0,
        Funding.STATE,
        5,
        17,
    ),
    (
        "child-extraction",
        "Sut tishini olib tashlash",
        "Удаление молочного зуба",
        "Milk-tooth extraction",
        20,
        "paediatric",
        ["xray"],
        0,
        Funding.STATE,
        0,
        17,
    ),
    (
        "fluoride",
        "Ftorlash",
        "Фторирование зубов",
        "Fluoride varnish",
        15,
        "paediatric",
        [],
        0,
        Funding.STATE,
        0,
        17,
    ),
    (
        "perio-consult",
        "Parodontolog maslahati",
        "Консультация пародонтолога",
        "Periodontal consultation",
        30,
        "periodontist",
        [],
        120_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "curettage",
        "Parodontal choʻntaklar kyuretaji",
        "Кюретаж пародонтальных карманов",
        "Periodontal curettage",
        60,
        "periodontist",
        ["scaler"],
        700_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "crown",
        "Metallokeramik toj",
        "Металлокерамическая коронка",
        "Porcelain-fused-to-metal crown",
        60,
        "prosthodontist",
        [],
        1_800_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "denture",
        "Olinadigan protez",
        "Съёмный протез",
        "Removable denture",
        60,
        "prosthodontist",
        [],
        2_500_000,
        Funding.PAID,
        18,
        None,
    ),
    (
        "hygiene",
        "Professional gigiyena",
        "Профессиональная гигиена полости рта",
        "Professional cleaning",
        45,
        "hygienist",
        ["scaler"],
        400_000,
        Funding.PAID,
        12,
        None,
    ),
    (
        "whitening",
        "Tishlarni oqartirish",
        "Отбеливание зубов",
        "Teeth whitening",
        60,
        "hygienist",
        [],
        1_200_000,
        Funding.PAID,
        18,
        None,
    ),
]

# Given names and surnames to combine at random: the people they make up do not exist.
MALE_NAMES = [
    "Aziz",
    "Bekzod",
    "Doston",
    "Eldor",
    "Farrux",
    "Jasur",
    "Javlon",
    "Otabek",
    "Rustam",
    "Sardor",
    "Sherzod",
    "Timur",
    "Ulugbek",
    "Zafar",
    "Anvar",
    "Dmitriy",
    "Sergey",
    "Ilya",
]
FEMALE_NAMES = [
    "Dilnoza",
    "Feruza",
    "Gulnora",
    "Madina",
    "Malika",
    "Nilufar",
    "Nodira",
    "Sevara",
    "Shahnoza",
    "Zarina",
    "Kamola",
    "Lola",
    "Yulduz",
    "Olga",
    "Natalya",
    "Irina",
]
SURNAMES = [
    "Abdullayev",
    "Aliyev",
    "Karimov",
    "Rahimov",
    "Yusupov",
    "Toshmatov",
    "Ergashev",
    "Nazarov",
    "Qodirov",
    "Sobirov",
    "Xolmatov",
    "Umarov",
    "Mirzayev",
    "Saidov",
    "Hasanov",
    "Joʻrayev",
    "Ismoilov",
    "Normatov",
    "Poʻlatov",
    "Yoʻldoshev",
    "Ivanov",
    "Petrov",
    "Smirnov",
    "Kuznetsov",
]


def _feminine(surname: str) -> str:
    return surname + "a" if surname.endswith(("ov", "ev", "yev")) else surname


@dataclass(frozen=True)
class DemoSpec:
    """How big a demo clinic to build. The defaults are the clinic `make demo` serves."""

    seed: int = 2026
    name: str = "Navbat demo stomatologiya poliklinikasi"
    time_zone: str = "Asia/Tashkent"
    username_prefix: str = ""
    therapists: int = 4
    surgeons: int = 2
    orthodontists: int = 1
    paediatric: int = 2
    periodontists: int = 1
    prosthodontists: int = 1
    hygienists: int = 1
    adult_chairs: int = 4
    children_chairs: int = 2
    surgery_chairs: int = 1
    ortho_chairs: int = 1
    plan_days: int = 28
    booked_days: int = 14
    booked_share: float = 0.66  # attempts; with gaps the share of time booked comes to about 60%
    patients: int = 600
    waiting: int = 12  # patients on the waitlist (and half as many booked ones waiting for earlier)

    def scaled(self, factor: int, **changes: object) -> DemoSpec:
        counts = {
            name: getattr(self, name) * factor
            for name in (
                "therapists",
                "surgeons",
                "orthodontists",
                "paediatric",
                "periodontists",
                "prosthodontists",
                "hygienists",
                "adult_chairs",
                "children_chairs",
                "surgery_chairs",
                "ortho_chairs",
                "patients",
            )
        }
        return DemoSpec(**{**self.__dict__, **counts, **changes})


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str = DEMO_PASSWORD


class _Builder:
    def __init__(self, spec: DemoSpec, now: datetime) -> None:
        self.spec = spec
        self.now = now
        self.today = now.astimezone(ZoneInfo(spec.time_zone)).date()
        self.rng = random.Random(spec.seed)
        self.logins: list[DemoLogin] = []

    # People ---------------------------------------------------------------------------------------------
    def person_name(self) -> tuple[str, str, bool]:
        female = self.rng.random() < 0.5
        surname = self.rng.choice(SURNAMES)
        given = self.rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        return (_feminine(surname) if female else surname), given, female

    def user(self, username: str, role: str, *, superuser: bool = False) -> User:
        surname, given, _female = self.person_name()
        user = User(
            username=self.spec.username_prefix + username,
            first_name=given,
            last_name=surname,
            is_staff=superuser or role in {StaffRole.ADMINISTRATOR, StaffRole.MANAGER},
            is_superuser=superuser,
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        assign_role(user=user, role=Role(role))
        self.logins.append(DemoLogin(user.username, role))
        return user

    # The clinic -----------------------------------------------------------------------------------------
    def build(self) -> tuple[Clinic, list[DemoLogin]]:
        spec = self.spec
        clinic = Clinic.objects.create(
            name=spec.name,
            address="Toshkent sh., Yunusobod t., Namuna koʻchasi 1 (demo)",
            time_zone=spec.time_zone,
            country="UZ",
        )
        departments: dict[str, Department] = {
            kind: Department.objects.create(clinic=clinic, name=name, kind=kind)
            for kind, name in [
                (DepartmentKind.ADULT, "Kattalar stomatologiyasi"),
                (DepartmentKind.CHILDREN, "Bolalar stomatologiyasi"),
                (DepartmentKind.SURGERY, "Jarrohlik stomatologiyasi"),
                (DepartmentKind.ORTHODONTICS, "Ortodontiya"),
            ]
        }
        specialties = {}
        for code, uz, ru, en in SPECIALTIES:
            specialties[code], _created = Specialty.objects.get_or_create(
                code=code, defaults={"name_uz": uz, "name_ru": ru, "name_en": en}
            )
        equipment = {
            code: Equipment.objects.create(clinic=clinic, code=code, name_uz=uz, name_ru=ru, name_en=en)
            for code, uz, ru, en in EQUIPMENT
        }
        chairs = self.chairs(departments, equipment)
        self.services(clinic, specialties, equipment)
        dentists = self.staff(clinic, departments, specialties, chairs)
        self.plans(clinic, dentists)
        self.appointments(clinic, dentists)
        # Issue 6's rules with their defaults: the emergency reserve (10% of each day), no-show limits.
        CapacityPolicy.objects.create(clinic=clinic)
        self.waitlist(clinic)
        return clinic, self.logins

    def chairs(
        self, departments: dict[str, Department], equipment: dict[str, Equipment]
    ) -> dict[str, list[Chair]]:
        spec = self.spec
        layout = [
            (DepartmentKind.ADULT, spec.adult_chairs, "Kreslo"),
            (DepartmentKind.CHILDREN, spec.children_chairs, "Bolalar kreslosi"),
            (DepartmentKind.SURGERY, spec.surgery_chairs, "Jarrohlik kreslosi"),
            (DepartmentKind.ORTHODONTICS, spec.ortho_chairs, "Ortodontiya kreslosi"),
        ]
        chairs: dict[str, list[Chair]] = defaultdict(list)
        for kind, count, label in layout:
            for number in range(1, count + 1):
                chair = Chair.objects.create(department=departments[kind], name=f"{label} {number}")
                # X-ray on every other chair and in surgery; a microscope and a scaler in some adult rooms.
                kit = []
                if number % 2 == 1 or kind == DepartmentKind.SURGERY:
                    kit.append(equipment["xray"])
                if kind == DepartmentKind.ADULT and number % 4 == 1:
                    kit.append(equipment["microscope"])
                if kind == DepartmentKind.ADULT and number % 2 == 0:
                    kit.append(equipment["scaler"])
                chair.equipment.set(kit)
                chairs[kind].append(chair)
        return chairs

    def services(
        self, clinic: Clinic, specialties: dict[str, Specialty], equipment: dict[str, Equipment]
    ) -> None:
        for code, uz, ru, en, minutes, specialty, kit, price, funding, min_age, max_age in SERVICES:
            service = Service.objects.create(
                clinic=clinic,
                code=code,
                name_uz=uz,
                name_ru=ru,
                name_en=en,
                duration_minutes=minutes,
                specialty=specialties[str(specialty)],
                price=Decimal(price),
                funding=funding,
                min_age=min_age,
                max_age=max_age,
            )
            service.equipment.set([equipment[name] for name in kit])

    def staff(
        self,
        clinic: Clinic,
        departments: dict[str, Department],
        specialties: dict[str, Specialty],
        chairs: dict[str, list[Chair]],
    ) -> list[tuple[StaffMember, Chair]]:
        spec = self.spec
        self.user("admin", StaffRole.ADMINISTRATOR, superuser=True)
        for username, role in [
            ("manager", StaffRole.MANAGER),
            ("registrar", StaffRole.REGISTRAR),
            ("operator", StaffRole.OPERATOR),
        ]:
            StaffMember.objects.create(
                user=self.user(username, role), clinic=clinic, role=role, languages="uz,ru"
            )
        groups = [
            ("therapist", spec.therapists, DepartmentKind.ADULT, ["therapist"]),
            ("surgeon", spec.surgeons, DepartmentKind.SURGERY, ["surgeon"]),
            ("orthodontist", spec.orthodontists, DepartmentKind.ORTHODONTICS, ["orthodontist"]),
            ("paediatric", spec.paediatric, DepartmentKind.CHILDREN, ["paediatric", "therapist"]),
            ("periodontist", spec.periodontists, DepartmentKind.ADULT, ["periodontist", "therapist"]),
            ("prosthodontist", spec.prosthodontists, DepartmentKind.ADULT, ["prosthodontist"]),
            ("hygienist", spec.hygienists, DepartmentKind.ADULT, ["hygienist"]),
        ]
        dentists: list[tuple[StaffMember, Chair]] = []
        for code, count, department, codes in groups:
            for number in range(1, count + 1):
                member = StaffMember.objects.create(
                    user=self.user(f"{code}{number}", StaffRole.DENTIST),
                    clinic=clinic,
                    role=StaffRole.DENTIST,
                    department=departments[department],
                    languages=self.rng.choice(["uz,ru", "uz,ru,en", "ru,uz", "uz"]),
                    bio=f"{self.rng.randint(3, 25)} yillik tajriba.",
                )
                member.specialties.set([specialties[name] for name in codes])
                room = chairs[department]
                dentists.append((member, room[(len(dentists)) % len(room)]))
        return dentists

    # Time -----------------------------------------------------------------------------------------------
    def plans(self, clinic: Clinic, dentists: list[tuple[StaffMember, Chair]]) -> None:
        """Two shifts as in a polyclinic (08:00–14:00, 14:00–20:00) alternating weekly, or days with lunch."""
        monday = self.today - timedelta(days=self.today.weekday())
        weeks = (self.spec.plan_days + (self.today - monday).days + 6) // 7
        intervals: list[PlanInterval] = []
        for index, (member, chair) in enumerate(dentists):
            pattern = index % 3
            for week in range(weeks):
                start = monday + timedelta(weeks=week)
                plan = WorkingPlan.objects.create(
                    staff=member, valid_from=start, valid_until=start + timedelta(days=6), default_chair=chair
                )
                morning = (week + index) % 2 == 0
                for weekday in range(6):
                    if pattern == 2:  # day shift with a lunch break, Saturdays short
                        end = time(14) if weekday == 5 else time(18)
                        intervals.append(PlanInterval(plan=plan, weekday=weekday, start=time(9), end=end))
                        if weekday != 5:
                            intervals.append(
                                PlanInterval(
                                    plan=plan,
                                    weekday=weekday,
                                    kind=PlanIntervalKind.BREAK,
                                    start=time(13),
                                    end=time(14),
                                )
                            )
                        continue
                    if weekday == 5 and pattern == 1:
                        continue  # this group rests on Saturdays
                    first, last = (time(8), time(14)) if morning else (time(14), time(20))
                    intervals.append(PlanInterval(plan=plan, weekday=weekday, start=first, end=last))
                    rest = time(11) if morning else time(17)
                    intervals.append(
                        PlanInterval(
                            plan=plan,
                            weekday=weekday,
                            kind=PlanIntervalKind.BREAK,
                            start=rest,
                            end=time(rest.hour, 20),
                        )
                    )
        PlanInterval.objects.bulk_create(intervals)
        # Somebody is always away: a week of leave and a sick day.
        if len(dentists) > 2:
            away = dentists[1][0]
            leave_start = self.today + timedelta(days=15)
            ScheduleException.objects.bulk_create(
                ScheduleException(
                    staff=away,
                    date=leave_start + timedelta(days=n),
                    kind=ScheduleExceptionKind.LEAVE,
                    note="Yillik taʼtil",
                )
                for n in range(7)
            )
            ScheduleException.objects.create(
                staff=dentists[2][0], date=self.today + timedelta(days=3), kind=ScheduleExceptionKind.SICK
            )

    def appointments(self, clinic: Clinic, dentists: list[tuple[StaffMember, Chair]]) -> None:
        """Fill about `booked_share` of the next `booked_days` with generated patients, never overlapping."""
        spec = self.spec
        patients = self.patients(clinic)
        adults = [p for p in patients if p.age_on(self.today) >= 18]
        children = [p for p in patients if p.age_on(self.today) < 18]
        services_by_specialty: dict[int, list[Service]] = defaultdict(list)
        for service in Service.objects.filter(clinic=clinic).prefetch_related("equipment"):
            services_by_specialty[service.specialty_id].append(service)
        chair_kit = {
            chair.pk: {e.pk for e in chair.equipment.all()}
            for chair in Chair.objects.filter(department__clinic=clinic).prefetch_related("equipment")
        }
        last_day = self.today + timedelta(days=spec.booked_days - 1)
        availability = load_availability(clinic=clinic, first_day=self.today, last_day=last_day)
        now = self.now
        staff_user = User.objects.filter(username=spec.username_prefix + "operator").first()
        chair_busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        patient_busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        rows: list[Appointment] = []
        for member, _chair in dentists:
            specialty_ids = list(availability.dentist_specialties.get(member.pk, ()))
            options = [s for spec_id in specialty_ids for s in services_by_specialty[spec_id]]
            default_chair = availability.default_chairs.get(member.pk)
            for span in availability.working.get(member.pk, ()):
                cursor = span.start
                while True:
                    service = self.rng.choice(options)
                    end = cursor + timedelta(minutes=service.duration_minutes)
                    if end > span.end:
                        break
                    if self.rng.random() < spec.booked_share:
                        need = {e.pk for e in service.equipment.all()}
                        chair_ids = sorted(chair_kit, key=lambda c: (c != default_chair, c))
                        chair_id = next(
                            (
                                c
                                for c in chair_ids
                                if need <= chair_kit[c] and _free(chair_busy[c], cursor, end)
                            ),
                            None,
                        )
                        pool = children if (service.max_age or 99) < 18 else adults
                        patient = self.rng.choice(pool) if pool else None
                        if (
                            chair_id is not None
                            and patient is not None
                            and _free(patient_busy[patient.pk], cursor, end)
                        ):
                            chair_busy[chair_id].append((cursor, end))
                            patient_busy[patient.pk].append((cursor, end))
                            rows.append(
                                self.appointment(
                                    clinic, member, chair_id, patient, service, cursor, end, now, staff_user
                                )
                            )
                            cursor = end
                            continue
                    cursor += timedelta(minutes=clinic.slot_step_minutes * 2)
        with transaction.atomic():
            Appointment.objects.bulk_create(rows, batch_size=2000)
            events = []
            for row in rows:
                events.append(
                    AppointmentEvent(
                        appointment=row,
                        actor=staff_user,
                        to_status=Status.BOOKED,
                        reason=str(Channel(row.channel).label),
                    )
                )
                if row.status != Status.BOOKED:
                    events.append(
                        AppointmentEvent(
                            appointment=row, actor=staff_user, from_status=Status.BOOKED, to_status=row.status
                        )
                    )
            AppointmentEvent.objects.bulk_create(events, batch_size=2000)
            # The reminders and confirmation requests of the visits ahead, as booking them would have planned.
            with policies_read_once():
                for row in rows:
                    if row.status == Status.BOOKED and row.starts_at > now:
                        plan_appointment_messages(row, now=now)

    def waitlist(self, clinic: Clinic) -> None:
        """Adults waiting for a time in the next days (some for any time, some in a part of the day) and
        booked patients who asked for an earlier time: what a cancellation is offered to."""
        spec = self.spec
        staff_user = User.objects.filter(username=spec.username_prefix + "operator").first()
        today = self.today
        # Short services, so that most freed times fit them; not the urgent ones (a patient in pain is seen
        # the same day, he does not wait for a week).
        adult_services = list(
            Service.objects.filter(clinic=clinic, max_age__isnull=True, duration_minutes__lte=30)
            .exclude(code__in=urgent_codes())
            .order_by("code")
        )
        booked = set(
            Appointment.objects.filter(clinic=clinic, starts_at__gt=self.now).values_list(
                "patient_id", flat=True
            )
        )
        free_adults = [
            p
            for p in Patient.objects.filter(clinic=clinic).exclude(phone="").order_by("pk")
            if p.pk not in booked
        ]
        for patient in self.rng.sample(free_adults, min(spec.waiting, len(free_adults))):
            start = today + timedelta(days=self.rng.randint(1, 3))
            window = self.rng.choice([(None, None), (time(8), time(12)), (time(14), time(18))])
            join_waitlist(
                patient=patient,
                service=self.rng.choice(adult_services),
                date_from=start,
                date_to=start + timedelta(days=self.rng.randint(3, 10)),
                time_from=window[0],
                time_to=window[1],
                urgency=self.rng.choice([Urgency.ROUTINE, Urgency.ROUTINE, Urgency.SOON]),
                created_by=staff_user if self.rng.random() < 0.5 else None,
                now=self.now,
            )
        later = list(
            Appointment.objects.filter(
                clinic=clinic, status=Status.BOOKED, starts_at__date__gte=today + timedelta(days=7)
            ).order_by("starts_at", "pk")[: spec.waiting * 4]
        )
        for visit in self.rng.sample(later, min(spec.waiting // 2, len(later))):
            join_waitlist(
                patient=visit.patient,
                service=visit.service,
                date_from=today + timedelta(days=1),
                date_to=visit.starts_at.astimezone(clinic.tz).date(),
                earlier_than=visit,
                created_by=staff_user,
                now=self.now,
            )

    def appointment(
        self,
        clinic: Clinic,
        member: StaffMember,
        chair_id: int,
        patient: Patient,
        service: Service,
        start: datetime,
        end: datetime,
        now: datetime,
        staff_user: User | None,
    ) -> Appointment:
        status = Status.BOOKED
        if end <= now:
            status = Status.NOSHOW if self.rng.random() < 0.09 else Status.FULFILLED
        elif start <= now:
            status = Status.CHECKED_IN
        channel = self.rng.choices([Channel.WEB, Channel.PHONE, Channel.RECEPTION], weights=[5, 4, 1])[0]
        return Appointment(
            clinic=clinic,
            patient=patient,
            service=service,
            dentist=member,
            chair_id=chair_id,
            starts_at=start,
            ends_at=end,
            status=status,
            channel=channel,
            created_by=staff_user if channel != Channel.WEB else None,
        )

    def patients(self, clinic: Clinic) -> list[Patient]:
        """Adults with phones; children, most reached through a parent who is a patient too."""
        rows: list[Patient] = []
        for sequence in range(1, self.spec.patients + 1):
            surname, given, female = self.person_name()
            child = self.rng.random() < 0.3
            age_days = self.rng.randint(2 * 365, 17 * 365) if child else self.rng.randint(18 * 365, 85 * 365)
            phone = "" if child else f"+99890{self.rng.randint(1_000_000, 9_999_999)}"
            patient = Patient(
                clinic=clinic,
                number=patient_number(clinic.patient_prefix, sequence),
                surname=surname,
                name=given,
                birth_date=self.today - timedelta(days=age_days),
                phone=phone,
                sex=Sex.FEMALE if female else Sex.MALE,
                is_verified=self.rng.random() < 0.9,
                preferred_language=self.rng.choice(["uz", "uz", "ru"]),
            )
            refresh_search_keys(patient)
            rows.append(patient)
        created = Patient.objects.bulk_create(rows, batch_size=2000)
        PatientCounter.objects.create(clinic=clinic, last=len(created))
        adults = [p for p in created if p.phone]
        links = [
            Guardianship(guardian=self.rng.choice(adults), child=child, relation=Guardianship.Relation.MOTHER)
            for child in created
            if not child.phone and adults
        ]
        Guardianship.objects.bulk_create(links, batch_size=2000)
        # Most adults agreed to SMS reminders at registration; some to messengers and e-mail too.
        consents = [
            Consent(patient=adult, kind=kind, granted=True, text_version=DEMO_CONSENT_VERSION)
            for adult in adults
            for kind, share in DEMO_CONSENT_SHARES
            if self.rng.random() < share
        ]
        Consent.objects.bulk_create(consents, batch_size=2000)
        return created


def _free(busy: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return all(end <= b_start or start >= b_end for b_start, b_end in busy)


def build_demo_clinic(spec: DemoSpec | None = None, *, now: datetime) -> tuple[Clinic, list[DemoLogin]]:
    """Build a clinic from `spec`: plans from the Monday of this week, bookings from today.

    The same seed and the same `now` give the same clinic; visits that ended before `now` are marked
    fulfilled (or, for about one in eleven, no-show).
    """
    with transaction.atomic():
        return _Builder(spec or DemoSpec(), now).build()
