/* test_inv_host.c - the host inventory: passwd/group lookups, dockerd
 * command lines, which dockerd is the one serving the configured data root
 * (not a look-alike inside a container, not another engine's), its
 * --config-file, daemon.json missing or broken, and runtime sockets (a real
 * unix socket with owner, group and mode; a missing one; a /var/run symlink
 * that must resolve inside the host root). Over tests/fixtures/hostroot-inv
 * and temporary host roots. */
#include "agent/inv_int.h"
#include "common/err.h"
#include "common/inventory.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define A "deaee51b9408648273132e6e1b01ee31d727925d55059123fb3e6809d2f68d05"

TestSuite(inv_host, .timeout = 30);

Test(inv_host, idfile_lookup)
{
    const char *pw = "root:x:0:0:root:/root:/bin/bash\n"
                     "# a comment\n"
                     "broken line\n"
                     ":x:5:5::/:/bin/sh\n"
                     "app:x:1000:1000::/home/app:/bin/sh";
    char name[64];
    cr_assert_eq(ag_inv_idfile_lookup(pw, strlen(pw), 0, name, sizeof name), 0);
    cr_expect_str_eq(name, "root");
    cr_assert_eq(ag_inv_idfile_lookup(pw, strlen(pw), 1000, name, sizeof name), 0);
    cr_expect_str_eq(name, "app", "the last line has no newline");
    cr_expect_eq(ag_inv_idfile_lookup(pw, strlen(pw), 5, name, sizeof name), CM_ENOTFOUND,
                 "an empty name is no name");
    cr_expect_eq(ag_inv_idfile_lookup(pw, strlen(pw), 4242, name, sizeof name), CM_ENOTFOUND);
    const char *gr = "docker:x:998:app,ops\nwheel:x:10:\n";
    cr_assert_eq(ag_inv_idfile_lookup(gr, strlen(gr), 998, name, sizeof name), 0);
    cr_expect_str_eq(name, "docker");
    cr_expect_eq(ag_inv_idfile_lookup(gr, strlen(gr), 99, name, 4), CM_ENOTFOUND);
    cr_expect_eq(ag_inv_idfile_lookup(gr, strlen(gr), 998, name, 4), CM_ENOTFOUND,
                 "a name longer than the buffer is not cut");
}

Test(inv_host, dockerd_command_lines)
{
    char buf[] = "dockerd\0--data-root\0/srv/d\0--config-file=/etc/d.json\0-H\0fd://\0";
    char *argv[16];
    size_t argc = ag_inv_cmdline_split(buf, sizeof buf - 1, argv, 16);
    cr_assert_eq(argc, 6);
    cr_expect_str_eq(argv[0], "dockerd");
    cr_expect_str_eq(ag_inv_dockerd_data_root(argv, argc), "/srv/d");
    cr_expect_str_eq(ag_inv_dockerd_config_file(argv, argc), "/etc/d.json");

    char *legacy[] = {"dockerd", "-g", "/old", "--graph=/older"};
    cr_expect_str_eq(ag_inv_dockerd_data_root(legacy, 4), "/older", "the last one wins");
    char *none[] = {"dockerd", "--data-rootx", "/a", "--data-root"};
    cr_expect_null(ag_inv_dockerd_data_root(none, 4), "no value after the last flag");
    char *argv0[] = {"--data-root=/x"};
    cr_expect_null(ag_inv_dockerd_data_root(argv0, 1), "argv[0] is the program");
    cr_expect_eq(ag_inv_cmdline_split(buf, 0, argv, 16), 0);
    char cut[] = "a\0b\0c";
    cr_expect_eq(ag_inv_cmdline_split(cut, sizeof cut - 1, argv, 2), 2, "at most max words");
}

static int open_root(const char *path)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s", path);
    return fd;
}

static const char *setting(const struct cm_host_inv *h, const char *key)
{
    for (size_t i = 0; i < h->n_daemon_settings; i++) {
        if (strcmp(h->daemon_settings[i].key, key) == 0) return h->daemon_settings[i].value;
    }
    return NULL;
}

static void host_read(int root, const struct ag_inventory_opts *o, const struct ag_inv_proc *pr,
                      struct cm_host_inv *out)
{
    struct ag_inv_host *h = NULL;
    cr_assert_eq(ag_inv_host_new(root, o, &h), 0);
    cr_assert_eq(ag_inv_host_read(h, pr, true, out), 0);
    ag_inv_host_free(h);
}

