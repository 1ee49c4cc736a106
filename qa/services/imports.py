"""Bulk onboarding from CSV: procuratorates and users, all or nothing per file, idempotent."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import selectinload

from qa.errors import ServiceError
from qa.extensions import begin_write, db
from qa.models import Procuratorate, User
from qa.permissions import Permission, can, require
from qa.services.accounts import create_user, update_user
from qa.services.audit import record

ORG_COLUMNS = ("code", "name", "level", "parent_code")
USER_COLUMNS = ("username", "name", "org_code", "roles", "specialities")
ORG_CODE_RE = re.compile(r"^[0-9A-Za-z]{1,12}$")
ORG_NAME_MAX = 100
LIST_SPLIT = re.compile(r"[;；]")
_CHUNK = 500  # bound parameters per IN (...) query
Progress = Callable[[int, int], None]  # (rows written so far, rows in all): the CLI draws a bar


@dataclass
class ImportReport:
    """What an import did (or, with errors, would have done: nothing is changed then)."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (file line, message)


@dataclass
class _Row:
    line: int
    values: dict[str, str]


def _read_rows(text: str, columns: tuple[str, ...], report: ImportReport) -> list[_Row] | None:
    """Parse CSV text into rows keyed by column; None when there is nothing to import.

    Header problems and rows with the wrong number of cells go to the report (such rows are
    left out; the other rows are still checked, so one run reports every bad line). Line numbers
    are the file's own: the header is line 1, a quoted field spanning lines counts from the line
    where its row starts, blank lines are skipped but counted.
    """
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = _numbered(reader)
    first = next(rows, None)
    if first is None:
        report.errors.append((1, f"文件为空：第 1 行须为表头 {','.join(columns)}。"))
        return None
    header_line, header = first
    header = [h.strip().lower() for h in header]
    missing = [c for c in columns if c not in header]
    unknown = [h for h in header if h and h not in columns]
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    problems = []
    if missing:
        problems.append(f"缺少列 {', '.join(missing)}")
    if unknown:
        problems.append(f"无法识别的列 {', '.join(unknown)}")
    if duplicated:
        problems.append(f"重复的列 {', '.join(duplicated)}")
    if problems:
        report.errors.append(
            (header_line, f"表头有误：{'；'.join(problems)}。表头应为 {','.join(columns)}。")
        )
        return None
    index = {name: header.index(name) for name in columns}
    parsed = []
    for line, cells in rows:
        if len(cells) != len(header):
            report.errors.append((line, f"列数不对：应为 {len(header)} 列，实为 {len(cells)} 列。"))
            continue
        parsed.append(_Row(line, {name: cells[i].strip() for name, i in index.items()}))
    if not parsed and not report.errors:
        report.errors.append((header_line, "文件中除表头外没有数据行。"))
        return None
    return parsed


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for each non-blank CSV row."""
    previous_end = 0
    for cells in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        yield start, cells


def _check_actor(actor) -> None:
    # actor None is the command line, run by whoever operates the server.
    if actor is not None:
        require(can(actor, Permission.ADMINISTER), "只有管理员可以批量导入。")


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in LIST_SPLIT.split(value or "") if v.strip()]


def _finish(actor, report: ImportReport) -> ImportReport:
    """Commit with one summary audit event, or roll everything back when any row failed."""
    if report.errors:
        db.session.rollback()
        report.errors.sort(key=lambda e: e[0])
        return report
    record(actor, f"import.{report.kind}", report, created=report.created, updated=report.updated,
           unchanged=report.unchanged)
    db.session.commit()
    return report


# Procuratorates ----------------------------------------------------------------------------


@dataclass
class _OrgSpec:
    """A procuratorate as it will be after the import (from the file, or as it is in the database)."""

    code: str
    name: str
    level: int
    parent_code: str | None
    line: int | None = None  # None: in the database and not in the file


def import_orgs_csv(actor, text: str, progress: Progress | None = None) -> ImportReport:
    """Create or update procuratorates from CSV `code,name,level,parent_code`.

    A parent may be defined anywhere in the same file or already exist. The tree that results
    (file and database together) must have one root at level 1, every other procuratorate below
    a parent of a higher level (normally parent level + 1), and no cycles. With any error nothing
    is changed and the report lists every rejected line. Raises PermissionDenied for non-admins.
    """
    _check_actor(actor)
    report = ImportReport("orgs")
    rows = _read_rows(text, ORG_COLUMNS, report)
    if rows is None:
        return report

    begin_write()
    existing = {o.code: o for o in db.session.execute(db.select(Procuratorate)).scalars()}
    specs: dict[str, _OrgSpec] = {
        o.code: _OrgSpec(o.code, o.name, o.level, o.parent.code if o.parent is not None else None)
        for o in existing.values()
    }
    from_file: dict[str, _OrgSpec] = {}
    rejected: dict[str, int] = {}  # code -> line of a row that failed its own checks
    for row in rows:
        spec = _parse_org_row(row, from_file, rejected, report)
        if spec is not None:
            from_file[spec.code] = spec
    specs.update(from_file)
    _check_tree(specs, from_file, rejected, report)
    if report.errors:
        return _finish(actor, report)

    # Parents are always at a higher level, so creating by level puts parents first.
    for done, spec in enumerate(sorted(from_file.values(), key=lambda s: (s.level, s.line)), 1):
        if progress is not None:
            progress(done, len(from_file))
        parent = existing.get(spec.parent_code) if spec.parent_code else None
        org = existing.get(spec.code)
        if org is None:
            org = Procuratorate(code=spec.code, name=spec.name, level=spec.level, parent=parent)
            db.session.add(org)
            existing[spec.code] = org
            record(actor, "org.created", org, code=spec.code, name=spec.name, level=spec.level,
                   parent=spec.parent_code)
            report.created += 1
            continue
        changes = {}
        if org.name != spec.name:
            changes["name"] = [org.name, spec.name]
            org.name = spec.name
        if org.level != spec.level:
            changes["level"] = [org.level, spec.level]
            org.level = spec.level
        old_parent = org.parent.code if org.parent is not None else None
        if old_parent != spec.parent_code:
            changes["parent"] = [old_parent, spec.parent_code]
            org.parent = parent
        if changes:
            record(actor, "org.updated", org, code=spec.code, changes=changes)
            report.updated += 1
        else:
            report.unchanged += 1
    return _finish(actor, report)


def _parse_org_row(row: _Row, seen: dict[str, _OrgSpec], rejected: dict[str, int],
                   report: ImportReport) -> _OrgSpec | None:
    """The row as a procuratorate, or None (with the row's problems reported)."""
    v = row.values
    problems = []
    code, name, parent = v["code"], v["name"], v["parent_code"] or None
    if not ORG_CODE_RE.match(code):
        problems.append(f"单位代码“{code}”须为 1–12 位字母或数字")
    elif code in seen or code in rejected:
        first = seen[code].line if code in seen else rejected[code]
        problems.append(f"单位代码 {code} 与第 {first} 行重复")
    if not name:
        problems.append("请填写单位名称")
    elif len(name) > ORG_NAME_MAX:
        problems.append(f"单位名称不能超过 {ORG_NAME_MAX} 个字")
    level = int(v["level"]) if v["level"].isdigit() else None
    if level is None or not 1 <= level <= 4:
        problems.append(f"级别“{v['level']}”须为 1–4 的整数（1 最高人民检察院，2 省级院，3 市级院/分院，4 基层院）")
    elif level == 1 and parent:
        problems.append("1 级单位（最高人民检察院）不能有上级单位")
    elif level > 1 and not parent:
        problems.append(f"{level} 级单位须填写上级单位代码 parent_code")
    if parent and not ORG_CODE_RE.match(parent):
        problems.append(f"上级单位代码“{parent}”须为 1–12 位字母或数字")
    if problems:
        report.errors.append((row.line, "；".join(problems) + "。"))
        if ORG_CODE_RE.match(code) and code not in seen and code not in rejected:
            rejected[code] = row.line  # rows naming it as their parent are told where to look
        return None
    return _OrgSpec(code, name, level, parent, row.line)


def _check_tree(specs: dict[str, _OrgSpec], from_file: dict[str, _OrgSpec], rejected: dict[str, int],
                report: ImportReport) -> None:
    """Roots, unknown parents, cycles and levels of the tree as it will be after the import."""
    roots = [s for s in specs.values() if s.level == 1]
    if len(roots) > 1:
        names = "、".join(f"{s.code} {s.name}" for s in roots)
        for s in roots:
            if s.line is not None:
                report.errors.append((s.line, f"只能有一个 1 级单位（最高人民检察院），现有：{names}。"))
    for spec in from_file.values():
        if spec.parent_code is None:
            continue
        if spec.parent_code in rejected and spec.parent_code not in specs:
            report.errors.append(
                (spec.line, f"上级单位 {spec.parent_code} 所在的第 {rejected[spec.parent_code]} 行有误。")
            )
            continue
        parent = specs.get(spec.parent_code)
        if parent is None:
            report.errors.append((spec.line, f"上级单位代码 {spec.parent_code} 不存在（文件和系统中都没有）。"))
            continue
        cycle = _cycle_from(spec.code, specs)
        if cycle:
            report.errors.append((spec.line, f"上级单位关系形成循环：{' → '.join(cycle)}。"))
            continue
        if parent.level >= spec.level:
            report.errors.append(
                (spec.line, f"级别 {spec.level} 须低于上级单位 {parent.code}（{parent.level} 级）的级别。")
            )
    # A procuratorate changed by the file must stay above its children that the file leaves alone.
    children: dict[str, list[_OrgSpec]] = {}
    for s in specs.values():
        if s.parent_code:
            children.setdefault(s.parent_code, []).append(s)
    for spec in from_file.values():
        blocked = [c for c in children.get(spec.code, ()) if c.line is None and c.level <= spec.level]
        if blocked:
            names = "、".join(f"{c.code} {c.name}（{c.level} 级）" for c in blocked[:3])
            more = f"等 {len(blocked)} 个" if len(blocked) > 3 else ""
            report.errors.append(
                (spec.line, f"系统中的下级单位 {names}{more}不在本文件中，本单位级别须高于它们（当前填写 {spec.level} 级）。")
            )


def _cycle_from(code: str, specs: dict[str, _OrgSpec]) -> list[str] | None:
    """The chain of codes when following parents from `code` comes back to it, else None."""
    chain, seen, current = [code], {code}, specs[code].parent_code
    while current is not None and current in specs:
        chain.append(current)
        if current == code:
            return chain
        if current in seen:
            return None  # a cycle further up, reported on its own rows
        seen.add(current)
        current = specs[current].parent_code
    return None


# Users -------------------------------------------------------------------------------------


def import_users_csv(actor, text: str, progress: Progress | None = None) -> ImportReport:
    """Create or update users from CSV `username,name,org_code,roles,specialities`.

    Roles and specialities are `;`-separated (role codes expert, moderator, admin; business line
    codes). Rows go through create_user / update_user, so the rules are the same as for one
    account; new accounts get no password (an admin sets one). A user is counted as updated only
    when something changed. With any error nothing is changed. Raises PermissionDenied for
    non-admins.
    """
    _check_actor(actor)
    report = ImportReport("users")
    rows = _read_rows(text, USER_COLUMNS, report)
    if rows is None:
        return report

    begin_write()
    usernames = list({r.values["username"] for r in rows})
    users: dict[str, User] = {}
    for i in range(0, len(usernames), _CHUNK):
        stmt = (db.select(User).where(User.username.in_(usernames[i:i + _CHUNK]))
                .options(selectinload(User.role_rows), selectinload(User.speciality_rows)))
        users.update({u.username: u for u in db.session.execute(stmt).scalars()})

    org_ids = {code: id_ for code, id_ in db.session.execute(db.select(Procuratorate.code, Procuratorate.id))}
    first_line: dict[str, int] = {}
    # The services' look-ups need not flush the previous row first (duplicates are caught above),
    # which halves the number of flushes; each audit event still flushes its own row.
    with db.session.no_autoflush:
        for done, row in enumerate(rows, 1):
            _import_user_row(actor, row, users, org_ids, first_line, report)
            if progress is not None:
                progress(done, len(rows))
    return _finish(actor, report)


def _import_user_row(actor, row: _Row, users: dict[str, User], org_ids: dict[str, int],
                     first_line: dict[str, int], report: ImportReport) -> None:
    v = row.values
    username = v["username"]
    if username in first_line:
        report.errors.append((row.line, f"用户名 {username} 与第 {first_line[username]} 行重复。"))
        return
    first_line[username] = row.line
    roles, specialities = _split_list(v["roles"]), _split_list(v["specialities"])
    try:
        user = users.get(username)
        if user is None:
            create_user(actor, username=username, name=v["name"], org_code=v["org_code"],
                        roles=roles, specialities=specialities, password=None, commit=False)
            report.created += 1
            return
        before = _user_state(user)
        wanted = (v["name"], org_ids.get(v["org_code"]), frozenset(roles) | {"asker"}, frozenset(specialities))
        if wanted == before:
            report.unchanged += 1  # a re-run: nothing to check or write
            return
        update_user(actor, user, name=v["name"], org_code=v["org_code"], roles=roles,
                    specialities=specialities, commit=False)
    except ServiceError as error:
        report.errors.append((row.line, error.message))
        return
    if _user_state(user) != before:
        report.updated += 1
    else:
        report.unchanged += 1


def _user_state(user: User) -> tuple:
    return user.name, user.org_id, frozenset(user.roles), frozenset(user.specialities)
