"""Email notifications against a real local SMTP server: immediate, daily digest, retries, escaping, off."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func

from qa.extensions import db
from qa.models import MailOutbox
from qa.services.deadlines import sweep
from qa.services.follows import set_category_follows, set_question_follow
from qa.services.mail import last_digest_cutoff, send_mail, update_preferences
from qa.timeutil import utcnow
from tests.factories import make_question
from tests.smtp_sink import SmtpSink


@pytest.fixture
def sink(app):
    with SmtpSink() as server:
        app.config.update(QA_SMTP_HOST="127.0.0.1", QA_SMTP_PORT=server.port, QA_BASE_URL="https://jd.example",
                          QA_SMTP_TIMEOUT=5)
        yield server


def outbox(**filters) -> list[MailOutbox]:
    return list(db.session.execute(db.select(MailOutbox).filter_by(**filters).order_by(MailOutbox.id)).scalars())


def test_immediate_email_is_queued_with_the_change_and_sent_outside_the_request(people, sink):
    update_preferences(people["city_expert"], email="li@jc.example", mode="immediate")

    question = make_question(people["asker"], title="醉驾<script>alert(1)</script>\r\nBcc: victim@evil.example")

    (row,) = outbox(user_id=people["city_expert"].id)
    assert row.status == "pending" and sink.messages == []  # nothing sent inside the request
    report = send_mail()
    assert report.sent == 1
    ((_sender, recipients, message),) = sink.messages
    assert recipients == ["li@jc.example"]
    assert "\n" not in message["Subject"] and "Bcc" not in message.keys()
    assert question.number in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f"https://jd.example/q/{question.number}" in message.get_body(("plain",)).get_content()
    assert outbox(user_id=people["city_expert"].id)[0].status == "sent"
    assert send_mail().sent == 0  # sent once


def test_users_who_chose_off_or_gave_no_address_get_no_email(people, sink):
    update_preferences(people["city_expert"], email="li@jc.example", mode="off")
    make_question(people["asker"])
    assert outbox() == []


def test_no_smtp_server_means_no_outbox_and_the_settings_page_says_so(app, people, client, auth):
    update_preferences(people["city_expert"], email="li@jc.example", mode="immediate")
    make_question(people["asker"])
    assert outbox() == []

    auth.login("city_expert")
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert "未配置邮件服务器" in page


def test_failing_mail_server_is_retried_later_and_never_breaks_the_page(people, sink, client, auth):
    update_preferences(people["city_expert"], email="li@jc.example", mode="immediate")
    sink.fail_with = "451 try again later"
    auth.login("asker")
    response = client.post("/ask", data={"title": "醉驾的认定标准", "body": "血液酒精含量多少构成犯罪？",
                                         "category": "criminal", "law_not_facts": "y", "not_classified": "y"})
    assert response.status_code == 302  # the page does not wait for mail

    now = utcnow()
    first = send_mail(now)
    (row,) = outbox()
    assert (first.retried, row.status, row.attempts) == (1, "pending", 1)
    assert row.next_attempt_at > now and "451" in row.last_error
    assert send_mail(now).sent == 0  # not yet due again

    sink.fail_with = None
    assert send_mail(row.next_attempt_at + timedelta(seconds=1)).sent == 1
    assert len(sink.messages) == 1


def test_daily_digest_collects_a_days_notifications_into_one_email(app, people, sink):
    update_preferences(people["city_expert"], email="li@jc.example", mode="digest")
    first = make_question(people["asker"], title="第一个问题")
    second = make_question(people["asker"], title="第二个问题")
    assert outbox() == []  # digest users get nothing immediately

    next_morning = last_digest_cutoff(second.created_at) + timedelta(days=1, hours=1)  # the next digest
    assert send_mail(next_morning - timedelta(hours=2)).queued_digests == 0  # not yet
    report = send_mail(next_morning)
    assert (report.queued_digests, report.sent) == (1, 1)
    ((_s, _r, message),) = sink.messages
    assert "每日通知汇总" in message["Subject"] and "共 2 条" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert first.number in text and second.number in text

    assert send_mail(next_morning + timedelta(hours=3)).queued_digests == 0  # once a day
    assert send_mail(next_morning + timedelta(days=1)).queued_digests == 0  # nothing new: no empty digest
    assert len(sink.messages) == 1


def test_sweep_reminders_are_emailed_to_immediate_users(people, sink):
    update_preferences(people["city_expert"], email="li@jc.example", mode="immediate")
    question = make_question(people["asker"])
    send_mail()
    sink.messages.clear()

    sweep(question.due_at - timedelta(hours=20))
    report = send_mail(question.due_at - timedelta(hours=20))

    assert report.sent == 1 and "提醒" in sink.messages[0][2]["Subject"]


def test_followers_of_a_question_or_business_line_hear_of_new_answers(people):
    from qa.models import Notification
    from qa.services.answers import post_answer
    from tests.factories import make_user

    fan = make_user("fan", "110108")
    line_fan = make_user("line_fan", "320102")
    question = make_question(people["asker"])
    set_question_follow(fan, question, True)
    set_category_follows(line_fan, ["criminal"])

    post_answer(people["city_expert"], question, "依照《刑法》第一百三十三条之一。")

    for user in (fan, line_fan):
        (note,) = db.session.execute(db.select(Notification).filter_by(user_id=user.id, kind="followed")).scalars()
        assert question.number in note.message
    assert db.session.execute(db.select(func.count()).select_from(Notification).filter_by(
        user_id=people["city_expert"].id, kind="followed")).scalar_one() == 0


def test_preferences_are_validated(people):
    from qa.errors import ValidationError

    with pytest.raises(ValidationError):
        update_preferences(people["asker"], email="not-an-address", mode="immediate")
    with pytest.raises(ValidationError):
        update_preferences(people["asker"], email="a@b.example\r\nBcc: x@y.example", mode="immediate")
    with pytest.raises(ValidationError):
        update_preferences(people["asker"], email=None, mode="digest")
