/*
 * gw_sandbox: applies the dangerous tier's in-process layers, then executes the worker.
 *
 *   gw_sandbox --probe
 *   gw_sandbox [--ro PATH]... [--rw PATH]... [--as BYTES] [--nproc N] [--nofile N]
 *              [--cpu SECONDS] [--fsize BYTES] [--no-landlock] [--no-seccomp] [--no-rlimits]
 *              -- PROGRAM [ARG]...
 *
 * Order matters: rlimits, then no_new_privs (required by the two others and makes setuid
 * binaries inert), then Landlock, then seccomp last, because the Landlock calls themselves are
 * not on the seccomp allowlist. Everything happens before execve because Node.js starts
 * threads at once and a filter installed from inside it would not cover them.
 *
 * The --no-* switches exist so that tests can show each layer working on its own; the
 * gateway never passes them. Exit statuses 111..116 mean "the sandbox could not be built".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_USAGE 111
#define EXIT_RLIMIT 112
#define EXIT_NNP 113
#define EXIT_LANDLOCK 114
#define EXIT_SECCOMP 115
#define EXIT_EXEC 116

/* ---- Landlock: defined here because Debian 12's headers stop at ABI 2. ---- */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_TRUNCATE (1ULL << 14)
#define LL_FS_IOCTL_DEV (1ULL << 15)
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI >= 4 */
  uint64_t scoped;             /* ABI >= 6 */
};

struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

static int landlock_abi(void) {
  long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : (int)abi;
}

/* Every filesystem right the running kernel knows: unknown ones would make the call fail,
 * and a right left unhandled would be silently allowed. */
static uint64_t fs_rights_for(int abi) {
  uint64_t rights = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
  if (abi >= 2) rights |= 1ULL << 13; /* REFER */
  if (abi >= 3) rights |= LL_FS_TRUNCATE;
  if (abi >= 5) rights |= LL_FS_IOCTL_DEV;
  return rights;
}

/* Rights that make sense on a non-directory; the kernel rejects directory rights on files. */
static const uint64_t FILE_RIGHTS =
    LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;

struct paths {
  const char **items;
  int count;
};

static int add_path_rule(int ruleset, const char *path, uint64_t rights, uint64_t handled) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    /* A path that does not exist in the sandbox grants nothing; that is not an error. */
    if (errno == ENOENT) return 0;
    fprintf(stderr, "gw_sandbox: landlock: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return -1;
  }
  struct ll_path_beneath_attr rule = {.allowed_access = rights & handled, .parent_fd = fd};
  if (!S_ISDIR(st.st_mode)) rule.allowed_access &= FILE_RIGHTS;
  long rc = syscall(__NR_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0);
  int saved = errno;
  close(fd);
  if (rc != 0) {
    fprintf(stderr, "gw_sandbox: landlock: rule for %s: %s\n", path, strerror(saved));
    return -1;
  }
  return 0;
}

static int apply_landlock(const struct paths *ro, const struct paths *rw) {
  int abi = landlock_abi();
  if (abi < 1) {
    fprintf(stderr, "gw_sandbox: landlock: not supported by this kernel\n");
    return -1;
  }
  struct ll_ruleset_attr attr = {.handled_access_fs = fs_rights_for(abi)};
  size_t size = offsetof(struct ll_ruleset_attr, handled_access_net);
  if (abi >= 4) {
    /* No TCP rule is ever added: every bind and connect is denied. The broker is reached
     * through a Unix socket, which these rights do not cover. */
    attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
    size = offsetof(struct ll_ruleset_attr, scoped);
  }
  if (abi >= 6) {
    /* No signals to, and no abstract Unix sockets of, processes outside this domain. */
    attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
    size = sizeof(attr);
  }
  int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) {
    fprintf(stderr, "gw_sandbox: landlock: create ruleset: %s\n", strerror(errno));
    return -1;
  }
  const uint64_t read_only = LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR;
  for (int i = 0; i < ro->count; i++) {
    if (add_path_rule(ruleset, ro->items[i], read_only, attr.handled_access_fs) != 0) return -1;
  }
  for (int i = 0; i < rw->count; i++) {
    uint64_t all = attr.handled_access_fs & ~LL_FS_EXECUTE; /* writable never executable */
    if (add_path_rule(ruleset, rw->items[i], all, attr.handled_access_fs) != 0) return -1;
  }
  if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) {
    fprintf(stderr, "gw_sandbox: landlock: restrict self: %s\n", strerror(errno));
    return -1;
  }
  close(ruleset);
  return abi;
}

