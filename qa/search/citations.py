"""Statute citations: recognise them in their common spellings, normalize, store, and link them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup, escape

from qa.search.analysis import DATA_DIR

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
NUM = r"[0-9０-９]+|[零〇一二两三四五六七八九十百千]+"
ARTICLE = rf"第\s*(?P<num>{NUM})\s*条(?:\s*之\s*(?P<sub>[0-9一二三四五六七八九十]+))?"
BARE_ARTICLE = r"第?\s*(?P<num>[0-9０-９]+)\s*条(?:\s*之\s*(?P<sub>[0-9一二三四五六七八九十]+))?"
# After the first article: 第二款、第三项 are skipped; 、 和 及 或者 join further articles of the same law.
CLAUSES = rf"(?:\s*第\s*(?:{NUM})\s*[款项])*"
MORE = re.compile(rf"{CLAUSES}\s*(?:、|，|,|和|及|以及|或者|或|与)\s*{ARTICLE}")
DATE_SUFFIX = re.compile(r"[（(]\s*\d{4}[-年.]\S*?[）)]$")
MAX_TITLE = 300  # characters of an article's text shown in a link's tooltip


def chinese_number(text: str) -> int | None:
    """二百六十四 → 264, 一百三十三 → 133, 十 → 10, 264 / ２６４ → 264; None if not a number."""
    text = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        elif ch in CN_UNITS:
            total += (current or 1) * CN_UNITS[ch]
            current = 0
        else:
            return None
    return total + current


def chinese_numeral(n: int) -> str:
    """264 → 二百六十四 (for article labels: 第二百六十四条)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    out = ""
    for unit, name in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, unit)
        if q:
            out += digits[q] + name
        elif out and n:
            out = out if out.endswith("零") else out + "零"
    if n:
        out += digits[n]
    return out


def article_label(number: int, sub: int = 0) -> str:
    return f"第{chinese_numeral(number)}条" + (f"之{chinese_numeral(sub)}" if sub else "")


@lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in (DATA_DIR / "statute_aliases.txt").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            alias, _, name = line.partition("=")
            table[alias.strip()] = name.strip()
    return table


def normalize_law(name: str) -> str:
    """《中华人民共和国刑法》 → 刑法; 刑诉法 → 刑事诉讼法; 人民检察院刑事诉讼规则(2019-12-02) → …规则."""
    name = name.strip().strip("《》").strip()
    name = DATE_SUFFIX.sub("", name).strip()
    if name.startswith("中华人民共和国"):
        name = name[len("中华人民共和国"):]
    return aliases().get(name, name)


@lru_cache(maxsize=1)
def _first_pattern() -> re.Pattern:
    bare = "|".join(re.escape(a) for a in sorted(aliases(), key=len, reverse=True))
    return re.compile(rf"(?:《(?P<book>[^《》\n]{{2,60}})》|(?P<bare>{bare}))\s*(?:的)?(?:规定)?\s*{ARTICLE}")


@dataclass(frozen=True)
class Cite:
    law: str
    article: int
    sub: int
    start: int
    end: int
    raw: str

    @property
    def key(self) -> str:
        """The index term: 刑法:264, 刑法:133-1."""
        return statute_key(self.law, self.article, self.sub)


def statute_key(law: str, article: int, sub: int = 0) -> str:
    return f"{law}:{article}" + (f"-{sub}" if sub else "")


def article_slug(article: int, sub: int = 0) -> str:
    return f"{article}" + (f"-{sub}" if sub else "")


def _number(match: re.Match) -> tuple[int | None, int]:
    number = chinese_number(match.group("num"))
    sub = chinese_number(match.group("sub")) if match.group("sub") else 0
    return number, sub or 0


