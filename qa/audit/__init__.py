"""The admin audit-log viewer and its CSV export."""
