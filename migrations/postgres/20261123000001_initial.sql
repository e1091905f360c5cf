-- Times are unix seconds (BIGINT) and flags BOOLEAN, read through sqlx's Any driver.
-- Keep in step with ../sqlite: same tables, columns, constraints and indexes.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE, -- stored lower-cased
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'agent', 'admin')),
    password_hash TEXT    NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX users_role_active ON users (role, active);

CREATE TABLE groups (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL,
    public     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups (lower(name));

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- Named sequences handed out with `UPDATE … RETURNING` so numbers never repeat or skip.
CREATE TABLE counters (
    name       TEXT    PRIMARY KEY,
    next_value BIGINT NOT NULL
);
INSERT INTO counters (name, next_value) VALUES ('ticket_number', 1001);

CREATE TABLE tickets (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number                BIGINT NOT NULL UNIQUE,
    prefix                TEXT    NOT NULL,
    subject               TEXT    NOT NULL,
    requester_id          BIGINT NOT NULL REFERENCES users (id),
    group_id              BIGINT NOT NULL REFERENCES groups (id),
    assignee_id           BIGINT REFERENCES users (id),
    priority              TEXT    NOT NULL DEFAULT 'medium'
                          CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    status                TEXT    NOT NULL DEFAULT 'new'
                          CHECK (status IN ('new', 'open', 'pending', 'on_hold', 'resolved', 'closed')),
    version               BIGINT NOT NULL DEFAULT 1,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    public_updated_at BIGINT NOT NULL, -- the last change a customer can see
    first_response_at     BIGINT,
    first_response_due_at BIGINT,
    resolution_due_at     BIGINT,
    due_at                BIGINT, -- the nearest unmet target; what the queues sort and filter on
    sla_paused_at         BIGINT, -- set while pending: that time does not count against targets
    resolved_at           BIGINT,
    closed_at             BIGINT,
    time_spent_minutes    BIGINT NOT NULL DEFAULT 0,
    rating                BIGINT CHECK (rating BETWEEN 1 AND 5),
    rating_comment        TEXT,
    rated_at              BIGINT,
    merged_into_id        BIGINT REFERENCES tickets (id),
    follow_up_of_id       BIGINT REFERENCES tickets (id),
    customer_wrote_last   BOOLEAN NOT NULL DEFAULT TRUE
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
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id          BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind               TEXT    NOT NULL CHECK (kind IN ('message', 'note', 'event')),
    author_id          BIGINT REFERENCES users (id),
    body               TEXT    NOT NULL DEFAULT '',
    event              TEXT, -- for kind 'event': what changed (status, priority, group, assignee, merge, reopen, rating, …)
    old_value          TEXT,
    new_value          TEXT,
    public             BOOLEAN NOT NULL, -- may a customer see it
    time_spent_minutes BIGINT NOT NULL DEFAULT 0,
    source             TEXT    NOT NULL DEFAULT 'web' CHECK (source IN ('web', 'email', 'api', 'system')),
    email_message_id   TEXT,
    ticket_version     BIGINT NOT NULL, -- the ticket's version this entry produced
    created_at         BIGINT NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE UNIQUE INDEX messages_email_message_id ON messages (email_message_id) WHERE email_message_id IS NOT NULL;

CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT    NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE setup_tokens (
    token_hash TEXT    PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE login_failures (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key       TEXT    NOT NULL, -- 'account:<email>' or 'address:<ip>'
    failed_at BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, failed_at);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT    NOT NULL,
    ticket_id       BIGINT REFERENCES tickets (id) ON DELETE CASCADE,
    message_id      BIGINT REFERENCES messages (id) ON DELETE CASCADE,
    recipient_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    recipient_email TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT,
    locked_by       TEXT,
    last_error      TEXT,
    rfc_message_id  TEXT    UNIQUE,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE notification_preferences (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT    NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_by   BIGINT REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE canned_responses (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Append-only: the application never updates or deletes these rows.
CREATE TABLE audit_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id     BIGINT REFERENCES users (id),
    action       TEXT    NOT NULL,
    object_type  TEXT    NOT NULL,
    object_id    TEXT    NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, created_at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, created_at);

INSERT INTO groups (name, public, created_at, updated_at)
VALUES ('General', TRUE, EXTRACT(EPOCH FROM now())::BIGINT, EXTRACT(EPOCH FROM now())::BIGINT);
