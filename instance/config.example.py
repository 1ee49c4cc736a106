# Copy to instance/config.py to override defaults locally. Environment variables QA_* win over this.
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://jianda@127.0.0.1:5432/jianda"
# QA_ANSWER_DAYS = 10
