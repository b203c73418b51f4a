#ifndef COURSEGEN_CINOTIFY_SHIM_H
#define COURSEGEN_CINOTIFY_SHIM_H

#include <inotifytools/inotifytools.h>
#include <inotifytools/inotify.h>
#include <stdint.h>

/// The name that follows a `struct inotify_event` (a flexible array member Swift cannot import).
/// Empty when the event is about the watched object itself.
static inline const char *cinotify_event_name(const struct inotify_event *event) {
    return event->len > 0 ? event->name : "";
}

// libinotifytools 3.22 internals that its shared library exports but its header does not declare. They are
// checked against the installed library by Tests/WatcherTests/InotifyLibrarySymbolTests.swift, which fails,
// naming the library's version, if one of them vanishes.
//
// The public API that would replace them is inotifytools_remove_watch_by_wd() (or _by_filename()). It cannot
// forget a watch the kernel already dropped: it calls inotify_rm_watch() first, which fails with EINVAL for such
// a watch, and then returns without touching its tables, so the stale record stays and shadows the next watch on
// that path (inotifytools_wd_from_filename() finds the dead descriptor). The other public way out,
// inotifytools_cleanup() then inotifytools_initialize(), drops every table but also closes the inotify
// descriptor: every live watch is lost, and the new descriptor may be 1024 or more, where libinotifytools'
// select() aborts the process. Renaming the stale record away with inotifytools_set_filename_by_wd() leaks it,
// and the kernel may hand its descriptor number to a later watch. Should libinotifytools gain a public call
// that forgets a watch without inotify_rm_watch() (or forget it itself on IN_IGNORED), use that instead.
struct watch;
struct rbtree;
extern struct rbtree *tree_wd;
extern struct rbtree *tree_filename;
struct watch *watch_from_wd(int wd);
struct watch *watch_from_filename(char const *filename);
void destroy_watch(struct watch *w);
const void *rbdelete(const void *key, struct rbtree *tree);

/// Forgets watch `wd` after the kernel dropped it (IN_IGNORED: its folder was deleted or unmounted).
/// inotifytools_remove_watch_by_wd cannot do this: it first calls inotify_rm_watch, which then fails,
/// so it prints to stderr and keeps the entry, and a later watch on the same path is shadowed by it.
/// Does nothing if the library does not know `wd`.
static inline void cinotify_forget_watch(int wd) {
    struct watch *w = watch_from_wd(wd);
    if (!w) return;
    // The filename tree holds one watch per name: only remove the node if it is this watch's.
    if (watch_from_filename(inotifytools_filename_from_watch(w)) == w) rbdelete(w, tree_filename);
    rbdelete(w, tree_wd);
    destroy_watch(w);
}

#endif
