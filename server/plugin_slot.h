/*
 * plugin_slot.h: the process's plugin, which the operator may reload
 * between runs ("New test" in the page, POST /api/plugin/reload): the file,
 * the loaded code, its feeders, and what the page shows of it (user types,
 * parameters). A reload compiles and loads the new version first; only when
 * that worked do the runner (and, through on_swap, a master's workers)
 * change over, and the old plugin is unloaded last. A failed reload keeps
 * the old plugin, and its message for the page.
 *
 * Threads: hn_plugin_slot_reload from one thread at a time (the MHD
 * thread); the readers from any thread.
 */
#ifndef HN_PLUGIN_SLOT_H
#define HN_PLUGIN_SLOT_H

#include <stddef.h>

#include <jansson.h>

struct hn_feeders;
struct hn_loaded_plugin;
struct hn_plugin;
struct hn_plugin_slot;
struct hn_runner;

struct hn_plugin_slot_config {
    const char *path;                /* -f as given; NULL = the built-in plugin */
    const char *const *feeds;        /* --feed NAME=PATH overrides (NULL-terminated) or NULL */
    /* A master's part of the swap (hn_fleet_set_plugin), after the
     * runner's; NULL = none. Returns 0, or -1 with err. */
    int (*on_swap)(void *ud, const struct hn_plugin *plugin, const struct hn_feeders *feeders,
                   char *err, size_t err_len);
    void *on_swap_ud;
};

/* Takes the plugin loaded at start and its feeders (NULL = none); both are
 * the slot's from here on, whatever it returns. Returns 0, or -1 when out
 * of memory. [main] */
int hn_plugin_slot_new(struct hn_plugin_slot **out, const struct hn_plugin_slot_config *cfg,
                       struct hn_loaded_plugin *loaded, struct hn_feeders *feeders);
/* The runner the reload changes over (set once it exists). [main] */
void hn_plugin_slot_attach(struct hn_plugin_slot *s, struct hn_runner *runner);
/* Unloads the plugin and frees its feeders: after the runner and the fleet
 * are gone. NULL ignored. [main] */
void hn_plugin_slot_free(struct hn_plugin_slot *s);

/* The plugin now. Only valid until the next reload: read it before the
 * dashboard starts. [main] */
const struct hn_plugin *hn_plugin_slot_plugin(const struct hn_plugin_slot *s);
/* Its feeders now (NULL = none); the same caveat. [main] */
const struct hn_feeders *hn_plugin_slot_feeders(const struct hn_plugin_slot *s);

/* What the page shows of the plugin (new references). user types:
 * [{"name","weight","fixed_count","host","tasks":[{"name","weight","tags"}]}];
 * parameters: [{"name","type","default","help","secret"}]; status:
 * {"path","reloadable","changed","loaded_at","reloads","error"}. [any] */
json_t *hn_plugin_slot_user_types(struct hn_plugin_slot *s);
json_t *hn_plugin_slot_params(struct hn_plugin_slot *s);
json_t *hn_plugin_slot_status(struct hn_plugin_slot *s);

/* Compiles (a .c) and loads the file again, then changes the runner (and
 * the workers) over to it. Only between runs. Returns 0; or -EBUSY (a run
 * is on), -EPERM (the built-in plugin) or -EINVAL (it does not compile or
 * load: err holds the message, compiler output included) with the old
 * plugin still in use. [one thread at a time] */
int hn_plugin_slot_reload(struct hn_plugin_slot *s, char *err, size_t err_len);

#endif
