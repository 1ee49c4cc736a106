"""Procuratorate tree queries."""
from __future__ import annotations

from sqlalchemy import select

from qa.extensions import db
from qa.models import Procuratorate


def subtree_ids(org: Procuratorate) -> list[int]:
    """Ids of `org` and every procuratorate below it (a recursive query, same on both databases)."""
    tree = select(Procuratorate.id).where(Procuratorate.id == org.id).cte("tree", recursive=True)
    tree = tree.union_all(select(Procuratorate.id).where(Procuratorate.parent_id == tree.c.id))
    return list(db.session.execute(select(tree.c.id)).scalars())
