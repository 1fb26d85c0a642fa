/*
 * ops.c - the decoder and the checked calls (see ops.h).
 *
 * Every library call goes through a c_* wrapper: ask the reference what the call must return (the
 * reference applies the change when that is success), make the call, compare the code and every
 * output, check that out-parameters are untouched on failure. Fault handlers are real C handlers:
 * the reference simulates a translation up to the point where a handler is due, the handler checks
 * that the library called it then and with that record, runs its own checked calls (map and retry,
 * destroy -> EBUSY, unmap, switch, anything), and the simulation resumes with its verdict.
 */
#define _POSIX_C_SOURCE 200809L
#include "ops.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "smmu.h"

#define MAX_INST 4
#define MAX_DOMS 300
#define MAX_NEST 2
#define MAX_BATCH 48
#define PAGE REF_PAGE
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define CANARY UINT64_C(0xA5A5A5A5A5A5A5A5)
#define ADDR48 ((1ull << 48) - 1)

static fz_options OPT;

static struct {
    fz_src *src;
    ref_inst *inst[MAX_INST];
    uint32_t dead_inst[64];          /* destroyed instance handles: stale forever */
    int ndead_inst, dead_inst_next;
    uint32_t dead_inst_dom[64];      /* domain handles of destroyed instances */
    int ndead_inst_dom, dead_inst_dom_next;
    ref_xlate *xstack[16];           /* translations in flight (handlers nest) */
    int xdepth;
    int nest;                        /* fault handlers running */
    uint64_t ops, calls;             /* since the process started */
} W;

enum { C_CREATE, C_DESTROY, C_DOMAIN_ALLOC, C_DOMAIN_FREE, C_SET_ATTR, C_GET_ATTR, C_ATTACH, C_DETACH, C_SWITCH_DOMAIN, C_SET_FAULT_HANDLER, C_MAP, C_UNMAP, C_MAP_PAGES, C_UNMAP_PAGES, C_IOVA_TO_PHYS, C_PHYS_READ64, C_PHYS_WRITE64, C_TLB_INV, C_TLB_INV_VMID, C_DEFERRED, C_GET_FAULT, C_CLEAR_FAULT, C_GET_CONTEXT_BANK, C_GET_STATS, C_RESET_STATS, C_TRANSLATE, C_TRANSLATE_BATCH, C_FAULT_HANDLER, C_COUNT };
static const char *const CALL_NAMES[C_COUNT] = { "create", "destroy", "domain_alloc", "domain_free", "set_attr", "get_attr", "attach", "detach", "switch_domain", "set_fault_handler", "map", "unmap", "map_pages", "unmap_pages", "iova_to_phys", "phys_read64", "phys_write64", "tlb_inv", "tlb_inv_vmid/ipa", "flush_queue/sanit.", "get_fault", "clear_fault", "get_context_bank", "get_stats", "reset_stats", "translate", "translate_batch", "fault_handler" };

/* Outcome counts per call: [0] success, [k] error -k (k <= 40), [41] unmap/phys bytes > 0. */
static uint64_t COVERAGE[C_COUNT][42];

static void cov(int call, int64_t rc)
{
    int k = rc > 0 ? 41 : rc < -40 ? 40 : (int)-rc;
    COVERAGE[call][k]++;
}

void fz_print_coverage(FILE *out)
{
    int c, k;
    for (c = 0; c < C_COUNT; c++) {
        fprintf(out, "  %-18s", CALL_NAMES[c]);
        for (k = 0; k < 42; k++)
            if (COVERAGE[c][k])
                fprintf(out, " %s:%" PRIu64, k == 0 ? "ok" : k == 41 ? ">0" : smmu_strerror(-k), COVERAGE[c][k]);
        fprintf(out, "\n");
    }
}

/* ---- bytes ------------------------------------------------------------------------------------- */

void fz_src_bytes(fz_src *s, const uint8_t *data, size_t size)
{
    memset(s, 0, sizeof *s);
    s->p = data;
    s->n = size;
}

void fz_src_prng(fz_src *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->prng = 1;
    s->state = seed ^ 0x9E3779B97F4A7C15ull;
}

static uint8_t g8(void)
{
    fz_src *s = W.src;
    if (s->prng) {
        if (s->left == 0) {
            /* splitmix64 */
            uint64_t z = (s->state += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            s->word = z ^ (z >> 31);
            s->left = 8;
        }
        s->left--;
        return (uint8_t)(s->word >> (8 * s->left));
    }
    if (s->n == 0)
        return 0;
    s->n--;
    return *s->p++;
}

static uint16_t g16(void)
{
    uint16_t v = g8();
    return (uint16_t)(v << 8 | g8());
}

static uint32_t g32(void)
{
    uint32_t v = g16();
    return v << 16 | g16();
}

static uint64_t g64(void)
{
    uint64_t v = g32();
    return v << 32 | g32();
}

static int src_dry(void)
{
    return !W.src->prng && W.src->n == 0;
}

void fz_options_from_env(fz_options *opt)
{
    const char *v;
    memset(opt, 0, sizeof *opt);
    opt->skip_pool_base0 = (v = getenv("SMMU_REF_SKIP_POOL_BASE0")) && *v && *v != '0';
    opt->skip_cross_instance = (v = getenv("SMMU_REF_SKIP_CROSS_INSTANCE")) && *v && *v != '0';
    opt->trace = (v = getenv("SMMU_FUZZ_TRACE")) && *v && *v != '0';
    opt->skip_cb_order = (v = getenv("SMMU_REF_SKIP_CB_ORDER")) && *v && *v != '0';
    opt->skip_nest_parent_order = (v = getenv("SMMU_REF_SKIP_NEST_PARENT_ORDER")) && *v && *v != '0';
    opt->skip_batch_failed_pa = (v = getenv("SMMU_REF_SKIP_BATCH_FAILED_PA")) && *v && *v != '0';
    opt->skip_handle_ffffffff = (v = getenv("SMMU_REF_SKIP_HANDLE_FFFFFFFF")) && *v && *v != '0';
    opt->skip_map_pages_order = (v = getenv("SMMU_REF_SKIP_MAP_PAGES_ORDER")) && *v && *v != '0';
}

/* ---- reporting ----------------------------------------------------------------------------------- */

#define TRACE(...)                                                                                     \
    do {                                                                                               \
        if (OPT.trace)                                                                                 \
            fprintf(stderr, __VA_ARGS__);                                                              \
    } while (0)

#if defined(__GNUC__)
#define FZ_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define FZ_NORETURN __attribute__((noreturn))
#else
#define FZ_PRINTF(f, a)
#define FZ_NORETURN
#endif

static void diverge(const char *fmt, ...) FZ_PRINTF(1, 2) FZ_NORETURN;
static void diverge(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "\n==== DIVERGENCE: libsmmu disagrees with the reference (operation %" PRIu64 ", call %" PRIu64
                    ", handler depth %d) ====\n", W.ops, W.calls, W.nest);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    {
        int i;
        for (i = 0; i < MAX_INST; i++)
            if (W.inst[i])
                fprintf(stderr, "  live instance 0x%x: ias %u oas %u pool 0x%" PRIx64 "+0x%" PRIx64 " (%" PRIu64 " pages, %"
                        PRIu64 " in use) banks %u streams %u asid_bits %u tlb %u/%u flags 0x%x, %d domains\n",
                        W.inst[i]->handle, W.inst[i]->cfg.ias, W.inst[i]->cfg.oas, W.inst[i]->cfg.pt_pool_base,
                        W.inst[i]->cfg.pt_pool_bytes, W.inst[i]->pool_pages, W.inst[i]->pages_in_use,
                        W.inst[i]->cfg.num_context_banks, W.inst[i]->cfg.num_stream_ids, W.inst[i]->cfg.asid_bits,
                        W.inst[i]->cfg.tlb_entries, W.inst[i]->cfg.tlb_ways, W.inst[i]->cfg.flags, W.inst[i]->ndoms);
    }
    fprintf(stderr, "(switches: SMMU_REF_SKIP_POOL_BASE0=%d SMMU_REF_SKIP_CROSS_INSTANCE=%d SMMU_REF_SKIP_CB_ORDER=%d "
                    "SMMU_REF_SKIP_NEST_PARENT_ORDER=%d SMMU_REF_SKIP_MAP_PAGES_ORDER=%d SMMU_REF_SKIP_HANDLE_FFFFFFFF=%d "
                    "SMMU_REF_SKIP_BATCH_FAILED_PA=%d; replay with "
                    "SMMU_FUZZ_TRACE=1 to see every call)\n", OPT.skip_pool_base0, OPT.skip_cross_instance, OPT.skip_cb_order,
            OPT.skip_nest_parent_order, OPT.skip_map_pages_order, OPT.skip_handle_ffffffff, OPT.skip_batch_failed_pa);
    fflush(stderr);
    abort();
}

static void diverge_rc(int64_t expected, int64_t got, const char *fmt, ...) FZ_PRINTF(3, 4) FZ_NORETURN;
static void diverge_rc(int64_t expected, int64_t got, const char *fmt, ...)
{
    char call[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call, sizeof call, fmt, ap);
    va_end(ap);
    diverge("%s\n  expected %" PRId64 " (%s)\n  got      %" PRId64 " (%s)", call, expected,
            expected >= INT32_MIN && expected <= 0 ? smmu_strerror((int32_t)expected) : "bytes",
            got, got >= INT32_MIN && got <= 0 ? smmu_strerror((int32_t)got) : "bytes");
}

#define CHECK_RC(exp, got, ...)                                                                        \
    do {                                                                                               \
        int64_t e_ = (exp), g_ = (got);                                                                \
        if (e_ != g_)                                                                                  \
            diverge_rc(e_, g_, __VA_ARGS__);                                                           \
    } while (0)

static void fail_learn(const char *what, const char *why, uint64_t pa)
{
    diverge("%s: %s (address 0x%" PRIx64 ")", what, why, pa);
}

/* ---- lookups ----------------------------------------------------------------------------------------- */

static ref_inst *inst_of(uint32_t h)
{
    int i;
    for (i = 0; i < MAX_INST; i++)
        if (W.inst[i] && W.inst[i]->handle == h)
            return W.inst[i];
    return NULL;
}

static int live_count(void)
{
    int i, n = 0;
    for (i = 0; i < MAX_INST; i++)
        n += W.inst[i] != NULL;
    return n;
}

static ref_inst *live_nth(int k)
{
    int i;
    for (i = 0; i < MAX_INST; i++)
        if (W.inst[i] && k-- == 0)
            return W.inst[i];
    return NULL;
}

static ref_inst *pick_live(void)
{
    int n = live_count();
    return n ? live_nth(g8() % n) : NULL;
}

static void push_ring(uint32_t *ring, int *n, int *next, int cap, uint32_t v)
{
    ring[*next] = v;
    *next = (*next + 1) % cap;
    if (*n < cap)
        (*n)++;
}

/* ---- checked calls: instances and statistics ------------------------------------------------------- */

static void c_check_pages(ref_inst *ri, const char *after)
{
    smmu_stats st;
    int32_t rc;
    st.size = sizeof st;
    W.calls++;
    rc = smmu_get_stats(ri->handle, &st);
    CHECK_RC(0, rc, "smmu_get_stats(0x%x) after %s", ri->handle, after);
    if (st.pt_pages_in_use != ri->pages_in_use || st.pt_pages_in_use + st.pt_pages_free != ri->pool_pages)
        diverge("after %s on instance 0x%x: table pages in use %" PRIu64 ", free %" PRIu64 "; the reference: in use %"
                PRIu64 ", pool %" PRIu64 " pages", after, ri->handle, st.pt_pages_in_use, st.pt_pages_free,
                ri->pages_in_use, ri->pool_pages);
}

static void c_get_stats(uint32_t h, int null_out, uint32_t size)
{
    ref_inst *ri = inst_of(h);
    smmu_stats st;
    int32_t exp = ref_get_stats(ri, null_out, size), got;
    memset(&st, 0xA5, sizeof st);
    st.size = size;
    W.calls++;
    got = smmu_get_stats(h, null_out ? NULL : &st);
    TRACE("smmu_get_stats(0x%x, %s size %u) = %d\n", h, null_out ? "NULL" : "&st", size, got);
    CHECK_RC(exp, got, "smmu_get_stats(smmu=0x%x, out=%s, out->size=%u)", h, null_out ? "NULL" : "&st", size);
    cov(C_GET_STATS, got);
    if (got != 0) {
        size_t i;
        if (!null_out)
            for (i = 4; i < sizeof st; i++)
                if (((unsigned char *)&st)[i] != 0xA5)
                    diverge("smmu_get_stats(0x%x, size %u) failed with %d but wrote its output", h, size, got);
        return;
    }
    if (size == REF_STATS_SIZE_1_0) {
        /* "then the first 88 bytes are written": the ABI 1.1 counters stay as they were */
        size_t i;
        for (i = REF_STATS_SIZE_1_0; i < sizeof st; i++)
            if (((unsigned char *)&st)[i] != 0xA5)
                diverge("smmu_get_stats(0x%x, size %u) wrote byte %zu, beyond the ABI 1.0 prefix", h, size, i);
    } else if (st.stage2_walks != 0 || st.vmid_invalidations != ri->c.vmid_invalidations || st.stale_translations != 0
               || st.missed_syncs != 0 || st.needless_invalidations != 0) {
        /* no stage 2, no gather here: those counters stay 0; VMID invalidations are the explicit ones */
        diverge("smmu_get_stats(0x%x): stage2_walks %" PRIu64 " vmid_invalidations %" PRIu64 " stale_translations %" PRIu64
                " missed_syncs %" PRIu64 " needless_invalidations %" PRIu64 "; the reference: 0 %" PRIu64 " 0 0 0", h,
                st.stage2_walks, st.vmid_invalidations, st.stale_translations, st.missed_syncs, st.needless_invalidations,
                ri->c.vmid_invalidations);
    }
    if (st.size != size || st.reserved != 0 || st.pt_pages_in_use != ri->pages_in_use
        || st.pt_pages_in_use + st.pt_pages_free != ri->pool_pages || st.faults != ri->c.faults
        || st.switches != ri->c.switches || st.tlb_invalidations != ri->c.invalidations
        || st.walks - st.tlb_misses != ri->c.sw_walks
        || st.translations != ri->c.translations || st.tlb_hits + st.tlb_misses != ri->c.hits_misses)
        diverge("smmu_get_stats(0x%x): size %u reserved %u in_use %" PRIu64 " free %" PRIu64 " faults %" PRIu64
                " switches %" PRIu64 " invalidations %" PRIu64 " walks-misses %" PRIu64 " translations %" PRIu64
                " hits+misses %" PRIu64 "\n  the reference: in_use %" PRIu64 " pool %" PRIu64 " faults %" PRIu64
                " switches %" PRIu64 " invalidations %" PRIu64 " walks-misses %" PRIu64 " translations %" PRIu64
                " hits+misses %" PRIu64 " (batches in flight %d)",
                h, st.size, st.reserved, st.pt_pages_in_use, st.pt_pages_free, st.faults, st.switches,
                st.tlb_invalidations, st.walks - st.tlb_misses, st.translations, st.tlb_hits + st.tlb_misses,
                ri->pages_in_use, ri->pool_pages, ri->c.faults, ri->c.switches, ri->c.invalidations, ri->c.sw_walks,
                ri->c.translations, ri->c.hits_misses, ri->batches_in_flight);
}

