-- Times are unix seconds (INTEGER) and flags are 0/1 INTEGERs: the portable subset
-- that sqlx's Any driver reads on both backends. Keep in step with ../postgres.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE, -- stored lower-cased
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'agent', 'admin')),
    password_hash TEXT    NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX users_role_active ON users (role, active);

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    public     INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups (lower(name));

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- Named sequences handed out with `UPDATE … RETURNING` so numbers never repeat or skip.
CREATE TABLE counters (
    name       TEXT    PRIMARY KEY,
    next_value INTEGER NOT NULL
);
INSERT INTO counters (name, next_value) VALUES ('ticket_number', 1001);

CREATE TABLE tickets (
    id                    INTEGER PRIMARY KEY,
    number                INTEGER NOT NULL UNIQUE,
    prefix                TEXT    NOT NULL,
    subject               TEXT    NOT NULL,
    requester_id          INTEGER NOT NULL REFERENCES users (id),
    group_id              INTEGER NOT NULL REFERENCES groups (id),
    assignee_id           INTEGER REFERENCES users (id),
    priority              TEXT    NOT NULL DEFAULT 'medium'
                          CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    status                TEXT    NOT NULL DEFAULT 'new'
                          CHECK (status IN ('new', 'open', 'pending', 'on_hold', 'resolved', 'closed')),
    version               INTEGER NOT NULL DEFAULT 1,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    public_updated_at INTEGER NOT NULL, -- the last change a customer can see
    first_response_at     INTEGER,
    first_response_due_at INTEGER,
    resolution_due_at     INTEGER,
    due_at                INTEGER, -- the nearest unmet target; what the queues sort and filter on
    sla_paused_at         INTEGER, -- set while pending: that time does not count against targets
    resolved_at           INTEGER,
    closed_at             INTEGER,
    time_spent_minutes    INTEGER NOT NULL DEFAULT 0,
    rating                INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment        TEXT,
    rated_at              INTEGER,
    merged_into_id        INTEGER REFERENCES tickets (id),
    follow_up_of_id       INTEGER REFERENCES tickets (id),
    customer_wrote_last   INTEGER NOT NULL DEFAULT 1 CHECK (customer_wrote_last IN (0, 1))
);
CREATE INDEX tickets_requester_updated ON tickets (requester_id, public_updated_at);
CREATE INDEX tickets_status_updated ON tickets (status, updated_at);
CREATE INDEX tickets_assignee_status ON tickets (assignee_id, status, updated_at);
CREATE INDEX tickets_group_status ON tickets (group_id, status, updated_at);
CREATE INDEX tickets_open_due ON tickets (due_at) WHERE status IN ('new', 'open', 'pending', 'on_hold');
-- The desk's open-work views read newest first: scanning these partial indexes in order
-- finds a page of 50 without sorting the hundreds of thousands of open tickets. Open work
-- is written as an IN list, here and in every query, so that both planners match the
-- queries to these indexes and can seek the status index to each open status.
CREATE INDEX tickets_active_updated ON tickets (updated_at) WHERE status IN ('new', 'open', 'pending', 'on_hold');
CREATE INDEX tickets_active_assignee ON tickets (assignee_id, updated_at) WHERE status IN ('new', 'open', 'pending', 'on_hold');
CREATE INDEX tickets_merged_into ON tickets (merged_into_id) WHERE merged_into_id IS NOT NULL;
CREATE INDEX tickets_resolved_at ON tickets (resolved_at) WHERE status = 'resolved';

-- The timeline: public messages, internal notes and system events.
CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY,
    ticket_id          INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind               TEXT    NOT NULL CHECK (kind IN ('message', 'note', 'event')),
    author_id          INTEGER REFERENCES users (id),
    body               TEXT    NOT NULL DEFAULT '',
    event              TEXT, -- for kind 'event': what changed (status, priority, group, assignee, merge, reopen, rating, …)
    old_value          TEXT,
    new_value          TEXT,
    public             INTEGER NOT NULL CHECK (public IN (0, 1)), -- may a customer see it
    time_spent_minutes INTEGER NOT NULL DEFAULT 0,
    source             TEXT    NOT NULL DEFAULT 'web' CHECK (source IN ('web', 'email', 'api', 'system')),
    email_message_id   TEXT,
    ticket_version     INTEGER NOT NULL, -- the ticket's version this entry produced
    created_at         INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE UNIQUE INDEX messages_email_message_id ON messages (email_message_id) WHERE email_message_id IS NOT NULL;

CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE setup_tokens (
    token_hash TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    key       TEXT    NOT NULL, -- 'account:<email>' or 'address:<ip>'
    failed_at INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, failed_at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    ticket_id       INTEGER REFERENCES tickets (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    recipient_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    recipient_email TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER,
    locked_by       TEXT,
    last_error      TEXT,
    rfc_message_id  TEXT    UNIQUE,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE notification_preferences (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT    NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Append-only: the application never updates or deletes these rows.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    actor_id     INTEGER REFERENCES users (id),
    action       TEXT    NOT NULL,
    object_type  TEXT    NOT NULL,
    object_id    TEXT    NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, created_at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, created_at);

INSERT INTO groups (name, public, created_at, updated_at)
VALUES ('General', 1, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER));
