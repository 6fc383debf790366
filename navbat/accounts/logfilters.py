"""Keep patients' personal data out of what Django itself logs (DESIGN.md invariant 3).

Django's request and template loggers write what the request or the code carried: the path of a 404
(where a name or a phone may sit: /patients/Yuldashev/), a 500's exception text (a database error quotes
the row: "Key (value)=(31501902680016) already exists"), a template lookup's whole context (the patient's
card). `NoPersonalData` rewrites such records as they are made, for every handler: the path becomes the
URL pattern it matched, exception texts are withheld (the type and the traceback's lines stay), and the
request object is dropped. settings.LOGGING attaches it to those loggers and to the console handler.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType

UNMATCHED = "(an address that matches no page)"
WITHHELD = "(the message is withheld from the log: it may quote personal data)"
QUERY = re.compile(r"\?[^\s\"]*")


class NoPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str) and isinstance(record.args, tuple):
            record.args = tuple(route_of(request) if arg == path else arg for arg in record.args)
        if request is not None:
            record.request = None
        if isinstance(record.args, tuple) and record.name == "django.server":
            # runserver's access line: '"GET /patients/?q=… HTTP/1.1" 200 512': no query strings.
            record.args = tuple(QUERY.sub("?…", arg) if isinstance(arg, str) else arg for arg in record.args)
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = withheld(record.exc_info[0], record.exc_info[2])
            record.exc_info = None
        return True


def route_of(request: object) -> str:
    """The URL pattern a request matched ("/patients/<int:pk>/"), never the path it came with."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    return f"/{route}" if route is not None else UNMATCHED


def withheld(kind: type[BaseException], tb: TracebackType | None) -> str:
    frames = "".join(traceback.format_tb(tb))
    return f"Traceback (most recent call last):\n{frames}{kind.__module__}.{kind.__qualname__}: {WITHHELD}"
