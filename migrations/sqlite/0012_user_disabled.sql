-- Accounts disabled by the operator (`maillage user disable`): they cannot sign in
-- and their sessions are ended; `user enable` clears it. Keep in step with the
-- PostgreSQL migration.
ALTER TABLE users ADD COLUMN disabled_at TEXT;