def find_citations(text: str) -> list[Cite]:
    """Every cited article in the text, in order, with its span (a list 第264条、第267条 counts twice)."""
    found: list[Cite] = []
    for match in _first_pattern().finditer(text or ""):
        law = normalize_law(match.group("book") or match.group("bare"))
        number, sub = _number(match)
        if number:
            found.append(Cite(law, number, sub, match.start(), match.end(), match.group(0)))
        pos = match.end()
        while (more := MORE.match(text, pos)) is not None:
            number, sub = _number(more)
            art_start = text.rfind("第", more.start(), more.start("num") + 1)
            if number:
                found.append(Cite(law, number, sub, art_start, more.end(), text[art_start:more.end()]))
            pos = more.end()
    return found


FILTER = re.compile(rf"^(?P<law>.*?[^第\s\d])\s*第?\s*(?P<num>{NUM})\s*条?\s*"
                    rf"(?:(?:之|-)\s*(?P<sub>[0-9一二三四五六七八九十]+))?\s*$")


def parse_statute(value: str) -> tuple[str, int | None, int] | None:
    """A statute filter as typed (刑法264, 刑法第二百六十四条, 刑法133之一, 刑法133-1, 刑诉法) → (law, article, sub)."""
    value = (value or "").strip().strip("，,。")
    if not value:
        return None
    cites = find_citations(value)
    if cites and cites[0].start == 0:
        return cites[0].law, cites[0].article, cites[0].sub
    match = FILTER.match(value)
    if match:
        number, sub = _number(match)
        if number:
            return normalize_law(match.group("law")), number, sub
    return normalize_law(value), None, 0


# Storing -----------------------------------------------------------------------------------


def record_citations(question, source_type: str, source_id: int | None, text: str) -> None:
    """Store the normalized citations of one text in the caller's transaction (replacing earlier ones)."""
    from qa.extensions import db
    from qa.models import Citation

    if source_id is None or question.id is None:
        db.session.flush()
    db.session.execute(db.delete(Citation).where(Citation.source_type == source_type,
                                                 Citation.source_id == source_id))
    seen: set[tuple[str, int, int]] = set()
    for cite in find_citations(text):
        key = (cite.law, cite.article, cite.sub)
        if key in seen or len(cite.law) > 120:
            continue
        seen.add(key)
        db.session.add(Citation(question_id=question.id, source_type=source_type, source_id=source_id,
                                law=cite.law, article=cite.article, sub=cite.sub, raw=cite.raw[:200]))


def record_question_citations(question) -> None:
    record_citations(question, "question", question.id, f"{question.title}\n{question.body_md}")


# Links -------------------------------------------------------------------------------------

_TAG = re.compile(r"(<[^>]*>)")
_NO_LINK_INSIDE = ("a", "code", "pre")


def link_citations(html: str, article_text=None, url_for_article=None) -> Markup:
    """Wrap citations in already-sanitized HTML with links to their article pages.

    Only text between tags is touched, never inside <a>, <code> or <pre>; the inserted attributes
    are escaped. `article_text(law, number, sub)` gives the tooltip text (or None).
    """
    if url_for_article is None:
        from flask import url_for

        def url_for_article(law, number, sub):
            return url_for("search.article", law=law, article=article_slug(number, sub))

    parts = _TAG.split(str(html or ""))
    depth = 0
    out: list[str] = []
    for part in parts:
        if part.startswith("<"):
            name = part.strip("</ >").split()[0].lower() if part.strip("</ >") else ""
            if name in _NO_LINK_INSIDE:
                depth += -1 if part.startswith("</") else (0 if part.endswith("/>") else 1)
                depth = max(depth, 0)
            out.append(part)
            continue
        if depth or not part:
            out.append(part)
            continue
        cursor = 0
        for cite in find_citations(part):
            out.append(part[cursor:cite.start])
            title = article_text(cite.law, cite.article, cite.sub) if article_text else None
            label = f"《{cite.law}》{article_label(cite.article, cite.sub)}"
            tip = f"{label}　{title[:MAX_TITLE]}" if title else label
            out.append(f'<a class="statute-link" href="{escape(url_for_article(cite.law, cite.article, cite.sub))}"'
                       f' title="{escape(tip)}">{part[cite.start:cite.end]}</a>')
            cursor = cite.end
        out.append(part[cursor:])
    return Markup("".join(out))
