-- 003_inventory.sql - container and host inventory, and configuration
-- findings with a lifecycle (open -> resolved).
--
-- The writer stores each ContainerInventory an agent sends (in the same
-- transaction as the envelope's seq in agent_seqs, so exactly once), runs
-- the checks of collector/checks.h on it and keeps findings: one open row
-- per (agent, container, check) at most, resolved when the check passes
-- again, the container is gone or stopped, the check left the catalogue, or
-- a policy change made it pass. Resolved rows stay as history. A new failure
-- after a resolution opens a new row.

-- The latest inventory of each container. `raw` is the ContainerInventory
-- as the wire codec encodes it: exactly what the checks ran on, so a policy
-- change re-evaluates it without the agent. `seq` is the envelope it came
-- in: an older envelope delivered late never replaces a newer inventory.
CREATE TABLE container_inventory (
    container_ref bigint PRIMARY KEY REFERENCES containers (id) ON DELETE CASCADE,
    agent_id      bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    doc           jsonb NOT NULL,
    raw           bytea NOT NULL,
    state         text NOT NULL,
    image         text,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    gone_at       timestamptz -- the agent said it is gone, or left it out of a complete set
);
CREATE INDEX container_inventory_current ON container_inventory (agent_id, container_ref)
    WHERE gone_at IS NULL;

-- The latest host part (Docker daemon settings, runtime sockets) per agent.
-- `raw` is an Envelope (version, seq, sent time of the one it came in) whose
-- InventoryBatch holds only this host part: the codec's own validated form,
-- decoded again to re-evaluate the host checks and the container checks that
-- read daemon-wide defaults.
CREATE TABLE host_inventory (
    agent_id   bigint PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    doc        jsonb NOT NULL,
    raw        bytea NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE findings (
    id              bigserial PRIMARY KEY,
    agent_id        bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    container_ref   bigint REFERENCES containers (id) ON DELETE CASCADE, -- NULL: a host finding
    check_id        text NOT NULL,
    severity        text NOT NULL
                    CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    status          text NOT NULL CHECK (status IN ('open', 'resolved')),
    detail          text NOT NULL DEFAULT '',
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    resolved_at     timestamptz,
    resolved_reason text
                    CHECK (resolved_reason IN ('passed', 'gone', 'stopped', 'check_removed',
                                               'policy')),
    CHECK ((status = 'open') = (resolved_at IS NULL)),
    CHECK ((status = 'open') = (resolved_reason IS NULL))
);
-- At most one open finding per (agent, container or host, check); also the
-- lookup of the writer's diff.
CREATE UNIQUE INDEX findings_open_one ON findings (agent_id, coalesce(container_ref, 0), check_id)
    WHERE status = 'open';
-- The API lists newest first (id DESC) under these filters.
CREATE INDEX findings_status_id ON findings (status, id);
CREATE INDEX findings_check_id ON findings (check_id, id);
CREATE INDEX findings_agent_id ON findings (agent_id, id);
CREATE INDEX findings_container_id ON findings (container_ref, id) WHERE container_ref IS NOT NULL;
-- findings?container=NAME
CREATE INDEX containers_name ON containers (name);
