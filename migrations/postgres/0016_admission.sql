-- Admission on aggregators (issue 19, points 4-5). `admission` is a node admin's
-- decision about a remote actor (NULL: none yet, `approved`, `refused`);
-- `suspended_at` when an admin suspended it (its actions leave the directory, its
-- follows are removed, its activities are no longer applied). Which actors are listed
-- follows from these, `website_verified_at` (0015) and `aggregator.admission`, at read
-- time. `held_activities`: inbound activities past a spam bound, kept for an admin to
-- release (applied as if just received) or delete. `action_arrivals`: when new remote
-- actions arrived, per actor and domain, for the hourly quotas (pruned after a day).
-- Keep in step with the SQLite migration.
ALTER TABLE actors ADD COLUMN admission TEXT;
ALTER TABLE actors ADD COLUMN suspended_at TIMESTAMPTZ;

CREATE TABLE held_activities (
    id BIGSERIAL PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    activity TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX held_activities_actor ON held_activities (actor_id);

CREATE TABLE action_arrivals (
    id BIGSERIAL PRIMARY KEY,
    actor_id BIGINT NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    arrived_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX action_arrivals_actor ON action_arrivals (actor_id, arrived_at);
CREATE INDEX action_arrivals_domain ON action_arrivals (domain, arrived_at);
