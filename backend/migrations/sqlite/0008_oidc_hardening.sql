-- OpenID Connect hardening.

-- A platform sign-in waiting while the person signs in to Atrium. The
-- browser holds only a random id (HttpOnly cookie); the request and when it
-- was sent to sign-in stay here, so neither can be forged or replanted.
CREATE TABLE oidc_pending (
    id_hash    TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    query      TEXT    NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CONSTRAINT oidc_pending_client_fk FOREIGN KEY (client_id) REFERENCES oidc_platform (client_id) ON DELETE CASCADE
);
CREATE INDEX oidc_pending_expires_idx ON oidc_pending (expires_at);

-- A rotated-in key is published before it signs anything, so platforms
-- that cache the JWKS know it by then: it signs from active_from on.
ALTER TABLE oidc_signing_key ADD COLUMN active_from INTEGER NOT NULL DEFAULT 0;
UPDATE oidc_signing_key SET active_from = created_at;

-- Codes are swept once expired.
CREATE INDEX oidc_code_expires_idx ON oidc_code (expires_at);
