-- Version 3: each policy version's source, stored once by its hash (the
-- requests' policy_hash), so that llmgw replay can decide a logged request
-- under the policy that decided it. files is a JSON object: "entry", the
-- entry file's name, and "files", each file of the policy directory mapped
-- to its contents as that version loaded them.
CREATE TABLE policy_sources (
	hash     TEXT    PRIMARY KEY,
	files    TEXT    NOT NULL,
	saved_ms INTEGER NOT NULL
);
