-- The change index survives restarts, so a blocking query's index never goes backwards.
CREATE TABLE registry_state (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO registry_state (key, value) VALUES ('last_index', 1);
