"""检答集萃 batches: assemble canonical items, de-identify them, publish with numbering fixed for good, export."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from qa.errors import Conflict, NotFound, ValidationError
from qa.extensions import begin_write, db
from qa.models import Batch, BatchCorrection, BatchItem, CanonicalAnswer, User
from qa.permissions import Permission, can, require
from qa.services.audit import record
from qa.services.knowledge import BASIS_MAX
from qa.services.questions import validate_text
from qa.timeutil import format_china, utcnow

NOTE_MAX = 5000
GENERIC_ORG = {1: "最高人民检察院", 2: "某省级人民检察院", 3: "某市级人民检察院", 4: "某基层人民检察院"}

# PII checks ---------------------------------------------------------------------------------

ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)")
# Common surnames, less those that mostly begin ordinary legal words (查明, 应当, 管辖, 明知 …).
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常温康施牛樊葛邢乔伍庞颜倪庄聂章鲁岳翟殷詹"
    "欧耿兰焦俞柳甘祝舒阮柯梅童凌裴霍涂苗谷翁冉骆蓝辛靳柴蒙鲍喻祁蒲滕饶牟艾尤穆卓古吉缪芦麦褚娄窦戚岑卜晏席米柏宗瞿桂佟臧闵苟"
    "邬卞姬仇栾隋刁沙荣巫寇桑郎甄丛虞敖巩佘池麻苑邝"
)
# Party roles after which a real name is likely: 被告人张三, 犯罪嫌疑人李某某 (the latter is fine).
ROLE_NAME = re.compile(
    r"(?:被告人|犯罪嫌疑人|被害人|当事人|证人|申请人|被申请人|原告|被告|上诉人|被上诉人|申诉人|罪犯|嫌疑人|被执行人)"
    r"([\u4e00-\u9fa5]{2,3})")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class PiiWarning:
    kind: str  # id_card | phone | name
    text: str

    @property
    def message(self) -> str:
        label = {"id_card": "疑似身份证号", "phone": "疑似电话号码", "name": "疑似人名"}[self.kind]
        return f"{label}：{self.text}"


def _id_card_valid(number: str) -> bool:
    if len(number) == 15:  # old numbers carry no check digit: check the birth month and day (yymmdd)
        return "01" <= number[8:10] <= "12" and "01" <= number[10:12] <= "31"
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _looks_like_name(word: str) -> bool:
    return 2 <= len(word) <= 3 and word[0] in SURNAMES and "某" not in word and "甲" not in word[1:]


def pii_warnings(text: str, known_names=()) -> list[PiiWarning]:
    """ID-card numbers, phone numbers and personal names left in a text (heuristics; a person checks)."""
    found: list[PiiWarning] = []

    def add(kind: str, value: str) -> None:
        warning = PiiWarning(kind, value)
        if warning not in found:
            found.append(warning)

    for m in ID_CARD.finditer(text):
        if _id_card_valid(m.group(1)):
            add("id_card", m.group(1))
    for pattern in (MOBILE, LANDLINE):
        for m in pattern.finditer(text):
            if not any(w.kind == "id_card" and m.group(0) in w.text for w in found):
                add("phone", m.group(0))
    for name in known_names:
        if name and len(name) >= 2 and name in text:
            add("name", name)
    for m in ROLE_NAME.finditer(text):
        candidate = m.group(1)
        for size in (3, 2):
            if _looks_like_name(candidate[:size]) and not candidate[1:].startswith("某"):
                add("name", candidate[:size])
                break
    for word, flag in _person_words(text):
        if flag == "nr" and _looks_like_name(word):
            add("name", word)
    return found


def _person_words(text: str):
    import jieba.posseg

    for pair in jieba.posseg.cut(text):
        yield pair.word, pair.flag


# Batches ------------------------------------------------------------------------------------


def _require_admin(admin: User) -> None:
    require(can(admin, Permission.CURATE), "只有管理员可以编辑检答集萃。")


def _require_draft(batch: Batch) -> None:
    if batch.is_published:
        raise Conflict(f"{batch.label}已发布，编号和内容不再改动。")


def get_batch(batch_id: int) -> Batch:
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound("该批次不存在。")
    return batch


def get_item(item_id: int) -> BatchItem:
    item = db.session.get(BatchItem, item_id)
    if item is None:
        raise NotFound("该条目不存在。")
    return item


def create_batch(admin: User, title: str | None = "", editor_note: str | None = "") -> Batch:
    """A new draft batch; it gets its number 第N批 when published."""
    _require_admin(admin)
    title = (title or "").strip()[:120] if isinstance(title, str) else ""
    note = validate_note(editor_note)
    begin_write()
    batch = Batch(title=title, editor_note=note, created_by_id=admin.id)
    db.session.add(batch)
    record(admin, "batch.created", batch, title=title)
    db.session.commit()
    return batch


def validate_note(note) -> str:
    if note is not None and not isinstance(note, str):
        raise ValidationError("editor_note", "编者按格式不正确。")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError("editor_note", f"编者按不能超过 {NOTE_MAX} 个字。")
    return note


def update_batch(admin: User, batch: Batch, title: str | None, editor_note: str | None) -> Batch:
    _require_admin(admin)
    _require_draft(batch)
    title = (title or "").strip()[:120] if isinstance(title, str) else ""
    note = validate_note(editor_note)
    begin_write()
    batch.title, batch.editor_note = title, note
    record(admin, "batch.edited", batch, title=title)
    db.session.commit()
    return batch


def add_item(admin: User, batch: Batch, canonical: CanonicalAnswer) -> BatchItem:
    """Add a canonical answer in force as the next item; its texts are copied for editing."""
    _require_admin(admin)
    _require_draft(batch)
    if canonical.status != "in_force":
        raise ValidationError("canonical", "只有现行有效的权威答复可以编入集萃。")
    if any(i.canonical_id == canonical.id for i in batch.items):
        raise Conflict("该权威答复已在本批中。")
    begin_write()
    position = (max((i.position for i in batch.items), default=0)) + 1
    question = canonical.question
    item = BatchItem(batch=batch, canonical_id=canonical.id, position=position, title=canonical.display_title,
                     question_md=question.body_md, answer_md=canonical.text_md, legal_basis=canonical.legal_basis)
    db.session.add(item)
    record(admin, "batch.item_added", batch, question=question, canonical_id=canonical.id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("该权威答复已在本批中。") from None
    return item


def remove_item(admin: User, item: BatchItem) -> None:
    _require_admin(admin)
    batch = item.batch
    _require_draft(batch)
    begin_write()
    record(admin, "batch.item_removed", batch, canonical_id=item.canonical_id)
    batch.items.remove(item)
    db.session.commit()


def move_item(admin: User, item: BatchItem, step: int) -> None:
    """Move an item up (-1) or down (+1) in a draft."""
    _require_admin(admin)
    batch = item.batch
    _require_draft(batch)
    items = list(batch.items)
    index = items.index(item)
    other = index + (1 if step > 0 else -1)
    if not 0 <= other < len(items):
        return
    begin_write()
    items[index].position, items[other].position = items[other].position, items[index].position
    record(admin, "batch.item_moved", batch, canonical_id=item.canonical_id, step=1 if step > 0 else -1)
    db.session.commit()


def edit_item(admin: User, item: BatchItem, *, title: str, question_md: str, answer_md: str,
              legal_basis: str | None = "") -> BatchItem:
    """Edit an item's texts before publishing (de-identification by hand)."""
    _require_admin(admin)
    _require_draft(item.batch)
    cfg = current_app.config
    title = validate_text(title, "title", "标题", cfg["QA_TITLE_MAX"])
    question_md = validate_text(question_md, "question_md", "问题", cfg["QA_BODY_MAX"])
    answer_md = validate_text(answer_md, "answer_md", "答复", cfg["QA_BODY_MAX"])
    basis = (legal_basis or "").strip() if isinstance(legal_basis, str) else ""
    if len(basis) > BASIS_MAX:
        raise ValidationError("legal_basis", f"法律依据不能超过 {BASIS_MAX} 个字。")
    begin_write()
    item.title, item.question_md, item.answer_md, item.legal_basis = title, question_md, answer_md, basis
    record(admin, "batch.item_edited", item.batch, canonical_id=item.canonical_id)
    db.session.commit()
    return item


