"""Message texts: the built-in wordings and administrators' templates, rendered for one channel and language.

A wording is a Django template. Texts (SMS, Telegram, push, a call's script, the e-mail's text part) are
rendered with autoescaping off; the e-mail's HTML part is the same body rendered with autoescaping on, its
lines made paragraphs and its links clickable. Templates are rendered by a bare engine: the built-in tags
and filters only, no `{% load %}`, `{% include %}` or `{% extends %}` of files — an administrator's template
can reach nothing beyond the context it is given.

The context holds strings only (names, a date and a time already formatted in the message's language and
the clinic's time zone, links), built by `appointment_context`; `sample_context` gives the same keys with
invented values, for previews and for `check_template`'s trial render.

SMS wordings are short: one GSM-7 message in English and Uzbek (the Uzbek SMS wordings write o' and g'
with the ASCII apostrophe, which GSM-7 has, rather than ʻ, which would make the whole message UCS-2),
two UCS-2 segments in Russian where a link does not make it longer. A signed link alone is about
120 characters, so SMS carry at most one (the appointment's page, where it can be cancelled or moved);
reminders and confirmation requests carry none: the patient answers 1 or 2.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.defaultfilters import linebreaks_filter, urlize
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.translation import gettext as _

from navbat.notify.models import Kind, MessageTemplate
from navbat.patients.models import ContactChannel, Language

if TYPE_CHECKING:
    from navbat.booking.models import Appointment
    from navbat.clinic.models import Clinic
    from navbat.patients.models import Patient

LANGUAGES = tuple(Language.values)
CHANNELS = tuple(ContactChannel.values)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str = ""


@dataclass(frozen=True)
class Wording:
    """One built-in template: `subject` is used by e-mail only."""

    body: str
    subject: str = ""


# --- the built-in wordings -------------------------------------------------------------------------------
# Per language and kind: "sms" (also the operator's script for a call), "chat" (Telegram and web push: a
# link costs nothing there), "subject" and "email" (the e-mail's text; its HTML is made from it).

_WHEN = "{{ date }} {{ time }}"

_UZ: dict[str, dict[str, str]] = {
    Kind.BOOKED: {
        "sms": "{{ clinic }}: {{ patient }}, qabul " + _WHEN + ", shifokor {{ dentist }}\n{{ view_url }}",
        "chat": "{{ clinic }}: {{ patient }}, siz qabulga yozildingiz — " + _WHEN + ", {{ service }}, "
        "shifokor {{ dentist }}\nKoʻrish, koʻchirish yoki bekor qilish: {{ view_url }}",
        "subject": "Qabulga yozildingiz: " + _WHEN,
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ patient }} {{ clinic }} klinikasida qabulga yozildi:\n"
        "{{ weekday }}, {{ date }}, soat {{ time }}\n{{ service }}, shifokor {{ dentist }}\n\n"
        "Qabulni koʻrish yoki koʻchirish: {{ view_url }}\nBekor qilish: {{ cancel_url }}\n\n{{ clinic }}",
    },
    Kind.MOVED: {
        "sms": "{{ clinic }}: {{ patient }}, qabul " + _WHEN + " ga ko'chirildi, shifokor {{ dentist }}\n"
        "{{ view_url }}",
        "chat": "{{ clinic }}: {{ patient }}, qabulingiz koʻchirildi — endi " + _WHEN + ", {{ service }}, "
        "shifokor {{ dentist }}\n{{ view_url }}",
        "subject": "Qabul koʻchirildi: " + _WHEN,
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ patient }}ning qabuli koʻchirildi. Yangi vaqt:\n"
        "{{ weekday }}, {{ date }}, soat {{ time }}\n{{ service }}, shifokor {{ dentist }}\n\n"
        "Qabulni koʻrish: {{ view_url }}\nBekor qilish: {{ cancel_url }}\n\n{{ clinic }}",
    },
    Kind.CANCELLED: {
        "sms": "{{ clinic }}: {{ patient }}, " + _WHEN + " dagi qabul bekor qilindi.",
        "chat": "{{ clinic }}: {{ patient }}, " + _WHEN + " dagi qabul bekor qilindi. "
        "Yangi vaqtni saytda tanlashingiz mumkin.",
        "subject": "Qabul bekor qilindi: " + _WHEN,
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ patient }}ning {{ date }}, soat {{ time }} dagi "
        "qabuli ({{ service }}) bekor qilindi.\n\n{{ clinic }}",
    },
    Kind.REMINDER: {
        "sms": "{{ clinic }}: {{ patient }}, qabul " + _WHEN + ", shifokor {{ dentist }}\n"
        "Kelasizmi? 1 - ha, 2 - bekor qilish.",
        "chat": "{{ clinic }}: eslatma — {{ patient }}, qabul " + _WHEN + ", {{ service }}, "
        "shifokor {{ dentist }}\n{{ view_url }}",
        "subject": "Eslatma: qabul " + _WHEN,
        "email": "Assalomu alaykum, {{ name }}!\n\nEslatma: {{ patient }}ning qabuli\n"
        "{{ weekday }}, {{ date }}, soat {{ time }}\n{{ service }}, shifokor {{ dentist }}\n\n"
        "Kela olmasangiz, bekor qiling — vaqt boshqa bemorga beriladi: {{ cancel_url }}\n\n{{ clinic }}",
    },
    Kind.CONFIRMATION: {
        "sms": "{{ clinic }}: {{ patient }}, qabul " + _WHEN + ". Tasdiqlang: 1 - kelaman, 2 - bekor qilish.",
        "chat": "{{ clinic }}: {{ patient }}, qabul " + _WHEN + ", {{ service }}, shifokor {{ dentist }}\n"
        "Kelasizmi?",
        "subject": "Qabulni tasdiqlang: " + _WHEN,
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ patient }}ning qabuli {{ weekday }}, {{ date }}, "
        "soat {{ time }} da ({{ service }}, shifokor {{ dentist }}).\n\nKela olmasangiz, bekor qiling: "
        "{{ cancel_url }}\nQabulni koʻrish: {{ view_url }}\n\n{{ clinic }}",
    },
    Kind.OTP: {
        "sms": "{{ code }} - navbat kodi. {{ minutes }} daqiqa amal qiladi. Uni hech kimga aytmang.",
        "chat": "{{ code }} — navbat kodi. {{ minutes }} daqiqa amal qiladi. Uni hech kimga aytmang.",
        "subject": "navbat kodi",
        "email": "{{ code }} — navbat kodi. {{ minutes }} daqiqa amal qiladi. Uni hech kimga aytmang: "
        "klinika bu kodni hech qachon soʻramaydi.",
    },
    Kind.WAITLIST_OFFER: {
        "sms": "{{ clinic }}: {{ patient }}, bo'sh vaqt bor - " + _WHEN + ", {{ dentist }}\n"
        "Olish: {{ offer_url }}",
        "chat": "{{ clinic }}: {{ patient }}, kutish roʻyxatidagi vaqt boʻshadi — " + _WHEN + ", "
        "{{ service }}, shifokor {{ dentist }}\nOlish: {{ offer_url }}",
        "subject": "Boʻsh vaqt: " + _WHEN,
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ patient }} uchun vaqt boʻshadi: {{ weekday }}, "
        "{{ date }}, soat {{ time }}, {{ service }}, shifokor {{ dentist }}\n\nOlish: {{ offer_url }}"
        "\n\n{{ clinic }}",
    },
    Kind.NO_SHOW_FOLLOW_UP: {
        "sms": "{{ clinic }}: {{ patient }}, {{ date }} kuni sizni kutdik. Yangi vaqt: {{ book_url }}",
        "chat": "{{ clinic }}: {{ patient }}, {{ date }} soat {{ time }} da sizni kutdik. "
        "Yangi vaqt tanlang: {{ book_url }}",
        "subject": "Sizni kutdik",
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ patient }}ni {{ date }}, soat {{ time }} da kutdik. "
        "Yangi vaqt tanlash: {{ book_url }}\n\n{{ clinic }}",
    },
    Kind.FEEDBACK_REQUEST: {
        "sms": "{{ clinic }}: {{ patient }}, qabul qanday o'tdi? Baholang: {{ feedback_url }}",
        "chat": "{{ clinic }}: {{ patient }}, qabul qanday oʻtdi? Baholang: {{ feedback_url }}",
        "subject": "Qabul qanday oʻtdi?",
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ patient }}ning {{ date }} dagi qabuli qanday oʻtdi? "
        "Baholang: {{ feedback_url }}\n\n{{ clinic }}",
    },
    Kind.DRAW_NOT_WON: {
        "sms": "{{ clinic }}: {{ patient }}, {{ date }} kuni uchun qur'ada vaqt chiqmadi. "
        "Kutish ro'yxati: {{ book_url }}",
        "chat": "{{ clinic }}: {{ patient }}, {{ date }} kuni uchun qurʼada sizga vaqt chiqmadi — hamma "
        "soʻrovlar teng koʻrildi. Kutish roʻyxatiga yoziling, vaqt boʻshasa xabar beramiz: {{ book_url }}",
        "subject": "Qurʼa natijasi: {{ date }}",
        "email": "Assalomu alaykum, {{ name }}!\n\n{{ date }} kuni uchun qurʼada {{ patient }}ga vaqt "
        "chiqmadi: soʻrovlar tasodifiy tartibda koʻrildi va hamma vaqtlar band boʻldi.\n\nKutish "
        "roʻyxatiga yoziling — vaqt boʻshashi bilan taklif yuboramiz: {{ book_url }}\n\n{{ clinic }}",
    },
}

_RU: dict[str, dict[str, str]] = {
    Kind.BOOKED: {
        "sms": "{{ clinic }}: {{ patient }}, запись " + _WHEN + ", врач {{ dentist }}\n{{ view_url }}",
        "chat": "{{ clinic }}: {{ patient }}, вы записаны — " + _WHEN + ", {{ service }}, "
        "врач {{ dentist }}\nПосмотреть, перенести или отменить: {{ view_url }}",
        "subject": "Вы записаны: " + _WHEN,
        "email": "Здравствуйте, {{ name }}!\n\nЗапись в клинику «{{ clinic }}» — {{ patient }}:\n"
        "{{ weekday }}, {{ date }}, {{ time }}\n{{ service }}, врач {{ dentist }}\n\n"
        "Посмотреть или перенести: {{ view_url }}\nОтменить: {{ cancel_url }}\n\n{{ clinic }}",
    },
    Kind.MOVED: {
        "sms": "{{ clinic }}: {{ patient }}, запись перенесена на " + _WHEN + ", врач {{ dentist }}\n"
        "{{ view_url }}",
        "chat": "{{ clinic }}: {{ patient }}, запись перенесена — теперь " + _WHEN + ", {{ service }}, "
        "врач {{ dentist }}\n{{ view_url }}",
        "subject": "Запись перенесена: " + _WHEN,
        "email": "Здравствуйте, {{ name }}!\n\nЗапись ({{ patient }}) перенесена. Новое время:\n"
        "{{ weekday }}, {{ date }}, {{ time }}\n{{ service }}, врач {{ dentist }}\n\n"
        "Посмотреть: {{ view_url }}\nОтменить: {{ cancel_url }}\n\n{{ clinic }}",
    },
    Kind.CANCELLED: {
        "sms": "{{ clinic }}: {{ patient }}, запись на " + _WHEN + " отменена.",
        "chat": "{{ clinic }}: {{ patient }}, запись на " + _WHEN + " отменена. "
        "Новое время можно выбрать на сайте.",
        "subject": "Запись отменена: " + _WHEN,
        "email": "Здравствуйте, {{ name }}!\n\nЗапись ({{ patient }}) на {{ date }}, {{ time }} "
        "({{ service }}) отменена.\n\n{{ clinic }}",
    },
    Kind.REMINDER: {
        "sms": "{{ clinic }}: {{ patient }}, приём " + _WHEN + ", врач {{ dentist }}\n"
        "Ответьте: 1 — приду, 2 — отменить.",
        "chat": "{{ clinic }}: напоминание — {{ patient }}, приём " + _WHEN + ", {{ service }}, "
        "врач {{ dentist }}\n{{ view_url }}",
        "subject": "Напоминание: приём " + _WHEN,
        "email": "Здравствуйте, {{ name }}!\n\nНапоминаем о приёме ({{ patient }}):\n"
        "{{ weekday }}, {{ date }}, {{ time }}\n{{ service }}, врач {{ dentist }}\n\n"
        "Если не сможете прийти, отмените запись — время отдадут другому пациенту: {{ cancel_url }}"
        "\n\n{{ clinic }}",
    },
    Kind.CONFIRMATION: {
        "sms": "{{ clinic }}: {{ patient }}, приём " + _WHEN + ". Подтвердите: 1 — приду, 2 — отменить.",
        "chat": "{{ clinic }}: {{ patient }}, приём " + _WHEN + ", {{ service }}, врач {{ dentist }}\n"
        "Вы придёте?",
        "subject": "Подтвердите запись: " + _WHEN,
        "email": "Здравствуйте, {{ name }}!\n\nПриём ({{ patient }}): {{ weekday }}, {{ date }}, {{ time }}, "
        "{{ service }}, врач {{ dentist }}\n\nЕсли не сможете прийти, отмените запись: {{ cancel_url }}\n"
        "Посмотреть запись: {{ view_url }}\n\n{{ clinic }}",
    },
    Kind.OTP: {
        "sms": "{{ code }} — код navbat. Действует {{ minutes }} мин. Никому его не сообщайте.",
        "chat": "{{ code }} — код navbat. Действует {{ minutes }} мин. Никому его не сообщайте.",
        "subject": "Код navbat",
        "email": "{{ code }} — код navbat. Действует {{ minutes }} мин. Никому его не сообщайте: клиника "
        "никогда не спрашивает этот код.",
    },
    Kind.WAITLIST_OFFER: {
        "sms": "{{ clinic }}: {{ patient }}, освободилось время " + _WHEN + ", {{ dentist }}\n"
        "Занять: {{ offer_url }}",
        "chat": "{{ clinic }}: {{ patient }}, освободилось время из листа ожидания — " + _WHEN + ", "
        "{{ service }}, врач {{ dentist }}\nЗанять: {{ offer_url }}",
        "subject": "Освободилось время: " + _WHEN,
        "email": "Здравствуйте, {{ name }}!\n\nДля {{ patient }} освободилось время: {{ weekday }}, "
        "{{ date }}, {{ time }}, {{ service }}, врач {{ dentist }}\n\nЗанять: {{ offer_url }}"
        "\n\n{{ clinic }}",
    },
    Kind.NO_SHOW_FOLLOW_UP: {
        "sms": "{{ clinic }}: {{ patient }}, мы ждали вас {{ date }}. Новое время: {{ book_url }}",
        "chat": "{{ clinic }}: {{ patient }}, мы ждали вас {{ date }} в {{ time }}. "
        "Выберите новое время: {{ book_url }}",
        "subject": "Мы вас ждали",
        "email": "Здравствуйте, {{ name }}!\n\nМы ждали {{ patient }} {{ date }} в {{ time }}. "
        "Выбрать новое время: {{ book_url }}\n\n{{ clinic }}",
    },
    Kind.FEEDBACK_REQUEST: {
        "sms": "{{ clinic }}: {{ patient }}, как прошёл приём? Оцените: {{ feedback_url }}",
        "chat": "{{ clinic }}: {{ patient }}, как прошёл приём? Оцените: {{ feedback_url }}",
        "subject": "Как прошёл приём?",
        "email": "Здравствуйте, {{ name }}!\n\nКак прошёл приём ({{ patient }}, {{ date }})? "
        "Оцените: {{ feedback_url }}\n\n{{ clinic }}",
    },
    Kind.DRAW_NOT_WON: {
        "sms": "{{ clinic }}: {{ patient }}, в розыгрыше на {{ date }} время не досталось. "
        "Лист ожидания: {{ book_url }}",
        "chat": "{{ clinic }}: {{ patient }}, в розыгрыше времени на {{ date }} вам не досталось — все "
        "заявки рассматривались на равных. Запишитесь в лист ожидания, мы сообщим, когда время "
        "освободится: {{ book_url }}",
        "subject": "Итог розыгрыша: {{ date }}",
        "email": "Здравствуйте, {{ name }}!\n\nВ розыгрыше времени на {{ date }} для {{ patient }} время "
        "не досталось: заявки рассматривались в случайном порядке, и всё время было занято.\n\n"
        "Запишитесь в лист ожидания — мы предложим время, как только оно освободится: {{ book_url }}"
        "\n\n{{ clinic }}",
    },
}

_EN: dict[str, dict[str, str]] = {
    Kind.BOOKED: {
        "sms": "{{ clinic }}: {{ patient }}, booked for " + _WHEN + " with {{ dentist }}\n{{ view_url }}",
        "chat": "{{ clinic }}: {{ patient }}, you are booked — " + _WHEN + ", {{ service }} with "
        "{{ dentist }}\nView, move or cancel: {{ view_url }}",
        "subject": "Booked: " + _WHEN,
        "email": "Hello {{ name }},\n\n{{ patient }} is booked at {{ clinic }}:\n"
        "{{ weekday }}, {{ date }} at {{ time }}\n{{ service }} with {{ dentist }}\n\n"
        "View or move: {{ view_url }}\nCancel: {{ cancel_url }}\n\n{{ clinic }}",
    },
    Kind.MOVED: {
        "sms": "{{ clinic }}: {{ patient }}, moved to " + _WHEN + " with {{ dentist }}\n{{ view_url }}",
        "chat": "{{ clinic }}: {{ patient }}, your visit was moved — now " + _WHEN + ", {{ service }} "
        "with {{ dentist }}\n{{ view_url }}",
        "subject": "Moved: " + _WHEN,
        "email": "Hello {{ name }},\n\nThe visit of {{ patient }} was moved. The new time:\n"
        "{{ weekday }}, {{ date }} at {{ time }}\n{{ service }} with {{ dentist }}\n\n"
        "View: {{ view_url }}\nCancel: {{ cancel_url }}\n\n{{ clinic }}",
    },
    Kind.CANCELLED: {
        "sms": "{{ clinic }}: {{ patient }}, your visit on " + _WHEN + " is cancelled.",
        "chat": "{{ clinic }}: {{ patient }}, your visit on " + _WHEN + " is cancelled. "
        "You can choose a new time online.",
        "subject": "Cancelled: " + _WHEN,
        "email": "Hello {{ name }},\n\nThe visit of {{ patient }} on {{ date }} at {{ time }} "
        "({{ service }}) is cancelled.\n\n{{ clinic }}",
    },
    Kind.REMINDER: {
        "sms": "{{ clinic }}: {{ patient }}, your visit is " + _WHEN + " with {{ dentist }}\n"
        "Reply 1 to confirm, 2 to cancel.",
        "chat": "{{ clinic }}: reminder — {{ patient }}, your visit is " + _WHEN + ", {{ service }} with "
        "{{ dentist }}\n{{ view_url }}",
        "subject": "Reminder: your visit " + _WHEN,
        "email": "Hello {{ name }},\n\nA reminder of the visit of {{ patient }}:\n"
        "{{ weekday }}, {{ date }} at {{ time }}\n{{ service }} with {{ dentist }}\n\n"
        "If you cannot come, please cancel — the time goes to another patient: {{ cancel_url }}"
        "\n\n{{ clinic }}",
    },
    Kind.CONFIRMATION: {
        "sms": "{{ clinic }}: {{ patient }}, your visit is " + _WHEN + ". Reply 1 to confirm, 2 to cancel.",
        "chat": "{{ clinic }}: {{ patient }}, your visit is " + _WHEN + ", {{ service }} with {{ dentist }}\n"
        "Will you come?",
        "subject": "Please confirm: " + _WHEN,
        "email": "Hello {{ name }},\n\nThe visit of {{ patient }}: {{ weekday }}, {{ date }} at {{ time }}, "
        "{{ service }} with {{ dentist }}\n\nIf you cannot come, please cancel: {{ cancel_url }}\n"
        "View: {{ view_url }}\n\n{{ clinic }}",
    },
    Kind.OTP: {
        "sms": "{{ code }} is your navbat code, valid {{ minutes }} min. Never tell it to anyone.",
        "chat": "{{ code }} is your navbat code, valid {{ minutes }} min. Never tell it to anyone.",
        "subject": "Your navbat code",
        "email": "{{ code }} is your navbat code, valid {{ minutes }} min. Never tell it to anyone: the "
        "clinic will never ask you for this code.",
    },
    Kind.WAITLIST_OFFER: {
        "sms": "{{ clinic }}: {{ patient }}, a time is free: " + _WHEN + " with {{ dentist }}\n"
        "Take it: {{ offer_url }}",
        "chat": "{{ clinic }}: {{ patient }}, a time from the waiting list is free — " + _WHEN + ", "
        "{{ service }} with {{ dentist }}\nTake it: {{ offer_url }}",
        "subject": "A time is free: " + _WHEN,
        "email": "Hello {{ name }},\n\nA time is free for {{ patient }}: {{ weekday }}, {{ date }} at "
        "{{ time }}, {{ service }} with {{ dentist }}\n\nTake it: {{ offer_url }}\n\n{{ clinic }}",
    },
    Kind.NO_SHOW_FOLLOW_UP: {
        "sms": "{{ clinic }}: {{ patient }}, we missed you on {{ date }}. New time: {{ book_url }}",
        "chat": "{{ clinic }}: {{ patient }}, we missed you on {{ date }} at {{ time }}. "
        "Choose a new time: {{ book_url }}",
        "subject": "We missed you",
        "email": "Hello {{ name }},\n\nWe missed {{ patient }} on {{ date }} at {{ time }}. "
        "Choose a new time: {{ book_url }}\n\n{{ clinic }}",
    },
    Kind.FEEDBACK_REQUEST: {
        "sms": "{{ clinic }}: {{ patient }}, how was your visit? Rate it: {{ feedback_url }}",
        "chat": "{{ clinic }}: {{ patient }}, how was your visit? Rate it: {{ feedback_url }}",
        "subject": "How was your visit?",
        "email": "Hello {{ name }},\n\nHow was the visit of {{ patient }} on {{ date }}? "
        "Rate it: {{ feedback_url }}\n\n{{ clinic }}",
    },
    Kind.DRAW_NOT_WON: {
        "sms": "{{ clinic }}: {{ patient }}, the draw for {{ date }} left you without a time. "
        "Waiting list: {{ book_url }}",
        "chat": "{{ clinic }}: {{ patient }}, the draw for {{ date }} left you without a time — every "
        "request was treated alike. Join the waiting list and we will tell you when a time frees up: "
        "{{ book_url }}",
        "subject": "The draw for {{ date }}",
        "email": "Hello {{ name }},\n\nThe draw for {{ date }} left {{ patient }} without a time: the "
        "requests were taken in a random order and every time was taken.\n\nJoin the waiting list and "
        "we will offer you a time as soon as one frees up: {{ book_url }}\n\n{{ clinic }}",
    },
}

# The operator's script for a call: what he says, so no links and no "reply 1 or 2"; the patient's answer is
# what he records (confirmed, cancelled, …). A sign-in code is never read out by an operator: no script.
_UZ_HELLO = "Assalomu alaykum, bu {{ clinic }}. "
_RU_HELLO = "Здравствуйте, это {{ clinic }}. "
_EN_HELLO = "Hello, this is {{ clinic }}. "

_CALL: dict[Language, dict[str, str]] = {
    Language.UZBEK: {
        Kind.BOOKED: (
            _UZ_HELLO + "{{ patient }} {{ weekday }}, {{ date }}, soat {{ time }} da qabulga yozildi: "
            "{{ service }}, shifokor {{ dentist }}, bu vaqt sizga qulaymi?"
        ),
        Kind.MOVED: (
            _UZ_HELLO + "{{ patient }}ning qabuli {{ weekday }}, {{ date }}, soat {{ time }} ga koʻchirildi, "
            "shifokor {{ dentist }}, yangi vaqt sizga qulaymi?"
        ),
        Kind.CANCELLED: (
            _UZ_HELLO
            + "{{ patient }}ning {{ date }}, soat {{ time }} dagi qabuli bekor qilindi. Hozir boshqa "
            "vaqt tanlaymizmi?"
        ),
        Kind.REMINDER: (
            _UZ_HELLO + "Eslatma: {{ patient }}ning qabuli {{ weekday }}, {{ date }}, soat {{ time }} da, "
            "{{ service }}, shifokor {{ dentist }}, kelasizmi? Kela olmasangiz, qabulni bekor "
            "qilamiz va vaqtni kutayotgan bemorga beramiz."
        ),
        Kind.CONFIRMATION: (
            _UZ_HELLO
            + "{{ patient }}ning qabuli {{ weekday }}, {{ date }}, soat {{ time }} da, {{ service }},"
            " shifokor {{ dentist }}, iltimos, tasdiqlang: kelasizmi? (Ha — tasdiqlandi. Yoʻq — "
            "qabulni bekor qilish.)"
        ),
        Kind.WAITLIST_OFFER: (
            _UZ_HELLO + "{{ patient }} uchun vaqt boʻshadi: {{ weekday }}, {{ date }}, soat {{ time }}, "
            "{{ service }}, shifokor {{ dentist }}, yozib qoʻyaylikmi? Vaqt siz uchun bir necha "
            "daqiqagina saqlanadi."
        ),
        Kind.NO_SHOW_FOLLOW_UP: (
            _UZ_HELLO
            + "{{ date }}, soat {{ time }} da {{ patient }}ni kutdik. Yangi vaqtga yozib qoʻyaylikmi?"
        ),
        Kind.FEEDBACK_REQUEST: (
            _UZ_HELLO + "{{ patient }}ning qabuli qanday oʻtdi? 1 dan 5 gacha qanday baholaysiz?"
        ),
        Kind.DRAW_NOT_WON: (
            _UZ_HELLO
            + "{{ date }} uchun qurʼada {{ patient }}ga vaqt chiqmadi: barcha soʻrovlar teng koʻrildi"
            " va hamma vaqtlar band boʻldi. Sizni kutish roʻyxatiga yozib qoʻyaylikmi?"
        ),
    },
    Language.RUSSIAN: {
        Kind.BOOKED: (
            _RU_HELLO + "Запись: {{ patient }}, {{ weekday }}, {{ date }}, в {{ time }}, {{ service }}, врач "
            "{{ dentist }}, вам удобно это время?"
        ),
        Kind.MOVED: (
            _RU_HELLO + "Приём ({{ patient }}) перенесён на {{ weekday }}, {{ date }}, в {{ time }}, врач "
            "{{ dentist }}, вам удобно новое время?"
        ),
        Kind.CANCELLED: (
            _RU_HELLO
            + "Приём ({{ patient }}) {{ date }} в {{ time }} отменён. Подобрать другое время сейчас?"
        ),
        Kind.REMINDER: (
            _RU_HELLO + "Напоминаем о приёме ({{ patient }}): {{ weekday }}, {{ date }}, в {{ time }}, "
            "{{ service }}, врач {{ dentist }}, вы придёте? Если нет, мы отменим запись и отдадим "
            "время тому, кто ждёт."
        ),
        Kind.CONFIRMATION: (
            _RU_HELLO + "Приём ({{ patient }}): {{ weekday }}, {{ date }}, в {{ time }}, {{ service }}, врач "
            "{{ dentist }}, подтвердите, пожалуйста: вы придёте? (Да — подтверждено. Нет — отменить"
            " запись.)"
        ),
        Kind.WAITLIST_OFFER: (
            _RU_HELLO + "Освободилось время ({{ patient }}): {{ weekday }}, {{ date }}, в {{ time }}, "
            "{{ service }}, врач {{ dentist }}, записать вас? Время держится за вами всего "
            "несколько минут."
        ),
        Kind.NO_SHOW_FOLLOW_UP: (
            _RU_HELLO + "Мы ждали вас ({{ patient }}) {{ date }} в {{ time }}. Записать на новое время?"
        ),
        Kind.FEEDBACK_REQUEST: (
            _RU_HELLO + "Как прошёл приём ({{ patient }})? Как бы вы оценили его от 1 до 5?"
        ),
        Kind.DRAW_NOT_WON: (
            _RU_HELLO
            + "В розыгрыше на {{ date }} ({{ patient }}) время не досталось: все заявки были равны, а"
            " все времена разобраны. Поставить вас в лист ожидания?"
        ),
    },
    Language.ENGLISH: {
        Kind.BOOKED: (
            _EN_HELLO + "{{ patient }} is booked for {{ weekday }}, {{ date }} at {{ time }}, {{ service }} "
            "with {{ dentist }}, is that time right for you?"
        ),
        Kind.MOVED: (
            _EN_HELLO
            + "The visit of {{ patient }} has moved to {{ weekday }}, {{ date }} at {{ time }}, with "
            "{{ dentist }}, does the new time suit you?"
        ),
        Kind.CANCELLED: (
            _EN_HELLO + "The visit of {{ patient }} on {{ date }} at {{ time }} is cancelled. Shall we find "
            "another time now?"
        ),
        Kind.REMINDER: (
            _EN_HELLO + "A reminder: {{ patient }} has a visit on {{ weekday }}, {{ date }} at {{ time }}, "
            "{{ service }} with {{ dentist }}, will you come? If not, we will cancel it and give "
            "the time to someone who is waiting."
        ),
        Kind.CONFIRMATION: (
            _EN_HELLO + "{{ patient }} is booked for {{ weekday }}, {{ date }} at {{ time }}, {{ service }} "
            "with {{ dentist }}, please confirm: will you come? (Yes: confirmed. No: cancel the "
            "visit.)"
        ),
        Kind.WAITLIST_OFFER: (
            _EN_HELLO + "A time has become free for {{ patient }}: {{ weekday }}, {{ date }} at {{ time }}, "
            "{{ service }} with {{ dentist }}, would you like it? It is held for you for a few "
            "minutes only."
        ),
        Kind.NO_SHOW_FOLLOW_UP: (
            _EN_HELLO + "We waited for {{ patient }} on {{ date }} at {{ time }}. Shall we book a new time?"
        ),
        Kind.FEEDBACK_REQUEST: (
            _EN_HELLO + "How was the visit of {{ patient }}? From 1 to 5, how would you rate it?"
        ),
        Kind.DRAW_NOT_WON: (
            _EN_HELLO + "In the draw for {{ date }}, {{ patient }} did not get a time: every request was "
            "treated alike and all times were taken. Shall we put you on the waiting list?"
        ),
    },
}

_BY_LANGUAGE = {Language.UZBEK: _UZ, Language.RUSSIAN: _RU, Language.ENGLISH: _EN}
# Which wording each channel uses; a call's text is what the operator tells the patient.
_GROUP = {
    ContactChannel.SMS: "sms",
    ContactChannel.CALL: "call",
    ContactChannel.TELEGRAM: "chat",
    ContactChannel.PUSH: "chat",
    ContactChannel.EMAIL: "email",
}


def _wording(kind: str, channel: str, language: str) -> Wording:
    texts = _BY_LANGUAGE[Language(language)][Kind(kind)]
    group = _GROUP[ContactChannel(channel)]
    if group == "call":
        return Wording(body=_CALL[Language(language)].get(kind, texts["sms"]))
    return Wording(body=texts[group], subject=texts["subject"] if group == "email" else "")


DEFAULT_WORDING: dict[tuple[str, str, str], Wording] = {
    (kind, channel, language): _wording(kind, channel, language)
    for kind in Kind.values
    for channel in CHANNELS
    for language in LANGUAGES
}


# --- rendering -------------------------------------------------------------------------------------------

_TEXT_ENGINE = Engine(autoescape=False)
_HTML_ENGINE = Engine(autoescape=True)
# For the check only: a placeholder the context does not have shows up instead of vanishing.
_UNKNOWN = "\x00unknown:%s\x00"
_CHECK_ENGINE = Engine(autoescape=False, string_if_invalid=_UNKNOWN)


def render_message(
    *,
    kind: str,
    channel: str,
    language: str,
    context: Mapping[str, object],
    clinic: Clinic | None = None,
    template: MessageTemplate | None = None,
) -> Rendered:
    """The message of `kind` for `channel` in `language`: `template` if given, else the clinic's own
    wording, else the one for every clinic, else the built-in one. E-mail gets a subject and HTML too."""
    wording = (
        Wording(body=template.body, subject=template.subject)
        if template is not None
        else _stored_wording(kind=kind, channel=channel, language=language, clinic=clinic)
    )
    with translation.override(language):
        text = _render(_TEXT_ENGINE, wording.body, context).strip()
        if channel != ContactChannel.EMAIL:
            return Rendered(subject="", text=text)
        subject_source = wording.subject or DEFAULT_WORDING[(kind, channel, language)].subject
        subject = " ".join(_render(_TEXT_ENGINE, subject_source, context).split())
        html = _html_document(_render(_HTML_ENGINE, wording.body, context), subject=subject)
    return Rendered(subject=subject, text=text, html=html)


_ROUND_WORDINGS: ContextVar[dict[tuple[int | None, str, str, str], Wording] | None] = ContextVar(
    "notify_wordings", default=None
)


def _stored_wording(*, kind: str, channel: str, language: str, clinic: Clinic | None) -> Wording:
    key = (clinic.pk if clinic is not None else None, kind, channel, language)
    cached = _ROUND_WORDINGS.get()
    if cached is not None and key in cached:
        return cached[key]
    mine = Q(clinic__isnull=True) | Q(clinic=clinic) if clinic is not None else Q(clinic__isnull=True)
    rows = MessageTemplate.objects.filter(mine, kind=kind, channel=channel, language=language)
    candidates = {row.clinic_id: row for row in rows}
    row = candidates.get(key[0]) or candidates.get(None)
    wording = (
        Wording(body=row.body, subject=row.subject) if row else DEFAULT_WORDING[(kind, channel, language)]
    )
    if cached is not None:
        cached[key] = wording
    return wording


@contextmanager
def wordings_read_once() -> Iterator[None]:
    """Within the block (one round of the worker), each wording is read from the database once."""
    token = _ROUND_WORDINGS.set({})
    try:
        yield
    finally:
        _ROUND_WORDINGS.reset(token)


def _render(engine: Engine, source: str, context: Mapping[str, object]) -> str:
    return _compiled(engine, source).render(Context(dict(context), autoescape=engine.autoescape))


@lru_cache(maxsize=256)
def _compiled(engine: Engine, source: str) -> Template:
    """Compiled once per wording: the worker renders the same few thousands of times."""
    return Template(source, engine=engine)


def _html_document(body: str, *, subject: str) -> str:
    """The e-mail's HTML: the autoescaped body's lines as paragraphs, its links clickable."""
    paragraphs = linebreaks_filter(urlize(body, autoescape=False), autoescape=False)
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head>\n"
        '<body style="font-family: sans-serif; line-height: 1.5; max-width: 36em">\n'
        f"{paragraphs}\n</body></html>\n"
    )


# --- checking an administrator's template ----------------------------------------------------------------


def check_template(*, subject: str, body: str, kind: str, channel: str, language: str) -> list[str]:
    """What is wrong with a template, in the active language: empty when it compiles, renders against the
    sample context and uses only the placeholders its kind has."""
    errors: list[str] = []
    if not body.strip():
        errors.append(_("The text is empty."))
    sources = [(_("E-mail subject"), subject), (_("Message text"), body)]
    sample = sample_context(kind, language)
    for label, source in sources:
        if not source:
            continue
        try:
            template = Template(source, engine=_CHECK_ENGINE)
        except TemplateSyntaxError as error:
            errors.append(
                _("%(part)s: the template has an error: %(error)s") % {"part": label, "error": error}
            )
            continue
        try:
            with translation.override(language):
                rendered = template.render(Context(dict(sample), autoescape=False))
        except Exception as error:  # any failure of a trial render is the template's
            errors.append(
                _("%(part)s: the template cannot be filled in: %(error)s") % {"part": label, "error": error}
            )
            continue
        for name in sorted(set(_unknown_names(rendered))):
            errors.append(
                _("%(part)s: there is no placeholder {{ %(name)s }} for this message. Available: %(names)s")
                % {"part": label, "name": name, "names": ", ".join(sorted(sample))}
            )
    return errors


def _unknown_names(rendered: str) -> list[str]:
    prefix, _suffix = _UNKNOWN.split("%s")
    return [part.split("\x00", 1)[0] for part in rendered.split(prefix)[1:]]


# --- contexts --------------------------------------------------------------------------------------------

_APPOINTMENT_KINDS = frozenset(
    {
        Kind.BOOKED,
        Kind.MOVED,
        Kind.CANCELLED,
        Kind.REMINDER,
        Kind.CONFIRMATION,
        Kind.WAITLIST_OFFER,
        Kind.NO_SHOW_FOLLOW_UP,
        Kind.FEEDBACK_REQUEST,
    }
)
# Extra placeholders of some kinds, besides the appointment's.
_EXTRA: dict[str, tuple[str, ...]] = {
    Kind.WAITLIST_OFFER: ("offer_url",),
    Kind.NO_SHOW_FOLLOW_UP: ("book_url",),
    Kind.FEEDBACK_REQUEST: ("feedback_url",),
    Kind.DRAW_NOT_WON: ("book_url",),
}
_SAMPLE_NAMES = {
    Language.UZBEK: ("Dilnoza", "Aziz", "Tabassum stomatologiyasi", "Karimova D.", "Tish plombasi"),
    Language.RUSSIAN: ("Дилноза", "Азиз", "Стоматология «Табассум»", "Каримова Д.", "Пломба"),
    Language.ENGLISH: ("Dilnoza", "Aziz", "Tabassum Dental", "Karimova D.", "Filling"),
}


def sample_context(kind: str, language: str) -> dict[str, object]:
    """Invented values for every placeholder the kind has, in `language` (previews, `check_template`)."""
    if Kind(kind) == Kind.OTP:
        return {"code": "123456", "minutes": 5}
    name, patient, clinic, dentist, service = _SAMPLE_NAMES[Language(language)]
    base = public_url()
    if Kind(kind) not in _APPOINTMENT_KINDS:
        day = datetime(2027, 3, 10, tzinfo=timezone.get_current_timezone())
        return {
            "name": name,
            "patient": patient,
            "clinic": clinic,
            **_day(day, language),
            "book_url": f"{base}/book/",
        }
    start = datetime(2027, 3, 10, 9, 30, tzinfo=timezone.get_current_timezone())
    context: dict[str, object] = {
        "name": name,
        "patient": patient,
        "clinic": clinic,
        "dentist": dentist,
        "service": service,
        **_when(start, language),
        "view_url": f"{base}/book/a/SAMPLE-view/",
        "cancel_url": f"{base}/book/a/SAMPLE-cancel/cancel/",
    }
    for extra in _EXTRA.get(kind, ()):
        context[extra] = f"{base}/book/"
    return context


def appointment_context(
    appointment: Appointment,
    *,
    kind: str,
    language: str,
    recipient: Patient | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The placeholders of a message about `appointment`, in `language` and the clinic's local time.

    Names are first names (the dentist's short name): nothing more than the message needs."""
    from navbat.booking import links  # links imports booking.services, which records notifications

    clinic = appointment.clinic
    with translation.override(language):
        service = appointment.service.name
    local = timezone.localtime(appointment.starts_at, clinic.tz)
    base = public_url()
    context: dict[str, object] = {
        "name": (recipient or appointment.patient).name,
        "patient": appointment.patient.name,
        "clinic": clinic.name,
        "dentist": _dentist_short_name(appointment),
        "service": service,
        **_when(local, language),
        "view_url": base + _link(appointment, links.Purpose.VIEW, "book:link"),
        "cancel_url": base + _link(appointment, links.Purpose.CANCEL, "book:link_cancel"),
    }
    for key in _EXTRA.get(kind, ()):
        context[key] = f"{base}/book/"
    context.update(extra or {})
    return context


