-- Full-text search over each ticket's subject and every message body (notes included:
-- only staff search this index). One row per ticket, rowid = tickets.id, kept up to date
-- by the application in the transaction that changes the ticket. Keep in step with
-- ../postgres, which holds the same documents as a tsvector.
CREATE VIRTUAL TABLE ticket_search USING fts5(subject, body, tokenize = 'unicode61 remove_diacritics 2');
