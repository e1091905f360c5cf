-- Organisations: the companies customers belong to. Keep in step with ../sqlite.
CREATE TABLE organisations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL,
    notes      TEXT    NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX organisations_name ON organisations (lower(name));
-- A mail domain names one organisation: a new customer at it joins that organisation.
CREATE TABLE organisation_domains (
    domain          TEXT   PRIMARY KEY, -- lower-cased, without '@'
    organisation_id BIGINT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE
);
CREATE INDEX organisation_domains_organisation ON organisation_domains (organisation_id);
-- A contact's organisation; a manager sees and answers every ticket of it.
ALTER TABLE users ADD COLUMN organisation_id BIGINT REFERENCES organisations (id) ON DELETE SET NULL;
ALTER TABLE users ADD COLUMN org_manager BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT '';
CREATE INDEX users_organisation ON users (organisation_id) WHERE organisation_id IS NOT NULL;
-- A ticket's organisation is its requester's, kept on the ticket so that the organisation's
-- list is one index range at any size.
ALTER TABLE tickets ADD COLUMN organisation_id BIGINT REFERENCES organisations (id) ON DELETE SET NULL;
CREATE INDEX tickets_organisation_updated ON tickets (organisation_id, public_updated_at) WHERE organisation_id IS NOT NULL;
