-- Profile editing and avatars. A person's avatar is their own, the same on
-- every account they belong to, so it hangs off "user". Kept in the database
-- (not on local disk) so that every server instance can serve it.

-- The colour of the generated avatar (initials on a colour); NULL means the
-- default colour. Shown whenever there is no picture.
ALTER TABLE "user" ADD COLUMN avatar_color TEXT;

-- At most one picture per person. The three renditions are what browsers
-- get; the original (at most 10 MB, as uploaded) and the last crop let the
-- editor reopen on the full image. `hash` is derived from the renditions and
-- names their URL, so a new picture gets a new URL and the old one is gone.
CREATE TABLE avatar (
    user_id       BIGINT  PRIMARY KEY,
    hash          TEXT    NOT NULL,
    original      BYTEA   NOT NULL,
    original_type TEXT    NOT NULL,
    crop_x        BIGINT  NOT NULL,
    crop_y        BIGINT  NOT NULL,
    crop_size     BIGINT  NOT NULL,
    rotation      BIGINT  NOT NULL,  -- degrees clockwise: 0, 90, 180 or 270
    image_512     BYTEA   NOT NULL,
    image_128     BYTEA   NOT NULL,
    image_64      BYTEA   NOT NULL,
    content_type  TEXT    NOT NULL,  -- of the renditions
    created_at    BIGINT  NOT NULL,
    CONSTRAINT avatar_user_fk FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT avatar_hash_key UNIQUE (hash)
);
