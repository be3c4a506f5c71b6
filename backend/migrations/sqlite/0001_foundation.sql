-- Foundation schema (SQLite): people, their server-side sessions, email
-- verification links, sign-in throttling, generic rate limits and the audit
-- trail. Times are Unix seconds (UTC) in INTEGER columns so that the same
-- queries run unchanged on PostgreSQL (BIGINT there).

-- One row per person. The email is kept as typed for display; uniqueness is
-- enforced on its lower-cased form so "Ann@x.org" and "ann@x.org" collide.
CREATE TABLE "user" (
    id                  INTEGER PRIMARY KEY,
    email               TEXT    NOT NULL,
    email_normalized    TEXT    NOT NULL,
    first_name          TEXT    NOT NULL,
    last_name           TEXT    NOT NULL,
    phone               TEXT,
    password_hash       TEXT    NOT NULL,          -- argon2id PHC string, never sent to a browser
    password_changed_at INTEGER NOT NULL,
    email_verified_at   INTEGER,                   -- NULL until the verification link is opened
    version             INTEGER NOT NULL DEFAULT 1, -- bumped on every profile change (optimistic locking)
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CONSTRAINT user_email_normalized_key UNIQUE (email_normalized)
);

-- A signed-in browser. The cookie carries 256 random bits; only their SHA-256
-- is stored, so a copy of this table cannot be replayed as a cookie.
CREATE TABLE session (
    id_hash      TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,  -- idle timeout counts from here
    expires_at   INTEGER NOT NULL,  -- absolute lifetime end
    ip           TEXT,
    user_agent   TEXT,
    CONSTRAINT session_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX session_user_id_idx ON session (user_id);

-- Single-use email verification links; the token itself is only in the mail.
CREATE TABLE email_verification (
    token_hash       TEXT    PRIMARY KEY,
    user_id          INTEGER NOT NULL,
    email_normalized TEXT    NOT NULL,  -- the address the link proves
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER,
    CONSTRAINT email_verification_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX email_verification_user_id_idx ON email_verification (user_id);

-- Failed sign-in counters, keyed "account:<email>" or "ip:<address>". Kept in
-- the database so that every server instance sees the same counts. The delay
-- owed is derived from (failures, last_failure_at), so one upsert records a failure.
CREATE TABLE sign_in_throttle (
    key             TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
);

-- Fixed-window counters for actions such as resending a verification mail.
CREATE TABLE rate_limit (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);

-- Who did what, when, from where. user_id survives as NULL if the user is deleted.
CREATE TABLE audit_event (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER,
    kind       TEXT    NOT NULL,  -- e.g. 'user.signed_up', 'session.sign_in_failed'
    detail     TEXT,
    ip         TEXT,
    user_agent TEXT,
    created_at INTEGER NOT NULL,
    CONSTRAINT audit_event_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE SET NULL
);
CREATE INDEX audit_event_user_created_idx ON audit_event (user_id, created_at);
