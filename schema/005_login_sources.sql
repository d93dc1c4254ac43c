-- 005_login_sources.sql - the addresses each user logged in from over SSH,
-- per agent: the baseline of the collector-derived rule
-- ssh.login_new_address (docs/RULES.md). Filled in the same statement that
-- stores ssh.accepted_login events, so it is exactly once with them.

CREATE TABLE login_sources (
    agent_id   bigint NOT NULL REFERENCES agents (id),
    user_name  text NOT NULL,
    src_ip     text NOT NULL,
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (agent_id, user_name, src_ip)
);
