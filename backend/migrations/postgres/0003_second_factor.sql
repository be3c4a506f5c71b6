-- Second factor at sign-in. Every person has exactly one active method;
-- email codes are the default. A sign-in whose password was right but whose
-- second factor is still owed is an mfa_challenge row (10 minutes at most).
ALTER TABLE "user" ADD COLUMN mfa_method TEXT NOT NULL DEFAULT 'email'
    CONSTRAINT user_mfa_method_check CHECK (mfa_method IN ('email', 'sms', 'authenticator'));

-- When the password was last typed in this session (sign-in or re-entry);
-- changing the sign-in method needs it within the last 10 minutes.
ALTER TABLE session ADD COLUMN password_confirmed_at BIGINT;

CREATE TABLE mfa_challenge (
    id_hash      TEXT    PRIMARY KEY,  -- SHA-256 of the token in the short-lived cookie
    user_id      BIGINT NOT NULL,
    method       TEXT    NOT NULL,
    code_hash    TEXT,                 -- emailed or texted code; NULL for the authenticator
    attempts     BIGINT NOT NULL DEFAULT 0,  -- wrong codes so far; 5 end the challenge
    sends        BIGINT NOT NULL DEFAULT 0,
    last_sent_at BIGINT,
    created_at   BIGINT NOT NULL,     -- when the password was entered
    expires_at   BIGINT NOT NULL,
    CONSTRAINT mfa_challenge_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX mfa_challenge_user_id_idx ON mfa_challenge (user_id);
