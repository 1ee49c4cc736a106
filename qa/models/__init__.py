"""Typed SQLAlchemy models, one module per domain area."""
from qa.models import (
    audit_chain,  # noqa: F401 - hash chain and append-only triggers of audit_event
    stats_indexes,  # noqa: F401 - covering indexes of the statistics queries
)
from qa.models.activity import AuditEvent, IndexTask, Notification
from qa.models.answers import (
    AUTHORITY_TIERS,
    CANONICAL_STATUSES,
    DISCLAIMER,
    RATING_CRITERIA,
    Answer,
    CanonicalAnswer,
    Rating,
)
from qa.models.categories import CATEGORIES, Category
from qa.models.experts import (
    DEFAULT_CAPACITY,
    DeadlineReminder,
    Escalation,
    ExpertProfile,
    ExpertTag,
    Follow,
)
from qa.models.knowledge import BATCH_STATUSES, Batch, BatchCorrection, BatchItem, CanonicalSource
from qa.models.laws import Law, LawArticle
from qa.models.mail import EMAIL_MODES, MailOutbox, NotificationPreference
from qa.models.orgs import LEVEL_NAMES, Procuratorate
from qa.models.quality import (
    FLAG_KINDS,
    FLAG_STATUSES,
    REVISION_KINDS,
    AnswerFlag,
    HelpfulVote,
    RatingRevision,
    Revision,
)
from qa.models.questions import (
    CLOSE_REASONS,
    OPEN_STATUSES,
    STATUS_NAMES,
    Assignment,
    Question,
    QuestionCounter,
    Supplement,
    Tag,
    question_tag,
)
from qa.models.search import Citation, SearchTerm, ThreadSource
from qa.models.types import UTCDateTime, utcnow
from qa.models.users import ApiToken, ExpertSpeciality, User, UserRole

__all__ = [
    "CATEGORIES", "DISCLAIMER", "LEVEL_NAMES", "OPEN_STATUSES", "RATING_CRITERIA", "STATUS_NAMES",
    "Answer", "ApiToken", "Assignment", "AuditEvent", "CanonicalAnswer", "Category",
    "ExpertSpeciality", "IndexTask", "Notification", "Procuratorate", "Question", "QuestionCounter",
    "Rating", "Supplement", "Tag", "UTCDateTime", "User", "UserRole", "question_tag", "utcnow",
    # expert pool, deadlines, follows and mail
    "DEFAULT_CAPACITY", "EMAIL_MODES", "DeadlineReminder", "Escalation", "ExpertProfile", "ExpertTag",
    "Follow", "MailOutbox", "NotificationPreference",
    # search, citations, laws and imports
    "Citation", "Law", "LawArticle", "SearchTerm", "ThreadSource",
    # quality, revisions, knowledge base and batches (issue 5)
    "AUTHORITY_TIERS", "BATCH_STATUSES", "CANONICAL_STATUSES", "CLOSE_REASONS", "FLAG_KINDS", "FLAG_STATUSES",
    "REVISION_KINDS", "AnswerFlag", "Batch", "BatchCorrection", "BatchItem", "CanonicalSource", "HelpfulVote", "RatingRevision",
    "Revision",
]
