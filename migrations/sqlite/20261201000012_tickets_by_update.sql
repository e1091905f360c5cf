-- "All tickets" (every status) lists by the latest change, like the other views; without
-- this index a page of it sorts every ticket.
CREATE INDEX tickets_updated ON tickets (updated_at);
