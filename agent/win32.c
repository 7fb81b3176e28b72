/* Windows side of the platform interface: Winsock, Win32 threads, CreateProcessW (cmd.exe /c
 * for `shell`), wide-character file APIs, adapters through iphlpapi (netcfg). Built with
 * mingw-w64, static, importing only DLLs every Windows has. */
#define _CRT_RAND_S
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <process.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "agent.h"
#include "platform.h"

#ifndef WSA_FLAG_NO_HANDLE_INHERIT
#define WSA_FLAG_NO_HANDLE_INHERIT 0x80
#endif

static CRITICAL_SECTION lock, spawn_lock, reader_lock;
static volatile LONG terminate_requested;

/* --- text and errors --- */

static wchar_t *wide(const char *s) {
        int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
        if (n <= 0)
                return NULL;
        wchar_t *w = malloc((size_t)n * sizeof *w);
        if (w && MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) <= 0) {
                free(w);
                return NULL;
        }
        return w;
}

static char *utf8(const wchar_t *w) {
        int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
        if (n <= 0)
                return NULL;
        char *s = malloc((size_t)n);
        if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) <= 0) {
                free(s);
                return NULL;
        }
        return s;
}

static int win_errno(DWORD e) {
        switch (e) {
        case ERROR_FILE_NOT_FOUND:
        case ERROR_PATH_NOT_FOUND:
        case ERROR_INVALID_DRIVE:
        case ERROR_BAD_NETPATH:
        case ERROR_BAD_NET_NAME:
        case ERROR_DIRECTORY:   /* "the directory name is invalid", e.g. a missing cwd */
                return ENOENT;
        case ERROR_ACCESS_DENIED:
        case ERROR_SHARING_VIOLATION:
        case ERROR_LOCK_VIOLATION:
        case ERROR_WRITE_PROTECT:
                return EACCES;
        case ERROR_FILE_EXISTS:
        case ERROR_ALREADY_EXISTS:
                return EEXIST;
        case ERROR_DISK_FULL:
        case ERROR_HANDLE_DISK_FULL:
                return ENOSPC;
        case ERROR_DIR_NOT_EMPTY:
                return ENOTEMPTY;
        case ERROR_NOT_SAME_DEVICE:
                return EXDEV;
        case ERROR_INVALID_NAME:
        case ERROR_BAD_PATHNAME:
        case ERROR_INVALID_PARAMETER:
                return EINVAL;
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY:
                return ENOMEM;
        case ERROR_BAD_EXE_FORMAT:
                return ENOEXEC;
        case ERROR_FILENAME_EXCED_RANGE:
                return ENAMETOOLONG;
        default:
                return EIO;
        }
}

static int last_error(void) { return -win_errno(GetLastError()); }

static int wsa_errno(void) {
        switch (WSAGetLastError()) {
        case WSAETIMEDOUT: return -ETIMEDOUT;
        case WSAECONNRESET: return -ECONNRESET;
        case WSAECONNABORTED: return -ECONNABORTED;
        case WSAEADDRINUSE: return -EADDRINUSE;
        case WSAEADDRNOTAVAIL: return -EADDRNOTAVAIL;
        case WSAEACCES: return -EACCES;
        case WSAEINTR: return -EINTR;
        case WSAEWOULDBLOCK: return -EAGAIN;
        case WSAEMFILE: return -EMFILE;
        case WSAENOBUFS: return -ENOMEM;
        default: return -EIO;
        }
}

/* --- process-wide --- */

static BOOL WINAPI on_console_ctrl(DWORD type) {
        (void)type;
        InterlockedExchange(&terminate_requested, 1);
        return TRUE;
}

int plat_init(void) {
        InitializeCriticalSection(&lock);
        InitializeCriticalSection(&spawn_lock);
        InitializeCriticalSection(&reader_lock);
        /* No "insert a disk" or crash dialogs in an unattended guest. */
        SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
        SetConsoleCtrlHandler(on_console_ctrl, TRUE);
        WSADATA wsa;
        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
                return -EIO;
        return 0;
}

const char *plat_system(void) { return "Windows"; }

char *plat_self_path(void) {
        wchar_t buf[32768];
        DWORD n = GetModuleFileNameW(NULL, buf, sizeof buf / sizeof buf[0]);
        if (n == 0 || n >= sizeof buf / sizeof buf[0])
                return strdup("vmcloak-agent.exe");
        return utf8(buf);
}

void plat_log_write(const char *line) {
        fputs(line, stderr);
        fflush(stderr);
}

uint64_t plat_random(void) {
        unsigned a = 0, b = 0;
        if (rand_s(&a) != 0 || rand_s(&b) != 0) {
                a ^= (unsigned)GetTickCount() * 2654435761u;
                b ^= (unsigned)GetCurrentThreadId() * 40503u;
        }
        return (uint64_t)a << 32 | b;
}

int64_t plat_now_ms(void) { return (int64_t)GetTickCount64(); }
void plat_sleep_ms(int ms) { Sleep((DWORD)ms); }

/* --- sockets --- */

static void no_inherit(SOCKET s) { SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0); }

