"""Accounts: password hashing and checking, sessions ended on change, API tokens stored hashed."""
from __future__ import annotations

import hashlib

import argon2
import pytest
from sqlalchemy import text

from qa import create_app
from qa.config import Defaults
from qa.errors import PermissionDenied, ValidationError
from qa.extensions import db
from qa.models import ApiToken, AuditEvent
from qa.services.accounts import (
    authenticate,
    change_own_password,
    create_api_token,
    create_user,
    password_hasher,
    revoke_api_token,
    set_password,
    update_user,
    user_for_token,
)
from tests.factories import PASSWORD, make_user

# Passwords hashing ------------------------------------------------------------------------


def test_stored_hash_is_argon2id_never_the_password(people):
    user = people["asker"]
    stored = db.session.execute(
        text("SELECT password_hash FROM user_account WHERE id = :id"), {"id": user.id}
    ).scalar_one()

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert argon2.extract_parameters(stored).type is argon2.Type.ID


def test_production_defaults_meet_the_owasp_minimum():
    assert Defaults.QA_ARGON2_MEMORY_COST >= 19456  # KiB, i.e. 19 MiB
    assert Defaults.QA_ARGON2_TIME_COST >= 2
    assert Defaults.QA_ARGON2_PARALLELISM >= 1


def test_an_app_without_overrides_hashes_with_the_production_defaults(tmp_path):
    prod = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    with prod.app_context():
        stored = password_hasher().hash("a-long-enough-password")
    params = argon2.extract_parameters(stored)
    assert stored.startswith("$argon2id$")
    assert params.memory_cost == Defaults.QA_ARGON2_MEMORY_COST
    assert params.time_cost == Defaults.QA_ARGON2_TIME_COST
    assert params.parallelism == Defaults.QA_ARGON2_PARALLELISM


# authenticate() -----------------------------------------------------------------------------


def test_authenticate_with_the_right_password(people):
    assert authenticate("asker", PASSWORD).id == people["asker"].id
    assert authenticate("  asker ", PASSWORD).id == people["asker"].id


def test_authenticate_rejects_wrong_or_unknown(people):
    for username, password in [
        ("asker", "wrong-password-1"),
        ("asker", PASSWORD.upper()),
        ("asker", PASSWORD + " "),
        ("asker", ""),
        ("asker", None),
        ("nobody", PASSWORD),
        ("", PASSWORD),
    ]:
        assert authenticate(username, password) is None, (username, password)


def test_authenticate_rejects_a_deactivated_account(people):
    update_user(people["admin"], people["asker"], active=False)
    assert authenticate("asker", PASSWORD) is None


def test_authenticate_rejects_an_account_without_password(orgs):
    make_user("nopass", "110105", password=None)
    assert authenticate("nopass", "") is None
    assert authenticate("nopass", PASSWORD) is None


def test_no_truncation_after_72_bytes(orgs):
    stored = "x" * 72 + "A-the-end"
    make_user("longpass", "110105", password=stored)

    assert authenticate("longpass", stored).username == "longpass"
    assert authenticate("longpass", "x" * 72 + "B-the-end") is None
    assert authenticate("longpass", "x" * 72) is None


def test_long_unicode_passwords_are_accepted(orgs):
    password = "检察机关法律监督" * 12 + "🔒"  # 97 characters, far more than 72 bytes
    make_user("unicode", "110105", password=password)
    assert authenticate("unicode", password).username == "unicode"
    assert authenticate("unicode", password[:-1] + "🔑") is None


def test_short_passwords_are_rejected(people):
    for password in ["", "1234567", "短密码"]:
        with pytest.raises(ValidationError) as err:
            make_user("shorty", "110105", password=password or "x" * 7)
        assert err.value.field == "password"
        with pytest.raises(ValidationError) as err:
            set_password(people["asker"], people["asker"], password)
        assert err.value.field == "password"
    db.session.rollback()
    assert authenticate("asker", PASSWORD) is not None
    assert authenticate("shorty", "1234567") is None


def test_eight_characters_are_enough(orgs):
    make_user("eight", "110105", password="kq7-zt9w")  # "12345678" is on the common-password list
    assert authenticate("eight", "kq7-zt9w") is not None


# Sessions end when something important changes --------------------------------------------


def session_alive(app, user_id: int, version: int) -> bool:
    """Whether a session cookie carrying this user id and session version still logs in."""
    db.session.expire_all()
    return app.login_manager._user_callback(f"{user_id}:{version}") is not None


