-- When each comment arrived (or was edited back into moderation): the moderation
-- queue is listed by it, newest first, not by the sender's `published`, which the
-- sender chooses. Rows from before take their `updated` date. Keep in step with the
-- SQLite migration.
ALTER TABLE comments ADD COLUMN received_at TIMESTAMPTZ;
UPDATE comments SET received_at = updated;
ALTER TABLE comments ALTER COLUMN received_at SET NOT NULL;
CREATE INDEX comments_queue ON comments (state, received_at, id);
-- Pending comments counted per author (the caps of `[moderation]`).
CREATE INDEX comments_author_state ON comments (author_id, state);