/* ---- seccomp ---- */
#if defined(__x86_64__)
#define GW_AUDIT_ARCH AUDIT_ARCH_X86_64
#define GW_ARCH_NAME "x86_64"
#elif defined(__aarch64__)
#define GW_AUDIT_ARCH AUDIT_ARCH_AARCH64
#define GW_ARCH_NAME "aarch64"
#else
#error "gw_sandbox supports x86_64 and aarch64 only"
#endif

#define ARG0_LO offsetof(struct seccomp_data, args[0])
#define ARG1_LO offsetof(struct seccomp_data, args[1])

/*
 * What Node.js needs to run a connector: memory, files (Landlock decides which), time,
 * threads, signals within the sandbox, and Unix sockets (the broker). Absent on purpose:
 * ptrace, mount, unshare/setns, bpf, perf, keyrings, kexec, module loading, fork-style clone,
 * process_vm_*, personality, userfaultfd, and IP, raw and netlink sockets.
 */
static const int ALLOWED[] = {
  __NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64, __NR_pwrite64,
  __NR_preadv, __NR_pwritev, __NR_openat, __NR_close, __NR_close_range, __NR_fstat,
  __NR_newfstatat, __NR_statx, __NR_lseek, __NR_mmap, __NR_munmap, __NR_mprotect,
  __NR_mremap, __NR_madvise, __NR_brk, __NR_msync, __NR_mincore,
  __NR_rt_sigaction, __NR_rt_sigprocmask, __NR_rt_sigreturn, __NR_sigaltstack,
  __NR_rt_sigtimedwait, __NR_rt_sigqueueinfo, __NR_rt_tgsigqueueinfo,
  __NR_faccessat, __NR_faccessat2, __NR_pipe2, __NR_dup, __NR_dup3, __NR_fcntl, __NR_flock,
  __NR_fsync, __NR_fdatasync, __NR_ftruncate, __NR_getdents64, __NR_getcwd, __NR_chdir,
  __NR_fchdir, __NR_readlinkat, __NR_mkdirat, __NR_unlinkat, __NR_renameat2,
  __NR_fchmod, __NR_fchmodat, __NR_utimensat, __NR_statfs, __NR_fstatfs, __NR_fadvise64,
  __NR_pselect6, __NR_ppoll, __NR_epoll_create1, __NR_epoll_ctl, __NR_epoll_pwait,
  __NR_epoll_pwait2, __NR_eventfd2, __NR_timerfd_create, __NR_timerfd_settime,
  __NR_timerfd_gettime, __NR_signalfd4,
  __NR_nanosleep, __NR_clock_nanosleep, __NR_clock_gettime, __NR_clock_getres,
  __NR_gettimeofday,
  __NR_getpid, __NR_getppid, __NR_gettid, __NR_getuid, __NR_geteuid, __NR_getgid,
  __NR_getegid, __NR_getgroups, __NR_getresuid, __NR_getresgid, __NR_getpgid, __NR_getsid,
  __NR_getrlimit, __NR_prlimit64, __NR_getrusage, __NR_sysinfo, __NR_uname, __NR_umask,
  __NR_sched_yield, __NR_sched_getaffinity, __NR_sched_getparam, __NR_sched_getscheduler,
  __NR_getpriority, __NR_setpriority,
  __NR_futex, __NR_set_robust_list, __NR_get_robust_list, __NR_set_tid_address, __NR_rseq,
  __NR_membarrier, __NR_exit, __NR_exit_group, __NR_wait4, __NR_waitid, __NR_kill,
  __NR_tgkill, __NR_tkill, __NR_getrandom, __NR_prctl, __NR_execve, __NR_capget,
  __NR_connect, __NR_getsockname, __NR_getpeername, __NR_setsockopt, __NR_getsockopt,
  __NR_sendto, __NR_recvfrom, __NR_sendmsg, __NR_recvmsg, __NR_shutdown,
#ifdef __x86_64__
  __NR_open, __NR_stat, __NR_lstat, __NR_access, __NR_pipe, __NR_dup2, __NR_readlink,
  __NR_mkdir, __NR_rmdir, __NR_unlink, __NR_rename, __NR_chmod, __NR_select, __NR_poll,
  __NR_epoll_create, __NR_epoll_wait, __NR_eventfd, __NR_signalfd, __NR_time, __NR_getpgrp,
  __NR_arch_prctl, __NR_pkey_alloc, __NR_pkey_free, __NR_pkey_mprotect,
#endif
};

