"""Reference data every installation needs (business lines)."""
from __future__ import annotations

from qa.extensions import db
from qa.models import CATEGORIES, Category


def sync_categories() -> int:
    """Insert missing business lines and refresh names; returns the number added. Idempotent."""
    existing = {c.code: c for c in db.session.execute(db.select(Category)).scalars()}
    added = 0
    # Parents first, so the foreign key to the parent line is satisfied.
    for position, (code, name, parent) in enumerate(CATEGORIES):
        category = existing.get(code)
        if category is None:
            db.session.add(Category(code=code, name=name, parent_code=parent, position=position))
            db.session.flush()
            added += 1
        else:
            category.name, category.parent_code, category.position = name, parent, position
    db.session.commit()
    return added
