-- Maillage foundation: actors (local and remote), actions, activities, follows, API tokens.
-- Keep in step with migrations/sqlite/0001_foundation.sql: same tables, same columns,
-- same names, so that the SQL in src/db/ is shared by both engines.
-- PostgreSQL column types: TIMESTAMPTZ, DATE, UUID; JSON documents TEXT (shared SQL).

CREATE TABLE actors (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_type TEXT NOT NULL,
    local BOOLEAN NOT NULL,
    username TEXT NOT NULL,
    domain TEXT NOT NULL,
    name TEXT NOT NULL,
    summary TEXT,
    kind TEXT,
    insee TEXT,
    siren TEXT,
    epci_siren TEXT,
    departement TEXT,
    region TEXT,
    population BIGINT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    address TEXT,
    website TEXT,
    icon TEXT,
    labels TEXT NOT NULL DEFAULT '[]',
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT,
    published TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    last_refreshed_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT actors_username_domain_key UNIQUE (username, domain)
);
CREATE INDEX actors_local_type ON actors (local, actor_type);

CREATE TABLE actions (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID NOT NULL UNIQUE,
    ap_id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    local BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    summary TEXT,
    content_html TEXT NOT NULL,
    content_source TEXT,
    results_html TEXT,
    results_source TEXT,
    recommendations_html TEXT,
    recommendations_source TEXT,
    phase TEXT NOT NULL,
    status TEXT NOT NULL,
    themes TEXT NOT NULL,
    locations TEXT NOT NULL,
    start_date DATE,
    end_date DATE,
    budget_eur BIGINT,
    open_to_partners BOOLEAN NOT NULL,
    partners TEXT NOT NULL DEFAULT '[]',
    software TEXT NOT NULL DEFAULT '[]',
    providers TEXT NOT NULL DEFAULT '[]',
    links TEXT NOT NULL DEFAULT '[]',
    images TEXT NOT NULL DEFAULT '[]',
    contacts TEXT NOT NULL DEFAULT '[]',
    contacts_public BOOLEAN NOT NULL,
    published TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX actions_actor ON actions (actor_id, id);

CREATE TABLE action_themes (
    action_id BIGINT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    theme TEXT NOT NULL,
    PRIMARY KEY (action_id, theme)
);
CREATE INDEX action_themes_theme ON action_themes (theme);

CREATE TABLE activities (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_id BIGINT REFERENCES actors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    object_ap_id TEXT,
    payload TEXT NOT NULL,
    local BOOLEAN NOT NULL,
    published TIMESTAMPTZ NOT NULL
);
CREATE INDEX activities_actor_kind ON activities (actor_id, kind, id);
CREATE INDEX activities_object ON activities (object_ap_id);

CREATE TABLE follows (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT UNIQUE,
    follower_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    followed_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    published TIMESTAMPTZ NOT NULL,
    CONSTRAINT follows_pair_key UNIQUE (follower_id, followed_id)
);
CREATE INDEX follows_followed ON follows (followed_id, state);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    actor_id BIGINT REFERENCES actors (id) ON DELETE CASCADE,
    admin BOOLEAN NOT NULL,
    label TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
