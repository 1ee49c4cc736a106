"""Configuration: defaults here, then instance/config.py, then QA_* environment variables."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class Defaults:
    # Data
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Test-only: False makes SQLite write transactions begin DEFERRED (the unsafe PEP-249 way), so
    # bench/load.py --wrong-settings deferred can show that the harness catches lock errors. Never in production.
    QA_SQLITE_IMMEDIATE = True
    # Business rules
    QA_ANSWER_DAYS = 10  # days from assignment to the due date
    QA_CASE_DEADLINE_MARGIN_DAYS = 3  # the answer should arrive this long before a case deadline
    QA_REOPEN_DAYS = 30  # the asker may reopen a resolved (or withdrawn) question this long after
    QA_TITLE_MAX = 120
    QA_BODY_MAX = 20_000
    QA_TIMEZONE = "Asia/Shanghai"
    QA_PAGE_SIZE = 20
    # Deadlines and escalation (qa/services/deadlines.py)
    QA_REMINDER_DAYS = "3,1"  # reminders this many days before the due date
    QA_CASE_DEADLINE_NEAR_DAYS = 7  # queues flag questions whose case deadline is this close
    QA_ESCALATE_OVERDUE = True  # the sweep hands an overdue question to the next level up
    # Email (qa/services/mail.py): off while QA_SMTP_HOST is empty
    QA_SMTP_HOST = ""
    QA_SMTP_PORT = 25
    QA_SMTP_USER = ""
    QA_SMTP_PASSWORD = ""
    QA_SMTP_STARTTLS = False
    QA_SMTP_TIMEOUT = 10
    QA_MAIL_FROM = "jianda@localhost"
    QA_MAIL_DIGEST_HOUR = 8  # the daily digest goes out after this hour, China time
    QA_MAIL_MAX_ATTEMPTS = 6
    QA_BASE_URL = ""  # e.g. https://jianda.example.internal, for links in emails
    # Search (qa/search/): the Whoosh index and its single writer
    QA_SEARCH_INDEX_DIR = ""  # default: instance/search_index
    QA_SEARCH_WRITER = "inline"  # inline: the web process drains the outbox after writes; worker: `flask search worker`
    QA_SEARCH_BATCH = 500  # outbox tasks per index commit
    QA_SEARCH_QUERY_MAX = 200  # characters; longer queries are rejected
    QA_SEARCH_BACKEND = "whoosh"  # whoosh (embedded default) or sql: SQLite FTS5 + bm25, for large archives
    # Statistics (qa/services/stats.py): computed figures are kept this long per process (0: never)
    QA_STATS_CACHE_SECONDS = 300
    # Security
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set QA_SESSION_COOKIE_SECURE=1 behind HTTPS
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 12 * 3600  # cookie lifetime, seconds
    QA_SESSION_MAX_HOURS = 12  # absolute: a session ends this long after log-in
    QA_SESSION_IDLE_MINUTES = 30  # idle: a session ends after this long without a request
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024  # request size cap
    WTF_I18N_ENABLED = False  # use WTForms' bundled Chinese messages (no Flask-Babel)
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    QA_HTTPS = False  # served over HTTPS: cookies get the Secure flag, responses HSTS
    QA_PROXY_COUNT = 0  # trusted reverse proxies in front; X-Forwarded-For is ignored while 0
    QA_REAUTH_MINUTES = 15  # an admin's state changes need a password confirmed this recently
    # Throttling (qa/auth/throttle.py): counters in Redis when REDIS_URL (or QA_REDIS_URL) is set
    REDIS_URL = ""
    QA_RATELIMIT_PREFIX = "jianda"
    QA_RATELIMIT_LOGIN_ACCOUNT = "10 per 15 minutes"  # attempts per account: at most 40 an hour
    QA_RATELIMIT_LOGIN_IP = "30 per minute"
    QA_RATELIMIT_BAD_TOKEN = "20 per minute"
    QA_RATELIMIT_PASSWORD = "5 per 15 minutes"
    QA_RATELIMIT_SEARCH = "120 per minute"
    QA_RATELIMIT_API = "600 per minute"
    # argon2id parameters (argon2-cffi defaults: m=64 MiB, t=3, p=4)
    QA_ARGON2_TIME_COST = 3
    QA_ARGON2_MEMORY_COST = 65536
    QA_ARGON2_PARALLELISM = 4
    # Front end: assets are served locally (internal network, no CDN)
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None


def _coerce(raw: str, current):
    """Convert an environment string to the type of the current value."""
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    return raw


def load_config(app, test_config: dict | None = None) -> None:
    """Fill app.config from defaults, instance/config.py, QA_* variables and test_config."""
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        for key, raw in os.environ.items():
            if not key.startswith("QA_"):
                continue
            name = key[3:]
            if name in {"DATABASE_URL", "SECRET_KEY"}:
                continue
            target = key if key in app.config else name
            app.config[target] = _coerce(raw, app.config.get(target))
        if os.environ.get("QA_DATABASE_URL"):
            app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["QA_DATABASE_URL"]
        if os.environ.get("QA_SECRET_KEY"):
            app.config["SECRET_KEY"] = os.environ["QA_SECRET_KEY"]
        if os.environ.get("REDIS_URL") and not app.config["REDIS_URL"]:
            app.config["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        app.config.update(test_config)

    if app.config["QA_HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'jianda.db'}"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")


def _instance_secret(path: Path) -> str:
    """Read the instance's secret key, creating it (mode 600) on first start."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # another worker created it first
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
