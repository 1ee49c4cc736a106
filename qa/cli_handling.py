"""Flask commands for the expert pool, the deadline sweep and email (`deadlines`, `expert`, `mail`)."""
from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask

from qa.errors import ServiceError
from qa.extensions import db


def _now(value: str | None) -> datetime | None:
    """--now as an ISO time; without an offset it is read as China time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("须为 ISO 时间，如 2026-03-02T08:00:00+08:00。", param_hint="--now") from None
    if moment.tzinfo is None:
        from qa.timeutil import CHINA

        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(UTC)


def register(app: Flask) -> None:
    deadlines = click.Group("deadlines", help="Due-date reminders, overdue marking and escalation.")
    app.cli.add_command(deadlines)

    @deadlines.command("sweep")
    @click.option("--now", "now_text", default=None, help="Run as of this ISO time (replays, tests).")
    @click.option("--mail/--no-mail", default=True, help="Also send due emails afterwards (when SMTP is set).")
    @click.option("--batch-size", default=2000, show_default=True, help="Reminders per transaction.")
    @click.option("--escalation-batch-size", default=100, show_default=True,
                  help="Overdue questions (escalations) per transaction.")
    def sweep_command(now_text, mail, batch_size, escalation_batch_size):
        """Send reminders, mark overdue questions and escalate them. Idempotent: run it from cron."""
        from qa.services import deadlines as service
        from qa.services.mail import mail_enabled, send_mail

        now = _now(now_text)
        report = service.sweep(now, batch_size=batch_size, escalation_batch_size=escalation_batch_size)
        click.echo(report.summary())
        if mail and mail_enabled():
            click.echo(send_mail(now).summary())

    mail_group = click.Group("mail", help="Email notifications (outbox).")
    app.cli.add_command(mail_group)

    @mail_group.command("send")
    @click.option("--now", "now_text", default=None, help="Run as of this ISO time.")
    def mail_send(now_text):
        """Queue daily digests and send due emails from the outbox, with retries."""
        from qa.services.mail import mail_enabled, send_mail

        if not mail_enabled():
            raise click.ClickException("未配置邮件服务器（QA_SMTP_HOST），邮件通知未启用。")
        click.echo(send_mail(_now(now_text)).summary())

    expert_group = click.Group("expert", help="Manage the expert pool (答疑专家库).")
    app.cli.add_command(expert_group)

    @expert_group.command("set")
    @click.argument("username")
    @click.option("--capacity", type=int, default=None, help="Most open questions at once.")
    @click.option("--leave-until", default=None, help="On leave up to this day (YYYY-MM-DD); '' clears it.")
    @click.option("--term-from", default=None, help="Term of appointment starts (YYYY-MM-DD); '' clears it.")
    @click.option("--term-to", default=None, help="Term ends (YYYY-MM-DD); '' clears it.")
    @click.option("--tags", default=None, help="Finer specialities, comma-separated (e.g. 认罪认罚,网络犯罪).")
    @click.option("--specialities", default=None, help="Business line codes, ';'-separated.")
    def expert_set(username, capacity, leave_until, term_from, term_to, tags, specialities):
        """Set an expert's capacity, leave, term, tags or business lines (omitted options stay)."""
        from qa.models import ExpertProfile
        from qa.services.accounts import get_user
        from qa.services.experts import expert_tags, update_expert

        try:
            user = get_user(username)
            current = db.session.get(ExpertProfile, user.id)

            def keep(value, attr):
                if value is not None:
                    return value
                return getattr(current, attr) if current is not None else None

            update_expert(
                None, user, capacity=capacity,
                leave_until=keep(leave_until, "leave_until"), term_start=keep(term_from, "term_start"),
                term_end=keep(term_to, "term_end"), tags=tags if tags is not None else expert_tags(user),
                specialities=[s.strip() for s in specialities.split(";") if s.strip()] if specialities else None,
            )
        except ServiceError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"已更新答疑专家 {username} 的设置。")

    @expert_group.command("list")
    def expert_list():
        """The pool: username, procuratorate, business lines, open/capacity, availability."""
        from qa.services.experts import pool_rows

        for row in pool_rows():
            click.echo("\t".join([row.user.username, row.user.name, row.user.org.name, "、".join(row.lines),
                                  f"{row.load}/{row.capacity}", row.availability]))
