-- Ticket fields an admin defines, their values, and tags. Keep in step with ../postgres.
CREATE TABLE ticket_fields (
    id                  INTEGER PRIMARY KEY,
    key                 TEXT    NOT NULL UNIQUE,
    label               TEXT    NOT NULL,
    kind                TEXT    NOT NULL
        CHECK (kind IN ('text', 'textarea', 'number', 'date', 'select', 'multiselect', 'checkbox')),
    options             TEXT    NOT NULL DEFAULT '', -- one per line, for the selects
    required            INTEGER NOT NULL DEFAULT 0 CHECK (required IN (0, 1)),
    customer_visible    INTEGER NOT NULL DEFAULT 0 CHECK (customer_visible IN (0, 1)),
    customer_editable   INTEGER NOT NULL DEFAULT 0 CHECK (customer_editable IN (0, 1)),
    required_to_resolve INTEGER NOT NULL DEFAULT 0 CHECK (required_to_resolve IN (0, 1)),
    position            INTEGER NOT NULL,
    created_at          INTEGER NOT NULL
);
-- One row per value (a multiselect has one per option chosen); an unset field has none.
-- A filter on a field's value is one range of the second index.
CREATE TABLE ticket_field_values (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    field_id  INTEGER NOT NULL REFERENCES ticket_fields (id) ON DELETE CASCADE,
    value     TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, field_id, value)
) WITHOUT ROWID;
CREATE INDEX ticket_field_values_filter ON ticket_field_values (field_id, value, ticket_id);
CREATE TABLE ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    tag       TEXT    NOT NULL,
    PRIMARY KEY (ticket_id, tag)
) WITHOUT ROWID;
CREATE INDEX ticket_tags_filter ON ticket_tags (tag, ticket_id);
-- How many tickets carry each tag, kept by triggers so the desk's tag list never counts
-- a million rows (and stays right when tickets go).
CREATE TABLE tag_counts (
    tag     TEXT    PRIMARY KEY,
    tickets INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER ticket_tags_counted AFTER INSERT ON ticket_tags BEGIN
    INSERT INTO tag_counts (tag, tickets) VALUES (new.tag, 1)
        ON CONFLICT (tag) DO UPDATE SET tickets = tickets + 1;
END;
CREATE TRIGGER ticket_tags_uncounted AFTER DELETE ON ticket_tags BEGIN
    UPDATE tag_counts SET tickets = tickets - 1 WHERE tag = old.tag;
    DELETE FROM tag_counts WHERE tag = old.tag AND tickets <= 0;
END;
