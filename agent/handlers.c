/* The endpoints of the Cuckoo agent protocol (paths, fields, messages and status codes as
 * the Python agents and Cuckoo3's agent answer them; see docs/agent.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "extract.h"
#include "server.h"

static void h_index(struct request *r) {
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", "Cuckoo Agent!");
        json_kv_string(&j, "version", AGENT_PROTOCOL_VERSION);
        json_key(&j, "features");
        json_begin_array(&j);
        static const char *const features[] = { "execpy", "execute", "pinning", "logs", "largefile", "unicodepath" };
        for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
                json_string(&j, features[i]);
        json_end_array(&j);
        json_kv_string(&j, "agent", "vmcloak-agent " AGENT_VERSION);
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
}

static void h_status(struct request *r) {
        if (strcmp(r->http.method, "POST") == 0) {
                const char *status = req_field(r, "status");
                if (!status) {
                        respond_error(r, 400, "No status has been provided");
                        return;
                }
                state_set_status(status, req_field(r, "description"));
                respond_message(r, "Analysis status updated");
                return;
        }
        char *status, *description;
        state_get_status(&status, &description);
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", "Analysis status");
        json_kv_string(&j, "status", status);
        json_kv_string(&j, "description", description);
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
        free(status);
        free(description);
}

static void h_logs(struct request *r) {
        char *out = state_logs(1), *err = state_logs(2);
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", "Agent logs");
        json_kv_string(&j, "stdout", out ? out : "");
        json_kv_string(&j, "stderr", err ? err : "");
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
        free(out);
        free(err);
}

static void h_system(struct request *r) {
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", "System");
        json_kv_string(&j, "system", plat_system());
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
}

static void environ_one(void *userdata, const char *name, const char *value) {
        json_kv_string(userdata, name, value);
}

static void h_environ(struct request *r) {
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", "Environment variables");
        json_key(&j, "environ");
        json_begin_object(&j);
        plat_environ(environ_one, &j);
        json_end_object(&j);
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
}

static void h_path(struct request *r) {
        char *self = plat_self_path();
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", "Agent path");
        json_kv_string(&j, "filepath", self);
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
        free(self);
}

static void h_mkdir(struct request *r) {
        const char *dirpath = req_field(r, "dirpath");
        if (!dirpath) {
                respond_error(r, 400, "No dirpath has been provided");
                return;
        }
        unsigned mode = 0777;
        const char *m = req_field(r, "mode");
        if (m) {
                char *end;
                unsigned long v = strtoul(m, &end, 0);   /* "0755" octal, "493" decimal */
                if (*end || v > 07777) {
                        respond_error(r, 400, "Invalid mode '%s'", m);
                        return;
                }
                mode = (unsigned)v;
        }
        int k = plat_mkdir_p(dirpath, mode, NULL);   /* on failure, nothing it made is left */
        if (k < 0) {
                respond_error(r, 500, "Error creating directory %s: %s", dirpath, strerror(-k));
                return;
        }
        respond_message(r, "Successfully created directory");
}

/* mkstemp/mkdtemp with Python's defaults: prefix "tmp", the system temp dir. */
static int make_temp(struct request *r, bool directory, char **ret) {
        const char *prefix = form_get(&r->form, "prefix");
        const char *suffix = form_get(&r->form, "suffix");
        const char *dir = req_field(r, "dirpath");
        char *tmp = dir ? strdup(dir) : plat_temp_dir();
        if (!tmp)
                return -ENOMEM;
        static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
        int k = -EEXIST;
        for (int attempt = 0; attempt < 100 && k == -EEXIST; attempt++) {
                char rnd[9];
                uint64_t v = plat_random();
                for (int i = 0; i < 8; i++, v /= 37)
                        rnd[i] = chars[v % 37];
                rnd[8] = 0;
                size_t n = strlen(prefix ? prefix : "tmp") + 8 + strlen(suffix ? suffix : "") + 1;
                char *name = malloc(n);
                if (!name) {
                        k = -ENOMEM;
                        break;
                }
                snprintf(name, n, "%s%s%s", prefix ? prefix : "tmp", rnd, suffix ? suffix : "");
                char *path = plat_join(tmp, name);
                free(name);
                if (!path) {
                        k = -ENOMEM;
                        break;
                }
                k = plat_create_new(path, directory);
                if (k == 0)
                        *ret = path;
                else
                        free(path);
        }
        free(tmp);
        return k;
}

/* Answer with the new name; if that answer cannot be made, the client never learns the name,
 * so the file or directory goes again. */
