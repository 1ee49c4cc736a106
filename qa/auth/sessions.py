"""Session lifetime: log-in starts a fresh session; idle and absolute time-outs end it."""
from __future__ import annotations

import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

SEEN_RESOLUTION = 60  # seconds: how often the idle clock is written back to the cookie


def start_session(user) -> None:
    """Log `user` in on a brand-new session (nothing from before survives: no fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now


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
