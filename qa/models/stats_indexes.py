"""Covering indexes for the statistics queries (qa/services/stats.py): period scans read no table rows."""
from __future__ import annotations

from sqlalchemy import Index

from qa.models.activity import AuditEvent
from qa.models.answers import Answer
from qa.models.questions import Assignment, Question

# Questions asked in a period, with everything the figures need (SQLite and PostgreSQL index-only scans).
Index("ix_question_stats_created", Question.created_at, Question.org_id, Question.category_code, Question.status,
      Question.answered_at, Question.due_at, Question.accepted_answer_id, Question.asker_id)
# Open questions past their due date ("overdue now"), by procuratorate and business line.
Index("ix_question_stats_open", Question.status, Question.due_at, Question.org_id, Question.category_code)
# An expert's first answer to a question.
Index("ix_answer_question_author", Answer.question_id, Answer.author_id, Answer.created_at)
# Assignments made in a period.
Index("ix_assignment_stats_assigned", Assignment.assigned_at, Assignment.expert_id, Assignment.question_id,
      Assignment.due_at, Assignment.ended_at)
# Escalations (and log-ins) in a period.
Index("ix_audit_event_action_at", AuditEvent.action, AuditEvent.at, AuditEvent.question_id, AuditEvent.actor_id)