Test(inv_host, fixture_daemon_json_merged_with_the_serving_dockerd)
{
    int root = open_root(tu_fixture_path("hostroot-inv"));
    struct ag_inventory_opts o = {.host_root = "unused"};
    struct cm_host_inv h;
    host_read(root, &o, NULL, &h);
    cr_expect(h.docker_present);
    cr_assert_str_eq(h.daemon_config_path, "/etc/docker/daemon.json");
    cr_expect_null(h.daemon_config_error);
    cr_assert_not_null(setting(&h, "icc"));
    cr_expect_str_eq(setting(&h, "icc"), "false");
    cr_expect_str_eq(setting(&h, "live-restore"), "true", "from daemon.json, not dockerd 950");
    const char *hosts = setting(&h, "hosts");
    cr_assert_not_null(hosts, "pid 900's -H flags");
    cr_expect(strstr(hosts, "tcp://0.0.0.0:2375"), "%s", hosts);
    cr_expect_eq(h.n_runtime_sockets, 0, "none configured");
    cm_host_inv_free(&h);

    /* the other engine, by its data root; its flags only (no --config-file) */
    o.docker_root = "/srv/other-docker/";
    o.docker_daemon_config = "/etc/docker/none.json";
    host_read(root, &o, NULL, &h);
    cr_expect(h.docker_present);
    cr_expect_null(h.daemon_config_path, "no such file: every setting at its default");
    cr_expect_str_eq(setting(&h, "live-restore"), "true");
    cr_expect_null(setting(&h, "hosts"));
    cm_host_inv_free(&h);

    /* a data root no dockerd serves */
    o.docker_root = "/srv/nothing";
    host_read(root, &o, NULL, &h);
    cr_expect_not(h.docker_present);
    cr_expect_null(setting(&h, "live-restore"));
    cm_host_inv_free(&h);
    close(root);
}

/* A process in a container that calls itself dockerd, with a lower pid than
 * the real one, must not speak for the host. */
Test(inv_host, dockerd_look_alike_in_a_container_is_ignored)
{
    char *dir = tu_mkdtemp();
    cr_assert_eq(tu_write_file(dir, "proc/50/comm", "dockerd\n"), 0);
    cr_assert_eq(tu_write_file(dir, "proc/50/cgroup", "0::/docker/" A "\n"), 0);
    char fake[] = "dockerd\0--icc=true\0";
    char real[] = "dockerd\0--icc=false\0--config-file\0/etc/dk/d.json\0";
    char path[4096];
    snprintf(path, sizeof path, "%s/proc/50/cmdline", dir);
    FILE *f = fopen(path, "w");
    fwrite(fake, 1, sizeof fake - 1, f);
    fclose(f);
    cr_assert_eq(tu_write_file(dir, "proc/900/comm", "dockerd\n"), 0);
    cr_assert_eq(tu_write_file(dir, "proc/900/cgroup", "0::/system.slice/docker.service\n"), 0);
    snprintf(path, sizeof path, "%s/proc/900/cmdline", dir);
    f = fopen(path, "w");
    fwrite(real, 1, sizeof real - 1, f);
    fclose(f);
    cr_assert_eq(tu_write_file(dir, "etc/dk/d.json", "{\"userns-remap\": \"default\"}\n"), 0);
    int root = open_root(dir);
    struct ag_inventory_opts o = {.host_root = dir};
    struct cm_host_inv h;

    host_read(root, &o, NULL, &h); /* no scan: the look-alike cannot be told apart */
    cr_expect_str_eq(setting(&h, "icc"), "true");
    cm_host_inv_free(&h);

    struct ag_inv_proc *pr = NULL;
    ag_inv_proc_new(root, &pr);
    struct cm_container_inv c = {0};
    snprintf(c.id, sizeof c.id, "%s", A);
    c.cgroup_path = strdup("/docker/" A);
    struct cm_container_inv *cs[] = {&c};
    cr_assert_eq(ag_inv_proc_scan(pr, cs, 1), 0);
    host_read(root, &o, pr, &h);
    cr_expect_str_eq(setting(&h, "icc"), "false");
    cr_expect_str_eq(h.daemon_config_path, "/etc/dk/d.json", "the dockerd's own --config-file");
    cr_expect_str_eq(setting(&h, "userns-remap"), "\"default\"");
    cm_host_inv_free(&h);

    /* a daemon.json configured away from the default wins over the flag */
    cr_assert_eq(tu_write_file(dir, "etc/mine.json", "{\"icc\": true, \"debug\": true}"), 0);
    o.docker_daemon_config = "/etc/mine.json";
    host_read(root, &o, pr, &h);
    cr_expect_str_eq(h.daemon_config_path, "/etc/mine.json");
    cr_expect_null(h.daemon_config_error);
    cr_expect_str_eq(setting(&h, "debug"), "true");
    cr_expect_null(setting(&h, "userns-remap"), "the flag's file was not read");
    cr_expect_str_eq(setting(&h, "icc"), "false", "the command line wins over the file");
    cm_host_inv_free(&h);

    cm_container_inv_free(&c);
    ag_inv_proc_free(pr);
    close(root);
    tu_rm_rf(dir);
    free(dir);
}

