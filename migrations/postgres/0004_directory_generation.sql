-- A counter bumped by every change to what the directory searches (action writes,
-- partner changes, remote actor deletions), in the same transaction: cached counts and
-- facets are valid for one generation. Keep in step with the SQLite migration.
CREATE TABLE directory_state (
    id INTEGER PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO directory_state (id, generation) VALUES (1, 0);
