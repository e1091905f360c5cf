-- Ticket reports sum tickets per period by when they were created (with what is averaged,
-- so the index covers the query), resolved and closed. Keep in step with ../postgres.
CREATE INDEX tickets_created ON tickets (created_at, first_response_at, rating);
CREATE INDEX tickets_resolved ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;

-- (PostgreSQL also rebuilds its search documents here; FTS5 already splits addresses.)
