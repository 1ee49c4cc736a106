"""Use cases: one function each. They check permissions, validate, change state, record the
audit event and the search-index task, and commit once. Views, the API and the CLI call them."""
