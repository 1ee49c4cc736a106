"""Email notifications: preferences, the outbox (written with the change) and its delivery with retries.

Requests never talk to the mail server. A notification for a user who wants immediate email adds
a MailOutbox row in the same transaction; `flask --app wsgi mail send` (cron, or after the
deadline sweep) queues the daily digests and delivers due rows, each claimed with a short lease
so several senders never send the same row at once. A failure is retried with growing pauses; a
row that keeps failing is marked failed. Delivery is at least once: a crash between the mail
server's acceptance and our bookkeeping may repeat one email.
"""
from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app
from markupsafe import escape
from sqlalchemy import func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qa.errors import ValidationError
from qa.extensions import begin_write, db
from qa.models import EMAIL_MODES, MailOutbox, Notification, NotificationPreference, Question, User, UTCDateTime
from qa.timeutil import CHINA, china_midnight, china_today, format_china, utcnow

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
RETRY_MINUTES = (1, 5, 30, 120, 360, 720)
LEASE = timedelta(minutes=5)


def mail_enabled() -> bool:
    return bool(current_app.config.get("QA_SMTP_HOST"))


# Preferences -------------------------------------------------------------------------------


def preference_of(user: User) -> NotificationPreference:
    """The user's preference row, or an unsaved default (no email, mode off)."""
    pref = db.session.get(NotificationPreference, user.id)
    return pref if pref is not None else NotificationPreference(user_id=user.id, email=None, email_mode="off")


def update_preferences(user: User, *, email: str | None, mode: str) -> NotificationPreference:
    """Save a user's email address and choice (immediate, daily digest or off)."""
    if mode not in EMAIL_MODES:
        raise ValidationError("email_mode", "请选择邮件通知方式。")
    if email is not None and not isinstance(email, str):
        raise ValidationError("email", "邮箱地址格式不正确。")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 254 or not EMAIL_RE.match(email)):
        raise ValidationError("email", "邮箱地址格式不正确。")
    if mode != "off" and email is None:
        raise ValidationError("email", "选择邮件通知时请填写邮箱地址。")
    begin_write()
    pref = db.session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id)
        db.session.add(pref)
    pref.email, pref.email_mode, pref.updated_at = email, mode, utcnow()
    db.session.commit()
    return pref


# Queueing ----------------------------------------------------------------------------------


def queue_notification_mail(note: Notification, user_id: int) -> None:
    """Called by notify(): queue an immediate email for this notification when the user wants one."""
    if not mail_enabled():
        return
    pref = db.session.get(NotificationPreference, user_id)
    if pref is None or pref.email_mode != "immediate" or not pref.email:
        return
    db.session.add(MailOutbox(user_id=user_id, kind="immediate", notification=note))


def queue_for_notifications(notification_ids, now: datetime) -> int:
    """The same for notifications inserted in bulk (the deadline sweep), in one statement."""
    if not mail_enabled() or not notification_ids:
        return 0
    queued = db.session.execute(
        insert(MailOutbox).from_select(
            ["user_id", "kind", "notification_id", "status", "attempts", "created_at", "next_attempt_at"],
            select(Notification.user_id, literal("immediate"), Notification.id, literal("pending"), literal(0),
                   literal(now, UTCDateTime()), literal(now, UTCDateTime()))
            .join(NotificationPreference, NotificationPreference.user_id == Notification.user_id)
            .where(Notification.id.in_(list(notification_ids)), NotificationPreference.email_mode == "immediate",
                   NotificationPreference.email.is_not(None)),
        ).returning(MailOutbox.id)
    ).all()
    return len(queued)


def last_digest_cutoff(now: datetime) -> datetime:
    """The most recent moment (QA_MAIL_DIGEST_HOUR, China time) at which a digest fell due."""
    cutoff = china_midnight(china_today(now)) + timedelta(hours=current_app.config["QA_MAIL_DIGEST_HOUR"])
    return cutoff if cutoff <= now else cutoff - timedelta(days=1)


