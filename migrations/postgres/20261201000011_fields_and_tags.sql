-- Ticket fields an admin defines, their values, and tags. Keep in step with ../sqlite.
CREATE TABLE ticket_fields (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key                 TEXT    NOT NULL UNIQUE,
    label               TEXT    NOT NULL,
    kind                TEXT    NOT NULL
        CHECK (kind IN ('text', 'textarea', 'number', 'date', 'select', 'multiselect', 'checkbox')),
    options             TEXT    NOT NULL DEFAULT '', -- one per line, for the selects
    required            BOOLEAN NOT NULL DEFAULT FALSE,
    customer_visible    BOOLEAN NOT NULL DEFAULT FALSE,
    customer_editable   BOOLEAN NOT NULL DEFAULT FALSE,
    required_to_resolve BOOLEAN NOT NULL DEFAULT FALSE,
    position            BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL
);
-- One row per value (a multiselect has one per option chosen); an unset field has none.
-- A filter on a field's value is one range of the second index.
CREATE TABLE ticket_field_values (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    field_id  BIGINT NOT NULL REFERENCES ticket_fields (id) ON DELETE CASCADE,
    value     TEXT   NOT NULL,
    PRIMARY KEY (ticket_id, field_id, value)
);
CREATE INDEX ticket_field_values_filter ON ticket_field_values (field_id, value, ticket_id);
CREATE TABLE ticket_tags (
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag       TEXT   NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX ticket_tags_filter ON ticket_tags (tag, ticket_id);
-- How many tickets carry each tag, kept by triggers so the desk's tag list never counts
-- a million rows (and stays right when tickets go).
CREATE TABLE tag_counts (
    tag     TEXT   PRIMARY KEY,
    tickets BIGINT NOT NULL
);
CREATE FUNCTION count_ticket_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tag_counts (tag, tickets) VALUES (NEW.tag, 1)
            ON CONFLICT (tag) DO UPDATE SET tickets = tag_counts.tickets + 1;
    ELSE
        UPDATE tag_counts SET tickets = tickets - 1 WHERE tag = OLD.tag;
        DELETE FROM tag_counts WHERE tag = OLD.tag AND tickets <= 0;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_tags_counted AFTER INSERT OR DELETE ON ticket_tags
    FOR EACH ROW EXECUTE FUNCTION count_ticket_tags();
