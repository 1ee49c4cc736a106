"""stats blueprint: the statistics dashboard for administrators."""
