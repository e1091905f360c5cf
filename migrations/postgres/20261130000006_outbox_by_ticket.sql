-- A ticket's notifications, for its event trail (GET /api/v1/tickets/{id}/events).
CREATE INDEX outbox_ticket ON outbox (ticket_id, created_at);
