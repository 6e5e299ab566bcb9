-- ACL tokens (--acl). Only a SHA-256 of each secret is kept: a copy of the database grants
-- nothing. `services` is a JSON array of the service names a `service` token may write.
CREATE TABLE acl_tokens (
  id          TEXT PRIMARY KEY,
  secret_hash BLOB NOT NULL UNIQUE,
  kind        TEXT NOT NULL CHECK (kind IN ('management', 'service', 'read')),
  services    TEXT NOT NULL DEFAULT '[]',
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
