// Runs a command under a system call allow-list read from a file, as systemd's SystemCallFilter=
// does, but stricter: any other call kills the process (SIGSYS) instead of failing with EPERM.
// Built by tests/ship/systemd_test.ts against the system's libseccomp.so.2 (no headers needed).
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
typedef void *scmp_filter_ctx;
scmp_filter_ctx seccomp_init(uint32_t);
int seccomp_rule_add(scmp_filter_ctx, uint32_t, int, unsigned int, ...);
int seccomp_syscall_resolve_name(const char *);
int seccomp_load(scmp_filter_ctx);
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "r"); char name[128]; int n = 0;
  scmp_filter_ctx ctx = seccomp_init(0x80000000U /* KILL_PROCESS */);
  while (fscanf(f, "%127s", name) == 1) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr >= 0 && seccomp_rule_add(ctx, 0x7fff0000U /* ALLOW */, nr, 0) == 0) n++;
  }
  fprintf(stderr, "sc: %d system calls allowed\n", n);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (seccomp_load(ctx) != 0) { perror("seccomp_load"); return 1; }
  execvp(argv[2], argv + 2); perror("exec"); return 127;
}
