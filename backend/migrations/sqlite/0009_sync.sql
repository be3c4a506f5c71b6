-- Keeping sister platforms in sync: a transactional outbox of
-- change events, one delivery row per event and platform (signed webhooks,
-- Standard Webhooks format), and which platforms each person uses.

-- Every change event of a person bumps this; events carry it as "version",
-- so a platform can tell the newest state from a late retry.
ALTER TABLE "user" ADD COLUMN sync_version INTEGER NOT NULL DEFAULT 0;

-- The key webhooks are signed with (Standard Webhooks "whsec_" + base64).
-- Kept as is, since signing needs it; printed once by platform add.
ALTER TABLE oidc_platform ADD COLUMN webhook_secret TEXT;

-- A person signed in to a platform at least once: the platforms that hear
-- of that person's changes, and the "Platforms" card.
CREATE TABLE oidc_platform_user (
    client_id     TEXT    NOT NULL,
    user_id       INTEGER NOT NULL,
    first_used_at INTEGER NOT NULL,
    scope         TEXT    NOT NULL,          -- the last grant's scopes: which claims it may hear of
    last_used_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, user_id),
    CONSTRAINT oidc_platform_user_client_fk FOREIGN KEY (client_id) REFERENCES oidc_platform (client_id) ON DELETE CASCADE,
    CONSTRAINT oidc_platform_user_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX oidc_platform_user_user_idx ON oidc_platform_user (user_id);

-- The outbox: written in the same transaction as the change it describes.
-- No foreign key to "user": the event of a deletion outlives the row.
CREATE TABLE change_event (
    id         TEXT    PRIMARY KEY,       -- "msg_" + random, the webhook-id
    user_id    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    type       TEXT    NOT NULL,          -- e.g. "person.updated"
    payload    TEXT    NOT NULL,          -- the JSON body sent, never secrets
    created_at INTEGER NOT NULL,
    CONSTRAINT change_event_version_key UNIQUE (user_id, version)
);

-- One row per event and platform. Pending rows are claimed with a lease;
-- a 2xx marks them delivered; after 24 hours of failures they are dead.
CREATE TABLE webhook_delivery (
    event_id        TEXT    NOT NULL,
    client_id       TEXT    NOT NULL,
    user_id         INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    PRIMARY KEY (event_id, client_id),
    CONSTRAINT webhook_delivery_status_check CHECK (status IN ('pending', 'delivered', 'dead')),
    CONSTRAINT webhook_delivery_event_fk FOREIGN KEY (event_id) REFERENCES change_event (id) ON DELETE CASCADE,
    CONSTRAINT webhook_delivery_client_fk FOREIGN KEY (client_id) REFERENCES oidc_platform (client_id) ON DELETE CASCADE
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (status, next_attempt_at);
CREATE INDEX webhook_delivery_order_idx ON webhook_delivery (client_id, user_id, version);
