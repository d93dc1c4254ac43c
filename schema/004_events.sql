-- 004_events.sql - log events matched at the edge, per-source log volume,
-- and what each agent said about the rule set it was sent.
--
-- events and log_source_stats are time series: range-partitioned by day on
-- ts like container_samples, so retention is a partition drop.
--
-- An event is named for good by (agent, file_key, line_offset, rule_id): the
-- agent may read a line again after a restart before its ack, in a new
-- envelope with a new seq, and with a new ts when the line carries no time.
-- A unique index on the partitioned table would have to include ts, so it
-- could not catch that; the key goes into event_keys (not partitioned) in
-- the same transaction as the event, and a key already there drops the
-- event. Keys are pruned after a retention window (the writer's hourly
-- pass): by then the agent has long committed the offset past the line.

CREATE TABLE events (
    id            bigserial,
    ts            timestamptz NOT NULL,
    agent_id      bigint NOT NULL REFERENCES agents (id),
    container_ref bigint REFERENCES containers (id),
    source_kind   text NOT NULL,
    source_path   text NOT NULL,
    stream        text,
    rule_id       text NOT NULL,
    rule_version  bigint NOT NULL,
    -- from the rule of that id in the collector's rule set when stored
    severity      text NOT NULL,
    message       text NOT NULL,
    fields        jsonb NOT NULL DEFAULT '{}',
    -- threshold rules: matches in the window; NULL for a plain match
    count         integer,
    file_key      text NOT NULL,
    line_offset   bigint NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (ts);
-- newest first, keyset by (ts, id)
CREATE INDEX events_ts_id ON events (ts, id);
CREATE INDEX events_rule ON events (rule_id, ts);
CREATE INDEX events_agent ON events (agent_id, ts);
CREATE INDEX events_container ON events (container_ref, ts) WHERE container_ref IS NOT NULL;

CREATE TABLE event_keys (
    agent_id    bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    file_key    text NOT NULL,
    line_offset bigint NOT NULL,
    rule_id     text NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, file_key, line_offset, rule_id)
);
CREATE INDEX event_keys_stored_at ON event_keys (stored_at);

-- Lines and bytes read per source and interval (ts = end of the interval),
-- so log volume can be baselined. Stored once per envelope by (agent, seq).
CREATE TABLE log_source_stats (
    ts               timestamptz NOT NULL,
    agent_id         bigint NOT NULL REFERENCES agents (id),
    container_ref    bigint REFERENCES containers (id),
    source_kind      text NOT NULL,
    path             text NOT NULL,
    file_key         text NOT NULL,
    lines            bigint NOT NULL,
    bytes            bigint NOT NULL,
    lines_truncated  bigint NOT NULL DEFAULT 0,
    lines_invalid    bigint NOT NULL DEFAULT 0,
    interval_seconds double precision NOT NULL
) PARTITION BY RANGE (ts);
CREATE INDEX log_source_stats_agent ON log_source_stats (agent_id, ts);

-- The agent's answer to the latest Policy it acked (PolicyAck).
ALTER TABLE agents
    ADD COLUMN policy_version        bigint,
    ADD COLUMN policy_accepted       boolean,
    ADD COLUMN policy_error          text,
    ADD COLUMN policy_rules_compiled integer,
    ADD COLUMN policy_acked_at       timestamptz,
    -- seq of the PolicyAck those came from: an older one resent late must
    -- not roll them back
    ADD COLUMN policy_ack_seq        bigint NOT NULL DEFAULT 0;

-- Same signature and result as in 001 (the days that needed a partition),
-- now covering every day-partitioned table.
CREATE OR REPLACE FUNCTION boxwatch_ensure_partitions(first_day date, days integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date;
    t text;
    part text;
    made boolean;
    created integer := 0;
BEGIN
    FOR i IN 0 .. days - 1 LOOP
        d := first_day + i;
        made := false;
        FOREACH t IN ARRAY ARRAY['container_samples', 'events', 'log_source_stats'] LOOP
            part := t || '_' || to_char(d, 'YYYYMMDD');
            IF to_regclass(part) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I '
                               'FOR VALUES FROM (%L) TO (%L)',
                               part, t, d::timestamp AT TIME ZONE 'UTC',
                               (d + 1)::timestamp AT TIME ZONE 'UTC');
                made := true;
            END IF;
        END LOOP;
        IF made THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;

-- Days that already have sample partitions get the new tables' too.
SELECT boxwatch_ensure_partitions(to_date(substr(c.relname, 19), 'YYYYMMDD'), 1)
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'container_samples'::regclass;
