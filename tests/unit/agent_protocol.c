/* Protocol tests: start the agent on 127.0.0.1 (random port) and drive every endpoint through
 * the client, plus raw-socket abuse. The same program runs against vmcloak-agent.exe under
 * Wine (tests/e2e/agent-wine.sh sets VMCLOAK_TEST_AGENT and VMCLOAK_TEST_AGENT_WRAPPER). */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentclient/client.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static char *agent_bin;       /* the agent executable */
static char *agent_wrapper;   /* e.g. wine64, or NULL */
static bool windows;          /* the agent is the .exe: Windows paths and commands */
static char *tmpdir;          /* host view of the agent's files */
static pid_t agent_pid;
static int agent_port;
static char *agent_log;
static struct agent_client *client;

/* --- helpers --- */

/* The agent's name for tmpdir/rel: Wine maps the host's / to Z:. */
static char *gpath(const char *rel) {
        char *p = strdup_printf("%s%s%s%s", windows ? "Z:" : "", tmpdir, *rel ? "/" : "", rel);
        if (windows)
                for (char *c = p; *c; c++)
                        if (*c == '/')
                                *c = '\\';
        return p;
}

static char *lpath(const char *rel) { return strdup_printf("%s/%s", tmpdir, rel); }

static void dump_agent_log(void) {
        char *s = NULL;
        if (agent_log && read_full_file(agent_log, &s, NULL) == 0) {
                for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
                        printf("# agent: %s\n", line);
                free(s);
        }
}

/* Start an agent with extra arguments; returns its pid and port (read from its log). */
static int start_agent(const char *log, char **extra, pid_t *ret_pid, int *ret_port) {
        char **argv = NULL;
        if (agent_wrapper)
                strv_extend(&argv, agent_wrapper);
        strv_extend(&argv, agent_bin);
        strv_extend_strv(&argv, extra);
        char *env[] = { "VMCLOAK_AGENT_TEST=hello-env", NULL };
        struct proc_opts o = { .stdout_path = log, .stderr_path = log, .new_pgroup = true, .pdeathsig = true,
                               .env_extra = env, .cwd = tmpdir };
        int r = proc_spawn(argv, &o, ret_pid);
        strv_free(argv);
        if (r < 0)
                return r;
        /* Wine creates its prefix on first use (~7 s); allow plenty. */
        for (int i = 0; i < 1200; i++) {
                char *s = NULL;
                if (read_full_file(log, &s, NULL) == 0) {
                        char *p = strstr(s, "Listening on ");
                        char *colon = p ? strchr(p, ':') : NULL;
                        if (colon && strchr(colon, '(')) {
                                *ret_port = atoi(colon + 1);
                                free(s);
                                return 0;
                        }
                        free(s);
                }
                int status;
                if (proc_try_wait(*ret_pid, &status) == 1)
                        return -ECHILD;
                usleep(50 * 1000);
        }
        return -ETIMEDOUT;
}

static int setup(void **state) {
        (void)state;
        const char *e = getenv("VMCLOAK_TEST_AGENT");
        const char *root = getenv("VMCLOAK_BUILD_ROOT");
        agent_bin = e && *e ? strdup(e) : strdup_printf("%s/agent/vmcloak-agent", root ? root : ".");
        e = getenv("VMCLOAK_TEST_AGENT_WRAPPER");
        agent_wrapper = e && *e ? strdup(e) : NULL;
        windows = endswith(agent_bin, ".exe");
        tmpdir = test_tmpdir();
        agent_log = lpath("agent.log");
        char *args[] = { "--host", "127.0.0.1", "--port", "0", "--read-timeout", "3", NULL };
        int r = start_agent(agent_log, args, &agent_pid, &agent_port);
        if (r < 0) {
                printf("# cannot start %s: %s\n", agent_bin, strerror(-r));
                dump_agent_log();
                return -1;
        }
        if (agent_client_new("127.0.0.1", agent_port, &client) < 0 || agent_wait_ready(client, 60000) < 0) {
                dump_agent_log();
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        (void)state;
        if (agent_pid > 0)
                proc_terminate(agent_pid, 3000);
        if (getenv("VMCLOAK_TEST_VERBOSE"))
                dump_agent_log();
        agent_client_free(client);
        rm_rf(tmpdir);
        free(tmpdir);
        free(agent_log);
        free(agent_bin);
        free(agent_wrapper);
        return 0;
}

static json_object *parse(const char *body) {
        json_object *j = json_tokener_parse(body);
        assert_non_null(j);
        assert_true(json_object_is_type(j, json_type_object));
        return j;
}

static const char *jstr(json_object *j, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int jint(json_object *j, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_int))
                return -12345;
        return json_object_get_int(v);
}

static void expect_raw(const char *what, const char *data, size_t len, bool close_send, int status);

/* A request through agent_call; asserts the status and, for errors, the JSON error shape. */
static void expect_call(const char *method, const char *path, const struct agent_field *fields, const char *file_field,
                        const char *file, long status, const char *message) {
        struct agent_response resp = { 0 };
        assert_int_equal(agent_call(client, method, path, fields, file_field, file, 0, &resp), 0);
        if (resp.status != status)
                printf("# %s %s: HTTP %ld %s\n", method, path, resp.status, resp.body);
        assert_int_equal(resp.status, status);
        json_object *j = parse(resp.body);
        if (message)
                assert_string_equal(jstr(j, "message"), message);
        if (status >= 400)
                assert_int_equal(jint(j, "error_code"), status);
        json_object_put(j);
        agent_response_done(&resp);
}

static bool files_equal(const char *a, const char *b) {
        FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
        bool eq = fa && fb;
        char *x = malloc(1 << 20), *y = malloc(1 << 20);
        while (eq) {
                size_t na = fread(x, 1, 1 << 20, fa), nb = fread(y, 1, 1 << 20, fb);
                if (na != nb || memcmp(x, y, na) != 0)
                        eq = false;
                if (na == 0)
                        break;
        }
        free(x);
        free(y);
        if (fa)
                fclose(fa);
        if (fb)
                fclose(fb);
        return eq;
}

static char *read_local(const char *rel) {
        char *p = lpath(rel), *s = NULL;
        int r = read_full_file(p, &s, NULL);
        free(p);
        return r < 0 ? NULL : s;
}

/* Everything under lpath(rel), one line per entry in name order ("d name/", "f name size
 * checksum", "l name -> target"), or "(absent)": two equal snapshots mean nothing changed. */
static void snapshot_into(const char *dir, const char *rel, char **acc) {
        char *path = *rel ? strdup_printf("%s/%s", dir, rel) : strdup(dir);
        struct dirent **list = NULL;
        int n = scandir(path, &list, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                if (!streq(name, ".") && !streq(name, "..")) {
                        char *sub = *rel ? strdup_printf("%s/%s", rel, name) : strdup(name);
                        char *full = strdup_printf("%s/%s", dir, sub);
                        struct stat st;
                        char *line = NULL;
                        assert_int_equal(lstat(full, &st), 0);
                        if (S_ISLNK(st.st_mode)) {
                                char target[4096] = "";
                                assert_true(readlink(full, target, sizeof target - 1) >= 0);
                                line = strdup_printf("l %s -> %s\n", sub, target);
                        } else if (S_ISDIR(st.st_mode)) {
                                line = strdup_printf("d %s/\n", sub);
                        } else {
                                char *data = NULL;
                                size_t len = 0;
                                assert_int_equal(read_full_file(full, &data, &len), 0);
                                uint64_t h = 1469598103934665603ull;
                                for (size_t k = 0; k < len; k++)
                                        h = (h ^ (unsigned char)data[k]) * 1099511628211ull;
                                free(data);
                                line = strdup_printf("f %s %zu %016llx\n", sub, len, (unsigned long long)h);
                        }
                        char *t = strdup_printf("%s%s", *acc, line);
                        free(*acc);
                        *acc = t;
                        free(line);
                        if (S_ISDIR(st.st_mode))
                                snapshot_into(dir, sub, acc);
                        free(full);
                        free(sub);
                }
                free(list[i]);
        }
        free(list);
        free(path);
}

