"""Imports of answered threads: the published 检答网集萃 batches and JSON Lines archives.

Imported threads are asked and answered by placeholder accounts (inactive, no password) of the
placeholder procuratorate 外部导入; the real asker unit and expert names are kept in ThreadSource.
Both imports are idempotent (a thread's source reference is unique), commit once per batch, and
leave an index task per thread, so the search index follows.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from flask import current_app
from markupsafe import escape
from sqlalchemy import select

from qa.extensions import begin_write, db
from qa.models import (
    Answer,
    AuditEvent,
    Category,
    Citation,
    IndexTask,
    Procuratorate,
    Question,
    Tag,
    ThreadSource,
    User,
)
from qa.search.citations import chinese_number, find_citations
from qa.services.questions import TAG_LEN, TAG_MAX, next_sequence
from qa.timeutil import CHINA, utcnow

PLACEHOLDER_ORG = ("IMPORT", "外部导入（历史档案）")
ASKER_USERNAME = "imp-asker"
Progress = Callable[[int], None] | None


@dataclass
class ThreadRecord:
    ref: str
    kind: str
    label: str
    title: str
    body: str
    category: str
    tags: list[str] = field(default_factory=list)
    asked_at: datetime | None = None
    asker_label: str = ""
    answers: list[tuple[str, str, datetime | None]] = field(default_factory=list)  # body, expert, answered_at


@dataclass
class ThreadImportReport:
    created: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    question_ids: list[int] = field(default_factory=list)


def plain_to_html(text: str) -> str:
    """Archived text is plain text: escaped, blank lines make paragraphs, newlines breaks."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + "<br>\n".join(str(escape(line)) for line in p.splitlines()) + "</p>" for p in paragraphs)


# Category names as written in 集萃 and older systems → our business lines.
CATEGORY_HINTS = [
    ("公益", "public_interest"), ("民事", "civil"), ("行政", "administrative"), ("未成年", "juvenile"),
    ("未检", "juvenile"), ("控告", "petition"), ("申诉", "petition"), ("控申", "petition"),
    ("刑事执行", "enforcement"), ("刑执", "enforcement"), ("监所", "enforcement"),
    ("案件管理", "case_management"), ("案管", "case_management"), ("重大犯罪", "criminal_major"),
    ("经济犯罪", "criminal_economic"), ("职务犯罪", "criminal_duty"), ("普通犯罪", "criminal_ordinary"),
    ("侦查", "investigation"), ("公诉", "criminal"), ("侦监", "criminal"), ("批捕", "criminal"),
    ("刑事", "criminal"),
]


def map_category(value: str, known: set[str], names: dict[str, str]) -> str | None:
    value = (value or "").strip()
    if value in known:
        return value
    if value in names:
        return names[value]
    for hint, code in CATEGORY_HINTS:
        if hint in value:
            return code
    return None


def _placeholders() -> tuple[Procuratorate, User]:
    org = db.session.execute(select(Procuratorate).filter_by(code=PLACEHOLDER_ORG[0])).scalar_one_or_none()
    if org is None:
        org = Procuratorate(code=PLACEHOLDER_ORG[0], name=PLACEHOLDER_ORG[1], level=1)
        db.session.add(org)
        db.session.flush()
    asker = db.session.execute(select(User).filter_by(username=ASKER_USERNAME)).scalar_one_or_none()
    if asker is None:
        asker = User(username=ASKER_USERNAME, name="历史咨询人", org_id=org.id, active=False, password_hash=None)
        db.session.add(asker)
        db.session.flush()
    return org, asker


def _expert_name(name: str) -> str:
    return (name or "").strip()[:50] or "历史答复"


def _load_experts(names: Iterable[str], org: Procuratorate, cache: dict[str, int]) -> None:
    """Placeholder accounts for the batch's expert names, in one query; ids cached (not objects:
    they outlive commits)."""
    missing = {_expert_name(n) for n in names} - cache.keys()
    if not missing:
        return
    usernames = {"imp-e-" + hashlib.sha1(name.encode()).hexdigest()[:12]: name for name in missing}
    with db.session.no_autoflush:
        for user_id, username in db.session.execute(select(User.id, User.username).where(User.username.in_(usernames))):
            cache[usernames.pop(username)] = user_id
    fresh = [User(username=username, name=name, org_id=org.id, active=False, password_hash=None)
             for username, name in sorted(usernames.items())]
    if fresh:
        db.session.add_all(fresh)
        db.session.flush()
        cache.update((user.name, user.id) for user in fresh)


