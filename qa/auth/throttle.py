"""Throttling (Flask-Limiter): log-in per account and per client, bad API tokens, password changes,
and a generous per-user budget for search and the API.

Counters live in Redis when REDIS_URL is set, so every gunicorn worker and host shares them;
otherwise in this process's memory (one worker, development, tests). Each application gets its
own Limiter (like each worker process in production). The client address is the peer address,
or, behind QA_PROXY_COUNT trusted proxies, the address they report (ProxyFix); a client's own
X-Forwarded-For is never believed otherwise. Every log-in attempt counts against the account
named, whatever the address: rotating addresses does not reset it.
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger("qa")

# The limits, in Flask-Limiter's notation ("10 per 15 minutes"); all are configuration keys.
LIMIT_KEYS = (
    "QA_RATELIMIT_LOGIN_ACCOUNT",  # log-in and password confirmation attempts, per account
    "QA_RATELIMIT_LOGIN_IP",  # the same, per client address
    "QA_RATELIMIT_BAD_TOKEN",  # API calls refused for a missing or bad token, per client address
    "QA_RATELIMIT_PASSWORD",  # password change attempts, per user
    "QA_RATELIMIT_SEARCH",  # search pages, per user
    "QA_RATELIMIT_API",  # API calls, per token owner
)


def limiter() -> Limiter:
    return current_app.extensions["qa_limiter"]


def _limit(key: str):
    return lambda: current_app.config[key]


def client_address() -> str:
    return request.remote_addr or "unknown"


def _login_name() -> str:
    """The account a log-in or confirmation attempt is about (usernames are at most 64 characters)."""
    if request.endpoint == "auth.login":
        return (request.form.get("username") or "").strip()[:100]
    return current_user.username if current_user.is_authenticated else ""


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else f"ip:{client_address()}"


def _api_user_key() -> str:
    from qa.api.views import bearer_user

    user = bearer_user()
    return f"user:{user.id}" if user is not None else ""


def _no_api_user() -> bool:
    from qa.api.views import bearer_user

    return bearer_user() is None


def init_app(app: Flask) -> Limiter:
    """Trust the configured proxies, create this application's limiter and attach the limits."""
    proxies = app.config["QA_PROXY_COUNT"]
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    storage = app.config.get("REDIS_URL") or "memory://"
    limiter = Limiter(
        key_func=client_address,
        storage_uri=storage,
        strategy="moving-window",
        key_prefix=app.config["QA_RATELIMIT_PREFIX"],
        in_memory_fallback_enabled=True,  # Redis down: per-worker limits rather than none
    )
    limiter.init_app(app)
    app.extensions["qa_limiter"] = limiter

    account = limiter.shared_limit(
        _limit("QA_RATELIMIT_LOGIN_ACCOUNT"), scope="login-account", methods=["POST"],
        key_func=lambda: f"account:{_login_name()}", exempt_when=lambda: not _login_name(),
        error_message="该账号的登录尝试过于频繁，为保护账号安全已暂停受理。")
    per_client = limiter.shared_limit(
        _limit("QA_RATELIMIT_LOGIN_IP"), scope="login-ip", methods=["POST"],
        error_message="您所在网络的登录尝试过于频繁。")
    views = app.view_functions
    for endpoint in ("auth.login", "auth.confirm"):
        views[endpoint] = per_client(account(views[endpoint]))
    views["auth.profile"] = limiter.limit(
        _limit("QA_RATELIMIT_PASSWORD"), key_func=_user_key, methods=["POST"],
        exempt_when=lambda: not request.form.get("pw-submit"),
        error_message="修改密码的尝试过于频繁。")(views["auth.profile"])

    from qa.api.views import bp as api_bp
    from qa.search.views import bp as search_bp

    limiter.limit(_limit("QA_RATELIMIT_BAD_TOKEN"), deduct_when=lambda response: response.status_code == 401,
                  error_message="无效访问令牌的请求过多。")(api_bp)
    limiter.limit(_limit("QA_RATELIMIT_API"), key_func=_api_user_key, exempt_when=_no_api_user,
                  error_message="接口调用过于频繁。")(api_bp)
    limiter.limit(_limit("QA_RATELIMIT_SEARCH"), key_func=_user_key, error_message="检索过于频繁。")(search_bp)
    return limiter


def retry_after() -> int:
    """Seconds until the limit just breached lets the next request through."""
    try:
        current = limiter().current_limit
        reset_at = current.reset_at if current is not None else time.time() + 60
    except Exception:  # the counter store went away between the check and here
        log.exception("rate limit window unavailable")
        reset_at = time.time() + 60
    return max(1, math.ceil(reset_at - time.time()))


def breach_message(description: str, seconds: int) -> str:
    wait = f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"
    return f"{description}请在 {wait}后再试。"
