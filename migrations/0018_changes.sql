-- The change log the live event hub reads (issue 20). Every new event, every job written and
-- every change to who may sign in adds a row here, in commit order, from whichever process
-- made it (the server or the CLI): the row's id is the exact cursor of the event stream and
-- the `id:` a reconnecting browser sends back as Last-Event-ID.
CREATE TABLE changes (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('event', 'job', 'auth')),
    -- The event's id, the job's id, or the user's id whose credentials changed.
    ref  TEXT NOT NULL
);

CREATE TRIGGER events_changes AFTER INSERT ON events
BEGIN
    INSERT INTO changes (kind, ref) VALUES ('event', NEW.id);
END;

CREATE TRIGGER jobs_insert_changes AFTER INSERT ON jobs
BEGIN
    INSERT INTO changes (kind, ref) VALUES ('job', NEW.id);
END;

CREATE TRIGGER jobs_update_changes AFTER UPDATE ON jobs
BEGIN
    INSERT INTO changes (kind, ref) VALUES ('job', NEW.id);
END;

-- A new password (auth_version), a new role, a removed user or a revoked token: the user's
-- open streams check their credentials again.
CREATE TRIGGER users_auth_changes AFTER UPDATE OF auth_version, role ON users
BEGIN
    INSERT INTO changes (kind, ref) VALUES ('auth', NEW.id);
END;

CREATE TRIGGER users_delete_changes AFTER DELETE ON users
BEGIN
    INSERT INTO changes (kind, ref) VALUES ('auth', OLD.id);
END;

CREATE TRIGGER tokens_delete_changes AFTER DELETE ON api_tokens
BEGIN
    INSERT INTO changes (kind, ref) VALUES ('auth', OLD.user_id);
END;
