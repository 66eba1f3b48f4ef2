/*
 * coro.c: coroutines with a stack canary and ASan fiber hooks.
 *
 * On x86-64 a switch is a dozen instructions of assembly that save the
 * callee-saved registers, MXCSR and the x87 control word on the old stack
 * and swap stack pointers. swapcontext() makes an rt_sigprocmask syscall on
 * every switch: two per request, a third of the syscalls on the hot path
 * (measured with strace -c against nginx: send, recv, 2 curl polls, 2
 * sigprocmask). It also keeps a 968-byte ucontext_t per user. Other
 * architectures keep ucontext.
 */
#include "coro.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

#ifdef HN_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef HN_TSAN
/* ThreadSanitizer follows each coroutine as a fiber of its thread; without
 * this it would take one stack's accesses for another's and lose track of
 * what happens before what. */
#include <sanitizer/tsan_interface.h>
#endif

/*
 * The canary is the lowest CANARY_WORDS words of each stack, and it is zero,
 * so it never needs a write. Any access to a page makes it resident on this
 * kernel, reads included (measured: no shared zero page for anonymous
 * memory), so checking a canary on its own page would cost a second 4 KiB
 * page per user next to the one the frames use: 9 KiB instead of 5 KiB per
 * sleeping user. Pooled stacks are therefore laid out off the page grid
 * (SLAB_SHIFT): the top 3968 bytes of stack k and the canary of stack k+1
 * share a page, and a user that stays that shallow (one that sleeps after
 * an HTTP request: 2440 bytes, measured) touches one page in all.
 * An overflow deep enough to reach the bottom writes frames (return
 * addresses, saved registers) there, which are not all zero.
 */
#define CANARY_WORDS 16
#define CANARY 0ull

/*
 * Stacks come from per-thread pools carved out of slabs of SLAB_STACKS
 * stacks: unmapping one stack at a time costs a TLB shootdown on every CPU
 * (measured: munmap was 30 % of the time to stop 10,000 users), so a
 * finished user's stack is reused and slabs are unmapped only when the
 * thread calls hn_coro_pool_release().
 */
#define SLAB_STACKS 64
/* Each stack starts CANARY_WORDS words before a page boundary, so the page
 * holding its canary holds the top 3968 bytes of the stack below it. */
