/*
 * probe: report a process's view of its container as one JSON object.
 *
 * Built by tests/conformance/conftest.py with `gcc -static -O2` and copied into each test's
 * rootfs as /probe. It has no dependencies, so it also runs as a hook on the host.
 *
 * Usage:
 *   probe [all] [-o FILE] [--stat PATH]... [--sysctl KEY]... [--write PATH]... [--read PATH]...
 *             [--ls DIR]... [--syscall NAME]... [--sleep SEC]
 *       everything below, plus the asked-for stats, sysctls, write tests, reads, directory
 *       listings and raw system calls
 *   probe stat PATH...         {"stat": {PATH: {...}}}
 *   probe sysctl KEY...        {"sysctl": {KEY: "value" | null}}
 *   probe write PATH...        {"write": {PATH: {"errno": N, "error": "ENAME"}}}
 *       a directory is tested by creating (and removing) a file in it, a file by opening it
 *       O_WRONLY|O_APPEND (nothing is written); errno 0 means writable
 *   probe hook LOG NAME        append one JSON line to LOG: NAME, the state read from stdin,
 *       argv, env, cwd, pid, namespaces, uids, the comm of the state's pid, a CLOCK_MONOTONIC
 *       time; exit status from $PROBE_HOOK_EXIT (default 0)
 *   probe signal [-o FILE]     wait for any catchable signal, then report {"signal": N}
 *   probe read PATH...         {"read": {PATH: {"errno": N, "error": "ENAME", "size": N,
 *       "head": "the first 64 bytes"}}}
 *   probe ls DIR...            {"ls": {DIR: ["name", ...] | {"errno": N, "error": "ENAME"}}}
 *   probe syscall NAME...      {"syscall": {NAME: {"ret": N, "errno": N}}}: a raw syscall(2)
 *       with fixed harmless arguments: getpid, getppid, getcwd, getpriority0
 *       (getpriority(PRIO_PROCESS, 0)), getpriority1 (getpriority(PRIO_PGRP, 0))
 *   probe sched                only the "sched" section (below)
 *
 * `all` also reports "sched": the scheduling and execution attributes of the process, read
 * with raw system calls: sched_getattr (policy, flags, nice, priority, runtime, deadline,
 * period), ioprio_get(IOPRIO_WHO_PROCESS) ("ioprio", the raw value: class << 13 | level),
 * sched_getaffinity ("affinity": the CPU list), get_mempolicy ("mempolicy": the raw mode with
 * its flag bits, the node list), personality(0xffffffff) and uname's machine; and "clocks"
 * (CLOCK_MONOTONIC / CLOCK_BOOTTIME / CLOCK_REALTIME in ns) and "idmap" (uid_map, gid_map,
 * setgroups of /proc/self).
 *
 * Every report also carries "argv"; arguments after "--" are only reported there. With -o FILE the JSON is written to FILE (created or
 * truncated) instead of stdout. --sleep SEC sleeps after reporting (to keep the container
 * running). Numbers that do not fit a JSON double exactly (rlimits) are printed as integers
 * anyway; the Python side parses them as ints.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/personality.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- output buffer ------------------------------------------------------------------- */

static char *buf;
static size_t len, cap;

static void put(const char *s, size_t n)
{
    if (len + n + 1 > cap) {
        cap = (len + n + 1) * 2 + 4096;
        buf = realloc(buf, cap);
        if (!buf)
            _exit(99);
    }
    memcpy(buf + len, s, n);
    len += n;
    buf[len] = 0;
}

static void out(const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof tmp)
        n = sizeof tmp - 1;
    put(tmp, n);
}

static void jstr_n(const char *s, size_t n)
{
    put("\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', c};
            put(e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            out("\\u%04x", c);
        } else {
            put((const char *)&c, 1);
        }
    }
    put("\"", 1);
}

static void jstr(const char *s)
{
    if (!s)
        put("null", 4);
    else
        jstr_n(s, strlen(s));
}