static void respond_temp(struct request *r, bool directory) {
        char *path = NULL;
        int k = make_temp(r, directory, &path);
        if (k < 0) {
                respond_error(r, 500, "Error creating temporary %s: %s", directory ? "directory" : "file", strerror(-k));
                return;
        }
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", directory ? "Successfully created temporary directory"
                                                : "Successfully created temporary file");
        json_kv_string(&j, directory ? "dirpath" : "filepath", path);
        json_end_object(&j);
        if (j.out.oom)
                plat_remove_tree(path);
        respond_json(r, 200, &j);
        buf_free(&j.out);
        free(path);
}

static void h_mktemp(struct request *r) { respond_temp(r, false); }
static void h_mkdtemp(struct request *r) { respond_temp(r, true); }

/* Copy from into a new file beside to, then rename it over to: to is replaced whole or not
 * at all. */
static int copy_over(const char *from, const char *to) {
        FILE *in = plat_fopen(from, "rb");
        if (!in)
                return -(errno ? errno : EIO);
        char *tmp = NULL;
        FILE *out = open_temp_beside(to, &tmp);
        if (!out) {
                int k = -(errno ? errno : EIO);
                fclose(in);
                return k;
        }
        char *chunk = malloc(256 * 1024);
        int k = chunk ? 0 : -ENOMEM;
        size_t n;
        while (k == 0 && (n = fread(chunk, 1, 256 * 1024, in)) > 0)
                if (fwrite(chunk, 1, n, out) != n)
                        k = -(errno ? errno : EIO);
        if (k == 0 && ferror(in))
                k = -EIO;
        free(chunk);
        fclose(in);
        if (fclose(out) != 0 && k == 0)
                k = -(errno ? errno : EIO);
        if (k == 0)
                k = plat_rename(tmp, to, true);
        if (k < 0)
                plat_unlink(tmp);
        free(tmp);
        return k;
}

/* Move the upload to its destination: a rename (the upload is beside it, or on the same
 * filesystem), else a copy beside it and a rename. */
static int upload_commit(struct request *r, const char *dest) {
        int k = plat_rename(r->upload_path, dest, true);
        if (k == -EXDEV) {
                k = copy_over(r->upload_path, dest);
                if (k == 0)
                        plat_unlink(r->upload_path);
        }
        if (k == 0)
                upload_kept(r);
        return k;
}

static void h_store(struct request *r) {
        const char *filepath = req_field(r, "filepath");
        if (!filepath) {
                upload_discard(r);
                respond_error(r, 400, "No filepath has been provided");
                return;
        }
        if (!r->upload_present) {
                respond_error(r, 400, "No file has been provided");
                return;
        }
        if (r->upload_errno) {
                upload_discard(r);
                respond_error(r, 500, "Error storing file %s: %s", filepath, strerror(r->upload_errno));
                return;
        }
        if (!r->upload_in_place) {
                /* Spooled (the file came before filepath): make the directories now; they go
                 * again with the upload if it cannot be stored. */
                char *dir = parent_dir(filepath);
                if (dir) {
                        int k = plat_mkdir_p(dir, 0777, &r->upload_dir_made);
                        if (k < 0) {
                                upload_discard(r);
                                respond_error(r, 500, "Error storing file %s: cannot create %s: %s", filepath, dir, strerror(-k));
                                free(dir);
                                return;
                        }
                        if (r->upload_dir_made)
                                r->upload_dir = dir;
                        else
                                free(dir);
                }
        }
        int k = upload_commit(r, filepath);
        if (k < 0) {
                upload_discard(r);
                respond_error(r, 500, "Error storing file %s: %s", filepath, strerror(-k));
                return;
        }
        respond_message(r, "Successfully stored file");
}

static void h_retrieve(struct request *r) {
        const char *filepath = req_field(r, "filepath");
        if (!filepath) {
                respond_error(r, 400, "No filepath has been provided");
                return;
        }
        struct plat_stat st;
        if (plat_stat(filepath, &st) < 0 || st.is_dir) {
                respond_empty(r, 404);
                return;
        }
        FILE *f = plat_fopen(filepath, "rb");
        if (!f) {
                respond_empty(r, 404);
                return;
        }
        respond_file(r, f, st.size);
        fclose(f);
}

static void h_extract(struct request *r) {
        const char *dirpath = req_field(r, "dirpath");
        if (!dirpath) {
                upload_discard(r);
                respond_error(r, 400, "No dirpath has been provided");
                return;
        }
        if (!r->upload_present) {
                respond_error(r, 400, "No zip file has been provided");
                return;
        }
        if (r->upload_errno || !r->upload_path) {
                upload_discard(r);
                respond_error(r, 500, "Error extracting zip file: cannot spool the upload: %s",
                              strerror(r->upload_errno ? r->upload_errno : EIO));
                return;
        }
        char err[1024];
        bool refused;
        int k = extract_zip(r->upload_path, r->upload_size, dirpath, err, sizeof err, &refused);
        upload_discard(r);   /* the spooled zip, before the answer */
        if (k < 0)
                respond_error(r, refused ? 400 : 500, "Error extracting zip file: %s", err);
        else
                respond_message(r, "Successfully extracted zip file");
}

