-- Version 2 on PostgreSQL: the policy limits' verdicts, as on SQLite.
-- limit_name is the limit() that refused the request (429, error class
-- limited), '' when none did; would_refuse the shadow limits it went over
-- while served, a JSON array of names ('' when none).
ALTER TABLE requests ADD COLUMN limit_name   text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN would_refuse text COLLATE "C" NOT NULL DEFAULT '';
