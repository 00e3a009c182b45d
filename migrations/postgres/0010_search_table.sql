-- Full text on PostgreSQL reads a narrow table of its own instead of a generated column
-- of `actions`: one row per live action with text, its `tsvector`, and the two columns
-- a text search sorts and counts by (`updated`, `phase`). An `actions` row is about
-- 2 KB (three rows per page), so ranking or windowing a few thousand text matches read
-- as many pages of it; here they are ~15 to a page, and the newest ones are together.
-- Kept by a trigger, as FTS5 is on SQLite; deleted actions (and actions without text)
-- have no row. PostgreSQL only: SQLite's FTS5 table already is such an index.

CREATE TABLE action_search (
    action_id BIGINT PRIMARY KEY REFERENCES actions (id) ON DELETE CASCADE,
    updated TIMESTAMPTZ NOT NULL,
    phase TEXT NOT NULL,
    vector tsvector NOT NULL
);

-- Existing databases: the vectors already computed by the generated column.
INSERT INTO action_search (action_id, updated, phase, vector)
    SELECT id, updated, phase, search_vector FROM actions
    WHERE deleted_at IS NULL AND search_text <> '';
CREATE INDEX action_search_vector ON action_search USING GIN (vector);
ANALYZE action_search;

CREATE FUNCTION maillage_action_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NOT NULL OR NEW.search_text = '' THEN
        DELETE FROM action_search WHERE action_id = NEW.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.search_text = OLD.search_text THEN
        UPDATE action_search SET updated = NEW.updated, phase = NEW.phase
            WHERE action_id = NEW.id;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO action_search (action_id, updated, phase, vector)
        VALUES (NEW.id, NEW.updated, NEW.phase,
                to_tsvector('french', maillage_unaccent(NEW.search_text)))
        ON CONFLICT (action_id) DO UPDATE SET updated = EXCLUDED.updated,
            phase = EXCLUDED.phase, vector = EXCLUDED.vector;
    RETURN NULL;
END
$$;

CREATE TRIGGER actions_search AFTER INSERT OR UPDATE OF search_text, updated, phase, deleted_at
    ON actions FOR EACH ROW EXECUTE FUNCTION maillage_action_search();

-- The generated column and its GIN index are no longer read.
ALTER TABLE actions DROP COLUMN search_vector;

-- A page of the directory walks an index in its order (`actions_updated`, or
-- `action_search` by id for the newest text matches) and stops after a few rows. Run in
-- parallel (Gather Merge), such a walk keeps its workers reading far past those rows:
-- `bbox=…` at 1 000 000 actions took 700 ms instead of 9 ms. Counting whole result sets
-- loses the parallel scans it could have, a smaller cost.
ALTER TABLE actions SET (parallel_workers = 0);
ALTER TABLE action_search SET (parallel_workers = 0);