int plat_listen(const char *host, int port, plat_sock *ret, int *ret_port) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        int sl;
        struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons((u_short)port);
                sl = sizeof *in4;
        } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((u_short)port);
                sl = sizeof *in6;
        } else {
                return -EINVAL;
        }
        SOCKET s = WSASocketW(ss.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
        if (s == INVALID_SOCKET)
                s = WSASocketW(ss.ss_family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0);   /* before 7 SP1 */
        if (s == INVALID_SOCKET)
                return wsa_errno();
        no_inherit(s);
        /* Exclusive: on Windows SO_REUSEADDR would let another program steal the port. */
        BOOL one = TRUE;
        setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one, sizeof one);
        if (bind(s, (struct sockaddr *)&ss, sl) != 0 || listen(s, 128) != 0) {
                int k = wsa_errno();
                closesocket(s);
                return k;
        }
        sl = sizeof ss;
        getsockname(s, (struct sockaddr *)&ss, &sl);
        *ret_port = ntohs(ss.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
        *ret = (plat_sock)s;
        return 0;
}

int plat_accept(plat_sock listener, plat_sock *ret, char *ip, size_t ipsz) {
        for (;;) {
                if (terminate_requested)
                        return -EINTR;
                fd_set rs;
                FD_ZERO(&rs);
                FD_SET((SOCKET)listener, &rs);
                struct timeval tv = { 0, 500000 };
                int n = select(0, &rs, NULL, NULL, &tv);
                if (n < 0)
                        return wsa_errno();
                if (n > 0)
                        break;
        }
        struct sockaddr_storage ss;
        int sl = sizeof ss;
        SOCKET s = accept((SOCKET)listener, (struct sockaddr *)&ss, &sl);
        if (s == INVALID_SOCKET)
                return wsa_errno();
        no_inherit(s);
        DWORD tmo = 60000;
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&tmo, sizeof tmo);
        char buf[INET6_ADDRSTRLEN] = "?";
        if (ss.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof buf);
        else if (ss.ss_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof buf);
        const char *shown = strncmp(buf, "::ffff:", 7) == 0 && strchr(buf, '.') ? buf + 7 : buf;
        snprintf(ip, ipsz, "%s", shown);
        *ret = (plat_sock)s;
        return 0;
}

long plat_recv(plat_sock s, void *buf, size_t len, int timeout_ms) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET((SOCKET)s, &rs);
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        int n = select(0, &rs, NULL, NULL, &tv);
        if (n < 0)
                return wsa_errno();
        if (n == 0)
                return -ETIMEDOUT;
        if (len > INT_MAX)
                len = INT_MAX;
        int k = recv((SOCKET)s, buf, (int)len, 0);
        return k < 0 ? wsa_errno() : (long)k;
}