static char *snapshot(const char *rel) {
        char *dir = lpath(rel);
        char *acc = path_exists(dir) ? strdup("") : strdup("(absent)");
        if (is_dir(dir))
                snapshot_into(dir, "", &acc);
        free(dir);
        return acc;
}

static void expect_unchanged(const char *what, const char *rel, const char *before) {
        char *after = snapshot(rel);
        if (!streq(before, after))
                printf("# %s changed %s:\n# before:\n%s# after:\n%s", what, rel, before, after);
        assert_string_equal(before, after);
        free(after);
}

/* A file the agent cannot delete, rename or replace for a while: Linux, immutable (root) or
 * its folder read-only (others); Windows, held open without delete sharing by an async
 * command the agent kills after hold_ms. Waits until the agent feels it (a /store of the
 * same bytes fails). Returns false if this system offers no way (the case is skipped). */
struct pin {
        char *path;          /* host path */
        char *dir;           /* Linux non-root: the folder made read-only */
        bool immutable;
};

static bool pin_file(const char *rel, const char *content, int hold_ms, struct pin *p) {
        *p = (struct pin){ .path = lpath(rel) };
        if (windows) {
                char *g = gpath(rel);
                char *cmd = strdup_printf("ping -n 60 127.0.0.1 >NUL < \"%s\"", g);
                struct agent_exec_opts hold = { .async = true, .shell = true, .timeout_ms = hold_ms };
                assert_int_equal(agent_execute(client, cmd, &hold, NULL), 0);
                free(cmd);
                free(g);
        } else if (geteuid() == 0) {
                int fd = open(p->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                int flags = 0;
                assert_true(fd >= 0);
                if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
                        flags |= FS_IMMUTABLE_FL;
                        p->immutable = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
                }
                close(fd);
                if (!p->immutable) {
                        printf("# no immutable files on this filesystem (root ignores permissions): case skipped\n");
                        free(p->path);
                        return false;
                }
        } else {
                p->dir = path_dirname(p->path);
                assert_int_equal(chmod(p->dir, 0555), 0);
        }
        char *g = gpath(rel);
        int64_t deadline = now_ms() + 20000;
        log_set_level((enum log_level)-1);   /* the probes' failures are expected */
        while (agent_upload_buffer(client, content, strlen(content), g) == 0 && now_ms() < deadline)
                sleep_ms(200);
        log_set_level(LOG_LEVEL_WARNING);
        assert_true(now_ms() < deadline);
        free(g);
        return true;
}

/* Undo pin_file (Windows: wait until the holder is gone, at most hold_ms). */
static void unpin_file(struct pin *p, const char *rel, const char *content) {
        if (p->immutable) {
                int fd = open(p->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), flags = 0;
                assert_true(fd >= 0);
                assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
                flags &= ~FS_IMMUTABLE_FL;
                assert_int_equal(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0);
                close(fd);
        }
        if (p->dir)
                assert_int_equal(chmod(p->dir, 0755), 0);
        if (windows) {
                char *g = gpath(rel);
                int64_t deadline = now_ms() + 60000;
                log_set_level((enum log_level)-1);
                while (agent_upload_buffer(client, content, strlen(content), g) < 0 && now_ms() < deadline)
                        sleep_ms(200);
                log_set_level(LOG_LEVEL_WARNING);
                free(g);
        }
        free(p->path);
        free(p->dir);
}

/* Count the lines of a client log file that are errors, and return the last. */
static int error_lines(const char *file, char **ret_last) {
        char *s = NULL;
        int n = 0;
        *ret_last = NULL;
        if (read_full_file(file, &s, NULL) < 0)
                return 0;
        for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
                if (strstr(line, " ERROR: ")) {
                        n++;
                        free(*ret_last);
                        *ret_last = strdup(line);
                }
        free(s);
        return n;
}

/* --- endpoints through the client --- */

static void test_index(void **state) {
        (void)state;
        struct agent_info info;
        assert_int_equal(agent_info(client, &info), 0);
        assert_string_equal(info.message, "Cuckoo Agent!");
        assert_string_equal(info.version, "1.0");
        assert_non_null(info.agent);
        assert_non_null(startswith(info.agent, "vmcloak-agent "));
        assert_true(strv_contains(info.features, "execpy"));
        assert_true(strv_contains(info.features, "pinning"));
        assert_true(strv_contains(info.features, "largefile"));
        agent_info_done(&info);
        assert_int_equal(agent_ping(client), 0);
}

static void test_system_path(void **state) {
        (void)state;
        char *s = NULL;
        assert_int_equal(agent_system(client, &s), 0);
        assert_string_equal(s, windows ? "Windows" : "Linux");
        free(s);
        assert_int_equal(agent_path(client, &s), 0);
        assert_true(endswith(s, windows ? "vmcloak-agent.exe" : "vmcloak-agent"));
        free(s);
}

static void test_status(void **state) {
        (void)state;
        char *st = NULL, *desc = NULL;
        assert_int_equal(agent_status_get(client, &st, &desc), 0);
        assert_string_equal(st, "init");
        assert_null(desc);
        free(st);
        free(desc);
        assert_int_equal(agent_status_set(client, "running", "installing things"), 0);
        assert_int_equal(agent_status_get(client, &st, &desc), 0);
        assert_string_equal(st, "running");
        assert_string_equal(desc, "installing things");
        free(st);
        free(desc);
        expect_call("POST", "/status", NULL, NULL, NULL, 400, "No status has been provided");
}

static void test_environ(void **state) {
        (void)state;
        char **env = NULL;
        assert_int_equal(agent_environ(client, &env), 0);
        assert_true(strv_contains(env, "VMCLOAK_AGENT_TEST=hello-env"));
        strv_free(env);
        char *v = NULL;
        assert_int_equal(agent_getenv(client, "VMCLOAK_AGENT_TEST", &v), 0);
        assert_string_equal(v, "hello-env");
        free(v);
        assert_int_equal(agent_getenv(client, "vmcloak_agent_test", &v), 0);   /* Windows names ignore case */
        assert_string_equal(v, "hello-env");
        free(v);
        assert_int_equal(agent_getenv(client, "VMCLOAK_NO_SUCH_VARIABLE", &v), -ENOENT);
}

static void test_mkdir_remove(void **state) {
        (void)state;
        char *g = gpath("mk/a/b/c"), *l = lpath("mk/a/b/c");
        assert_int_equal(agent_mkdir(client, g), 0);
        assert_true(is_dir(l));
        assert_int_equal(agent_mkdir(client, g), 0);   /* existing is fine */
        free(g);
        free(l);
        char *f = lpath("mk/a/file.txt");
        assert_int_equal(write_file(f, "x", 1, 0644), 0);
        g = gpath("mk/a/file.txt");
        assert_int_equal(agent_remove(client, g), 0);
        assert_false(path_exists(f));
        assert_int_equal(agent_remove(client, g), -ENOENT);
        free(g);
        free(f);
        g = gpath("mk");
        assert_int_equal(agent_remove(client, g), 0);
        l = lpath("mk");
        assert_false(path_exists(l));
        free(l);
        struct agent_field fields[] = { { "path", g }, { NULL, NULL } };
        expect_call("POST", "/remove", fields, NULL, NULL, 404, "Path provided does not exist");
        free(g);
}

