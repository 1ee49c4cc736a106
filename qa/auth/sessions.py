"""Session lifetime: log-in starts a fresh session; idle and absolute time-outs end it; admin
actions need a recent password confirmation."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from qa.permissions import Permission, can

SEEN_RESOLUTION = 60  # seconds: how often the idle clock is written back to the cookie


def start_session(user) -> None:
    """Log `user` in on a brand-new session (nothing from before survives: no fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now
    session["confirmed_at"] = now  # logging in counts as a fresh confirmation


def enforce_session_age():
    """Before each page request: end sessions idle too long or older than the absolute limit."""
    if request.path.startswith(("/api/", "/static/", "/bootstrap/")) or not current_user.is_authenticated:
        return None
    cfg = current_app.config
    now = int(time.time())
    login_at = session.get("login_at", 0)
    seen_at = session.get("seen_at", 0)
    if now - login_at > cfg["QA_SESSION_MAX_HOURS"] * 3600 or now - seen_at > cfg["QA_SESSION_IDLE_MINUTES"] * 60:
        logout_user()
        session.clear()
        flash("登录已超时，请重新登录。", "warning")
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if now - seen_at >= SEEN_RESOLUTION:
        session["seen_at"] = now
    return None


# Fresh confirmation for admin actions ---------------------------------------------------------

# Besides every POST under /admin/ (users, roles, passwords, assignment, the expert pool, search
# terms), these need an admin to have entered their password within QA_REAUTH_MINUTES:
FRESH_POST_ENDPOINTS = frozenset({
    "questions.canonical",  # canonical curation
    "knowledge.curate", "knowledge.edit", "knowledge.change_status",
    "knowledge.new_batch", "knowledge.edit_batch", "knowledge.add_item", "knowledge.item",
    "knowledge.move_item", "knowledge.remove_item", "knowledge.deidentify_item", "knowledge.publish",
})
FRESH_GET_ENDPOINTS = frozenset({"audit.export", "stats.export"})  # bulk exports


def mark_confirmed() -> None:
    session["confirmed_at"] = int(time.time())


def is_fresh() -> bool:
    return int(time.time()) - session.get("confirmed_at", 0) <= current_app.config["QA_REAUTH_MINUTES"] * 60


def _needs_fresh() -> bool:
    endpoint = request.endpoint or ""
    if request.method == "POST":
        # An admin's API token carries admin rights to the API, so creating one counts too.
        return (request.path.startswith("/admin/") or endpoint in FRESH_POST_ENDPOINTS
                or (endpoint == "auth.profile" and bool(request.form.get("token-submit"))))
    return endpoint in FRESH_GET_ENDPOINTS


def _return_to() -> str:
    """Where to go after confirming: the export itself, or the page whose form was refused."""
    if request.method == "GET":
        return request.full_path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return url_for("main.index")
    return referrer.path + (f"?{referrer.query}" if referrer.query else "") or url_for("main.index")


def require_fresh_admin():
    """Before each page request: an admin's sensitive action on a stale confirmation goes to the
    confirmation page first (nothing is done; the form is submitted again afterwards). API calls
    are not covered: tokens are bearer credentials, and an admin creates one only when fresh."""
    if request.path.startswith(("/api/", "/static/")) or not current_user.is_authenticated:
        return None
    if not _needs_fresh() or is_fresh() or not can(current_user, Permission.ADMINISTER):
        return None
    flash("为保障账号安全，管理操作需要再次确认密码。确认后请重新提交。", "warning")
    return redirect(url_for("auth.confirm", next=_return_to()))