def queue_digests(now: datetime) -> int:
    """Queue one digest per digest user for the notifications since their last one (at most daily)."""
    if not mail_enabled():
        return 0
    cutoff = last_digest_cutoff(now)
    day = cutoff.astimezone(CHINA).date().isoformat()
    begin_write()
    prefs = db.session.execute(
        select(NotificationPreference).where(
            NotificationPreference.email_mode == "digest", NotificationPreference.email.is_not(None),
            or_(NotificationPreference.digest_until.is_(None), NotificationPreference.digest_until < cutoff))
    ).scalars().all()
    insert_ = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    queued = 0
    for pref in prefs:
        start = pref.digest_until or cutoff - timedelta(days=1)
        count = db.session.execute(
            select(func.count(Notification.id)).where(Notification.user_id == pref.user_id,
                                                      Notification.created_at >= start,
                                                      Notification.created_at < cutoff)
        ).scalar_one()
        if count:
            queued += db.session.execute(
                insert_(MailOutbox).values(user_id=pref.user_id, kind="digest", dedupe_key=f"digest:{pref.user_id}:{day}",
                                           window_start=start, window_end=cutoff, created_at=now,
                                           next_attempt_at=now)
                .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(MailOutbox.id)
            ).first() is not None
        pref.digest_until = cutoff
    db.session.commit()
    return queued


# Rendering ---------------------------------------------------------------------------------


def header_text(value: str, limit: int = 120) -> str:
    """One line, no control characters (no header injection), shortened."""
    value = CONTROL.sub(" ", value or "").strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _link(question: Question | None) -> str:
    if question is None:
        return ""
    base = (current_app.config.get("QA_BASE_URL") or "").rstrip("/")
    return f"{base}/q/{question.number}" if base else f"问题编号 {question.number}"


def _message(to: str, subject: str, lines: list[tuple[str, str]]) -> EmailMessage:
    """A text and an HTML part from (text, link) lines; every piece of content is escaped in HTML."""
    msg = EmailMessage()
    msg["Subject"] = header_text(subject)
    msg["From"] = formataddr(("检答", current_app.config["QA_MAIL_FROM"]))
    msg["To"] = to
    msg["Message-ID"] = make_msgid(domain="jianda")
    footer = "此邮件由检答平台自动发送，请勿回复。可在“个人中心 → 通知设置”中更改邮件通知方式。"
    msg.set_content("\n\n".join(f"{text}\n{link}" if link else text for text, link in lines) + f"\n\n—\n{footer}\n")
    items = "".join(
        f"<li>{escape(text)}" + (f"<br><a href=\"{escape(link)}\">{escape(link)}</a>" if link.startswith("http")
                                 else f"<br>{escape(link)}" if link else "") + "</li>"
        for text, link in lines
    )
    msg.add_alternative(f"<html><body><ul>{items}</ul><p style=\"color:#666\">{escape(footer)}</p></body></html>",
                        subtype="html")
    return msg


def render(row: MailOutbox, pref: NotificationPreference) -> EmailMessage | None:
    """The email for an outbox row, or None when there is nothing (left) to send."""
    if row.kind == "immediate":
        note = row.notification
        if note is None:
            return None
        return _message(pref.email, f"【检答】{note.message}", [(note.message, _link(note.question))])
    notes = db.session.execute(
        select(Notification).where(Notification.user_id == row.user_id, Notification.created_at >= row.window_start,
                                   Notification.created_at < row.window_end).order_by(Notification.id)
    ).scalars().all()
    if not notes:
        return None
    day = row.window_end.astimezone(CHINA).date().isoformat()
    lines = [(f"{format_china(n.created_at)}  {n.message}", _link(n.question)) for n in notes]
    return _message(pref.email, f"【检答】每日通知汇总（{day}，共 {len(notes)} 条）", lines)


# Delivery ----------------------------------------------------------------------------------


@dataclass
class MailReport:
    queued_digests: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    def summary(self) -> str:
        return (f"邮件：新汇总 {self.queued_digests} 封，发送成功 {self.sent} 封，待重试 {self.retried} 封，"
                f"放弃 {self.failed} 封，无需发送 {self.skipped} 封。")


