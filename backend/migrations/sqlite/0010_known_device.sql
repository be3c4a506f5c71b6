-- Browsers that have signed in to an account: a long-lived device cookie
-- (only its hash is kept) lets such a browser count its own sign-in
-- failures, so nobody else's wrong guesses can keep its owner out. One
-- browser can be known to several accounts.
CREATE TABLE known_device (
    id_hash      TEXT    NOT NULL,
    user_id      INTEGER  NOT NULL,
    created_at   INTEGER  NOT NULL,
    last_used_at INTEGER  NOT NULL,
    PRIMARY KEY (id_hash, user_id),
    CONSTRAINT known_device_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX known_device_used_idx ON known_device (last_used_at);
