-- The customers copied on a ticket: they see it, may answer it, and get its public
-- notifications. Keep in step with ../postgres.
CREATE TABLE ticket_cc (
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
-- A customer's "copied to me" list, and the viewer rule's check, are one index range.
CREATE INDEX ticket_cc_user ON ticket_cc (user_id, ticket_id);
-- How a contact likes to be reached, for staff who call as well as write.
ALTER TABLE users ADD COLUMN preferred_contact TEXT NOT NULL DEFAULT 'email' CHECK (preferred_contact IN ('email', 'phone'));
