"""WSGI entry point: production serves the REST API and the admin here (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

from chatplatform.startup import loaded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatplatform.settings")

application = get_wsgi_application()
loaded()