/* Each syscall that is refused with an error rather than a kill, and why. */
static const struct { int nr; int err; } SOFT_DENIED[] = {
  {__NR_clone3, ENOSYS},        /* glibc falls back to clone, which is filtered below */
  {__NR_io_uring_setup, ENOSYS}, /* libuv probes it and falls back to the thread pool */
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
                  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

#define MAX_PROG 512

struct prog {
  struct sock_filter code[MAX_PROG];
  unsigned short len;
};

static void emit(struct prog *p, unsigned short op, unsigned char jt, unsigned char jf,
                 unsigned int k) {
  if (p->len >= MAX_PROG) {
    fprintf(stderr, "gw_sandbox: seccomp program too long\n");
    exit(EXIT_SECCOMP);
  }
  p->code[p->len++] = (struct sock_filter)BPF_JUMP(op, k, jt, jf);
}

#define LD_W(off) emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (unsigned int)(off))
#define RET(v) emit(&p, BPF_RET | BPF_K, 0, 0, (v))
#define JEQ(k, jt, jf) emit(&p, BPF_JMP | BPF_JEQ | BPF_K, (jt), (jf), (k))

static int apply_seccomp(void) {
  struct prog p = {.len = 0};
  const unsigned int KILL = SECCOMP_RET_KILL_PROCESS;
  LD_W(offsetof(struct seccomp_data, arch));
  JEQ(GW_AUDIT_ARCH, 1, 0);
  RET(KILL);
  LD_W(offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
  /* x32 system calls share the architecture value; their numbers carry bit 30. */
  emit(&p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0x40000000);
  RET(KILL);
#endif
  for (size_t i = 0; i < sizeof SOFT_DENIED / sizeof SOFT_DENIED[0]; i++) {
    JEQ((unsigned int)SOFT_DENIED[i].nr, 0, 1);
    RET(SECCOMP_RET_ERRNO | (SOFT_DENIED[i].err & SECCOMP_RET_DATA));
  }
  /* socket and socketpair: Unix domain only (the broker). Reloads nr afterwards. */
  const int unix_only[] = {__NR_socket, __NR_socketpair};
  for (size_t i = 0; i < 2; i++) {
    JEQ((unsigned int)unix_only[i], 0, 4);
    LD_W(ARG0_LO);
    JEQ(AF_UNIX, 0, 1);
    RET(SECCOMP_RET_ALLOW);
    RET(KILL);
  }
  /* clone: threads only (CLONE_THREAD), never a new process or namespace. */
  JEQ(__NR_clone, 0, 6);
  LD_W(ARG0_LO);
  emit(&p, BPF_JMP | BPF_JSET | BPF_K, 3, 0, NS_FLAGS);
  emit(&p, BPF_JMP | BPF_JSET | BPF_K, 0, 2, CLONE_THREAD);
  RET(SECCOMP_RET_ALLOW);
  RET(KILL); /* unreachable filler keeps the jump offsets simple */
  RET(KILL);
  /* ioctl: anything but pushing characters into a terminal's input. */
  JEQ(__NR_ioctl, 0, 5);
  LD_W(ARG1_LO);
  JEQ(TIOCSTI, 2, 0);
  JEQ(TIOCLINUX, 1, 0);
  RET(SECCOMP_RET_ALLOW);
  RET(KILL);
  for (size_t i = 0; i < sizeof ALLOWED / sizeof ALLOWED[0]; i++) {
    JEQ((unsigned int)ALLOWED[i], 0, 1);
    RET(SECCOMP_RET_ALLOW);
  }
  RET(KILL);
  struct sock_fprog fprog = {.len = p.len, .filter = p.code};
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
    fprintf(stderr, "gw_sandbox: seccomp: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- rlimits ---- */
struct limits {
  rlim_t as, nproc, nofile, cpu, fsize;
};

static int set_limit(int resource, rlim_t soft, rlim_t hard, const char *name) {
  struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
  if (setrlimit(resource, &rl) != 0) {
    fprintf(stderr, "gw_sandbox: rlimit %s: %s\n", name, strerror(errno));
    return -1;
  }
  return 0;
}

static int apply_rlimits(const struct limits *l) {
  /* CPU: SIGXCPU at the soft limit, SIGKILL one second later if it is ignored. */
  if (set_limit(RLIMIT_CPU, l->cpu, l->cpu + 1, "cpu") != 0) return -1;
  if (set_limit(RLIMIT_AS, l->as, l->as, "as") != 0) return -1;
  if (set_limit(RLIMIT_NPROC, l->nproc, l->nproc, "nproc") != 0) return -1;
  if (set_limit(RLIMIT_NOFILE, l->nofile, l->nofile, "nofile") != 0) return -1;
  if (set_limit(RLIMIT_FSIZE, l->fsize, l->fsize, "fsize") != 0) return -1;
  return 0;
}

/* ---- probe ---- */
static int probe(void) {
  int abi = landlock_abi();
  /* Install a filter in a throw-away child: proves the kernel accepts this very program. */
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(2);
    if (apply_seccomp() != 0) _exit(3);
    _exit(0);
  }
  int status = 0;
  int seccomp_ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0;
  printf("{\"arch\":\"%s\",\"landlock_abi\":%d,\"landlock_net\":%s,\"seccomp\":%s}\n",
         GW_ARCH_NAME, abi, abi >= 4 ? "true" : "false", seccomp_ok ? "true" : "false");
  return 0;
}

static rlim_t parse_num(const char *s, const char *opt) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    fprintf(stderr, "gw_sandbox: %s expects a number, got %s\n", opt, s);
    exit(EXIT_USAGE);
  }
  return (rlim_t)v;
}

int main(int argc, char **argv) {
  static const char *ro_items[64], *rw_items[8];
  struct paths ro = {ro_items, 0}, rw = {rw_items, 0};
  struct limits lim = {.as = 1ULL << 30, .nproc = 64, .nofile = 64, .cpu = 10,
                       .fsize = 16ULL << 20};
  int landlock = 1, seccomp = 1, rlimits = 1;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "--probe") == 0) return probe();
    if (strcmp(a, "--no-landlock") == 0) { landlock = 0; continue; }
    if (strcmp(a, "--no-seccomp") == 0) { seccomp = 0; continue; }
    if (strcmp(a, "--no-rlimits") == 0) { rlimits = 0; continue; }
    if (v == NULL) {
      fprintf(stderr, "gw_sandbox: %s needs a value\n", a);
      return EXIT_USAGE;
    }
    i++;
    if (strcmp(a, "--ro") == 0 && ro.count < 64) ro.items[ro.count++] = v;
    else if (strcmp(a, "--rw") == 0 && rw.count < 8) rw.items[rw.count++] = v;
    else if (strcmp(a, "--as") == 0) lim.as = parse_num(v, a);
    else if (strcmp(a, "--nproc") == 0) lim.nproc = parse_num(v, a);
    else if (strcmp(a, "--nofile") == 0) lim.nofile = parse_num(v, a);
    else if (strcmp(a, "--cpu") == 0) lim.cpu = parse_num(v, a);
    else if (strcmp(a, "--fsize") == 0) lim.fsize = parse_num(v, a);
    else {
      fprintf(stderr, "gw_sandbox: unknown or repeated-too-often option %s\n", a);
      return EXIT_USAGE;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "gw_sandbox: no program to run (expected -- PROGRAM ...)\n");
    return EXIT_USAGE;
  }
  /* A core dump would write the worker's memory (its secrets) somewhere: never. */
  if (set_limit(RLIMIT_CORE, 0, 0, "core") != 0) return EXIT_RLIMIT;
  if (rlimits && apply_rlimits(&lim) != 0) return EXIT_RLIMIT;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    fprintf(stderr, "gw_sandbox: no_new_privs: %s\n", strerror(errno));
    return EXIT_NNP;
  }
  if (landlock && apply_landlock(&ro, &rw) < 0) return EXIT_LANDLOCK;
  if (seccomp && apply_seccomp() != 0) return EXIT_SECCOMP;
  execv(argv[i], &argv[i]);
  fprintf(stderr, "gw_sandbox: execute %s: %s\n", argv[i], strerror(errno));
  return EXIT_EXEC;
}
