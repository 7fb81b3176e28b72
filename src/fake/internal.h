/* What the fake driver's files share: the domain, its guest's life, its agent, the script state. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fake/fake.h"
#include "machine/driver.h"

struct fake_agent;

/* What one run follows: a copy of the script taken at vm_domain_start. */
struct fake_run {
        enum fake_boot kind;
        struct fake_boot_script boot;  /* owned copies of the strings */
        int reboot_ms;
        int shutdown_ms;
        char **serial_shutdown;
        bool reboot_powers_off;
        unsigned reboots;              /* guest reboots so far in this run */
};

struct fake_conn {
        struct vm_conn base;           /* first: what machine/driver.c sees */
        enum vm_accel accel;
        char *uri;                     /* vm_conn_opts.uri (NULL: this machine) */
        char *pool;                    /* vm_conn_opts.pool (NULL: "vmcloak") */
};

struct fake_domain {
        struct vm_domain base;         /* first: what machine/driver.c sees */
        struct fake_domain *next;      /* driver.c's list of live domains */
        char *host_uri;                /* its connection's URI (NULL: this machine) */
        bool persistent;               /* host.c keeps its record (vm_domain_opts.persistent) */
        bool uefi;                     /* vm_def.firmware is UEFI */

        /* Copied from the definition; fixed until free (but media, under lock). */
        char *name;
        char *disk;
        char **media;                  /* per CD-ROM drive; NULL: an empty tray */
        size_t n_media;
        enum vm_serial_type serial_type;
        char *serial_path;
        char *ip[2];                   /* slot 0: guest_ip, slot 1: guest_ip2 */
        unsigned agent_port;
        char *log_path;
        char *nvram;                   /* UEFI vars file: each boot appends "boot NAME" to it */
        char *kernel;                  /* a direct kernel boot's kernel (journalled), or NULL */
        char *tpm_state;               /* TPM folder: each boot appends the same to its state file */
        char description[160];
        struct fake_agent *agent[2];   /* NULL where the slot has no address */

        pthread_mutex_t lock;
        pthread_cond_t cond;           /* broadcast on every change below */
        /* Under lock: */
        enum vm_state state;
        uint64_t gen;                  /* counts runs; a guest thread serves only its own */
        bool up;                       /* the agent answers (with state RUNNING) */
        bool hung;
        bool acpi;                     /* the power button was pressed */
        bool orphan;
        bool freeing;
        unsigned slot;                 /* where the agent answers; 2: at no slot */
        enum fake_effect effect;       /* a command's effect the guest thread has to carry out */
        struct vm_event *events;       /* queued, not yet answered by wait_event */
        size_t n_events, head_event, cap_events;
        struct vm_event final;         /* what ended the last run */
        bool ended;
        bool ever_started;
        int64_t power_on_ms;           /* now_ms() of the last start (the screen's clock) */
        bool thread_joinable;
        pthread_t thread;
        struct fake_run run;
        uint64_t log_offset;           /* where this run's log lines start */
        char *status, *status_description;   /* POST /status */
};

/* ---- script.c: the shared state, behind one lock ---- */

void fake_journal_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Call the hook for a moment (no lock may be held); raises SIGINT/SIGTERM itself and answers
 * FAKE_CONTINUE for those. *ret_errno gets a positive errno with FAKE_FAIL. */
enum fake_action fake_hook_call(const char *domain, const char *moment, const char *arg, int *ret_errno);
/* A copy of the script for a run of kind. 0 or -ENOMEM. */
int fake_run_load(enum fake_boot kind, bool reboot_powers_off, struct fake_run *ret);
void fake_run_done(struct fake_run *r);
/* The answer to command in domain (copied: free out and err). */
int fake_answer_lookup(const char *domain, const char *command, struct fake_answer *ret);
/* GET /system and /environ, and the host version (copies). */
int fake_facts(char **ret_system, char ***ret_environ, char **ret_version);
int fake_upload_record(const char *domain, const char *guest_path, uint64_t size, uint64_t hash);
void fake_upload_forget(const char *domain, const char *guest_path);
/* The grey level of domain's screen (fake_set_screen; 0 without a screen function). */
unsigned fake_screen_level(const char *domain, int64_t ms_since_power_on);
uint64_t fake_hash_update(uint64_t h, const void *data, size_t len);
#define FAKE_HASH_INIT UINT64_C(0xcbf29ce484222325)
/* The last part of a path, for journal lines ("" for NULL). */
const char *fake_base(const char *path);

/* ---- host.c: what a host keeps between connections (persistent domains, volumes) ---- */

/* A URI without a host part is this machine (libvirt's rule). */
bool fake_uri_local(const char *uri);
const char *fake_manager_version(void);
/* Record d (persistent) on its host: -EEXIST when the host has a domain of that name. */
int fake_host_define(struct fake_domain *d);
/* d is being freed: its record goes unless it was kept. */
void fake_host_release(struct fake_domain *d);
int fake_host_snapshot_create(struct fake_domain *d, const char *name, bool running);
int fake_host_keep(struct fake_domain *d);
int fake_host_domain_info(struct vm_conn *c, const char *name, struct vm_domain_info *ret);
int fake_host_domain_remove(struct vm_conn *c, const char *name);
int fake_host_volume_upload(struct vm_conn *c, const char *local_path, const char *name, char **ret_path,
                            bool *ret_uploaded);
int fake_host_volume_create_overlay(struct vm_conn *c, const char *name, const char *backing_path, char **ret_path);
int fake_host_volume_delete(struct vm_conn *c, const char *name);
int fake_host_volume_list(struct vm_conn *c, char ***ret_names);
int fake_host_volume_users(struct vm_conn *c, const char *name, unsigned *ret_n);
void fake_hosts_reset(void);
/* Whether host uri has a volume at path (a domain's disk there). */
bool fake_host_has_volume(const char *uri, const char *path);

/* ---- guest.c: the guest's life ---- */

/* Power on d for run (taken over), from the machine being off; the start hook's action decides
 * how (FAKE_CONTINUE, DIE, HANG). restore_slot: where a restored guest's agent answers. */
int fake_guest_start(struct fake_domain *d, struct fake_run *run, bool paused, enum fake_action action,
                     unsigned restore_slot, const char *journal_line);
/* Switch the machine off with this ending; lock held. journal: the journal line, or NULL. */
void fake_guest_off_locked(struct fake_domain *d, enum vm_event_type type, const char *detail, const char *journal);
/* The guest hangs; lock held. */
void fake_guest_hang_locked(struct fake_domain *d);
/* Carry out a hook's action at an op's moment (lock not held): DIE and HANG act on the guest.
 * Returns -errno for FAKE_FAIL, else 0. */
int fake_guest_act(struct fake_domain *d, const char *moment, enum fake_action a, int error);
/* Join the last run's guest thread once it has ended (lock not held). */
void fake_guest_reap(struct fake_domain *d);
/* Append a line to the hypervisor log; lock held. */
void fake_log_append(struct fake_domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Wait on d->cond until deadline_ms (now_ms()'s clock; < 0: no deadline); lock held. */
void fake_cond_wait_until(struct fake_domain *d, int64_t deadline_ms);

/* ---- agent.c: the guest's agent ---- */

/* Serve slot of d on 127.0.0.1 at an ephemeral port. 0, -ENOMEM, -EIO. */
int fake_agent_new(struct fake_domain *d, unsigned slot, struct fake_agent **ret);
/* Stop serving (waits for connections in flight; set d->freeing first so they end). */
void fake_agent_free(struct fake_agent *a);
uint16_t fake_agent_port(const struct fake_agent *a);
