-- Ticket reports sum tickets per period by when they were created (with what is averaged,
-- so the index covers the query), resolved and closed. Keep in step with ../sqlite.
CREATE INDEX tickets_created ON tickets (created_at, first_response_at, rating);
CREATE INDEX tickets_resolved ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX tickets_closed ON tickets (closed_at) WHERE closed_at IS NOT NULL;

-- Requester addresses are indexed split at "@" as well (see src/db/search.rs), so that a
-- search finds a customer by the part before it or by their domain, as on SQLite. The
-- documents are rebuilt into an emptied table (TRUNCATE gives it a fresh file, where an
-- UPDATE of every row would leave half of it dead) and the GIN index built once at the end.
DROP INDEX ticket_search_document;
TRUNCATE ticket_search;
INSERT INTO ticket_search (ticket_id, document)
SELECT t.id,
       setweight(to_tsvector('english', t.subject || ' ' || r.name || ' ' || r.email || ' ' || replace(r.email, '@', ' ')), 'A')
       || setweight(to_tsvector('english', COALESCE(b.body, '')), 'B')
FROM tickets t
JOIN users r ON r.id = t.requester_id
LEFT JOIN (SELECT ticket_id, string_agg(body, ' ') AS body FROM messages WHERE kind <> 'event' GROUP BY ticket_id) b
       ON b.ticket_id = t.id;
CREATE INDEX ticket_search_document ON ticket_search USING GIN (document);
