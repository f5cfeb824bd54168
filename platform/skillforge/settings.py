"""SkillForge settings, all from the environment (12-factor).

Every variable is read through skillforge.env, which raises EnvError naming the
variable when a value is malformed. With nothing set you get the embedded default:
DEBUG on, SQLite at var/db.sqlite3, a filesystem Celery broker under var/broker, the
first sandbox backend that works. Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL and REDIS_URL; `manage.py check --deploy` then passes.
"""

from __future__ import annotations

from pathlib import Path

from kombu import Exchange, Queue
from whitenoise.compress import Compressor

from sandbox import CEILING

from .env import (
    EnvError,
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_path,
    env_rate_limits,
    env_str,
    env_url,
    load_secret_files,
)

PLATFORM_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PLATFORM_DIR.parent

# Secrets come from the environment or from NAME_FILE, a file outside the checkout (docs/security.md).
SECRET_NAMES = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SKILLFORGE_METRICS_TOKEN")
load_secret_files(SECRET_NAMES, forbidden_root=REPO_DIR)

# --- core -------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-skillforge-dev-only-never-use-this-key-in-production")
else:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise EnvError("SECRET_KEY", "must be at least 50 random characters when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise EnvError("ALLOWED_HOSTS", "is required when DEBUG is off (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "skillforge",
    "accounts",
    "catalog",
    "submissions",
    "credentials",
    "portfolios",
    "authoring",
    "learning",
    "lti_tool",
    "lti",
    "privacy",
]

MIDDLEWARE = [
    "skillforge.metrics.MetricsMiddleware",  # first: it times everything below it
    "django.middleware.security.SecurityMiddleware",
    "skillforge.security.SecurityHeadersMiddleware",  # CSP, Permissions-Policy
    "skillforge.security.RequestSizeMiddleware",  # 413 before anything reads an oversized body
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "skillforge.security.RateLimitMiddleware",  # log in, sign-up, the API: 429 with Retry-After
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "skillforge.urls"
WSGI_APPLICATION = "skillforge.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- data -------------------------------------------------------------------------

# Lab version snapshots (labversions/<hash>/) and submission files (submissions/<id>/).
SKILLFORGE_DATA_DIR = env_path("SKILLFORGE_DATA_DIR", REPO_DIR / "var")
# Where import_labs and labcheck look for labs/<slug>/lab.toml, and labcheck for wrong_* folders.
SKILLFORGE_LABS_DIR = env_path("SKILLFORGE_LABS_DIR", REPO_DIR / "labs")
SKILLFORGE_LAB_TESTS_DIR = env_path("SKILLFORGE_LAB_TESTS_DIR", REPO_DIR / "tests" / "labs")

_default_sqlite = REPO_DIR / "var" / "db.sqlite3"
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{_default_sqlite}")}
# 0 (Django's default) opens a connection per request; deploy/ sets 60 for the web (a
# PostgreSQL connection costs a fork, ~3–5 ms a request; bench/web.py) and `./sf worker`
# keeps one. A kept connection is checked before it is reused, so a database restart
# costs a reconnect, not a failed request or grade.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded demo runs a worker beside the web process on one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    if DATABASES["default"]["NAME"] == str(_default_sqlite):
        _default_sqlite.parent.mkdir(parents=True, exist_ok=True)

MEDIA_ROOT = env_path("MEDIA_ROOT", SKILLFORGE_DATA_DIR / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", REPO_DIR / "staticfiles")
# In development whitenoise serves straight from the apps' static folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Source maps (the API docs ship them) are fetched by developer tools only: compressing them
# was two thirds of collectstatic's CPU time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# JSON bodies (the API's {"files": …}) up to this size reach the intake, which applies
# each lab's own, smaller limits and records a rejected submission with a message.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 16 * 1024 * 1024, minimum=1024)

# --- auth -------------------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- security (defaults follow DEBUG; each can be set explicitly) -----------------

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):  # behind a proxy that sets X-Forwarded-Proto
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Origins allowed to frame the views Django lets be framed (@xframe_options_exempt: LTI launches).
SKILLFORGE_FRAME_ANCESTORS = env_list("SKILLFORGE_FRAME_ANCESTORS", [])
# The largest request body accepted at all (413 before it is read); each lab's own upload limit is smaller.
SKILLFORGE_MAX_REQUEST_BYTES = env_int("SKILLFORGE_MAX_REQUEST_BYTES", 32 * 1024 * 1024, minimum=64 * 1024)
# Behind a proxy, the header that carries the client's address (e.g. HTTP_X_REAL_IP); else REMOTE_ADDR.
SKILLFORGE_CLIENT_IP_HEADER = env_str("SKILLFORGE_CLIENT_IP_HEADER", "")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- grading ----------------------------------------------------------------------

SKILLFORGE_SANDBOX = env_choice("SKILLFORGE_SANDBOX", "auto", ("auto", "docker", "bubblewrap"))
# Fresh Docker sandboxes a worker keeps started per lab, so a submission does not wait
# for one to start (sandbox/pool.py). 0 disables it; bubblewrap needs none.
SKILLFORGE_POOL_SIZE = env_int("SKILLFORGE_POOL_SIZE", 2, minimum=0)
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss", "unix"))
# Requests that may wait at once per web process for a grade (the API's ?wait=, the live
# page; submissions/live.py). Keep it below gunicorn's --threads; 0: clients always poll.
SKILLFORGE_LIVE_WAITERS = env_int("SKILLFORGE_LIVE_WAITERS", 12, minimum=0)

# --- abuse limits (skillforge/security.py, docs/security.md) ------------------------------

# Counters shared by every web process through Redis when there is one; per process otherwise.
_cache = ({"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL} if REDIS_URL
          else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})
CACHES = {
    "default": {**_cache, "KEY_PREFIX": "sf"},
    "ratelimit": {**_cache, "KEY_PREFIX": "sf-rl", "LOCATION": REDIS_URL or "ratelimit"},
}
# scope -> {"ip" | "user": (requests, per seconds)}; "user" is the account (login: the name typed).
# SKILLFORGE_RATE_LIMITS=off turns them off (a load test); "api.user=1000/60,…" changes some.
SKILLFORGE_RATE_LIMITS = env_rate_limits("SKILLFORGE_RATE_LIMITS", {
    "login": {"ip": (30, 300), "user": (10, 300)},
    "signup": {"ip": (10, 3600)},
    "submit": {"ip": (60, 600), "user": (20, 600)},
    "api": {"ip": (600, 60), "user": (300, 60)},
    "export": {"user": (10, 3600)},
})
SKILLFORGE_RATE_LIMIT_PREFIX = env_str("SKILLFORGE_RATE_LIMIT_PREFIX", "")
# A learner's attempts queued or running at once; one more submission is a 429 until one finishes.
SKILLFORGE_MAX_QUEUED_ATTEMPTS = env_int("SKILLFORGE_MAX_QUEUED_ATTEMPTS", 3, minimum=0)

# A message not acknowledged within this many seconds is redelivered (Redis): it must
# be longer than the longest job, which the sandbox ceiling bounds.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=int(CEILING.wall_seconds) * 2)

CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    REDIS_URL or "filesystem://",
    schemes=("redis", "rediss", "unix", "amqp", "amqps", "pyamqp", "filesystem", "memory"),
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Embedded broker: producer and worker share one folder; no server to run.
    _broker = SKILLFORGE_DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),  # default is ./control, in the checkout
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ("cpu", "gpu"))
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Only for a demo without a worker; prefer running one (see README).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE = {
    "reconcile-attempts": {"task": "submissions.reconcile_attempts", "schedule": 60.0, "options": {"queue": "cpu"}},
}
# The reconciler (submissions/reconcile.py): how long an attempt may wait in the queue before
# it is queued again, how far past its wall limit a running one is taken as lost, how often.
SKILLFORGE_QUEUED_DEADLINE = env_int("SKILLFORGE_QUEUED_DEADLINE", 600, minimum=10)
SKILLFORGE_RUNNING_MARGIN = env_int("SKILLFORGE_RUNNING_MARGIN", 120, minimum=5)
SKILLFORGE_MAX_REQUEUES = env_int("SKILLFORGE_MAX_REQUEUES", 2, minimum=0)
# GPU workers (submissions/gpus.py): device ids ("0,1"), "auto" (nvidia-smi -L) or "" for none;
# a claim a crashed worker stops renewing frees its device after this many seconds.
SKILLFORGE_GPUS = env_str("SKILLFORGE_GPUS", "auto")
SKILLFORGE_GPU_CLAIM_TTL = env_int("SKILLFORGE_GPU_CLAIM_TTL", 60, minimum=5)
# /metrics (skillforge/ops.py): with a token, only requests that bear it; without, loopback only.
# Workers serve their own metrics on this port when it is set (0: off).
SKILLFORGE_METRICS_TOKEN = env_str("SKILLFORGE_METRICS_TOKEN", "")
SKILLFORGE_WORKER_METRICS_PORT = env_int("SKILLFORGE_WORKER_METRICS_PORT", 0, minimum=0)