int plat_send_all(plat_sock s, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                int chunk = len > (1 << 20) ? (1 << 20) : (int)len;
                int n = send((SOCKET)s, p, chunk, 0);
                if (n <= 0)
                        return n < 0 ? wsa_errno() : -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

void plat_shutdown_send(plat_sock s) { shutdown((SOCKET)s, SD_SEND); }
void plat_close_socket(plat_sock s) { closesocket((SOCKET)s); }

/* --- threads --- */

struct thread_start {
        void (*fn)(void *);
        void *arg;
};

static unsigned __stdcall thread_main(void *p) {
        struct thread_start ts = *(struct thread_start *)p;
        free(p);
        ts.fn(ts.arg);
        return 0;
}

static HANDLE start_thread(void (*fn)(void *), void *arg) {
        struct thread_start *ts = malloc(sizeof *ts);
        if (!ts)
                return NULL;
        *ts = (struct thread_start){ fn, arg };
        uintptr_t h = _beginthreadex(NULL, 512 * 1024, thread_main, ts, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (!h) {
                free(ts);
                return NULL;
        }
        return (HANDLE)h;
}

int plat_thread_start(void (*fn)(void *), void *arg) {
        HANDLE h = start_thread(fn, arg);
        if (!h)
                return -ENOMEM;
        CloseHandle(h);
        return 0;
}

void plat_lock(void) { EnterCriticalSection(&lock); }
void plat_unlock(void) { LeaveCriticalSection(&lock); }

/* --- processes --- */

/* One pipe reader. Owned by its thread once abandoned (the process exited but a child it
 * left behind still holds the pipe), else by the waiting request. */
struct reader {
        HANDLE pipe;
        int stream;      /* 1 stdout, 2 stderr */
        bool to_logs;    /* async: straight into /logs */
        struct buf data;
        bool truncated;
        bool done, abandoned;
};

static void reader_thread(void *arg) {
        struct reader *rd = arg;
        char *chunk = malloc(65536);
        DWORD n;
        while (chunk && ReadFile(rd->pipe, chunk, 65536, &n, NULL) && n > 0) {
                if (rd->to_logs) {
                        logs_append(rd->stream, chunk, n);
                        continue;
                }
                EnterCriticalSection(&reader_lock);
                if (!rd->abandoned) {
                        size_t take = n;
                        if (rd->data.len + take > EXEC_OUTPUT_CAP) {
                                take = rd->data.len >= EXEC_OUTPUT_CAP ? 0 : EXEC_OUTPUT_CAP - rd->data.len;
                                rd->truncated = true;
                        }
                        buf_append(&rd->data, chunk, take);
                }
                LeaveCriticalSection(&reader_lock);
        }
        free(chunk);
        CloseHandle(rd->pipe);
        EnterCriticalSection(&reader_lock);
        rd->done = true;
        bool free_it = rd->abandoned || rd->to_logs;
        LeaveCriticalSection(&reader_lock);
        if (free_it) {
                buf_free(&rd->data);
                free(rd);
        }
}

static wchar_t *build_command_line(const struct plat_exec *e) {
        wchar_t *cmd = wide(e->command);
        if (!cmd || !e->shell)
                return cmd;
        /* cmd.exe /s /c "..." strips exactly the outer quotes, keeping the command intact. */
        wchar_t comspec[MAX_PATH];
        DWORD n = GetEnvironmentVariableW(L"ComSpec", comspec, MAX_PATH);
        if (n == 0 || n >= MAX_PATH)
                wcscpy(comspec, L"cmd.exe");
        size_t len = wcslen(comspec) + wcslen(cmd) + 16;
        wchar_t *full = malloc(len * sizeof *full);
        if (full)
                _snwprintf(full, len, L"\"%ls\" /s /c \"%ls\"", comspec, cmd);
        free(cmd);
        return full;
}

struct child {
        HANDLE process, job;
        struct reader *rd[2];
        HANDLE threads[2];
};

static int start_child(const struct plat_exec *e, bool to_logs, bool use_job, struct child *c) {
        memset(c, 0, sizeof *c);
        wchar_t *cmdline = build_command_line(e);
        wchar_t *cwd = e->cwd ? wide(e->cwd) : NULL;
        if (!cmdline || (e->cwd && !cwd)) {
                free(cmdline);
                free(cwd);
                return -ENOMEM;
        }
        SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };
        HANDLE rd_out = NULL, wr_out = NULL, rd_err = NULL, wr_err = NULL, nul = INVALID_HANDLE_VALUE;
        int k = 0;
        EnterCriticalSection(&spawn_lock);
        /* Only the child's ends are inheritable, and only while the lock is held, so that
         * concurrent requests never leak pipe ends into each other's children. */
        if (!CreatePipe(&rd_out, &wr_out, &sa, 0) || !CreatePipe(&rd_err, &wr_err, &sa, 0)) {
                k = last_error();
                goto fail;
        }
        SetHandleInformation(rd_out, HANDLE_FLAG_INHERIT, 0);
        SetHandleInformation(rd_err, HANDLE_FLAG_INHERIT, 0);
        nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
        if (nul == INVALID_HANDLE_VALUE) {
                k = last_error();
                goto fail;
        }

        STARTUPINFOEXW si;
        memset(&si, 0, sizeof si);
        si.StartupInfo.cb = sizeof si.StartupInfo;
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = nul;
        si.StartupInfo.hStdOutput = wr_out;
        si.StartupInfo.hStdError = wr_err;
        DWORD flags = CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT | (use_job ? CREATE_SUSPENDED : 0);
        HANDLE inherit[3] = { nul, wr_out, wr_err };
        SIZE_T attr_size = 0;
        InitializeProcThreadAttributeList(NULL, 1, 0, &attr_size);
        LPPROC_THREAD_ATTRIBUTE_LIST attrs = attr_size ? malloc(attr_size) : NULL;
        if (attrs && InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size)) {
                if (UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit, sizeof inherit, NULL, NULL)) {
                        si.lpAttributeList = attrs;
                        si.StartupInfo.cb = sizeof si;
                        flags |= EXTENDED_STARTUPINFO_PRESENT;
                } else {
                        DeleteProcThreadAttributeList(attrs);
                        free(attrs);
                        attrs = NULL;
                }
        } else {
                free(attrs);
                attrs = NULL;
        }
        PROCESS_INFORMATION pi;
        BOOL ok = CreateProcessW(NULL, cmdline, NULL, NULL, TRUE, flags, NULL, cwd, &si.StartupInfo, &pi);
        if (!ok)
                k = last_error();
        if (attrs) {
                DeleteProcThreadAttributeList(attrs);
                free(attrs);
        }
        if (!ok)
                goto fail;
        CloseHandle(wr_out);
        CloseHandle(wr_err);
        CloseHandle(nul);
        wr_out = wr_err = NULL;
        nul = INVALID_HANDLE_VALUE;
        LeaveCriticalSection(&spawn_lock);

        if (use_job) {
                /* A job lets a timeout kill the whole tree (fails when nested jobs are not
                 * supported, Windows 7: then only the process itself is killed). */
                c->job = CreateJobObjectW(NULL, NULL);
                if (c->job && !AssignProcessToJobObject(c->job, pi.hProcess)) {
                        CloseHandle(c->job);
                        c->job = NULL;
                }
                ResumeThread(pi.hThread);
        }
        CloseHandle(pi.hThread);
        c->process = pi.hProcess;

        HANDLE pipes[2] = { rd_out, rd_err };
        for (int i = 0; i < 2; i++) {
                struct reader *r = calloc(1, sizeof *r);
                if (r) {
                        r->pipe = pipes[i];
                        r->stream = i + 1;
                        r->to_logs = to_logs;
                        c->threads[i] = start_thread(reader_thread, r);
                }
                if (!r || !c->threads[i]) {
                        CloseHandle(pipes[i]);   /* the child gets a broken pipe; nothing leaks */
                        free(r);
                        r = NULL;
                }
                c->rd[i] = r;
        }
        free(cmdline);
        free(cwd);
        return 0;

