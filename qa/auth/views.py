"""Log-in, log-out and the profile page (password, API tokens)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from qa.auth.sessions import mark_confirmed, start_session
from qa.errors import ServiceError
from qa.extensions import db
from qa.forms import LoginForm, PasswordChangeForm, PasswordConfirmForm, RevokeTokenForm, TokenForm, attach_error
from qa.models import ApiToken
from qa.services import accounts

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a local path is followed after log-in (no open redirect)."""
    if not target:
        return url_for("main.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("main.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is not None:
            start_session(user)
            accounts.record_login(user)
            flash(f"欢迎，{user.name}。", "success")
            return redirect(safe_next(request.args.get("next")))
        form.form_errors.append("用户名或密码错误，或账号已停用。")
        status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/auth/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    """Enter the password again before an admin action (throttled like log-in, per account)."""
    form = PasswordConfirmForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if accounts.verify_password(user, form.password.data):
            mark_confirmed()
            accounts.record_confirmation(user)
            flash("已确认身份，请继续操作。", "success")
            return redirect(safe_next(request.args.get("next")))
        form.password.errors = ["密码不正确。"]
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/confirm.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    accounts.record_logout(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


def _own_tokens():
    return db.session.execute(
        db.select(ApiToken).filter_by(user_id=current_user.id).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    ).scalars().all()


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    token_form = TokenForm(prefix="token")
    password_form = PasswordChangeForm(prefix="pw")
    new_token = None
    status = 200
    user = current_user._get_current_object()
    if token_form.submit.data and token_form.validate_on_submit():
        try:
            token, new_token = accounts.create_api_token(user, user, token_form.name.data)
            flash(f"已创建令牌“{token.name}”。", "success")
        except ServiceError as error:
            attach_error(token_form, error)
            status = error.status
    elif password_form.submit.data and password_form.validate_on_submit():
        if password_form.new_password.data != password_form.confirm.data:
            password_form.confirm.errors = ["两次输入的新密码不一致。"]
            status = 422
        else:
            try:
                accounts.change_own_password(user, password_form.current_password.data, password_form.new_password.data)
            except ServiceError as error:
                attach_error(password_form, error)
                status = error.status
            else:
                # The password change ended every session; keep this one by logging in again.
                start_session(user)
                flash("密码已修改，其他设备上的登录已失效。", "success")
                return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", token_form=token_form, password_form=password_form,
                           tokens=_own_tokens(), new_token=new_token, revoke_form=RevokeTokenForm()), status


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        flash("请求无效，请重试。", "danger")
        return redirect(url_for("auth.profile"))
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    accounts.revoke_api_token(current_user._get_current_object(), token)
    flash(f"已撤销令牌“{token.name}”。", "success")
    return redirect(url_for("auth.profile"))