static void c_reset_stats(uint32_t h)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_reset_stats(ri), got;
    W.calls++;
    got = smmu_reset_stats(h);
    TRACE("smmu_reset_stats(0x%x) = %d\n", h, got);
    CHECK_RC(exp, got, "smmu_reset_stats(smmu=0x%x)", h);
    cov(C_RESET_STATS, got);
}

static int slot_free(void)
{
    int i;
    for (i = 0; i < MAX_INST; i++)
        if (!W.inst[i])
            return i;
    return -1;
}

static void c_create(const smmu_config *cfg, int null_cfg, int null_out)
{
    smmu_t h = 0xA5A5A5A5u;
    int32_t exp, got;
    int slot = slot_free(), i;
    if (null_cfg || null_out)
        exp = SMMU_EINVAL;
    else
        exp = ref_config_check(cfg);
    W.calls++;
    got = smmu_create(null_cfg ? NULL : cfg, null_out ? NULL : &h);
    TRACE("smmu_create({size %u cbs %u sids %u asid_bits %u ias %u oas %u tlb %u/%u flags 0x%x pool 0x%" PRIx64
          "+0x%" PRIx64 "}%s%s) = %d -> 0x%x\n", cfg->size, cfg->num_context_banks, cfg->num_stream_ids, cfg->asid_bits,
          cfg->ias, cfg->oas, cfg->tlb_entries, cfg->tlb_ways, cfg->flags, cfg->pt_pool_base, cfg->pt_pool_bytes,
          null_cfg ? " cfg=NULL" : "", null_out ? " out=NULL" : "", got, h);
    CHECK_RC(exp, got, "smmu_create(cfg=%s{size %u, cbs %u, sids %u, asid_bits %u, ias %u, oas %u, tlb %u/%u, flags 0x%x, "
             "pool 0x%" PRIx64 "+0x%" PRIx64 "}, out=%s)", null_cfg ? "NULL " : "", cfg->size, cfg->num_context_banks,
             cfg->num_stream_ids, cfg->asid_bits, cfg->ias, cfg->oas, cfg->tlb_entries, cfg->tlb_ways, cfg->flags,
             cfg->pt_pool_base, cfg->pt_pool_bytes, null_out ? "NULL" : "&h");
    cov(C_CREATE, got);
    if (got != 0) {
        if (h != 0xA5A5A5A5u)
            diverge("smmu_create failed with %d but wrote *out (0x%x)", got, h);
        return;
    }
    if (h == 0 || inst_of(h))
        diverge("smmu_create returned handle 0x%x, which is 0 or already a live instance", h);
    /* smmu.h: "smmu_t: [31:30] 1 | [29:10] generation | [9:0] instance slot"; no two live instances
     * share a slot */
    if ((h >> 30) != 1)
        diverge("smmu_create returned handle 0x%x: its kind (bits 31:30) is %u, smmu.h says 1", h, h >> 30);
    for (i = 0; i < MAX_INST; i++)
        if (W.inst[i] && (W.inst[i]->handle & 0x3FFu) == (h & 0x3FFu))
            diverge("smmu_create returned handle 0x%x, whose instance slot (bits 9:0) is also live instance 0x%x's", h,
                    W.inst[i]->handle);
    for (i = 0; i < W.ndead_inst; i++)
        if (W.dead_inst[i] == h)
            diverge("smmu_create returned handle 0x%x, which named a destroyed instance", h);
    if (slot < 0) {
        /* the harness keeps MAX_INST; a create beyond it is destroyed right away (checked) */
        W.calls++;
        CHECK_RC(0, smmu_destroy(h), "smmu_destroy(0x%x) of a fresh instance", h);
        return;
    }
    W.inst[slot] = ref_inst_new(cfg, h);
    c_check_pages(W.inst[slot], "smmu_create");
}

static void c_destroy(uint32_t h)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = !ri ? SMMU_EBADF : ri->handler_depth > 0 ? SMMU_EBUSY : SMMU_OK, got;
    int i;
    W.calls++;
    got = smmu_destroy(h);
    TRACE("smmu_destroy(0x%x) = %d\n", h, got);
    CHECK_RC(exp, got, "smmu_destroy(smmu=0x%x)%s", h, ri && ri->handler_depth ? " from inside its own fault handler" : "");
    cov(C_DESTROY, got);
    if (got != 0)
        return;
    push_ring(W.dead_inst, &W.ndead_inst, &W.dead_inst_next, 64, h);
    for (i = 0; i < ri->ndoms; i++)
        push_ring(W.dead_inst_dom, &W.ndead_inst_dom, &W.dead_inst_dom_next, 64, ri->doms[i]->handle);
    for (i = 0; i < MAX_INST; i++)
        if (W.inst[i] == ri)
            W.inst[i] = NULL;
    ref_inst_free(ri);
}

/* ---- checked calls: domains -------------------------------------------------------------------------- */

static void c_get_attr(uint32_t h, uint32_t d, uint32_t attr, int null_data, size_t size);

static int32_t c_domain_alloc(uint32_t h, int null_out, uint32_t *out)
{
    ref_inst *ri = inst_of(h);
    uint32_t nd = 0xA5A5A5A5u;
    int32_t exp = ref_domain_alloc(ri, null_out), got;
    int i;
    W.calls++;
    got = smmu_domain_alloc(h, null_out ? NULL : &nd);
    TRACE("smmu_domain_alloc(0x%x%s) = %d -> 0x%x\n", h, null_out ? ", NULL" : "", got, nd);
    CHECK_RC(exp, got, "smmu_domain_alloc(smmu=0x%x, out=%s) [pages in use %" PRIu64 " of %" PRIu64 "]", h,
             null_out ? "NULL" : "&d", ri ? ri->pages_in_use : 0, ri ? ri->pool_pages : 0);
    cov(C_DOMAIN_ALLOC, got);
    if (got != 0) {
        if (nd != 0xA5A5A5A5u)
            diverge("smmu_domain_alloc failed with %d but wrote *out (0x%x)", got, nd);
        return got;
    }
    if (nd == 0 || ref_domain_of(ri, nd) || nd == h)
        diverge("smmu_domain_alloc(0x%x) returned 0x%x: zero, the instance's handle, or a live domain", h, nd);
    /* smmu.h: "smmu_domain_t: [31:30] 2 | [29:20] instance slot | [19:8] domain slot | [7:0] generation" */
    if ((nd >> 30) != 2 || ((nd >> 20) & 0x3FFu) != (h & 0x3FFu))
        diverge("smmu_domain_alloc(0x%x) returned 0x%x: kind %u (smmu.h: 2), instance slot 0x%x (smmu.h: the "
                "instance's, 0x%x)", h, nd, nd >> 30, (nd >> 20) & 0x3FFu, h & 0x3FFu);
    if (ref_is_dead_domain(ri, nd))
        diverge("smmu_domain_alloc(0x%x) returned 0x%x, a handle freed before (a freed handle must stay stale)", h, nd);
    if (!OPT.skip_cross_instance)
        for (i = 0; i < MAX_INST; i++)
            if (W.inst[i] && W.inst[i] != ri && ref_domain_of(W.inst[i], nd))
                diverge("smmu_domain_alloc(0x%x) returned 0x%x, which is also a live domain of instance 0x%x: the other "
                        "instance accepts it (smmu.h: one instance's domain handles are rejected by another). "
                        "Known bug (10-bit salt); SMMU_REF_SKIP_CROSS_INSTANCE=1 skips this check",
                        h, nd, W.inst[i]->handle);
    ref_domain_alloc_commit(ri, nd);
    c_check_pages(ri, "smmu_domain_alloc");
    if (out)
        *out = nd;
    return got;
}

static void c_domain_free(uint32_t h, uint32_t d)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_domain_free(ri, d), got;
    W.calls++;
    got = smmu_domain_free(h, d);
    TRACE("smmu_domain_free(0x%x, 0x%x) = %d\n", h, d, got);
    CHECK_RC(exp, got, "smmu_domain_free(smmu=0x%x, d=0x%x)", h, d);
    cov(C_DOMAIN_FREE, got);
    if (ri)
        c_check_pages(ri, "smmu_domain_free");
}

static void c_set_attr(uint32_t h, uint32_t d, uint32_t attr, int null_data, const void *data, size_t size)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_set_attr(ri, d, attr, null_data ? NULL : data, size), got;
    W.calls++;
    got = smmu_domain_set_attr(h, d, attr, null_data ? NULL : data, size);
    TRACE("smmu_domain_set_attr(0x%x, 0x%x, %u, %s, %zu) = %d\n", h, d, attr, null_data ? "NULL" : "&v", size, got);
    CHECK_RC(exp, got, "smmu_domain_set_attr(smmu=0x%x, d=0x%x, attr=%u, data=%s [0x%08x], size=%zu)", h, d, attr,
             null_data ? "NULL" : "&v", null_data ? 0u : *(const uint32_t *)data, size);
    cov(C_SET_ATTR, got);
}

static void learn_root(ref_inst *ri, ref_domain *dom, uint64_t pa, const char *what)
{
    const char *why = NULL;
    if (ref_learn_root(ri, dom, pa, &why) != 0)
        fail_learn(what, why, pa);
}

static void c_get_attr(uint32_t h, uint32_t d, uint32_t attr, int null_data, size_t size)
{
    ref_inst *ri = inst_of(h);
    unsigned char buf[16];
    uint64_t val = 0, v = 0;
    int root_unknown = 0;
    int32_t exp = ref_get_attr(ri, d, attr, null_data, size, &val, &root_unknown), got;
    size_t i, written;
    memset(buf, 0xA5, sizeof buf);
    W.calls++;
    got = smmu_domain_get_attr(h, d, attr, null_data ? NULL : buf, size);
    TRACE("smmu_domain_get_attr(0x%x, 0x%x, %u, %s, %zu) = %d\n", h, d, attr, null_data ? "NULL" : "buf", size, got);
    CHECK_RC(exp, got, "smmu_domain_get_attr(smmu=0x%x, d=0x%x, attr=%u, data=%s, size=%zu)", h, d, attr,
             null_data ? "NULL" : "buf", size);
    cov(C_GET_ATTR, got);
    written = got == 0 ? size : 0;
    for (i = written; i < sizeof buf; i++)
        if (buf[i] != 0xA5)
            diverge("smmu_domain_get_attr(0x%x, 0x%x, attr %u, size %zu) = %d wrote byte %zu beyond what it returns",
                    h, d, attr, size, got, i);
    if (got != 0)
        return;
    if (size == 4) {
        uint32_t v32;
        memcpy(&v32, buf, 4);
        v = v32;
    } else {
        memcpy(&v, buf, 8);
    }
    if (attr == SMMU_ATTR_TTBR0 && root_unknown) {
        if ((v >> 48) != (val >> 48))
            diverge("smmu_domain_get_attr(0x%x, 0x%x, TTBR0) = 0x%016" PRIx64 ": ASID field %" PRIu64 ", expected %" PRIu64,
                    h, d, v, v >> 48, val >> 48);
        learn_root(ri, ref_domain_of(ri, d), v & ADDR48, "TTBR0 attribute");
        return;
    }
    if (v != val)
        diverge("smmu_domain_get_attr(smmu=0x%x, d=0x%x, attr=%u, size=%zu) = 0x%" PRIx64 ", expected 0x%" PRIx64, h, d,
                attr, size, v, val);
}

/* The attributes an attached domain must now report (and its root's address, learned). */
static void post_attach_checks(ref_inst *ri, uint32_t d)
{
    c_get_attr(ri->handle, d, SMMU_ATTR_ASID, 0, 4);
    c_get_attr(ri->handle, d, SMMU_ATTR_CONTEXT_BANK, 0, 4);
    c_get_attr(ri->handle, d, SMMU_ATTR_TTBR0, 0, 8);
}

static int32_t c_attach(uint32_t h, uint32_t d, uint32_t sid)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_attach(ri, d, sid), got;
    W.calls++;
    got = smmu_attach_device(h, d, sid);
    TRACE("smmu_attach_device(0x%x, 0x%x, %u) = %d\n", h, d, sid, got);
    CHECK_RC(exp, got, "smmu_attach_device(smmu=0x%x, d=0x%x, stream=%u)", h, d, sid);
    cov(C_ATTACH, got);
    if (got == 0)
        post_attach_checks(ri, d);
    return got;
}

static int32_t c_detach(uint32_t h, uint32_t d, uint32_t sid)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_detach(ri, d, sid), got;
    W.calls++;
    got = smmu_detach_device(h, d, sid);
    TRACE("smmu_detach_device(0x%x, 0x%x, %u) = %d\n", h, d, sid, got);
    CHECK_RC(exp, got, "smmu_detach_device(smmu=0x%x, d=0x%x, stream=%u)", h, d, sid);
    cov(C_DETACH, got);
    return got;
}

static void c_switch(uint32_t h, uint32_t d)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_switch(ri, d), got;
    W.calls++;
    got = smmu_switch_domain(h, d);
    TRACE("smmu_switch_domain(0x%x, 0x%x) = %d\n", h, d, got);
    CHECK_RC(exp, got, "smmu_switch_domain(smmu=0x%x, d=0x%x)", h, d);
    cov(C_SWITCH_DOMAIN, got);
}

static int32_t handler_a(smmu_t smmu, smmu_domain_t base, const smmu_fault *f, void *cookie);
static int32_t handler_b(smmu_t smmu, smmu_domain_t base, const smmu_fault *f, void *cookie);