fail:
        LeaveCriticalSection(&spawn_lock);
        HANDLE hs[4] = { rd_out, wr_out, rd_err, wr_err };
        for (int i = 0; i < 4; i++)
                if (hs[i])
                        CloseHandle(hs[i]);
        if (nul != INVALID_HANDLE_VALUE)
                CloseHandle(nul);
        free(cmdline);
        free(cwd);
        return k;
}

/* Console programs write in the OEM code page; turn output that is not UTF-8 into UTF-8. */
static void to_utf8(struct buf *b) {
        if (!b->len)
                return;
        const unsigned char *p = (const unsigned char *)b->data;
        bool valid = true;
        for (size_t i = 0; i < b->len;) {
                size_t n = utf8_valid_len(p + i, b->len - i);
                if (!n) {
                        valid = false;
                        break;
                }
                i += n;
        }
        if (valid || b->len > INT_MAX)
                return;
        UINT cp = GetOEMCP();
        int wn = MultiByteToWideChar(cp, 0, b->data, (int)b->len, NULL, 0);
        if (wn <= 0)
                return;
        wchar_t *w = malloc((size_t)wn * sizeof *w);
        if (!w)
                return;
        MultiByteToWideChar(cp, 0, b->data, (int)b->len, w, wn);
        int un = WideCharToMultiByte(CP_UTF8, 0, w, wn, NULL, 0, NULL, NULL);
        struct buf out = { 0 };
        char *u = un > 0 ? malloc((size_t)un) : NULL;
        if (u && WideCharToMultiByte(CP_UTF8, 0, w, wn, u, un, NULL, NULL) == un) {
                buf_append(&out, u, (size_t)un);
                if (!out.oom) {
                        buf_free(b);
                        *b = out;
                }
        }
        free(u);
        free(w);
}

static const char truncated_note[] = "\r\n[vmcloak-agent: output truncated]\r\n";

int plat_run(const struct plat_exec *e, struct plat_exec_result *ret) {
        struct child c;
        int k = start_child(e, false, e->timeout_ms > 0, &c);
        if (k < 0)
                return k;
        ret->timed_out = false;
        DWORD w = WaitForSingleObject(c.process, e->timeout_ms > 0 ? (DWORD)e->timeout_ms : INFINITE);
        if (w != WAIT_OBJECT_0) {
                /* Timed out (or the wait failed): the whole job goes, with the code a POSIX
                 * shell reports for a killed process, so both agents answer alike. */
                if (c.job)
                        TerminateJobObject(c.job, EXEC_KILLED_EXIT_CODE);
                TerminateProcess(c.process, EXEC_KILLED_EXIT_CODE);
                WaitForSingleObject(c.process, 5000);
        }
        DWORD code = 0;
        GetExitCodeProcess(c.process, &code);
        ret->exit_code = (int)code;
        /* It may have ended on its own just before the kill: then it did not time out. */
        ret->timed_out = w != WAIT_OBJECT_0 && code == EXEC_KILLED_EXIT_CODE;
        CloseHandle(c.process);
        if (c.job)
                CloseHandle(c.job);

        /* Give the readers a moment to reach end of file, then take what they have. */
        HANDLE hs[2];
        DWORD nh = 0;
        for (int i = 0; i < 2; i++)
                if (c.threads[i])
                        hs[nh++] = c.threads[i];
        if (nh)
                WaitForMultipleObjects(nh, hs, TRUE, 1000);
        struct buf *dst[2] = { &ret->out, &ret->err };
        for (int i = 0; i < 2; i++) {
                struct reader *rd = c.rd[i];
                if (!rd)
                        continue;
                EnterCriticalSection(&reader_lock);
                *dst[i] = rd->data;
                rd->data = (struct buf){ 0 };
                bool truncated = rd->truncated;
                bool done = rd->done;
                rd->abandoned = !done;
                LeaveCriticalSection(&reader_lock);
                if (done)
                        free(rd);
                CloseHandle(c.threads[i]);
                to_utf8(dst[i]);
                if (truncated)
                        buf_append(dst[i], truncated_note, sizeof truncated_note - 1);
        }
        return 0;
}

/* Waits for an async process: kills its job at the timeout, logs how it ended. */
struct async_watch {
        HANDLE process, job;
        unsigned long pid;
        int timeout_ms;
};

static void async_watch_thread(void *arg) {
        struct async_watch *a = arg;
        DWORD w = WaitForSingleObject(a->process, a->timeout_ms > 0 ? (DWORD)a->timeout_ms : INFINITE);
        if (w != WAIT_OBJECT_0) {
                if (a->job)
                        TerminateJobObject(a->job, EXEC_KILLED_EXIT_CODE);
                TerminateProcess(a->process, EXEC_KILLED_EXIT_CODE);
                WaitForSingleObject(a->process, 5000);
        }
        DWORD code = 0;
        GetExitCodeProcess(a->process, &code);
        if (w != WAIT_OBJECT_0 && code == EXEC_KILLED_EXIT_CODE) {
                char note[160];
                snprintf(note, sizeof note, "\r\n[vmcloak-agent: process %lu timed out after %d ms and was killed]\r\n",
                         a->pid, a->timeout_ms);
                logs_append(2, note, strlen(note));
                agent_log("async process %lu timed out after %d ms; killed (exit code %lu)", a->pid, a->timeout_ms,
                          (unsigned long)code);
        } else {
                agent_log("async process %lu exited with code %lu", a->pid, (unsigned long)code);
        }
        CloseHandle(a->process);
        if (a->job)
                CloseHandle(a->job);
        free(a);
}

