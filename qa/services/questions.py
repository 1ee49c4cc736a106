"""Questions: asking (with the number for life), supplements, acceptance and manual assignment."""
from __future__ import annotations

import re
from datetime import date

from flask import current_app
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from qa.errors import Conflict, NotFound, ValidationError
from qa.extensions import begin_write, db
from qa.markup import render_markdown
from qa.models import Answer, Category, Question, QuestionCounter, Supplement, Tag, User
from qa.permissions import Permission, can, can_accept, can_assign, can_supplement, require
from qa.search.citations import record_citations, record_question_citations
from qa.services.audit import enqueue_index, notify, record
from qa.services.routing import assign, route_question
from qa.services.submissions import check_key, commit_or_earlier, earlier
from qa.timeutil import CHINA, china_today, utcnow

TAG_SPLIT = re.compile(r"[,，、;；\s]+")
TAG_MAX = 5
TAG_LEN = 20
NUMBER_RE = re.compile(r"^JD\d{4}-[0-9A-Za-z]{1,12}-\d{5,}$")


def validate_text(value: str, field: str, label: str, max_len: int) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError(field, f"{label}格式不正确。")
    value = (value or "").strip()
    if not value:
        raise ValidationError(field, f"请填写{label}。")
    if len(value) > max_len:
        raise ValidationError(field, f"{label}不能超过 {max_len} 个字（当前 {len(value)} 个）。")
    return value


def parse_tags(tags) -> list[str]:
    """Tags from a string (comma, 、 or space separated) or a list; deduplicated, order kept."""
    if isinstance(tags, str):
        tags = TAG_SPLIT.split(tags)
    if tags is not None and not isinstance(tags, (list, tuple)):
        raise ValidationError("tags", "标签格式不正确。")
    cleaned: list[str] = []
    for tag in tags or ():
        if not isinstance(tag, str):
            raise ValidationError("tags", "标签格式不正确。")
        tag = tag.strip().lstrip("#")
        if not tag or tag in cleaned:
            continue
        if len(tag) > TAG_LEN:
            raise ValidationError("tags", f"每个标签不超过 {TAG_LEN} 个字：“{tag[:TAG_LEN]}…”。")
        cleaned.append(tag)
    if len(cleaned) > TAG_MAX:
        raise ValidationError("tags", f"标签最多 {TAG_MAX} 个。")
    return cleaned


def get_category(code: str) -> Category:
    category = db.session.get(Category, code or "") if isinstance(code, str) else None
    if category is None:
        raise ValidationError("category", "请选择有效的业务条线。")
    return category


def next_sequence(org_id: int, year: int) -> int:
    """Reserve the next number for (procuratorate, year) inside the caller's transaction.

    The counter row is locked by the UPDATE until commit (PostgreSQL row lock; SQLite's write
    transaction), so concurrent askers get distinct numbers; a rollback releases the number
    again, so the sequence has no gaps.
    """
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(QuestionCounter)
        .values(org_id=org_id, year=year, last_seq=0)
        .on_conflict_do_nothing(index_elements=["org_id", "year"])
    )
    return db.session.execute(
        update(QuestionCounter)
        .where(QuestionCounter.org_id == org_id, QuestionCounter.year == year)
        .values(last_seq=QuestionCounter.last_seq + 1)
        .returning(QuestionCounter.last_seq)
    ).scalar_one()


def _tags_for(names: list[str]) -> list[Tag]:
    """The Tag rows for these names, creating missing ones.

    INSERT ... ON CONFLICT DO NOTHING, so two askers introducing the same new tag at once do not
    collide on the unique name (PostgreSQL waits for the other insert, then skips). Sorted, so
    concurrent inserts take the name locks in the same order.
    """
    if not names:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(Tag).values([{"name": name} for name in sorted(names)])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    found = {t.name: t for t in db.session.execute(db.select(Tag).where(Tag.name.in_(names))).scalars()}
    return [found[name] for name in names]