static void key(const char *k)
{
    if (len && buf[len - 1] != '{' && buf[len - 1] != '[')
        put(",", 1);
    jstr(k);
    put(":", 1);
}

static void comma(void)
{
    if (len && buf[len - 1] != '{' && buf[len - 1] != '[')
        put(",", 1);
}

static const char *errname(int e)
{
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case EBADF: return "EBADF";
    case ENOSPC: return "ENOSPC";
    case ETXTBSY: return "ETXTBSY";
    case ENXIO: return "ENXIO";
    case ENODEV: return "ENODEV";
    case ESRCH: return "ESRCH";
    case ENOSYS: return "ENOSYS";
    case EBADMSG: return "EBADMSG";
    case ENOTSUP: return "ENOTSUP";
    default: return "E?";
    }
}

/* ---- small readers ------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *n_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t n = 0, c = 4096;
    char *b = malloc(c);
    for (;;) {
        if (n + 1 >= c) {
            c *= 2;
            b = realloc(b, c);
        }
        ssize_t r = read(fd, b + n, c - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += r;
    }
    close(fd);
    b[n] = 0;
    if (n_out)
        *n_out = n;
    return b;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = 0;
}

static void emit_file_string(const char *k, const char *path)
{
    key(k);
    char *s = slurp(path, NULL);
    if (!s) {
        put("null", 4);
        return;
    }
    chomp(s);
    jstr(s);
    free(s);
}

/* ---- sections ------------------------------------------------------------------------ */

static void emit_ids(void)
{
    key("uid");
    out("%u", (unsigned)getuid());
    key("euid");
    out("%u", (unsigned)geteuid());
    key("gid");
    out("%u", (unsigned)getgid());
    key("egid");
    out("%u", (unsigned)getegid());
    gid_t groups[1024];
    int n = getgroups(1024, groups);
    key("groups");
    put("[", 1);
    for (int i = 0; i < n; i++) {
        comma();
        out("%u", (unsigned)groups[i]);
    }
    put("]", 1);
}

/* Fields of /proc/self/status worth having verbatim. */
static const char *status_keys[] = {
    "Name", "Umask", "State", "Tgid", "NSpid", "Pid", "PPid", "Uid", "Gid", "Groups",
    "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
    "Seccomp_filters", "SigBlk", "SigIgn", "SigCgt", "SigPnd", "ShdPnd", NULL};

static void emit_status(void)
{
    char *s = slurp("/proc/self/status", NULL);
    key("status");
    put("{", 1);
    if (s) {
        char *save = NULL;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            *colon = 0;
            char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            for (int i = 0; status_keys[i]; i++) {
                if (strcmp(line, status_keys[i]) == 0) {
                    key(line);
                    jstr(v);
                }
            }
        }
        free(s);
    }
    put("}", 1);
}

static const struct {
    const char *name;
    int res;
} rlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {NULL, 0}};

static void emit_rlimits(void)
{
    key("rlimits");
    put("{", 1);
    for (int i = 0; rlimits[i].name; i++) {
        struct rlimit rl;
        if (getrlimit(rlimits[i].res, &rl) != 0)
            continue;
        key(rlimits[i].name);
        out("{\"soft\":%llu,\"hard\":%llu}", (unsigned long long)rl.rlim_cur,
            (unsigned long long)rl.rlim_max);
    }
    put("}", 1);
}

static void emit_link(const char *k, const char *path)
{
    char t[PATH_MAX];
    ssize_t n = readlink(path, t, sizeof t - 1);
    key(k);
    if (n < 0) {
        put("null", 4);
        return;
    }
    t[n] = 0;
    jstr(t);
}

static void emit_ns_of(const char *k, const char *procdir)
{
    static const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children",
                                  "time", "time_for_children", "user", "uts", NULL};
    key(k);
    put("{", 1);
    for (int i = 0; names[i]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/ns/%s", procdir, names[i]);
        emit_link(names[i], p);
    }
    put("}", 1);
}

static void emit_uname(void)
{
    struct utsname u;
    if (uname(&u) != 0)
        return;
    key("hostname");
    jstr(u.nodename);
    key("domainname");
    jstr(u.domainname);
}

