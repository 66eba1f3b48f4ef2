/* coro.c: ucontext coroutines with a stack canary and ASan fiber hooks. */
#include "coro.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef HN_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define CANARY_WORDS 16
#define CANARY 0x686f726e65742121ull /* "hornet!!" */

/*
 * Stacks come from per-thread pools carved out of slabs of SLAB_STACKS
 * stacks: unmapping one stack at a time costs a TLB shootdown on every CPU
 * (measured: munmap was 30 % of the time to stop 10,000 users), so a
 * finished user's stack is reused and slabs are unmapped only when the
 * thread calls hn_coro_pool_release().
 */
#define SLAB_STACKS 64
#define MAX_POOLS 8

struct pool {
    size_t stack_size;
    void **free;
    size_t n_free, cap_free;
    void **slabs;
    size_t n_slabs;
};

static __thread struct pool pools[MAX_POOLS];

static struct pool *pool_for(size_t size)
{
    for (int i = 0; i < MAX_POOLS; i++) {
        if (pools[i].stack_size == size)
            return &pools[i];
        if (pools[i].stack_size == 0) {
            pools[i].stack_size = size;
            return &pools[i];
        }
    }
    return NULL;
}

static void *stack_get(size_t size)
{
    struct pool *p = pool_for(size);
    if (p == NULL) {
        void *s = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        return s == MAP_FAILED ? NULL : s;
    }
    if (p->n_free == 0) {
        /* The free list can hold every stack ever carved, so stack_put
         * never needs to allocate. */
        size_t need = (p->n_slabs + 1) * SLAB_STACKS;
        if (p->cap_free < need) {
            void **f = realloc(p->free, need * sizeof *f);
            if (f == NULL)
                return NULL;
            p->free = f;
            p->cap_free = need;
        }
        void **slabs = realloc(p->slabs, (p->n_slabs + 1) * sizeof *slabs);
        if (slabs == NULL)
            return NULL;
        p->slabs = slabs;
        char *slab = mmap(NULL, size * SLAB_STACKS, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (slab == MAP_FAILED)
            return NULL;
        p->slabs[p->n_slabs++] = slab;
        for (size_t i = SLAB_STACKS; i > 0; i--)
            p->free[p->n_free++] = slab + (i - 1) * size;
    }
    return p->free[--p->n_free];
}

static void stack_put(void *stack, size_t size)
{
    struct pool *p = pool_for(size);
    if (p == NULL) {
        munmap(stack, size);
        return;
    }
    p->free[p->n_free++] = stack; /* capacity covers every carved stack */
}

void hn_coro_pool_release(void)
{
    for (int i = 0; i < MAX_POOLS; i++) {
        struct pool *p = &pools[i];
        for (size_t k = 0; k < p->n_slabs; k++)
            munmap(p->slabs[k], p->stack_size * SLAB_STACKS);
        free(p->slabs);
        free(p->free);
        memset(p, 0, sizeof *p);
    }
}

struct hn_coro {
    ucontext_t ctx;
    void *stack;
    size_t stack_size;
    hn_coro_fn fn;
    void *arg;
    int finished;
};

static __thread ucontext_t sched_ctx;
static __thread struct hn_coro *current;
#ifdef HN_ASAN
static __thread void *sched_fake_stack;
static __thread const void *sched_stack_bottom;
static __thread size_t sched_stack_size;
#endif

static void check_canary(const struct hn_coro *c)
{
    const uint64_t *w = c->stack;
    for (int i = 0; i < CANARY_WORDS; i++) {
        if (w[i] != CANARY) {
            /* The stack below the canary may already be clobbered: the
             * only safe move is to stop the process with a clear reason. */
            fprintf(stderr,
                    "hornet: fatal: a user coroutine overflowed its %zu-byte stack; "
                    "set a larger stack_size in the user type (or keep big buffers off "
                    "the stack)\n",
                    c->stack_size);
            abort();
        }
    }
}

static void trampoline(unsigned int hi, unsigned int lo)
{
    struct hn_coro *c = (struct hn_coro *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
#ifdef HN_ASAN
    __sanitizer_finish_switch_fiber(NULL, &sched_stack_bottom, &sched_stack_size);
#endif
    c->fn(c->arg);
    c->finished = 1;
    current = NULL;
#ifdef HN_ASAN
    /* NULL: this fiber is done, let ASan drop its fake stack. */
    __sanitizer_start_switch_fiber(NULL, sched_stack_bottom, sched_stack_size);
#endif
    setcontext(&sched_ctx);
}

int hn_coro_create(struct hn_coro **out, size_t stack_size, hn_coro_fn fn, void *arg)
{
    *out = NULL;
    long page = sysconf(_SC_PAGESIZE);
    if (stack_size == 0)
        stack_size = HN_CORO_DEFAULT_STACK;
    stack_size = (stack_size + (size_t)page - 1) & ~((size_t)page - 1);

    struct hn_coro *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->stack = stack_get(stack_size);
    if (c->stack == NULL) {
        free(c);
        return -ENOMEM;
    }
    c->stack_size = stack_size;
    c->fn = fn;
    c->arg = arg;
    uint64_t *w = c->stack;
    for (int i = 0; i < CANARY_WORDS; i++)
        w[i] = CANARY;

    getcontext(&c->ctx);
    c->ctx.uc_stack.ss_sp = c->stack;
    c->ctx.uc_stack.ss_size = stack_size;
    c->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->ctx, (void (*)(void))trampoline, 2, (unsigned int)(p >> 32),
                (unsigned int)(p & 0xffffffffu));
    *out = c;
    return 0;
}

void hn_coro_resume(struct hn_coro *c)
{
    if (c->finished)
        return;
    current = c;
#ifdef HN_ASAN
    __sanitizer_start_switch_fiber(&sched_fake_stack, c->stack, c->stack_size);
#endif
    swapcontext(&sched_ctx, &c->ctx);
#ifdef HN_ASAN
    __sanitizer_finish_switch_fiber(sched_fake_stack, NULL, NULL);
#endif
    current = NULL;
    check_canary(c);
}

void hn_coro_yield(void)
{
    struct hn_coro *c = current;
    if (c == NULL)
        return;
    check_canary(c);
    current = NULL;
#ifdef HN_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, sched_stack_bottom, sched_stack_size);
#endif
    swapcontext(&c->ctx, &sched_ctx);
#ifdef HN_ASAN
    __sanitizer_finish_switch_fiber(fake, &sched_stack_bottom, &sched_stack_size);
#endif
    current = c;
}

int hn_coro_finished(const struct hn_coro *c)
{
    return c->finished;
}

void hn_coro_destroy(struct hn_coro *c)
{
    if (c == NULL)
        return;
    stack_put(c->stack, c->stack_size);
    free(c);
}

struct hn_coro *hn_coro_current(void)
{
    return current;
}
