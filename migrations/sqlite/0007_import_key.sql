-- Spreadsheet imports (`maillage import`): the key of the row an action was imported
-- from (its `reference` cell, or a hash of the row), so that importing the same file
-- again creates nothing twice. NULL for actions written any other way.
-- Keep in step with migrations/postgres/0007_import_key.sql.
ALTER TABLE actions ADD COLUMN import_key TEXT;
CREATE UNIQUE INDEX actions_import_key ON actions (actor_id, import_key)
    WHERE import_key IS NOT NULL;