static void c_set_fault_handler(uint32_t h, uint32_t d, smmu_fault_handler fn, void *cookie)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_set_fault_handler(ri, d, fn, cookie), got;
    W.calls++;
    got = smmu_set_fault_handler(h, d, fn, cookie);
    TRACE("smmu_set_fault_handler(0x%x, 0x%x, %s, %p) = %d\n", h, d, fn == handler_a ? "A" : fn ? "B" : "NULL", cookie, got);
    CHECK_RC(exp, got, "smmu_set_fault_handler(smmu=0x%x, d=0x%x, fn=%s, cookie=%p)", h, d,
             fn == handler_a ? "A" : fn ? "B" : "NULL", cookie);
    cov(C_SET_FAULT_HANDLER, got);
}

/* ---- checked calls: tables ---------------------------------------------------------------------------- */

/* Reads the descriptors along iova's walk in d's tables and compares them with the reference; learns
 * the addresses of the tables on the way. Needs the root's address. */
static void c_check_path(ref_inst *ri, ref_domain *dom, uint64_t iova)
{
    ref_node *n = dom->root;
    int level;
    if (!n->pa_known || iova >= ri->in_limit)
        return;
    for (level = ri->start_level;; level++) {
        int idx = (int)((iova >> (REF_PAGE_SHIFT + 9 * (REF_LAST_LEVEL - level))) & (REF_ENTRIES - 1));
        uint64_t pa = n->pa + (uint64_t)idx * 8, v = CANARY;
        int32_t rc;
        W.calls++;
        rc = smmu_phys_read64(ri->handle, pa, &v);
        CHECK_RC(0, rc, "smmu_phys_read64(smmu=0x%x, pa=0x%" PRIx64 ") of a table descriptor", ri->handle, pa);
        if (REF_CHILD(n, idx)) {
            const char *why = NULL;
            if ((v & REF_PTE_TYPE_MASK) != REF_PTE_TABLE || (v & ~(REF_ADDR_MASK | REF_PTE_TYPE_MASK)) != 0)
                diverge("domain 0x%x, iova 0x%" PRIx64 ": level %d descriptor at 0x%" PRIx64 " is 0x%016" PRIx64
                        ", expected a table descriptor", dom->handle, iova, level, pa, v);
            if (ref_learn_child(ri, n, idx, v & REF_ADDR_MASK, &why) != 0)
                fail_learn("table descriptor", why, v & REF_ADDR_MASK);
            n = REF_CHILD(n, idx);
            continue;
        }
        if (v != n->desc[idx])
            diverge("domain 0x%x, iova 0x%" PRIx64 ": level %d descriptor at 0x%" PRIx64 " is 0x%016" PRIx64
                    ", the reference says 0x%016" PRIx64, dom->handle, iova, level, pa, v, n->desc[idx]);
        return;
    }
}

/* Every word of every table of dom, compared; child addresses learned. */
static void check_table(ref_inst *ri, ref_domain *dom, ref_node *n)
{
    int i;
    for (i = 0; i < REF_ENTRIES; i++) {
        uint64_t pa = n->pa + (uint64_t)i * 8, v = CANARY;
        int32_t rc;
        W.calls++;
        rc = smmu_phys_read64(ri->handle, pa, &v);
        CHECK_RC(0, rc, "smmu_phys_read64(smmu=0x%x, pa=0x%" PRIx64 ")", ri->handle, pa);
        if (REF_CHILD(n, i)) {
            const char *why = NULL;
            if ((v & REF_PTE_TYPE_MASK) != REF_PTE_TABLE || (v & ~(REF_ADDR_MASK | REF_PTE_TYPE_MASK)) != 0)
                diverge("domain 0x%x: level %d table at 0x%" PRIx64 " slot %d is 0x%016" PRIx64 ", expected a table descriptor",
                        dom->handle, n->level, n->pa, i, v);
            if (ref_learn_child(ri, n, i, v & REF_ADDR_MASK, &why) != 0)
                fail_learn("table descriptor", why, v & REF_ADDR_MASK);
            check_table(ri, dom, REF_CHILD(n, i));
        } else if (v != n->desc[i]) {
            diverge("domain 0x%x: level %d table at 0x%" PRIx64 " (IOVA 0x%" PRIx64 ") slot %d is 0x%016" PRIx64
                    ", the reference says 0x%016" PRIx64, dom->handle, n->level, n->pa, n->va, i, v, n->desc[i]);
        }
    }
}

/* All tables of all domains whose root is known; with every root known, the distinct table pages
 * must be exactly the pages in use (no page leaked, none shared), and free pages must read 0. */
static void c_check_tables(ref_inst *ri, int scan_free)
{
    int i, all_known = 1;
    uint64_t tables = 0;
    for (i = 0; i < ri->ndoms; i++) {
        ref_domain *dom = ri->doms[i];
        tables += dom->tables;
        if (dom->root->pa_known)
            check_table(ri, dom, dom->root);
        else
            all_known = 0;
    }
    if (tables != ri->pages_in_use)
        diverge("reference self-check: its domains hold %" PRIu64 " tables but it counts %" PRIu64 " pages in use", tables,
                ri->pages_in_use);
    c_check_pages(ri, "a table walk");
    if (all_known && ri->known_pages != ri->pages_in_use)
        diverge("instance 0x%x: %" PRIu64 " distinct table pages reachable from the roots, %" PRIu64 " pages in use "
                "(a leaked or shared page)", ri->handle, ri->known_pages, ri->pages_in_use);
    if (all_known && scan_free) {
        uint64_t page, w;
        for (page = 0; page < ri->pool_pages; page++) {
            if (ri->page_owner[page])
                continue;
            for (w = 0; w < REF_PAGE; w += 8) {
                uint64_t pa = ri->cfg.pt_pool_base + (page << REF_PAGE_SHIFT) + w, v = CANARY;
                W.calls++;
                CHECK_RC(0, smmu_phys_read64(ri->handle, pa, &v), "smmu_phys_read64(0x%x, 0x%" PRIx64 ")", ri->handle, pa);
                if (v != 0)
                    diverge("instance 0x%x: free pool page at 0x%" PRIx64 " holds 0x%016" PRIx64 " at +0x%" PRIx64
                            " (free pages must be zero)", ri->handle, pa - w, v, w);
            }
        }
    }
}

static const char *prot_str(uint32_t prot)
{
    static char buf[4][64];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, 64, "0x%x%s%s%s%s%s%s", prot, prot & SMMU_PROT_READ ? " R" : "", prot & SMMU_PROT_WRITE ? " W" : "",
             prot & SMMU_PROT_CACHE ? " CACHE" : "", prot & SMMU_PROT_NOEXEC ? " NOEXEC" : "",
             prot & SMMU_PROT_MMIO ? " MMIO" : "", prot & SMMU_PROT_PRIV ? " PRIV" : "");
    return b;
}

static int32_t c_map(uint32_t h, uint32_t d, uint64_t iova, uint64_t pa, uint64_t size, uint32_t prot)
{
    ref_inst *ri = inst_of(h);
    uint64_t before = ri ? ri->pages_in_use : 0;
    int32_t exp = ref_map(ri, d, iova, pa, size, prot), got;
    W.calls++;
    got = smmu_map(h, d, iova, pa, size, prot);
    TRACE("smmu_map(0x%x, 0x%x, 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ", %s) = %d\n", h, d, iova, pa, size, prot_str(prot), got);
    CHECK_RC(exp, got, "smmu_map(smmu=0x%x, d=0x%x, iova=0x%" PRIx64 ", pa=0x%" PRIx64 ", size=0x%" PRIx64 ", prot=%s) "
             "[pages in use before %" PRIu64 " of %" PRIu64 "]", h, d, iova, pa, size, prot_str(prot), before,
             ri ? ri->pool_pages : 0);
    cov(C_MAP, got);
    if (ri) {
        ref_domain *dom = ref_domain_of(ri, d);
        c_check_pages(ri, "smmu_map");
        if (dom && got == 0) {
            c_check_path(ri, dom, iova);
            c_check_path(ri, dom, iova + size - PAGE);
        }
    }
    return got;
}

static int64_t c_unmap(uint32_t h, uint32_t d, uint64_t iova, uint64_t size)
{
    ref_inst *ri = inst_of(h);
    uint64_t before = ri ? ri->pages_in_use : 0;
    int64_t exp = ref_unmap(ri, d, iova, size), got;
    W.calls++;
    got = smmu_unmap(h, d, iova, size);
    TRACE("smmu_unmap(0x%x, 0x%x, 0x%" PRIx64 ", 0x%" PRIx64 ") = %" PRId64 "\n", h, d, iova, size, got);
    CHECK_RC(exp, got, "smmu_unmap(smmu=0x%x, d=0x%x, iova=0x%" PRIx64 ", size=0x%" PRIx64 ") [pages in use before %"
             PRIu64 " of %" PRIu64 "]", h, d, iova, size, before, ri ? ri->pool_pages : 0);
    cov(C_UNMAP, got);
    if (ri) {
        ref_domain *dom = ref_domain_of(ri, d);
        c_check_pages(ri, "smmu_unmap");
        if (dom && got > 0 && iova > 0) {
            c_check_path(ri, dom, iova - PAGE);
            if (iova + size < ri->in_limit)
                c_check_path(ri, dom, iova + size);
        }
    }
    return got;
}

/* smmu_map_pages: out_mapped is 0 on every failure but NULL out_mapped (EINVAL), pgsize * pgcount on success. */
static int32_t c_map_pages(uint32_t h, uint32_t d, uint64_t iova, uint64_t pa, uint64_t pgsize, uint64_t pgcount,
                           uint32_t prot, int null_out)
{
    ref_inst *ri = inst_of(h);
    uint64_t before = ri ? ri->pages_in_use : 0, mapped = CANARY;
    int32_t exp = null_out ? SMMU_EINVAL : ref_map_pages(ri, d, iova, pa, pgsize, pgcount, prot), got;
    W.calls++;
    got = smmu_map_pages(h, d, iova, pa, pgsize, pgcount, prot, null_out ? NULL : &mapped);
    TRACE("smmu_map_pages(0x%x, 0x%x, 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 " x 0x%" PRIx64 ", %s%s) = %d -> 0x%" PRIx64
          "\n", h, d, iova, pa, pgsize, pgcount, prot_str(prot), null_out ? ", NULL" : "", got, mapped);
    CHECK_RC(exp, got, "smmu_map_pages(smmu=0x%x, d=0x%x, iova=0x%" PRIx64 ", pa=0x%" PRIx64 ", pgsize=0x%" PRIx64
             ", pgcount=0x%" PRIx64 ", prot=%s, out=%s) [pages in use before %" PRIu64 " of %" PRIu64 "]", h, d, iova, pa,
             pgsize, pgcount, prot_str(prot), null_out ? "NULL" : "&mapped", before, ri ? ri->pool_pages : 0);
    cov(C_MAP_PAGES, got);
    if (!null_out && mapped != (got == 0 ? pgsize * pgcount : 0))
        diverge("smmu_map_pages(smmu=0x%x, d=0x%x, pgsize=0x%" PRIx64 ", pgcount=0x%" PRIx64 ") = %d: *out_mapped 0x%" PRIx64
                ", expected 0x%" PRIx64, h, d, pgsize, pgcount, got, mapped, got == 0 ? pgsize * pgcount : 0);
    if (ri) {
        ref_domain *dom = ref_domain_of(ri, d);
        c_check_pages(ri, "smmu_map_pages");
        if (dom && got == 0) {
            c_check_path(ri, dom, iova);
            c_check_path(ri, dom, iova + pgsize * pgcount - PAGE);
        }
    }
    return got;
}

/* smmu_unmap_pages with g NULL: "exactly as smmu_unmap". */
static int64_t c_unmap_pages(uint32_t h, uint32_t d, uint64_t iova, uint64_t pgsize, uint64_t pgcount)
{
    ref_inst *ri = inst_of(h);
    uint64_t before = ri ? ri->pages_in_use : 0;
    int64_t exp = ref_unmap_pages(ri, d, iova, pgsize, pgcount), got;
    W.calls++;
    got = smmu_unmap_pages(h, d, iova, pgsize, pgcount, NULL);
    TRACE("smmu_unmap_pages(0x%x, 0x%x, 0x%" PRIx64 ", 0x%" PRIx64 " x 0x%" PRIx64 ", NULL) = %" PRId64 "\n", h, d, iova,
          pgsize, pgcount, got);
    CHECK_RC(exp, got, "smmu_unmap_pages(smmu=0x%x, d=0x%x, iova=0x%" PRIx64 ", pgsize=0x%" PRIx64 ", pgcount=0x%" PRIx64
             ", g=NULL) [pages in use before %" PRIu64 " of %" PRIu64 "]", h, d, iova, pgsize, pgcount, before,
             ri ? ri->pool_pages : 0);
    cov(C_UNMAP_PAGES, got);
    if (ri) {
        ref_domain *dom = ref_domain_of(ri, d);
        c_check_pages(ri, "smmu_unmap_pages");
        if (dom && got > 0 && iova > 0) {
            c_check_path(ri, dom, iova - PAGE);
            c_check_path(ri, dom, iova + pgsize * pgcount);   /* nothing when that is 2^ias */
        }
    }
    return got;
}

static void c_iova_to_phys(uint32_t h, uint32_t d, uint64_t iova, int null_out)
{
    ref_inst *ri = inst_of(h);
    uint64_t exp_pa = 0, pa = CANARY;
    int32_t exp = ref_iova_to_phys(ri, d, iova, null_out, &exp_pa), got;
    W.calls++;
    got = smmu_iova_to_phys(h, d, iova, null_out ? NULL : &pa);
    TRACE("smmu_iova_to_phys(0x%x, 0x%x, 0x%" PRIx64 "%s) = %d -> 0x%" PRIx64 "\n", h, d, iova, null_out ? ", NULL" : "", got, pa);
    CHECK_RC(exp, got, "smmu_iova_to_phys(smmu=0x%x, d=0x%x, iova=0x%" PRIx64 ", out=%s)", h, d, iova,
             null_out ? "NULL" : "&pa");
    cov(C_IOVA_TO_PHYS, got);
    if (got == 0 && pa != exp_pa)
        diverge("smmu_iova_to_phys(smmu=0x%x, d=0x%x, iova=0x%" PRIx64 ") = 0x%" PRIx64 ", expected 0x%" PRIx64, h, d, iova,
                pa, exp_pa);
    if (got != 0 && pa != CANARY)
        diverge("smmu_iova_to_phys failed with %d but wrote *out_pa (0x%" PRIx64 ")", got, pa);
}

