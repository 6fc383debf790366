"""The REST API at /api/v1/: one NinjaAPI, the routers of the apps, and every error in one JSON shape.

    {"code": "slot_taken", "message": "<in the caller's language>", "details": {...}}

`code` is stable for programs (an Enum value: BookingErrorCode, PatientErrorCode, ApiErrorCode), `message` is
for people, translated by Accept-Language (or the language cookie of a signed-in page). A DomainError a
service raises becomes a 400 or a 409 here; a 500 is a bug (DESIGN.md invariant 4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from functools import wraps
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from pydantic import AfterValidator, ConfigDict

from navbat.accounts.api_auth import CsrfFailed, NoRole, SessionAuth, TokenAuth
from navbat.accounts.ratelimits import RateLimitCode
from navbat.booking.errors import BookingErrorCode, TransferErrorCode
from navbat.errors import DomainError
from navbat.patients.errors import PatientErrorCode

# What the routers call their body parameter (ninja puts the name in an error's location; we take it out).
BODY_PARAMETER = "payload"
# The largest id a database row can have (a signed 64-bit integer): larger ones are refused as invalid.
MAX_ID = 2**63 - 1


def clean_text(value: str) -> str:
    """Text every database can store: no NUL characters (PostgreSQL refuses them), no lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(clean_text)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class ApiErrorCode(StrEnum):
    """Errors of the API itself, beside the services' own codes."""

    INVALID = "invalid"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NO_ROLE = "no_role"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    THROTTLED = "throttled"


class Input(Schema):
    """A request body: a JSON object with only the fields it declares. A misspelt field is refused, not
    ignored; and ninja's schemas would otherwise read a string or a list as an object without fields."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    """Every error the API answers with."""

    code: str
    message: str
    details: dict[str, Any]


# Refusals because of what is already there (somebody holds the time, the record is in another state): 409.
# Everything else a service refuses is a bad request: 400.
CONFLICT_CODES: frozenset[StrEnum] = frozenset(
    {
        BookingErrorCode.SLOT_TAKEN,
        BookingErrorCode.SLOT_UNAVAILABLE,
        BookingErrorCode.INVALID_TRANSITION,
        TransferErrorCode.PATIENT_BUSY,
        PatientErrorCode.POSSIBLE_DUPLICATE,
        PatientErrorCode.IDENTIFIER_TAKEN,
        PatientErrorCode.PHONE_LIMIT,
        PatientErrorCode.MERGE_INACTIVE,
    }
)
STATUS_OF_CODE: Mapping[StrEnum, int] = {
    ApiErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    **dict.fromkeys(CONFLICT_CODES, 409),
    RateLimitCode.RATE_LIMITED: 429,
}

MESSAGES = {
    ApiErrorCode.INVALID: _("Some fields are not filled in correctly."),
    ApiErrorCode.BAD_REQUEST: _("The request could not be read. Send a JSON object."),
    ApiErrorCode.UNAUTHORIZED: _("Sign in, or send a valid API token (Authorization: Bearer …)."),
    ApiErrorCode.FORBIDDEN: _("You are not allowed to do this."),
    ApiErrorCode.NOT_FOUND: _("Not found."),
    ApiErrorCode.METHOD_NOT_ALLOWED: _("This address does not accept this method."),
    ApiErrorCode.THROTTLED: _("Too many requests. Please wait a little and try again."),
}


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers an operation declares: 401 and 403 (every caller must be signed in with a role) and
    422 (parameters), plus `statuses`."""
    return dict.fromkeys(sorted({401, 403, 422, *statuses}), ErrorOut)


def error_body(code: StrEnum, message: object, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"code": str(code), "message": str(message), "details": dict(details or {})}


def domain_error_answer(error: DomainError) -> tuple[int, dict[str, Any]]:
    """The status and body of a service's refusal."""
    return STATUS_OF_CODE.get(error.code, 400), error_body(error.code, error.message, error.details)


class FormOrJsonParser(Parser):
    """JSON bodies, and form posts too (an HTML form or htmx on the site's own pages)."""

    FORMS = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if request.content_type in self.FORMS and request.method == "POST":
            return {key: request.POST.get(key) for key in request.POST if key != "csrfmiddlewaretoken"}
        return super().parse_body(request)