int plat_spawn(const struct plat_exec *e) {
        struct async_watch *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        struct child c;
        int k = start_child(e, true, e->timeout_ms > 0, &c);
        if (k < 0) {
                free(a);
                return k;
        }
        for (int i = 0; i < 2; i++)
                if (c.threads[i])
                        CloseHandle(c.threads[i]);   /* the readers free themselves */
        *a = (struct async_watch){ c.process, c.job, (unsigned long)GetProcessId(c.process), e->timeout_ms };
        agent_log("async process %lu started", a->pid);
        if (plat_thread_start(async_watch_thread, a) < 0) {
                if (a->timeout_ms > 0) {
                        /* Nobody would enforce its timeout: stop it and say it did not start. */
                        if (a->job)
                                TerminateJobObject(a->job, EXEC_KILLED_EXIT_CODE);
                        TerminateProcess(a->process, EXEC_KILLED_EXIT_CODE);
                        k = -ENOMEM;
                }
                CloseHandle(a->process);
                if (a->job)
                        CloseHandle(a->job);
                free(a);
        }
        return k;
}

char *plat_quote_arg(const char *arg) {
        /* CommandLineToArgvW rules: backslashes are literal except before a quote. */
        size_t n = strlen(arg);
        char *s = malloc(n * 2 + 3), *o = s;
        if (!s)
                return NULL;
        *o++ = '"';
        for (size_t i = 0;; i++) {
                size_t bs = 0;
                while (i < n && arg[i] == '\\') {
                        bs++;
                        i++;
                }
                if (i == n) {
                        for (size_t k = 0; k < bs * 2; k++)
                                *o++ = '\\';
                        break;
                }
                if (arg[i] == '"') {
                        for (size_t k = 0; k < bs * 2 + 1; k++)
                                *o++ = '\\';
                } else {
                        for (size_t k = 0; k < bs; k++)
                                *o++ = '\\';
                }
                *o++ = arg[i];
        }
        *o++ = '"';
        *o = 0;
        return s;
}

char *plat_find_python(void) {
        static const wchar_t *const names[] = { L"python.exe", L"py.exe" };
        wchar_t buf[MAX_PATH];
        for (size_t i = 0; i < 2; i++) {
                DWORD n = SearchPathW(NULL, names[i], NULL, MAX_PATH, buf, NULL);
                if (n > 0 && n < MAX_PATH)
                        return utf8(buf);
        }
        /* Where VMCloak's python dependency installs it. */
        static const wchar_t *const fixed[] = { L"C:\\Python3\\python.exe", L"C:\\Python27\\python.exe" };
        for (size_t i = 0; i < 2; i++)
                if (GetFileAttributesW(fixed[i]) != INVALID_FILE_ATTRIBUTES)
                        return utf8(fixed[i]);
        return NULL;
}

/* --- files --- */