def ask_question(asker: User, *, title: str, body: str, category: str, tags=None,
                 case_deadline: date | None = None, law_not_facts: bool = False,
                 not_classified: bool = False, submission_key: str | None = None) -> Question:
    """Post a question: number it for life, route it to an expert, record it; commit once.

    Raises ValidationError (nothing saved) for bad input, PermissionDenied for an inactive user.
    A submission_key seen before from this asker returns that question again (no duplicate).
    """
    key = check_key(submission_key)
    if (replay := earlier(Question, asker.id, key)) is not None:
        return replay
    require(can(asker, Permission.ASK), "账号已停用或无提问权限。")
    cfg = current_app.config
    title = validate_text(title, "title", "标题", cfg["QA_TITLE_MAX"])
    body = validate_text(body, "body", "问题内容", cfg["QA_BODY_MAX"])
    cat = get_category(category)
    tag_names = parse_tags(tags)
    if case_deadline is not None:
        if not isinstance(case_deadline, date):
            raise ValidationError("case_deadline", "办案期限须为日期。")
        if case_deadline < china_today():
            raise ValidationError("case_deadline", "办案期限不能早于今天。")
    if law_not_facts is not True:
        raise ValidationError("law_not_facts", "请确认所问为法律适用、程序或政策问题，不涉及具体案件的事实认定。")
    if not_classified is not True:
        raise ValidationError("not_classified", "请确认问题内容不含涉密信息。")
    body_html = render_markdown(body)

    begin_write()
    now = utcnow()
    year = now.astimezone(CHINA).year
    org = asker.org
    seq = next_sequence(org.id, year)  # PostgreSQL: a row lock that also serialises this asker's retries
    if (replay := earlier(Question, asker.id, key)) is not None:
        db.session.rollback()  # gives the number back: numbering stays gap-free
        return replay
    question = Question(
        number=f"JD{year}-{org.code}-{seq:05d}", org_id=org.id, year=year, seq=seq,
        asker_id=asker.id, category_code=cat.code, title=title, body_md=body, body_html=body_html,
        status="pending", case_deadline=case_deadline, created_at=now, updated_at=now, submission_key=key,
    )
    question.org = org
    question.category = cat
    question.tags = _tags_for(tag_names)
    db.session.add(question)
    record(asker, "question.created", question, title=title, category=cat.code, tags=tag_names,
           case_deadline=case_deadline.isoformat() if case_deadline else None)
    route_question(question, by=asker, now=now)
    record_question_citations(question)
    enqueue_index(question)
    return commit_or_earlier(Question, asker.id, key) or question


def get_question(number: str) -> Question:
    question = db.session.execute(db.select(Question).filter_by(number=number)).scalar_one_or_none()
    if question is None:
        raise NotFound(f"问题编号 {number} 不存在。")
    return question


def add_supplement(asker: User, question: Question, body: str, submission_key: str | None = None) -> Supplement:
    """补充说明 by the asker; the responsible expert is told. A submission_key seen before from this
    asker returns that supplement again (no duplicate)."""
    key = check_key(submission_key)
    if (replay := earlier(Supplement, asker.id, key)) is not None:
        return replay
    require(can_supplement(asker, question), "只有提问人可以补充说明未关闭的问题。")
    body = validate_text(body, "body", "补充说明", current_app.config["QA_BODY_MAX"])
    body_html = render_markdown(body)
    begin_write()
    supplement = Supplement(question=question, author_id=asker.id, body_md=body, body_html=body_html,
                            submission_key=key)
    db.session.add(supplement)
    question.updated_at = utcnow()
    record(asker, "question.supplemented", supplement, question=question)
    record_citations(question, "supplement", supplement.id, body)
    for a in question.assignments:
        if a.active:
            notify(a.expert, "supplement", f"问题 {question.number} 的提问人补充了说明。", question)
    enqueue_index(question)
    return commit_or_earlier(Supplement, asker.id, key) or supplement


def accept_answer(asker: User, question: Question, answer_id) -> Answer:
    """采纳: the asker accepts an answer to their own question, which is then resolved."""
    require(can(asker, Permission.ASK) and question.asker_id == asker.id, "只有提问人可以采纳对本问题的答复。")
    valid_id = isinstance(answer_id, int) and not isinstance(answer_id, bool)
    answer = db.session.get(Answer, answer_id) if valid_id else None
    if answer is None or answer.question_id != question.id:
        raise ValidationError("answer_id", "该答复不属于此问题。")
    require(can_accept(asker, question, answer), "只有提问人可以采纳他人对本问题的答复。")
    if question.accepted_answer_id == answer.id:
        raise Conflict("该答复已被采纳。")
    begin_write()
    previous = question.accepted_answer_id
    question.accepted_answer_id = answer.id
    question.status = "resolved"
    question.updated_at = utcnow()
    record(asker, "answer.accepted", answer, question=question, previous=previous)
    notify(answer.author, "accepted", f"您对问题 {question.number} 的答复已被提问人采纳。", question)
    enqueue_index(question)
    db.session.commit()
    return answer


def assign_manually(admin: User, question: Question, expert_username: str) -> None:
    """An admin assigns a question from the unassigned queue (or reassigns an open one)."""
    require(can_assign(admin), "只有管理员可以人工分派。")
    if question.status not in ("pending", "assigned"):
        raise Conflict("该问题已答复或已关闭，不能再分派。")
    expert = db.session.execute(
        db.select(User).filter_by(username=(expert_username or "").strip())
    ).scalar_one_or_none()
    if expert is None or not expert.active or not expert.has_role("expert"):
        raise ValidationError("expert", "请选择一位在岗的答疑专家。")
    if expert.id == question.asker_id:
        raise ValidationError("expert", "不能分派给提问人本人。")
    if expert.org_id == question.org_id and question.org.parent_id is not None:
        raise ValidationError("expert", "不能分派给提问人所在院的专家，请选择上级院的专家。")
    current = question.assignee
    if current is not None and current.id == expert.id:
        raise Conflict("该专家已负责此问题。")
    begin_write()
    assign(question, expert, by=admin, now=utcnow(), reason="manual")
    enqueue_index(question)
    db.session.commit()
