-- The directory's search side (SPEC §4): the text of each action for full-text search,
-- its territory (from its places and the referential) for filters and the map, and
-- the software and providers it names ("who uses what").
-- Keep in step with migrations/postgres/0003_directory.sql (full text differs: FTS5
-- here, tsvector there).

ALTER TABLE actions ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE TABLE action_places (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    insee TEXT,
    departement TEXT,
    region TEXT,
    epci TEXT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION
);
CREATE INDEX action_places_action ON action_places (action_id);
CREATE INDEX action_places_departement ON action_places (departement, action_id);
CREATE INDEX action_places_region ON action_places (region, action_id);
CREATE INDEX action_places_insee ON action_places (insee);
CREATE INDEX action_places_epci ON action_places (epci);
CREATE INDEX action_places_point ON action_places (lat, lon);

CREATE TABLE action_software (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    sill_id TEXT,
    comptoir_id TEXT,
    wikidata TEXT
);
CREATE INDEX action_software_action ON action_software (action_id);
CREATE INDEX action_software_key ON action_software (name_key, action_id);

CREATE TABLE action_providers (
    action_id INTEGER NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    siren TEXT
);
CREATE INDEX action_providers_action ON action_providers (action_id);
CREATE INDEX action_providers_key ON action_providers (name_key, action_id);

CREATE INDEX actions_updated ON actions (updated);
-- Facet counts group the index tables by value: (value, action) indexes cover them.
CREATE INDEX action_themes_theme_action ON action_themes (theme, action_id);
CREATE INDEX actions_phase ON actions (phase);

-- FTS5 over search_text, kept in step by triggers; accents folded by the tokenizer.
CREATE VIRTUAL TABLE actions_fts USING fts5(
    search_text,
    content = 'actions',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER actions_fts_insert AFTER INSERT ON actions BEGIN
    INSERT INTO actions_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER actions_fts_delete AFTER DELETE ON actions BEGIN
    INSERT INTO actions_fts (actions_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER actions_fts_update AFTER UPDATE OF search_text ON actions BEGIN
    INSERT INTO actions_fts (actions_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO actions_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
