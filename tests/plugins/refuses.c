/* refuses.c: an entry that returns NULL, as HN_PLUGIN does for a host
 * whose ABI it does not accept. */
#include <hornet/hornet.h>

HN_EXPORT const struct hn_plugin *HN_PLUGIN_ENTRY(const struct hn_host_info *host);
HN_EXPORT const struct hn_plugin *HN_PLUGIN_ENTRY(const struct hn_host_info *host)
{
    (void)host;
    return NULL;
}
