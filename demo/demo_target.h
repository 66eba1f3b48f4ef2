/*
 * demo_target.h: the built-in demo target, an httpbin-like shop API that
 * counts what it served (BRIEF 1.10). Used by --demo, by
 * `hornet demo-target`, and by the test suite.
 *
 * Threads: start/stop from one thread; the target runs its own threads.
 */
#ifndef HN_DEMO_TARGET_H
#define HN_DEMO_TARGET_H

#include <stddef.h>
#include <stdint.h>

struct hn_demo_target;

/* Starts HTTP on bind_addr:http_port (0 = pick a free port) and the
 * line-protocol KV service on bind_addr:kv_port (0 = pick). Returns 0 or
 * -1 with a message in err. */
int hn_demo_target_start(struct hn_demo_target **out, const char *bind_addr, uint16_t http_port,
                         uint16_t kv_port, char *err, size_t err_len);
uint16_t hn_demo_target_http_port(const struct hn_demo_target *t);
uint16_t hn_demo_target_kv_port(const struct hn_demo_target *t);
/* Stops and frees. NULL is ignored. */
void hn_demo_target_stop(struct hn_demo_target *t);

/* `hornet demo-target [--port N] [--kv-port N] [--bind ADDR]`: runs until
 * SIGINT/SIGTERM. Prints "demo-target http://ADDR:PORT kv ADDR:PORT" on
 * stdout (flushed) once listening. Returns the process exit code. */
int hn_demo_target_main(int argc, char **argv);

#endif
