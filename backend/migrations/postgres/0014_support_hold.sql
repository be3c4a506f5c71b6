-- A change support makes to someone's sign-in (their email address, or
-- their sign-in method switched to emailed codes) waits 24 hours, unless
-- the person approves it from the address they sign in with now. That
-- address also gets a "This was not me" link, which works for 7 days: it
-- cancels the change, or undoes it, and signs every device out. Someone who
-- talked support into a change thus cannot take an account over quietly.
CREATE TABLE support_hold (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              BIGINT NOT NULL,
    kind                 TEXT    NOT NULL,  -- 'email' or 'mfa'
    ticket               TEXT    NOT NULL,
    requested_by         BIGINT,
    old_email            TEXT    NOT NULL,  -- where the two links went
    old_email_normalized TEXT    NOT NULL,
    new_email            TEXT,              -- kind 'email'
    new_email_normalized TEXT,
    approve_hash         TEXT    NOT NULL UNIQUE,
    undo_hash            TEXT    NOT NULL UNIQUE,
    created_at           BIGINT NOT NULL,
    hold_until           BIGINT NOT NULL,  -- released by itself from then on
    undo_until           BIGINT NOT NULL,
    released_at          BIGINT,           -- approved, or the hold ran out
    undone_at            BIGINT,
    CONSTRAINT support_hold_kind_check CHECK (kind IN ('email', 'mfa')),
    CONSTRAINT support_hold_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT support_hold_requested_by_fk FOREIGN KEY (requested_by) REFERENCES "user" (id) ON DELETE SET NULL
);
CREATE INDEX support_hold_due_idx ON support_hold (hold_until) WHERE released_at IS NULL AND undone_at IS NULL;
