-- Allow-list mode (federation.allowlist_mode): the domains this node federates with,
-- beside federation.allowed_domains. A domain allows its subdomains.
-- Keep in step with migrations/postgres/0009_domain_allows.sql.

CREATE TABLE domain_allows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    domain TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
