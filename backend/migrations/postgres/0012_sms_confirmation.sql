-- Texted sign-in codes are turned on only after the number has proved it
-- reaches the person: a code texted to it is typed back within 10 minutes.
-- One pending confirmation per person; the code is stored salted and hashed.
CREATE TABLE sms_confirmation (
    user_id    BIGINT  PRIMARY KEY,
    phone      TEXT    NOT NULL,  -- E.164, as the code was sent to
    salt       TEXT    NOT NULL,
    code_hash  TEXT    NOT NULL,
    attempts   BIGINT  NOT NULL DEFAULT 0,  -- wrong codes so far; 5 end it
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    CONSTRAINT sms_confirmation_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