static void c_phys_read64(uint32_t h, uint64_t pa, int null_out)
{
    ref_inst *ri = inst_of(h);
    uint64_t exp_v = 0, v = CANARY;
    int known = 0;
    int32_t exp = ref_phys_read64(ri, pa, null_out, &exp_v, &known), got;
    W.calls++;
    got = smmu_phys_read64(h, pa, null_out ? NULL : &v);
    TRACE("smmu_phys_read64(0x%x, 0x%" PRIx64 "%s) = %d -> 0x%" PRIx64 "\n", h, pa, null_out ? ", NULL" : "", got, v);
    CHECK_RC(exp, got, "smmu_phys_read64(smmu=0x%x, pa=0x%" PRIx64 ", out=%s)", h, pa, null_out ? "NULL" : "&v");
    cov(C_PHYS_READ64, got);
    if (got == 0 && known && v != exp_v)
        diverge("smmu_phys_read64(smmu=0x%x, pa=0x%" PRIx64 ") = 0x%016" PRIx64 ", the reference says 0x%016" PRIx64, h, pa,
                v, exp_v);
    if (got != 0 && v != CANARY)
        diverge("smmu_phys_read64 failed with %d but wrote *out", got);
}

/* Returns 1 when the call was made (the reference could predict it) and succeeded, 0 otherwise. */
static int c_phys_write64(uint32_t h, uint64_t pa, uint64_t value)
{
    ref_inst *ri = inst_of(h);
    int known = 1;
    int32_t exp, got;
    /* the reference changes only what it can predict, so asking first is safe */
    exp = ref_phys_write64(ri, pa, value, &known);
    if (!known)
        return 0;
    W.calls++;
    got = smmu_phys_write64(h, pa, value);
    TRACE("smmu_phys_write64(0x%x, 0x%" PRIx64 ", 0x%016" PRIx64 ") = %d\n", h, pa, value, got);
    CHECK_RC(exp, got, "smmu_phys_write64(smmu=0x%x, pa=0x%" PRIx64 ", value=0x%016" PRIx64 ")", h, pa, value);
    cov(C_PHYS_WRITE64, got);
    return got == 0;
}

/* ---- checked calls: TLB, faults, banks ----------------------------------------------------------------- */

static void c_tlb_inv(uint32_t h, int kind, uint32_t asid, uint64_t iova, uint64_t size)
{
    ref_inst *ri = inst_of(h);
    int32_t exp, got;
    W.calls++;
    switch (kind) {
    case 0:
        exp = ref_tlb_inv_all(ri);
        got = smmu_tlb_inv_all(h);
        break;
    case 1:
        exp = ref_tlb_inv_asid(ri, asid);
        got = smmu_tlb_inv_asid(h, asid);
        break;
    case 2:
        exp = ref_tlb_inv_va(ri, asid, iova, size);
        got = smmu_tlb_inv_va(h, asid, iova, size);
        break;
    default:
        exp = ref_tlb_inv_va_all(ri, iova, size);
        got = smmu_tlb_inv_va_all(h, iova, size);
        break;
    }
    TRACE("smmu_tlb_inv_%s(0x%x, asid %u, 0x%" PRIx64 ", 0x%" PRIx64 ") = %d\n",
          kind == 0 ? "all" : kind == 1 ? "asid" : kind == 2 ? "va" : "va_all", h, asid, iova, size, got);
    CHECK_RC(exp, got, "smmu_tlb_inv_%s(smmu=0x%x, asid=%u, iova=0x%" PRIx64 ", size=0x%" PRIx64 ")",
             kind == 0 ? "all" : kind == 1 ? "asid" : kind == 2 ? "va" : "va_all", h, asid, iova, size);
    cov(C_TLB_INV, got);
}

/* ABI 1.1: smmu_tlb_inv_vmid (kind 0) and smmu_tlb_inv_ipa (kind 1): argument checks and counting
 * (no stage 2 in use here, so they remove nothing a translation could see) */
static void c_tlb_inv_vmid(uint32_t h, int kind, uint32_t vmid, uint64_t ipa, uint64_t size)
{
    ref_inst *ri = inst_of(h);
    int32_t exp, got;
    W.calls++;
    if (kind == 0) {
        exp = ref_tlb_inv_vmid(ri, vmid);
        got = smmu_tlb_inv_vmid(h, vmid);
    } else {
        exp = ref_tlb_inv_ipa(ri, vmid, ipa, size);
        got = smmu_tlb_inv_ipa(h, vmid, ipa, size);
    }
    TRACE("smmu_tlb_inv_%s(0x%x, vmid %u, 0x%" PRIx64 ", 0x%" PRIx64 ") = %d\n", kind == 0 ? "vmid" : "ipa", h, vmid, ipa,
          size, got);
    CHECK_RC(exp, got, "smmu_tlb_inv_%s(smmu=0x%x, vmid=%u, ipa=0x%" PRIx64 ", size=0x%" PRIx64 ")",
             kind == 0 ? "vmid" : "ipa", h, vmid, ipa, size);
    cov(C_TLB_INV_VMID, got);
}

static int same_fault(const smmu_fault *a, const smmu_fault *b)
{
    return a->size == b->size && a->type == b->type && a->level == b->level && a->stream_id == b->stream_id
           && a->context_bank == b->context_bank && a->asid == b->asid && a->access == b->access
           && a->active_domain == b->active_domain && a->iova == b->iova && a->fsr == b->fsr && a->fsynr == b->fsynr
           && (a->size == REF_FAULT_SIZE_1_0 || (a->stage == b->stage && a->s1ptw == b->s1ptw && a->ipa == b->ipa));
}

#define FAULT_FMT "{size %u type %u level %u stream %u cb %u asid %u access 0x%x active 0x%x iova 0x%" PRIx64 \
    " fsr 0x%x fsynr 0x%x stage %u s1ptw %u ipa 0x%" PRIx64 "}"
#define FAULT_ARGS(f) (f)->size, (f)->type, (f)->level, (f)->stream_id, (f)->context_bank, (f)->asid, (f)->access, \
    (f)->active_domain, (f)->iova, (f)->fsr, (f)->fsynr, (f)->stage, (f)->s1ptw, (f)->ipa

static void c_get_fault(uint32_t h, uint32_t cb, int null_out, uint32_t size)
{
    ref_inst *ri = inst_of(h);
    smmu_fault ef, f;
    int32_t exp = ref_get_fault(ri, cb, null_out, size, &ef), got;
    size_t i;
    memset(&f, 0xA5, sizeof f);
    f.size = size;
    W.calls++;
    got = smmu_get_fault(h, cb, null_out ? NULL : &f);
    TRACE("smmu_get_fault(0x%x, %u, size %u%s) = %d\n", h, cb, size, null_out ? ", NULL" : "", got);
    CHECK_RC(exp, got, "smmu_get_fault(smmu=0x%x, cb=%u, out=%s, out->size=%u)", h, cb, null_out ? "NULL" : "&f", size);
    cov(C_GET_FAULT, got);
    if (got == 0 && !same_fault(&f, &ef))
        diverge("smmu_get_fault(0x%x, cb %u) = " FAULT_FMT "\n  expected " FAULT_FMT, h, cb, FAULT_ARGS(&f), FAULT_ARGS(&ef));
    if (got != 0 && !null_out)
        for (i = 4; i < sizeof f; i++)
            if (((unsigned char *)&f)[i] != 0xA5)
                diverge("smmu_get_fault(0x%x, cb %u) failed with %d but wrote its output", h, cb, got);
    if (got == 0)
        for (i = size; i < sizeof f; i++)   /* an ABI 1.0 size: only that prefix is written */
            if (((unsigned char *)&f)[i] != 0xA5)
                diverge("smmu_get_fault(0x%x, cb %u, size %u) wrote byte %zu, beyond the size asked", h, cb, size, i);
}

static void c_clear_fault(uint32_t h, uint32_t cb)
{
    ref_inst *ri = inst_of(h);
    int32_t exp = ref_clear_fault(ri, cb), got;
    W.calls++;
    got = smmu_clear_fault(h, cb);
    TRACE("smmu_clear_fault(0x%x, %u) = %d\n", h, cb, got);
    CHECK_RC(exp, got, "smmu_clear_fault(smmu=0x%x, cb=%u)", h, cb);
    cov(C_CLEAR_FAULT, got);
}

static void c_get_context_bank(uint32_t h, uint32_t cb, int null_out, uint32_t size)
{
    ref_inst *ri = inst_of(h);
    smmu_cb_state es, s;
    int root_unknown = 0;
    int32_t exp = ref_get_context_bank(ri, cb, null_out, size, &es, &root_unknown), got;
    size_t i;
    memset(&s, 0xA5, sizeof s);
    s.size = size;
    W.calls++;
    got = smmu_get_context_bank(h, cb, null_out ? NULL : &s);
    TRACE("smmu_get_context_bank(0x%x, %u, size %u%s) = %d\n", h, cb, size, null_out ? ", NULL" : "", got);
    CHECK_RC(exp, got, "smmu_get_context_bank(smmu=0x%x, cb=%u, out=%s, out->size=%u)", h, cb, null_out ? "NULL" : "&s",
             size);
    cov(C_GET_CONTEXT_BANK, got);
    if (got != 0) {
        if (!null_out)
            for (i = 4; i < sizeof s; i++)
                if (((unsigned char *)&s)[i] != 0xA5)
                    diverge("smmu_get_context_bank(0x%x, cb %u) failed with %d but wrote its output", h, cb, got);
        return;
    }
    if (root_unknown && es.in_use && (s.ttbr0 >> 48) == (es.ttbr0 >> 48)) {
        learn_root(ri, ri->banks[cb].active, s.ttbr0 & ADDR48, "context bank TTBR0");
        es.ttbr0 = s.ttbr0;
    }
    if (size == REF_CB_STATE_SIZE_1_0) {
        /* "a caller passing that size gets the prefix": the ABI 1.1 fields stay as they were */
        for (i = REF_CB_STATE_SIZE_1_0; i < sizeof s; i++)
            if (((unsigned char *)&s)[i] != 0xA5)
                diverge("smmu_get_context_bank(0x%x, cb %u, size %u) wrote byte %zu, beyond the size asked", h, cb, size, i);
    } else if (s.ttbr1 != es.ttbr1 || s.vttbr != es.vttbr || s.ipafar != es.ipafar || s.vmid != es.vmid
               || s.flags != es.flags || s.granule != es.granule || s.reserved != 0) {
        diverge("smmu_get_context_bank(0x%x, cb %u): ttbr1 0x%" PRIx64 " vttbr 0x%" PRIx64 " ipafar 0x%" PRIx64
                " vmid %u flags 0x%x granule %u reserved %u\n  expected ttbr1 0x%" PRIx64 " vttbr 0x%" PRIx64 " ipafar 0x%"
                PRIx64 " vmid %u flags 0x%x granule %u reserved 0", h, cb, s.ttbr1, s.vttbr, s.ipafar, s.vmid, s.flags,
                s.granule, s.reserved, es.ttbr1, es.vttbr, es.ipafar, es.vmid, es.flags, es.granule);
    }
    if (s.size != es.size || s.in_use != es.in_use || s.base_domain != es.base_domain || s.active_domain != es.active_domain
        || s.asid != es.asid || s.contextidr != es.contextidr || s.stream_count != es.stream_count
        || s.dynamic_count != es.dynamic_count || s.ttbr0 != es.ttbr0 || s.fsr != es.fsr || s.fsynr0 != es.fsynr0
        || s.far != es.far)
        diverge("smmu_get_context_bank(0x%x, cb %u) = {in_use %u base 0x%x active 0x%x asid %u contextidr 0x%x streams %u "
                "dynamic %u ttbr0 0x%" PRIx64 " fsr 0x%x fsynr0 0x%x far 0x%" PRIx64 "}\n  expected {in_use %u base 0x%x "
                "active 0x%x asid %u contextidr 0x%x streams %u dynamic %u ttbr0 0x%" PRIx64 " fsr 0x%x fsynr0 0x%x far 0x%"
                PRIx64 "}", h, cb, s.in_use, s.base_domain, s.active_domain, s.asid, s.contextidr, s.stream_count,
                s.dynamic_count, s.ttbr0, s.fsr, s.fsynr0, s.far, es.in_use, es.base_domain, es.active_domain, es.asid,
                es.contextidr, es.stream_count, es.dynamic_count, es.ttbr0, es.fsr, es.fsynr0, es.far);
}

/* ---- translation and the fault handlers ------------------------------------------------------------------ */

static void push_x(ref_xlate *x)
{
    if (W.xdepth == (int)(sizeof W.xstack / sizeof W.xstack[0]))
        abort();
    W.xstack[W.xdepth++] = x;
}

static void pop_x(void)
{
    W.xdepth--;
}

static void c_translate(uint32_t h, uint32_t sid, uint64_t iova, uint32_t access, int null_out)
{
    ref_inst *ri = inst_of(h);
    ref_xlate x;
    uint64_t exp_pa = 0, pa = CANARY;
    int32_t exp, got;
    int started = 0;
    if (null_out) {
        exp = SMMU_EINVAL;
    } else {
        exp = ref_xlate_begin(&x, ri, sid, &iova, &exp_pa, 1, access, 0);
        started = exp == 0;
    }
    if (started)
        push_x(&x);
    W.calls++;
    got = smmu_translate(h, sid, iova, access, null_out ? NULL : &pa);
    if (started) {
        pop_x();
        if (x.expect_handler)
            diverge("smmu_translate(smmu=0x%x, stream=%u, iova=0x%" PRIx64 ", access=0x%x) returned %d without calling "
                    "the fault handler of base domain 0x%x for " FAULT_FMT, h, sid, iova, access, got, x.base_handle,
                    FAULT_ARGS(&x.fault));
        exp = x.rc;
    }
    TRACE("smmu_translate(0x%x, %u, 0x%" PRIx64 ", 0x%x%s) = %d -> 0x%" PRIx64 "\n", h, sid, iova, access,
          null_out ? ", NULL" : "", got, pa);
    CHECK_RC(exp, got, "smmu_translate(smmu=0x%x, stream=%u, iova=0x%" PRIx64 ", access=0x%x, out=%s)", h, sid, iova,
             access, null_out ? "NULL" : "&pa");
    cov(C_TRANSLATE, got);
    if (got == 0 && pa != exp_pa)
        diverge("smmu_translate(smmu=0x%x, stream=%u, iova=0x%" PRIx64 ", access=0x%x) = 0x%" PRIx64 ", expected 0x%" PRIx64,
                h, sid, iova, access, pa, exp_pa);
    if (got != 0 && pa != CANARY)
        diverge("smmu_translate failed with %d but wrote *out_pa (0x%" PRIx64 ")", got, pa);
}

