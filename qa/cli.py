"""Flask commands (`flask --app wsgi ...`). Thin: they parse options and call services."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask_migrate import upgrade

from qa.errors import ServiceError
from qa.extensions import db


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace(",", ";").split(";") if v.strip()]


def _fail(error: ServiceError) -> None:
    raise click.ClickException(error.message)


class ImportProgress:
    """A progress bar for a long import, drawn once the number of rows is known (after parsing)."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> ImportProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def register(app: Flask) -> None:
    @app.cli.command("setup")
    @click.option("--demo/--no-demo", default=True, help="Load the demo data when the database is empty.")
    def setup_command(demo: bool):
        """Apply migrations, add reference data and (when empty) the demo data."""
        from qa.models import User
        from qa.services.setup import sync_categories

        upgrade()
        added = sync_categories()
        click.echo(f"数据库已就绪（新增业务条线 {added} 个）。")
        if demo:
            from qa.services.demo import DEMO_PASSWORD, demo_accounts, load_demo_data

            if db.session.execute(db.select(User.id).limit(1)).first() is None:
                accounts = load_demo_data()
                click.echo(f"已载入演示数据。演示账号（密码均为 {DEMO_PASSWORD}）：")
            else:
                accounts = demo_accounts()
                click.echo("数据库中已有数据，未重复载入演示数据。" +
                           (f"演示账号（密码均为 {DEMO_PASSWORD}）：" if accounts else ""))
            for account in accounts:
                click.echo(f"  {account.username:<14} {account.roles_label:<22} {account.name}（{account.org}）")

    # Users -------------------------------------------------------------------------------
    user_group = click.Group("user", help="Manage user accounts.")
    app.cli.add_command(user_group)

    @user_group.command("create")
    @click.argument("username")
    @click.option("--name", required=True, help="Real name (姓名).")
    @click.option("--org", "org_code", required=True, help="Procuratorate code.")
    @click.option("--roles", default="", help="expert;moderator;admin (asker is implied).")
    @click.option("--specialities", default="", help="Business line codes, ';'-separated.")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                  help="Prompted when omitted; read from stdin with --password -.")
    def user_create(username, name, org_code, roles, specialities, password):
        """Create a user account."""
        from qa.services.accounts import create_user

        if password == "-":
            password = sys.stdin.readline().rstrip("\n")
        try:
            user = create_user(None, username=username, name=name, org_code=org_code,
                               roles=_split(roles), specialities=_split(specialities), password=password)
        except ServiceError as error:
            _fail(error)
        click.echo(f"已创建用户 {user.username}（{user.name}，{user.org.name}）。")

    @user_group.command("set-password")
    @click.argument("username")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def user_set_password(username, password):
        """Set a user's password (ends their sessions)."""
        from qa.services.accounts import get_user, set_password

        if password == "-":
            password = sys.stdin.readline().rstrip("\n")
        try:
            set_password(None, get_user(username), password)
        except ServiceError as error:
            _fail(error)
        click.echo(f"已为 {username} 设置新密码。")

    @user_group.command("deactivate")
    @click.argument("username")
    def user_deactivate(username):
        """Deactivate an account (its sessions and tokens stop working at once)."""
        from qa.services.accounts import get_user, update_user

        try:
            update_user(None, get_user(username), active=False)
        except ServiceError as error:
            _fail(error)
        click.echo(f"已停用 {username}。")

    # Tokens ------------------------------------------------------------------------------
    token_group = click.Group("token", help="Manage API tokens.")
    app.cli.add_command(token_group)

    @token_group.command("create")
    @click.argument("username")
    @click.option("--name", default="cli", help="A name to tell the token apart.")
    def token_create(username, name):
        """Create an API token; the token itself is printed as the last line."""
        from qa.services.accounts import create_api_token, get_user

        try:
            user = get_user(username)
            token, raw = create_api_token(None, user, name)
        except ServiceError as error:
            _fail(error)
        click.echo(f"已为 {username} 创建令牌“{token.name}”。请妥善保存，它只显示这一次：", err=True)
        click.echo(raw)

    # Imports -----------------------------------------------------------------------------
    import_group = click.Group("import", help="Bulk onboarding from CSV files (UTF-8).")
    app.cli.add_command(import_group)

    def _run_import(kind: str, path: str):
        from qa.services import imports

        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as error:
            raise click.ClickException(
                f"文件不是 UTF-8 编码（第 {error.start} 字节处无法解码）。请在 Excel 中另存为“CSV UTF-8”后重试。"
            ) from None
        func = imports.import_orgs_csv if kind == "orgs" else imports.import_users_csv
        with ImportProgress("导入检察院" if kind == "orgs" else "导入用户") as progress:
            report = func(None, text, progress=progress)
        for line, message in report.errors:
            click.echo(f"第 {line} 行：{message}", err=True)
        if report.errors:
            raise click.ClickException(f"导入失败：{len(report.errors)} 行有误，未做任何更改。")
        click.echo(f"导入完成：新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}。")

    @import_group.command("orgs")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_orgs(path):
        """Procuratorates: columns code,name,level,parent_code."""
        _run_import("orgs", path)

    @import_group.command("users")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def import_users(path):
        """Users: columns username,name,org_code,roles,specialities (';'-separated)."""
        _run_import("users", path)

    # Demo --------------------------------------------------------------------------------
    @app.cli.command("demo")
    def demo_command():
        """Load the demo data into an empty database."""
        from qa.models import User
        from qa.services.demo import DEMO_PASSWORD, load_demo_data

        if db.session.execute(db.select(User.id).limit(1)).first() is not None:
            raise click.ClickException("数据库中已有用户，演示数据只能载入空数据库。")
        for account in load_demo_data():
            click.echo(f"{account.username}\t{DEMO_PASSWORD}\t{account.roles_label}\t{account.name}")

    # Expert pool, deadlines and email (qa/cli_handling.py) -----------------------------------
    from qa.cli_handling import register as register_handling

    register_handling(app)

    # Search index, statute texts and thread imports (qa/search/cli.py) ---------------------
    from qa.search.cli import register as register_search

    register_search(app)

    # Audit log verification (qa/cli_audit.py) ------------------------------------------------
    from qa.cli_audit import register as register_audit

    register_audit(app)

    # Backups (qa/cli_backup.py) ----------------------------------------------------------------
    from qa.cli_backup import register as register_backup

    register_backup(app)
