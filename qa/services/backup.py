"""Backups: a consistent snapshot of the database plus a manifest, and restoring one into an empty database.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a transactionally consistent
snapshot while the application keeps writing; the copy is checked with `PRAGMA integrity_check`
and the manifest's counts are read from the copy itself. PostgreSQL: `pg_dump -Fc` of the current
schema, run on a snapshot exported from the transaction that counts the rows, so the manifest
describes exactly what was dumped. The search index is not backed up: after a restore the
operator runs `flask search rebuild`.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text

from qa.errors import ServiceError
from qa.extensions import db

COUNTED = ("question", "answer", "audit_event")
# A database holding any of these rows is "in use": restoring over it needs --force.
IN_USE = ("user_account", "question")


class BackupError(ServiceError):
    status = 409
    code = "backup_failed"


@dataclass
class Manifest:
    created_at: str
    database: str  # sqlite | postgresql
    file: str
    questions: int
    answers: int
    audit_events: int
    audit_head: str | None  # "id:row_hash" of the newest audit row (an anchor for `audit verify`)
    integrity: str = "ok"

    @property
    def counts(self) -> dict[str, int]:
        return {"questions": self.questions, "answers": self.answers, "audit_events": self.audit_events}


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_manifest(path: Path) -> Manifest | None:
    side = manifest_path(path)
    return Manifest(**json.loads(side.read_text(encoding="utf-8"))) if side.exists() else None


def _dialect() -> str:
    return db.engine.dialect.name


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份。")
    return Path(database)


def _counts_and_head(execute) -> tuple[dict[str, int], str | None]:
    counts = [execute(f"SELECT count(*) FROM {table}")[0][0] for table in COUNTED]
    head = execute("SELECT id, row_hash FROM audit_event ORDER BY id DESC LIMIT 1")
    return dict(zip(("questions", "answers", "audit_events"), counts, strict=True)), \
        (f"{head[0][0]}:{head[0][1]}" if head else None)


def _sqlite_facts(conn: sqlite3.Connection) -> tuple[str, dict[str, int], str | None]:
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    counts, head = _counts_and_head(lambda sql: conn.execute(sql).fetchall())
    return integrity, counts, head


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _pg_url() -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(f"找不到 {name}（PostgreSQL 客户端工具）。请安装 postgresql-client 后重试。"
                          f" / {name} not found: install the PostgreSQL client tools.")
    return tool


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} 失败：{done.stderr.strip()[-800:]}")


def create_backup(dest_dir: Path) -> tuple[Path, Manifest]:
    """Write a timestamped backup file and its manifest (<file>.json) into dest_dir."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = _timestamp()
    if _dialect() == "sqlite":
        source_path = _sqlite_path()
        target = dest_dir / f"jianda-{stamp}.sqlite3"
        partial = target.with_name(target.name + ".partial")
        source = sqlite3.connect(source_path)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # a consistent snapshot, even while the application writes
            integrity, counts, head = _sqlite_facts(copy)
        finally:
            copy.close()
            source.close()
        if integrity != "ok":
            partial.unlink(missing_ok=True)
            raise BackupError(f"备份副本完整性检查失败：{integrity}")
        partial.replace(target)
        database = "sqlite"
    else:
        pg_dump = _pg_tool("pg_dump")
        target = dest_dir / f"jianda-{stamp}.dump"
        partial = target.with_name(target.name + ".partial")
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
                schema = conn.execute(text("SELECT current_schema()")).scalar()
                counts, head = _counts_and_head(lambda sql: conn.execute(text(sql)).all())
                args = [pg_dump, "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(partial)]
                if schema != "public":
                    args += ["-n", schema]
                try:
                    _run(args + ["-d", _pg_url()])
                except BackupError:
                    partial.unlink(missing_ok=True)
                    raise
        partial.replace(target)
        database, integrity = "postgresql", "ok"
    manifest = Manifest(created_at=datetime.now(UTC).isoformat(timespec="seconds"), database=database,
                        file=target.name, audit_head=head, integrity=integrity, **counts)
    manifest_path(target).write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), encoding="utf-8")
    return target, manifest


def database_in_use() -> bool:
    """True when the configured database already holds users or questions."""
    with db.engine.connect() as conn:
        for table in IN_USE:
            if not inspect(conn).has_table(table):
                continue
            if conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None:
                return True
    return False


def current_counts() -> tuple[dict[str, int], str | None]:
    with db.engine.connect() as conn:
        return _counts_and_head(lambda sql: conn.execute(text(sql)).all())


def restore_backup(path: Path, force: bool = False) -> tuple[dict[str, int], Manifest | None]:
    """Restore a backup into the configured database; refuses a database in use unless force."""
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    manifest = read_manifest(path)
    sqlite_file = path.suffix == ".sqlite3" or (manifest is not None and manifest.database == "sqlite")
    if sqlite_file != (_dialect() == "sqlite"):
        raise BackupError("备份文件与当前配置的数据库类型不符（SQLite 备份只能恢复到 SQLite，PostgreSQL 亦然）。")
    if database_in_use() and not force:
        raise BackupError("目标数据库中已有数据，未做任何更改。确需覆盖时请加 --force。")
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the old database open
    if sqlite_file:
        backup = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            try:
                integrity = backup.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as error:
                integrity = str(error)
            if integrity != "ok":
                raise BackupError(f"备份文件已损坏（integrity_check：{integrity}），未做任何更改。")
            target = sqlite3.connect(_sqlite_path())
            try:
                backup.backup(target)  # page by page, in one transaction; replaces the contents
                integrity = target.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                target.close()
        finally:
            backup.close()
        if integrity != "ok":
            raise BackupError(f"恢复后的数据库完整性检查失败：{integrity}")
    else:
        pg_restore = _pg_tool("pg_restore")
        _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--single-transaction",
              "-d", _pg_url(), str(path)])
    counts, _head = current_counts()
    if manifest is not None and counts != manifest.counts:
        raise BackupError(f"恢复后的行数与清单不符：恢复后 {counts}，清单 {manifest.counts}。")
    return counts, manifest
