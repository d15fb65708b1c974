-- Rotation: one configuration row per secret (function, rules, schedule) and the history of
-- attempts and steps. next_rotation_at is indexed so the scheduler reads only due secrets.
CREATE TABLE rotations (
    secret_pk INTEGER PRIMARY KEY REFERENCES secrets(pk) ON DELETE CASCADE,
    lambda_arn TEXT,
    rules TEXT,
    enabled INTEGER NOT NULL DEFAULT 0,
    last_rotated_at REAL,
    next_rotation_at REAL,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rotations_due ON rotations(next_rotation_at) WHERE next_rotation_at IS NOT NULL;

CREATE TABLE rotation_history (
    id INTEGER PRIMARY KEY,
    secret_pk INTEGER NOT NULL REFERENCES secrets(pk) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    step TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at REAL NOT NULL
);
CREATE INDEX rotation_history_secret ON rotation_history(secret_pk, id);
