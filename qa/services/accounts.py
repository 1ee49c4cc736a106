"""Accounts: creating and changing users, passwords, log-in and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from qa.auth.passwords import is_common
from qa.errors import Conflict, NotFound, ValidationError
from qa.extensions import begin_write, db
from qa.models import ApiToken, Category, ExpertSpeciality, Procuratorate, User, UserRole
from qa.permissions import ASSIGNABLE_ROLES, Permission, can, can_manage_org, require
from qa.services.audit import record
from qa.timeutil import utcnow

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
TOKEN_PREFIX = "jd_"


def password_hasher() -> PasswordHasher:
    """argon2id with the configured cost (cached per app)."""
    ext = current_app.extensions
    if "qa_hasher" not in ext:
        cfg = current_app.config
        ext["qa_hasher"] = PasswordHasher(
            time_cost=cfg["QA_ARGON2_TIME_COST"],
            memory_cost=cfg["QA_ARGON2_MEMORY_COST"],
            parallelism=cfg["QA_ARGON2_PARALLELISM"],
        )
    return ext["qa_hasher"]


def validate_password(password: str, field: str = "password") -> None:
    if not password or len(password) < PASSWORD_MIN:
        raise ValidationError(field, f"密码至少 {PASSWORD_MIN} 个字符。")
    if len(password) > PASSWORD_MAX:
        raise ValidationError(field, f"密码不能超过 {PASSWORD_MAX} 个字符。")
    if is_common(password):
        raise ValidationError(field, "该密码过于常见，容易被猜中，请换一个（可使用一句话或几个词的组合）。")


def _org_by_code(code: str, field: str = "org") -> Procuratorate:
    org = db.session.execute(db.select(Procuratorate).filter_by(code=(code or "").strip())).scalar_one_or_none()
    if org is None:
        raise ValidationError(field, f"单位代码“{code}”不存在。")
    return org


def _clean_roles(roles) -> set[str]:
    roles = {r.strip() for r in roles or () if r and r.strip()} - {"asker"}
    unknown = roles - set(ASSIGNABLE_ROLES)
    if unknown:
        raise ValidationError("roles", f"未知角色：{'、'.join(sorted(unknown))}。")
    return roles


def _clean_specialities(codes) -> set[str]:
    codes = {c.strip() for c in codes or () if c and c.strip()}
    if not codes:
        return set()
    known = set(db.session.execute(db.select(Category.code)).scalars())
    unknown = codes - known
    if unknown:
        raise ValidationError("specialities", f"未知业务条线代码：{'、'.join(sorted(unknown))}。")
    return codes


def _actor_may_administer(actor) -> None:
    # actor None is the command line, run by whoever operates the server.
    if actor is not None:
        require(can(actor, Permission.ADMINISTER))


def _actor_may_manage(actor, org: Procuratorate) -> None:
    """An admin manages the accounts of their own procuratorate and those below it, no others
    (a grassroots admin must not reset a provincial admin's password)."""
    if actor is not None:
        require(can_manage_org(actor, org), "只能管理本院及下级院的用户。")


def create_user(actor, *, username: str, name: str, org_code: str, roles=(), specialities=(),
                password: str | None = None, commit: bool = True) -> User:
    """Create an account. Raises ValidationError for bad input, Conflict for a taken username.

    Without a password the account cannot log in until an admin sets one (no default passwords).
    """
    _actor_may_administer(actor)
    username = (username or "").strip()
    name = (name or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationError("username", "用户名须为 3–64 位字母、数字或 _ . -。")
    if not name or len(name) > 50:
        raise ValidationError("name", "请填写姓名（不超过 50 个字）。")
    org = _org_by_code(org_code)
    _actor_may_manage(actor, org)
    roles = _clean_roles(roles)
    specialities = _clean_specialities(specialities)
    if password is not None:
        validate_password(password)
    if commit:
        begin_write()
    if db.session.execute(db.select(User.id).filter_by(username=username)).first():
        raise Conflict(f"用户名“{username}”已被使用。", "username")
    user = User(username=username, name=name, org_id=org.id,
                password_hash=password_hasher().hash(password) if password else None)
    user.role_rows = [UserRole(role=r) for r in sorted(roles)]
    user.speciality_rows = [ExpertSpeciality(category_code=c) for c in sorted(specialities)]
    db.session.add(user)
    record(actor, "user.created", user, username=username, org=org.code, roles=sorted(roles),
           specialities=sorted(specialities))
    if commit:
        db.session.commit()
    return user


def update_user(actor, user: User, *, name: str | None = None, org_code: str | None = None,
                roles=None, specialities=None, active: bool | None = None, commit: bool = True) -> User:
    """Change a user's details, roles, specialities or active flag.

    Removing a role or deactivating ends the user's sessions and tokens on their next request.
    An admin cannot deactivate themselves or drop their own admin role (no lock-out).
    """
    _actor_may_administer(actor)
    _actor_may_manage(actor, user.org)
    changes: dict = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > 50:
            raise ValidationError("name", "请填写姓名（不超过 50 个字）。")
    org = _org_by_code(org_code) if org_code is not None else None
    if org is not None:
        _actor_may_manage(actor, org)
    new_roles = _clean_roles(roles) if roles is not None else None
    new_specs = _clean_specialities(specialities) if specialities is not None else None
    if actor is not None and actor.id == user.id:
        if active is False:
            raise ValidationError("active", "不能停用自己的账号。")
        if new_roles is not None and "admin" not in new_roles:
            raise ValidationError("roles", "不能取消自己的管理员角色。")
    if commit:
        begin_write()
    revoke_sessions = False
    if name is not None and name != user.name:
        changes["name"] = [user.name, name]
        user.name = name
    if org is not None and org.id != user.org_id:
        changes["org"] = [user.org.code, org.code]
        user.org_id = org.id
        user.org = org
    if new_roles is not None and new_roles != (user.roles - {"asker"}):
        old = user.roles - {"asker"}
        changes["roles"] = [sorted(old), sorted(new_roles)]
        revoke_sessions |= bool(old - new_roles)
        user.role_rows = [UserRole(role=r) for r in sorted(new_roles)]
    if new_specs is not None and new_specs != user.specialities:
        changes["specialities"] = [sorted(user.specialities), sorted(new_specs)]
        user.speciality_rows = [ExpertSpeciality(category_code=c) for c in sorted(new_specs)]
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
        revoke_sessions |= not active
    if revoke_sessions:
        user.session_version += 1
    if changes:
        record(actor, "user.updated", user, username=user.username, changes=changes)
    if commit:
        db.session.commit()
    return user


def set_password(actor, user: User, password: str) -> None:
    """Set a new password (the user themselves or an admin); other sessions are ended."""
    if actor is not None and actor.id != user.id:
        _actor_may_manage(actor, user.org)
    validate_password(password)
    begin_write()
    user.password_hash = password_hasher().hash(password)
    user.session_version += 1
    record(actor, "user.password_set", user, username=user.username)
    db.session.commit()


def reset_password(actor, user: User) -> str:
    """An admin gives the user a new random password, returned once to be handed over."""
    require(can(actor, Permission.ADMINISTER))
    password = secrets.token_urlsafe(9)
    set_password(actor, user, password)
    return password


def change_own_password(user: User, current: str, new: str) -> None:
    if not verify_password(user, current):
        raise ValidationError("current_password", "当前密码不正确。")
    set_password(user, user, new)


_DUMMY_HASH: dict[str, str] = {}


def verify_password(user: User | None, password: str) -> bool:
    """Check a password in about the same time whether or not the account exists."""
    hasher = password_hasher()
    stored = user.password_hash if user is not None else None
    if not stored:
        key = f"{hasher.time_cost}:{hasher.memory_cost}:{hasher.parallelism}"  # same cost as a real check
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = hasher.hash(secrets.token_hex(16))
        stored = _DUMMY_HASH[key]
        user = None
    try:
        hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


def authenticate(username: str, password: str) -> User | None:
    """The user for these credentials when the account is active, else None (no hint why)."""
    user = db.session.execute(db.select(User).filter_by(username=(username or "").strip())).scalar_one_or_none()
    ok = verify_password(user, password)
    if not ok or user is None or not user.active:
        return None
    return user


def record_login(user: User) -> None:
    begin_write()
    user.last_login_at = utcnow()
    record(user, "user.login", user)
    db.session.commit()


def record_confirmation(user: User) -> None:
    """The user entered their password again (before an admin action)."""
    begin_write()
    record(user, "user.confirmed", user)
    db.session.commit()


def record_logout(user: User) -> None:
    """Logging out ends this session everywhere the cookie might have been copied to."""
    begin_write()
    user.session_version += 1
    record(user, "user.logout", user)
    db.session.commit()


# API tokens ------------------------------------------------------------------------------


def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(actor, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a bearer token for `user`; the raw token is returned once and stored hashed."""
    if actor is not None and actor.id != user.id:
        _actor_may_manage(actor, user.org)
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError("name", "请填写令牌名称（不超过 60 个字）。")
    begin_write()
    if db.session.execute(db.select(ApiToken.id).filter_by(user_id=user.id, name=name, revoked_at=None)).first():
        raise Conflict(f"已有名为“{name}”的令牌。", "name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    # Revoked tokens keep their row; reuse of the name is allowed by renaming the revoked one.
    for old in db.session.execute(db.select(ApiToken).filter_by(user_id=user.id, name=name)).scalars():
        old.name = f"{name}（已撤销 {old.id}）"[:60]
    token = ApiToken(user_id=user.id, name=name, prefix=raw[:10], token_hash=_token_digest(raw))
    db.session.add(token)
    record(actor, "token.created", token, user=user.username, name=name)
    db.session.commit()
    return token, raw


def revoke_api_token(actor, token: ApiToken) -> None:
    """Revoke a token (its owner, an admin, or the command line with actor None); Conflict if revoked."""
    if actor is not None and actor.id != token.user_id:
        _actor_may_manage(actor, token.user.org)
    if token.revoked_at is not None:
        raise Conflict("该令牌已撤销。")
    begin_write()
    token.revoked_at = utcnow()
    record(actor, "token.revoked", token, user=token.user.username, name=token.name)
    db.session.commit()


def user_for_token(raw: str) -> User | None:
    """The active user owning this unrevoked token, else None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = db.session.execute(
        db.select(ApiToken).filter_by(token_hash=_token_digest(raw), revoked_at=None)
    ).scalar_one_or_none()
    if token is None or not token.user.active:
        return None
    return token.user


def get_user(username: str) -> User:
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        raise NotFound("用户不存在。")
    return user
