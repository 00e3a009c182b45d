-- Allow-list mode (federation.allowlist_mode): the domains this node federates with,
-- beside federation.allowed_domains. A domain allows its subdomains.
-- Keep in step with migrations/sqlite/0009_domain_allows.sql.

CREATE TABLE domain_allows (
    id BIGSERIAL PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
