-- 002_delivery.sql - exactly-once storage with any arrival order, and the
-- agent's own delivery totals from its Heartbeat.
--
-- An envelope (agent, seq) is stored once: its seq goes into agent_seqs in
-- the same transaction as its data, so a resend (also one that arrives after
-- a newer seq, or after a collector restart) finds it there and is dropped.
-- Seqs below the agent's spool floor (from its latest Heartbeat: every seq
-- below it is acked or dropped, the agent never sends it again) are pruned
-- from agent_seqs and any late copy of them counts as a duplicate.

CREATE TABLE agent_seqs (
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    seq      bigint NOT NULL,
    PRIMARY KEY (agent_id, seq)
);

ALTER TABLE agents
    -- every envelope taken off the socket under this agent's key (stored,
    -- duplicate or rejected), added by the writer per batch
    ADD COLUMN envelopes_received    bigint NOT NULL DEFAULT 0,
    -- as reported by the agent's latest Heartbeat (the one with the highest seq)
    ADD COLUMN spool_envelopes_total bigint NOT NULL DEFAULT 0,
    ADD COLUMN spool_samples_total   bigint NOT NULL DEFAULT 0,
    ADD COLUMN spool_floor_seq       bigint NOT NULL DEFAULT 0,
    ADD COLUMN spool_unacked         bigint NOT NULL DEFAULT 0,
    ADD COLUMN spool_bytes           bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_heartbeat        timestamptz,
    -- seq of the Heartbeat / Hello those columns came from: an older one
    -- resent late must not roll them back
    ADD COLUMN heartbeat_seq         bigint NOT NULL DEFAULT 0,
    ADD COLUMN hello_seq             bigint NOT NULL DEFAULT 0;

-- Before this migration the writer stored seqs in order only and dropped
-- every seq <= last_seq: keep exactly that promise for agents already
-- known, by starting their floor just above it.
UPDATE agents SET spool_floor_seq = last_seq + 1 WHERE last_seq > 0;
