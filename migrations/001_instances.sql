-- Every registered instance. Times are milliseconds since the Unix epoch; tags and meta are JSON.
CREATE TABLE instances (
  service             TEXT    NOT NULL,
  id                  TEXT    NOT NULL,
  address             TEXT    NOT NULL,
  port                INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  weight              INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 65535),
  tags                TEXT    NOT NULL DEFAULT '[]',
  meta                TEXT    NOT NULL DEFAULT '{}',
  ttl_ms              INTEGER NOT NULL CHECK (ttl_ms > 0),
  deregister_after_ms INTEGER NOT NULL CHECK (deregister_after_ms > 0),
  check_status        TEXT    NOT NULL CHECK (check_status IN ('passing', 'warning', 'critical')),
  output              TEXT    NOT NULL DEFAULT '',
  maintenance         INTEGER NOT NULL DEFAULT 0 CHECK (maintenance IN (0, 1)),
  maintenance_reason  TEXT,
  expired             INTEGER NOT NULL DEFAULT 0 CHECK (expired IN (0, 1)),
  critical_since      INTEGER,
  registered_at       INTEGER NOT NULL,
  last_heartbeat_at   INTEGER NOT NULL,
  PRIMARY KEY (service, id)
) WITHOUT ROWID;
