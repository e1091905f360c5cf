-- Files on messages. Keep in step with ../postgres.
-- A blob is a file's content, stored once under its SHA-256 however often it is sent.
-- `touched_at` moves each time an upload brings it: background work deletes a blob that no
-- attachment uses only once it has not been touched for an hour (an upload in progress
-- has touched it, and is not yet attached).
CREATE TABLE blobs (
    sha256       TEXT    PRIMARY KEY,
    size         INTEGER NOT NULL,
    content_type TEXT    NOT NULL, -- sniffed from the bytes, never the sender's claim
    touched_at   INTEGER NOT NULL
);
CREATE INDEX blobs_touched ON blobs (touched_at);
-- An attachment is one file on one message, under the name it was sent with. `public_id`
-- is what links name: random, so that an attachment cannot be guessed from another's.
CREATE TABLE attachments (
    id         INTEGER PRIMARY KEY,
    public_id  TEXT    NOT NULL UNIQUE,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    sha256     TEXT    NOT NULL, -- a blob; no foreign key: blobs go with their last attachment
    filename   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER,
    removed_by INTEGER REFERENCES users (id)
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_blob ON attachments (sha256);
