/* QMP client: JSON over a unix socket, replies matched by id, events queued, deadlines. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "core/cleanup.h"
#include "qemu/config.h"

/*
 * The only way vmcloak talks to QEMU (nothing writes HMP text). One command is in flight
 * at a time; events that arrive meanwhile are queued until qmp_wait_event/qmp_pop_event.
 * The stream parser (json_tokener) takes any split of the byte stream: many objects per
 * read, one object over many reads. Malformed JSON breaks the connection (-EPROTO).
 *
 * Errors (negative errno): -ETIMEDOUT (deadline passed), -ECANCELED (Ctrl-C, see
 * core/interrupt.h; qmp_set_ignore_interrupt() for cleanup paths), -ECONNRESET (QEMU closed
 * the socket), -EPROTO (not QMP / malformed JSON), -EREMOTEIO (QEMU answered with an error:
 * qmp_last_error() holds "Class: description").
 */

struct qmp;

/* Connect once to QEMU's "-qmp unix:PATH,server=on,wait=off" socket, read the greeting and
 * negotiate capabilities. -ENOENT/-ECONNREFUSED while QEMU has not created it yet. */
int qmp_connect(const char *path, int timeout_ms, struct qmp **ret);
/* The same on an already connected stream socket (takes ownership of fd; tests use a
 * socketpair). */
int qmp_open_fd(int fd, int timeout_ms, struct qmp **ret);
void qmp_free(struct qmp *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qmp *, qmp_free)
#define _cleanup_qmp_ _cleanup_(qmp_freep)

/* Run a command. args (may be NULL) is consumed. On success *ret_return (if non-NULL)
 * gets the "return" value (caller puts it with json_object_put). */
int qmp_execute(struct qmp *q, const char *command, struct json_object *args, int timeout_ms,
                struct json_object **ret_return);
/* Wait for an event by name (NULL: any). Queued events are checked first; the event
 * object (with "event", "data", "timestamp") goes to *ret (may be NULL). */
int qmp_wait_event(struct qmp *q, const char *name, int timeout_ms, struct json_object **ret);
/* Take a queued event by name (NULL: the oldest) without waiting; NULL if none. */
struct json_object *qmp_pop_event(struct qmp *q, const char *name);
/* Read whatever QEMU has sent within timeout_ms (0: no wait) and queue the events.
 * Returns the number of objects read, or a negative errno. */
int qmp_poll(struct qmp *q, int timeout_ms);

const char *qmp_last_error(const struct qmp *q);
/* The QEMU version from the greeting. */
struct qemu_version qmp_qemu_version(const struct qmp *q);
int qmp_fd(const struct qmp *q);
/* Keep working after Ctrl-C (for shutting a VM down while unwinding). */
void qmp_set_ignore_interrupt(struct qmp *q, bool ignore);