static void emit_misc(void)
{
    char cwd[PATH_MAX];
    key("cwd");
    jstr(getcwd(cwd, sizeof cwd));
    mode_t m = umask(0);
    umask(m);
    key("umask");
    out("%u", (unsigned)m);
    key("no_new_privs");
    out("%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    key("pid");
    out("%d", (int)getpid());
    key("ppid");
    out("%d", (int)getppid());
    key("sid");
    out("%d", (int)getsid(0));
    key("pgid");
    out("%d", (int)getpgid(0));
    emit_file_string("oom_score_adj", "/proc/self/oom_score_adj");
    emit_file_string("cgroup", "/proc/self/cgroup");
    emit_link("exe", "/proc/self/exe");
    emit_link("root", "/proc/self/root");
}

static void emit_env(void)
{
    key("env");
    put("[", 1);
    for (char **e = environ; e && *e; e++) {
        comma();
        jstr(*e);
    }
    put("]", 1);
}

static void emit_argv(int argc, char **argv)
{
    key("argv");
    put("[", 1);
    for (int i = 0; i < argc; i++) {
        comma();
        jstr(argv[i]);
    }
    put("]", 1);
}

static void emit_fds(void)
{
    key("fds");
    put("{", 1);
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int self = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            if (atoi(e->d_name) == self)
                continue;
            char p[300];
            snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
            emit_link(e->d_name, p);
        }
        closedir(d);
    }
    put("}", 1);
}

static void emit_tty(void)
{
    key("tty");
    put("{", 1);
    for (int fd = 0; fd < 3; fd++) {
        char k[8];
        snprintf(k, sizeof k, "%d", fd);
        key(k);
        put("{", 1);
        key("isatty");
        out("%s", isatty(fd) ? "true" : "false");
        struct winsize ws;
        if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
            key("rows");
            out("%u", ws.ws_row);
            key("cols");
            out("%u", ws.ws_col);
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
            key("major");
            out("%u", major(st.st_rdev));
            key("minor");
            out("%u", minor(st.st_rdev));
        }
        char p[32];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        emit_link("target", p);
        put("}", 1);
    }
    put("}", 1);
    key("ctty_pgrp");
    out("%d", (int)tcgetpgrp(0));
}

/* mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
static void junescape(char *s)
{
    char *r = s, *w = s;
    while (*r) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = 0;
}

static void emit_mounts(void)
{
    char *s = slurp("/proc/self/mountinfo", NULL);
    key("mounts");
    put("[", 1);
    if (s) {
        char *save = NULL;
        for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *f[64];
            int nf = 0;
            char *save2 = NULL;
            for (char *t = strtok_r(line, " ", &save2); t && nf < 64; t = strtok_r(NULL, " ", &save2))
                f[nf++] = t;
            int dash = -1;
            for (int i = 6; i < nf; i++)
                if (strcmp(f[i], "-") == 0) {
                    dash = i;
                    break;
                }
            if (nf < 6 || dash < 0 || dash + 2 >= nf) /* needs fstype and source */
                continue;
            comma();
            put("{", 1);
            key("id");
            out("%s", f[0]);
            key("parent");
            out("%s", f[1]);
            key("dev");
            jstr(f[2]);
            junescape(f[3]);
            key("root");
            jstr(f[3]);
            junescape(f[4]);
            key("mount_point");
            jstr(f[4]);
            key("options");
            jstr(f[5]);
            key("optional");
            put("[", 1);
            for (int i = 6; i < dash; i++) {
                comma();
                jstr(f[i]);
            }
            put("]", 1);
            key("fstype");
            jstr(f[dash + 1]);
            junescape(f[dash + 2]);
            key("source");
            jstr(f[dash + 2]);
            key("super_options");
            jstr(dash + 3 < nf ? f[dash + 3] : "");
            put("}", 1);
        }
        free(s);
    }
    put("]", 1);
}