def _org_variants(org) -> list[str]:
    """Ways a procuratorate's name appears in a text: 北京市朝阳区人民检察院, 朝阳区人民检察院, 朝阳区院…"""
    names = {org.name}
    short = re.sub(r"^.+?(省|自治区|市)(?=.+(市|区|县|州|盟|旗))", "", org.name)
    names.add(short)
    for name in list(names):
        if name.endswith("人民检察院"):
            names.add(name[: -len("人民检察院")] + "检察院")
            names.add(name[: -len("人民检察院")] + "院")
    return sorted((n for n in names if len(n) >= 3), key=len, reverse=True)


def deidentification_map(item: BatchItem) -> dict[str, str]:
    """Replacements for the asker's name and procuratorate (the people and units who asked)."""
    question = item.canonical.question
    asker = question.asker
    generic = GENERIC_ORG.get(question.org.level, "某人民检察院")
    replacements = {variant: generic for variant in _org_variants(question.org)}
    replacements[asker.name] = "某检察官"
    replacements[question.number] = "（编号略）"
    return replacements


def deidentify_item(admin: User, item: BatchItem) -> int:
    """Replace the asker's name and unit in an item's texts; returns how many replacements were made."""
    _require_admin(admin)
    _require_draft(item.batch)
    replacements = deidentification_map(item)
    pattern = re.compile("|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True)))
    count = 0

    def sub(text: str) -> str:
        nonlocal count
        result, n = pattern.subn(lambda m: replacements[m.group(0)], text)
        count += n
        return result

    begin_write()
    item.title, item.question_md = sub(item.title), sub(item.question_md)
    item.answer_md, item.legal_basis = sub(item.answer_md), sub(item.legal_basis)
    item.deidentified = True
    record(admin, "batch.item_deidentified", item.batch, canonical_id=item.canonical_id, replacements=count)
    db.session.commit()
    return count


def item_warnings(item: BatchItem) -> list[PiiWarning]:
    question = item.canonical.question
    known = {question.asker.name}
    known.update(a.author.name for a in question.answers)
    text = "\n".join((item.title, item.question_md, item.answer_md, item.legal_basis))
    return pii_warnings(text, known)


def batch_warnings(batch: Batch) -> dict[int, list[PiiWarning]]:
    return {item.id: w for item in batch.items if (w := item_warnings(item))}


def publish_batch(admin: User, batch: Batch, accept_warnings: bool = False) -> Batch:
    """Publish: the batch gets the next number 第N批 and its items 问题1…K in their order, for good.

    Raises ValidationError when the batch is empty or personal information may be left in (unless
    the editor has checked and accepts the warnings), Conflict when already published.
    """
    _require_admin(admin)
    _require_draft(batch)
    if not batch.items:
        raise ValidationError("items", "本批尚无条目，不能发布。")
    warnings = batch_warnings(batch)
    if warnings and not accept_warnings:
        total = sum(len(w) for w in warnings.values())
        raise ValidationError("accept_warnings", f"仍有 {total} 处疑似个人信息（身份证号、电话号码或人名），"
                                                 "请去标识化，或核对无误后勾选确认再发布。")
    begin_write()
    number = (db.session.execute(db.select(func.max(Batch.number))).scalar() or 0) + 1
    now = utcnow()
    batch.number, batch.status, batch.published_at, batch.published_by_id = number, "published", now, admin.id
    for k, item in enumerate(sorted(batch.items, key=lambda i: i.position), start=1):
        item.number = k
    record(admin, "batch.published", batch, number=number, items=len(batch.items),
           accepted_warnings=sum(len(w) for w in warnings.values()))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("另一批次刚刚发布，请重试。") from None
    return batch


def correct_item(admin: User, item: BatchItem, *, answer_md, legal_basis, note) -> BatchCorrection:
    """勘误: publish a correction of a published item (version 1, 2 …) with a note saying what changed.

    The numbering and the published text stay (the citation 「第N批·问题K」 still holds, the text
    reads as superseded); the correction is in force from now. Raises Conflict for a draft (edit
    it instead), ValidationError for an empty note or text, or a text that changes nothing.
    """
    _require_admin(admin)
    if not item.batch.is_published:
        raise Conflict("草稿批次的条目请直接编辑，发布后才需要勘误。")
    answer_md = validate_text(answer_md, "answer_md", "更正后的答复", current_app.config["QA_BODY_MAX"])
    basis = (legal_basis or "").strip() if isinstance(legal_basis, str) else ""
    if len(basis) > BASIS_MAX:
        raise ValidationError("legal_basis", f"法律依据不能超过 {BASIS_MAX} 个字。")
    note = validate_text(note, "note", "勘误说明", NOTE_MAX)
    if answer_md == item.current_answer_md.strip() and basis == item.current_legal_basis.strip():
        raise ValidationError("answer_md", "更正后的答复和法律依据与现行文本相同，无需勘误。")
    begin_write()
    version = (db.session.execute(db.select(func.max(BatchCorrection.version)).filter_by(item_id=item.id)).scalar()
               or 0) + 1
    correction = BatchCorrection(item=item, version=version, answer_md=answer_md, legal_basis=basis, note=note,
                                 created_by_id=admin.id, created_at=utcnow())
    db.session.add(correction)
    record(admin, "batch.item_corrected", item.batch, item_id=item.id, citation=item.citation, version=version,
           note=note)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("该条目刚刚有另一项勘误发布，请刷新后重试。") from None
    return correction


def export_markdown(batch: Batch) -> str:
    """The batch as Markdown, ready for the newspaper or training material."""
    lines = [f"# {batch.label}" + (f"：{batch.title}" if batch.title else ""), ""]
    if batch.published_at:
        lines += [f"发布日期：{format_china(batch.published_at, with_time=False)}", ""]
    if batch.editor_note:
        lines += ["## 编者按", "", batch.editor_note, ""]
    for k, item in enumerate(batch.items, start=1):
        number = item.number or k
        lines += [f"## 问题{number}：{item.title}", "", "**问：**", "", item.question_md, "", "**答：**", "",
                  item.current_answer_md, ""]
        if item.current_legal_basis:
            lines += ["**法律依据：**", "", item.current_legal_basis, ""]
        for c in item.corrections:
            lines += [f"（勘误{c.version}，{format_china(c.created_at, with_time=False)}：{c.note}）", ""]
        if item.citation:
            lines += [f"（引用：「{item.citation}」）", ""]
    return "\n".join(lines).rstrip() + "\n"
