-- Version 4: the policy limits' verdicts. limit_name is the limit() that
-- refused the request (status 429, error class limited), '' when none did;
-- would_refuse the shadow limits the request went over while it was
-- served, a JSON array of names ('' when none).
ALTER TABLE requests ADD COLUMN limit_name TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN would_refuse TEXT NOT NULL DEFAULT '';
