"""Load harness (RELIABILITY.md R01, R02, R04, R05): a fresh instance under gunicorn, simulated users, then
every acknowledged write is looked up in the database, its audit row, and the search index.

    .venv/bin/python bench/load.py                              # SQLite, 4 sync workers, 60 s
    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/load.py --kill-workers --kill-indexer # R04/R05: kill -9 during the run
    .venv/bin/python bench/load.py --wrong-settings deferred     # R02(a): must report lock errors
    .venv/bin/python bench/load.py --wrong-settings inline-index # R02(b): index written by request workers

It starts its own instance in a temporary folder (SQLite there; with --database-url a new database
`jianda_load_<pid>` is created on that server and dropped afterwards), loads the demo data with
`flask setup`, starts gunicorn (QA_SEARCH_WRITER=worker) and one `flask search worker`, and runs
askers (API and form posts), experts (answers through API and form), moderators (ratings) and
readers (thread pages, search) for --seconds. Each acknowledged write (2xx, or the 302 after a form
post) is recorded with its number or id and a unique marker in its text. Requests cut off by a
killed worker are retried as a browser or a careful client would: the same text with the same
form fields (its one-time submission key) or the same Idempotency-Key; the marker then shows
whether that made a duplicate.
Exit status 1 when anything acknowledged is lost, lacks its audit row, is duplicated, when there
were 5xx responses or "database is locked" lines, or when the index differs from the database.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.request import HTTPCookieProcessor, HTTPErrorProcessor, Request, build_opener

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"
PASSWORD = "demo-pass-2026"  # qa.services.demo.DEMO_PASSWORD
ASKERS = ["asker", "asker_hd", "asker_tz", "asker_xh", "asker_yh", "asker_yz"]
EXPERTS = ["expert", "expert_bj1", "expert_hz", "expert_nb", "expert_bj", "expert_zj", "expert_spp", "expert_spp2"]
MODERATORS = ["moderator", "moderator_zj"]
CATEGORIES = ["criminal", "civil", "administrative", "juvenile", "public_interest"]
SEARCH_TERMS = ["醉酒驾驶", "附条件不起诉", "公益诉讼", "取保候审", "认罪认罚", "盗窃", "诈骗", "民事执行"]
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HIDDEN_RE = re.compile(r'<input[^>]*name="([^"]+)"[^>]*type="hidden"[^>]*value="([^"]*)"')
LIMIT_KEYS = ("QA_RATELIMIT_LOGIN_ACCOUNT", "QA_RATELIMIT_LOGIN_IP", "QA_RATELIMIT_BAD_TOKEN",
              "QA_RATELIMIT_PASSWORD", "QA_RATELIMIT_SEARCH", "QA_RATELIMIT_API")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(HTTPErrorProcessor):
    """Hand back every response as it is: 302 and 4xx/5xx included."""

    def http_response(self, request, response):
        return response

    https_response = http_response


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[int, int] = defaultdict(int)
        self.requests = 0
        self.conn_errors = 0
        self.retried = 0
        self.writes: list[tuple[str, str, str]] = []  # (kind, number-or-id, marker)
        self.server_errors: list[str] = []  # "METHOD path -> status: text" of every 5xx

    def note(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.latency[kind].append(seconds)
            self.status[status] += 1

    def acked(self, kind: str, ident: str, marker: str) -> None:
        with self.lock:
            self.writes.append((kind, ident, marker))


class Client:
    """One simulated person: a cookie session for the forms and a bearer token for the API."""

    def __init__(self, base: str, username: str, token: str, stats: Stats):
        self.base, self.username, self.token, self.stats = base, username, token, stats
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), NoRedirect())

    def call(self, kind: str, method: str, path: str, form: dict | None = None, payload: dict | None = None,
             retry: bool = True) -> tuple[int, dict, str]:
        """One request; a connection cut by a killed worker is retried with the same body."""
        headers, data = {}, None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if payload is not None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.token}"
            if method == "POST":  # a retry after a cut connection sends the same key: one effect
                headers["Idempotency-Key"] = uuid.uuid4().hex
        for attempt in range(6):
            started = time.perf_counter()
            try:
                with self.opener.open(Request(self.base + path, data=data, headers=headers, method=method),
                                      timeout=60) as response:
                    body = response.read().decode("utf-8", "replace")
                    status, resp_headers = response.status, dict(response.headers)
            except (ConnectionError, http.client.HTTPException, OSError):
                with self.stats.lock:
                    self.stats.conn_errors += 1
                if not retry or attempt == 5:
                    raise
                with self.stats.lock:
                    self.stats.retried += 1
                time.sleep(0.2 * (attempt + 1))
                continue
            self.stats.note(kind, time.perf_counter() - started, status)
            if status >= 500:
                text = re.sub(r"<[^>]+>|\s+", " ", body)
                with self.stats.lock:
                    self.stats.server_errors.append(f"{method} {path.split('?')[0]} -> {status}: "
                                                    f"{text[text.find(str(status)):][:120].strip()}")
            return status, resp_headers, body
        raise RuntimeError("unreachable")

    def csrf(self, path: str) -> str:
        status, _h, body = self.call("read", "GET", path)
        match = CSRF_RE.search(body)
        if not match:
            raise RuntimeError(f"no CSRF token on {path} (HTTP {status})")
        return match.group(1)

    def hidden_fields(self, path: str, attribute: str) -> dict[str, str]:
        """The hidden fields (CSRF token, one-time submission key) of the form on the page whose tag
        has `attribute` (action="…" or id="…"): sent again as a browser resends a form after a
        dropped connection."""
        status, _h, body = self.call("read", "GET", path)
        form = re.search(r'<form[^>]*' + re.escape(attribute) + r'[^>]*>(.*?)</form>', body, re.S)
        if not form:
            raise RuntimeError(f"no form with {attribute} on {path} (HTTP {status})")
        return dict(HIDDEN_RE.findall(form.group(1)))

    def login(self) -> None:
        token = self.csrf("/login")
        status, headers, _b = self.call("login", "POST", "/login",
                                        form={"username": self.username, "password": PASSWORD, "csrf_token": token})
        if status != 302:
            raise RuntimeError(f"log-in failed for {self.username}: HTTP {status}")


class Load:
    def __init__(self, base: str, tokens: dict[str, str], seconds: float, stats: Stats):
        self.base, self.tokens, self.stats = base, tokens, stats
        self.deadline = time.monotonic() + seconds
        self.queues: dict[str, list[str]] = defaultdict(list)  # expert username -> question numbers
        self.answers: list[int] = []
        self.mine: dict[str, list[str]] = defaultdict(list)  # asker -> own question numbers
        self.lock = threading.Lock()
        self.errors: list[str] = []  # 4xx refusals: reported, not failures
        self.gave_up: list[str] = []  # a simulated person stopped on an unexpected error

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def ask(self, c: Client, rng: random.Random) -> None:
        marker = uuid.uuid4().hex[:12]
        title = f"压测问题 {marker}：{rng.choice(SEARCH_TERMS)}案件中法律适用如何把握？"
        body = f"负载测试 {marker}。请问{rng.choice(SEARCH_TERMS)}案件在审查起诉阶段应当如何适用相关法律规定？"
        category = rng.choice(CATEGORIES)
        if rng.random() < 0.5:
            status, _h, text = c.call("ask_api", "POST", "/api/v1/questions", payload={
                "title": title, "body": body, "category": category,
                "declarations": {"law_not_facts": True, "not_classified": True}})
            if status != 201:
                return self.refused("ask_api", status, text)
            data = json.loads(text)
            number, assignee = data["number"], (data.get("assignee") or {}).get("username")
        else:
            status, headers, text = c.call("ask_form", "POST", "/ask", form={
                "title": title, "body": body, "category": category, "tags": "", "case_deadline": "",
                "law_not_facts": "y", "not_classified": "y", **c.hidden_fields("/ask", 'id="ask-form"')})
            if status != 302 or "/q/" not in headers.get("Location", ""):
                return self.refused("ask_form", status, text)
            number = headers["Location"].rstrip("/").rsplit("/q/", 1)[1].split("#")[0]
            assignee = None
            s2, _h2, _t2 = c.call("read", "GET", f"/api/v1/questions/{number}")  # who got it
            if s2 == 200:
                assignee = (json.loads(_t2).get("assignee") or {}).get("username")
        self.stats.acked("question", number, marker)
        with self.lock:
            self.mine[c.username].append(number)
            if assignee:
                self.queues[assignee].append(number)

    def supplement(self, c: Client, rng: random.Random) -> None:
        with self.lock:
            own = list(self.mine[c.username])
        if not own:
            return
        number = rng.choice(own)
        marker = uuid.uuid4().hex[:12]
        status, headers, text = c.call("supplement_form", "POST", f"/q/{number}/supplements", form={
            "body": f"补充说明 {marker}：案件已进入审查起诉阶段。",
            **c.hidden_fields(f"/q/{number}", f'action="/q/{number}/supplements"')})
        if status != 302:
            return self.refused("supplement_form", status, text)
        self.stats.acked("supplement", number, marker)

    def answer(self, c: Client, rng: random.Random) -> bool:
        with self.lock:
            queue = self.queues.get(c.username)
            number = queue.pop(0) if queue else None
        if number is None:
            return False
        marker = uuid.uuid4().hex[:12]
        body = f"答复 {marker}：依据《中华人民共和国刑法》第一百三十三条之一及相关司法解释，应当综合判断。"
        if rng.random() < 0.5:
            status, _h, text = c.call("answer_api", "POST", f"/api/v1/questions/{number}/answers",
                                      payload={"body": body})
            if status != 201:
                return self.refused("answer_api", status, text) or True
            answer_id = json.loads(text)["id"]
        else:
            status, headers, text = c.call("answer_form", "POST", f"/q/{number}/answers",
                                           form={"body": body, **c.hidden_fields(f"/q/{number}", f'action="/q/{number}/answers"')})
            match = re.search(r"#answer-(\d+)", headers.get("Location", ""))
            if status != 302 or not match:
                return self.refused("answer_form", status, text) or True
            answer_id = int(match.group(1))
        self.stats.acked("answer", str(answer_id), marker)
        with self.lock:
            self.answers.append(answer_id)
        return True

    def rate(self, c: Client, rng: random.Random, rated: set[int]) -> bool:
        with self.lock:
            todo = [a for a in self.answers if a not in rated]
        if not todo:
            return False
        answer_id = rng.choice(todo)
        rated.add(answer_id)
        marker = uuid.uuid4().hex[:12]
        status, _h, text = c.call("rate_api", "POST", f"/api/v1/answers/{answer_id}/ratings", payload={
            "accuracy": 4, "basis": 4, "relevance": 5, "clarity": 4, "comment": f"评定 {marker}"})
        if status != 201:
            return self.refused("rate_api", status, text) or True
        self.stats.acked("rating", str(json.loads(text)["id"]), marker)
        return True

    def browse(self, c: Client, rng: random.Random) -> None:
        roll = rng.random()
        if roll < 0.4:
            c.call("search", "GET", "/search?" + urllib.parse.urlencode({"q": rng.choice(SEARCH_TERMS)}))
        elif roll < 0.6:
            c.call("search", "GET", "/api/v1/search?" + urllib.parse.urlencode({"q": rng.choice(SEARCH_TERMS)}))
        else:
            with self.lock:
                numbers = [n for own in self.mine.values() for n in own[-5:]]
            c.call("read", "GET", f"/q/{rng.choice(numbers)}" if numbers else "/questions")

    def refused(self, kind: str, status: int, text: str) -> None:
        if status < 500:  # a 4xx is a business refusal (e.g. the question moved on); 5xx are counted
            with self.lock:
                self.errors.append(f"{kind}: HTTP {status} {text[:160]!r}")

    def person(self, username: str, role: str, seed: int) -> None:
        rng = random.Random(seed)
        c = Client(self.base, username, self.tokens[username], self.stats)
        try:
            c.login()
            rated: set[int] = set()
            while self.running():
                if role == "asker":
                    roll = rng.random()
                    if roll < 0.55:
                        self.ask(c, rng)
                    elif roll < 0.7:
                        self.supplement(c, rng)
                    else:
                        self.browse(c, rng)
                elif role == "expert":
                    if not self.answer(c, rng):
                        self.browse(c, rng)
                        time.sleep(0.2)
                elif role == "moderator":
                    if not self.rate(c, rng, rated):
                        self.browse(c, rng)
                        time.sleep(0.2)
                else:
                    self.browse(c, rng)
        except Exception as error:  # a simulated person gave up: reported, counted as a failure
            with self.lock:
                self.gave_up.append(f"{username}: {type(error).__name__}: {error}")


# The instance ---------------------------------------------------------------------------------------


class Instance:
    def __init__(self, args, tmp: Path):
        self.args, self.tmp = args, tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pg_admin_url = None
        if args.database_url:
            from sqlalchemy.engine import make_url

            self.pg_admin_url = args.database_url
            self.db_name = f"jianda_load_{os.getpid()}"
            url = make_url(args.database_url).set(database=self.db_name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{tmp / 'jianda.db'}"
        self.env = dict(os.environ, QA_DATABASE_URL=url, QA_SECRET_KEY=uuid.uuid4().hex,
                        QA_SEARCH_INDEX_DIR=str(tmp / "search_index"), QA_SEARCH_WRITER="worker",
                        FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
        self.env.pop("REDIS_URL", None)
        # Cheap password hashing (set before `flask setup` hashes the demo passwords): the harness
        # measures the writes, not argon2 at 64 MiB per log-in.
        self.env.update(QA_ARGON2_TIME_COST="1", QA_ARGON2_MEMORY_COST="1024", QA_ARGON2_PARALLELISM="1")
        for key in LIMIT_KEYS:  # nor the throttles
            self.env[key] = "1000000 per minute"
        if args.wrong_settings == "deferred":
            self.env["QA_SQLITE_IMMEDIATE"] = "0"
        if args.wrong_settings == "inline-index":
            self.env["QA_SEARCH_WRITER"] = "inline"
        self.gunicorn = None
        self.indexer = None
        self.indexer_log = open(tmp / "indexer.log", "ab")
        self.gunicorn_log = tmp / "gunicorn.log"

    def flask(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *argv], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, check=check)

    def create_database(self) -> None:
        if not self.pg_admin_url:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}"'))
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        engine.dispose()

    def drop_database(self) -> None:
        if not self.pg_admin_url:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        engine.dispose()

    def start_web(self) -> None:
        log = open(self.gunicorn_log, "ab")
        self.gunicorn = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-w", str(self.args.workers), "-b", f"127.0.0.1:{self.port}",
             "--timeout", "60", "--graceful-timeout", "5", "--no-control-socket", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start; see " + str(self.gunicorn_log))

    def start_indexer(self) -> None:
        if self.env["QA_SEARCH_WRITER"] != "worker":
            return
        self.indexer = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "wsgi", "search", "worker"], cwd=ROOT,
                                        env=self.env, stdout=self.indexer_log, stderr=subprocess.STDOUT)

    def worker_pids(self) -> list[int]:
        pid = self.gunicorn.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        for proc in (self.gunicorn, self.indexer):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.indexer_log.close()


def chaos(instance: Instance, load: Load, args, events: list[str]) -> None:
    """--kill-workers: kill -9 a random web worker every ~15 s; --kill-indexer: kill -9 the indexer and restart it."""
    rng = random.Random(7)
    next_worker = time.monotonic() + args.kill_every
    next_indexer = time.monotonic() + rng.uniform(4, 8)
    while load.running():
        time.sleep(0.2)
        now = time.monotonic()
        if args.kill_workers and now >= next_worker:
            pids = instance.worker_pids()
            if pids:
                victim = rng.choice(pids)
                os.kill(victim, signal.SIGKILL)
                events.append(f"kill -9 web worker {victim}")
            next_worker = now + args.kill_every
        if args.kill_indexer and instance.indexer is not None and now >= next_indexer:
            instance.indexer.send_signal(signal.SIGKILL)
            instance.indexer.wait()
            events.append(f"kill -9 indexer {instance.indexer.pid}")
            time.sleep(rng.uniform(0.5, 2))
            instance.start_indexer()
            next_indexer = now + rng.uniform(6, 12)


def warm_up(instance: Instance, workers: int, token: str) -> None:
    """Before the clock starts: every worker has imported the app and loaded jieba (first search)."""
    def hit():
        for path in ("/login", "/api/v1/search?q=" + urllib.parse.quote("醉酒驾驶")):
            try:
                request = Request(instance.base + path, headers={"Authorization": f"Bearer {token}"})
                build_opener(NoRedirect()).open(request, timeout=120).read()
            except OSError:
                pass
    threads = [threading.Thread(target=hit) for _ in range(workers * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# Verification ---------------------------------------------------------------------------------------


def verify(instance: Instance, stats: Stats, baseline: dict[str, int]) -> dict:
    """Look every acknowledged write up in the database, with its audit row; count duplicates and orphans."""
    from sqlalchemy import create_engine, text

    engine = create_engine(instance.env["QA_DATABASE_URL"])
    found, lost, no_audit, dupes = 0, [], [], 0
    with engine.connect() as conn:
        def one(sql, **params):
            return conn.execute(text(sql), params).scalar()

        for kind, ident, marker in stats.writes:
            like = f"%{marker}%"
            if kind == "question":
                ok = one("SELECT count(*) FROM question WHERE number = :n AND title LIKE :m", n=ident, m=like)
                audit = one("SELECT count(*) FROM audit_event WHERE action = 'question.created' "
                            "AND question_number = :n", n=ident)
                dupes += max(0, one("SELECT count(*) FROM question WHERE title LIKE :m", m=like) - 1)
            elif kind == "answer":
                ok = one("SELECT count(*) FROM answer WHERE id = :i AND body_md LIKE :m", i=int(ident), m=like)
                audit = one("SELECT count(*) FROM audit_event WHERE action = 'answer.posted' AND object_id = :i",
                            i=ident)
                dupes += max(0, one("SELECT count(*) FROM answer WHERE body_md LIKE :m", m=like) - 1)
            elif kind == "supplement":
                ok = one("SELECT count(*) FROM supplement s JOIN question q ON q.id = s.question_id "
                         "WHERE q.number = :n AND s.body_md LIKE :m", n=ident, m=like)
                audit = one("SELECT count(*) FROM audit_event a JOIN supplement s ON a.object_id = "
                            "CAST(s.id AS VARCHAR(40)) WHERE a.action = 'question.supplemented' "
                            "AND s.body_md LIKE :m", m=like)
                dupes += max(0, one("SELECT count(*) FROM supplement WHERE body_md LIKE :m", m=like) - 1)
            else:
                ok = one("SELECT count(*) FROM rating WHERE id = :i AND comment LIKE :m", i=int(ident), m=like)
                audit = one("SELECT count(*) FROM audit_event WHERE action = 'answer.rated' AND object_id = :i",
                            i=ident)
                dupes += max(0, one("SELECT count(*) FROM rating WHERE comment LIKE :m", m=like) - 1)
            if ok:
                found += 1
            else:
                lost.append((kind, ident))
            if not audit:
                no_audit.append((kind, ident))
        # Rows created during the run versus their audit rows (orphans: a row without its audit).
        audited = {"question": "question.created", "answer": "answer.posted",
                   "supplement": "question.supplemented", "rating": "answer.rated"}
        rows = audit_rows = 0
        for table, action in audited.items():
            rows += one(f"SELECT count(*) FROM {table} WHERE id > :b", b=baseline[table])
            audit_rows += one("SELECT count(*) FROM audit_event WHERE action = :a AND id > :b", a=action,
                              b=baseline["audit_event"])
        audit_total = one("SELECT count(*) FROM audit_event WHERE id > :b", b=baseline["audit_event"])
    engine.dispose()
    return {"found": found, "lost": lost, "no_audit": no_audit, "duplicates": dupes, "rows": rows,
            "audit_rows": audit_rows, "audit_total": audit_total}


def table_maxima(instance: Instance) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(instance.env["QA_DATABASE_URL"])
    with engine.connect() as conn:
        result = {t: conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar()
                  for t in ("question", "answer", "supplement", "rating", "audit_event")}
    engine.dispose()
    return result


def pending(instance: Instance) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(instance.env["QA_DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM index_task")).scalar()
    engine.dispose()
    return count


def index_check(instance: Instance) -> dict[str, int] | None:
    out = instance.flask("search", "check", "--no-repair", check=False)
    match = re.search(r"缺失 (\d+)，多余 (\d+)，过期 (\d+)", out.stdout + out.stderr)
    if not match:
        return None
    return dict(zip(("missing", "extra", "stale"), map(int, match.groups()), strict=True))


def backup_drill(instance: Instance, backups: list[subprocess.CompletedProcess]) -> dict:
    """R11: restore the backup taken under load into a fresh database and instance, rebuild the index,
    compare the counts with the manifest and verify the audit log up to the manifest's head."""
    log: list[str] = []
    if not backups or backups[0].returncode != 0:
        return {"ok": False, "summary": "backup create failed: " + (backups[0].stderr if backups else "not run"),
                "log": log}
    path = Path(re.search(r"已备份：(\S+)", backups[0].stdout).group(1))
    manifest = json.loads(Path(str(path) + ".json").read_text(encoding="utf-8"))
    fresh = Instance(instance.args, instance.tmp)  # same options, a new database and index
    fresh.env["QA_SEARCH_INDEX_DIR"] = str(instance.tmp / "restored_index")
    if instance.pg_admin_url:
        fresh.db_name = instance.db_name + "_restored"
        fresh.env["QA_DATABASE_URL"] = instance.env["QA_DATABASE_URL"].rsplit("/", 1)[0] + "/" + fresh.db_name
    else:
        fresh.env["QA_DATABASE_URL"] = f"sqlite:///{instance.tmp / 'restored.db'}"
    ok = True
    try:
        fresh.create_database()
        for argv in (("backup", "restore", str(path)), ("search", "rebuild"),
                     ("audit", "verify", "--anchor", manifest["audit_head"]), ("search", "check", "--no-repair")):
            started = time.perf_counter()
            done = fresh.flask(*argv, check=False)
            last = (done.stdout.strip().splitlines() or [""])[-1] if done.returncode == 0 else done.stderr.strip()
            log.append(f"{' '.join(argv[:2])}: exit {done.returncode}, {time.perf_counter() - started:.1f} s — {last}")
            ok = ok and done.returncode == 0
    finally:
        fresh.indexer_log.close()
        fresh.drop_database()
    counts = f"questions {manifest['questions']}, answers {manifest['answers']}, audit {manifest['audit_events']}"
    summary = f"manifest: {counts}, integrity {manifest['integrity']}"
    return {"ok": ok, "log": log, "summary": ("ok — restored, counts match; " if ok else "FAILED — ") + summary}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] * 1000


