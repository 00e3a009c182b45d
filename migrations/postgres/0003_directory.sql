-- The directory's search side (SPEC §4): the text of each action for full-text search,
-- its territory (from its places and the referential) for filters and the map, and
-- the software and providers it names ("who uses what").
-- Keep in step with migrations/sqlite/0003_directory.sql (full text differs: a
-- tsvector with unaccent and the french configuration here, FTS5 there).

-- unaccent lives in public so that every schema (tests use one each) can reach it;
-- the wrapper is IMMUTABLE so that a generated column may use it.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
CREATE OR REPLACE FUNCTION maillage_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

ALTER TABLE actions ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('french', maillage_unaccent(search_text))) STORED;
CREATE INDEX actions_search ON actions USING GIN (search_vector);

CREATE TABLE action_places (
    action_id BIGINT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
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
    action_id BIGINT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    sill_id TEXT,
    comptoir_id TEXT,
    wikidata TEXT
);
CREATE INDEX action_software_action ON action_software (action_id);
CREATE INDEX action_software_key ON action_software (name_key, action_id);

CREATE TABLE action_providers (
    action_id BIGINT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
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
