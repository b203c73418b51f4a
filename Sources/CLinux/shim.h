#ifndef COURSEGEN_CLINUX_SHIM_H
#define COURSEGEN_CLINUX_SHIM_H

#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
// statfs(2) and its f_type magic numbers: Glibc's Swift module does not import <sys/vfs.h>.
#include <sys/vfs.h>
#include <spawn.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/// Atomically exchanges two paths (renameat2(2) with RENAME_EXCHANGE). Glibc declares renameat2
/// only under _GNU_SOURCE, which Swift's Glibc module does not set, so call the system call.
static inline int clinux_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, RENAME_EXCHANGE);
}

/// Makes a posix_spawn'd child start in `path` (glibc 2.29's posix_spawn_file_actions_addchdir_np,
/// which Glibc declares only under _GNU_SOURCE).
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);
static inline int clinux_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

/// Makes a posix_spawn'd child close every descriptor from `from` up (glibc 2.34's
/// posix_spawn_file_actions_addclosefrom_np, also declared only under _GNU_SOURCE).
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
static inline int clinux_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

#endif