/* null_mask: 1 iovas, 2 pas, 4 done */
static void c_translate_batch(uint32_t h, uint32_t sid, const uint64_t *iovas, size_t count, size_t real, uint32_t access,
                              int null_mask)
{
    ref_inst *ri = inst_of(h);
    ref_xlate x;
    uint64_t exp_pas[MAX_BATCH + 1], pas[MAX_BATCH + 1];
    size_t done = 0xA5A5A5A5u, i, exp_done = 0xA5A5A5A5u;
    int32_t exp, got;
    int started = 0;
    const uint64_t *pi = (null_mask & 1) ? NULL : iovas;
    uint64_t *po = (null_mask & 2) ? NULL : pas;
    size_t *pd = (null_mask & 4) ? NULL : &done;
    for (i = 0; i <= MAX_BATCH; i++)
        pas[i] = exp_pas[i] = CANARY;
    if (!pd || count > INT32_MAX || (count > 0 && (!pi || !po))) {
        exp = SMMU_EINVAL;
    } else {
        exp = ref_xlate_begin(&x, ri, sid, iovas, exp_pas, count, access, 1);
        started = exp == 0;
        if (ri)
            exp_done = 0;   /* written once the handle resolved, also for EINVAL/ENODEV of the stream */
    }
    if (started)
        push_x(&x);
    W.calls++;
    got = smmu_translate_batch(h, sid, pi, po, count, access, pd);
    if (started) {
        pop_x();
        if (x.expect_handler)
            diverge("smmu_translate_batch(smmu=0x%x, stream=%u, count=%zu) returned %d without calling the fault handler "
                    "of base domain 0x%x for " FAULT_FMT, h, sid, count, got, x.base_handle, FAULT_ARGS(&x.fault));
        exp = x.rc;
        exp_done = x.index;
    }
    TRACE("smmu_translate_batch(0x%x, %u, %s, %s, %zu, 0x%x, %s) = %d done %zu\n", h, sid, pi ? "iovas" : "NULL",
          po ? "pas" : "NULL", count, access, pd ? "&done" : "NULL", got, done);
    CHECK_RC(exp, got, "smmu_translate_batch(smmu=0x%x, stream=%u, iovas=%s, pas=%s, count=%zu, access=0x%x, done=%s)", h,
             sid, pi ? "[...]" : "NULL", po ? "[...]" : "NULL", count, access, pd ? "&done" : "NULL");
    cov(C_TRANSLATE_BATCH, got);
    if (pd && done != exp_done)
        diverge("smmu_translate_batch(smmu=0x%x, stream=%u, count=%zu, access=0x%x) = %d: *out_done %zu, expected %zu", h,
                sid, count, access, got, done, exp_done);
    for (i = 0; i < real && i <= MAX_BATCH; i++)
        if (pas[i] != exp_pas[i])
            diverge("smmu_translate_batch(smmu=0x%x, stream=%u, count=%zu, access=0x%x) = %d, done %zu: out_pas[%zu] = 0x%"
                    PRIx64 ", expected 0x%" PRIx64 " (iova 0x%" PRIx64 "; 0x%" PRIx64 " = untouched)", h, sid, count, access,
                    got, done, i, pas[i], exp_pas[i], iovas[i], CANARY);
}

static uint32_t pick_verdict(void)
{
    switch (g8() % 8) {
    case 0:
    case 1:
        return SMMU_FAULT_TERMINATE;
    case 2:
    case 3:
    case 4:
        return SMMU_FAULT_RETRY;
    case 5:
        return 2;
    case 6:
        return (uint32_t)-1;
    default:
        return INT32_MAX;
    }
}

static void op_random(int depth);
static void op_switch(ref_inst *ri);
static void op_detach(ref_inst *ri);
static uint32_t pick_prot(void);

static int32_t handler_actions(ref_inst *ri, const smmu_fault *f)
{
    uint32_t h = ri->handle;
    if (W.nest > MAX_NEST || src_dry())
        return (int32_t)pick_verdict();
    switch (g8() % 12) {
    case 0:
    case 1:
    case 2:
    case 3: {
        /* the classic: map the faulting page and retry */
        uint64_t pa = ((uint64_t)g16() << 12) & (ri->out_limit - 1);
        uint32_t prot = (g8() & 3) ? (SMMU_PROT_READ | SMMU_PROT_WRITE) : pick_prot();
        c_map(h, f->active_domain, f->iova & ~(PAGE - 1), pa, PAGE, prot);
        return SMMU_FAULT_RETRY;
    }
    case 4:
        c_destroy(h);   /* must be EBUSY */
        return (g8() & 1) ? SMMU_FAULT_TERMINATE : SMMU_FAULT_RETRY;
    case 5: {
        uint64_t sz = (g8() & 1) ? PAGE : 2 * MIB;
        c_unmap(h, f->active_domain, f->iova & ~(sz - 1), sz);
        return (int32_t)pick_verdict();
    }
    case 6:
        op_switch(ri);
        return SMMU_FAULT_RETRY;
    case 7:
    case 8: {
        int n = 1 + g8() % 3;
        while (n-- > 0 && !src_dry())
            op_random(1);
        return (int32_t)pick_verdict();
    }
    case 9:
        c_get_fault(h, f->context_bank, 0, sizeof(smmu_fault));
        c_get_context_bank(h, f->context_bank, 0, sizeof(smmu_cb_state));
        c_get_stats(h, 0, sizeof(smmu_stats));
        return (int32_t)pick_verdict();
    case 10:
        op_detach(ri);
        return (int32_t)pick_verdict();
    default:
        return SMMU_FAULT_RETRY;   /* retry without fixing anything: the retry faults and fails */
    }
}

static int32_t handler_common(smmu_fault_handler self, smmu_t smmu, smmu_domain_t base, const smmu_fault *f, void *cookie)
{
    ref_xlate *x = W.xdepth ? W.xstack[W.xdepth - 1] : NULL;
    ref_inst *ri;
    int32_t verdict;
    W.calls++;
    if (!x || !x->expect_handler)
        diverge("fault handler %s(smmu=0x%x, base=0x%x, fault=" FAULT_FMT ", cookie=%p) called, but the reference expects "
                "no fault to be delivered now", self == handler_a ? "A" : "B", smmu, base, FAULT_ARGS(f), cookie);
    if (x->fn != self || x->cookie != cookie || smmu != x->inst->handle || base != x->base_handle || !f
        || !same_fault(f, &x->fault))
        diverge("fault handler %s(smmu=0x%x, base=0x%x, cookie=%p) got " FAULT_FMT "\n  expected handler %s(smmu=0x%x, "
                "base=0x%x, cookie=%p) with " FAULT_FMT, self == handler_a ? "A" : "B", smmu, base, cookie, FAULT_ARGS(f),
                x->fn == handler_a ? "A" : "B", x->inst->handle, x->base_handle, x->cookie, FAULT_ARGS(&x->fault));
    TRACE("  -> fault handler %s(0x%x, base 0x%x, " FAULT_FMT ")\n", self == handler_a ? "A" : "B", smmu, base, FAULT_ARGS(f));
    ri = x->inst;
    cov(C_FAULT_HANDLER, 0);
    x->expect_handler = 0;
    ri->handler_depth++;
    W.nest++;
    verdict = handler_actions(ri, f);
    W.nest--;
    ri->handler_depth--;
    TRACE("  <- fault handler returns %d\n", verdict);
    if (verdict == SMMU_FAULT_RETRY)
        cov(C_FAULT_HANDLER, 41);
    ref_xlate_handler_returned(x, verdict);
    return verdict;
}

static int32_t handler_a(smmu_t smmu, smmu_domain_t base, const smmu_fault *f, void *cookie)
{
    return handler_common(handler_a, smmu, base, f, cookie);
}

static int32_t handler_b(smmu_t smmu, smmu_domain_t base, const smmu_fault *f, void *cookie)
{
    return handler_common(handler_b, smmu, base, f, cookie);
}

/* ---- pickers ---------------------------------------------------------------------------------------------- */

static uint32_t pick_inst_handle_any(void);

/* An instance handle: mostly a live one, sometimes a bad one of every kind. */
static uint32_t pick_inst_handle(void)
{
    uint32_t h = pick_inst_handle_any();
    /* the inline path serves 0xffffffff from the view of a destroyed instance in slot 1023:
     * repro/view_handle_ffffffff.c */
    return OPT.skip_handle_ffffffff && h == 0xffffffffu ? 0xfffffffeu : h;
}

static uint32_t pick_inst_handle_any(void)
{
    uint8_t b = g8();
    ref_inst *ri;
    if (b < 244 && (ri = pick_live()))
        return ri->handle;
    switch (b % 7) {
    case 0:
        return 0;
    case 1:
        return g32();
    case 2:
        return W.ndead_inst ? W.dead_inst[g8() % W.ndead_inst] : 0xdeadbeef;
    case 3: /* a domain handle as an instance */
        ri = pick_live();
        return ri && ri->ndoms ? ri->doms[g8() % ri->ndoms]->handle : 0x80000001u;
    case 4:
        /* another generation (bits 29:10), or slot (9:0), or kind (31:30) */
        ri = pick_live();
        return ri ? ri->handle ^ (1u << (g8() % 32)) : 0x40001001u;
    case 5:
        ri = pick_live();
        return ri ? ri->handle + 1 + g8() % 8 : 0x40001000u;
    default:
        return 0xffffffffu;
    }
}

/* A domain handle for ri: mostly a live one, sometimes a bad one of every kind. */
static uint32_t pick_domain(ref_inst *ri)
{
    uint8_t b = g8();
    ref_inst *o;
    if (b < 232 && ri && ri->ndoms) {
        /* half the time, prefer a domain with mappings or attached: empty ones are many (op_fill) */
        ref_domain *d = ri->doms[g16() % ri->ndoms];
        int tries = (b & 1) ? 4 : 0;
        while (tries-- > 0 && d->root->valid == 0 && d->cb < 0)
            d = ri->doms[g16() % ri->ndoms];
        return d->handle;
    }
    switch (b % 9) {
    case 0:
        return 0;
    case 1:
        return g32();
    case 2:
        return ri && ri->ndead ? ri->dead[g8() % ri->ndead] : 0x80000000u;
    case 3: /* another live instance's domain */
        o = pick_live();
        return o && o->ndoms ? o->doms[g16() % o->ndoms]->handle : 0x80100000u;
    case 4:
        return W.ndead_inst_dom ? W.dead_inst_dom[g8() % W.ndead_inst_dom] : 0x80200000u;
    case 5:
        return ri ? ri->handle : 0x40001000u;   /* the instance handle as a domain */
    case 6:
        /* another generation (bits 7:0), domain slot (19:8), instance slot (29:20) or kind (31:30) */
        return ri && ri->ndoms ? ri->doms[g16() % ri->ndoms]->handle ^ (1u << (g8() % 32)) : 0x80300000u;
    case 7:
        return ri && ri->ndoms ? ri->doms[g16() % ri->ndoms]->handle + 1 + g8() % 4 : 0x80000005u;
    default:
        return 0xffffffffu;
    }
}

static ref_domain *pick_dom_ref(ref_inst *ri)
{
    return ri && ri->ndoms ? ri->doms[g16() % ri->ndoms] : NULL;
}

static uint32_t pick_sid(ref_inst *ri)
{
    uint8_t b = g8();
    uint32_t n = ri ? ri->cfg.num_stream_ids : 128;
    if (b < 200)
        return (uint32_t)(g8() % (n < 8 ? n : 8));
    switch (b % 4) {
    case 0:
        return n;
    case 1:
        return g32();
    case 2:
        return n - 1;
    default:
        return (uint32_t)(g16() % n);
    }
}

static uint32_t pick_prot(void)
{
    uint8_t b = g8();
    if (b < 128)
        return SMMU_PROT_READ | SMMU_PROT_WRITE | ((b & 1) ? SMMU_PROT_CACHE : 0);
    if (b < 240)
        return (uint32_t)(b & 0x3F) | ((b & 3) ? 0 : SMMU_PROT_READ);
    /* No valid GLOBAL mapping: the reference does not model the TLB, and a global entry matches every
     * ASID, so what another domain's translation hits would depend on the TLB's contents. GLOBAL comes
     * only with an unknown bit (EINVAL). */
    if (b < 244)
        return SMMU_PROT_READ | SMMU_PROT_GLOBAL | (1u << (7 + b % 25));
    return (b & 1) ? (uint32_t)(b & 0x3C) : (SMMU_PROT_READ | (1u << (7 + b % 25)));
}

static uint32_t pick_access(void)
{
    uint8_t b = g8();
    if (b < 128)
        return SMMU_ACCESS_READ;   /* what most mappings grant: translations that succeed */
    if (b < 230) {
        uint32_t a = (uint32_t)(b & 0xF);
        return (a & 7) ? a : a | SMMU_ACCESS_READ;
    }
    switch (b % 4) {
    case 0:
        return 0;
    case 1:
        return SMMU_ACCESS_PRIV;
    case 2:
        return SMMU_ACCESS_READ | 0x10;
    default:
        return 0xffffffffu;
    }
}

static uint64_t window_iova(void)
{
    uint64_t v = ((uint64_t)(g8() % 4) << 30) + ((uint64_t)(g8() % 8) << 21) + ((uint64_t)(g8() % 32) << 12);
    return v;
}

