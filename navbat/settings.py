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
# Where messages go until the notifications issue brings real channels (a dotted path): ConsoleBackend
# prints them to the server's terminal (the demo's sign-in codes appear there), FileBackend appends JSON
# lines to NAVBAT_NOTIFY_FILE, MemoryBackend keeps them in memory for tests.
NAVBAT_NOTIFY_BACKEND = os.environ.get("NAVBAT_NOTIFY_BACKEND", "navbat.notify.backends.ConsoleBackend")
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
# How many reverse proxies in front of navbat append to X-Forwarded-For; 0: clients connect directly and
# REMOTE_ADDR is theirs. Behind one proxy set 1, or every patient shares the proxy's address and its limit.
NAVBAT_TRUSTED_PROXIES = int(os.environ.get("NAVBAT_TRUSTED_PROXIES", "0"))
# Patients sign in and register themselves online from this age; children are reached through a guardian.
NAVBAT_ADULT_AGE = 18
