"""Statute texts: `flask import laws DIR` (Markdown, one file per law) and article look-ups."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select

from qa.extensions import db
from qa.models import Citation, Law, LawArticle, Question
from qa.search.citations import article_label, chinese_number, normalize_law

ARTICLE_RE = re.compile(r"^第([零〇一二两三四五六七八九十百千]+)条(?:之([一二三四五六七八九十]+))?[\s　]*(.*)$")
VERSION_RE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)$")


@dataclass
class LawImportReport:
    laws: int = 0
    articles: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def parse_law_file(path: Path) -> tuple[str, str, list[tuple[int, int, str, str]]]:
    """(title, version, [(number, sub, chapter, text)]) from one Markdown statute file."""
    text = path.read_text(encoding="utf-8")
    title_match = re.search(r"^#\s+(.+)$", text, re.M)
    title = title_match.group(1).strip() if title_match else path.stem
    version_match = VERSION_RE.search(path.stem)
    version = version_match.group(1) if version_match else ""
    body = text.split("<!-- INFO END -->", 1)[1] if "<!-- INFO END -->" in text else text
    articles: list[tuple[int, int, str, list[str]]] = []
    chapter = ""
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            chapter = line.lstrip("#").strip()
            continue
        match = ARTICLE_RE.match(line)
        if match:
            number = chinese_number(match.group(1))
            sub = chinese_number(match.group(2)) if match.group(2) else 0
            if number:
                articles.append((number, sub or 0, chapter, [match.group(3).strip()]))
                continue
        if articles and not line.startswith(("<!--", "|")):
            articles[-1][3].append(line)
    seen: dict[tuple[int, int], tuple[int, int, str, str]] = {}
    for number, sub, chap, paragraphs in articles:
        seen.setdefault((number, sub), (number, sub, chap[:200], "\n".join(p for p in paragraphs if p)))
    return title, version, list(seen.values())


def _rank(version: str) -> str:
    """A file without a date is the consolidated current text: it ranks above dated versions."""
    return version or "9999-99-99"


def import_laws(folder: Path, progress: Callable[[int], None] | None = None) -> LawImportReport:
    """Load every law file under the folder; the newest version of a law wins. Idempotent."""
    report = LawImportReport()
    files = sorted(p for p in Path(folder).rglob("*.md") if not p.name.startswith(("_", "README")))
    for path in files:
        try:
            title, version, articles = parse_law_file(path)
        except (OSError, UnicodeDecodeError) as error:
            report.errors.append(f"{path.name}：无法读取（{error}）")
            continue
        if progress:
            progress(1)
        if not articles:
            continue
        name = normalize_law(title)[:120]
        law = db.session.execute(select(Law).filter_by(name=name)).scalar_one_or_none()
        if law is not None and _rank(version) <= _rank(law.version):
            report.unchanged += 1  # the same or an older version of a law already loaded
            continue
        if law is None:
            law = Law(name=name, title=title[:200], version=version, group=path.parent.name[:40])
            db.session.add(law)
        else:
            db.session.execute(delete(LawArticle).where(LawArticle.law_id == law.id))
            law.title, law.version, law.group = title[:200], version, path.parent.name[:40]
        db.session.flush()
        db.session.add_all(LawArticle(law_id=law.id, number=n, sub=s, label=article_label(n, s), chapter=c, text=t)
                           for n, s, c, t in articles)
        report.laws += 1
        report.articles += len(articles)
    db.session.commit()
    return report


def get_article(law_name: str, number: int, sub: int = 0) -> tuple[Law | None, LawArticle | None]:
    law = db.session.execute(select(Law).filter_by(name=law_name)).scalar_one_or_none()
    if law is None:
        return None, None
    article = db.session.execute(
        select(LawArticle).filter_by(law_id=law.id, number=number, sub=sub)
    ).scalar_one_or_none()
    return law, article


def citing_questions(law_name: str, number: int, sub: int = 0, limit: int = 100) -> list[Question]:
    """Threads citing the article (in the question, a supplement, an answer or a canonical text)."""
    ids = select(Citation.question_id).where(Citation.law == law_name, Citation.article == number,
                                             Citation.sub == sub).distinct()
    return list(db.session.execute(
        select(Question).where(Question.id.in_(ids)).order_by(Question.id.desc()).limit(limit)
    ).scalars())


def citation_count(law_name: str, number: int, sub: int = 0) -> int:
    return db.session.execute(
        select(func.count(func.distinct(Citation.question_id))).where(
            Citation.law == law_name, Citation.article == number, Citation.sub == sub)
    ).scalar_one()
