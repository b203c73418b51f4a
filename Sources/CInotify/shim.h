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

#endif
