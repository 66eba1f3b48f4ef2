/*
 * coro.h: stackful coroutines for simulated users.
 *
 * Each coroutine runs on its own mmap'ed stack (no guard page: guard pages
 * cost two VMAs each and hit vm.max_map_count near 32k users; a canary at
 * the stack's low end is checked on every switch instead). Switching uses
 * ucontext; under ASan the fiber-switch annotations are issued.
 *
 * Threads: a coroutine belongs to the thread that created it and is resumed
 * only by that thread's scheduler loop, never from inside another coroutine.
 */
#ifndef HN_CORO_H
#define HN_CORO_H

#include <stddef.h>

struct hn_coro;
typedef void (*hn_coro_fn)(void *arg);

/* Default stack size; ASan builds need far more room per frame. */
#ifdef HN_ASAN
#define HN_CORO_DEFAULT_STACK (512u * 1024u)
#else
#define HN_CORO_DEFAULT_STACK (64u * 1024u)
#endif

/* Creates a coroutine that will run fn(arg) on its first resume. Returns 0
 * or -errno (ENOMEM when the stack cannot be mapped). [worker] */
int hn_coro_create(struct hn_coro **out, size_t stack_size, hn_coro_fn fn, void *arg);
/* Runs c until it yields or returns. [worker, scheduler only] */
void hn_coro_resume(struct hn_coro *c);
/* Returns to the scheduler. [worker, inside a coroutine only] */
void hn_coro_yield(void);
/* True once fn has returned. */
int hn_coro_finished(const struct hn_coro *c);
/* Frees a coroutine that finished or never ran. NULL is ignored. [worker] */
void hn_coro_destroy(struct hn_coro *c);
/* Unmaps this thread's pooled stacks; call when no coroutine of the
 * thread is alive any more (worker exit). [worker] */
void hn_coro_pool_release(void);
/* The coroutine running on this thread, or NULL in the scheduler. */
struct hn_coro *hn_coro_current(void);

#endif
