"""Settings for the chat platform: one module, every value from the environment.

Development defaults apply only when ``DEBUG`` is on; with ``DEBUG`` off the
process refuses to start without its secrets. ``.env.example`` lists every
variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne first: its runserver serves ASGI (HTTP and the chat engine's WebSocket).
    "daphne",
    "chatplatform.apps.ConsoleAdminConfig",  # django.contrib.admin, with the console site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "chatplatform",
    "audit",
    "tenants",
    "accounts",
    "channels_app",
    "onboarding",
    "streamsync",
    "chatengine",
    "calls",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "chatplatform.middleware.RequestIdMiddleware",
    "audit.context.AuditContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatplatform.urls"
WSGI_APPLICATION = "chatplatform.wsgi.application"
ASGI_APPLICATION = "chatplatform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_postgresql = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if _postgresql and env.bool("DATABASE_POOL", default=True):
    # A new PostgreSQL connection costs more server CPU than the request that
    # opens it. Each process keeps a pool: a request borrows a connection and
    # gives it back when it ends, so connections are reused under WSGI and
    # ASGI alike and stay bounded (a process never holds more than max_size).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=8),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
    # No health check per checkout: it is a round trip to the server on every
    # request (a quarter of a chat token's time). A connection that broke (the
    # server restarted) fails its request once and the pool drops it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
else:
    # Without a pool: persistent connections exhaust PostgreSQL under ASGI.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the sync worker write concurrently: WAL lets readers
    # proceed, IMMEDIATE transactions queue writers instead of failing them.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Authentication and passwords
# ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's password check behind the sign-in throttles (accounts/throttling.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]

PASSWORD_HASHERS = [
    "accounts.hashers.Argon2PasswordHasher",  # Argon2id, sized for logins (accounts/hashers.py)
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Password hashes a process computes at once; more logins wait for a slot.
PASSWORD_HASH_CONCURRENCY = env.int("PASSWORD_HASH_CONCURRENCY", default=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ---------------------------------------------------------------------------
# Internationalisation and static files
# ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Files users send in the built-in chat engine (served by the engine itself).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# The web client's static export (frontend/out, built by `make run` or the image):
# WhiteNoise serves its assets at the site root; chatplatform.webclient its pages.
WEB_CLIENT_ROOT = Path(env.str("WEB_CLIENT_ROOT", default=str(BASE_DIR / "frontend" / "out")))
WHITENOISE_ROOT = WEB_CLIENT_ROOT
# Cached forever: Next's assets and Django's manifest-hashed files (names change with content).
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/_next/static/|^/static/.+\.[0-9a-f]{12}\.\w+$"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# ---------------------------------------------------------------------------
# Security headers and cookies
# ---------------------------------------------------------------------------
# Cookies are Secure (and JWT cookies carry the __Host-/__Secure- prefixes)
# whenever the site is served over HTTPS, which is every deployment with DEBUG off.
COOKIE_SECURE = env.bool("COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_SECURE = COOKIE_SECURE
CSRF_COOKIE_SECURE = COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the browser client reads it for X-CSRFToken
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "chatplatform.api.views.csrf_failure"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Preloading is hard to undo: an operator opts in. Until then the reminder is silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Bodies above this are refused before parsing (imports go through commands).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# ---------------------------------------------------------------------------
# CORS (only needed when a frontend is served from another origin)
# ---------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/(api|chat-api)/.*$"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "origin",
    "x-csrftoken",
    "x-requested-with",
    # Headers the Stream client SDK adds to every chat request.
    "stream-auth-type",
    "x-stream-client",
    "x-client-request-id",
]

# ---------------------------------------------------------------------------
# Cache and channel layer (Redis when REDIS_URL is set, in-memory otherwise)
# ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Prefixes this deployment's keys in a Redis shared with others.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="chatplatform")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "chatengine"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# ---------------------------------------------------------------------------
# REST framework, JWT, OpenAPI
# ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.CookieJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["chatplatform.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["chatplatform.api.renderers.ORJSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "chatplatform.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "chatplatform.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "chatplatform.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Reverse proxies trusted to append the client's address to X-Forwarded-For.
    # 0 (the default) ignores the header: anyone can write it, and the login
    # throttle and the audit log would believe whatever a client sends.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

# List counts stop here (or at the end of the page asked for): a count at the limit means "at least".
API_COUNT_LIMIT = env.int("API_COUNT_LIMIT", default=1000)

# Sign-in throttles (accounts/throttling.py), for every way of checking a password,
# counted before any password is hashed: all attempts per client address, and
# attempts per account since its last good password. Rates are "<count>/<seconds>".
# Counted in Redis when REDIS_URL is set, else in the database: shared by all processes.
LOGIN_IP_RATE = env.str("LOGIN_IP_RATE", default="120/60")
LOGIN_FAILURE_RATE = env.str("LOGIN_FAILURE_RATE", default="10/300")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Tokens carry a digest of the password hash: a password change ends every session.
    "CHECK_REVOKE_TOKEN": True,
    "LEEWAY": 5,
}

# The access cookie goes everywhere; the refresh cookie only to the auth endpoints.
JWT_COOKIE = {
    "ACCESS_NAME": "__Host-access" if COOKIE_SECURE else "access",
    "REFRESH_NAME": "__Secure-refresh" if COOKIE_SECURE else "refresh",
    "REFRESH_PATH": "/api/auth/",
    "SECURE": COOKIE_SECURE,
    "HTTPONLY": True,
    "SAMESITE": "Lax",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Chat platform API",
    "DESCRIPTION": (
        "Control plane of the multi-tenant chat platform: tenants, users, roles, channels "
        "and memberships. Authenticate with `POST /api/auth/login`, then send "
        "`Authorization: Bearer <access>` (or rely on the HttpOnly cookies plus "
        "`X-CSRFToken` from a browser). Every error is `{detail, code, fields?}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    # "Try it out" sends the CSRF token the page was rendered with, and signing in
    # from the page rotates it: read the cookie on every request instead. (A string
    # is passed to the page as JavaScript; ``requestInterceptor`` inside is the
    # page's own interceptor, which this one wraps.)
    "SWAGGER_UI_SETTINGS": """{
      deepLinking: true,
      requestInterceptor: (request, ...rest) => {
        const sent = requestInterceptor(request, ...rest);
        const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
        for (const name of Object.keys(sent.headers)) {
          if (cookie && name.toLowerCase() === "x-csrftoken") {
            sent.headers[name] = decodeURIComponent(cookie.slice("csrftoken=".length));
          }
        }
        return sent;
      },
    }""",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chatplatform.api.schema.contract_paths",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TenantRoleEnum": "tenants.roles.Role",
        "ChannelRoleEnum": "channels_app.models.ChannelRole",
        "TenantStatusEnum": "tenants.models.TenantStatus",
        "ReadinessStatusEnum": ["ok", "unavailable"],
        "InvitationStatusEnum": "onboarding.models.InvitationStatus",
    },
}

# ---------------------------------------------------------------------------
# Onboarding: links in invitations and set-password mails, and mail itself
# ---------------------------------------------------------------------------
# The port `make run` serves on. Unless SITE_URL and CHATENGINE_URL are set,
# links in mails and reports, and the sync worker's address of the built-in
# engine, follow it.
PORT = env.int("PORT", default=8000)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="chat-platform@localhost")
# Unset: mail is printed to the console (development). Set e.g. smtp://user:pass@host:587
# (django-environ's email URL syntax) to send it.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "")
    EMAIL_PORT = _email.get("EMAIL_PORT", 25)
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# ---------------------------------------------------------------------------
# Chat service (Stream Chat, or the built-in engine at /chat-api/)
# ---------------------------------------------------------------------------
# STREAM_BASE_URL unset: the built-in engine on this server. The key and secret
# are then the engine's own; for Stream's cloud they are your Stream app's.
STREAM_BASE_URL = env.str("STREAM_BASE_URL", default="").rstrip("/")
STREAM_API_KEY = env.str("STREAM_API_KEY", default="")
STREAM_API_SECRET = env.str("STREAM_API_SECRET", default="")
if not (STREAM_API_KEY and STREAM_API_SECRET):
    if not DEBUG:
        raise ImproperlyConfigured("STREAM_API_KEY and STREAM_API_SECRET must be set when DEBUG is off.")
    STREAM_API_KEY = STREAM_API_KEY or "chatplatform-dev"
    STREAM_API_SECRET = STREAM_API_SECRET or "chatplatform-development-secret-not-for-production"
# With STREAM_BASE_URL unset: where the server side (the sync worker, commands)
# reaches the built-in engine, and where browsers do (unset: this server's own
# /chat-api, as the browser addressed it).
CHATENGINE_URL = env.str("CHATENGINE_URL", default=f"http://127.0.0.1:{PORT}/chat-api").rstrip("/")
CHATENGINE_PUBLIC_URL = env.str("CHATENGINE_PUBLIC_URL", default="").rstrip("/")
# The largest file a user may send in the built-in engine (Stream's own ceiling is 100 MB).
CHATENGINE_UPLOAD_MAX_MB = env.int("CHATENGINE_UPLOAD_MAX_MB", default=100)
if not 1 <= CHATENGINE_UPLOAD_MAX_MB <= 100:
    # GET /app reports it in bytes, and Stream's schema stops at 100 MB.
    raise ImproperlyConfigured("CHATENGINE_UPLOAD_MAX_MB must be between 1 and 100.")
STREAM_TOKEN_TTL = env.int("STREAM_TOKEN_TTL", default=3600)
STREAM_TIMEOUT = env.float("STREAM_TIMEOUT", default=6.0)
# The sync worker (manage.py stream_sync, or the thread `manage.py serve` starts).
STREAM_SYNC_BATCH_SIZE = env.int("STREAM_SYNC_BATCH_SIZE", default=500)
# A claimed row whose worker died becomes due again after this many seconds.
STREAM_SYNC_LEASE_SECONDS = env.int("STREAM_SYNC_LEASE_SECONDS", default=300)
STREAM_SYNC_POLL_INTERVAL = env.float("STREAM_SYNC_POLL_INTERVAL", default=0.5)
STREAM_SYNC_BACKOFF_BASE = env.float("STREAM_SYNC_BACKOFF_BASE", default=1.0)
STREAM_SYNC_BACKOFF_CAP = env.float("STREAM_SYNC_BACKOFF_CAP", default=300.0)
# /api/ready fails once the oldest change waiting for the chat service is older
# than this many seconds (the worker is down or the service refuses); 0: never.
STREAM_SYNC_READY_MAX_AGE = env.int("STREAM_SYNC_READY_MAX_AGE", default=600)

# ---------------------------------------------------------------------------
# Calls (docs/calls.md): WebRTC between browsers, signaling through the chat
# service. No STUN or TURN configured: host candidates only (one machine, a LAN).
# ---------------------------------------------------------------------------
CALLS_STUN_URLS = env.list("CALLS_STUN_URLS", default=[])
CALLS_TURN_URLS = env.list("CALLS_TURN_URLS", default=[])
# The TURN server's shared secret (coturn: use-auth-secret, static-auth-secret).
CALLS_TURN_SECRET = env.str("CALLS_TURN_SECRET", default="")
# Seconds a TURN credential stays valid; a call that outlives it keeps its relay.
CALLS_TURN_TTL = env.int("CALLS_TURN_TTL", default=3600)
# "relay" forces every call through TURN (privacy, or a test of the relay path).
CALLS_ICE_TRANSPORT_POLICY = env.str("CALLS_ICE_TRANSPORT_POLICY", default="all")
# Every participant sends to every other (a mesh): upstream grows with each one.
CALLS_MAX_PARTICIPANTS = env.int("CALLS_MAX_PARTICIPANTS", default=4)

# ---------------------------------------------------------------------------
# Logging: one line per record, request id attached where known
# ---------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print each of its lines a
        # second time, next to the root handler.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 4xx is in the access log already; a 5xx is still logged with its traceback.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # The development server prints its own access log.
        "django.channels.server": {"propagate": False},
    },
}
