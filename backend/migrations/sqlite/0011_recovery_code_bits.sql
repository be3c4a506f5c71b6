-- Recovery codes are 20 characters (about 99 bits) since this migration;
-- the codes made before are 10 (about 49 bits) and keep working until the
-- person makes new ones, which the Security tab asks them to do.
ALTER TABLE recovery_code ADD COLUMN bits INTEGER NOT NULL DEFAULT 49;