/* A file goes in one step. A directory is first renamed aside (one step: its name is gone,
 * or nothing happened), then checked, then deleted; when the check finds something in the
 * way it gets its name back untouched, and when deleting still fails part-way, what is left
 * gets its name back and the answer says so. */
static void h_remove(struct request *r) {
        const char *path = req_field(r, "path");
        if (!path) {
                respond_error(r, 400, "No path has been provided");
                return;
        }
        struct plat_stat st;
        if (plat_lstat(path, &st) < 0) {
                respond_error(r, 404, "Path provided does not exist");
                return;
        }
        if (!st.is_dir || st.is_link) {
                int k = plat_remove_tree(path);   /* a file, or the link itself */
                if (k == -ENOENT)
                        respond_error(r, 404, "Path provided does not exist");
                else if (k < 0)
                        respond_error(r, 500, "Error removing file %s: %s", path, strerror(-k));
                else
                        respond_message(r, "Successfully deleted file");
                return;
        }
        size_t n = strlen(path);
        while (n > 1 && (path[n - 1] == '/' || path[n - 1] == '\\') && !(n == 3 && path[1] == ':'))
                n--;
        char *base = str_ndup(path, n);
        char *aside = base ? malloc(n + 32) : NULL;
        if (!aside) {
                free(base);
                respond_error(r, 500, "Out of memory");
                return;
        }
        int k = -EEXIST;
        for (int attempt = 0; attempt < 100 && k == -EEXIST; attempt++) {
                snprintf(aside, n + 32, "%s.removing-%08x", base, (unsigned)plat_random());
                k = plat_rename(base, aside, false);
        }
        char *blocker = NULL;
        if (k == -ENOENT) {
                respond_error(r, 404, "Path provided does not exist");
        } else if (k < 0) {
                respond_error(r, 500, "Error removing directory %s: %s; nothing was removed", path, strerror(-k));
        } else if ((k = plat_check_removable(aside, &blocker)) < 0) {
                int back = plat_rename(aside, base, false);
                const char *in_place = blocker && strncmp(blocker, aside, strlen(aside)) == 0 ? blocker + strlen(aside) : "";
                respond_error(r, 500, "Error removing directory %s: cannot remove %s%s: %s; nothing was removed%s%s", path,
                              base, in_place, strerror(-k), back < 0 ? ", but it is now named " : "", back < 0 ? aside : "");
        } else if ((k = plat_remove_tree(aside)) < 0) {
                int back = plat_rename(aside, base, false);
                respond_error(r, 500, "Error removing directory %s: %s; part of its contents had been removed%s%s", path,
                              strerror(-k), back < 0 ? ", and the rest is left in " : "", back < 0 ? aside : "");
        } else {
                respond_message(r, "Successfully deleted directory");
        }
        free(blocker);
        free(base);
        free(aside);
}

static void run_command(struct request *r, const char *command, bool shell, const char *what) {
        struct plat_exec e = { .command = command, .shell = shell, .cwd = req_field(r, "cwd") };
        const char *t = req_field(r, "timeout");
        if (t) {
                char *end;
                double secs = strtod(t, &end);
                if (*end || !(secs > 0) || secs > 86400 * 30) {
                        respond_error(r, 400, "Invalid timeout '%s' (seconds)", t);
                        return;
                }
                e.timeout_ms = (int)(secs * 1000 + 0.5);
                if (e.timeout_ms == 0)
                        e.timeout_ms = 1;
        }
        if (req_flag(r, "async")) {
                int k = plat_spawn(&e);
                if (k < 0) {
                        respond_error(r, 500, "Error executing %s: %s", what, strerror(-k));
                        return;
                }
                respond_message(r, "Successfully executed command");
                return;
        }
        struct plat_exec_result res = { 0 };
        int k = plat_run(&e, &res);
        struct json j = { 0 };
        json_begin_object(&j);
        int status = 200;
        if (k < 0) {
                char msg[512];
                snprintf(msg, sizeof msg, "Error executing %s: %s", what, strerror(-k));
                status = 500;
                json_kv_string(&j, "message", msg);
                json_kv_int(&j, "error_code", 500);
                json_kv_string(&j, "traceback", msg);
                json_kv_string(&j, "error", msg);
                json_key(&j, "exit_code");
                json_null(&j);
                json_key(&j, "timed_out");
                json_bool(&j, false);
                agent_log("error: %s", msg);
        } else {
                /* A timeout is an answer, not a transport error: 200 with the output so far,
                 * but never the success message. */
                char msg[160];
                if (res.timed_out) {
                        snprintf(msg, sizeof msg, "Timed out after %d ms; the %s was killed", e.timeout_ms, what);
                        agent_log("%s", msg);
                }
                json_kv_string(&j, "message", res.timed_out ? msg : "Successfully executed command");
                json_key(&j, "stdout");
                json_string_len(&j, res.out.data ? res.out.data : "", res.out.len);
                json_key(&j, "stderr");
                json_string_len(&j, res.err.data ? res.err.data : "", res.err.len);
                json_kv_int(&j, "exit_code", res.exit_code);
                json_kv_string(&j, "error", res.timed_out ? msg : NULL);
                json_key(&j, "timed_out");
                json_bool(&j, res.timed_out);
        }
        json_end_object(&j);
        respond_json(r, status, &j);
        buf_free(&j.out);
        buf_free(&res.out);
        buf_free(&res.err);
}

