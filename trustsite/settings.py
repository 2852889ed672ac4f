"""
Settings for checkout-trust.

Every value comes from an environment variable (or a `.env` file beside
`manage.py`) read once here through django-environ. Each default serves a
developer on a fresh machine: SQLite, local-memory caches, DEBUG on. The
deployment checks in `trust/checks.py` refuse the development defaults once
DEBUG is off.
"""

import os
import tempfile
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

# The development key is deliberately recognisable: `trust.E001` refuses it
# whenever DEBUG is off.
DEVELOPMENT_SECRET_KEY = "django-insecure-checkout-trust-development-only"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Core ---------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "cachalot",
    "fulfillment",
    "trust",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "trustsite.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "trustsite.urls"
WSGI_APPLICATION = "trustsite.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

# Database -----------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent
    # writers wait for it (up to `timeout` seconds) instead of failing with
    # "database is locked" when a read transaction tries to upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not the in-memory default: tests of concurrent workers need
    # connections that lock like separate processes do. One file per test
    # process, so that two test runs never share one.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(tempfile.gettempdir()) / f"checkout-trust-test-{os.getpid()}.sqlite3")
    )

# Caches -------------------------------------------------------------------

# `default` is shared by every worker in a deployment (Redis) and holds
# cachalot's query cache and invalidation stamps. `metrics` is the memory tier
# of the metric cache: always local memory, one per process, kept honest by
# the purge generation in the database (see docs/metrics.md).
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://checkout-trust-default"),
    "metrics": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "checkout-trust-metrics",
        "TIMEOUT": None,
    },
}
TRUST_METRICS_MEMORY_CACHE_ALIAS = "metrics"
TRUST_METRICS_MEMORY_TTL_SECONDS = env.int("TRUST_METRICS_MEMORY_TTL_SECONDS", default=900)
# Sort memory for a metric computation on PostgreSQL (SET LOCAL, one transaction).
TRUST_METRICS_WORK_MEM = env.str("TRUST_METRICS_WORK_MEM", default="64MB")
# How long a request that missed waits for another worker computing the same metric.
TRUST_METRICS_SINGLE_FLIGHT_WAIT_SECONDS = env.float(
    "TRUST_METRICS_SINGLE_FLIGHT_WAIT_SECONDS", default=15.0
)

# django-cachalot caches the `trust` app's tables only: fulfillment tables
# are written all day by other systems, and the metric cache table belongs to
# the metrics module.
CACHALOT_ONLY_CACHABLE_APPS = ["trust"]
CACHALOT_CACHE = "default"

# Product ------------------------------------------------------------------

CHECKOUT_API_KEY = env.str("CHECKOUT_API_KEY", default="")
CHECKOUT_PREVIEW_TOKEN = env.str("CHECKOUT_PREVIEW_TOKEN", default="")
TRUST_ENVIRONMENT = env.str("TRUST_ENVIRONMENT", default="development")

# Storefront API -----------------------------------------------------------

# JSON in and out only; the browsable docs are the Swagger UI and ReDoc pages,
# served from drf-spectacular-sidecar's static files so they work offline.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trust.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["trust.api.permissions.StorefrontAccess"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["trust.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "trust.api.exception_handlers.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Checkout trust API",
    "DESCRIPTION": (
        "Live, verified trust metrics and enriched checkout experiences for storefronts. "
        "Send the deployment's API key in the X-API-Key header."
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Authentication -----------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation and time -------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files -------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# WhiteNoise serves what `collectstatic` gathered, compressed, from each worker.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Security (applies when DEBUG is off) -------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
X_FRAME_OPTIONS = "DENY"

# Logging ------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")  # or "json", one object per line
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "trustsite.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "trust": {"level": LOG_LEVEL},
        "fulfillment": {"level": LOG_LEVEL},
        "trustsite": {"level": LOG_LEVEL},
        "django.request": {"level": "ERROR"},
    },
}