static void emit_stat(const char *path)
{
    struct stat st;
    key(path);
    if (lstat(path, &st) != 0) {
        out("{\"errno\":%d,\"error\":\"%s\"}", errno, errname(errno));
        return;
    }
    const char *type = S_ISREG(st.st_mode)    ? "file"
                       : S_ISDIR(st.st_mode)  ? "dir"
                       : S_ISLNK(st.st_mode)  ? "symlink"
                       : S_ISCHR(st.st_mode)  ? "char"
                       : S_ISBLK(st.st_mode)  ? "block"
                       : S_ISFIFO(st.st_mode) ? "fifo"
                       : S_ISSOCK(st.st_mode) ? "socket"
                                              : "unknown";
    put("{", 1);
    key("type");
    jstr(type);
    key("mode");
    out("%u", (unsigned)(st.st_mode & 07777));
    key("uid");
    out("%u", (unsigned)st.st_uid);
    key("gid");
    out("%u", (unsigned)st.st_gid);
    key("size");
    out("%lld", (long long)st.st_size);
    key("dev");
    out("[%u,%u]", major(st.st_dev), minor(st.st_dev));
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        key("major");
        out("%u", major(st.st_rdev));
        key("minor");
        out("%u", minor(st.st_rdev));
    }
    if (S_ISLNK(st.st_mode)) {
        char t[PATH_MAX];
        ssize_t n = readlink(path, t, sizeof t - 1);
        if (n >= 0) {
            t[n] = 0;
            key("target");
            jstr(t);
        }
    }
    put("}", 1);
}

static void emit_sysctl(const char *k)
{
    char p[PATH_MAX] = "/proc/sys/";
    size_t o = strlen(p);
    for (const char *c = k; *c && o < sizeof p - 1; c++)
        p[o++] = (*c == '.') ? '/' : *c;
    p[o] = 0;
    key(k);
    char *s = slurp(p, NULL);
    if (!s) {
        put("null", 4);
        return;
    }
    chomp(s);
    jstr(s);
    free(s);
}

static void emit_write(const char *path)
{
    struct stat st;
    int err = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/.probe-write-%d", path, (int)getpid());
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            err = errno;
        } else {
            close(fd);
            unlink(p);
        }
    } else {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            err = errno;
        else
            close(fd);
    }
    key(path);
    out("{\"errno\":%d,\"error\":\"%s\"}", err, errname(err));
}


/* ---- scheduling, clocks, id maps (v1.3 process fields, personality, time namespace) --- */

struct probe_sched_attr { /* struct sched_attr of the kernel (SCHED_ATTR_SIZE_VER1) */
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

static void emit_cpu_list(cpu_set_t *set)
{
    put("[", 1);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, set)) {
            comma();
            out("%d", c);
        }
    put("]", 1);
}

static void emit_sched(void)
{
    key("sched");
    put("{", 1);
    struct probe_sched_attr a;
    memset(&a, 0, sizeof a);
    key("attr");
    if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0) {
        out("{\"policy\":%u,\"flags\":%llu,\"nice\":%d,\"priority\":%u,\"runtime\":%llu,"
            "\"deadline\":%llu,\"period\":%llu}",
            a.sched_policy, (unsigned long long)a.sched_flags, a.sched_nice, a.sched_priority,
            (unsigned long long)a.sched_runtime, (unsigned long long)a.sched_deadline,
            (unsigned long long)a.sched_period);
    } else {
        out("{\"errno\":%d,\"error\":\"%s\"}", errno, errname(errno));
    }
    key("ioprio");
    long io = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
    out("%ld", io);
    key("ioprio_pgrp");
    io = syscall(SYS_ioprio_get, 2 /* IOPRIO_WHO_PGRP */, 0);
    out("%ld", io);
    cpu_set_t set;
    CPU_ZERO(&set);
    key("affinity");
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        emit_cpu_list(&set);
    else
        put("null", 4);
    key("mempolicy");
    int mode = -1;
    unsigned long mask[16];
    memset(mask, 0, sizeof mask);
    if (syscall(SYS_get_mempolicy, &mode, mask, (unsigned long)(sizeof mask * 8), NULL, 0UL) == 0) {
        out("{\"mode\":%d,\"nodes\":[", mode);
        int first = 1;
        for (unsigned n = 0; n < sizeof mask * 8; n++)
            if (mask[n / (8 * sizeof(long))] >> (n % (8 * sizeof(long))) & 1) {
                out(first ? "%u" : ",%u", n);
                first = 0;
            }
        put("]}", 2);
    } else {
        out("{\"errno\":%d,\"error\":\"%s\"}", errno, errname(errno));
    }
    key("personality");
    out("%d", personality(0xffffffff));
    struct utsname u;
    key("machine");
    if (uname(&u) == 0)
        jstr(u.machine);
    else
        put("null", 4);
    put("}", 1);
}

