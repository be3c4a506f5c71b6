-- Authenticator apps (TOTP) and recovery codes. The secret is what the app
-- holds too, so it is stored as is (base32) and never leaves the server after
-- enrolment. During enrolment it waits in pending_secret, unchanged across
-- reloads, and becomes the active secret only when a valid code is entered.
CREATE TABLE mfa_authenticator (
    user_id        BIGINT PRIMARY KEY,
    secret         TEXT,     -- active; NULL until enrolment completes
    last_used_step BIGINT,  -- codes of this step or earlier are refused (no replay)
    pending_secret TEXT,     -- shown as QR and setup key until confirmed or cancelled
    updated_at     BIGINT NOT NULL,
    CONSTRAINT mfa_authenticator_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);

-- Ten single-use codes per enrolment, stored as SHA-256 only.
CREATE TABLE recovery_code (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    code_hash  TEXT    NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL,
    CONSTRAINT recovery_code_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT recovery_code_user_hash_key UNIQUE (user_id, code_hash)
);
