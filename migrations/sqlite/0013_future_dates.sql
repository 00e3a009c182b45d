-- Remote dates more than an hour ahead are no longer believed (the clock skew a
-- signature's `Date` may have; it was a day): rows stored before, from other servers,
-- with a `published` or `updated` more than an hour ahead of this migration are set
-- to its time, and an `updated` earlier than `published` to `published`, so an
-- object dated in the future cannot win "an older version never overwrites a newer
-- one" against later edits. Local rows are this node's own. Keep in step with the
-- PostgreSQL migration (same statements, the time written for each engine).
UPDATE actions SET published = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    WHERE NOT local AND published > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+1 hour');
UPDATE actions SET updated = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    WHERE NOT local AND updated > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+1 hour');
UPDATE actions SET updated = published WHERE NOT local AND updated < published;
UPDATE comments SET published = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    WHERE NOT local AND published > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+1 hour');
UPDATE comments SET updated = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    WHERE NOT local AND updated > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+1 hour');
UPDATE comments SET updated = published WHERE NOT local AND updated < published;
-- Posts are all remote (the timelines of followed actors).
UPDATE posts SET published = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    WHERE published > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+1 hour');
UPDATE posts SET updated = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')
    WHERE updated > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '+1 hour');
UPDATE posts SET updated = published WHERE updated < published;