static uint64_t pick_iova(ref_inst *ri, ref_domain *dom)
{
    uint64_t lim = ri ? ri->in_limit : 1ull << 48, iova;
    int level;
    ref_node *n;
    int idx;
    switch (g8() % 17) {
    case 16:
        /* the sign-extended upper half ([63:ias] all ones: TTBR1's, disabled on a bank that is not
         * split): ERANGE for map/unmap/iova_to_phys, a level-0 translation fault */
        return (0ull - lim) | (window_iova() & (lim - 1));
    case 0:
    case 1:
    case 2:
    case 3:
        return window_iova();
    case 4:
    case 5:
    case 6:
    case 7:
        if (dom && ref_sample_leaf(dom, g32(), &iova, &level, &n, &idx)) {
            uint64_t ls = ref_level_size(level);
            return iova + (((uint64_t)g32() << 12) & (ls - 1));
        }
        return window_iova();
    case 8:
        return lim - (uint64_t)(g8() % 4 + 1) * PAGE;
    case 9:
        return lim - ((uint64_t)(g8() % 2 + 1) << 21);
    case 10:
        return lim - GIB;
    case 11:
        return g64() & (lim - 1) & ~(PAGE - 1);
    case 12:
        return lim;
    case 13:
        return g64();
    case 14:
        return window_iova() + (g8() | 1);
    default:
        return (((uint64_t)(g8() % 4) << 39) + window_iova()) & (lim - 1);
    }
}

static uint64_t pick_size(ref_inst *ri, uint64_t iova)
{
    uint64_t lim = ri ? ri->in_limit : 1ull << 48;
    switch (g8() % 16) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
        return (uint64_t)(g8() % 16 + 1) * PAGE;
    case 7:
    case 8:
        return (uint64_t)(g8() % 4 + 1) << 21;
    case 9:
        return (uint64_t)(g8() % 2 + 1) << 30;
    case 10:
        return 0;
    case 11:
        return (uint64_t)(g8() % 16 + 1) * PAGE + (g8() | 1);
    case 12:
        return iova < lim ? lim - iova : PAGE;
    case 13:
        return 1ull << (40 + g8() % 24);
    case 14:
        return 0ull - PAGE;
    default:
        return (uint64_t)(g8() % 16 + 1) * PAGE + 2 * MIB;
    }
}

static uint64_t pick_pa(ref_inst *ri, uint64_t iova, uint64_t size)
{
    uint64_t lim = ri ? ri->out_limit : 1ull << 48, pa;
    int tame = 1;
    switch (g8() % 8) {
    case 0:
    case 1:
    case 2:
        pa = ((uint64_t)(g32() % (1u << 20)) << 12) & (lim - 1);
        break;
    case 3:
        pa = ((uint64_t)g16() << 21) & (lim - 1);
        break;
    case 4:
        pa = ((uint64_t)g8() << 30) & (lim - 1);
        break;
    case 5:
        pa = (((uint64_t)g8() << 30) | (iova & (GIB - 1))) & (lim - 1);
        break;
    case 6:
        pa = size < lim ? (lim - size) & ~(PAGE - 1) : lim - PAGE;
        break;
    default:
        tame = 0;
        switch (g8() % 3) {
        case 0:
            pa = lim;
            break;
        case 1:
            pa = g64();
            break;
        default:
            pa = (((uint64_t)g16() << 12) + 0x800) & (lim - 1);
            break;
        }
        break;
    }
    /* Keep the number of leaves a map writes bounded (hangs are failures too): big ranges share the
     * IOVA's alignment, so they are mapped with blocks. */
    if (tame && size > 8 * MIB)
        pa = (pa & ~(2 * MIB - 1)) | (iova & (2 * MIB - 1));
    if (tame && size > 2 * GIB)
        pa = (pa & ~(GIB - 1)) | (iova & (GIB - 1));
    return pa;
}

/* ---- operations ------------------------------------------------------------------------------------------ */

static void pick_config(smmu_config *c)
{
    uint8_t b;
    smmu_config_init(c);
    b = g8();
    if (b >= 240) {
        /* the defaults; under ASan with a 64-page pool instead of 64 MiB (creating and destroying
         * a 64 MiB pool costs ~65 ms of ASan shadow memory; the soak and tests/native use it) */
        if (!OPT.big_pools)
            c->pt_pool_bytes = 64 * PAGE;
        return;
    }
    c->num_context_banks = 1 + g8() % 8;
    c->num_stream_ids = 1 + g8() % 8;
    c->asid_bits = (g8() & 3) ? 16 : 8;
    switch (g8() % 6) {
    case 0:
        c->ias = 32;
        break;
    case 1:
        c->ias = 39;
        break;
    case 2:
        c->ias = 40;
        break;
    case 3:
        c->ias = 48;
        break;
    default:
        c->ias = 32 + g8() % 17;
        break;
    }
    c->oas = (g8() & 1) ? 48 : 32 + g8() % 17;
    c->tlb_entries = 1u << (g8() % 11);
    c->tlb_ways = 1u << (g8() % 5);
    if (c->tlb_ways > c->tlb_entries)
        c->tlb_ways = c->tlb_entries;
    c->flags = g8() & 0xF;   /* ABI 1.1: SANITIZE_TLB and LAZY_FLUSH too (no gather here: no effect) */
    b = g8();
    if (b < 200)
        c->pt_pool_bytes = (uint64_t)(1 + g8() % 48) * PAGE;
    else if (b < 250)
        c->pt_pool_bytes = (uint64_t)(1 + g16() % (OPT.big_pools ? 16384 : 256)) * PAGE;
    else if (!OPT.big_pools || b < 255)
        c->pt_pool_bytes = (uint64_t)(1 + g16() % 1024) * PAGE;
    else
        c->pt_pool_bytes = 4ull << 30;   /* the largest pool: ~10 ms to create */
    switch (g8() % 6) {
    case 0:
        c->pt_pool_base = 0;
        break;
    case 1:
        c->pt_pool_base = ((1ull << c->oas) - c->pt_pool_bytes) & ~(PAGE - 1);
        break;
    case 2:
        c->pt_pool_base = ((uint64_t)g32() << 12) & ((1ull << c->oas) - 1);
        break;
    default:
        c->pt_pool_base = 0x40000000ull;
        break;
    }
    if (c->pt_pool_base == 0 && OPT.skip_pool_base0)
        c->pt_pool_base = 0x40000000ull;
    /* ABI 1.1 fields; now and then an ABI 1.0 config (56 bytes: they are not read, whatever they hold) */
    b = g8();
    if (b < 32)
        c->vmid_bits = 8;
    if (b >= 32 && b < 48)
        c->flush_queue_size = 1 + g16();
    if (b >= 224) {
        c->size = REF_CONFIG_SIZE_1_0;
        c->vmid_bits = (b & 1) ? 0 : 12;
        c->flush_queue_size = 0;
    }
    /* now and then, one field out of its range */
    if ((b = g8()) >= 224) {
        switch (b % 15) {
        case 12: c->vmid_bits = (b & 16) ? 0 : 12; break;
        case 13: c->flush_queue_size = (b & 16) ? 0 : 65537; break;
        case 14: c->flags = 0x10u << (b % 4); break;
        case 0: c->size = (b & 16) ? (uint32_t)sizeof *c + 8 : (b & 32) ? REF_CONFIG_SIZE_1_0 + 8 : 0; break;
        case 1: c->num_context_banks = (b & 16) ? 0 : 129; break;
        case 2: c->num_stream_ids = (b & 16) ? 0 : 65537; break;
        case 3: c->asid_bits = 12; break;
        case 4: c->ias = (b & 16) ? 31 : 49; break;
        case 5: c->oas = (b & 16) ? 31 : 49; break;
        case 6: c->tlb_entries = 3; break;
        case 7: c->tlb_ways = c->tlb_entries * 2; break;
        case 8: c->flags = 0x10; break;
        case 9: c->pt_pool_base += 0x800; break;
        case 10: c->pt_pool_bytes = (b & 16) ? 0 : (4ull << 30) + PAGE; break;
        default: c->pt_pool_base = (1ull << c->oas) - c->pt_pool_bytes + PAGE; break;
        }
    }
    if (c->pt_pool_base == 0 && OPT.skip_pool_base0)
        c->pt_pool_base = PAGE;
    /* 128 banks or 65536 streams: the edges */
    if (g8() == 255)
        c->num_context_banks = 128;
    if (g8() == 255)
        c->num_stream_ids = 65536;   /* costs ~2 ms a create under ASan: rare */
}

static void op_create(void)
{
    smmu_config c;
    uint8_t b;
    if (slot_free() < 0 && (g8() & 3))
        return;   /* full: only now and then a create that is destroyed right away */
    pick_config(&c);
    b = g8();
    c_create(&c, b == 1, b == 2);
}

static void teardown_inst(ref_inst *ri);

static void op_destroy(void)
{
    ref_inst *ri;
    uint8_t b = g8();
    if (b >= 48 || !(ri = pick_live())) {
        c_destroy(pick_inst_handle());   /* mostly a bad handle: a live instance's state is worth keeping */
        return;
    }
    if ((b & 1) && ri->handler_depth == 0)
        teardown_inst(ri);   /* every domain detached and freed, checked, before the destroy */
    c_destroy(ri->handle);
}

static void op_domain_alloc(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    if (ri && ri->ndoms >= MAX_DOMS)
        return;
    c_domain_alloc(h, g8() == 7, NULL);
}

static void op_domain_free(void)
{
    uint32_t h = pick_inst_handle();
    c_domain_free(h, pick_domain(inst_of(h)));
}

/* An attribute: mostly the ABI 1.0 five, often the ABI 1.1 seven, now and then an unknown one. */
static uint32_t pick_attr(uint8_t old_below)
{
    uint8_t b = g8();
    if (b < old_below)
        return (uint32_t)(1 + b % 5);
    if (b < 230)
        return (uint32_t)(SMMU_ATTR_GRANULE + b % 7);
    return (b & 1) ? 0 : (uint32_t)(SMMU_ATTR_VTTBR + 1 + g8());
}

static void op_set_attr(void)
{
    uint32_t h = pick_inst_handle(), d, attr, v[4];
    ref_inst *ri = inst_of(h);
    ref_domain *dom;
    size_t size = 4;
    uint8_t b;
    int settled;
    d = pick_domain(ri);
    dom = ri ? ref_domain_of(ri, d) : NULL;
    /* a domain whose tables can no longer be reshaped (EBUSY), or no live domain at all (EBADF) */
    settled = !dom || dom->cb >= 0 || dom->root->valid > 0;
    attr = pick_attr(160);
    switch (attr) {
    case SMMU_ATTR_DYNAMIC:
        v[0] = (g8() & 3) ? 1 : (g8() & 1) ? 0 : (g8() & 1) ? 2 : g32();
        break;
    case SMMU_ATTR_CONTEXT_BANK: {
        /* mostly a bank some base domain holds */
        uint32_t i, n = ri ? ri->cfg.num_context_banks : 8;
        v[0] = (uint32_t)(g8() % (n + 1));
        if (ri && (g8() & 3))
            for (i = 0; i < n; i++)
                if (ri->banks[(v[0] + i) % n].in_use) {
                    v[0] = (v[0] + i) % n;
                    break;
                }
        if (g8() == 0)
            v[0] = g32();
        break;
    }
    /* The table-shaping attributes: their present values (4 KiB, not split, stage 1: a new, empty
     * root), values out of their sets, and the other valid values only where they are refused anyway
     * (the reference models 4 KiB stage-1 tables that are not split). */
    case SMMU_ATTR_GRANULE:
        switch (g8() % 6) {
        case 0: case 1: case 2: v[0] = 4096; break;
        case 3: v[0] = settled ? ((g8() & 1) ? 16384 : 65536) : 4096; break;
        case 4: v[0] = (g8() & 1) ? 0 : 8192; break;
        default: v[0] = g32(); break;
        }
        break;
    case SMMU_ATTR_SPLIT_TTBR1:
        switch (g8() % 4) {
        case 0: case 1: v[0] = 0; break;
        case 2: v[0] = settled || dom->dynamic ? 1 : 0; break;
        default: v[0] = (g8() & 1) ? 2 : g32(); break;
        }
        break;
    case SMMU_ATTR_STAGE:
        /* STAGE 2 only on a dynamic domain (EINVAL): on a base domain that is attached the library
         * would answer EBUSY before finding out whether ias/oas have a stage-2 table */
        switch (g8() % 4) {
        case 0: case 1: v[0] = 1; break;
        case 2: v[0] = dom && dom->dynamic ? 2 : 1; break;
        default: v[0] = (g8() & 1) ? 0 : (g8() & 1) ? 3 : g32(); break;
        }
        break;
    case SMMU_ATTR_NEST_PARENT: {
        /* no stage-2 domain here: 0 (none), a live stage-1 domain (EINVAL), anything else (EBADF) */
        switch (g8() % 4) {
        case 0: v[0] = 0; break;
        case 1: v[0] = d; break;
        case 2: v[0] = pick_domain(ri); break;
        default: v[0] = ri && ri->ndoms ? ri->doms[g16() % ri->ndoms]->handle : g32(); break;
        }
        break;
    }
    default:
        v[0] = g32();
        break;
    }
    /* whatever the bytes: no value that would give the domain a shape the reference does not model */
    if (attr == SMMU_ATTR_GRANULE && !settled && (v[0] == 16384 || v[0] == 65536))
        v[0] = 4096;
    if (attr == SMMU_ATTR_SPLIT_TTBR1 && !settled && !dom->dynamic && v[0] == 1)
        v[0] = 0;
    if (attr == SMMU_ATTR_STAGE && !(dom && dom->dynamic) && v[0] == 2)
        v[0] = 1;
    v[1] = v[2] = v[3] = 0;
    b = g8();
    if (b >= 230)
        size = (b & 1) ? 8 : (b & 2) ? 0 : (b & 4) ? 3 : (size_t)INT32_MAX + 1;
    c_set_attr(h, d, attr, g8() == 3, v, size);
}

static void op_get_attr(void)
{
    uint32_t h = pick_inst_handle(), d, attr;
    ref_inst *ri = inst_of(h);
    size_t size;
    uint8_t b;
    d = pick_domain(ri);
    attr = pick_attr(170);
    size = attr == SMMU_ATTR_TTBR0 || attr == SMMU_ATTR_TTBR1 || attr == SMMU_ATTR_VTTBR ? 8 : 4;
    b = g8();
    if (b >= 230)
        size = (b & 1) ? 8 : (b & 2) ? 4 : (b & 4) ? 16 : (b & 8) ? 0 : (size_t)-1;
    c_get_attr(h, d, attr, g8() == 3, size);
}

static void op_attach(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    c_attach(h, pick_domain(ri), pick_sid(ri));
}

