"""The steps of create_app(): extensions, blueprints, error pages, request hooks, commands."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from qa.extensions import bootstrap, csrf, db, login_manager, migrate
from qa.models import User

log = logging.getLogger("qa")

ERROR_MESSAGES = {
    400: ("请求有误", "请求的格式或内容不正确。"),
    401: ("需要登录", "请先登录。"),
    403: ("无权访问", "您没有访问此页面或执行此操作的权限。"),
    404: ("页面不存在", "您要找的页面或对象不存在。"),
    405: ("方法不允许", "不支持该请求方法。"),
    409: ("状态冲突", "该操作与当前状态冲突。"),
    413: ("内容过大", "提交的内容超过了大小限制。"),
    422: ("无法处理", "提交的内容无法处理。"),
    429: ("请求过于频繁", "请稍后再试。"),
    500: ("服务器错误", "服务器内部错误，已记录。请稍后再试，或把下面的编号告诉管理员。"),
    503: ("暂时无法处理", "服务暂时不可用，请稍后重试。"),
}

ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               422: "validation_error", 429: "too_many_requests", 500: "internal_error",
               503: "service_unavailable"}


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"
    app.json.ensure_ascii = False  # readable Chinese in API responses
    app.permanent_session_lifetime = timedelta(seconds=app.config["PERMANENT_SESSION_LIFETIME"])

    @login_manager.user_loader
    def load_user(session_id: str):
        """Session ids are "<user id>:<session version>"; a bumped version ends old sessions."""
        try:
            user_id, version = (int(part) for part in session_id.split(":"))
        except ValueError:
            return None
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.session_version != version:
            return None
        return user


def register_blueprints(app: Flask) -> None:
    from qa.admin.views import bp as admin_bp
    from qa.api import bp as api_bp
    from qa.auth.views import bp as auth_bp
    from qa.main.views import bp as main_bp
    from qa.questions.views import bp as questions_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(questions_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    from qa.experts.views import bp as experts_bp  # expert pool, handling actions, notification settings

    app.register_blueprint(experts_bp)
    from qa.audit.views import bp as audit_bp  # issue 5: audit viewer, quality, knowledge base, batches
    from qa.knowledge.views import bp as knowledge_bp
    from qa.quality.views import bp as quality_bp

    app.register_blueprint(audit_bp)
    app.register_blueprint(knowledge_bp)
    app.register_blueprint(quality_bp)
    from qa.stats.views import bp as stats_bp  # issue 6: statistics dashboard

    app.register_blueprint(stats_bp)
    csrf.exempt(api_bp)  # token-authenticated, never cookie-authenticated
    from qa.search import init_app as init_search
    from qa.search.views import bp as search_bp

    app.register_blueprint(search_bp)
    init_search(app)
    from qa.auth.throttle import init_app as init_throttling  # issue 7: after every view exists

    init_throttling(app)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_errorhandlers(app: Flask) -> None:
    from qa.errors import ServiceError

    def render_error(status: int, message: str | None = None, code: str | None = None):
        title, default = ERROR_MESSAGES.get(status, ("出错了", "请求未能完成。"))
        if _wants_json():
            body = {"error": {"code": code or ERROR_CODES.get(status, f"http_{status}"), "message": message or default}}
            if status == 500:
                body["error"]["correlation_id"] = g.get("correlation_id")
            return jsonify(body), status
        return render_template("errors/error.html", status=status, title=title,
                               message=message or default, correlation_id=g.get("correlation_id")), status

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, "表单已过期或来源无效，请刷新页面后重试。", "csrf")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        from qa.auth.throttle import breach_message, retry_after

        seconds = retry_after()
        log.warning("rate limit %s hit at %s from %s", error.limit.limit, request.path, request.remote_addr)
        body, status = render_error(429, breach_message(error.description, seconds), "too_many_requests")
        return body, status, {"Retry-After": str(seconds)}

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        db.session.rollback()
        return render_error(error.status, error.message, error.code)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 403:  # every refusal leaves a trace for the security officer (S13, S32)
            user = g.get("api_user") or (current_user if current_user.is_authenticated else None)
            log.warning("access denied: %s %s for %s", request.method, request.path,
                        user.username if user else "anonymous")
        response = render_error(status, None if status in ERROR_MESSAGES else error.description,
                                ERROR_CODES.get(status))
        if status == 405 and getattr(error, "valid_methods", None):
            body, status = response
            return body, status, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError):
        """Disk full, I/O error or lock timeout: nothing was committed; say so plainly (503)."""
        db.session.rollback()
        log.error("database unavailable (%s), correlation id %s", error.orig, g.get("correlation_id"))
        if request.method in ("GET", "HEAD"):
            message = "数据库暂时不可用，请稍后重试。"
        else:
            message = "未保存，请重试：数据库暂时无法写入（如磁盘空间不足或系统繁忙），您提交的内容没有保存。"
        response = make_response(render_error(503, message, "database_unavailable"))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        log.exception("unhandled error, correlation id %s", g.get("correlation_id"))
        return render_error(500)


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def register_request_hooks(app: Flask) -> None:
    from qa.auth.sessions import enforce_session_age, require_fresh_admin

    @app.before_request
    def start_request():
        g.correlation_id = uuid.uuid4().hex[:12]

    @app.before_request
    def reject_nul_characters():
        """NUL in the path, a parameter or a form field is never legitimate text (PostgreSQL refuses it): 400, no change."""
        values = [request.path, *request.args.values(), *request.form.values()]
        if any("\x00" in value for value in values) or (request.is_json and b"\\u0000" in request.get_data()):
            from qa.errors import ServiceError

            raise ServiceError("请求含有不允许的控制字符（NUL），未予处理。")

    app.before_request(enforce_session_age)
    app.before_request(require_fresh_admin)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if app.config["QA_HTTPS"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        response.headers["X-Correlation-Id"] = g.get("correlation_id", "")
        return response


def register_template_helpers(app: Flask) -> None:
    from qa.models import DISCLAIMER, LEVEL_NAMES, RATING_CRITERIA, STATUS_NAMES
    from qa.permissions import ROLE_NAMES, Permission, can, can_accept, can_answer, can_curate, can_rate
    from qa.timeutil import format_china
    from qa.trail import object_name, trail_label, trail_text

    app.jinja_env.filters["cn_time"] = format_china
    app.jinja_env.filters["trail_label"] = trail_label
    app.jinja_env.filters["trail_text"] = trail_text
    app.jinja_env.filters["object_name"] = object_name
    app.jinja_env.filters["category_name"] = category_name
    app.jinja_env.filters["cn_date"] = lambda dt: format_china(dt, with_time=False)
    app.jinja_env.globals.update(
        Permission=Permission, can=can, can_answer=can_answer, can_accept=can_accept,
        can_rate=can_rate, can_curate=can_curate, ROLE_NAMES=ROLE_NAMES, STATUS_NAMES=STATUS_NAMES,
        RATING_CRITERIA=RATING_CRITERIA, LEVEL_NAMES=LEVEL_NAMES, DISCLAIMER=DISCLAIMER,
    )

    @app.context_processor
    def inject_user_state():
        from qa.services.notifications import unread_count

        if current_user.is_authenticated:
            return {"unread_notifications": unread_count(current_user)}
        return {"unread_notifications": 0}


def category_name(code: str) -> str:
    from qa.models import Category

    category = db.session.get(Category, code)
    return category.name if category else code


def register_commands(app: Flask) -> None:
    from qa.cli import register

    register(app)
