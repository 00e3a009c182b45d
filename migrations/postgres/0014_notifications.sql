-- Editors are told (issue 18): an email address and a notification mode per account
-- (`immediate`, one daily `digest`, or `off`), and the notices themselves, written in
-- the same transaction as the event (a partnership request received, an answer to a
-- request, a comment awaiting moderation). The dashboard lists them (`read_at`); the
-- sender mails them (`mail_state`: `pending` to send, `sent`, `skipped` for an account
-- without address or with mails off, `none` when the node had no SMTP settings, and
-- `failed` after the last try), with `mail_attempts` and `mail_next_at` for its
-- back-off. `digest_sent_on` is the local day of an account's last digest.
-- Keep in step with the SQLite migration.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN notify TEXT NOT NULL DEFAULT 'immediate';
ALTER TABLE users ADD COLUMN digest_sent_on TEXT;

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ,
    mail_state TEXT NOT NULL,
    mail_attempts BIGINT NOT NULL DEFAULT 0,
    mail_next_at TIMESTAMPTZ NOT NULL,
    mail_error TEXT,
    mailed_at TIMESTAMPTZ
);
CREATE INDEX notifications_unread ON notifications (user_id, read_at);
CREATE INDEX notifications_mail ON notifications (mail_state, mail_next_at);