static void test_mktemp(void **state) {
        (void)state;
        char *d = NULL;
        assert_int_equal(agent_mkdtemp(client, NULL, &d), 0);   /* GET, as Cuckoo3 asks */
        assert_true(strlen(d) > 3);
        assert_int_equal(agent_remove(client, d), 0);
        free(d);
        char *g = gpath("");
        assert_int_equal(agent_mkdtemp(client, g, &d), 0);
        assert_non_null(startswith(d, g));
        free(d);
        char *f = NULL;
        assert_int_equal(agent_mktemp(client, g, &f), 0);
        assert_non_null(startswith(f, g));
        char *local = strdup_printf("%s/%s", tmpdir, f + strlen(g) + 1);
        assert_true(path_exists(local) && !is_dir(local));
        free(local);
        free(f);
        struct agent_field fields[] = { { "dirpath", g }, { "prefix", "pre-" }, { "suffix", ".suf" }, { NULL, NULL } };
        struct agent_response resp = { 0 };
        assert_int_equal(agent_call(client, "POST", "/mktemp", fields, NULL, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 200);
        json_object *j = parse(resp.body);
        const char *fp = jstr(j, "filepath");
        assert_non_null(fp);
        assert_non_null(strstr(fp, "pre-"));
        assert_true(endswith(fp, ".suf"));
        json_object_put(j);
        agent_response_done(&resp);
        free(g);
}

static void test_store_retrieve(void **state) {
        (void)state;
        static const char text[] = "hello from the host\n\0with a NUL";
        char *g = gpath("st/sub/dir/x.txt");
        assert_int_equal(agent_upload_buffer(client, text, sizeof text, g), 0);
        char *l = lpath("st/sub/dir/x.txt");
        char *c = NULL;
        size_t n = 0;
        assert_int_equal(read_full_file(l, &c, &n), 0);
        assert_int_equal(n, sizeof text);
        assert_memory_equal(c, text, sizeof text);
        free(c);
        /* Overwrite with a file upload, then read it back. */
        char *src = lpath("upload-src.bin");
        char data[5000];
        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (char)(i * 7);
        assert_int_equal(write_file(src, data, sizeof data, 0644), 0);
        assert_int_equal(agent_upload(client, src, g), 0);
        assert_true(files_equal(src, l));
        char *back = lpath("back.bin");
        assert_int_equal(agent_retrieve(client, g, back), 0);
        assert_true(files_equal(src, back));
        free(back);
        /* An absent file: -ENOENT, nothing created; raw: 404 with an empty body. */
        char *missing = gpath("st/missing.bin"), *lm = lpath("missing.out");
        assert_int_equal(agent_retrieve(client, missing, lm), -ENOENT);
        assert_false(path_exists(lm));
        struct agent_field fields[] = { { "filepath", missing }, { NULL, NULL } };
        struct agent_response resp = { 0 };
        assert_int_equal(agent_call(client, "POST", "/retrieve", fields, NULL, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 404);
        assert_int_equal(resp.len, 0);
        agent_response_done(&resp);
        /* Uploading a missing local file fails before any request. */
        assert_int_equal(agent_upload(client, "/nonexistent/file", g), -ENOENT);
        free(missing);
        free(lm);
        free(src);
        free(l);
        free(g);
}

static long vm_hwm_kb(void) {
        char *s = NULL;
        if (read_full_file("/proc/self/status", &s, NULL) < 0)
                return -1;
        char *p = strstr(s, "VmHWM:");
        long kb = p ? strtol(p + 6, NULL, 10) : -1;
        free(s);
        return kb;
}

static void test_big_roundtrip(void **state) {
        (void)state;
        const size_t size = 200u << 20;
        char *src = lpath("big.bin");
        FILE *f = fopen(src, "wb");
        assert_non_null(f);
        char *chunk = malloc(1 << 20);
        uint64_t x = 88172645463325252ull;
        for (size_t done = 0; done < size; done += 1 << 20) {
                for (size_t i = 0; i < (1 << 20); i += 8) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        memcpy(chunk + i, &x, 8);
                }
                assert_int_equal(fwrite(chunk, 1, 1 << 20, f), 1 << 20);
        }
        free(chunk);
        assert_int_equal(fclose(f), 0);

        char *g = gpath("big-stored.bin"), *back = lpath("big-back.bin"), *stored = lpath("big-stored.bin");
        assert_int_equal(agent_upload(client, src, g), 0);
        assert_int_equal(file_size_or_zero(stored), size);
        assert_int_equal(agent_retrieve(client, g, back), 0);
        assert_int_equal(file_size_or_zero(back), size);
        assert_true(files_equal(src, back));
        long hwm = vm_hwm_kb();
        printf("# client peak RSS (VmHWM) after 2 x 200 MB: %ld kB\n", hwm);
#ifndef UNDER_ASAN
        assert_true(hwm > 0 && hwm < 50 * 1024);
#endif
        unlink(src);
        unlink(back);
        unlink(stored);
        free(src);
        free(back);
        free(stored);
        free(g);
}

static char *make_zips(void) {
        char *dir = lpath("zips");
        assert_int_equal(mkdir_p(dir, 0755), 0);
        const char *root = getenv("VMCLOAK_SOURCE_ROOT");
        char *script = strdup_printf("%s/tests/fixtures/agent-zips.py", root ? root : ".");
        char *argv[] = { "python3", script, dir, NULL };
        assert_int_equal(proc_run(argv, NULL, NULL, NULL), 0);
        free(script);
        return dir;
}

static void test_extract(void **state) {
        (void)state;
        char *zips = make_zips();
        char *zip = strdup_printf("%s/good.zip", zips);
        char *g = gpath("ex/target");
        assert_int_equal(agent_extract(client, zip, g), 0);
        char *l = lpath("ex/target"), *ref = strdup_printf("%s/ref", zips);
        char *argv[] = { "diff", "-r", ref, l, NULL };
        assert_int_equal(proc_run(argv, NULL, NULL, NULL), 0);
        free(zip);
        free(g);
        free(l);
        free(ref);

        /* Unsafe names: refused (400) and nothing written, not even the harmless entry. */
        for (int i = 0; i < 9; i++) {
                zip = strdup_printf("%s/evil-%d.zip", zips, i);
                char *rel = strdup_printf("ex/evil%d/in", i);
                g = gpath(rel);
                assert_int_equal(agent_extract(client, zip, g), -EINVAL);
                char *harmless = strdup_printf("%s/%s/harmless.txt", tmpdir, rel);
                assert_false(path_exists(harmless));
                free(harmless);
                free(rel);
                free(g);
                free(zip);
        }
        char *esc = lpath("ex/escape.txt"), *esc2 = lpath("escape.txt");
        assert_false(path_exists(esc));
        assert_false(path_exists(esc2));
        free(esc);
        free(esc2);

        /* Corrupt data and a zip bomb (size lie): 400. */
        const char *bad[] = { "corrupt.zip", "bomb.zip" };
        for (size_t i = 0; i < 2; i++) {
                zip = strdup_printf("%s/%s", zips, bad[i]);
                g = gpath("ex/bad");
                assert_int_equal(agent_extract(client, zip, g), -EINVAL);
                free(zip);
                free(g);
        }
        char *bomb = lpath("ex/bad/bomb.txt");
        assert_true(!path_exists(bomb) || file_size_or_zero(bomb) <= 10);
        free(bomb);

        /* Not a zip at all. */
        g = gpath("ex/notzip");
        char *src = lpath("notzip.zip");
        assert_int_equal(write_file(src, "this is not a zip file", 22, 0644), 0);
        assert_int_equal(agent_extract(client, src, g), -EINVAL);
        free(src);
        free(g);
        free(zips);
}

/* Extract zip (a fixture) into rel: returns the client's result; the answer's message, if
 * wanted, in *ret_message. */
static int extract_fixture(const char *zips, const char *zip, const char *rel, char **ret_message) {
        char *z = strdup_printf("%s/%s", zips, zip), *g = gpath(rel);
        int r;
        if (ret_message) {
                struct agent_field fields[] = { { "dirpath", g }, { NULL, NULL } };
                struct agent_response resp = { 0 };
                assert_int_equal(agent_call(client, "POST", "/extract", fields, "zipfile", z, 0, &resp), 0);
                json_object *j = parse(resp.body);
                *ret_message = strdup(strempty(jstr(j, "message")));
                r = resp.status == 200 ? 0 : resp.status == 400 ? -EINVAL : -EIO;
                if (resp.status != 200)
                        assert_int_equal(jint(j, "error_code"), resp.status);
                json_object_put(j);
                agent_response_done(&resp);
        } else {
                r = agent_extract(client, z, g);
        }
        free(z);
        free(g);
        return r;
}

static void make_local(const char *rel, const char *content) {
        char *p = lpath(rel), *d = path_dirname(p);
        assert_int_equal(mkdir_p(d, 0755), 0);
        assert_int_equal(write_file(p, content, strlen(content), 0644), 0);
        free(d);
        free(p);
}

/* /extract is all or nothing: a refused or failing archive leaves the destination as it was
 * (and makes no directory for it), naming the entry at fault. */
static void test_extract_atomic(void **state) {
        (void)state;
        char *zips = make_zips();
        char *msg = NULL;

        /* Names that cannot all be made (issue 10: "a.txt", a file "lib" and "lib/x.py"). */
        static const struct {
                const char *zip, *entry;
        } clashes[] = {
                { "clash-0.zip", "'lib/x.py'" }, { "clash-1.zip", "'lib/x.py'" }, { "clash-2.zip", "'lib'" },
                { "clash-3.zip", "'b.txt'" },    { "clash-4.zip", "'x/y/z/w.txt'" }, { "clash-5.zip", "'lib/y'" },
        };
        make_local("xa/existing/a.txt", "old a\n");
        char *before = snapshot("xa/existing");
        for (size_t i = 0; i < ELEMENTSOF(clashes); i++) {
                assert_int_equal(extract_fixture(zips, clashes[i].zip, "xa/new/deeper", &msg), -EINVAL);
                if (!strstr(msg, clashes[i].entry))
                        printf("# %s: %s\n", clashes[i].zip, msg);
                assert_non_null(strstr(msg, clashes[i].entry));
                free(msg);
                char *l = lpath("xa/new");
                assert_false(path_exists(l));   /* not even the destination was made */
                free(l);
                assert_int_equal(extract_fixture(zips, clashes[i].zip, "xa/existing", NULL), -EINVAL);
                expect_unchanged(clashes[i].zip, "xa/existing", before);
        }
        free(before);

        /* Data that fails only at the last entry: nothing of the first entries stays. */
        assert_int_equal(extract_fixture(zips, "late-corrupt.zip", "xa/late/new", &msg), -EINVAL);
        assert_non_null(strstr(msg, "z-last.bin"));
        free(msg);
        char *l = lpath("xa/late");
        assert_false(path_exists(l));
        free(l);

        /* An existing tree: a failing update changes nothing, a good one replaces one file,
         * adds two and leaves the rest alone. */
        make_local("xa/tree/keep/old.txt", "old content\n");
        make_local("xa/tree/keep/other.txt", "other\n");
        make_local("xa/tree/top.txt", "top\n");
        before = snapshot("xa/tree");
        assert_int_equal(extract_fixture(zips, "update-corrupt.zip", "xa/tree", NULL), -EINVAL);
        expect_unchanged("update-corrupt.zip", "xa/tree", before);
        free(before);
        assert_int_equal(extract_fixture(zips, "update.zip", "xa/tree", NULL), 0);
        char *c = read_local("xa/tree/keep/old.txt");
        assert_string_equal(c, "new content\n");
        free(c);
        c = read_local("xa/tree/keep/other.txt");
        assert_string_equal(c, "other\n");
        free(c);
        c = read_local("xa/tree/keep/sub/deep.txt");
        assert_string_equal(c, "deep\n");
        free(c);
        before = snapshot("xa/tree");
        assert_null(strstr(before, ".extract-"));   /* the private folder is gone */
        assert_non_null(strstr(before, "f fresh.txt "));
        free(before);

        /* Clashes with what is on disk, found before anything is written. */
        make_local("xa/filedir/keep", "a file where the zip has a folder\n");
        make_local("xa/dirfile/fresh.txt/inside.txt", "a folder where the zip has a file\n");
        const char *disk[][2] = { { "xa/filedir", "'keep/old.txt' needs a directory" },
                                  { "xa/dirfile", "'fresh.txt' is a file where" } };
        for (size_t i = 0; i < 2; i++) {
                before = snapshot(disk[i][0]);
                assert_int_equal(extract_fixture(zips, "update.zip", disk[i][0], &msg), -EINVAL);
                if (!strstr(msg, disk[i][1]))
                        printf("# %s: %s\n", disk[i][0], msg);
                assert_non_null(strstr(msg, disk[i][1]));
                free(msg);
                expect_unchanged("update.zip", disk[i][0], before);
                free(before);
        }
        if (!windows) {
                /* A link where the archive needs a folder: never written through. */
                make_local("xa/elsewhere/x.txt", "x\n");
                char *link = lpath("xa/linked/keep"), *target = lpath("xa/elsewhere"), *ldir = lpath("xa/linked");
                assert_int_equal(mkdir_p(ldir, 0755), 0);
                free(ldir);
                assert_int_equal(symlink(target, link), 0);
                char *b1 = snapshot("xa/linked"), *b2 = snapshot("xa/elsewhere");
                assert_int_equal(extract_fixture(zips, "update.zip", "xa/linked", &msg), -EINVAL);
                assert_non_null(strstr(msg, "through the link"));
                free(msg);
                expect_unchanged("update.zip", "xa/linked", b1);
                expect_unchanged("update.zip", "xa/elsewhere", b2);
                free(b1);
                free(b2);
                free(link);
                free(target);
        }

        /* A folder named twice is fine; names only Windows cannot hold are refused there. */
        assert_int_equal(extract_fixture(zips, "dupdir.zip", "xa/dupdir", NULL), 0);
        c = read_local("xa/dupdir/d/f.txt");
        assert_string_equal(c, "f\n");
        free(c);
        l = lpath("xa/dupdir/e/g");
        assert_true(is_dir(l));
        free(l);
        assert_int_equal(extract_fixture(zips, "case.zip", "xa/case", &msg), windows ? -EINVAL : 0);
        if (windows)
                assert_non_null(strstr(msg, "same file on Windows"));
        free(msg);
        assert_int_equal(extract_fixture(zips, "winname.zip", "xa/winname", &msg), windows ? -EINVAL : 0);
        if (windows)
                assert_non_null(strstr(msg, "device name"));
        free(msg);

        /* A failure while moving into place (a file that cannot be replaced): what was moved
         * goes back, the answer is 500, the tree is as it was. */
        make_local("xa/stuck/keep/old.txt", "old content\n");
        make_local("xa/stuck/top.txt", "top\n");
        struct pin pin;
        if (pin_file("xa/stuck/keep/old.txt", "old content\n", 15000, &pin)) {
                before = snapshot("xa/stuck");
                assert_int_equal(extract_fixture(zips, "update.zip", "xa/stuck", &msg), -EIO);
                printf("# %s\n", msg);
                assert_non_null(strstr(msg, "old.txt"));
                free(msg);
                expect_unchanged("update.zip", "xa/stuck", before);
                free(before);
                unpin_file(&pin, "xa/stuck/keep/old.txt", "old content\n");
        } else {
                printf("# the failure while moving into place was not tested\n");
        }

        /* The destination cannot be made part-way: the folders made before are removed. */
        char *longname = malloc(301);
        memset(longname, 'n', 300);
        longname[300] = 0;
        char *rel = strdup_printf("xa/made/%s/dest", longname);
        assert_int_equal(extract_fixture(zips, "update.zip", rel, NULL), -EIO);
        l = lpath("xa/made");
        assert_false(path_exists(l));
        free(l);
        free(rel);
        free(longname);
        free(zips);
}

/* /store, /mkdir, /remove: the full result or nothing. */
static void test_store_atomic(void **state) {
        (void)state;
        char *longname = malloc(301);
        memset(longname, 'n', 300);
        longname[300] = 0;

        /* Folders made for a file that cannot be stored are removed again. */
        char *rel = strdup_printf("sa/new/%s/f.txt", longname), *g = gpath(rel);
        assert_int_equal(agent_upload_buffer(client, "x", 1, g), -EIO);
        char *l = lpath("sa");
        assert_false(path_exists(l));
        free(l);
        free(g);
        free(rel);

        /* The destination is a folder: 500, no temporary file, no folder made. */
        make_local("sb/isdir/inside.txt", "in\n");
        char *before = snapshot("sb");
        g = gpath("sb/isdir");
        assert_int_equal(agent_upload_buffer(client, "data", 4, g), -EIO);
        free(g);
        expect_unchanged("/store onto a folder", "sb", before);
        free(before);

        /* A broken upload into new folders leaves neither a file nor the folders. */
        g = gpath("sc/new/deeper/f.txt");
        char *body = strdup_printf("--XyZ\r\nContent-Disposition: form-data; name=\"filepath\"\r\n\r\n%s\r\n"
                                   "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\ndata data",
                                   g);
        char *req = strdup_printf("POST /store HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                                  "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        expect_raw("truncated upload into new folders", req, strlen(req), false, 400);
        l = lpath("sc");
        assert_false(path_exists(l));
        free(l);
        free(req);
        free(body);
        free(g);

        /* The file part first (spooled), then a filepath whose folders cannot all be made. */
        rel = strdup_printf("sd/new/%s/f.txt", longname);
        g = gpath(rel);
        body = strdup_printf("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nspooled\r\n"
                             "--XyZ\r\nContent-Disposition: form-data; name=\"filepath\"\r\n\r\n%s\r\n--XyZ--\r\n", g);
        req = strdup_printf("POST /store HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                            "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        expect_raw("spooled upload, folders fail", req, strlen(req), false, 500);
        l = lpath("sd");
        assert_false(path_exists(l));
        free(l);
        free(req);
        free(body);
        free(g);
        free(rel);
        /* ... and one that works: the folders are made. */
        g = gpath("se/new/f.txt");
        body = strdup_printf("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nspooled\r\n"
                             "--XyZ\r\nContent-Disposition: form-data; name=\"filepath\"\r\n\r\n%s\r\n--XyZ--\r\n", g);
        req = strdup_printf("POST /store HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                            "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        expect_raw("spooled upload", req, strlen(req), false, 200);
        char *c = read_local("se/new/f.txt");
        assert_string_equal(c, "spooled");
        free(c);
        free(req);
        free(body);
        free(g);

        /* A file that cannot be replaced keeps its content, and nothing is left beside it. */
        make_local("sf/held.txt", "held\n");
        struct pin pin;
        if (pin_file("sf/held.txt", "held\n", 15000, &pin)) {
                before = snapshot("sf");
                g = gpath("sf/held.txt");
                assert_int_equal(agent_upload_buffer(client, "replaced\n", 9, g), -EIO);
                free(g);
                expect_unchanged("/store onto a held file", "sf", before);
                free(before);
                unpin_file(&pin, "sf/held.txt", "held\n");
        }

        /* /mkdir a/b/c where b cannot be made: a is removed again. */
        rel = strdup_printf("ma/new/%s/c", longname);
        g = gpath(rel);
        assert_int_equal(agent_mkdir(client, g), -EIO);
        l = lpath("ma");
        assert_false(path_exists(l));
        free(l);
        free(g);
        free(rel);
        /* The last part is a file: 500, nothing made. */
        make_local("mb/file", "f\n");
        before = snapshot("mb");
        g = gpath("mb/file");
        assert_int_equal(agent_mkdir(client, g), -EIO);
        free(g);
        expect_unchanged("/mkdir onto a file", "mb", before);
        free(before);

        /* /remove of a folder with something that cannot be deleted: nothing is removed (the
         * folder is renamed aside, checked, and gets its name back). */
        make_local("ra/dir/a.txt", "a\n");
        make_local("ra/dir/sub/b.txt", "b\n");
        make_local("ra/dir/sub/c.txt", "c\n");
        if (pin_file("ra/dir/sub/b.txt", "b\n", 15000, &pin)) {
                before = snapshot("ra");
                g = gpath("ra/dir");
                struct agent_field fields[] = { { "path", g }, { NULL, NULL } };
                struct agent_response resp = { 0 };
                assert_int_equal(agent_call(client, "POST", "/remove", fields, NULL, NULL, 0, &resp), 0);
                assert_int_equal(resp.status, 500);
                json_object *j = parse(resp.body);
                printf("# %s\n", jstr(j, "message"));
                assert_non_null(strstr(jstr(j, "message"), "b.txt"));
                assert_non_null(strstr(jstr(j, "message"), "nothing was removed"));
                json_object_put(j);
                agent_response_done(&resp);
                expect_unchanged("/remove with a held file", "ra", before);
                free(before);
                unpin_file(&pin, "ra/dir/sub/b.txt", "b\n");
                assert_int_equal(agent_remove(client, g), 0);
                l = lpath("ra/dir");
                assert_false(path_exists(l));
                free(l);
                before = snapshot("ra");
                assert_string_equal(before, "");   /* no ".removing-" left beside it */
                free(before);
                free(g);
        }
        free(longname);
}

/* The client keeps a file of its own name beside a download (LOCAL.part is not its scratch). */
static void test_retrieve_atomic(void **state) {
        (void)state;
        make_local("rt/src.txt", "remote\n");
        make_local("rt/local.txt.part", "mine\n");
        char *g = gpath("rt/src.txt"), *local = lpath("rt/local.txt");
        assert_int_equal(agent_retrieve(client, g, local), 0);
        char *c = read_local("rt/local.txt");
        assert_string_equal(c, "remote\n");
        free(c);
        c = read_local("rt/local.txt.part");
        assert_string_equal(c, "mine\n");
        free(c);
        char *missing = gpath("rt/missing.txt");
        assert_int_equal(agent_retrieve(client, missing, local), -ENOENT);
        c = read_local("rt/local.txt");
        assert_string_equal(c, "remote\n");   /* a failed download leaves the old file */
        free(c);
        char *listing = snapshot("rt");
        assert_null(strstr(listing, "local.txt.part-"));   /* no scratch file left */
        free(listing);
        free(missing);
        free(local);
        free(g);
}

static void test_execute(void **state) {
        (void)state;
        struct agent_exec_result res;
        struct agent_exec_opts shell = { .shell = true };
        const char *cmd = windows ? "echo out& echo err 1>&2& exit 3" : "echo out; echo err >&2; exit 3";
        assert_int_equal(agent_execute(client, cmd, &shell, &res), 0);
        assert_int_equal(res.exit_code, 3);
        assert_non_null(startswith(res.out, "out"));
        assert_non_null(startswith(res.err, "err"));
        assert_null(res.error);
        agent_exec_result_done(&res);

        /* No shell field (what Cuckoo3 sends): still a command line. */
        cmd = windows ? "cmd.exe /c echo plain" : "echo plain | tr p P";
        assert_int_equal(agent_execute(client, cmd, NULL, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_non_null(startswith(res.out, windows ? "plain" : "Plain"));
        agent_exec_result_done(&res);

        /* cwd. */
        char *cwd = gpath("");
        struct agent_exec_opts in_dir = { .shell = true, .cwd = cwd };
        assert_int_equal(agent_execute(client, windows ? "cd" : "pwd", &in_dir, &res), 0);
        assert_non_null(strstr(res.out, windows ? cwd : tmpdir));
        agent_exec_result_done(&res);
        free(cwd);

        /* A missing cwd or program: the agent answers 500, the client -EIO. */
        struct agent_exec_opts bad_dir = { .shell = true, .cwd = windows ? "Z:\\nonexistent\\dir" : "/nonexistent/dir" };
        assert_int_equal(agent_execute(client, "echo x", &bad_dir, &res), -EIO);
        if (windows)
                assert_int_equal(agent_execute(client, "no-such-program-xyz.exe", NULL, &res), -EIO);
        else {
                assert_int_equal(agent_execute(client, "no-such-program-xyz", NULL, &res), 0);
                assert_int_equal(res.exit_code, 127);
                agent_exec_result_done(&res);
        }


        /* Large output is captured whole (below the cap). */
        cmd = windows ? "for /L %i in (1,1,3000) do @echo line-%i" : "seq 1 200000";
        assert_int_equal(agent_execute(client, cmd, &shell, &res), 0);
        assert_non_null(strstr(res.out, windows ? "line-3000" : "\n200000\n"));
        agent_exec_result_done(&res);

        expect_call("POST", "/execute", NULL, NULL, NULL, 400, "No command has been provided");

        /* Fire-and-forget: an answer is 0, a connection that stays silent past the timeout is 1. */
        assert_int_equal(agent_execute_nowait(client, windows ? "cmd.exe /c echo x" : "echo x", false, 10000), 0);
        assert_int_equal(agent_execute_nowait(client, windows ? "ping -n 4 127.0.0.1" : "sleep 3", false, 500), 1);
        assert_int_equal(agent_execute_nowait(client, windows ? "cmd.exe /c echo x" : "echo x", true, 10000), 0);
}

/* A timeout is a failure, never "Successfully executed command": the answer says so in its
 * message and "timed_out", the exit code is 137 on both platforms, the process tree is gone,
 * and the client returns -ETIMEDOUT with one error line naming the command. */
static void test_execute_timeout(void **state) {
        (void)state;
        struct agent_exec_result res;
        struct agent_exec_opts quick = { .shell = true, .timeout_ms = 1000 };
        const char *slow = windows ? "echo before& ping -n 30 127.0.0.1 >NUL" : "echo before; sleep 30";
        char *logf = lpath("client-timeout.log");
        assert_int_equal(log_open_file(logf), 0);
        int64_t start = now_ms();
        assert_int_equal(agent_execute(client, slow, &quick, &res), -ETIMEDOUT);
        log_close_file();
        assert_true(now_ms() - start < 15000);
        assert_true(res.timed_out);
        assert_int_equal(res.exit_code, 137);
        assert_non_null(startswith(res.out, "before"));   /* the output until then is kept */
        assert_non_null(res.error);
        agent_exec_result_done(&res);
        char *line = NULL;
        assert_int_equal(error_lines(logf, &line), 1);
        printf("# %s\n", line);
        assert_non_null(strstr(line, slow));
        assert_non_null(strstr(line, "timed out after 1 s"));
        free(line);
        free(logf);
        assert_int_equal(agent_ping(client), 0);

        /* The raw answer: 200 (the output is in it) but the message and the fields say it. */
        char *marker = lpath("late-marker"), *gmarker = gpath("late-marker");
        char *cmd = windows ? strdup_printf("ping -n 3 127.0.0.1 >NUL & echo late > \"%s\"", gmarker)
                            : strdup_printf("sleep 2; echo late > '%s'", gmarker);
        struct agent_field fields[] = { { "command", cmd }, { "shell", "1" }, { "timeout", "0.5" }, { NULL, NULL } };
        struct agent_response resp = { 0 };
        assert_int_equal(agent_call(client, "POST", "/execute", fields, NULL, NULL, 30000, &resp), 0);
        assert_int_equal(resp.status, 200);
        json_object *j = parse(resp.body), *v;
        assert_string_not_equal(jstr(j, "message"), "Successfully executed command");
        assert_non_null(strstr(jstr(j, "message"), "Timed out after 500 ms"));
        assert_non_null(strstr(jstr(j, "error"), "Timed out after 500 ms"));
        assert_true(json_object_object_get_ex(j, "timed_out", &v) && json_object_get_boolean(v));
        assert_int_equal(jint(j, "exit_code"), 137);
        json_object_put(j);
        agent_response_done(&resp);
        /* The whole tree was killed: the shell never reaches its last command. */
        sleep_ms(3500);
        assert_false(path_exists(marker));
        free(cmd);

        /* A command that ends in time: timed_out false, error null. */
        struct agent_field ok[] = { { "command", windows ? "cmd.exe /c exit 5" : "exit 5" }, { "timeout", "30" }, { NULL, NULL } };
        assert_int_equal(agent_call(client, "POST", "/execute", ok, NULL, NULL, 30000, &resp), 0);
        assert_int_equal(resp.status, 200);
        j = parse(resp.body);
        assert_string_equal(jstr(j, "message"), "Successfully executed command");
        assert_true(json_object_object_get_ex(j, "timed_out", &v) && !json_object_get_boolean(v));
        assert_true(json_object_object_get_ex(j, "error", &v) && v == NULL);
        assert_int_equal(jint(j, "exit_code"), 5);
        json_object_put(j);
        agent_response_done(&resp);
        assert_int_equal(agent_execute(client, windows ? "cmd.exe /c exit 5" : "exit 5", &quick, &res), 0);
        assert_false(res.timed_out);
        assert_int_equal(res.exit_code, 5);
        agent_exec_result_done(&res);

        /* Async with a timeout: started at once, killed at the timeout, noted in /logs. */
        struct agent_exec_opts async = { .async = true, .shell = true, .timeout_ms = 1000 };
        cmd = windows ? strdup_printf("ping -n 4 127.0.0.1 >NUL & echo late > \"%s\"", gmarker)
                      : strdup_printf("sleep 3; echo late > '%s'", gmarker);
        start = now_ms();
        assert_int_equal(agent_execute(client, cmd, &async, NULL), 0);
        assert_true(now_ms() - start < 2000);
        bool seen = false;
        for (int i = 0; i < 100 && !seen; i++) {
                char *out = NULL, *err = NULL;
                assert_int_equal(agent_logs(client, &out, &err), 0);
                seen = strstr(err, "timed out after 1000 ms and was killed") != NULL;
                free(out);
                free(err);
                if (!seen)
                        sleep_ms(100);
        }
        assert_true(seen);
        int64_t left = start + 4500 - now_ms();
        if (left > 0)
                sleep_ms((int)left);
        assert_false(path_exists(marker));
        free(cmd);
        free(marker);
        free(gmarker);
}

static void test_execute_async_logs(void **state) {
        (void)state;
        struct agent_exec_opts async = { .async = true, .shell = true };
        const char *cmd = windows ? "echo async-marker& echo async-err 1>&2" : "echo async-marker; echo async-err >&2";
        assert_int_equal(agent_execute(client, cmd, &async, NULL), 0);
        bool seen = false;
        for (int i = 0; i < 200 && !seen; i++) {
                char *out = NULL, *err = NULL;
                assert_int_equal(agent_logs(client, &out, &err), 0);
                seen = strstr(out, "async-marker") && strstr(err, "async-err");
                free(out);
                free(err);
                if (!seen)
                        usleep(100 * 1000);
        }
        assert_true(seen);
}

static void test_execpy(void **state) {
        (void)state;
        char *script = lpath("script.py");
        assert_int_equal(write_file(script, "print('from python')\n", 21, 0644), 0);
        char *g = gpath("script.py");
        struct agent_exec_result res;
        char *py = find_program("python3");
        if (!windows && py) {
                assert_int_equal(agent_execpy(client, g, NULL, &res), 0);
                assert_int_equal(res.exit_code, 0);
                assert_non_null(startswith(res.out, "from python"));
                agent_exec_result_done(&res);
                /* A timeout is reported as for /execute. */
                char *slow = lpath("slow.py");
                static const char text[] = "import time\nprint('py-before', flush=True)\ntime.sleep(30)\n";
                assert_int_equal(write_file(slow, text, sizeof text - 1, 0644), 0);
                char *gs = gpath("slow.py");
                struct agent_exec_opts quick = { .timeout_ms = 1000 };
                assert_int_equal(agent_execpy(client, gs, &quick, &res), -ETIMEDOUT);
                assert_true(res.timed_out);
                assert_int_equal(res.exit_code, 137);
                assert_non_null(startswith(res.out, "py-before"));
                agent_exec_result_done(&res);
                free(gs);
                free(slow);
        } else {
                /* No Python in this guest (Wine has none): a clear 500. */
                struct agent_field fields[] = { { "filepath", g }, { NULL, NULL } };
                expect_call("POST", "/execpy", fields, NULL, NULL, 500, NULL);
        }
        free(py);
        expect_call("POST", "/execpy", NULL, NULL, NULL, 400, "No Python file has been provided");
        free(g);
        free(script);
}

static void test_bad_requests(void **state) {
        (void)state;
        expect_call("GET", "/nope", NULL, NULL, NULL, 404, "Route not found");
        expect_call("POST", "/nope/deeper", NULL, NULL, NULL, 404, "Route not found");
        expect_call("GET", "/store", NULL, NULL, NULL, 405, NULL);
        expect_call("POST", "/", NULL, NULL, NULL, 405, NULL);
        expect_call("GET", "/execute", NULL, NULL, NULL, 405, NULL);
        char *g = gpath("bad.txt");
        char *src = lpath("bad-src.txt");
        assert_int_equal(write_file(src, "x", 1, 0644), 0);
        struct agent_field fp[] = { { "filepath", g }, { NULL, NULL } };
        struct agent_field dp[] = { { "dirpath", g }, { NULL, NULL } };
        expect_call("POST", "/store", NULL, "file", src, 400, "No filepath has been provided");
        expect_call("POST", "/store", fp, NULL, NULL, 400, "No file has been provided");
        expect_call("POST", "/store", fp, "notfile", src, 400, "No file has been provided");
        expect_call("POST", "/extract", NULL, "zipfile", src, 400, "No dirpath has been provided");
        expect_call("POST", "/extract", dp, NULL, NULL, 400, "No zip file has been provided");
        expect_call("POST", "/retrieve", NULL, NULL, NULL, 400, "No filepath has been provided");
        expect_call("POST", "/mkdir", NULL, NULL, NULL, 400, "No dirpath has been provided");
        expect_call("POST", "/remove", NULL, NULL, NULL, 400, "No path has been provided");
        /* The client maps statuses to errno values. */
        assert_int_equal(agent_remove(client, g), -ENOENT);
        free(g);
        free(src);
}

/* --- raw sockets --- */

static int raw_connect(const char *source_ip) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (source_ip) {
                struct sockaddr_in src = { .sin_family = AF_INET };
                inet_pton(AF_INET, source_ip, &src.sin_addr);
                assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
        }
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)agent_port) };
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        return fd;
}

/* Read until the agent closes (or 30 s pass); returns the bytes read. */
static char *raw_read_all(int fd) {
        size_t cap = 65536, len = 0;
        char *buf = malloc(cap + 1);
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 30000) <= 0)
                        break;
                ssize_t n = recv(fd, buf + len, cap - len, 0);
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len == cap) {
                        cap *= 2;
                        buf = realloc(buf, cap + 1);
                }
        }
        buf[len] = 0;
        return buf;
}