def test_deactivation_bumps_session_version(app, people):
    user = people["city_expert"]
    before = user.session_version
    assert session_alive(app, user.id, before)

    update_user(people["admin"], user, active=False)

    assert user.session_version == before + 1
    assert not session_alive(app, user.id, before)


def test_role_removal_bumps_session_version(app, people):
    user = people["city_expert"]
    before = user.session_version

    update_user(people["admin"], user, roles=[])

    assert "expert" not in user.roles
    assert user.session_version == before + 1
    assert not session_alive(app, user.id, before)
    assert session_alive(app, user.id, before + 1)


def test_password_change_bumps_session_version(app, people):
    user = people["asker"]
    before = user.session_version

    change_own_password(user, PASSWORD, "a-new-password-2026")

    assert user.session_version == before + 1
    assert not session_alive(app, user.id, before)
    assert authenticate("asker", PASSWORD) is None
    assert authenticate("asker", "a-new-password-2026").id == user.id


def test_admin_password_reset_bumps_session_version(people):
    user = people["asker"]
    before = user.session_version
    set_password(people["admin"], user, "set-by-the-admin-1")
    assert user.session_version == before + 1


def test_changing_own_password_needs_the_current_one(people):
    user = people["asker"]
    before = user.session_version
    with pytest.raises(ValidationError) as err:
        change_own_password(user, "not-my-password", "a-new-password-2026")
    assert err.value.field == "current_password"
    assert user.session_version == before
    assert authenticate("asker", PASSWORD) is not None


def test_only_admins_set_other_peoples_passwords(people):
    with pytest.raises(PermissionDenied):
        set_password(people["moderator"], people["asker"], "taken-over-account")
    db.session.rollback()
    assert authenticate("asker", PASSWORD) is not None


def test_admin_cannot_deactivate_themselves(people):
    admin = people["admin"]
    before = admin.session_version

    with pytest.raises(ValidationError) as err:
        update_user(admin, admin, active=False)
    assert err.value.field == "active"
    with pytest.raises(ValidationError) as err:
        update_user(admin, admin, roles=["expert"])
    assert err.value.field == "roles"

    db.session.rollback()
    db.session.refresh(admin)
    assert admin.active and admin.has_role("admin")
    assert admin.session_version == before


def test_non_admin_cannot_create_or_change_users(people):
    with pytest.raises(PermissionDenied):
        create_user(people["moderator"], username="sneaky", name="某人", org_code="110105")
    with pytest.raises(PermissionDenied):
        update_user(people["asker"], people["asker"], roles=["admin"])
    db.session.rollback()
    assert not people["asker"].has_role("admin")


# API tokens ---------------------------------------------------------------------------------


def test_api_token_is_returned_once_and_stored_hashed(people):
    user = people["city_expert"]

    token, raw = create_api_token(user, user, "办案系统")

    assert raw.startswith("jd_") and len(raw) >= 40
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    row = db.session.execute(text("SELECT * FROM api_token WHERE id = :id"), {"id": token.id}).mappings().one()
    assert all(raw not in str(value) for value in row.values())
    assert raw[:10] == token.prefix  # a short prefix is kept so people can tell tokens apart
    for event in db.session.execute(db.select(AuditEvent)).scalars():
        assert raw not in str(event.detail)
    assert not any(hasattr(token, attr) for attr in ("raw", "token", "secret"))


def test_user_for_token_works_until_revoked(people):
    user = people["city_expert"]
    token, raw = create_api_token(user, user, "办案系统")

    assert user_for_token(raw).id == user.id
    assert user_for_token(raw + "x") is None
    assert user_for_token(raw[3:]) is None
    assert user_for_token("") is None

    revoke_api_token(user, token)

    assert user_for_token(raw) is None
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_token_stops_working_when_the_user_is_deactivated(people):
    user = people["city_expert"]
    _, raw = create_api_token(people["admin"], user, "数据对接")
    assert user_for_token(raw).id == user.id

    update_user(people["admin"], user, active=False)

    assert user_for_token(raw) is None


def test_nobody_else_creates_or_revokes_your_tokens(people):
    owner = people["city_expert"]
    token, raw = create_api_token(owner, owner, "办案系统")
    with pytest.raises(PermissionDenied):
        create_api_token(people["asker"], owner, "偷偷创建")
    with pytest.raises(PermissionDenied):
        revoke_api_token(people["asker"], token)
    db.session.rollback()
    assert user_for_token(raw).id == owner.id
