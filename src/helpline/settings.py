"""Django settings for Helpline.

Every setting that differs between machines comes from an environment variable; the
defaults give the embedded desk (SQLite, SQLite-backed Huey, in-memory channel layer).
See the README's "Configuration" section for the full list.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("HELPLINE_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = os.environ.get("HELPLINE_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("HELPLINE_DEBUG", False)
ALLOWED_HOSTS = env_list("HELPLINE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("HELPLINE_CSRF_TRUSTED_ORIGINS")
BASE_URL = os.environ.get("HELPLINE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "channels",
    "ninja",  # serves the API docs' Swagger UI from our static files, not a CDN
    "helpline.core",
    "helpline.accounts",
    "helpline.tickets",
    "helpline.integrations",
    "helpline.sla",
    "helpline.routing",
    "helpline.mail",
    "helpline.notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpline.core.middleware.UserPreferencesMiddleware",
    "helpline.core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpline.urls"
ASGI_APPLICATION = "helpline.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpline.core.context_processors.helpline",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'helpline.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
            " PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
else:
    # Parallel query off by default: list pages stop at their first rows (LIMIT), and a
    # parallel plan's Gather Merge makes every worker run on regardless. At 1M tickets a
    # narrow Chinese search took 60 ms with two workers and 4 ms without.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        "-c max_parallel_workers_per_gather="
        + str(int(os.environ.get("HELPLINE_PG_PARALLEL_WORKERS", "0")))
    )
    if int(os.environ.get("HELPLINE_DB_POOL_SIZE", "10")) > 0:
        # A connection pool per process (psycopg_pool): under ASGI, requests run in changing
        # threads, so Django's persistent connections (CONN_MAX_AGE) would pile up instead.
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("HELPLINE_DB_POOL_SIZE", "10")),
            "timeout": float(os.environ.get("HELPLINE_DB_POOL_TIMEOUT", "10")),
        }
    else:
        # No pool (e.g. behind PgBouncer in transaction mode): a connection per request.
        DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["helpline.accounts.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"

# --- redis, tasks, real time ------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_IMMEDIATE = env_bool("HELPLINE_TASKS_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("HELPLINE_QUEUE_NAME", "helpline"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {
            "workers": int(os.environ.get("HELPLINE_WORKERS", "4")),
            "worker_type": "thread",
        },
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "helpline",
        "filename": str(DATA_DIR / "tasks.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {
            "workers": int(os.environ.get("HELPLINE_WORKERS", "2")),
            "worker_type": "thread",
        },
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # The embedded desk is one process, so an in-process cache is shared by all its requests
    # (rate-limit counters) and costs no database write per request.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "helpline",
        }
    }

# --- i18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("HELPLINE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("HELPLINE_STATIC_ROOT", DATA_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("HELPLINE_MEDIA_ROOT", DATA_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- limits -----------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = int(
    os.environ.get("HELPLINE_MAX_REQUEST_BYTES", str(30 * 1024 * 1024))
)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
HELPLINE_MAX_JSON_BYTES = int(os.environ.get("HELPLINE_MAX_JSON_BYTES", str(1024 * 1024)))
HELPLINE_MAX_ATTACHMENT_BYTES = int(
    os.environ.get("HELPLINE_MAX_ATTACHMENT_BYTES", str(20 * 1024 * 1024))
)
HELPLINE_BLOCKED_ATTACHMENT_EXTENSIONS = env_list(
    "HELPLINE_BLOCKED_ATTACHMENT_EXTENSIONS", ".exe,.bat,.cmd,.com,.scr,.js,.vbs,.msi,.ps1"
)
HELPLINE_API_RATE_LIMIT = os.environ.get("HELPLINE_API_RATE_LIMIT", "600/60")
# Inbound mail (docs/mail.md): message size limit, per-sender limit "count/seconds"
# (0/1 switches it off), and how long a subject + sender match may thread a reply.
HELPLINE_MAIL_MAX_MESSAGE_BYTES = int(
    os.environ.get("HELPLINE_MAIL_MAX_MESSAGE_BYTES", str(40 * 1024 * 1024))
)
# The largest message the SMTP/LMTP intake and the HTTP endpoint accept (kept raw; above
# the message limit it is not parsed, its ticket message says so).
HELPLINE_MAIL_MAX_STORED_BYTES = int(
    os.environ.get("HELPLINE_MAIL_MAX_STORED_BYTES", str(100 * 1024 * 1024))
)
HELPLINE_MAIL_SENDER_RATE = os.environ.get("HELPLINE_MAIL_SENDER_RATE", "30/3600")
# How long a stored message may sit unprocessed (a worker died with it) or failed before
# the periodic task processes it again.
HELPLINE_MAIL_RETRY_STALE_SECONDS = int(os.environ.get("HELPLINE_MAIL_RETRY_STALE_SECONDS", "120"))
HELPLINE_QUEUE_AGEING_BOUND_MINUTES = int(
    os.environ.get("HELPLINE_QUEUE_AGEING_BOUND_MINUTES", "240")
)
HELPLINE_MAIL_THREAD_WINDOW_DAYS = int(os.environ.get("HELPLINE_MAIL_THREAD_WINDOW_DAYS", "7"))
# Sign-in, sign-up, magic-link and password-reset requests per client address and per e-mail.
HELPLINE_SIGNIN_RATE_LIMIT = os.environ.get("HELPLINE_SIGNIN_RATE_LIMIT", "10/300")

# --- security ---------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("HELPLINE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env_bool("HELPLINE_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# --- mail -------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "HELPLINE_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(DATA_DIR / "outbox-mail")
EMAIL_HOST = os.environ.get("HELPLINE_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("HELPLINE_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("HELPLINE_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HELPLINE_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("HELPLINE_SMTP_STARTTLS", False)
EMAIL_USE_SSL = env_bool("HELPLINE_SMTP_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("HELPLINE_SMTP_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("HELPLINE_FROM_EMAIL", "support@helpline.localhost")
# Outbound e-mail retries (helpline.notifications): delays base, 2x base, 4x base ...
HELPLINE_MAIL_RETRY_BASE_SECONDS = int(os.environ.get("HELPLINE_MAIL_RETRY_BASE_SECONDS", "60"))
HELPLINE_MAIL_MAX_ATTEMPTS = int(os.environ.get("HELPLINE_MAIL_MAX_ATTEMPTS", "8"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HELPLINE_LOG_LEVEL", "INFO")},
    "loggers": {"huey": {"level": "WARNING"}, "django.request": {"level": "ERROR"}},
}
