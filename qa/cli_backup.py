"""Flask commands for backups (`backup create`, `backup restore`); the work is in qa/services/backup.py."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from qa.errors import ServiceError


def register(app: Flask) -> None:
    backup = click.Group("backup", help="Database backups: a consistent snapshot plus a manifest.")
    app.cli.add_command(backup)

    @backup.command("create")
    @click.option("--to", "dest", type=click.Path(file_okay=False),
                  help="Folder for the backup (default: instance/backups).")
    def create_command(dest):
        """Back up the database (SQLite: online backup API; PostgreSQL: pg_dump -Fc) with a manifest."""
        from qa.services.backup import create_backup, manifest_path

        folder = Path(dest) if dest else Path(current_app.instance_path) / "backups"
        try:
            path, manifest = create_backup(folder)
        except ServiceError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"已备份：{path}")
        click.echo(f"清单：{manifest_path(path)}（问题 {manifest.questions}，答复 {manifest.answers}，"
                   f"审计记录 {manifest.audit_events}，完整性 {manifest.integrity}）")
        if manifest.audit_head:
            click.echo(f"审计链头：{manifest.audit_head}")

    @backup.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--force", is_flag=True, help="Overwrite a database that already holds data.")
    def restore_command(path, force):
        """Restore a backup into the configured database (empty, unless --force)."""
        from qa.services.backup import restore_backup

        try:
            counts, manifest = restore_backup(Path(path), force=force)
        except ServiceError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"已恢复：问题 {counts['questions']}，答复 {counts['answers']}，审计记录 {counts['audit_events']}"
                   + ("，与清单一致。" if manifest else "（无清单可核对）。"))
        click.echo("下一步：运行 `flask --app wsgi search rebuild` 重建检索索引"
                   + (f"，并运行 `flask --app wsgi audit verify --anchor {manifest.audit_head}` 校验审计日志。"
                      if manifest and manifest.audit_head else "。"))