def _load_tags(names: Iterable[str], cache: dict[str, Tag]) -> None:
    """The batch's tags in one query (no autoflush per tag), new ones created."""
    missing = {n for n in names if n not in cache}
    if not missing:
        return
    with db.session.no_autoflush:
        for tag in db.session.execute(select(Tag).where(Tag.name.in_(missing))).scalars():
            cache[tag.name] = tag
    for name in sorted(missing - cache.keys()):
        cache[name] = Tag(name=name)
        db.session.add(cache[name])


def _reserve(org_id: int, year: int, count: int) -> int:
    """Reserve `count` numbers for (org, year); returns the first (gap-free, in this transaction)."""
    first = next_sequence(org_id, year)
    if count > 1:
        from sqlalchemy import update

        from qa.models import QuestionCounter
        db.session.execute(update(QuestionCounter).where(QuestionCounter.org_id == org_id, QuestionCounter.year == year)
                           .values(last_seq=QuestionCounter.last_seq + count - 1))
    return first


def import_records(records: Iterable[tuple[int, ThreadRecord]], progress: Progress = None,
                   batch_size: int = 1000) -> ThreadImportReport:
    """Create threads for records not imported before; one commit per batch."""
    report = ThreadImportReport()
    experts: dict[str, int] = {}
    tags: dict[str, Tag] = {}  # per batch: objects expire at each commit
    batch: list[tuple[int, ThreadRecord]] = []

    def flush_batch():
        if not batch:
            return
        begin_write()  # SQLite: take the write lock first (a stale read snapshot cannot write)
        tags.clear()
        refs = [r.ref for _line, r in batch]
        existing = set(db.session.execute(select(ThreadSource.ref).where(ThreadSource.ref.in_(refs))).scalars())
        org, asker = _placeholders()
        fresh, seen = [], set()
        for _line, record in batch:
            if record.ref in existing or record.ref in seen:
                report.unchanged += 1
            else:
                seen.add(record.ref)
                fresh.append(record)
        by_year: dict[int, list[ThreadRecord]] = {}
        now = utcnow()
        for record in fresh:
            asked = record.asked_at or now
            by_year.setdefault(asked.astimezone(CHINA).year, []).append(record)
        _load_tags((t for record in fresh for t in record.tags), tags)
        _load_experts((e for record in fresh for _b, e, _a in record.answers), org, experts)
        created: list[tuple[Question, ThreadRecord]] = []
        for year, records in by_year.items():
            seq = _reserve(org.id, year, len(records))
            for record in records:
                asked = record.asked_at or now
                answers = []
                for body, expert_name, answered_at in record.answers:
                    at = answered_at or asked
                    answers.append(Answer(author_id=experts[_expert_name(expert_name)], author_org_id=org.id, body_md=body,
                                          body_html=plain_to_html(body), created_at=at, updated_at=at))
                question = Question(
                    number=f"JD{year}-{org.code}-{seq:05d}", org_id=org.id, year=year, seq=seq, asker_id=asker.id,
                    category_code=record.category, title=record.title, body_md=record.body,
                    body_html=plain_to_html(record.body), status="resolved", created_at=asked, updated_at=now,
                    answered_at=min(a.created_at for a in answers),
                )
                question.answers = answers
                question.tags = [tags[t] for t in record.tags]
                db.session.add(question)
                created.append((question, record))
                seq += 1
        db.session.flush()
        for question, record in created:
            db.session.add(ThreadSource(question_id=question.id, kind=record.kind, ref=record.ref,
                                        label=record.label[:120], asker_label=record.asker_label[:200],
                                        experts="、".join(dict.fromkeys(e for _b, e, _a in record.answers if e))[:200]))
            sources = [("question", question.id, f"{question.title}\n{question.body_md}")]
            sources += [("answer", a.id, a.body_md) for a in question.answers]
            for source_type, source_id, text in sources:
                seen_cites = set()
                for cite in find_citations(text):
                    key = (cite.law, cite.article, cite.sub)
                    if key not in seen_cites and len(cite.law) <= 120:
                        seen_cites.add(key)
                        db.session.add(Citation(question_id=question.id, source_type=source_type,
                                                source_id=source_id, law=cite.law, article=cite.article,
                                                sub=cite.sub, raw=cite.raw[:200]))
            db.session.add(AuditEvent(actor_id=None, actor_roles="system", action="question.imported",
                                      object_type="question", object_id=str(question.id), question_id=question.id,
                                      question_number=question.number,
                                      detail={"source": record.label, "asker": record.asker_label}))
            db.session.add(IndexTask(question_id=question.id, op="upsert"))
            report.question_ids.append(question.id)
        db.session.commit()
        report.created += len(created)
        if progress:
            progress(len(batch))
        batch.clear()

    for line, record in records:
        batch.append((line, record))
        if len(batch) >= batch_size:
            flush_batch()
    flush_batch()
    return report


