-- Accounts (organisations) and their members, invitations, the global
-- Support role, support requests and email changes made by support.

-- An organisation people belong to. Its name is what members see.
CREATE TABLE account (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Who belongs to which account, and as what. Exactly one owner per account:
-- the partial unique index makes a second owner impossible, and the services
-- never remove the last one (ownership moves by transfer only).
CREATE TABLE membership (
    account_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    role       TEXT    NOT NULL,  -- 'owner', 'admin' or 'user'
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT membership_pkey PRIMARY KEY (account_id, user_id),
    CONSTRAINT membership_role_check CHECK (role IN ('owner', 'admin', 'user')),
    CONSTRAINT membership_account_fk FOREIGN KEY (account_id) REFERENCES account (id) ON DELETE CASCADE,
    CONSTRAINT membership_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX membership_one_owner_idx ON membership (account_id) WHERE role = 'owner';
CREATE INDEX membership_user_idx ON membership (user_id);

-- An invitation to join an account, sent to an email address (which may not
-- belong to anyone yet). Only the token's SHA-256 is kept; the token is in
-- the mail. At most one pending invitation per address and account.
CREATE TABLE invitation (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL,
    email            TEXT    NOT NULL,  -- as typed, for display
    email_normalized TEXT    NOT NULL,  -- lower-cased; compared with "user".email_normalized
    role             TEXT    NOT NULL,  -- 'admin' or 'user': nobody is invited as owner
    invited_by       INTEGER,           -- NULL if that person was deleted
    token_hash       TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending',
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    responded_at     INTEGER,           -- accepted, declined or revoked at
    CONSTRAINT invitation_role_check CHECK (role IN ('admin', 'user')),
    CONSTRAINT invitation_status_check CHECK (status IN ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    CONSTRAINT invitation_token_key UNIQUE (token_hash),
    CONSTRAINT invitation_account_fk FOREIGN KEY (account_id) REFERENCES account (id) ON DELETE CASCADE,
    CONSTRAINT invitation_invited_by_fk FOREIGN KEY (invited_by) REFERENCES "user" (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX invitation_one_pending_idx ON invitation (account_id, email_normalized) WHERE status = 'pending';
CREATE INDEX invitation_email_idx ON invitation (email_normalized, status);

-- "First Last" lower-cased by the server (full Unicode rules), so that
-- support's name search behaves the same on SQLite, whose LOWER() knows only
-- ASCII, and PostgreSQL. Existing rows get the database's LOWER() once.
ALTER TABLE "user" ADD COLUMN name_search TEXT NOT NULL DEFAULT '';
UPDATE "user" SET name_search = LOWER(first_name || ' ' || last_name);

-- People with the global Support role. Granted only by the server's
-- `grant-support` command, never from the web.
CREATE TABLE support_staff (
    user_id    INTEGER PRIMARY KEY,
    granted_at INTEGER NOT NULL,
    CONSTRAINT support_staff_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);

-- A request filed from "Contact Global Technical Support", signed in or not
-- (someone who lost their authenticator cannot sign in). Answered by mail at
-- `email`; `user_id` is the person with that address, if any. Support staff
-- see open ones in the console and close them.
CREATE TABLE support_request (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER,
    email      TEXT    NOT NULL,
    topic      TEXT    NOT NULL,  -- 'email', 'mfa', 'roles' or 'other'
    message    TEXT    NOT NULL,
    status     TEXT    NOT NULL DEFAULT 'open',
    created_at INTEGER NOT NULL,
    closed_at  INTEGER,
    closed_by  INTEGER,
    CONSTRAINT support_request_status_check CHECK (status IN ('open', 'closed')),
    CONSTRAINT support_request_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE SET NULL,
    CONSTRAINT support_request_closed_by_fk FOREIGN KEY (closed_by) REFERENCES "user" (id) ON DELETE SET NULL
);
CREATE INDEX support_request_status_idx ON support_request (status, created_at);

-- An email change started by support: it applies only when the link mailed
-- to the new address is opened. A newer request replaces an unused one.
CREATE TABLE email_change (
    token_hash           TEXT    PRIMARY KEY,
    user_id              INTEGER NOT NULL,
    new_email            TEXT    NOT NULL,
    new_email_normalized TEXT    NOT NULL,
    ticket               TEXT    NOT NULL,
    requested_by         INTEGER,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    used_at              INTEGER,
    CONSTRAINT email_change_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT email_change_requested_by_fk FOREIGN KEY (requested_by) REFERENCES "user" (id) ON DELETE SET NULL
);
CREATE INDEX email_change_user_idx ON email_change (user_id);
