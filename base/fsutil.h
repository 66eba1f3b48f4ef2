/*
 * fsutil.h: the few file-system helpers every output writer needs.
 *
 * Threads: any (no state).
 */
#ifndef HN_FSUTIL_H
#define HN_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: creates dir and its missing parents with mode. Returns 0, or
 * -1 with errno set (ENOTDIR when a component exists but is no directory);
 * failed (if not NULL) then holds the component that could not be made. */
int hn_mkdirs(const char *dir, mode_t mode, char *failed, size_t failed_len);
/* hn_mkdirs for the directory part of path ("out/run/x" -> "out/run");
 * nothing to do for a bare name or the root. Same returns. */
int hn_mkdirs_parent(const char *path, mode_t mode, char *failed, size_t failed_len);
/* write() until all of buf is written, retrying on EINTR. 0 or -1 (errno). */
int hn_write_all(int fd, const void *buf, size_t len);
/* Whether file opens for reading; if not, err holds "OPTION FILE: cannot
 * read it (reason)", the one line a bad file option gets. */
bool hn_file_readable(const char *option, const char *file, char *err, size_t err_len);

#endif
