# Production image: gunicorn (WSGI) for the API, admin and web client; static
# files (the console's and the web client's) served by whitenoise.

# The web client is built in a stage of its own: the final image needs no Node.
FROM node:20-slim AS web
WORKDIR /web
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN NEXT_TELEMETRY_DISABLED=1 npm run build

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
COPY --from=web --chown=app:app /web/out /app/frontend/out

# collectstatic needs settings that load (DEBUG off refuses to start without
# its secrets); the real secrets come at run time.
RUN DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
    STREAM_API_KEY=collectstatic-only STREAM_API_SECRET=collectstatic-only \
    python manage.py collectstatic --noinput -v0

USER app
EXPOSE 8000
# Probes: GET /api/health (liveness) and /api/ready (database, sync backlog).
# The same image runs the other processes of the Procfile with another command:
#   uvicorn chatplatform.asgi:application --host 0.0.0.0 --port 8001 --workers 1 --lifespan off \
#     --proxy-headers --forwarded-allow-ips <proxy address> --no-access-log --log-level warning
#                                                                (the chat engine, as in the Procfile)
#   python manage.py stream_sync                                 (sync workers, several)
# and nginx in front (deploy/nginx.conf). See docs/operations.md.

# Apply migrations, then serve. Several workers; threads for slow clients.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn chatplatform.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --threads 4"]