static void h_execute(struct request *r) {
        const char *command = req_field(r, "command");
        if (!command) {
                respond_error(r, 400, "No command has been provided");
                return;
        }
        run_command(r, command, req_flag(r, "shell"), "command");
}

static void h_execpy(struct request *r) {
        const char *filepath = req_field(r, "filepath");
        if (!filepath) {
                respond_error(r, 400, "No Python file has been provided");
                return;
        }
        char *python = plat_find_python();
        if (!python) {
                respond_error(r, 500, "Error executing Python command: no Python interpreter found in the guest");
                return;
        }
        char *qp = plat_quote_arg(python), *qf = plat_quote_arg(filepath);
        char *cmd = NULL;
        if (qp && qf && (cmd = malloc(strlen(qp) + strlen(qf) + 2)))
                sprintf(cmd, "%s %s", qp, qf);
        if (cmd)
                run_command(r, cmd, false, "Python command");
        else
                respond_error(r, 500, "Out of memory");
        free(cmd);
        free(qp);
        free(qf);
        free(python);
}

static void h_pinning(struct request *r) {
        int k = state_pin(r->client_ip);
        if (k == -EEXIST) {
                respond_error(r, 500, "Agent has already been pinned to an IP!");
                return;
        }
        if (k < 0) {
                respond_error(r, 500, "Out of memory");
                return;
        }
        struct json j = { 0 };
        json_begin_object(&j);
        json_kv_string(&j, "message", "Successfully pinned Agent");
        json_kv_string(&j, "client_ip", r->client_ip);
        json_end_object(&j);
        respond_json(r, 200, &j);
        buf_free(&j.out);
}

static void h_kill(struct request *r) {
        respond_message(r, "Quit the Cuckoo Agent");
        r->exit_after = true;
}

const struct route routes[] = {
        { "/", M_GET, h_index, NULL, UPLOAD_NONE, NULL },
        { "/status", M_GET | M_POST, h_status, NULL, UPLOAD_NONE, NULL },
        { "/logs", M_GET, h_logs, NULL, UPLOAD_NONE, NULL },
        { "/system", M_GET, h_system, NULL, UPLOAD_NONE, NULL },
        { "/environ", M_GET, h_environ, NULL, UPLOAD_NONE, NULL },
        { "/path", M_GET, h_path, NULL, UPLOAD_NONE, NULL },
        { "/mkdir", M_POST, h_mkdir, NULL, UPLOAD_NONE, NULL },
        { "/mktemp", M_GET | M_POST, h_mktemp, NULL, UPLOAD_NONE, NULL },
        { "/mkdtemp", M_GET | M_POST, h_mkdtemp, NULL, UPLOAD_NONE, NULL },
        { "/store", M_POST, h_store, "file", UPLOAD_TO_FIELD, "filepath" },
        { "/retrieve", M_POST, h_retrieve, NULL, UPLOAD_NONE, NULL },
        { "/extract", M_POST, h_extract, "zipfile", UPLOAD_SPOOL, NULL },
        { "/remove", M_POST, h_remove, NULL, UPLOAD_NONE, NULL },
        { "/execute", M_POST, h_execute, NULL, UPLOAD_NONE, NULL },
        { "/execpy", M_POST, h_execpy, NULL, UPLOAD_NONE, NULL },
        { "/pinning", M_GET | M_POST, h_pinning, NULL, UPLOAD_NONE, NULL },
        { "/kill", M_GET | M_POST, h_kill, NULL, UPLOAD_NONE, NULL },
};
const size_t n_routes = sizeof routes / sizeof routes[0];