static void emit_clocks(void)
{
    static const struct {
        const char *name;
        clockid_t id;
    } clocks[] = {{"monotonic", CLOCK_MONOTONIC}, {"boottime", CLOCK_BOOTTIME},
                  {"realtime", CLOCK_REALTIME}, {NULL, 0}};
    key("clocks");
    put("{", 1);
    for (int i = 0; clocks[i].name; i++) {
        struct timespec ts;
        if (clock_gettime(clocks[i].id, &ts) != 0)
            continue;
        key(clocks[i].name);
        out("%lld", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    }
    put("}", 1);
}

static void emit_idmap(void)
{
    key("idmap");
    put("{", 1);
    emit_file_string("uid_map", "/proc/self/uid_map");
    emit_file_string("gid_map", "/proc/self/gid_map");
    emit_file_string("setgroups", "/proc/self/setgroups");
    put("}", 1);
}

static void emit_read(const char *path)
{
    key(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        out("{\"errno\":%d,\"error\":\"%s\"}", errno, errname(errno));
        return;
    }
    char head[64];
    size_t nhead = 0;
    long long size = 0;
    char b[4096];
    int err = 0;
    for (;;) {
        ssize_t r = read(fd, b, sizeof b);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = errno;
            break;
        }
        if (r == 0)
            break;
        if (nhead < sizeof head) {
            size_t take = (size_t)r < sizeof head - nhead ? (size_t)r : sizeof head - nhead;
            memcpy(head + nhead, b, take);
            nhead += take;
        }
        size += r;
        if (size > (1 << 20))
            break; /* enough to know it is readable */
    }
    close(fd);
    out("{\"errno\":%d,\"error\":\"%s\",\"size\":%lld,\"head\":", err, errname(err), size);
    jstr_n(head, nhead);
    put("}", 1);
}

static void emit_ls(const char *path)
{
    key(path);
    DIR *d = opendir(path);
    if (!d) {
        out("{\"errno\":%d,\"error\":\"%s\"}", errno, errname(errno));
        return;
    }
    put("[", 1);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        comma();
        jstr(e->d_name);
    }
    closedir(d);
    put("]", 1);
}

static void emit_syscall(const char *name)
{
    char b[PATH_MAX];
    long r;
    errno = 0;
    if (strcmp(name, "getpid") == 0)
        r = syscall(SYS_getpid);
    else if (strcmp(name, "getppid") == 0)
        r = syscall(SYS_getppid);
    else if (strcmp(name, "getcwd") == 0)
        r = syscall(SYS_getcwd, b, sizeof b);
    else if (strcmp(name, "getpriority0") == 0)
        r = syscall(SYS_getpriority, 0 /* PRIO_PROCESS */, 0);
    else if (strcmp(name, "getpriority1") == 0)
        r = syscall(SYS_getpriority, 1 /* PRIO_PGRP */, 0);
    else {
        r = -1;
        errno = ENOSYS;
    }
    int e = r < 0 ? errno : 0;
    key(name);
    out("{\"ret\":%ld,\"errno\":%d,\"error\":\"%s\"}", r, e, errname(e));
}

/* ---- modes --------------------------------------------------------------------------- */

