-- Full-text search over each ticket's subject (weight A) and every message body (weight
-- B; notes included: only staff search this index), kept up to date by the application
-- in the transaction that changes the ticket. Keep in step with ../sqlite (FTS5).
CREATE TABLE ticket_search (
    ticket_id BIGINT   PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    document  tsvector NOT NULL
);
CREATE INDEX ticket_search_document ON ticket_search USING GIN (document);
