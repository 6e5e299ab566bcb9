-- Each service's traffic policy (SPEC: Traffic policy): the JSON document as the user sent it,
-- validated before it was written, so GET gives back what PUT sent.
CREATE TABLE traffic_policies (
  service    TEXT PRIMARY KEY,
  policy     TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