static int write_out(const char *file)
{
    put("\n", 1);
    int fd = 1;
    if (file) {
        fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "probe: open %s: %s\n", file, strerror(errno));
            return 1;
        }
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 1;
        off += w;
    }
    if (file)
        close(fd);
    return 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static int mode_signal(int argc, char **argv, const char *outfile)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (int s = 1; s < 32; s++) {
        if (s == SIGKILL || s == SIGSTOP || s == SIGCHLD)
            continue;
        sigaction(s, &sa, NULL);
    }
    /* Tell the test we are ready: a file next to the output, if there is one. */
    if (outfile) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s.ready", outfile);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0)
            close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    sigaddset(&none, SIGCHLD);
    while (!got_signal)
        sigsuspend(&none);
    put("{", 1);
    key("signal");
    out("%d", (int)got_signal);
    emit_argv(argc, argv);
    put("}", 1);
    return write_out(outfile);
}

static long parse_pid(const char *json)
{
    const char *p = json ? strstr(json, "\"pid\"") : NULL;
    if (!p)
        return -1;
    p += 5;
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    return strtol(p, NULL, 10);
}

static int mode_hook(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: probe hook LOG NAME\n");
        return 2;
    }
    const char *log = argv[2], *name = argv[3];
    size_t n = 0, c = 4096;
    char *in = malloc(c);
    for (;;) {
        if (n + 1 >= c) {
            c *= 2;
            in = realloc(in, c);
        }
        ssize_t r = read(0, in + n, c - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += r;
    }
    in[n] = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    put("{", 1);
    key("name");
    jstr(name);
    key("time_ns");
    out("%lld", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    key("stdin");
    jstr_n(in, n);
    emit_argv(argc, argv);
    emit_env();
    emit_ids();
    emit_misc();
    emit_uname();
    emit_ns_of("ns", "/proc/self");
    long pid = parse_pid(in);
    key("state_pid");
    out("%ld", pid);
    if (pid > 0) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%ld/comm", pid);
        emit_file_string("state_pid_comm", p);
        snprintf(p, sizeof p, "/proc/%ld", pid);
        emit_ns_of("state_pid_ns", p);
    }
    put("}", 1);
    put("\n", 1);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "probe hook: open %s: %s\n", log, strerror(errno));
        return 1;
    }
    if (write(fd, buf, len) != (ssize_t)len)
        return 1;
    close(fd);
    const char *ex = getenv("PROBE_HOOK_EXIT");
    int code = ex ? atoi(ex) : 0;
    const char *sl = getenv("PROBE_HOOK_SLEEP");
    if (sl)
        sleep(atoi(sl));
    if (code)
        fprintf(stderr, "probe hook %s: failing with status %d on purpose\n", name, code);
    return code;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    if (strcmp(mode, "hook") == 0)
        return mode_hook(argc, argv);

    const char *outfile = NULL;
    int sleep_sec = -1;
    enum { NONE, STAT, SYSCTL, WRITE, READ, LS, SYSCALL, SCHED } list = NONE;
    int is_all = 1;
    int first = 1;
    if (argc > 1 && argv[1][0] != '-') {
        first = 2;
        if (strcmp(mode, "all") == 0) {
        } else if (strcmp(mode, "stat") == 0) {
            is_all = 0;
            list = STAT;
        } else if (strcmp(mode, "sysctl") == 0) {
            is_all = 0;
            list = SYSCTL;
        } else if (strcmp(mode, "write") == 0) {
            is_all = 0;
            list = WRITE;
        } else if (strcmp(mode, "read") == 0) {
            is_all = 0;
            list = READ;
        } else if (strcmp(mode, "ls") == 0) {
            is_all = 0;
            list = LS;
        } else if (strcmp(mode, "syscall") == 0) {
            is_all = 0;
            list = SYSCALL;
        } else if (strcmp(mode, "sched") == 0) {
            is_all = 0;
            list = SCHED;
        } else if (strcmp(mode, "signal") == 0) {
            is_all = 0;
        } else {
            fprintf(stderr, "probe: unknown mode %s\n", mode);
            return 2;
        }
    }

    /* Collect the option lists first, so that each section is emitted once. */
    const char **stats = calloc(argc, sizeof *stats), **sysctls = calloc(argc, sizeof *sysctls),
               **writes = calloc(argc, sizeof *writes), **reads = calloc(argc, sizeof *reads),
               **lss = calloc(argc, sizeof *lss), **calls = calloc(argc, sizeof *calls);
    int nstat = 0, nsysctl = 0, nwrite = 0, nread = 0, nls = 0, ncall = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break; /* the rest is only reported in "argv" */
        if (strcmp(a, "-o") == 0 && i + 1 < argc) {
            outfile = argv[++i];
        } else if (strcmp(a, "--sleep") == 0 && i + 1 < argc) {
            sleep_sec = atoi(argv[++i]);
        } else if (strcmp(a, "--stat") == 0 && i + 1 < argc) {
            stats[nstat++] = argv[++i];
        } else if (strcmp(a, "--sysctl") == 0 && i + 1 < argc) {
            sysctls[nsysctl++] = argv[++i];
        } else if (strcmp(a, "--write") == 0 && i + 1 < argc) {
            writes[nwrite++] = argv[++i];
        } else if (strcmp(a, "--read") == 0 && i + 1 < argc) {
            reads[nread++] = argv[++i];
        } else if (strcmp(a, "--ls") == 0 && i + 1 < argc) {
            lss[nls++] = argv[++i];
        } else if (strcmp(a, "--syscall") == 0 && i + 1 < argc) {
            calls[ncall++] = argv[++i];
        } else if (list == STAT) {
            stats[nstat++] = a;
        } else if (list == SYSCTL) {
            sysctls[nsysctl++] = a;
        } else if (list == WRITE) {
            writes[nwrite++] = a;
        } else if (list == READ) {
            reads[nread++] = a;
        } else if (list == LS) {
            lss[nls++] = a;
        } else if (list == SYSCALL) {
            calls[ncall++] = a;
        } else {
            fprintf(stderr, "probe: unexpected argument %s\n", a);
            return 2;
        }
    }

    if (strcmp(mode, "signal") == 0)
        return mode_signal(argc, argv, outfile);

    put("{", 1);
    emit_argv(argc, argv);
    if (is_all) {
        emit_ids();
        emit_misc();
        emit_uname();
        emit_env();
        emit_status();
        emit_rlimits();
        emit_ns_of("ns", "/proc/self");
        emit_fds();
        emit_tty();
        emit_mounts();
        emit_sched();
        emit_clocks();
        emit_idmap();
    }
    if (list == SCHED)
        emit_sched();
    if (nstat || list == STAT) {
        key("stat");
        put("{", 1);
        for (int i = 0; i < nstat; i++)
            emit_stat(stats[i]);
        put("}", 1);
    }
    if (nsysctl || list == SYSCTL) {
        key("sysctl");
        put("{", 1);
        for (int i = 0; i < nsysctl; i++)
            emit_sysctl(sysctls[i]);
        put("}", 1);
    }
    if (nwrite || list == WRITE) {
        key("write");
        put("{", 1);
        for (int i = 0; i < nwrite; i++)
            emit_write(writes[i]);
        put("}", 1);
    }
    if (nread || list == READ) {
        key("read");
        put("{", 1);
        for (int i = 0; i < nread; i++)
            emit_read(reads[i]);
        put("}", 1);
    }
    if (nls || list == LS) {
        key("ls");
        put("{", 1);
        for (int i = 0; i < nls; i++)
            emit_ls(lss[i]);
        put("}", 1);
    }
    if (ncall || list == SYSCALL) {
        key("syscall");
        put("{", 1);
        for (int i = 0; i < ncall; i++)
            emit_syscall(calls[i]);
        put("}", 1);
    }
    put("}", 1);
    int rc = write_out(outfile);
    if (sleep_sec > 0)
        sleep(sleep_sec);
    else if (sleep_sec == 0)
        for (;;)
            pause();
    return rc;
}
