-- 001_init.sql - agents, containers and the day-partitioned sample table.
--
-- Applied once by `boxwatch-collector migrate`, inside one transaction, and
-- recorded in schema_migrations. Never edit an applied migration; add 002_...

CREATE TABLE agents (
    id                      bigserial PRIMARY KEY,
    name                    text NOT NULL UNIQUE
                            CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    public_key              text NOT NULL UNIQUE CHECK (length(public_key) = 40),
    enrolled_at             timestamptz NOT NULL DEFAULT now(),
    revoked_at              timestamptz,
    -- from the agent's latest Hello
    hostname                text,
    machine_id              text,
    kernel                  text,
    cgroup_mode             text,
    agent_version           text,
    first_seen              timestamptz,
    last_seen               timestamptz,
    -- highest seq whose data is committed; written in the same transaction as
    -- the data, so duplicates are recognised even right after a restart
    last_seq                bigint NOT NULL DEFAULT 0,
    envelopes_stored        bigint NOT NULL DEFAULT 0,
    samples_stored          bigint NOT NULL DEFAULT 0,
    duplicates_dropped      bigint NOT NULL DEFAULT 0,
    rejected                bigint NOT NULL DEFAULT 0,
    -- as reported by the agent's latest Heartbeat
    spool_dropped_envelopes bigint NOT NULL DEFAULT 0,
    spool_dropped_samples   bigint NOT NULL DEFAULT 0
);

CREATE TABLE containers (
    id           bigserial PRIMARY KEY,
    agent_id     bigint NOT NULL REFERENCES agents (id),
    container_id text NOT NULL,
    runtime      text NOT NULL,
    name         text,
    cgroup_path  text,
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    UNIQUE (agent_id, container_id)
);
CREATE INDEX containers_container_id ON containers (container_id);
CREATE INDEX containers_last_seen ON containers (last_seen);

-- One row per container per sweep. Columns mirror cm_fields[] in
-- common/sample.c; NULL means the agent could not read that value (or, for
-- limits, that there is none). Counters above 2^63-1 are clamped on ingest.
CREATE TABLE container_samples (
    ts                    timestamptz NOT NULL,
    container_ref         bigint NOT NULL, -- containers.id; no FK on the hot path
    cpu_usage_ns          bigint,
    cpu_user_ns           bigint,
    cpu_system_ns         bigint,
    cpu_periods           bigint,
    cpu_throttled_periods bigint,
    cpu_throttled_ns      bigint,
    mem_usage_bytes       bigint,
    mem_working_set_bytes bigint,
    mem_limit_bytes       bigint,
    mem_rss_bytes         bigint,
    mem_cache_bytes       bigint,
    mem_swap_bytes        bigint,
    oom_kills             bigint,
    blk_read_bytes        bigint,
    blk_write_bytes       bigint,
    blk_read_ops          bigint,
    blk_write_ops         bigint,
    pids_current          bigint,
    pids_limit            bigint,
    net_rx_bytes          bigint,
    net_tx_bytes          bigint,
    net_rx_packets        bigint,
    net_tx_packets        bigint
) PARTITION BY RANGE (ts);
CREATE INDEX container_samples_ref_ts ON container_samples (container_ref, ts);

-- Creates the daily partitions covering [first_day, first_day + days).
-- Idempotent; the collector calls it at start, daily, and before storing a
-- sample for a day it has not prepared. Retention is a DROP of old days.
CREATE FUNCTION boxwatch_ensure_partitions(first_day date, days integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date;
    created integer := 0;
    part text;
BEGIN
    FOR i IN 0 .. days - 1 LOOP
        d := first_day + i;
        part := 'container_samples_' || to_char(d, 'YYYYMMDD');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF container_samples '
                           'FOR VALUES FROM (%L) TO (%L)',
                           part, d::timestamp AT TIME ZONE 'UTC',
                           (d + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;