Test(inv_host, daemon_json_broken_or_unreadable)
{
    char *dir = tu_mkdtemp();
    cr_assert_eq(tu_write_file(dir, "etc/docker/daemon.json", "{\"icc\": false,"), 0);
    int root = open_root(dir);
    struct ag_inventory_opts o = {.host_root = dir};
    struct cm_host_inv h;
    host_read(root, &o, NULL, &h);
    cr_expect(h.docker_present, "a daemon.json says Docker is installed");
    cr_expect_str_eq(h.daemon_config_path, "/etc/docker/daemon.json");
    cr_assert_not_null(h.daemon_config_error);
    cr_expect_null(strstr(h.daemon_config_error, "icc"), "no file contents in the reason: %s",
                   h.daemon_config_error);
    cm_host_inv_free(&h);
    /* a directory where the file should be */
    char p[4096];
    snprintf(p, sizeof p, "%s/etc/docker/daemon.json", dir);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(mkdir(p, 0755), 0);
    host_read(root, &o, NULL, &h);
    cr_expect_not_null(h.daemon_config_error);
    cm_host_inv_free(&h);
    close(root);
    tu_rm_rf(dir);
    free(dir);
}

static int bind_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(path), sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "bind %s", path);
    return fd;
}

Test(inv_host, runtime_sockets_owner_group_mode)
{
    char *dir = tu_mkdtemp();
    cr_assert_eq(
        tu_write_file(dir, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/\n"), 0);
    cr_assert_eq(tu_write_file(dir, "etc/group", "root:x:0:\ndocker:x:998:app\n"), 0);
    cr_assert_eq(tu_write_file(dir, "run/containerd/.keep", ""), 0);
    char p[4096], var[4096];
    snprintf(p, sizeof p, "%s/run/docker.sock", dir);
    int s1 = bind_unix(p);
    bool root_user = geteuid() == 0;
    if (root_user) cr_assert_eq(chown(p, 1000, 998), 0);
    cr_assert_eq(chmod(p, 0660), 0);
    snprintf(p, sizeof p, "%s/run/containerd/containerd.sock", dir);
    int s2 = bind_unix(p);
    cr_assert_eq(chmod(p, 0666), 0);
    /* /var/run -> /run, absolute: must mean <dir>/run, not this machine's /run */
    snprintf(var, sizeof var, "%s/var", dir);
    cr_assert_eq(mkdir(var, 0755), 0);
    snprintf(var, sizeof var, "%s/var/run", dir);
    cr_assert_eq(symlink("/run", var), 0);

    struct cm_strlist socks = {0};
    cm_strlist_add(&socks, "/var/run/docker.sock");
    cm_strlist_add(&socks, "/run/containerd/containerd.sock");
    cm_strlist_add(&socks, "/run/podman/podman.sock");
    int root = open_root(dir);
    struct ag_inventory_opts o = {.host_root = dir, .runtime_sockets = &socks};
    struct cm_host_inv h;
    host_read(root, &o, NULL, &h);
    cr_assert_eq(h.n_runtime_sockets, 3);
    const struct cm_socket_info *d = &h.runtime_sockets[0];
    cr_expect_str_eq(d->path, "/var/run/docker.sock");
    cr_assert(d->exists, "found through the symlink, inside the host root");
    cr_expect_eq(d->mode, 0660);
    if (root_user) {
        cr_expect_eq(d->uid, 1000);
        cr_expect_str_eq(d->owner, "app");
        cr_expect_eq(d->gid, 998);
        cr_expect_str_eq(d->group, "docker");
    }
    cr_expect(h.runtime_sockets[1].exists);
    cr_expect_eq(h.runtime_sockets[1].mode, 0666);
    cr_expect_not(h.runtime_sockets[2].exists);
    cr_expect_null(h.runtime_sockets[2].owner);
    cr_expect_not(h.docker_present, "a socket alone is not a Docker install");
    cm_host_inv_free(&h);
    cm_strlist_free(&socks);
    close(s1);
    close(s2);
    close(root);
    tu_rm_rf(dir);
    free(dir);
}
