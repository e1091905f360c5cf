-- A tag or a field's value filtered in a view by status, newest first, is one walk of an
-- index in that order: each row carries its ticket's place (open, resolved or closed, the
-- views that part tickets by status) and latest change, kept by triggers.
ALTER TABLE ticket_tags ADD COLUMN place TEXT NOT NULL DEFAULT 'open';
ALTER TABLE ticket_tags ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ticket_field_values ADD COLUMN place TEXT NOT NULL DEFAULT 'open';
ALTER TABLE ticket_field_values ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE ticket_tags SET (place, updated_at) = (
    SELECT CASE t.status WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' ELSE 'open' END, t.updated_at
    FROM tickets t WHERE t.id = ticket_tags.ticket_id);
UPDATE ticket_field_values SET (place, updated_at) = (
    SELECT CASE t.status WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' ELSE 'open' END, t.updated_at
    FROM tickets t WHERE t.id = ticket_field_values.ticket_id);
DROP INDEX ticket_tags_filter;
DROP INDEX ticket_field_values_filter;
CREATE INDEX ticket_tags_filter ON ticket_tags (tag, place, updated_at, ticket_id);
CREATE INDEX ticket_field_values_filter ON ticket_field_values (field_id, value, place, updated_at, ticket_id);

CREATE TRIGGER ticket_tags_placed AFTER INSERT ON ticket_tags BEGIN
    UPDATE ticket_tags SET (place, updated_at) = (
        SELECT CASE t.status WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' ELSE 'open' END, t.updated_at
        FROM tickets t WHERE t.id = new.ticket_id)
    WHERE ticket_id = new.ticket_id AND tag = new.tag;
END;
CREATE TRIGGER ticket_field_values_placed AFTER INSERT ON ticket_field_values BEGIN
    UPDATE ticket_field_values SET (place, updated_at) = (
        SELECT CASE t.status WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' ELSE 'open' END, t.updated_at
        FROM tickets t WHERE t.id = new.ticket_id)
    WHERE ticket_id = new.ticket_id AND field_id = new.field_id AND value = new.value;
END;
CREATE TRIGGER tickets_placed AFTER UPDATE OF status, updated_at ON tickets
    WHEN old.status IS NOT new.status OR old.updated_at IS NOT new.updated_at
BEGIN
    UPDATE ticket_tags SET place = CASE new.status WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' ELSE 'open' END,
        updated_at = new.updated_at WHERE ticket_id = new.id;
    UPDATE ticket_field_values SET place = CASE new.status WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' ELSE 'open' END,
        updated_at = new.updated_at WHERE ticket_id = new.id;
END;