def run(args) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="jianda-load-"))
    instance = Instance(args, tmp)
    stats = Stats()
    events: list[str] = []
    backlog: list[int] = []
    backups: list[subprocess.CompletedProcess] = []
    drill = None
    try:
        instance.create_database()
        instance.flask("setup")
        os.environ.update({k: v for k, v in instance.env.items() if k.startswith("QA_")})
        from qa import create_app
        from qa.services.accounts import create_api_token, get_user

        app = create_app()
        tokens = {}
        with app.app_context():
            for username in ASKERS + EXPERTS + MODERATORS:
                tokens[username] = create_api_token(None, get_user(username), "load")[1]
            from qa.extensions import db

            db.session.remove()
            db.engine.dispose()
        baseline = table_maxima(instance)
        instance.start_web()
        instance.start_indexer()
        print(f"instance: {instance.base}  workers={args.workers}  database="
              f"{'postgresql' if args.database_url else 'sqlite'}  writer={instance.env['QA_SEARCH_WRITER']}"
              f"  immediate={instance.env.get('QA_SQLITE_IMMEDIATE', '1')}  folder={tmp}", flush=True)

        warm_up(instance, args.workers, tokens['asker'])
        load = Load(instance.base, tokens, args.seconds, stats)
        people = [(u, "asker") for u in ASKERS] + [(u, "expert") for u in EXPERTS] + \
                 [(u, "moderator") for u in MODERATORS] + [("asker_yz", "reader")] * args.readers
        threads = [threading.Thread(target=load.person, args=(u, role, i), daemon=True)
                   for i, (u, role) in enumerate(people)]
        started = time.monotonic()
        for t in threads:
            t.start()
        chaos_thread = threading.Thread(target=chaos, args=(instance, load, args, events), daemon=True)
        chaos_thread.start()
        backup_thread = None
        while load.running():
            time.sleep(2)
            backlog.append(pending(instance))
            if args.backup_at is not None and backup_thread is None and time.monotonic() - started >= args.backup_at:
                backup_thread = threading.Thread(target=lambda: backups.append(
                    instance.flask("backup", "create", "--to", str(tmp / "backups"), check=False)), daemon=True)
                backup_thread.start()
        if backup_thread is not None:
            backup_thread.join(120)
        for t in threads:
            t.join(90)
        chaos_thread.join(30)
        load_seconds = time.monotonic() - started

        # Drain: the indexer (or, inline, the next write) empties the outbox; measure how long that takes.
        if instance.indexer is not None and instance.indexer.poll() is not None:
            instance.start_indexer()
        drain_started = time.monotonic()
        left = pending(instance)
        while left and time.monotonic() - drain_started < args.drain_timeout:
            time.sleep(0.5)
            left = pending(instance)
        lag = time.monotonic() - drain_started
        result = verify(instance, stats, baseline)
        index = index_check(instance)
        if args.backup_at is not None:
            drill = backup_drill(instance, backups)
    finally:
        instance.stop()
    log_text = instance.gunicorn_log.read_text(errors="replace") + \
        (tmp / "indexer.log").read_text(errors="replace")
    locked = log_text.count("database is locked")
    tracebacks = log_text.count("Traceback (most recent call last)")
    fivexx = sum(n for code, n in stats.status.items() if code >= 500)

    print(f"\nload: {load_seconds:.0f} s, {args.workers} gunicorn workers, {len(threads)} simulated people")
    for line in events:
        print("  chaos:", line)
    print(f"requests:                 {stats.requests}  ({stats.requests / load_seconds:.0f}/s)")
    print(f"status codes:             {dict(sorted(stats.status.items()))}")
    print(f"connection errors:        {stats.conn_errors} (retried {stats.retried})")
    print(f"writes acknowledged:      {len(stats.writes)}  " + str(dict(sorted(
        {k: sum(1 for w in stats.writes if w[0] == k) for k in {w[0] for w in stats.writes}}.items()))))
    print(f"writes found:             {result['found']}  lost: {len(result['lost'])}")
    print(f"duplicates (by marker):   {result['duplicates']}")
    print(f"audit rows:               {result['audit_rows']} for {result['rows']} new rows "
          f"(acknowledged writes without audit: {len(result['no_audit'])}; all new audit rows {result['audit_total']})")
    print(f"5xx responses:            {fivexx}")
    for line in stats.server_errors[:5]:
        print("  5xx:", line)
    print(f"'database is locked':     {locked} log lines  (tracebacks logged: {tracebacks})")
    print(f"outbox backlog in load:   max {max(backlog or [0])}, median {statistics.median(backlog or [0]):.0f}")
    print(f"index lag at the end:     {lag:.1f} s to drain ({left} tasks left)")
    if index is None:
        print("index check:              could not run `search check`")
    else:
        print(f"index check:              missing {index['missing']}, extra {index['extra']}, "
              f"stale {index['stale']}")
    print(f"{'latency (ms)':<18}{'n':>7}{'p50':>9}{'p95':>9}")
    for kind in sorted(stats.latency):
        values = stats.latency[kind]
        print(f"  {kind:<16}{len(values):>7}{pct(values, 0.5):>9.0f}{pct(values, 0.95):>9.0f}")
    for line in load.gave_up:
        print("  gave up:", line)
    for line in load.errors[:10]:
        print("  refused (4xx):", line)
    if len(load.errors) > 10:
        print(f"  … and {len(load.errors) - 10} more")

    if drill is not None:
        print(f"backup drill:             {drill['summary']}")
        for step in drill["log"]:
            print("  ", step)

    failures = []
    if drill is not None and not drill["ok"]:
        failures.append("backup drill failed: " + drill["summary"])
    if result["lost"]:
        failures.append(f"{len(result['lost'])} acknowledged writes lost: {result['lost'][:5]}")
    if result["no_audit"] or result["audit_rows"] != result["rows"]:
        failures.append(f"audit mismatch: {len(result['no_audit'])} acknowledged writes without audit; "
                        f"{result['audit_rows']} audit rows for {result['rows']} rows")
    if result["duplicates"]:
        failures.append(f"{result['duplicates']} duplicate rows from retried requests")
    if fivexx:
        failures.append(f"{fivexx} responses with 5xx")
    if locked:
        failures.append(f"{locked} 'database is locked' log lines")
    if index is None or any(index.values()) or left:
        failures.append(f"index differs from the database: {index}, {left} outbox tasks left")
    if load.gave_up:
        failures.append(f"{len(load.gave_up)} simulated people gave up (see above)")
    if not failures:
        print("\nOK: nothing acknowledged was lost; audit, index and database agree.")
    for failure in failures:
        print("FAIL:", failure)
    if args.keep:
        print(f"kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        instance.drop_database()
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--readers", type=int, default=4, help="extra people who only read and search")
    parser.add_argument("--database-url", help="a PostgreSQL server URL; a fresh database is created on it")
    parser.add_argument("--wrong-settings", choices=["deferred", "inline-index"],
                        help="negative controls (R02): the harness must report failures")
    parser.add_argument("--kill-workers", action="store_true", help="kill -9 a random web worker every ~15 s")
    parser.add_argument("--kill-indexer", action="store_true", help="kill -9 the index worker and restart it")
    parser.add_argument("--kill-every", type=float, default=15, help="seconds between web worker kills")
    parser.add_argument("--backup-at", type=float, help="R11 drill: `backup create` this many seconds into the "
                        "load, then restore it into a fresh database, rebuild the index and verify the audit log")
    parser.add_argument("--drain-timeout", type=float, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and database)")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