# JSON Lines archives ------------------------------------------------------------------------


def _when(value, field_name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field_name} 须为 ISO 格式的日期或时间字符串")
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, 12, tzinfo=CHINA).astimezone(UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field_name} 不是有效的日期或时间：{value[:40]}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return moment.astimezone(UTC)


def parse_thread_line(data, known: set[str], names: dict[str, str]) -> ThreadRecord:
    """One archive line → a record; ValueError with a Chinese message for anything unusable."""
    cfg = current_app.config
    if not isinstance(data, dict):
        raise ValueError("每行须为一个 JSON 对象")
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("缺少标题 title")
    if len(title.strip()) > cfg["QA_TITLE_MAX"]:
        raise ValueError(f"标题超过 {cfg['QA_TITLE_MAX']} 个字")
    if not isinstance(body, str) or not body.strip():
        raise ValueError("缺少问题内容 body")
    if len(body) > cfg["QA_BODY_MAX"]:
        raise ValueError(f"问题内容超过 {cfg['QA_BODY_MAX']} 个字")
    category = map_category(data.get("category") if isinstance(data.get("category"), str) else "", known, names)
    if category is None:
        raise ValueError(f"无法识别的业务条线：{str(data.get('category'))[:30]}")
    raw_tags = data.get("tags") or []
    if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
        raise ValueError("tags 须为字符串数组")
    tags = list(dict.fromkeys(t.strip() for t in raw_tags if t.strip()))
    if len(tags) > TAG_MAX or any(len(t) > TAG_LEN for t in tags):
        raise ValueError(f"标签最多 {TAG_MAX} 个，每个不超过 {TAG_LEN} 个字")
    asked_at = _when(data.get("asked_at"), "asked_at")
    asker_org = data.get("asker_org") or ""
    if not isinstance(asker_org, str):
        raise ValueError("asker_org 须为字符串")
    answers_in = data.get("answers")
    if not isinstance(answers_in, list) or not answers_in:
        raise ValueError("缺少答复 answers（至少一条）")
    answers = []
    for i, item in enumerate(answers_in, 1):
        if not isinstance(item, dict) or not isinstance(item.get("body"), str) or not item["body"].strip():
            raise ValueError(f"第 {i} 条答复缺少内容 body")
        if len(item["body"]) > cfg["QA_BODY_MAX"]:
            raise ValueError(f"第 {i} 条答复超过 {cfg['QA_BODY_MAX']} 个字")
        expert = item.get("expert") or ""
        if not isinstance(expert, str):
            raise ValueError(f"第 {i} 条答复的 expert 须为字符串")
        answers.append((item["body"].strip(), expert.strip(), _when(item.get("answered_at"), "answered_at")))
    digest = hashlib.sha1(json.dumps([title.strip(), body.strip(), data.get("asked_at")],
                                     ensure_ascii=False).encode()).hexdigest()[:32]
    return ThreadRecord(ref=f"archive:{digest}", kind="archive", label=f"历史档案·{digest[:8]}",
                        title=title.strip(), body=body.strip(), category=category, tags=tags, asked_at=asked_at,
                        asker_label=asker_org.strip(), answers=answers)


def _category_lookup() -> tuple[set[str], dict[str, str]]:
    rows = db.session.execute(select(Category.code, Category.name)).all()
    return {code for code, _ in rows}, {name: code for code, name in rows}