def _claim(now: datetime, limit: int) -> list[int]:
    """Lease up to `limit` due rows to this sender (a conditional UPDATE: never two senders)."""
    begin_write()
    candidates = db.session.execute(
        select(MailOutbox.id).where(MailOutbox.status == "pending", MailOutbox.next_attempt_at <= now,
                                    or_(MailOutbox.locked_until.is_(None), MailOutbox.locked_until < now))
        .order_by(MailOutbox.id).limit(limit)
    ).scalars().all()
    if not candidates:
        db.session.rollback()
        return []
    claimed = db.session.execute(
        update(MailOutbox).where(MailOutbox.id.in_(candidates),
                                 or_(MailOutbox.locked_until.is_(None), MailOutbox.locked_until < now))
        .values(locked_until=now + LEASE).returning(MailOutbox.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    db.session.commit()
    return sorted(claimed)


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    server = smtplib.SMTP(cfg["QA_SMTP_HOST"], int(cfg["QA_SMTP_PORT"]), timeout=cfg["QA_SMTP_TIMEOUT"])
    if cfg.get("QA_SMTP_STARTTLS"):
        server.starttls()
    if cfg.get("QA_SMTP_USER"):
        server.login(cfg["QA_SMTP_USER"], cfg["QA_SMTP_PASSWORD"])
    return server


def _finish(row_id: int, now: datetime, error: str | None, report: MailReport, skipped: bool = False) -> None:
    begin_write()
    row = db.session.get(MailOutbox, row_id)
    row.locked_until = None
    if skipped:
        row.status = "skipped"
        report.skipped += 1
    elif error is None:
        row.status, row.sent_at = "sent", now
        report.sent += 1
    else:
        row.attempts += 1
        row.last_error = error[:500]
        if row.attempts >= current_app.config["QA_MAIL_MAX_ATTEMPTS"]:
            row.status = "failed"
            report.failed += 1
        else:
            pause = RETRY_MINUTES[min(row.attempts - 1, len(RETRY_MINUTES) - 1)]
            row.next_attempt_at = now + timedelta(minutes=pause)
            report.retried += 1
    db.session.commit()


def deliver(now: datetime | None = None, limit: int = 200, report: MailReport | None = None) -> MailReport:
    """Send the due outbox rows over one SMTP connection; failures are rescheduled."""
    now = now or utcnow()
    report = report or MailReport()
    if not mail_enabled():
        return report
    ids = _claim(now, limit)
    if not ids:
        return report
    server, connect_error = None, None
    try:
        server = _connect()
    except (OSError, smtplib.SMTPException) as error:
        connect_error = f"连接邮件服务器失败：{error}"
    try:
        for row_id in ids:
            row = db.session.get(MailOutbox, row_id)
            pref = db.session.get(NotificationPreference, row.user_id)
            wanted = "immediate" if row.kind == "immediate" else "digest"
            message = render(row, pref) if pref is not None and pref.email and pref.email_mode == wanted else None
            db.session.rollback()  # no transaction stays open while talking to the mail server
            if message is None:
                _finish(row_id, now, None, report, skipped=True)
                continue
            if connect_error:
                _finish(row_id, now, connect_error, report)
                continue
            try:
                server.send_message(message)
            except (OSError, smtplib.SMTPException) as error:
                _finish(row_id, now, f"{type(error).__name__}: {error}", report)
                if isinstance(error, (OSError, smtplib.SMTPServerDisconnected)):
                    connect_error = f"连接中断：{error}"
            else:
                _finish(row_id, now, None, report)
    finally:
        if server is not None:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return report


def send_mail(now: datetime | None = None) -> MailReport:
    """What cron runs: queue due digests, then deliver everything due."""
    now = now or utcnow()
    report = MailReport()
    if not mail_enabled():
        return report
    report.queued_digests = queue_digests(now)
    while True:
        before = report.sent + report.retried + report.failed + report.skipped
        deliver(now, report=report)
        if report.sent + report.retried + report.failed + report.skipped == before:
            return report