static char *raw_exchange(const char *source_ip, const char *data, size_t len, bool close_send) {
        int fd = raw_connect(source_ip);
        size_t off = 0;
        while (off < len) {
                ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
                if (n <= 0)
                        break;   /* the agent may answer and close early */
                off += (size_t)n;
        }
        if (close_send)
                shutdown(fd, SHUT_WR);
        char *resp = raw_read_all(fd);
        close(fd);
        return resp;
}

static int raw_status(const char *resp) {
        if (!startswith(resp, "HTTP/1."))
                return -1;
        return atoi(resp + 9);
}

static void expect_raw(const char *what, const char *data, size_t len, bool close_send, int status) {
        char *resp = raw_exchange(NULL, data, len, close_send);
        if (raw_status(resp) != status)
                printf("# %s: got '%.100s'\n", what, resp);
        assert_int_equal(raw_status(resp), status);
        if (status >= 400) {
                char *body = strstr(resp, "\r\n\r\n");
                assert_non_null(body);
                json_object *j = parse(body + 4);
                assert_int_equal(jint(j, "error_code"), status);
                assert_non_null(jstr(j, "message"));
                json_object_put(j);
        }
        free(resp);
}

static void test_raw_limits(void **state) {
        (void)state;
        /* Head too large. */
        size_t big = 40000;
        char *req = malloc(big + 100);
        if (!req)
                abort();
        int n = sprintf(req, "GET / HTTP/1.1\r\nX-Big: ");
        memset(req + n, 'a', big);
        strcpy(req + n + big, "\r\n\r\n");
        expect_raw("oversize header", req, strlen(req), false, 431);
        free(req);
        /* Too many headers. */
        struct buf { char *s; } b = { strdup("GET / HTTP/1.1\r\n") };
        for (int i = 0; i < 100; i++) {
                char *t = strdup_printf("%sX-H%d: v\r\n", b.s, i);
                free(b.s);
                b.s = t;
        }
        char *t = strdup_printf("%s\r\n", b.s);
        free(b.s);
        expect_raw("too many headers", t, strlen(t), false, 431);
        free(t);
        /* A form body over the cap is refused before it is read. */
        const char *huge = "POST /execute HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                           "Content-Length: 100000000\r\n\r\ncommand=echo";
        expect_raw("oversize body", huge, strlen(huge), false, 413);
        const char *toolong = "POST /store HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                              "Content-Length: 99999999999999999999999\r\n\r\n";
        expect_raw("absurd Content-Length", toolong, strlen(toolong), false, 413);
}

