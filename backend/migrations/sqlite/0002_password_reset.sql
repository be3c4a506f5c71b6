-- Password reset links (Security tab and "Forgot password?"). Only the
-- SHA-256 of the mailed token is stored; a link works once, for 30 minutes,
-- and sending a new one deletes the unused earlier ones.
CREATE TABLE password_reset (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    CONSTRAINT password_reset_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX password_reset_user_id_idx ON password_reset (user_id);
