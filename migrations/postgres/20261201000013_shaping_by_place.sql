-- A tag or a field's value filtered in a view by status, newest first, is one walk of an
-- index in that order: each row carries its ticket's place (open, resolved or closed, the
-- views that part tickets by status) and latest change, kept by triggers.
CREATE FUNCTION ticket_place(status TEXT) RETURNS TEXT IMMUTABLE LANGUAGE SQL AS $$
    SELECT CASE status WHEN 'resolved' THEN 'resolved' WHEN 'closed' THEN 'closed' ELSE 'open' END
$$;
ALTER TABLE ticket_tags ADD COLUMN place TEXT NOT NULL DEFAULT 'open', ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ticket_field_values ADD COLUMN place TEXT NOT NULL DEFAULT 'open', ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE ticket_tags g SET place = ticket_place(t.status), updated_at = t.updated_at FROM tickets t WHERE t.id = g.ticket_id;
UPDATE ticket_field_values v SET place = ticket_place(t.status), updated_at = t.updated_at FROM tickets t WHERE t.id = v.ticket_id;
DROP INDEX ticket_tags_filter;
DROP INDEX ticket_field_values_filter;
CREATE INDEX ticket_tags_filter ON ticket_tags (tag, place, updated_at, ticket_id);
CREATE INDEX ticket_field_values_filter ON ticket_field_values (field_id, value, place, updated_at, ticket_id);

CREATE FUNCTION place_shaping_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT ticket_place(t.status), t.updated_at INTO NEW.place, NEW.updated_at FROM tickets t WHERE t.id = NEW.ticket_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER ticket_tags_placed BEFORE INSERT ON ticket_tags FOR EACH ROW EXECUTE FUNCTION place_shaping_row();
CREATE TRIGGER ticket_field_values_placed BEFORE INSERT ON ticket_field_values FOR EACH ROW EXECUTE FUNCTION place_shaping_row();

CREATE FUNCTION place_ticket_shaping() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ticket_tags SET place = ticket_place(NEW.status), updated_at = NEW.updated_at WHERE ticket_id = NEW.id;
    UPDATE ticket_field_values SET place = ticket_place(NEW.status), updated_at = NEW.updated_at WHERE ticket_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_placed AFTER UPDATE OF status, updated_at ON tickets FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.updated_at IS DISTINCT FROM NEW.updated_at)
    EXECUTE FUNCTION place_ticket_shaping();