/* A dynamic domain in one go (DYNAMIC, CONTEXT_BANK from a base, attach through one of its streams):
 * the path the seed takes, so the fuzzer reaches it often. */
static void op_make_dynamic(void)
{
    ref_inst *ri = pick_live();
    ref_domain *dom;
    uint32_t cb, sid, one = 1;
    if (!ri || !(dom = pick_dom_ref(ri)) || dom->cb >= 0)
        return;
    for (cb = 0; cb < ri->cfg.num_context_banks; cb++)
        if (ri->banks[cb].in_use)
            break;
    if (cb == ri->cfg.num_context_banks) {
        c_attach(ri->handle, dom->handle, pick_sid(ri));   /* no base yet: make this one a base */
        return;
    }
    c_set_attr(ri->handle, dom->handle, SMMU_ATTR_DYNAMIC, 0, &one, 4);
    c_set_attr(ri->handle, dom->handle, SMMU_ATTR_CONTEXT_BANK, 0, &cb, 4);
    for (sid = 0; sid < ri->cfg.num_stream_ids && sid < 64; sid++)
        if (ri->streams[sid] == (int32_t)cb)
            break;
    c_attach(ri->handle, dom->handle, sid);
}

static void op_detach(ref_inst *ri)
{
    uint32_t h, d, sid;
    ref_domain *dom;
    if (!ri || (g8() & 3) == 0) {
        h = pick_inst_handle();
        ri = inst_of(h);
        c_detach(h, pick_domain(ri), pick_sid(ri));
        return;
    }
    /* mostly a detach that can succeed: an attached domain through one of its streams */
    dom = pick_dom_ref(ri);
    if (!dom)
        return;
    d = dom->handle;
    sid = pick_sid(ri);
    if (dom->cb >= 0 && (g8() & 3)) {
        if (dom->dynamic) {
            sid = dom->dyn_sid;
        } else {
            uint32_t s;
            for (s = 0; s < ri->cfg.num_stream_ids && s < 64; s++)
                if (ri->streams[s] == dom->cb) {
                    sid = s;
                    break;
                }
        }
    }
    c_detach(ri->handle, d, sid);
}

static void op_switch(ref_inst *ri)
{
    uint32_t h;
    if (!ri) {
        h = pick_inst_handle();
        c_switch(h, pick_domain(inst_of(h)));
        return;
    }
    c_switch(ri->handle, pick_domain(ri));
}

static void op_set_handler(void)
{
    uint32_t h = pick_inst_handle();
    uint8_t b = g8();
    smmu_fault_handler fn = b < 100 ? handler_a : b < 200 ? handler_b : NULL;
    c_set_fault_handler(h, pick_domain(inst_of(h)), fn, (void *)(uintptr_t)(0x100 + g8()));
}

static void op_map(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    ref_domain *dom = NULL;
    uint32_t d = pick_domain(ri);
    uint64_t iova, size, pa;
    if (ri)
        dom = ref_domain_of(ri, d);
    iova = pick_iova(ri, dom);
    size = pick_size(ri, iova);
    pa = pick_pa(ri, iova, size);
    c_map(h, d, iova, pa, size, pick_prot());
}

static void op_unmap(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t d = pick_domain(ri);
    uint64_t iova = pick_iova(ri, ri ? ref_domain_of(ri, d) : NULL);
    c_unmap(h, d, iova, pick_size(ri, iova));
}

/* A page size: mostly a leaf size of the 4 KiB granule, sometimes not. */
static uint64_t pick_pgsize(void)
{
    switch (g8() % 16) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: return PAGE;
    case 8: case 9: case 10: return 2 * MIB;
    case 11: return GIB;
    case 12: return (g8() & 1) ? 16 * 1024 : 64 * 1024;
    case 13: return (g8() & 1) ? 512 * GIB : 0;
    case 14: return PAGE << (g8() % 40);
    default: return g64();
    }
}

static uint64_t pick_pgcount(uint64_t pgsize)
{
    switch (g8() % 8) {
    case 0: case 1: case 2: case 3: return 1 + g8() % 16;
    case 4: return pgsize >= GIB ? 1 + g8() % 2 : 1 + g8() % 512;
    case 5: return 0;
    case 6: return pgsize ? UINT64_MAX / pgsize + 1 + g8() % 4 : g64();   /* pgsize * pgcount overflows */
    default: return g64();
    }
}

static void op_map_pages(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t d = pick_domain(ri);
    uint64_t iova, pa, pgsize = pick_pgsize(), pgcount = pick_pgcount(pgsize);
    uint64_t bytes = pgsize && pgcount <= UINT64_MAX / pgsize ? pgsize * pgcount : 0;
    iova = pick_iova(ri, ri ? ref_domain_of(ri, d) : NULL);
    if (pgsize > PAGE && pgsize <= GIB && (g8() & 3))
        iova &= ~(pgsize - 1);   /* mostly aligned, as a driver's are */
    pa = pick_pa(ri, iova, bytes ? bytes : pgsize);
    if (pgsize > PAGE && pgsize <= GIB && (g8() & 3))
        pa &= ~(pgsize - 1);
    /* a count of small pages is bounded by the range's leaves (hangs are failures too) */
    if (bytes > 8 * GIB && pgsize < GIB)
        pgcount = 1 + g8() % 16;
    c_map_pages(h, d, iova, pa, pgsize, pgcount, pick_prot(), g8() == 13);
}

static void op_unmap_pages(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t d = pick_domain(ri);
    uint64_t iova = pick_iova(ri, ri ? ref_domain_of(ri, d) : NULL), pgsize = pick_pgsize();
    if (pgsize > PAGE && pgsize <= GIB && (g8() & 3))
        iova &= ~(pgsize - 1);
    c_unmap_pages(h, d, iova, pgsize, pick_pgcount(pgsize));
}

/* ABI 1.1's sanitizer handler and flush queue, without gathers: nothing is ever deferred, so the
 * handler is never called (no missed sync, no needless invalidation, no stale translation) and a flush
 * finds nothing queued. */
static void sanitizer_handler(smmu_t smmu, const smmu_stale_report *report, void *cookie)
{
    (void)cookie;
    diverge("sanitizer handler called (smmu 0x%x, kind %u): nothing is deferred here, so nothing can be reported",
            smmu, report ? report->kind : 0u);
}

static void op_deferred_misc(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    int32_t exp = ri ? SMMU_OK : SMMU_EBADF, got;
    uint8_t b = g8();
    W.calls++;
    if (b & 1) {
        got = smmu_flush_queue(h);
        TRACE("smmu_flush_queue(0x%x) = %d\n", h, got);
        CHECK_RC(exp, got, "smmu_flush_queue(smmu=0x%x)", h);
    } else {
        got = smmu_set_sanitizer_handler(h, (b & 2) ? sanitizer_handler : NULL, (void *)(uintptr_t)b);
        TRACE("smmu_set_sanitizer_handler(0x%x, %s) = %d\n", h, (b & 2) ? "fn" : "NULL", got);
        CHECK_RC(exp, got, "smmu_set_sanitizer_handler(smmu=0x%x, fn=%s)", h, (b & 2) ? "fn" : "NULL");
    }
    cov(C_DEFERRED, got);
}

static void op_iova_to_phys(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t d = pick_domain(ri);
    ref_domain *dom = ri ? ref_domain_of(ri, d) : NULL;
    uint64_t iova, at;
    int level, idx;
    ref_node *n;
    if (dom && (g8() & 1) && ref_sample_leaf(dom, g32(), &at, &level, &n, &idx))
        iova = at + (g64() & (ref_level_size(level) - 1));
    else
        iova = pick_iova(ri, dom);
    c_iova_to_phys(h, d, iova, g8() == 5);
}

/* A physical address of the pool, or around it. */
static uint64_t pick_phys(ref_inst *ri)
{
    uint64_t base = ri ? ri->cfg.pt_pool_base : 0x40000000ull, bytes = ri ? ri->cfg.pt_pool_bytes : 64 * MIB;
    ref_domain *dom;
    ref_node *n;
    switch (g8() % 8) {
    case 0:
    case 1:
    case 2:
        if (ri && (dom = pick_dom_ref(ri)) && (n = ref_sample_known_table(dom, g32())))
            return n->pa + (uint64_t)(g16() % REF_ENTRIES) * 8;
        /* fall through */
    case 3:
        return base + ((g64() % bytes) & ~7ull);
    case 4:
        return base + bytes - 8;
    case 5:
        return (g8() & 1) ? base + bytes : base - 8;
    case 6:
        return base + ((g64() % bytes) | (1 + g8() % 7));
    default:
        return (g8() & 1) ? g64() : 0xFFFFFFFFFFFFFFF8ull;
    }
}

static void op_phys_read(void)
{
    uint32_t h = pick_inst_handle();
    c_phys_read64(h, pick_phys(inst_of(h)), g8() == 9);
}

/* Invalidates what a driver must after a PTE store: some way that covers the leaf. */
static void invalidate_leaf(ref_inst *ri, ref_domain *dom, uint64_t iova, int level)
{
    uint64_t size = ref_level_size(level);
    if (dom->cb < 0)
        return;   /* detached: its ASID's entries went at detach */
    switch (g8() % 4) {
    case 0:
        c_tlb_inv(ri->handle, 0, 0, 0, 0);
        break;
    case 1:
        c_tlb_inv(ri->handle, 1, dom->asid, 0, 0);
        break;
    case 2:
        c_tlb_inv(ri->handle, 2, dom->asid, iova, size);
        break;
    default:
        c_tlb_inv(ri->handle, 3, 0, iova, size);
        break;
    }
}

static void op_phys_write(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    ref_domain *dom;
    ref_node *n;
    uint64_t iova, old, v;
    int level, idx;
    uint8_t b = g8();
    if (b < 160 && ri && (dom = pick_dom_ref(ri)) && ref_sample_leaf(dom, g32(), &iova, &level, &n, &idx)) {
        c_check_path(ri, dom, iova);   /* learns the tables on the way */
        if (!n->pa_known)
            return;
        old = n->desc[idx];
        switch (g8() % 10) {
        case 0: v = old ^ REF_PTE_AF; break;
        case 1: v = old ^ REF_PTE_AP_RDONLY; break;
        case 2: v = old ^ REF_PTE_AP_USER; break;
        case 3: v = old ^ REF_PTE_UXN; break;
        case 4: v = old ^ REF_PTE_PXN; break;
        case 5: v = (old & ~REF_ADDR_MASK) | (((uint64_t)g32() << 12) & REF_ADDR_MASK); break;    /* retarget */
        case 6: v = (old & ~REF_ADDR_MASK) | ((ri->out_limit + ((uint64_t)g8() << 12)) & REF_ADDR_MASK); break;
        case 7: v = old ^ ((uint64_t)g8() << 55); break;   /* software bits and above */
        case 8: v = (old & ~3ull) | ((old & 3) ^ (1 + g8() % 3)); break;   /* type changed: EPERM */
        default: v = g64(); break;
        }
        /* nG stays set: a global leaf's TLB entry would match every ASID (see pick_prot) */
        v |= REF_PTE_NG;
        if (c_phys_write64(h, n->pa + (uint64_t)idx * 8, v))
            invalidate_leaf(ri, dom, iova, level);
        return;
    }
    v = g64();
    if (b < 230)
        v &= ~1ull;   /* type bits 00 or 10: no leaf has them, refused wherever it lands */
    v |= REF_PTE_NG;   /* never a global leaf (see pick_prot) */
    /* a random value that rewrote some leaf: a driver would invalidate (which leaf, the harness does not
     * track here), so everything goes */
    if (c_phys_write64(h, pick_phys(ri), v))
        c_tlb_inv(h, 0, 0, 0, 0);
}

static uint64_t pick_translate_iova(ref_inst *ri, uint32_t sid)
{
    if (ri && sid < ri->cfg.num_stream_ids && ri->streams[sid] >= 0 && (g8() & 3)) {
        ref_domain *act = ri->banks[ri->streams[sid]].active;
        uint64_t iova;
        int level, idx;
        ref_node *n;
        if (ref_sample_leaf(act, g32(), &iova, &level, &n, &idx))
            return iova + ((g64() & (ref_level_size(level) - 1)) & ~7ull);
    }
    return pick_iova(ri, NULL) + (g8() & 0xF8);
}

static uint32_t pick_routed_sid(ref_inst *ri)
{
    uint32_t s, n;
    if (!ri || (g8() & 7) == 0)
        return pick_sid(ri);
    n = ri->cfg.num_stream_ids < 64 ? ri->cfg.num_stream_ids : 64;
    for (s = 0; s < n; s++) {
        uint32_t k = (s + g8()) % n;
        if (ri->streams[k] >= 0)
            return k;
    }
    return pick_sid(ri);
}

static void op_translate(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t sid = pick_routed_sid(ri);
    c_translate(h, sid, pick_translate_iova(ri, sid), pick_access(), g8() == 11);
}

static void op_translate_batch(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t sid = pick_routed_sid(ri);
    uint64_t iovas[MAX_BATCH + 1];
    size_t count = g8() % (MAX_BATCH + 1), i, real;
    uint8_t b;
    for (i = 0; i < count; i++)
        iovas[i] = (i > 0 && (g8() & 7)) ? iovas[i - 1] + 8 * (g8() % 8) : pick_translate_iova(ri, sid);
    real = count;
    b = g8();
    if (b >= 240)
        count = (b & 1) ? (size_t)INT32_MAX + 1 : (size_t)-1;
    c_translate_batch(h, sid, iovas, count, real, pick_access(), b >= 230 && b < 240 ? (1 + b % 7) : 0);
}

static void op_tlb_inv(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t asid;
    uint64_t iova = pick_iova(ri, NULL), size;
    uint8_t b = g8();
    /* mostly a domain's ASID; else anything, or the last valid one (0xFF, 0xFFFF: never handed out) and
     * the first invalid one (2^asid_bits) */
    asid = b < 200 && ri && ri->ndoms ? ri->doms[g16() % ri->ndoms]->asid
           : (b & 1) ? g32() : ri ? (uint32_t)ri->asid_limit - ((b & 2) ? 0 : 1) : 1;
    switch (g8() % 4) {
    case 0: size = pick_size(ri, iova); break;
    case 1: size = 0; break;
    case 2: size = 0ull - iova; break;          /* ends exactly at 2^64 */
    default: size = 0ull - iova + 1; break;     /* wraps */
    }
    c_tlb_inv(h, g8() % 4, asid, iova, size);
}

