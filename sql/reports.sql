-- Report queries to run by hand against the newswatch database (SQLite or PostgreSQL):
--   sqlite3 newswatch.db < sql/reports.sql      psql "$NEWSWATCH_DATABASE_URL" -f sql/reports.sql

-- Feeds failing right now, worst first.
SELECT name, last_status, last_http_status, consecutive_failures, last_error, next_fetch_at
FROM feeds
WHERE consecutive_failures > 0
ORDER BY consecutive_failures DESC, name;

-- Feeds by how long since a fetch last brought something new, and since the body last changed
-- (`newswatch health` judges these against each feed's own rhythm), and moved feeds with their old URL.
SELECT name, last_new_at, body_changed_at, last_success_at, failing_since, moved_from, moved_at
FROM feeds
ORDER BY last_new_at, name;

-- Alerts by topic and status: what went out, what is waiting, what needs fixing.
SELECT topic_id, destination, status, count(*) AS alerts, max(sent_at) AS last_sent
FROM alerts
GROUP BY topic_id, destination, status
ORDER BY topic_id, status;

-- Failed alerts and the reason (fix, then `newswatch alerts retry`).
SELECT a.id, a.topic_id, a.destination, a.attempts, a.last_error, ar.title
FROM alerts a JOIN articles ar ON ar.id = a.article_id
WHERE a.status = 'failed'
ORDER BY a.id DESC;

-- Topic matches per topic over the stored articles, with the mean score.
SELECT topic_id, count(*) AS matches, round(CAST(avg(score) AS NUMERIC), 2) AS mean_score, max(matched_at) AS latest
FROM topic_matches
GROUP BY topic_id
ORDER BY matches DESC;

-- The biggest stories: how many outlets ran each.
SELECT s.id, s.article_count, s.title, s.first_seen_at, s.last_seen_at
FROM stories s
ORDER BY s.article_count DESC, s.last_seen_at DESC
LIMIT 20;

-- Fetches in the log by outcome: how the feeds have been behaving.
SELECT status, count(*) AS fetches, sum(items_new) AS articles_new, round(avg(duration_ms)) AS mean_ms
FROM fetch_log
GROUP BY status
ORDER BY fetches DESC;