def patient_context(
    patient: Patient,
    *,
    clinic: Clinic,
    language: str,
    recipient: Patient | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The placeholders of a message about `patient` but no appointment (a release draw's outcome): first
    names, the clinic, the day of `extra["day"]` in `language`, links made absolute."""
    context: dict[str, object] = {
        "name": (recipient or patient).name,
        "patient": patient.name,
        "clinic": clinic.name,
    }
    day = (extra or {}).get("day")
    if isinstance(day, str):
        context.update(_day(datetime.fromisoformat(day), language))
    for key, value in (extra or {}).items():
        if key.endswith("_url") and isinstance(value, str):
            context[key] = public_url() + value if value.startswith("/") else value
    return context


def _day(day: datetime, language: str) -> dict[str, object]:
    with translation.override(language):
        return {"date": date_format(day, "MONTH_DAY_FORMAT"), "weekday": date_format(day, "l")}


def _when(local: datetime, language: str) -> dict[str, object]:
    with translation.override(language):
        return {
            "date": date_format(local, "MONTH_DAY_FORMAT"),
            "time": local.strftime("%H:%M"),
            "weekday": date_format(local, "l"),
        }


def _link(appointment: Appointment, purpose: str, name: str) -> str:
    from navbat.booking import links  # links imports booking.services, which records notifications

    return reverse(name, kwargs={"token": links.appointment_token(appointment, links.Purpose(purpose))})


def _dentist_short_name(appointment: Appointment) -> str:
    user = appointment.dentist.user
    if user.last_name:
        return f"{user.last_name} {user.first_name[:1]}." if user.first_name else user.last_name
    return appointment.dentist.display_name


def public_url() -> str:
    """Where patients reach this navbat (links in messages), without a trailing slash."""
    return str(getattr(settings, "NAVBAT_PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")


def kinds_about_appointments() -> frozenset[str]:
    return frozenset(str(kind) for kind in _APPOINTMENT_KINDS)
