-- Accounts disabled by the operator (`maillage user disable`): they cannot sign in
-- and their sessions are ended; `user enable` clears it. Keep in step with the
-- SQLite migration.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
