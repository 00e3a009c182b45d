-- Trust on aggregators (issue 19): a collectivité's official website (`website`, since
-- 0001) is verified when the page at that address links back to the actor with
-- `rel="me"`, as Mastodon checks its profile links. `website_verified_at` is when the
-- last successful check was made (NULL: not verified), `website_verified_by` how
-- (`rel-me`, or `domain` when the node's own domain is the website's domain or a
-- subdomain of it and the check passed), `website_checked_at` the last attempt and
-- `website_check_error` why it failed, in French, for the editor's admin.
-- Keep in step with the SQLite migration.
ALTER TABLE actors ADD COLUMN website_verified_at TIMESTAMPTZ;
ALTER TABLE actors ADD COLUMN website_verified_by TEXT;
ALTER TABLE actors ADD COLUMN website_checked_at TIMESTAMPTZ;
ALTER TABLE actors ADD COLUMN website_check_error TEXT;
