/* no_entry.c: a shared object that forgot HN_PLUGIN(): it exports a
 * function, just not the entry symbol. */
#include <hornet/hornet.h>

HN_EXPORT int hornet_plugin_entry(void);
HN_EXPORT int hornet_plugin_entry(void)
{
    return 42;
}
