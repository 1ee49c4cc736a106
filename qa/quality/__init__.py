"""Quality: moderation queue, rating revisions, helpful votes, flags, hiding, edits and revision history."""