/* ABI 1.1's VMID invalidations: VMID 0 (reserved), in range, at and beyond 2^vmid_bits, anything. */
static void op_tlb_inv_vmid(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint64_t lim = ri ? ri->vmid_limit : 1u << 16, iova = pick_iova(ri, NULL), size;
    uint32_t vmid;
    switch (g8() % 8) {
    case 0: vmid = 0; break;
    case 1: vmid = (uint32_t)lim - 1; break;
    case 2: vmid = (uint32_t)lim; break;
    case 3: vmid = 0x7FFF; break;
    case 4: vmid = g32(); break;
    default: vmid = 1 + g8() % 8; break;
    }
    switch (g8() % 4) {
    case 0: size = pick_size(ri, iova); break;
    case 1: size = 0; break;
    case 2: size = 0ull - iova; break;
    default: size = 0ull - iova + 1; break;
    }
    c_tlb_inv_vmid(h, g8() & 1, vmid, iova, size);
}

static void op_faults(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t n = ri ? ri->cfg.num_context_banks : 8, cb = (uint32_t)(g8() % (n + 1));
    uint8_t b = g8();
    if (b == 0)
        cb = g32();
    if (b & 1)
        c_clear_fault(h, cb);
    else
        c_get_fault(h, cb, b == 2, b == 4 ? (uint32_t)sizeof(smmu_fault) - 8 : b == 6 ? REF_FAULT_SIZE_1_0 + 8
                    : (b & 8) ? REF_FAULT_SIZE_1_0 : (uint32_t)sizeof(smmu_fault));
}

static void op_context_bank(void)
{
    uint32_t h = pick_inst_handle();
    ref_inst *ri = inst_of(h);
    uint32_t n = ri ? ri->cfg.num_context_banks : 8, cb = (uint32_t)(g8() % (n + 1));
    uint8_t b = g8();
    if (b == 0)
        cb = 0x80000000u;
    c_get_context_bank(h, cb, b == 2, b == 4 ? 0u : b == 6 ? (uint32_t)sizeof(smmu_cb_state) + 8
                       : (b & 8) ? REF_CB_STATE_SIZE_1_0 : (uint32_t)sizeof(smmu_cb_state));
}

static void op_stats(void)
{
    uint32_t h = pick_inst_handle();
    uint8_t b = g8();
    if (b < 16)
        c_reset_stats(h);
    else
        c_get_stats(h, b == 17, b == 18 ? (uint32_t)sizeof(smmu_stats) + 8 : b == 19 ? REF_STATS_SIZE_1_0 - 8
                    : (b & 8) ? REF_STATS_SIZE_1_0 : (uint32_t)sizeof(smmu_stats));
}

/* One domain's tables, word by word (the checkpoint does every domain). */
static void op_check_tables(void)
{
    ref_inst *ri = pick_live();
    ref_domain *dom = pick_dom_ref(ri);
    if (dom && dom->root->pa_known)
        check_table(ri, dom, dom->root);
}

static void op_misc(void)
{
    smmu_config c, d;
    const char *s;
    int32_t code = (int32_t)(int8_t)g8(), w;
    W.calls += 4;
    s = smmu_strerror(code);
    if (!s || !*s)
        diverge("smmu_strerror(%d) returned %s", code, s ? "\"\"" : "NULL");
    if (smmu_abi_version() != SMMU_ABI_VERSION)
        diverge("smmu_abi_version() = 0x%x, the header says 0x%x", smmu_abi_version(), SMMU_ABI_VERSION);
    w = smmu_simd_width();
    if (w != 0 && w != 128 && w != 256 && w != 512)
        diverge("smmu_simd_width() = %d", w);
    smmu_config_init(NULL);
    memset(&c, 0xA5, sizeof c);
    smmu_config_init(&c);
    memset(&d, 0, sizeof d);
    d.size = sizeof d;
    d.num_context_banks = 8;
    d.num_stream_ids = 128;
    d.asid_bits = 16;
    d.ias = d.oas = 48;
    d.tlb_entries = 1024;
    d.tlb_ways = 8;
    d.pt_pool_base = 0x40000000ull;
    d.pt_pool_bytes = 64ull << 20;
    if (c.size != d.size || c.num_context_banks != d.num_context_banks || c.num_stream_ids != d.num_stream_ids
        || c.asid_bits != d.asid_bits || c.ias != d.ias || c.oas != d.oas || c.tlb_entries != d.tlb_entries
        || c.tlb_ways != d.tlb_ways || c.flags != 0 || c.pt_pool_base != d.pt_pool_base || c.pt_pool_bytes != d.pt_pool_bytes)
        diverge("smmu_config_init: not the defaults of smmu.h");
}

/* Attaches domains until the ASIDs or the banks run out (ENOSPC), or the pool (ENOMEM). */
static void op_fill(void)
{
    ref_inst *ri = pick_live();
    int k, banks = g8() & 1, limit = 1 + g8() % 8;
    if (!ri)
        return;
    if (ri->cfg.asid_bits == 8 && (g8() & 7) == 0)
        limit = 260;   /* past the 255 ASIDs */
    for (k = 0; k < limit && ri->ndoms < MAX_DOMS && !src_dry(); k++) {
        uint32_t d, one = 1, cb, sid;
        if (c_domain_alloc(ri->handle, 0, &d) != 0)
            return;
        if (banks) {
            for (sid = 0; sid < ri->cfg.num_stream_ids && sid < 256; sid++)
                if (ri->streams[sid] < 0)
                    break;
            if (c_attach(ri->handle, d, sid < ri->cfg.num_stream_ids ? sid : 0) != 0)
                return;
            continue;
        }
        for (cb = 0; cb < ri->cfg.num_context_banks && !ri->banks[cb].in_use; cb++)
            ;
        if (cb == ri->cfg.num_context_banks) {
            if (c_attach(ri->handle, d, 0) != 0)
                return;
            continue;
        }
        c_set_attr(ri->handle, d, SMMU_ATTR_DYNAMIC, 0, &one, 4);
        c_set_attr(ri->handle, d, SMMU_ATTR_CONTEXT_BANK, 0, &cb, 4);
        for (sid = 0; sid < ri->cfg.num_stream_ids && ri->streams[sid] != (int32_t)cb; sid++)
            ;
        if (c_attach(ri->handle, d, sid) != 0)
            return;
    }
}

/* A small world in one go: a base domain on stream 0 with a handler, two dynamic domains, a few
 * mappings in each. Gives the fuzzer the seed's state without having to find it byte by byte. */
static void op_scenario(void)
{
    smmu_config c;
    ref_inst *ri;
    uint32_t base, dyn, one = 1, cb, i;
    int slot = slot_free();
    if (slot < 0)
        return;
    smmu_config_init(&c);
    c.pt_pool_bytes = (uint64_t)(8 + g8() % 64) * PAGE;
    c.num_context_banks = 1 + g8() % 4;
    c.num_stream_ids = 1 + g8() % 8;
    c.tlb_entries = 1u << (g8() % 8);
    c.tlb_ways = c.tlb_entries < 4 ? c.tlb_entries : 4;
    c.flags = g8() & 3;
    c.ias = (g8() & 1) ? 39 : 48;
    c_create(&c, 0, 0);
    if (!(ri = W.inst[slot]))
        return;
    if (c_domain_alloc(ri->handle, 0, &base) != 0 || c_attach(ri->handle, base, 0) != 0)
        return;
    c_set_fault_handler(ri->handle, base, (g8() & 1) ? handler_a : handler_b, (void *)(uintptr_t)(0x100 + g8()));
    cb = (uint32_t)ri->banks[ri->streams[0]].base->cb;
    for (i = 0; i < 2; i++) {
        if (c_domain_alloc(ri->handle, 0, &dyn) != 0)
            return;
        c_set_attr(ri->handle, dyn, SMMU_ATTR_DYNAMIC, 0, &one, 4);
        c_set_attr(ri->handle, dyn, SMMU_ATTR_CONTEXT_BANK, 0, &cb, 4);
        c_attach(ri->handle, dyn, 0);
        c_map(ri->handle, dyn, window_iova(), ((uint64_t)(i + 1) << 32), (uint64_t)(1 + g8() % 16) * PAGE,
              SMMU_PROT_READ | SMMU_PROT_WRITE);
    }
    c_map(ri->handle, base, window_iova(), 0x80000000ull, 2 * MIB, SMMU_PROT_READ | SMMU_PROT_WRITE);
}

/* Many short-lived instances next to a live one, each allocating a domain: the domain handles of
 * different instances must never coincide (smmu.h), which c_domain_alloc checks against every live
 * instance. Rare: a thousand creates cost ~40 ms (~200 ms under ASan). */
static void op_churn(void)
{
    int n, slot;
    ref_inst *keep = pick_live();
    if (g8() != 0x5A || !keep || keep->ndoms == 0 || (slot = slot_free()) < 0)
        return;
    for (n = g16() % 1100; n > 0 && !src_dry(); n--) {
        smmu_config c;
        ref_inst *ri;
        smmu_config_init(&c);
        c.num_context_banks = 1;
        c.num_stream_ids = 1;
        c.tlb_entries = 1;
        c.tlb_ways = 1;
        c.pt_pool_bytes = PAGE;
        c_create(&c, 0, 0);
        if (!(ri = W.inst[slot]))
            return;
        c_domain_alloc(ri->handle, 0, NULL);
        c_destroy(ri->handle);
    }
}

typedef void (*op_fn)(void);

static void op_detach_any(void)
{
    op_detach(pick_live());
}

static void op_switch_any(void)
{
    op_switch(pick_live());
}

/* Relative frequencies (out of 256): what keeps state interesting (map, translate) comes often;
 * what throws it away or costs a lot (create, destroy) rarely. */
static const struct {
    op_fn fn;
    int weight;
} OP_WEIGHTS[] = {
    { op_create, 3 }, { op_scenario, 3 }, { op_destroy, 4 },
    { op_domain_alloc, 14 }, { op_domain_free, 5 }, { op_set_attr, 6 }, { op_get_attr, 5 }, { op_attach, 10 },
    { op_make_dynamic, 10 }, { op_detach_any, 10 }, { op_switch_any, 10 }, { op_set_handler, 5 },
    { op_map, 33 }, { op_unmap, 21 }, { op_map_pages, 5 }, { op_unmap_pages, 3 }, { op_iova_to_phys, 10 },
    { op_phys_read, 5 }, { op_phys_write, 10 }, { op_translate, 34 }, { op_translate_batch, 11 }, { op_tlb_inv, 5 },
    { op_tlb_inv_vmid, 1 }, { op_faults, 6 }, { op_context_bank, 6 },
    { op_stats, 9 }, { op_deferred_misc, 1 }, { op_check_tables, 4 }, { op_misc, 1 }, { op_fill, 5 }, { op_churn, 1 },
};
static op_fn OPS[256];

static void build_op_table(void)
{
    size_t i;
    int k = 0, j;
    for (i = 0; i < sizeof OP_WEIGHTS / sizeof OP_WEIGHTS[0]; i++)
        for (j = 0; j < OP_WEIGHTS[i].weight && k < 256; j++)
            OPS[k++] = OP_WEIGHTS[i].fn;
    if (k != 256)
        abort();   /* the weights must add up to 256 */
}

static void op_random(int depth)
{
    (void)depth;
    OPS[g8()]();
}

/* ---- session ------------------------------------------------------------------------------------------------ */

void fz_begin(const fz_options *opt, fz_src *src)
{
    uint64_t ops = W.ops, calls = W.calls;
    OPT = *opt;
    REF_COMPAT.cb_busy_first = opt->skip_cb_order;
    REF_COMPAT.nest_parent_busy_first = opt->skip_nest_parent_order;
    REF_COMPAT.batch_writes_failed_pa = opt->skip_batch_failed_pa;
    REF_COMPAT.map_pages_range_first = opt->skip_map_pages_order;
    memset(&W, 0, sizeof W);
    W.ops = ops;
    W.calls = calls;
    W.src = src;
    if (!OPS[0])
        build_op_table();
}

uint64_t fz_steps(uint64_t max_ops)
{
    uint64_t n = 0;
    while (n < max_ops && !src_dry()) {
        W.ops++;
        op_random(0);
        n++;
    }
    return n;
}

void fz_checkpoint(void)
{
    int i;
    for (i = 0; i < MAX_INST; i++) {
        ref_inst *ri = W.inst[i];
        if (!ri)
            continue;
        c_check_tables(ri, ri->pool_pages <= 64);
        c_get_stats(ri->handle, 0, sizeof(smmu_stats));
    }
}

/* Detaches everything (dynamic domains first), frees every domain: the pool must be empty then. */
static void teardown_inst(ref_inst *ri)
{
    int i;
    uint32_t s;
    for (i = 0; i < ri->ndoms; i++) {
        ref_domain *d = ri->doms[i];
        if (d->cb >= 0 && d->dynamic)
            CHECK_RC(0, c_detach(ri->handle, d->handle, d->dyn_sid), "teardown: detach of dynamic domain 0x%x", d->handle);
    }
    for (s = 0; s < ri->cfg.num_stream_ids; s++)
        if (ri->streams[s] >= 0) {
            ref_domain *b = ri->banks[ri->streams[s]].base;
            CHECK_RC(0, c_detach(ri->handle, b->handle, s), "teardown: detach of base domain 0x%x from stream %u", b->handle, s);
        }
    c_check_tables(ri, ri->pool_pages <= 64);
    while (ri->ndoms > 0) {
        uint32_t d = ri->doms[ri->ndoms - 1]->handle;
        c_domain_free(ri->handle, d);
        if (ri->ndoms > 0 && ri->doms[ri->ndoms - 1]->handle == d)
            diverge("teardown: domain 0x%x could not be freed", d);
    }
    c_check_pages(ri, "freeing every domain");
    if (ri->pages_in_use != 0)
        diverge("teardown: %" PRIu64 " table pages still in use with no domain left", ri->pages_in_use);
}

void fz_end(void)
{
    int i;
    for (i = 0; i < MAX_INST; i++) {
        ref_inst *ri = W.inst[i];
        if (!ri)
            continue;
        teardown_inst(ri);
        c_get_stats(ri->handle, 0, sizeof(smmu_stats));
        c_destroy(ri->handle);
    }
}

uint64_t fz_total_calls(void)
{
    return W.calls;
}

uint64_t fz_total_ops(void)
{
    return W.ops;
}
