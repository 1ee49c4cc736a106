# Copy to instance/config.py to override defaults locally. Environment variables QA_* win over this.
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://jianda@127.0.0.1:5432/jianda"
# QA_ANSWER_DAYS = 10
# QA_HTTPS = True                          # served over HTTPS: Secure cookies, HSTS
# REDIS_URL = "redis://127.0.0.1:6379/0"   # rate-limit counters shared by all workers
# QA_PROXY_COUNT = 1                       # one trusted reverse proxy in front (X-Forwarded-For)
# QA_REAUTH_MINUTES = 15                   # admins confirm their password this often for changes
# QA_RATELIMIT_LOGIN_ACCOUNT = "10 per 15 minutes"
# QA_SEARCH_WRITER = "worker"              # production: only `flask --app wsgi search worker` writes the index
# QA_SEARCH_BACKEND = "sql"                # SQLite FTS5 / PostgreSQL GIN instead of Whoosh, for large archives
