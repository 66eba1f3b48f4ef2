/*
 * plugin_host.h: loads a plugin (.so, or a .c compiled into a cache),
 * checks its ABI and declarations, runs its init, and unloads it.
 *
 * A plugin is either fully loaded (entry found, ABI accepted, declarations
 * valid, init succeeded) or not loaded at all: every failure dlcloses and
 * returns a one-line message (compiler output for a failed .c build, which
 * may span lines, is appended verbatim after that line).
 *
 * Threads: one load or unload at a time (the main thread at start, the
 * reload's thread later).
 */
#ifndef HN_PLUGIN_HOST_H
#define HN_PLUGIN_HOST_H

#include <stddef.h>

struct hn_plugin;
struct hn_host_info;
struct hn_loaded_plugin;

/* Loads path. A path ending in ".c" is compiled first with the system
 * compiler (cc -O2 -shared -fPIC -Wl,-z,defs) against hornet's bundled
 * header into cache_dir (NULL = $HORNET_CACHE_DIR, else
 * $XDG_CACHE_HOME/hornet, else ~/.cache/hornet), keyed by a hash of the
 * source, header and flags, so an unchanged file is compiled once.
 * Returns 0 and sets *out, or -1 with a message in err (always
 * NUL-terminated; err_len should be a few KiB to hold compiler output). */
int hn_plugin_load(const char *path, const char *cache_dir, struct hn_loaded_plugin **out,
                   char *err, size_t err_len);
/* Distributed worker: stores a plugin file received from the master under
 * the cache directory (as "shipped/<tag>-<name>") and loads it as
 * hn_plugin_load does. name must be a plain file name ending in .c or .so;
 * tag (e.g. the content hash) keeps different versions apart. */
int hn_plugin_load_bytes(const char *name, const char *tag, const void *data, size_t len,
                         struct hn_loaded_plugin **out, char *err, size_t err_len);
/* Validates and initialises a plugin linked into the executable (the
 * --demo plugin) through its entry function, exactly as hn_plugin_load
 * does after dlsym. label names it in messages. */
int hn_plugin_load_builtin(const struct hn_plugin *(*entry)(const struct hn_host_info *),
                           const char *label, struct hn_loaded_plugin **out, char *err,
                           size_t err_len);
/* The validated descriptor. */
const struct hn_plugin *hn_plugin_descriptor(const struct hn_loaded_plugin *p);
/* The path it was loaded from (the user's path, not the cache path). */
const char *hn_plugin_path(const struct hn_loaded_plugin *p);
/* Calls fini and dlcloses. NULL is ignored. */
void hn_plugin_unload(struct hn_loaded_plugin *p);

/* The public header's text, bundled at build time (for .c compilation). */
extern const char hn_bundled_header[];

#endif
