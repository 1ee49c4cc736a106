"""Throttling with the real limits: log-in per account and per client, bad API tokens, password
changes, search and the API; counters shared by several workers through Redis."""
from __future__ import annotations

import os
import time
import uuid

import pytest
import redis
from limits.storage import RedisStorage

from qa import create_app
from qa.auth.throttle import LIMIT_KEYS
from qa.config import Defaults
from qa.extensions import db
from qa.services.accounts import authenticate, create_api_token
from tests.conftest import TEMPLATE_CACHE
from tests.factories import PASSWORD

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ACCOUNT_LIMIT = 10  # Defaults.QA_RATELIMIT_LOGIN_ACCOUNT: 10 per 15 minutes
IP_LIMIT = 30  # Defaults.QA_RATELIMIT_LOGIN_IP: 30 per minute


@pytest.fixture
def app_config(app_config):
    """The production limits (the rest of the suite runs with relaxed ones)."""
    for key in LIMIT_KEYS:
        app_config[key] = getattr(Defaults, key)
    return app_config


def test_the_defaults_are_the_documented_ones():
    assert Defaults.QA_RATELIMIT_LOGIN_ACCOUNT == f"{ACCOUNT_LIMIT} per 15 minutes"  # ≤ 40 failures an hour
    assert Defaults.QA_RATELIMIT_LOGIN_IP == f"{IP_LIMIT} per minute"
    assert Defaults.QA_PROXY_COUNT == 0


