"""Passwords: the worst-passwords list everywhere a password is set, no truncation, and log-in
failures that say and take the same whether or not the account exists."""
from __future__ import annotations

import time

import pytest

from qa.auth.passwords import COMMON_PASSWORDS_FILE, common_passwords, is_common
from qa.errors import ValidationError
from qa.extensions import db
from qa.models import User
from qa.services.accounts import authenticate, change_own_password, set_password, validate_password
from qa.services.demo import DEMO_PASSWORD
from tests.factories import PASSWORD, make_user

COMMON = "该密码过于常见"
CHINESE_PATTERNS = ["woaini1314", "5201314", "qq123456", "a123456", "1qaz2wsx", "zhang123", "wang123456"]


def test_the_list_is_shipped_with_thousands_of_entries():
    assert COMMON_PASSWORDS_FILE.is_file() and COMMON_PASSWORDS_FILE.parts[-4:-1] == ("qa", "auth", "data")
    words = common_passwords()
    assert len(words) > 5000
    assert {"123456", "password", "12345678", "qwerty123", "iloveyou"} <= words
    assert set(CHINESE_PATTERNS) <= words


@pytest.mark.parametrize("password", ["password", "12345678", "Password123", "QWERTYUIOP", "woaini1314",
                                      "qq123456", "1qaz2wsx", "a12345678", "zhang123456", "88888888"])
def test_common_passwords_are_rejected_whatever_the_case(password):
    with pytest.raises(ValidationError) as err:
        validate_password(password)
    assert COMMON in err.value.message and err.value.field == "password"


@pytest.mark.parametrize("password", [DEMO_PASSWORD, PASSWORD, "kq7-zt9w", "检察机关法律监督2026",
                                      "password" + "x" * 30])
def test_ordinary_passwords_pass(password):
    validate_password(password)  # no exception
    assert not is_common(password)


def test_the_services_refuse_a_common_password_and_keep_the_old_one(people):
    user = people["asker"]
    for attempt in (lambda: set_password(people["admin"], user, "woaini1314"),
                    lambda: change_own_password(user, PASSWORD, "1qaz2wsx3edc"),
                    lambda: make_user("weak", "110105", password="password1")):
        with pytest.raises(ValidationError):
            attempt()
        db.session.rollback()
    assert authenticate("asker", PASSWORD) is not None
    assert db.session.execute(db.select(User).filter_by(username="weak")).first() is None


def test_the_profile_page_explains_the_refusal(client, auth, people):
    auth.login("asker")
    form = {"pw-current_password": PASSWORD, "pw-new_password": "qq123456", "pw-confirm": "qq123456",
            "pw-submit": "1"}
    response = client.post("/profile", data=form)
    assert response.status_code == 422 and COMMON in response.get_data(as_text=True)
    assert authenticate("asker", PASSWORD) is not None


def test_the_admin_form_refuses_a_common_initial_password(client, auth, people):
    auth.login("admin")
    data = {"username": "newbie", "name": "新人", "org_code": "110105", "password": "a123456789"}
    response = client.post("/admin/users/new", data=data)
    assert response.status_code == 422 and COMMON in response.get_data(as_text=True)
    assert db.session.execute(db.select(User).filter_by(username="newbie")).first() is None


def test_the_command_line_refuses_a_common_password(runner, people):
    result = runner.invoke(args=["user", "create", "weakling", "--name", "某人", "--org", "110105",
                                 "--password", "iloveyou1314"])
    assert result.exit_code != 0 and COMMON in result.output
    result = runner.invoke(args=["user", "set-password", "asker", "--password", "password123"])
    assert result.exit_code != 0 and COMMON in result.output
    db.session.expire_all()
    assert authenticate("asker", PASSWORD) is not None
    result = runner.invoke(args=["user", "set-password", "asker", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output


def test_a_200_character_password_counts_in_full(client, orgs):
    password = "检" * 100 + "察" * 99 + "A"
    make_user("long", "110105", password=password)
    wrong_last = client.post("/login", data={"username": "long", "password": password[:-1] + "B"})
    assert wrong_last.status_code == 401
    assert client.post("/login", data={"username": "long", "password": password[:-1]}).status_code == 401
    assert client.post("/login", data={"username": "long", "password": password}).status_code == 302


# No user enumeration ---------------------------------------------------------------------------


def test_unknown_user_and_wrong_password_read_the_same(client, people):
    pages = [client.post("/login", data={"username": name, "password": "whatever-it-is"})
             for name in ("nobody-at-all", "asker")]
    assert pages[0].status_code == pages[1].status_code == 401
    texts = [p.get_data(as_text=True).replace("nobody-at-all", "asker") for p in pages]
    assert texts[0] == texts[1]


def test_unknown_user_and_wrong_password_take_comparable_time(app, people):
    # A real hash cost (19 MiB, OWASP's minimum) so that the hash, not the noise, dominates.
    app.config.update(QA_ARGON2_MEMORY_COST=19456, QA_ARGON2_TIME_COST=2, QA_ARGON2_PARALLELISM=1)
    app.extensions.pop("qa_hasher", None)
    set_password(None, people["asker"], PASSWORD)  # stored with that cost

    def elapsed_ms(username):
        start = time.perf_counter()
        assert authenticate(username, "wrong-password-1") is None
        return (time.perf_counter() - start) * 1000

    authenticate("nobody", "warm-up")  # the dummy hash is made once per process
    samples = {"nobody": [], "asker": []}
    for _ in range(9):  # interleaved, and the fastest of each kept: other load on the machine cancels out
        for username in samples:
            samples[username].append(elapsed_ms(username))
    unknown, wrong = min(samples["nobody"]), min(samples["asker"])
    assert wrong > 5  # the hash really ran
    assert 0.5 < unknown / wrong < 2.0, (unknown, wrong)