# --- credentials -----------------------------------------------------------------

# The site's public address: credentials, the issuer profile and the status list carry
# absolute URLs under it, so it must be where verifiers can reach this site.
SKILLFORGE_PUBLIC_URL = env_url("SKILLFORGE_PUBLIC_URL", "http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
# The issuer's Ed25519 keys (generated on first use): files, never rows, outside any database dump.
SKILLFORGE_KEY_DIR = env_path("SKILLFORGE_KEY_DIR", SKILLFORGE_DATA_DIR / "keys")
if not DEBUG and (SKILLFORGE_KEY_DIR == REPO_DIR or REPO_DIR in SKILLFORGE_KEY_DIR.parents):
    raise EnvError("SKILLFORGE_KEY_DIR", f"is inside the repository ({SKILLFORGE_KEY_DIR}) with DEBUG off: keep the "
                   "issuer's signing key outside the checkout (set SKILLFORGE_KEY_DIR or SKILLFORGE_DATA_DIR)")
SKILLFORGE_ISSUER_NAME = env_str("SKILLFORGE_ISSUER_NAME", "SkillForge")
# 0: credentials do not expire (no validUntil).
SKILLFORGE_CREDENTIAL_VALID_DAYS = env_int("SKILLFORGE_CREDENTIAL_VALID_DAYS", 0, minimum=0)
# The largest credential (JSON, JWT or baked image) the verify page and command read.
SKILLFORGE_VERIFY_MAX_BYTES = env_int("SKILLFORGE_VERIFY_MAX_BYTES", 1024 * 1024, minimum=16 * 1024)

# --- logs -------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "skillforge.ops.JsonFormatter"},  # one object per line, attempt_id as a field
    },
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "formatter": env_choice("SKILLFORGE_LOG_FORMAT", "plain", ("plain", "json"))}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "skillforge": {"level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))},
    },
}
