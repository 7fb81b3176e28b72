/* Shared pieces of the agent: version, limits, logging, and the async output collector. */
#pragma once

#include <stddef.h>

#ifndef AGENT_VERSION
#define AGENT_VERSION "0.0.0"
#endif
/* The protocol version reported by GET /. Cuckoo3 requires >= 0.9 and treats < 1.0 as the
 * old Python agent (it then tries to delete the agent file), so we report 1.0. */
#define AGENT_PROTOCOL_VERSION "1.0"

#define LOGS_CAP (1024 * 1024)   /* per stream, the newest bytes are kept */

void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Output of async processes (stream 1 = stdout, 2 = stderr), for GET /logs. Thread-safe. */
void logs_append(int stream, const char *data, size_t len);
