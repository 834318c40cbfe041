"""Settings for the chat platform: one module, every value from the environment.

(One module over 400 lines on purpose: it is the one place an operator reads
every setting and its default, in the order ``.env.example`` lists them, and
every variable it reads is documented in docs/operations.md, which
chatplatform/tests/test_operations_doc.py checks against this file.)

Development defaults apply only when ``DEBUG`` is on; with ``DEBUG`` off the
process refuses to start without its secrets. ``.env.example`` lists every
variable.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
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

# Keys SECRET_KEY replaced, still accepted for what they signed (sessions,
# invitation and set-password links, and sign-in tokens unless JWT_SIGNING_KEY
# is set): rotating the key then ends nobody's session. Drop them once what
# they signed has expired (docs/operations.md, "Rotating secrets").
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

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
    "csp",
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
    # First: the request id, the access line and the request metrics cover what
    # the middleware below answers by itself (redirects, static files, preflights).
    "chatplatform.middleware.RequestIdMiddleware",
    # Ends a request's tenant scope of its database connection, however it ends.
    "tenants.rls.RowLevelSecurityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise: the files it serves (an SVG too) carry the policy as well.
    "chatplatform.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
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


if _postgresql:
    # Row-level security (tenants/rls.py): the application's sessions start
    # with the bypass on; a tenant user's request scopes its connection, and a
    # connection taken from the pool is unscoped before its first statement
    # (not by a pool reset: that returns every connection through the pool's
    # worker thread).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c app.bypass_rls=on".strip()
    # The chat engine's own statements (chatengine/rawsql.py) bind their values
    # on the server and are prepared after this many runs on a connection, so
    # PostgreSQL stops parsing and planning them on every call. Empty turns it
    # off, for a pooler that cannot keep prepared statements.
    _threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
    _options["prepare_threshold"] = int(_threshold) if _threshold else None
    # The role that owns the tables, when the login role is another: the
    # session takes it at startup (Django's ``assume_role`` deadlocks a pool
    # in 5.2). Policies skip superusers and BYPASSRLS roles.
    if _role := env.str("DATABASE_ROLE", default=""):
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", _role):
            raise ImproperlyConfigured("DATABASE_ROLE must be a plain lower-case role name.")
        _options["options"] += f" -c role={_role}"
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
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^api/ready$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Preloading is hard to undo: an operator opts in. Until then the reminder is silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp; chatplatform/csp.py adds what depends on the
# request). One policy for the console, the API docs and the web client: scripts only
# from this origin (the web client's inline bootstrap scripts by their hashes, a
# template's by its nonce), no plugins, no framing, forms and <base> to this origin.
# Styles may be inline: ReDoc and the chat UI kit inject <style> at run time, and a
# style cannot run script. The chat service's origin (the `base_url` of
# /api/stream/token: this server, CHATENGINE_PUBLIC_URL or STREAM_BASE_URL) is added
# to connect-src (HTTP and WebSocket) and to img-src and media-src per request.
_csp_sources = {
    # Where else the chat service's uploaded files are served from (e.g. Stream's CDN).
    "media": env.list("CSP_MEDIA_SOURCES", default=[]),
    # Anything else the browser must reach (e.g. an error reporter).
    "connect": env.list("CSP_CONNECT_SOURCES", default=[]),
}
_csp_policy = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:", *_csp_sources["media"]],
        "media-src": [SELF, "blob:", *_csp_sources["media"]],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF, *_csp_sources["connect"]],
        # ReDoc runs its search in a worker it starts from a blob.
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        # Only where the site is HTTPS (every deployment with DEBUG off).
        "upgrade-insecure-requests": SECURE_SSL_REDIRECT,
        "report-uri": env.str("CSP_REPORT_URI", default="") or None,
    }
}
# CSP_REPORT_ONLY=1 sends the same policy as Content-Security-Policy-Report-Only:
# browsers report what it would block (to CSP_REPORT_URI) and block nothing.
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp_policy
else:
    CONTENT_SECURITY_POLICY = _csp_policy

# Permissions-Policy: what browser features this site's pages may use. Camera,
# microphone and screen sharing on this origin only (calls, voice messages), the
# rest off. Feature names as Chromium knows them (others are logged as unknown).
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": ["self"],
    "display-capture": ["self"],
    "fullscreen": ["self"],  # the chat's image and video viewer
    "accelerometer": [],
    "autoplay": [],
    "browsing-topics": [],
    "encrypted-media": [],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

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
# The chat engine delivers through its own hub (chatengine/hub.py: Redis pub/sub
# on REDIS_URL, in-process otherwise), not through the channel layer.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "chatplatform.cache.RedisCache",
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
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "chatplatform.api.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "chatplatform.api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "chatplatform.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "chatplatform.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Reverse proxies trusted to append the client's address to X-Forwarded-For.
    # 0 (the default) ignores the header: anyone can write it, and the login
    # throttle and the audit log would believe whatever a client sends.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    # Scoped throttles (accounts/throttling.py: counted like the sign-in throttles,
    # in Redis or the database, atomically across processes); 429 with Retry-After.
    # "<count>/<seconds>" or DRF's "<count>/<s|min|hour|day>". The web client asks
    # for one chat token per page load and one more an hour, and refreshes once per
    # access token lifetime: the defaults leave room for many tabs and reloads.
    "DEFAULT_THROTTLE_RATES": {
        # POST /api/auth/refresh, per account the refresh token names (else per address).
        "auth_refresh": env.str("THROTTLE_REFRESH_RATE", default="30/60"),
        # GET /api/stream/token, per user.
        "chat_token": env.str("THROTTLE_CHAT_TOKEN_RATE", default="30/60"),
        # Looking at or using an invitation or set-password link, per client address
        # (an office onboarding together shares one).
        "invitation": env.str("THROTTLE_INVITATION_RATE", default="100/600"),
        # Setting a password through one link, per link.
        "set_password": env.str("THROTTLE_SET_PASSWORD_RATE", default="10/600"),
    },
}

# List counts stop here (or at the end of the page asked for): a count at the limit means "at least".
API_COUNT_LIMIT = env.int("API_COUNT_LIMIT", default=1000)

# Sign-in throttles (accounts/throttling.py), for every way of checking a password,
# counted before any password is hashed: all attempts per client address, and
# attempts per account since its last good password. Rates are "<count>/<seconds>".
# Counted in Redis when REDIS_URL is set, else in the database: shared by all processes.
LOGIN_IP_RATE = env.str("LOGIN_IP_RATE", default="120/60")
LOGIN_FAILURE_RATE = env.str("LOGIN_FAILURE_RATE", default="10/300")

# A mistyped rate stops the process at start, not each request with a 500.
for _name, _rate in [
    ("LOGIN_IP_RATE", LOGIN_IP_RATE),
    ("LOGIN_FAILURE_RATE", LOGIN_FAILURE_RATE),
    *((f"throttle rate {scope!r}", rate) for scope, rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items()),
]:
    if not re.fullmatch(r"[1-9]\d*/(?:[1-9]\d*|s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(f'{_name} is {_rate!r}: write "<count>/<seconds>", e.g. "30/60".')

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    # accounts.jwt: verified with the signing key or one it replaced (JWT_SIGNING_KEY_FALLBACKS).
    "AUTH_TOKEN_CLASSES": ("accounts.jwt.AccessToken",),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    # Tokens carry a digest of the password hash: a password change ends every session.
    "CHECK_REVOKE_TOKEN": True,
    "LEEWAY": 5,
}

# Keys JWT_SIGNING_KEY replaced: sign-in tokens they signed stay valid until they
# expire (new tokens use the current key). With no JWT_SIGNING_KEY of its own,
# the JWT key is SECRET_KEY and its fallbacks are SECRET_KEY's.
JWT_SIGNING_KEY_FALLBACKS = env.list(
    "JWT_SIGNING_KEY_FALLBACKS",
    default=[] if env.str("JWT_SIGNING_KEY", default="") else SECRET_KEY_FALLBACKS,
)

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
    # No validator badge: it would load an image from the validator's site.
    "SWAGGER_UI_SETTINGS": """{
      deepLinking: true,
      validatorUrl: null,
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
# Threads that run the WebSocket consumer's database work (handshakes, closes,
# the batched write of pings), so no socket waits behind one shared thread.
# 0: Channels' single thread-sensitive thread.
CHATENGINE_DB_THREADS = env.int("CHATENGINE_DB_THREADS", default=4)
# Deliveries a server process may have waiting (frames queued on its sockets and
# events not yet fanned out) before it refuses new sends with Stream's 429.
CHATENGINE_MAX_BACKLOG = env.int("CHATENGINE_MAX_BACKLOG", default=20000)
if not 1 <= CHATENGINE_UPLOAD_MAX_MB <= 100:
    # GET /app reports it in bytes, and Stream's schema stops at 100 MB.
    raise ImproperlyConfigured("CHATENGINE_UPLOAD_MAX_MB must be between 1 and 100.")
# Secrets STREAM_API_SECRET replaced, during a rotation: the built-in engine
# still accepts chat tokens they signed, and webhooks signed with them are
# still verified. New tokens are signed with STREAM_API_SECRET. Drop them once
# STREAM_TOKEN_TTL has passed (docs/operations.md, "Rotating secrets").
STREAM_API_SECRET_FALLBACKS = env.list("STREAM_API_SECRET_FALLBACKS", default=[])
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
# Logging: one line per record, the request id on each; one access line per
# request (chatplatform/request_log.py). JSON in production, text in development.
# ---------------------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "chatplatform.request_log.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "chatplatform.request_log.JsonFormatter"},
        "text": {"()": "chatplatform.request_log.TextFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print each of its lines a
        # second time, next to the root handler.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 4xx is in the access line already; a 5xx is still logged with its traceback.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # The development server's own access log repeats the application's line
        # (its 4xx and 5xx would reach the console through logging's last resort).
        "django.channels.server": {"handlers": ["discard"], "propagate": False},
        # The servers' own access logs repeat the application's access line, and
        # uvicorn's (access and WebSocket lines alike) print query strings, where
        # the engine's clients send their tokens: both stay quiet.
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "uvicorn.error": {"level": "WARNING"},
    },
}

# ---------------------------------------------------------------------------
# Metrics: Prometheus text at /metrics (chatplatform/metrics.py)
# ---------------------------------------------------------------------------
# Addresses or networks (CIDR) that may read /metrics without a token. Behind a
# proxy the address is the client's as NUM_PROXIES reads it; a request relayed
# by an undeclared proxy (X-Forwarded-For with NUM_PROXIES=0) is never let in by address.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
for _entry in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError as _error:
        _message = f"METRICS_ALLOWED_IPS: {_entry!r} is not an address or network."
        raise ImproperlyConfigured(_message) from _error
# Any client sending ``Authorization: Bearer <METRICS_TOKEN>`` may read /metrics. Unset: none.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters (or unset).")
# Several processes per host count into this directory (the client library's
# multiprocess mode reads it from the environment): it must exist, or the first
# counter a request touches would fail it.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR} is not a directory.")