def import_threads_jsonl(lines: Iterable[str], progress: Progress = None, batch_size: int = 1000) -> ThreadImportReport:
    """`flask import threads FILE.jsonl`: valid lines are imported, bad ones reported by line number."""
    known, names = _category_lookup()
    errors: list[tuple[int, str]] = []

    def records():
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                errors.append((number, f"不是有效的 JSON（第 {error.colno} 列）"))
                continue
            try:
                yield number, parse_thread_line(data, known, names)
            except ValueError as error:
                errors.append((number, str(error)))

    report = import_records(records(), progress, batch_size)
    report.errors = errors
    return report


# 检答网集萃 ----------------------------------------------------------------------------------

BATCH_RE = re.compile(r"^#\s*检答网集萃（第(.+?)批）", re.M)
DATE_RE = re.compile(r"^发布日期：\s*(\d{4}-\d{2}-\d{2})", re.M)
ITEM_RE = re.compile(r"^##\s*问题(\d+)[：:]\s*(.*)$", re.M)
ASKER_RE = re.compile(r"（咨询人[：:]\s*([^）]*)）\s*$")


def parse_jicui_file(path: Path) -> tuple[list[ThreadRecord], list[str]]:
    """One 集萃 batch file → its items, and messages for items that could not be read."""
    text = path.read_text(encoding="utf-8")
    head = BATCH_RE.search(text)
    if head is None:
        return [], [f"{path.name}：不是检答网集萃文件（缺少“# 检答网集萃（第N批）”标题）"]
    batch = chinese_number(head.group(1))
    published = DATE_RE.search(text)
    asked_at = _when(published.group(1), "发布日期") if published else None
    matches = list(ITEM_RE.finditer(text))
    records, problems = [], []
    for i, match in enumerate(matches):
        k = int(match.group(1))
        section = text[match.end(): matches[i + 1].start() if i + 1 < len(matches) else len(text)]
        fields = _jicui_fields(section)
        title = fields.get("问题标题") or match.group(2).strip()
        question = fields.get("咨询内容", "")
        answer = fields.get("解答内容", "")
        if not title or not question or not answer:
            problems.append(f"{path.name} 问题{k}：缺少标题、咨询内容或解答内容，已跳过")
            continue
        asker = ""
        found = ASKER_RE.search(question)
        if found:
            asker = found.group(1).strip()
            question = question[:found.start()].rstrip()
        label = f"集萃第{batch}批·问题{k}"
        records.append(ThreadRecord(
            ref=f"jicui:{batch}:{k}", kind="jicui", label=label, title=title[:120], body=question,
            category=fields.get("咨询类别", ""), asked_at=asked_at, asker_label=asker,
            answers=[(answer, fields.get("解答专家", ""), asked_at)],
        ))
    return records, problems


def _jicui_fields(section: str) -> dict[str, str]:
    """`问题标题：…` lines; 解答内容 takes everything after it."""
    fields: dict[str, str] = {}
    lines = section.strip("\n").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(问题标题|咨询类别|咨询内容|解答专家|解答内容)[：:]\s*(.*)$", line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "解答内容":
            fields[key] = "\n".join([value] + lines[i + 1:]).strip()
            break
        if key == "咨询内容":  # may run over several paragraphs until the next field
            rest = []
            for more in lines[i + 1:]:
                if re.match(r"^(解答专家|解答内容|咨询类别)[：:]", more):
                    break
                rest.append(more)
            value = "\n".join([value] + rest).strip()
        fields[key] = value
    return fields


def import_jicui(folder: Path, progress: Progress = None) -> ThreadImportReport:
    """`flask import jicui DIR`: every 集萃 item becomes an answered thread (集萃第N批·问题K)."""
    known, names = _category_lookup()
    problems: list[str] = []
    records: list[tuple[int, ThreadRecord]] = []
    for path in sorted(Path(folder).glob("*.md")):
        if not path.name.startswith("检答网集萃"):
            continue
        items, issues = parse_jicui_file(path)
        problems.extend(issues)
        for record in items:
            record.category = map_category(record.category, known, names) or "general"
            records.append((0, record))
    report = import_records(records, progress)
    report.errors = [(0, p) for p in problems]
    return report
