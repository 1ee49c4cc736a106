"""`make e2e`: a fresh instance on a free port, the browser flows against it, then stop it."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "e2e-artifacts"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"e2e: the server exited with code {server.returncode}; see {ARTIFACTS / 'server.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"e2e: the server did not answer {url} within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main(pytest_args: list[str]) -> int:
    if not Path(CHROMIUM).exists():
        print(f"e2e: {CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk", file=sys.stderr)
        return 2
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.iterdir():  # screenshots of this run only
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    workdir = Path(tempfile.mkdtemp(prefix="jianda-e2e-"))
    env = dict(os.environ)
    env.update({
        # Never the developer's instance/jianda.db: a database, secret and index of this run only.
        "QA_DATABASE_URL": f"sqlite:///{workdir / 'jianda.db'}",
        "QA_SECRET_KEY": secrets.token_hex(32),
        "QA_SEARCH_INDEX_DIR": str(workdir / "search-index"),
        "QA_SMTP_HOST": "",
        # The flows log the same demo people in dozens of times within minutes; real limits stay on otherwise.
        "QA_RATELIMIT_LOGIN_ACCOUNT": "200 per 15 minutes",
        "QA_RATELIMIT_LOGIN_IP": "600 per minute",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("TEST_DATABASE_URL", None)
    started = time.monotonic()
    log = (ARTIFACTS / "server.log").open("w")
    try:
        print("e2e: fresh instance in", workdir, flush=True)
        setup = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "setup"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
        if setup.returncode != 0:
            log.flush()
            tail = (ARTIFACTS / "server.log").read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
            print("e2e: `flask --app wsgi setup` failed:", *tail, sep="\n", file=sys.stderr)
            return 1
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        # One worker process (the embedded default: the web process also applies the search outbox).
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
             "--worker-class", "gthread", "--access-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_until_up(f"{base_url}/login", server)
            print(f"e2e: serving {base_url} (ready after {time.monotonic() - started:.1f} s)", flush=True)
            test_env = dict(env, E2E_BASE_URL=base_url, E2E_CHROMIUM=CHROMIUM)
            result = subprocess.run([str(BIN / "pytest"), "-c", str(ROOT / "e2e" / "pytest.ini"),
                                     "--rootdir", str(ROOT), str(ROOT / "e2e"), *pytest_args],
                                    cwd=ROOT, env=test_env)
        finally:
            stop(server)
    finally:
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"e2e: finished in {time.monotonic() - started:.0f} s; screenshots in {ARTIFACTS}", flush=True)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
