# Production image: gunicorn (WSGI) for the API and admin, static files via whitenoise.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=app:app . .

# collectstatic needs settings that load; the real secret comes at run time.
RUN DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput -v0

USER app
EXPOSE 8000
# Probes: GET /api/health (liveness) and /api/ready (database, sync backlog).


# Apply migrations, then serve. Several workers; threads for slow clients.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn chatplatform.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --threads 4 --access-logfile -"]
