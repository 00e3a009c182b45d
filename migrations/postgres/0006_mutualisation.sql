-- Mutualisation and exchange (SPEC §5): partnership requests, comments, interest
-- (Like/Announce), moderation reports and blocks.
-- Keep in step with migrations/sqlite/0006_mutualisation.sql.

-- One row per (action, requesting collectivité): a Join, its answer, a Leave.
CREATE TABLE partnerships (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    action_ap_id TEXT NOT NULL,
    action_name TEXT NOT NULL,
    requester_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    owner_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (action_ap_id, requester_id)
);
CREATE INDEX partnerships_requester ON partnerships (requester_id, id);
CREATE INDEX partnerships_owner ON partnerships (owner_id, id);

-- Replies to local actions: from the fediverse (pending moderation unless trusted) or
-- written by a local editor.
CREATE TABLE comments (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID NOT NULL UNIQUE,
    ap_id TEXT NOT NULL UNIQUE,
    action_id BIGINT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    in_reply_to TEXT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    local BOOLEAN NOT NULL,
    content_html TEXT NOT NULL,
    url TEXT,
    state TEXT NOT NULL,
    published TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
CREATE INDEX comments_action ON comments (action_id, state, published);
CREATE INDEX comments_state ON comments (state, id);

-- Like and Announce of local actions; the activity id answers its Undo.
CREATE TABLE reactions (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    action_id BIGINT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, actor_id, action_id)
);
CREATE INDEX reactions_action ON reactions (action_id);

-- Flag reports received from other servers.
CREATE TABLE reports (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    objects TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ
);

-- Domains and actors blocked from the admin (beside federation.blocked_domains).
CREATE TABLE blocks (
    id BIGSERIAL PRIMARY KEY,
    target TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
