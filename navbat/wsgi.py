"""WSGI entry point for gunicorn (`navbat serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "navbat.settings")
application = get_wsgi_application()
