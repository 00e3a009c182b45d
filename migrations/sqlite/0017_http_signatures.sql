-- RFC 9421 HTTP Message Signatures (issue 16): how this node signs its requests to each
-- remote instance. NULL: draft-cavage, the default; 'rfc9421' once the instance is known
-- to accept RFC 9421 (it sent us a valid RFC 9421 signature, or it refused a draft-cavage
-- request with 401 and accepted the RFC 9421 retry, the "double-knock"); 'draft-cavage'
-- when it refused RFC 9421 with 401 and accepted draft-cavage. `http_signatures_reason`
-- says why, in French, for `maillage queue status`; `http_signatures_at` when it was
-- decided. Keep in step with the PostgreSQL migration.
ALTER TABLE instances ADD COLUMN http_signatures TEXT;
ALTER TABLE instances ADD COLUMN http_signatures_reason TEXT;
ALTER TABLE instances ADD COLUMN http_signatures_at TEXT;