#define SLAB_SHIFT (4096u - CANARY_WORDS * 8u)
#define SLAB_BYTES(size) ((size) * SLAB_STACKS + 4096u)
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
        char *slab = mmap(NULL, SLAB_BYTES(size), PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (slab == MAP_FAILED)
            return NULL;
        p->slabs[p->n_slabs++] = slab;
        for (size_t i = SLAB_STACKS; i > 0; i--)
            p->free[p->n_free++] = slab + SLAB_SHIFT + (i - 1) * size;
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

#ifdef HN_TSAN
/* Finished coroutines' fibers, for the next ones: TSan gives every fiber a
 * thread slot of its own, and a slot is slow to come back once destroyed. */
static __thread void **tsan_free;
static __thread size_t tsan_n_free, tsan_cap_free;

static void *tsan_fiber_get(void)
{
    return tsan_n_free ? tsan_free[--tsan_n_free] : __tsan_create_fiber(0);
}

static void tsan_fiber_put(void *fiber)
{
    if (tsan_n_free == tsan_cap_free) {
        size_t cap = tsan_cap_free ? tsan_cap_free * 2 : 64;
        void **f = realloc(tsan_free, cap * sizeof *f);
        if (f == NULL) {
            __tsan_destroy_fiber(fiber);
            return;
        }
        tsan_free = f;
        tsan_cap_free = cap;
    }
    tsan_free[tsan_n_free++] = fiber;
}

static void tsan_fibers_release(void)
{
    while (tsan_n_free)
        __tsan_destroy_fiber(tsan_free[--tsan_n_free]);
    free(tsan_free);
    tsan_free = NULL;
    tsan_cap_free = 0;
}
#endif

void hn_coro_pool_release(void)
{
#ifdef HN_TSAN
    tsan_fibers_release();
#endif
    for (int i = 0; i < MAX_POOLS; i++) {
        struct pool *p = &pools[i];
        for (size_t k = 0; k < p->n_slabs; k++)
            munmap(p->slabs[k], SLAB_BYTES(p->stack_size));
        free(p->slabs);
        free(p->free);
        memset(p, 0, sizeof *p);
    }
}

#ifdef ASM_SWITCH
/* Saves the callee-saved registers on the current stack, stores its stack
 * pointer in *save and continues on the stack `load` (System V ABI: only
 * rbx, rbp, r12-r15, MXCSR and the x87 control word survive a call). */
void hn_coro_switch(void **save, void *load);
/* First instructions of a new coroutine: hn_coro_switch "returns" here with
 * rbx = the coro and r12 = trampoline, on a 16-byte aligned stack. */
void hn_coro_start(void);
__asm__(".text\n"
        ".globl hn_coro_switch\n"
        ".hidden hn_coro_switch\n"
        ".type hn_coro_switch,@function\n"
        "hn_coro_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size hn_coro_switch,.-hn_coro_switch\n"
        ".globl hn_coro_start\n"
        ".hidden hn_coro_start\n"
        ".type hn_coro_start,@function\n"
        "hn_coro_start:\n"
        "    movq %rbx, %rdi\n"
        "    callq *%r12\n"
        "    ud2\n"
        ".size hn_coro_start,.-hn_coro_start\n");
#endif

struct hn_coro {
#ifdef ASM_SWITCH
    void *sp; /* saved stack pointer while suspended */
#else
    ucontext_t ctx;
#endif
    void *stack;
    size_t stack_size;
    hn_coro_fn fn;
    void *arg;
    int finished;
#ifdef HN_TSAN
    void *tsan_fiber;
#endif
};

#ifdef ASM_SWITCH
static __thread void *sched_sp;
#else
static __thread ucontext_t sched_ctx;
#endif
static __thread struct hn_coro *current;
#ifdef HN_TSAN
static __thread void *sched_tsan_fiber; /* the scheduler's (the thread's own) */
#endif
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

#ifdef ASM_SWITCH
static void trampoline(struct hn_coro *c)
{
#else
static void trampoline(unsigned int hi, unsigned int lo)
{
    struct hn_coro *c = (struct hn_coro *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
#endif
#ifdef HN_ASAN
    __sanitizer_finish_switch_fiber(NULL, &sched_stack_bottom, &sched_stack_size);
#endif
    c->fn(c->arg);
    c->finished = 1;
    current = NULL;
#ifdef HN_TSAN
    __tsan_switch_to_fiber(sched_tsan_fiber, 0);
#endif
#ifdef HN_ASAN
    /* NULL: this fiber is done, let ASan drop its fake stack. */
    __sanitizer_start_switch_fiber(NULL, sched_stack_bottom, sched_stack_size);
#endif
#ifdef ASM_SWITCH
    void *dead;
    hn_coro_switch(&dead, sched_sp); /* never resumed */
    abort();
#else
    setcontext(&sched_ctx);
#endif
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
#ifdef HN_TSAN
    c->tsan_fiber = tsan_fiber_get();
#endif

#ifdef ASM_SWITCH
    /* The frame hn_coro_switch pops: MXCSR/x87 word, r15, r14, r13, r12,
     * rbx, rbp, return address; after the ret rsp is the 16-aligned top. */
    uintptr_t top = ((uintptr_t)c->stack + stack_size) & ~(uintptr_t)15;
    uint64_t *f = (uint64_t *)(top - 8 * sizeof(uint64_t));
    f[0] = 0x1f80u | ((uint64_t)0x037fu << 32); /* default MXCSR, x87 control word */
    f[1] = f[2] = f[3] = 0;                        /* r15 r14 r13 */
    f[4] = (uint64_t)(uintptr_t)trampoline;        /* r12 */
    f[5] = (uint64_t)(uintptr_t)c;                 /* rbx */
    f[6] = 0;                                      /* rbp */
    f[7] = (uint64_t)(uintptr_t)hn_coro_start;     /* return address */
    c->sp = f;
#else
    getcontext(&c->ctx);
    c->ctx.uc_stack.ss_sp = c->stack;
    c->ctx.uc_stack.ss_size = stack_size;
    c->ctx.uc_link = NULL;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->ctx, (void (*)(void))trampoline, 2, (unsigned int)(p >> 32),
                (unsigned int)(p & 0xffffffffu));
#endif
    *out = c;
    return 0;
}

void hn_coro_resume(struct hn_coro *c)
{
    if (c->finished)
        return;
    current = c;
#ifdef HN_TSAN
    sched_tsan_fiber = __tsan_get_current_fiber();
    __tsan_switch_to_fiber(c->tsan_fiber, 0);
#endif
#ifdef HN_ASAN
    __sanitizer_start_switch_fiber(&sched_fake_stack, c->stack, c->stack_size);
#endif
#ifdef ASM_SWITCH
    hn_coro_switch(&sched_sp, c->sp);
#else
    swapcontext(&sched_ctx, &c->ctx);
#endif
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
#ifdef HN_TSAN
    __tsan_switch_to_fiber(sched_tsan_fiber, 0);
#endif
#ifdef HN_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, sched_stack_bottom, sched_stack_size);
#endif
#ifdef ASM_SWITCH
    hn_coro_switch(&c->sp, sched_sp);
#else
    swapcontext(&c->ctx, &sched_ctx);
#endif
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
#ifdef HN_TSAN
    tsan_fiber_put(c->tsan_fiber);
#endif
    stack_put(c->stack, c->stack_size);
    free(c);
}

struct hn_coro *hn_coro_current(void)
{
    return current;
}
