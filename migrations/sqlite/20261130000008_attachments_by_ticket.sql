-- A ticket's files, for its search document.
CREATE INDEX attachments_ticket ON attachments (ticket_id);
