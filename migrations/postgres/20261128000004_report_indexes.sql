-- Ticket reports sum tickets per period by when they were created (with what is averaged,
-- so the index covers the query), resolved and closed. Keep in step with ../sqlite.
CREATE INDEX tickets_created ON tickets (created_at, first_response_at, rating);
CREATE INDEX tickets_resolved ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;