class NavbatAPI(NinjaAPI):
    """Mounts the apps' routers when the URLs (or the schema) are first asked for, not at import: the routers
    import this module for the error schema, and this module need not import them first."""

    _mounted = False

    def mount_routers(self) -> None:
        if self._mounted:
            return
        from navbat.booking.api import router as booking
        from navbat.clinic.api import router as clinic
        from navbat.patients.api import router as patients

        self.add_router("", booking, tags=["booking"])
        self.add_router("", patients, tags=["patients"])
        self.add_router("", clinic, tags=["clinic"])
        self._mounted = True

    @property
    def urls(self) -> tuple[list[Any], str, str]:
        self.mount_routers()
        return super().urls

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        self.mount_routers()
        return super().get_openapi_schema(**kwargs)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        """Ninja's URLs, with JSON answers where it would answer in plain text or HTML: a method the address
        does not take (405), the API's root and any address under it that is not an operation (404)."""
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                if pattern.name == "api-root":
                    pattern.callback = _no_such_address
                else:
                    pattern.callback = _json_not_allowed(pattern.callback)
        return [*patterns, path("<path:rest>", _no_such_address, name="no_such_address")]


api = NavbatAPI(
    title="navbat",
    version="1",
    description=(
        "Dental clinic booking. Authenticate with `Authorization: Bearer <token>` (`navbat token create "
        "--user NAME`) or, from the site's own pages, the session cookie with the X-CSRFToken header. "
        "Every error is `{code, message, details}`; `message` is in the language of Accept-Language. "
        "POST /appointments honours an Idempotency-Key header."
    ),
    urls_namespace="api-1",
    auth=[TokenAuth(), SessionAuth()],
    parser=FormOrJsonParser(),
)


def answer(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="navbat"'
    return response


def _no_such_address(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return answer(request, 404, error_body(ApiErrorCode.NOT_FOUND, MESSAGES[ApiErrorCode.NOT_FOUND]))


def _json_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            body = error_body(ApiErrorCode.METHOD_NOT_ALLOWED, MESSAGES[ApiErrorCode.METHOD_NOT_ALLOWED])
            allowed = response["Allow"]
            response = answer(request, 405, body)
            response["Allow"] = allowed
        return response

    return checked


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    status, body = domain_error_answer(error)
    response = answer(request, status, body)
    if status == 429 and "retry_after" in error.details:
        response["Retry-After"] = str(error.details["retry_after"])
    return response


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    found = [
        {"loc": _location(item.get("loc", ())), "msg": str(item.get("msg", "")), "type": item["type"]}
        for item in error.errors
    ]
    message = MESSAGES[ApiErrorCode.INVALID]
    return answer(request, 422, error_body(ApiErrorCode.INVALID, message, {"errors": found}))


def _location(loc: Iterable[object]) -> list[str]:
    """Where the error is, as the client wrote it: ["body", "start"], not ninja's ["body", "payload", …]."""
    parts = [str(part) for part in loc]
    if parts[:2] == ["body", BODY_PARAMETER]:
        del parts[1]
    return parts


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code: ApiErrorCode
    message: object
    if isinstance(error, CsrfFailed):
        code, message = ApiErrorCode.CSRF_FAILED, error.message
    elif isinstance(error, NoRole):
        code, message = ApiErrorCode.NO_ROLE, error.message
    elif isinstance(error, AuthenticationError) or error.status_code == 401:
        code, message = ApiErrorCode.UNAUTHORIZED, MESSAGES[ApiErrorCode.UNAUTHORIZED]
    elif error.status_code == 403:
        code, message = ApiErrorCode.FORBIDDEN, MESSAGES[ApiErrorCode.FORBIDDEN]
    elif error.status_code == 404:
        code, message = ApiErrorCode.NOT_FOUND, MESSAGES[ApiErrorCode.NOT_FOUND]
    elif error.status_code == 429:
        code, message = ApiErrorCode.THROTTLED, MESSAGES[ApiErrorCode.THROTTLED]
    else:
        code, message = ApiErrorCode.BAD_REQUEST, MESSAGES[ApiErrorCode.BAD_REQUEST]
    return answer(request, error.status_code, error_body(code, message))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    message = error.args[0] if error.args else MESSAGES[ApiErrorCode.NOT_FOUND]
    return answer(request, 404, error_body(ApiErrorCode.NOT_FOUND, message))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    message = error.args[0] if error.args else MESSAGES[ApiErrorCode.FORBIDDEN]
    return answer(request, 403, error_body(ApiErrorCode.FORBIDDEN, message))