FILE *plat_fopen(const char *path, const char *mode) {
        /* CreateFileW gives a handle children never inherit (the C library's default
         * handles are inheritable), then it becomes a FILE. Modes used: "rb", "wb", "wbx". */
        bool write = strchr(mode, 'w') != NULL;
        bool excl = strchr(mode, 'x') != NULL;
        wchar_t *wp = wide(path);
        if (!wp) {
                errno = ENOMEM;
                return NULL;
        }
        HANDLE h = CreateFileW(wp, write ? GENERIC_WRITE : GENERIC_READ,
                               write ? FILE_SHARE_READ : FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                               write ? (excl ? CREATE_NEW : CREATE_ALWAYS) : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        DWORD err = GetLastError();
        free(wp);
        if (h == INVALID_HANDLE_VALUE) {
                errno = win_errno(err);
                return NULL;
        }
        int fd = _open_osfhandle((intptr_t)h, (write ? _O_WRONLY : _O_RDONLY) | _O_BINARY);
        if (fd < 0) {
                CloseHandle(h);
                errno = EMFILE;
                return NULL;
        }
        FILE *f = _fdopen(fd, write ? "wb" : "rb");
        if (!f) {
                _close(fd);
                errno = ENOMEM;
        }
        return f;
}

int plat_stat(const char *path, struct plat_stat *ret) {
        wchar_t *wp = wide(path);
        if (!wp)
                return -ENOMEM;
        WIN32_FILE_ATTRIBUTE_DATA d;
        BOOL ok = GetFileAttributesExW(wp, GetFileExInfoStandard, &d);
        int k = ok ? 0 : last_error();
        free(wp);
        if (k < 0)
                return k;
        ret->is_dir = (d.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
        ret->is_link = (d.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
        ret->size = (uint64_t)d.nFileSizeHigh << 32 | d.nFileSizeLow;
        return 0;
}

/* GetFileAttributesExW describes a reparse point itself, not its target. */
int plat_lstat(const char *path, struct plat_stat *ret) { return plat_stat(path, ret); }

static bool is_sep(wchar_t c) { return c == L'\\' || c == L'/'; }

/* Length of the root ("C:\", "\\server\share\", "\") that is never created. */
static size_t root_length(const wchar_t *p) {
        if (p[0] && p[1] == L':')
                return is_sep(p[2]) ? 3 : 2;
        if (is_sep(p[0]) && is_sep(p[1])) {
                size_t i = 2;
                for (int parts = 0; parts < 2 && p[i]; parts++) {
                        while (p[i] && !is_sep(p[i]))
                                i++;
                        if (p[i])
                                i++;
                }
                return i;
        }
        return is_sep(p[0]) ? 1 : 0;
}

void plat_rmdir_up(const char *path, const char *top) {
        wchar_t *wp = wide(path), *wt = wide(top);
        if (wp && wt) {
                size_t n = wcslen(wp), tl = wcslen(wt), root = root_length(wp);
                while (n > root && is_sep(wp[n - 1]))
                        wp[--n] = 0;
                while (n >= tl && n > root && RemoveDirectoryW(wp)) {
                        while (n > root && !is_sep(wp[n - 1]))
                                n--;
                        while (n > root && is_sep(wp[n - 1]))
                                n--;
                        wp[n] = 0;
                }
        }
        free(wp);
        free(wt);
}

int plat_mkdir_p(const char *path, unsigned mode, char **ret_created) {
        (void)mode;
        if (ret_created)
                *ret_created = NULL;
        wchar_t *wp = wide(path);
        if (!wp)
                return -ENOMEM;
        size_t n = wcslen(wp);
        size_t first = 0, last = 0;   /* the topmost and deepest directories made (lengths) */
        int k = 0;
        for (size_t i = root_length(wp); i <= n && k == 0; i++) {
                if (i < n && !is_sep(wp[i]))
                        continue;
                if (i == 0 || is_sep(wp[i - 1]))
                        continue;
                wchar_t saved = wp[i];
                wp[i] = 0;
                if (CreateDirectoryW(wp, NULL)) {
                        if (!first)
                                first = i;
                        last = i;
                } else {
                        DWORD err = GetLastError();
                        DWORD attr = GetFileAttributesW(wp);
                        if (attr == INVALID_FILE_ATTRIBUTES)
                                k = -win_errno(err);
                        else if (!(attr & FILE_ATTRIBUTE_DIRECTORY))
                                k = i == n ? -EEXIST : -ENOTDIR;
                }
                wp[i] = saved;
        }
        if (k < 0 && first) {
                /* Below the first directory made, every one was made here: remove them all. */
                for (size_t i = last; i >= first; i--) {
                        if (i < last && !is_sep(wp[i]))
                                continue;
                        wp[i] = 0;
                        if (!RemoveDirectoryW(wp))
                                break;
                }
        } else if (k == 0 && first && ret_created) {
                wp[first] = 0;
                if (!(*ret_created = utf8(wp)))
                        k = -ENOMEM;
        }
        free(wp);
        return k;
}

int plat_create_new(const char *path, bool directory) {
        wchar_t *wp = wide(path);
        if (!wp)
                return -ENOMEM;
        int k = 0;
        if (directory) {
                if (!CreateDirectoryW(wp, NULL))
                        k = last_error();
        } else {
                HANDLE h = CreateFileW(wp, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
                if (h == INVALID_HANDLE_VALUE)
                        k = last_error();
                else
                        CloseHandle(h);
        }
        free(wp);
        return k;
}

/* Call fn for each entry of folder p but "." and "..", with its full path. With stop, the first
 * error of fn ends the walk; without, the walk goes on and the first error is returned. A folder
 * that cannot be listed has no entries. */
static int for_each_child(const wchar_t *p, int (*fn)(const wchar_t *child, int depth, void *userdata), int depth,
                          void *userdata, bool stop) {
        size_t n = wcslen(p);
        wchar_t *pattern = malloc((n + 3) * sizeof *pattern);
        if (!pattern)
                return -ENOMEM;
        swprintf(pattern, n + 3, L"%ls\\*", p);
        WIN32_FIND_DATAW fd;
        HANDLE h = FindFirstFileW(pattern, &fd);
        free(pattern);
        if (h == INVALID_HANDLE_VALUE)
                return 0;
        int k = 0;
        do {
                if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
                        continue;
                size_t m = n + wcslen(fd.cFileName) + 2;
                wchar_t *child = malloc(m * sizeof *child);
                if (!child) {
                        k = -ENOMEM;
                        break;
                }
                swprintf(child, m, L"%ls\\%ls", p, fd.cFileName);
                int r = fn(child, depth + 1, userdata);
                free(child);
                if (r < 0 && k == 0)
                        k = r;
        } while ((!stop || k == 0) && FindNextFileW(h, &fd));
        FindClose(h);
        return k;
}

static int remove_w(const wchar_t *p, int depth, void *userdata);

static int remove_child(const wchar_t *child, int depth, void *userdata) {
        int r = remove_w(child, depth, userdata);
        return r == -ENOENT ? 0 : r;
}

static int remove_w(const wchar_t *p, int depth, void *userdata) {
        DWORD attr = GetFileAttributesW(p);
        if (attr == INVALID_FILE_ATTRIBUTES)
                return last_error();
        if (attr & FILE_ATTRIBUTE_READONLY)
                SetFileAttributesW(p, attr & ~(DWORD)FILE_ATTRIBUTE_READONLY);
        if (!(attr & FILE_ATTRIBUTE_DIRECTORY))
                return DeleteFileW(p) ? 0 : last_error();
        /* Junctions and directory symlinks: remove the link, never what it points to. */
        if (!(attr & FILE_ATTRIBUTE_REPARSE_POINT)) {
                if (depth > 256)
                        return -ELOOP;
                int k = for_each_child(p, remove_child, depth, userdata, false);
                if (k < 0)
                        return k;
        }
        return RemoveDirectoryW(p) ? 0 : last_error();
}

/* path as a wide string without trailing separators (a root keeps its own), or NULL. */
static wchar_t *wide_trimmed(const char *path) {
        wchar_t *wp = wide(path);
        if (!wp)
                return NULL;
        size_t n = wcslen(wp);
        while (n > 1 && is_sep(wp[n - 1]) && n > root_length(wp))
                wp[--n] = 0;
        return wp;
}

int plat_remove_tree(const char *path) {
        wchar_t *wp = wide_trimmed(path);
        if (!wp)
                return -ENOMEM;
        int k = remove_w(wp, 0, NULL);
        free(wp);
        return k;
}

/* What would stop remove_w() part-way: entries open without delete sharing, or that we may
 * not delete. Opening each with DELETE access asks exactly that. */
static int check_w(const wchar_t *p, int depth, void *ret_blocker) {
        DWORD attr = GetFileAttributesW(p);
        if (attr == INVALID_FILE_ATTRIBUTES)
                return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : last_error();
        HANDLE h = CreateFileW(p, DELETE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
                               FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
        if (h == INVALID_HANDLE_VALUE) {
                int k = last_error();
                *(char **)ret_blocker = utf8(p);
                return k;
        }
        CloseHandle(h);
        if (!(attr & FILE_ATTRIBUTE_DIRECTORY) || (attr & FILE_ATTRIBUTE_REPARSE_POINT))
                return 0;
        if (depth > 256)
                return -ELOOP;
        return for_each_child(p, check_w, depth, ret_blocker, true);
}

int plat_check_removable(const char *path, char **ret_blocker) {
        *ret_blocker = NULL;
        wchar_t *wp = wide_trimmed(path);
        if (!wp)
                return -ENOMEM;
        int k = check_w(wp, 0, ret_blocker);
        free(wp);
        return k;
}

int plat_rename(const char *from, const char *to, bool replace) {
        wchar_t *wf = wide(from), *wt = wide(to);
        int k = 0;
        if (!wf || !wt)
                k = -ENOMEM;
        else if (!MoveFileExW(wf, wt, replace ? MOVEFILE_REPLACE_EXISTING : 0))
                k = last_error();
        free(wf);
        free(wt);
        return k;
}

int plat_unlink(const char *path) {
        wchar_t *wp = wide(path);
        if (!wp)
                return -ENOMEM;
        DWORD attr = GetFileAttributesW(wp);
        if (attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_READONLY))
                SetFileAttributesW(wp, attr & ~(DWORD)FILE_ATTRIBUTE_READONLY);
        int k = DeleteFileW(wp) ? 0 : last_error();
        free(wp);
        return k;
}

int plat_chmod_exec(const char *path) {
        (void)path;
        return 0;
}

char *plat_temp_dir(void) {
        wchar_t buf[MAX_PATH + 1];
        DWORD n = GetTempPathW(MAX_PATH + 1, buf);
        if (n == 0 || n > MAX_PATH)
                return strdup("C:\\Windows\\Temp");
        while (n > 3 && is_sep(buf[n - 1]))
                buf[--n] = 0;
        return utf8(buf);
}

char *plat_join(const char *dir, const char *name) {
        size_t dl = strlen(dir);
        bool sep = dl > 0 && (dir[dl - 1] == '\\' || dir[dl - 1] == '/');
        size_t n = dl + strlen(name) + 2;
        char *s = malloc(n);
        if (s)
                snprintf(s, n, "%s%s%s", dir, sep ? "" : "\\", name);
        return s;
}

bool plat_is_abs(const char *path) {
        return (path[0] && path[1] == ':' && (path[2] == '\\' || path[2] == '/')) ||
               (path[0] == '\\' && path[1] == '\\');
}

/* --- environment --- */

void plat_environ(void (*fn)(void *userdata, const char *name, const char *value), void *userdata) {
        wchar_t *block = GetEnvironmentStringsW();
        if (!block)
                return;
        for (wchar_t *e = block; *e; e += wcslen(e) + 1) {
                /* Skip the hidden per-drive entries ("=C:=C:\\dir"). */
                wchar_t *eq = wcschr(e + 1, L'=');
                if (!eq || e[0] == L'=')
                        continue;
                *eq = 0;
                char *name = utf8(e), *value = utf8(eq + 1);
                *eq = L'=';
                if (name && value)
                        fn(userdata, name, value);
                free(name);
                free(value);
        }
        FreeEnvironmentStringsW(block);
}

/* --- network adapters: GetAdaptersAddresses (iphlpapi) --- */

int plat_adapters(struct netcfg_adapter **ret, size_t *n) {
        ULONG flags = GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;
        ULONG size = 16 * 1024;
        IP_ADAPTER_ADDRESSES *aa = NULL;
        ULONG k = ERROR_BUFFER_OVERFLOW;
        /* The list can grow between the size query and the call: retry a few times. */
        for (int tries = 0; tries < 4 && k == ERROR_BUFFER_OVERFLOW; tries++) {
                free(aa);
                aa = malloc(size);
                if (!aa)
                        return -ENOMEM;
                k = GetAdaptersAddresses(AF_UNSPEC, flags, NULL, aa, &size);
        }
        if (k == ERROR_NO_DATA) {
                free(aa);
                *ret = NULL;
                *n = 0;
                return 0;
        }
        if (k != NO_ERROR) {
                free(aa);
                return -win_errno(k);
        }
        struct netcfg_adapter *list = NULL;
        size_t count = 0;
        for (IP_ADAPTER_ADDRESSES *a = aa; a; a = a->Next) {
                if (a->IfType == IF_TYPE_SOFTWARE_LOOPBACK)
                        continue;
                struct netcfg_adapter *nl = realloc(list, (count + 1) * sizeof *list);
                if (!nl) {
                        plat_adapters_free(list, count);
                        free(aa);
                        return -ENOMEM;
                }
                list = nl;
                struct netcfg_adapter *e = &list[count];
                *e = (struct netcfg_adapter){ .name = utf8(a->FriendlyName ? a->FriendlyName : L""), .index = a->IfIndex };
                if (!e->name) {
                        plat_adapters_free(list, count);
                        free(aa);
                        return -ENOMEM;
                }
                count++;
                if (a->PhysicalAddressLength == 6) {
                        memcpy(e->mac, a->PhysicalAddress, 6);
                        e->mac_len = 6;
                }
        }
        free(aa);
        *ret = list;
        *n = count;
        return 0;
}

void plat_adapters_free(struct netcfg_adapter *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(list[i].name);
        free(list);
}

/* --- physical memory lists (memprep): ntdll's undocumented class 80, resolved at run time --- */

typedef LONG(NTAPI *nt_set_fn)(ULONG cls, void *info, ULONG len);
typedef LONG(NTAPI *nt_query_fn)(ULONG cls, void *info, ULONG len, ULONG *ret_len);

/* SYSTEM_MEMORY_LIST_INFORMATION as in phnt ntexapi.h (ULONG_PTR fields); kernels before
 * Windows 8 lack the last field, hence the retry with the shorter length. */
struct mem_list_info {
        ULONG_PTR zero, free, modified, modified_no_write, bad;
        ULONG_PTR standby_by_priority[8];
        ULONG_PTR repurposed_by_priority[8];
        ULONG_PTR modified_pagefile;
};

static FARPROC ntdll_fn(const char *name) {
        HMODULE h = GetModuleHandleW(L"ntdll.dll");
        return h ? GetProcAddress(h, name) : NULL;
}

bool plat_mem_supported(void) { return true; }

uint32_t plat_mem_privilege(const char *name) {
        HANDLE token;
        if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token))
                return (uint32_t)GetLastError();
        TOKEN_PRIVILEGES tp = { .PrivilegeCount = 1 };
        tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
        /* Success or not, the answer is in GetLastError: AdjustTokenPrivileges returns TRUE with
         * ERROR_NOT_ALL_ASSIGNED when the account does not hold the privilege. */
        if (LookupPrivilegeValueA(NULL, name, &tp.Privileges[0].Luid))
                AdjustTokenPrivileges(token, FALSE, &tp, sizeof tp, NULL, NULL);
        DWORD e = GetLastError();
        CloseHandle(token);
        return (uint32_t)e;
}

uint32_t plat_mem_command(enum memprep_command command) {
        nt_set_fn set = (nt_set_fn)(void (*)(void))ntdll_fn("NtSetSystemInformation");
        if (!set)
                return MEMPREP_STATUS_PROCEDURE_NOT_FOUND;
        ULONG c = (ULONG)command; /* SYSTEM_MEMORY_LIST_COMMAND is an enum: 4 bytes */
        return (uint32_t)set(MEMPREP_SYSTEM_MEMORY_LIST_INFORMATION, &c, sizeof c);
}

uint32_t plat_mem_query(struct memprep_lists *ret) {
        *ret = (struct memprep_lists){ 0 };
        nt_query_fn query = (nt_query_fn)(void (*)(void))ntdll_fn("NtQuerySystemInformation");
        if (!query)
                return MEMPREP_STATUS_PROCEDURE_NOT_FOUND;
        struct mem_list_info m = { 0 };
        ULONG len = 0;
        LONG st = query(MEMPREP_SYSTEM_MEMORY_LIST_INFORMATION, &m, sizeof m, &len);
        if ((uint32_t)st == MEMPREP_STATUS_INFO_LENGTH_MISMATCH)
                st = query(MEMPREP_SYSTEM_MEMORY_LIST_INFORMATION, &m, offsetof(struct mem_list_info, modified_pagefile),
                           &len);
        if (st != 0)
                return (uint32_t)st;
        *ret = (struct memprep_lists){ .zero = m.zero, .free = m.free, .modified = m.modified };
        for (int i = 0; i < 8; i++)
                ret->standby += m.standby_by_priority[i];
        return 0;
}

int plat_mem_total(uint64_t *ret_pages, unsigned *ret_page_size) {
        MEMORYSTATUSEX ms = { .dwLength = sizeof ms };
        SYSTEM_INFO si;
        GetSystemInfo(&si);
        if (!GlobalMemoryStatusEx(&ms) || si.dwPageSize == 0)
                return -EIO;
        *ret_page_size = si.dwPageSize;
        *ret_pages = ms.ullTotalPhys / si.dwPageSize;
        return 0;
}
