"""One effect per submission (RELIABILITY.md R03/R04, S18).

The ask, answer and supplement forms carry a one-time key, and API clients may send an `Idempotency-Key` header.
A double click, a browser resubmission or a client retrying after a dropped connection sends the same
key again and gets the first result back instead of a second question or answer. A unique index on
(author, key) settles two copies arriving at the same moment.
"""
from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from qa.errors import ValidationError
from qa.extensions import db

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def check_key(key) -> str | None:
    """None when absent; the key itself when well formed; ValidationError otherwise (an empty key too)."""
    if key is None:
        return None
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValidationError("submission_key", "提交标识无效（应为 16–64 位字母、数字、下划线或连字符），请刷新页面后重新提交。")
    return key


def earlier(model, owner_id: int, key: str | None):
    """The row an earlier submission with this key created, if any (Question, Answer or Supplement)."""
    if key is None:
        return None
    owner = model.asker_id if hasattr(model, "asker_id") else model.author_id
    return db.session.execute(
        db.select(model).where(owner == owner_id, model.submission_key == key)).scalar_one_or_none()


def commit_or_earlier(model, owner_id: int, key: str | None):
    """Commit the new row; if a concurrent copy with the same key committed first, roll back and
    return that copy's row instead (None when this commit went through)."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        row = earlier(model, owner_id, key)
        if row is None:
            raise
        return row
    return None