def wrong_login(client, username="asker", forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post("/login", data={"username": username, "password": "not-the-password"}, headers=headers)


def assert_throttled_page(response, text):
    assert response.status_code == 429
    retry = int(response.headers["Retry-After"])
    assert 0 < retry <= 15 * 60 + 1
    html = response.get_data(as_text=True)
    assert text in html and "后再试" in html


def test_login_is_throttled_per_account(client, auth, people):
    for _ in range(ACCOUNT_LIMIT):
        assert wrong_login(client).status_code == 401
    refused = auth.login("asker")  # even the right password waits: the account is paused, not locked
    assert_throttled_page(refused, "该账号的登录尝试过于频繁")
    assert client.get("/").status_code == 302  # not logged in
    # Another account, from the same client, is unaffected.
    assert auth.login("moderator").status_code == 302


def test_login_is_throttled_per_client_address(client, people):
    for i in range(IP_LIMIT):
        assert wrong_login(client, username=f"nobody{i}").status_code == 401
    assert_throttled_page(wrong_login(client, username="asker"), "您所在网络的登录尝试过于频繁")


def test_a_spoofed_forwarded_for_is_ignored_without_a_trusted_proxy(client, people):
    for i in range(IP_LIMIT):
        assert wrong_login(client, username=f"nobody{i}", forwarded_for=f"10.9.{i}.1").status_code == 401
    assert wrong_login(client, username="asker", forwarded_for="10.9.200.1").status_code == 429


def test_behind_a_trusted_proxy_addresses_come_from_it_but_the_account_count_holds(app_config, people):
    proxied = create_app({**app_config, "QA_PROXY_COUNT": 1})
    try:
        client = proxied.test_client()
        # Distinct client addresses reported by the proxy: the per-address limit is per client.
        for i in range(IP_LIMIT + 5):
            assert wrong_login(client, username=f"nobody{i}", forwarded_for=f"10.9.{i}.1").status_code == 401
        # The per-account count does not care where attempts come from.
        for i in range(ACCOUNT_LIMIT):
            assert wrong_login(client, forwarded_for=f"10.8.{i}.1").status_code == 401
        assert wrong_login(client, forwarded_for="10.8.250.1").status_code == 429
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_a_paused_account_logs_in_again_when_the_window_passes(app, client, auth, people):
    app.config["QA_RATELIMIT_LOGIN_ACCOUNT"] = "2 per 1 second"  # a short window, to watch it pass
    wrong_login(client)
    wrong_login(client)
    assert auth.login("asker").status_code == 429
    time.sleep(1.1)
    assert auth.login("asker").status_code == 302


def test_bad_api_tokens_are_throttled_with_a_json_answer(client, people):
    _token, raw = create_api_token(None, people["asker"], "对接")
    bad = {"Authorization": "Bearer jd_not-a-real-token"}
    for _ in range(20):  # Defaults.QA_RATELIMIT_BAD_TOKEN: 20 per minute per client
        assert client.get("/api/v1/categories", headers=bad).status_code == 401
    response = client.get("/api/v1/categories", headers=bad)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    error = response.get_json()["error"]
    assert error["code"] == "too_many_requests" and "无效访问令牌的请求过多" in error["message"]


def test_good_api_calls_do_not_count_as_bad_tokens(client, people):
    _token, raw = create_api_token(None, people["asker"], "对接")
    for _ in range(25):
        assert client.get("/api/v1/categories", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_the_api_budget_is_per_user_not_per_token(app, client, people):
    app.config["QA_RATELIMIT_API"] = "5 per minute"  # the real 600 a minute, scaled down to count
    _t1, first = create_api_token(None, people["asker"], "甲系统")
    _t2, second = create_api_token(None, people["asker"], "乙系统")
    _t3, other = create_api_token(None, people["moderator"], "对接")
    for raw in (first, second, first, second, first):
        assert client.get("/api/v1/categories", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    response = client.get("/api/v1/categories", headers={"Authorization": f"Bearer {second}"})
    assert response.status_code == 429 and "接口调用过于频繁" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/categories", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_search_has_a_generous_per_user_limit(client, auth, people):
    auth.login("asker")
    for _ in range(120):  # Defaults.QA_RATELIMIT_SEARCH: 120 per minute
        assert client.get("/search?q=醉驾").status_code == 200
    assert_throttled_page(client.get("/search?q=醉驾"), "检索过于频繁")
    other = client.application.test_client()
    assert other.post("/login", data={"username": "moderator", "password": PASSWORD}).status_code == 302
    assert other.get("/search?q=醉驾").status_code == 200


def test_password_changes_are_throttled(client, auth, people):
    auth.login("asker")
    form = {"pw-current_password": "guess-number-x", "pw-new_password": "a-brand-new-pass-1",
            "pw-confirm": "a-brand-new-pass-1", "pw-submit": "1"}
    for i in range(5):  # Defaults.QA_RATELIMIT_PASSWORD: 5 per 15 minutes
        form["pw-current_password"] = f"guess-number-{i}"
        assert client.post("/profile", data=form).status_code == 422
    form["pw-current_password"] = PASSWORD
    assert_throttled_page(client.post("/profile", data=form), "修改密码的尝试过于频繁")
    db.session.expire_all()
    assert authenticate("asker", PASSWORD) is not None  # unchanged
    # Creating a token on the same page is not a password change.
    assert client.post("/profile", data={"token-name": "对接", "token-submit": "1"}).status_code == 200


def test_the_confirmation_page_shares_the_account_count(client, auth, people):
    auth.login("admin")
    for _ in range(ACCOUNT_LIMIT - 1):  # the log-in was the first attempt
        assert client.post("/auth/confirm", data={"password": "not-the-password"}).status_code == 401
    assert_throttled_page(client.post("/auth/confirm", data={"password": PASSWORD}), "该账号的登录尝试过于频繁")


# Several workers: one count through Redis ----------------------------------------------------


@pytest.fixture
def redis_prefix():
    """A private key prefix in the real Redis (skipped, with the reason, when it is not running)."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {error}")
    prefix = f"jianda-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def workers(app_config, count: int, **config):
    """`count` separate applications on one database, standing in for gunicorn workers."""
    apps = []
    for _ in range(count):
        instance = create_app({**app_config, "QA_PROXY_COUNT": 1, **config})
        instance.jinja_env.bytecode_cache = TEMPLATE_CACHE
        apps.append(instance)
    return apps


def accepted_attempts(apps, attempts: int) -> int:
    """Wrong passwords against one account, spread over the workers, each from a new address."""
    clients = [a.test_client() for a in apps]
    statuses = [wrong_login(clients[i % len(clients)], forwarded_for=f"10.7.{i}.9").status_code
                for i in range(attempts)]
    assert set(statuses) <= {401, 429}
    return statuses.count(401)


def close(apps):
    for instance in apps:
        with instance.app_context():
            db.engine.dispose()
        storage = instance.extensions["qa_limiter"].storage
        if isinstance(storage, RedisStorage):
            storage.storage.close()


@pytest.mark.parametrize("count", [1, 2, 4])
def test_workers_sharing_redis_accept_the_same_number_of_attempts(app_config, people, redis_prefix, count):
    apps = workers(app_config, count, REDIS_URL=REDIS_URL, QA_RATELIMIT_PREFIX=redis_prefix)
    try:
        assert accepted_attempts(apps, 3 * ACCOUNT_LIMIT) == ACCOUNT_LIMIT
    finally:
        close(apps)


def test_workers_without_redis_each_count_alone(app_config, people):
    """The reason for Redis: in-memory counters are per worker, so two workers allow twice as many."""
    apps = workers(app_config, 2)
    try:
        assert accepted_attempts(apps, 3 * ACCOUNT_LIMIT) == 2 * ACCOUNT_LIMIT
    finally:
        close(apps)


def test_redis_is_taken_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("QA_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("QA_SECRET_KEY", "x")
    configured = create_app()
    assert configured.config["REDIS_URL"] == REDIS_URL
    assert isinstance(configured.extensions["qa_limiter"].storage, RedisStorage)
    close([configured])



def test_with_redis_down_each_worker_still_limits(app_config, people):
    """Redis unreachable: each worker falls back to its own memory, so log-in stays throttled."""
    apps = workers(app_config, 1, REDIS_URL="redis://127.0.0.1:1/0")
    try:
        assert accepted_attempts(apps, 2 * ACCOUNT_LIMIT) == ACCOUNT_LIMIT
    finally:
        close(apps)
