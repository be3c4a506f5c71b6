-- Atrium as the OpenID Connect provider of its sister platforms
-- (ConnectivityPro, SecurityPro): the platforms operators register, the keys
-- that sign ID tokens, each person's subject identifier, authorization codes
-- and the access and refresh tokens issued from them. Every secret handed
-- out (client secrets, codes, tokens) is stored as its SHA-256 only.

-- How the session was proven, as OpenID Connect `amr` values ("pwd mfa otp").
-- Sessions from before this migration were signed in with a password and a code.
ALTER TABLE session ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd mfa';

-- A platform that signs people in through Atrium. Redirect URIs are matched
-- exactly; several are kept one per line.
CREATE TABLE oidc_platform (
    client_id                 TEXT    PRIMARY KEY,
    name                      TEXT    NOT NULL,
    secret_hash               TEXT    NOT NULL,
    redirect_uris             TEXT    NOT NULL,
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '',
    backchannel_logout_uri    TEXT,
    webhook_url               TEXT,
    created_at                INTEGER NOT NULL,
    CONSTRAINT oidc_platform_name_key UNIQUE (name)
);

-- RSA keys for ID tokens. The newest unretired key signs; a retired key
-- stays published in the JWKS until the tokens it signed have expired.
CREATE TABLE oidc_signing_key (
    kid         TEXT    PRIMARY KEY,
    private_pem TEXT    NOT NULL,          -- PKCS#8; never leaves the server
    public_n    TEXT    NOT NULL,          -- base64url modulus, for the JWKS
    public_e    TEXT    NOT NULL,          -- base64url exponent
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);

-- The `sub` claim: random, stable for the person, never their row id.
CREATE TABLE oidc_subject (
    user_id    INTEGER PRIMARY KEY,
    sub        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT oidc_subject_sub_key UNIQUE (sub),
    CONSTRAINT oidc_subject_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);

-- Authorization codes: single use, 60 seconds, bound to the client, the
-- redirect URI, the PKCE challenge and the Atrium session that approved them.
CREATE TABLE oidc_code (
    code_hash      TEXT    PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    user_id        INTEGER NOT NULL,
    session_hash   TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    nonce          TEXT,
    code_challenge TEXT    NOT NULL,
    auth_time      INTEGER NOT NULL,
    amr            TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    CONSTRAINT oidc_code_client_fk FOREIGN KEY (client_id) REFERENCES oidc_platform (client_id) ON DELETE CASCADE,
    CONSTRAINT oidc_code_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);

-- Access and refresh tokens. `family` names the code they descend from: a
-- reused code or refresh token revokes the whole family.
CREATE TABLE oidc_token (
    token_hash   TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL,         -- 'access' or 'refresh'
    family       TEXT    NOT NULL,
    client_id    TEXT    NOT NULL,
    user_id      INTEGER NOT NULL,
    session_hash TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    auth_time    INTEGER NOT NULL,
    amr          TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,                  -- a refresh token, once rotated
    CONSTRAINT oidc_token_kind_check CHECK (kind IN ('access', 'refresh')),
    CONSTRAINT oidc_token_client_fk FOREIGN KEY (client_id) REFERENCES oidc_platform (client_id) ON DELETE CASCADE,
    CONSTRAINT oidc_token_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX oidc_token_family_idx ON oidc_token (family);
CREATE INDEX oidc_token_session_idx ON oidc_token (session_hash);