static void test_raw_malformed(void **state) {
        (void)state;
        const char *garbage = "\x01\x02 garbage\r\n\r\n";
        expect_raw("garbage", garbage, strlen(garbage), false, 400);
        const char *nover = "GET /\r\n\r\n";
        expect_raw("no version", nover, strlen(nover), false, 400);
        const char *v2 = "GET / HTTP/2.0\r\n\r\n";
        expect_raw("HTTP/2.0", v2, strlen(v2), false, 505);
        const char *badcl = "POST /execute HTTP/1.1\r\nContent-Length: abc\r\n\r\n";
        expect_raw("bad Content-Length", badcl, strlen(badcl), false, 400);
        const char *twocl = "POST /execute HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\ncommand=x";
        expect_raw("conflicting Content-Length", twocl, strlen(twocl), false, 400);
        const char *chunked = "POST /execute HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        expect_raw("chunked", chunked, strlen(chunked), false, 411);
        /* No Content-Length: the body is not waited for (empty), so the field is missing. */
        const char *nocl = "POST /execute HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\ncommand=echo+hi";
        expect_raw("no Content-Length", nocl, strlen(nocl), false, 400);
        /* Body shorter than announced, then end of stream. */
        const char *shortb = "POST /execute HTTP/1.1\r\nContent-Length: 50\r\n\r\ncommand=echo";
        char *resp = raw_exchange(NULL, shortb, strlen(shortb), true);
        assert_true(raw_status(resp) == 400 || resp[0] == 0);   /* answered, or closed */
        free(resp);
        /* Multipart without the closing boundary (complete Content-Length). */
        const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"filepath\"\r\n\r\n/tmp/never\r\n"
                           "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\ndata data";
        char *mp = strdup_printf("POST /store HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                                 "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        expect_raw("truncated multipart", mp, strlen(mp), false, 400);
        free(mp);
        /* Multipart cut short of its Content-Length. */
        mp = strdup_printf("POST /store HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                           "Content-Length: %zu\r\n\r\n%s", strlen(body) + 500, body);
        expect_raw("short multipart", mp, strlen(mp), true, 400);
        free(mp);
        assert_false(path_exists("/tmp/never"));
        /* A part head without its blank line, larger than the part head cap. */
        size_t hl = 20000;
        char *hb = malloc(hl + 64);
        if (!hb)
                abort();
        int k = sprintf(hb, "--XyZ\r\nX-Long: ");
        memset(hb + k, 'h', hl);
        hb[k + hl] = 0;
        mp = strdup_printf("POST /store HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                           "Content-Length: %zu\r\n\r\n%s", strlen(hb), hb);
        expect_raw("oversize part head", mp, strlen(mp), false, 413);
        free(mp);
        free(hb);
        /* Missing boundary parameter. */
        const char *nob = "POST /store HTTP/1.1\r\nContent-Type: multipart/form-data\r\nContent-Length: 4\r\n\r\nabcd";
        expect_raw("no boundary", nob, strlen(nob), false, 400);
        assert_int_equal(agent_ping(client), 0);
}

static void test_raw_protocol(void **state) {
        (void)state;
        /* Idle connection: dropped with 408 after the read timeout (3 s here). */
        const char *partial = "GET / HTTP/1.1\r\n";
        expect_raw("idle", partial, strlen(partial), false, 408);
        /* A connect-and-leave (health checks) costs nothing. */
        close(raw_connect(NULL));
        /* Expect: 100-continue gets an interim answer before the body is sent. */
        char *g = gpath("continue.txt");
        char *body = strdup_printf("--B\r\nContent-Disposition: form-data; name=\"filepath\"\r\n\r\n%s\r\n"
                                   "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c\"\r\n\r\ncontinued\r\n--B--\r\n", g);
        char *head = strdup_printf("POST /store HTTP/1.1\r\nExpect: 100-continue\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                                   "Content-Length: %zu\r\n\r\n", strlen(body));
        int fd = raw_connect(NULL);
        assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
        char interim[64] = "";
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 30000), 1);
        ssize_t n = recv(fd, interim, 25, 0);
        assert_true(n == 25);
        assert_non_null(startswith(interim, "HTTP/1.1 100 Continue\r\n\r\n"));
        assert_int_equal(send(fd, body, strlen(body), MSG_NOSIGNAL), (ssize_t)strlen(body));
        char *resp = raw_read_all(fd);
        close(fd);
        assert_int_equal(raw_status(resp), 200);
        free(resp);
        char *c = read_local("continue.txt");
        assert_string_equal(c, "continued");
        free(c);
        free(head);
        free(body);
        /* Fields in the query string (GET /mkdtemp?prefix=...). */
        const char *get = "GET /mkdtemp?prefix=qq- HTTP/1.0\r\n\r\n";
        resp = raw_exchange(NULL, get, strlen(get), false);
        assert_int_equal(raw_status(resp), 200);
        assert_non_null(strstr(resp, "qq-"));
        free(resp);
        free(g);
        /* Every answer is HTTP/1.0 with the connection closed. */
        const char *idx = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        resp = raw_exchange(NULL, idx, strlen(idx), false);
        assert_non_null(startswith(resp, "HTTP/1.0 200 OK\r\n"));
        assert_non_null(strstr(resp, "Connection: close\r\n"));
        free(resp);
}

/* --- concurrency, pinning, kill --- */

static volatile bool slow_done;

static void *slow_execute(void *arg) {
        (void)arg;
        struct agent_exec_opts shell = { .shell = true };
        struct agent_exec_result res;
        agent_execute(client, windows ? "ping -n 5 127.0.0.1 >NUL" : "sleep 4", &shell, &res);
        agent_exec_result_done(&res);
        slow_done = true;
        return NULL;
}

static void test_concurrency(void **state) {
        (void)state;
        pthread_t t;
        slow_done = false;
        assert_int_equal(pthread_create(&t, NULL, slow_execute, NULL), 0);
        usleep(500 * 1000);
        /* Other requests are served while a long synchronous /execute runs. */
        for (int i = 0; i < 5; i++)
                assert_int_equal(agent_ping(client), 0);
        char *s = NULL;
        assert_int_equal(agent_system(client, &s), 0);
        free(s);
        assert_false(slow_done);
        pthread_join(t, NULL);
        assert_true(slow_done);
}

static void test_pinning(void **state) {
        (void)state;
        char *ip = NULL;
        assert_int_equal(agent_pinning(client, &ip), 0);
        assert_string_equal(ip, "127.0.0.1");
        free(ip);
        /* Pinned already: 500, as the Python agents answer. */
        struct agent_response resp = { 0 };
        assert_int_equal(agent_call(client, "GET", "/pinning", NULL, NULL, NULL, 0, &resp), 0);
        assert_int_equal(resp.status, 500);
        agent_response_done(&resp);
        /* Another client IP: 403 for everything. */
        const char *idx = "GET / HTTP/1.0\r\n\r\n";
        char *r = raw_exchange("127.0.0.2", idx, strlen(idx), false);
        assert_int_equal(raw_status(r), 403);
        assert_non_null(strstr(r, "pinned"));
        free(r);
        /* The pinned client still works. */
        assert_int_equal(agent_ping(client), 0);
}

static void test_kill(void **state) {
        (void)state;
        assert_int_equal(agent_kill(client), 0);
        int status;
        assert_int_equal(proc_wait(agent_pid, 30000, &status), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        agent_pid = 0;
        /* Now nothing answers: a short wait_ready fails with a message naming the address. */
        assert_int_equal(agent_wait_ready(client, 600), -ETIMEDOUT);
        assert_int_equal(agent_execute_nowait(client, "echo x", false, 2000), -ECONNREFUSED);
        /* Ctrl-C ends the wait at once. */
        interrupt_install();
        raise(SIGINT);
        assert_int_equal(agent_wait_ready(client, 60000), -ECANCELED);
        assert_int_equal(agent_ping(client), -ECANCELED);
        interrupt_reset();
}

/* Native agent only: SIGTERM exits 0; the Go agent's "-host X -port N" spelling works. */
static void test_sigterm_cli(void **state) {
        (void)state;
        if (agent_wrapper) {
                skip();
                return;
        }
        char *log = lpath("agent2.log");
        char *args[] = { "-host", "127.0.0.1", "-port", "0", NULL };
        pid_t pid;
        int port;
        assert_int_equal(start_agent(log, args, &pid, &port), 0);
        struct agent_client *c2;
        assert_int_equal(agent_client_new("127.0.0.1", port, &c2), 0);
        assert_int_equal(agent_wait_ready(c2, 20000), 0);
        agent_client_free(c2);
        assert_int_equal(kill(pid, SIGTERM), 0);
        int status;
        assert_int_equal(proc_wait(pid, 20000, &status), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        char *s = NULL;
        assert_int_equal(read_full_file(log, &s, NULL), 0);
        assert_non_null(strstr(s, "terminating on signal"));
        free(s);
        /* Bad command lines exit 2 with one line. */
        char *out = NULL, *err = NULL;
        char *bad[] = { agent_bin, "--port", "99999", NULL };
        assert_int_equal(proc_run(bad, NULL, &out, &err), 2);
        assert_non_null(strstr(err, "invalid port"));
        free(out);
        free(err);
        free(log);
}

int main(void) {
        log_set_level(LOG_LEVEL_WARNING);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_index),
                cmocka_unit_test(test_system_path),
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_environ),
                cmocka_unit_test(test_mkdir_remove),
                cmocka_unit_test(test_mktemp),
                cmocka_unit_test(test_store_retrieve),
                cmocka_unit_test(test_big_roundtrip),
                cmocka_unit_test(test_extract),
                cmocka_unit_test(test_extract_atomic),
                cmocka_unit_test(test_store_atomic),
                cmocka_unit_test(test_retrieve_atomic),
                cmocka_unit_test(test_execute),
                cmocka_unit_test(test_execute_timeout),
                cmocka_unit_test(test_execute_async_logs),
                cmocka_unit_test(test_execpy),
                cmocka_unit_test(test_bad_requests),
                cmocka_unit_test(test_raw_limits),
                cmocka_unit_test(test_raw_malformed),
                cmocka_unit_test(test_raw_protocol),
                cmocka_unit_test(test_concurrency),
                cmocka_unit_test(test_pinning),
                cmocka_unit_test(test_kill),
                cmocka_unit_test(test_sigterm_cli),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
