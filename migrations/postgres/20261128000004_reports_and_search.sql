-- Ticket reports sum tickets per period by when they were created (with what is averaged,
-- so the index covers the query), resolved and closed. Keep in step with ../sqlite.
CREATE INDEX tickets_created ON tickets (created_at, first_response_at, rating);
CREATE INDEX tickets_resolved ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;

-- Requester addresses are indexed split at "@" as well (see src/db/search.rs), so that a
-- search finds a customer by the part before it or by their domain, as on SQLite.
UPDATE ticket_search s
SET document = setweight(to_tsvector('english', t.subject || ' ' || r.name || ' ' || r.email || ' ' || replace(r.email, '@', ' ')), 'A')
    || setweight(to_tsvector('english', COALESCE((SELECT string_agg(m.body, ' ') FROM messages m
       WHERE m.ticket_id = t.id AND m.kind <> 'event'), '')), 'B')
FROM tickets t JOIN users r ON r.id = t.requester_id
WHERE t.id = s.ticket_id;
