"""Django settings. Everything that differs between machines comes from the environment."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NAVBAT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = _env_flag("NAVBAT_DEBUG", False)
# The demo and the tests get a generated key kept under var/; production sets NAVBAT_SECRET_KEY.
_key_file = VAR_DIR / "secret_key"
if "NAVBAT_SECRET_KEY" in os.environ:
    SECRET_KEY = os.environ["NAVBAT_SECRET_KEY"]
else:
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = os.environ.get("NAVBAT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "phonenumber_field",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "template_partials",
    "navbat.accounts",
    "navbat.clinic",
    "navbat.patients",
    "navbat.booking",
    "navbat.notify",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "navbat.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "navbat.urls"
WSGI_APPLICATION = "navbat.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "navbat" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "navbat.accounts.context_processors.navigation",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    default_url = f"sqlite:///{VAR_DIR / 'navbat.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(os.environ.get("DATABASE_URL") or default_url))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Invariant 1 on SQLite: every transaction takes the write lock up front (BEGIN IMMEDIATE), so a
        # booking's overlap check and its insert are serialised; WAL lets readers go on meanwhile.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not memory: the race tests use one connection per thread. One per test process, so
        # that two test runs on one machine never share (and break) each other's database.
        config["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"navbat-test-{os.getpid()}.sqlite3")}
    else:
        # Keep each web thread's connection between requests (not one new connection per request).
        # dj_database_url always sets CONN_MAX_AGE (0), so it is set here, not defaulted.
        config["CONN_MAX_AGE"] = int(os.environ.get("NAVBAT_CONN_MAX_AGE", "60"))
        config["CONN_HEALTH_CHECKS"] = True
        config["TEST"] = {"NAME": f"test_{config['NAME']}_{os.getpid()}"}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "uz"
LANGUAGES = [("uz", _("Uzbek")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "navbat" / "locale"]
# Dates as Uzbek and Russian write them, where Django's formats differ (see navbat/formats/).
FORMAT_MODULE_PATH = ["navbat.formats"]
USE_I18N = True
TIME_ZONE = "Asia/Tashkent"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "navbat" / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- Sign-in security -------------------------------------------------------------------------------------
# Passwords: argon2id for new and changed passwords; older PBKDF2 hashes still verify and are re-hashed with
# argon2 at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes first: it refuses a locked-out sign-in before any password is checked. Another way to sign in
# (the patients' phone + code) goes after it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lock-out: 5 failed passwords for one username from one address lock that pair for 30 minutes from the
# latest failure (a failure during the lock starts it again); a successful sign-in clears the count. An
# administrator unlocks early by deleting the attempts in the admin (Axes → access attempts).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "navbat.accounts.views.locked_out"
# The client's address as NAVBAT_TRUSTED_PROXIES (below) says to read it: else behind a proxy every
# client would share the proxy's address, and one attacker would lock everybody out.
AXES_CLIENT_IP_CALLABLE = "navbat.accounts.middleware.client_ip"
# Nothing that names a person in axes' log lines (usernames and addresses are masked).
AXES_VERBOSE = False
# Two-factor sign-in (django-otp): an authenticator app (TOTP) with one-time recovery codes. Required for
# administrators and superusers, open to all staff (navbat.accounts.middleware, access.two_factor_required).
OTP_TOTP_ISSUER = "navbat"
# The admin never shows a device's secret key or recovery codes: whoever reads them can sign in as its owner.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Idle sessions end: 30 minutes after the last request (every request renews the cookie), and when the
# browser closes. A shared front-desk computer is not left signed in.
SESSION_COOKIE_AGE = int(os.environ.get("NAVBAT_SESSION_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

PHONENUMBER_DEFAULT_REGION = "UZ"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# Personal data never goes into logs (DESIGN.md invariant 3; tests/test_no_personal_data_in_logs.py runs a
# day at the desk with everything at DEBUG and searches the records). By default warnings and errors only.
# - SQL is never logged with its parameters (they are patients' data): django.db.backends stays at WARNING
#   whatever NAVBAT_LOG_LEVEL says.
# - Django's request, template and security loggers pass through NoPersonalData: paths become the URL
#   pattern they matched, exception texts are withheld (type and traceback stay), the request is dropped.
# - No error e-mails: Django's mail_admins handler would send a 500's local variables and POST data.
# Access logs are off (`navbat serve` runs gunicorn without one): a request line carries the search text.
_LOG_LEVEL = os.environ.get("NAVBAT_LOG_LEVEL", "WARNING")
_FILTERED = {"filters": ["no_personal_data"]}  # the level is the root's
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_personal_data": {"()": "navbat.accounts.logfilters.NoPersonalData"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["no_personal_data"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["no_personal_data"],
        },
    },
    "root": {"handlers": ["console"], "level": _LOG_LEVEL},
    "loggers": {
        # Django's own console and mail_admins handlers go: its records reach the root's console.
        "django": {"handlers": [], "level": _LOG_LEVEL},
        "django.db.backends": {"level": "WARNING"},
        "django.request": _FILTERED,
        "django.template": _FILTERED,
        "django.security.csrf": _FILTERED,
        "django.security.DisallowedHost": _FILTERED,
        "django.server": {**_FILTERED, "handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}


# --- notifications and one-time codes ---
# Development and the demo: every message goes to a dev channel instead of its real one (see
# NAVBAT_CHANNELS below): "console" prints them to the terminal (the demo's sign-in codes appear there),
# "file" appends JSON lines to NAVBAT_NOTIFY_FILE, "memory" keeps them for tests. Empty: the real channels.
NAVBAT_NOTIFY_BACKEND = os.environ.get("NAVBAT_NOTIFY_BACKEND", "console")
NAVBAT_NOTIFY_FILE = VAR_DIR / "outbox" / "messages.jsonl"

# The cache holds the rate-limit counters. With REDIS_URL (production: several web processes behind a
# proxy) it is Redis, shared by every process, with atomic counters (needs the `redis` package). Without it,
# local memory: nothing to create or run, but each process counts for itself, so under `navbat serve`'s two
# workers a phone or an address may get up to twice the limits below. Accepted for the demo and a
# one-machine practice; any deployment that relies on the limits sets REDIS_URL.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "navbat",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "navbat"}}

# One-time codes: 6 digits, valid 5 minutes, 3 tries. Codes asked for per phone and per client address,
# per hour and per day (issue 6: 5 an hour and 20 a day per phone).
NAVBAT_OTP_TTL_SECONDS = 300
NAVBAT_OTP_MAX_TRIES = 3
NAVBAT_OTP_LIMITS = {
    "phone_per_hour": int(os.environ.get("NAVBAT_OTP_PHONE_PER_HOUR", "5")),
    "phone_per_day": int(os.environ.get("NAVBAT_OTP_PHONE_PER_DAY", "20")),
    "ip_per_hour": int(os.environ.get("NAVBAT_OTP_IP_PER_HOUR", "20")),
    "ip_per_day": int(os.environ.get("NAVBAT_OTP_IP_PER_DAY", "100")),
}
# Searches for free times (accounts.ratelimits), per 15 minutes: per address and per phone for patients, per
# account for staff (a call centre shares one address and searches all day).
NAVBAT_SEARCH_LIMITS = {
    "period_seconds": 15 * 60,
    "ip": int(os.environ.get("NAVBAT_SEARCH_IP_PER_15MIN", "20")),
    "phone": int(os.environ.get("NAVBAT_SEARCH_PHONE_PER_15MIN", "20")),
    "staff": int(os.environ.get("NAVBAT_SEARCH_STAFF_PER_15MIN", "600")),
}
# How many reverse proxies in front of navbat append to X-Forwarded-For; 0: clients connect directly and
# REMOTE_ADDR is theirs. Behind one proxy set 1, or every patient shares the proxy's address and its limit.
NAVBAT_TRUSTED_PROXIES = int(os.environ.get("NAVBAT_TRUSTED_PROXIES", "0"))
# Patients sign in and register themselves online from this age; children are reached through a guardian.
NAVBAT_ADULT_AGE = 18

# --- Telegram bot and web push (issue 5, N3) ---
# The bot: without NAVBAT_TELEGRAM_TOKEN Telegram is off (the patient page offers no Telegram link and the
# channel fails over to the next one). Updates come by webhook (POST /notify/telegram/<secret>/, registered by
# `navbat telegram --set-webhook URL`; needs NAVBAT_TELEGRAM_WEBHOOK_SECRET) or by `navbat telegram` polling.
NAVBAT_TELEGRAM = {
    "TOKEN": os.environ.get("NAVBAT_TELEGRAM_TOKEN", ""),
    "BOT_NAME": os.environ.get("NAVBAT_TELEGRAM_BOT_NAME", ""),
    "API_URL": os.environ.get("NAVBAT_TELEGRAM_API_URL", "https://api.telegram.org"),
    "WEBHOOK_SECRET": os.environ.get("NAVBAT_TELEGRAM_WEBHOOK_SECRET", ""),
}
# Web push (VAPID). Without NAVBAT_VAPID_PRIVATE_KEY a key pair is generated once into var/vapid_private_key
# (like the secret key above); production sets the private key (base64url, raw or DER) and the contact.
NAVBAT_WEB_PUSH = {
    "PRIVATE_KEY": os.environ.get("NAVBAT_VAPID_PRIVATE_KEY", ""),
    "KEY_FILE": VAR_DIR / "vapid_private_key",
    "SUBJECT": os.environ.get("NAVBAT_VAPID_SUBJECT", "mailto:admin@navbat.invalid"),
    "TTL_SECONDS": int(os.environ.get("NAVBAT_WEB_PUSH_TTL", str(24 * 3600))),
}

# --- SMS gateways and e-mail (notify/channels/sms.py, channels/email.py, webhooks.py) ---
# BACKEND: "generic" (JSON + bearer TOKEN to URL), "eskiz" (Eskiz.uz: EMAIL, PASSWORD, FROM = sender name
# or short number) or "smsru" (SMS.ru: API_ID, FROM, TEST=1 sends nothing and costs nothing). Gateways post
# delivery reports to PUBLIC_URL/notify/hooks/sms/<backend>/report/?token=WEBHOOK_TOKEN (SMS.ru: set that
# address once in its account); without WEBHOOK_TOKEN every report is refused.
NAVBAT_SMS = {
    "BACKEND": os.environ.get("NAVBAT_SMS_BACKEND", ""),
    "URL": os.environ.get("NAVBAT_SMS_URL", ""),
    "TOKEN": os.environ.get("NAVBAT_SMS_TOKEN", ""),
    "EMAIL": os.environ.get("NAVBAT_SMS_EMAIL", ""),
    "PASSWORD": os.environ.get("NAVBAT_SMS_PASSWORD", ""),
    "API_ID": os.environ.get("NAVBAT_SMS_API_ID", ""),
    "FROM": os.environ.get("NAVBAT_SMS_FROM", ""),
    "TEST": _env_flag("NAVBAT_SMS_TEST", False),
    "PARTNER_ID": os.environ.get("NAVBAT_SMS_PARTNER_ID", ""),
    "TIMEOUT": float(os.environ.get("NAVBAT_SMS_TIMEOUT", "10")),
    "MAX_SEGMENTS": int(os.environ.get("NAVBAT_SMS_MAX_SEGMENTS", "6")),
    "WEBHOOK_TOKEN": os.environ.get("NAVBAT_SMS_WEBHOOK_TOKEN", ""),
    "PUBLIC_URL": os.environ.get("NAVBAT_SMS_PUBLIC_URL", os.environ.get("NAVBAT_PUBLIC_URL", "")),
}
# E-mail: SMTP in production (NAVBAT_EMAIL_HOST …); the console without a host, for the demo.
EMAIL_BACKEND = os.environ.get(
    "NAVBAT_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("NAVBAT_EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("NAVBAT_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("NAVBAT_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("NAVBAT_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("NAVBAT_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_flag("NAVBAT_EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = _env_flag("NAVBAT_EMAIL_USE_SSL", EMAIL_PORT == 465)
EMAIL_TIMEOUT = int(os.environ.get("NAVBAT_EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("NAVBAT_EMAIL_FROM", "navbat <noreply@navbat.invalid>")

# --- the notification outbox and its worker (issue 5, N1: notify/services.py, dispatch.py, tasks.py) ---
# Links in messages (view, cancel, …) start with this address: where patients reach navbat.
NAVBAT_PUBLIC_URL = os.environ.get("NAVBAT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The channel of each name. NAVBAT_NOTIFY_BACKEND (above) overrides them all but "call" when it is set —
# the demo and development default, so nothing leaves the machine; production sets it empty.
NAVBAT_CHANNELS = {
    "sms": "navbat.notify.channels.sms.SmsChannel",
    "email": "navbat.notify.channels.email.EmailChannel",
    "telegram": "navbat.notify.channels.telegram.TelegramChannel",
    "push": "navbat.notify.channels.push.PushChannel",
    "call": "navbat.notify.channels.call.CallChannel",
}
# A worker's claim on a delivery lasts this long; a worker killed mid-send leaves it to be claimed again
# (and sent again with the same idempotency key, which the gateway recognises) once it runs out.
NAVBAT_NOTIFY_LEASE_SECONDS = int(os.environ.get("NAVBAT_NOTIFY_LEASE_SECONDS", "120"))
# Each run of the worker's task enqueues its successor this many seconds ahead first: the chain of runs
# survives a killed worker, and the outbox is looked at at least this often.
NAVBAT_NOTIFY_HEARTBEAT_SECONDS = int(os.environ.get("NAVBAT_NOTIFY_HEARTBEAT_SECONDS", "30"))
