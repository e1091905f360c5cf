-- "All tickets" (every status) lists by the latest change, like the other views; without
-- this index a page of it sorts every ticket.
CREATE INDEX tickets_updated ON tickets (updated_at);
-- Unassigned lists the most urgent first: by due date, those without one (pending) last.
-- SQLite keeps NULLs first in an index, so the order is an expression both databases
-- index alike.
CREATE INDEX tickets_unassigned_due ON tickets ((COALESCE(due_at, 9223372036854775807)), id)
    WHERE status IN ('new', 'open', 'pending', 'on_hold') AND assignee_id IS NULL;
