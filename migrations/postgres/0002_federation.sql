-- Federation traffic: the persistent delivery queue, inbound idempotence, the health
-- of remote instances, and plain posts of followed actors.
-- Keep in step with migrations/sqlite/0002_federation.sql.

-- One row per (activity, inbox): written in the same transaction as the change that
-- caused the activity; claimed by workers; never deleted before it is done or failed.
CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    activity_id BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    domain TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    last_status BIGINT,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT deliveries_activity_inbox_key UNIQUE (activity_id, inbox)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

-- Ids of inbound activities already applied (SPEC §3: idempotent inbox).
CREATE TABLE received_activities (
    ap_id TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL
);

-- Remote instances: failures in a row, and whether deliveries are suspended.
CREATE TABLE instances (
    domain TEXT PRIMARY KEY,
    failures BIGINT NOT NULL DEFAULT 0,
    first_failure_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    unreachable_since TIMESTAMPTZ
);

-- Plain posts (Note, Page, Article without mai: terms) of followed actors.
CREATE TABLE posts (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT,
    content_html TEXT NOT NULL,
    url TEXT,
    published TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE INDEX posts_actor ON posts (actor_id, id);
