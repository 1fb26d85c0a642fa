/*
 * fastpath.c - the header's inline fast path (smmu.h "The inline fast path") against the exported
 * functions, issue 13's contract: a C caller of the inline smmu_translate / smmu_translate_batch and a
 * caller of the exports get the same PAs, faults, handler calls and statistics.
 *
 * Two instances, A and B, are built and driven by one random stream (xorshift64, fixed seed), call for
 * call. A translates through the macros (the inline path: TLB hits served from smmu_fast_views()), B
 * through the parenthesized exports, `(smmu_translate)(...)`. After every operation everything
 * observable is compared: return codes, PAs, batches' *out_done and out_pas, the records each side's
 * fault handler and sanitizer handler logged (with the handler's choices driven identically: map the
 * faulting page and RETRY, RETRY without a fix, translate from inside the handler, ...), the banks'
 * fault records and registers, and every field of smmu_stats. Domain handles differ between the two
 * instances, so they are compared by role (base, dynamic 1..3, stage 2, stage-2-only).
 *
 * The stream mixes: maps and unmaps of pages, blocks and 1 GiB blocks with random rights (hits without
 * the rights happen), single and batched translations (misses, faults and hits without rights mid-batch),
 * invalid accesses / streams / NULL pointers (the inline path must defer them to the library), dynamic
 * domains switched on one bank, detach / attach, a second stream on the bank, an unrouted stream, TLB
 * invalidations, descriptors rewritten with smmu_phys_write64 without invalidation (TLB and tables
 * disagree), gathered unmaps synced later, handlers installed and removed, and the pair destroyed and
 * re-created (the macro on a stale handle is EBADF, like the export).
 *
 * The whole stream (500000 operations, the pair re-created every 50000) runs over each configuration:
 * the defaults; 16-entry TLBs of 1, 2, 4 and 16 ways (the view's non-8-way probe and group mask); the
 * stale-TLB sanitizer (its reports compared too); a split bank (globals in TTBR1); the 16 KiB granule; a
 * nested bank (combined stage 1+2 entries); a stage-2-only bank (lookups without an ASID); lazy flush +
 * no ASID tagging + the scalar TLB + the sanitizer on a split bank. Each must also show that the inline
 * path served a good part of A's hits (smmu_fast_views()[A].hits) and that B's view served none.
 *
 * Hand-written cases first: the inline path serves exactly the hits; a TLB holding two size classes and
 * global entries agrees; two entries covering one IOVA (a global page, a dynamic domain's block) give one
 * PA whichever way it is translated; a fault handler reading the statistics in the middle of a batch
 * reads the same numbers either way; a stale handle whose slot a live instance took is EBADF.
 *
 * Build it with -march=native too: the header then probes with AVX2 / AVX-512.
 */
#include <stdarg.h>
#include <time.h>

#include "scenario.h"

#if !defined(smmu_translate) || !defined(smmu_translate_batch)
#error "fastpath.c tests the inline path: build with GCC or Clang, without SMMU_NO_INLINE"
#endif

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define RD SMMU_ACCESS_READ
#define WR SMMU_ACCESS_WRITE
#define EX SMMU_ACCESS_EXEC
#define PRIV SMMU_ACCESS_PRIV
#define P_R SMMU_PROT_READ
#define P_W SMMU_PROT_WRITE
#define P_RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define POISON 0xA5A5A5A5A5A5A5A5ull
#define SEED 0x2545F4914F6CDD1Dull

/* Streams: the base domain's (and its dynamic domains'), a second one on the same bank, the
 * stage-2-only bank's, one never routed, and one beyond num_stream_ids. */
#define NUM_SIDS 128u
#define SID_MAIN 3u
#define SID_SECOND 7u
#define SID_S2 11u
#define SID_UNROUTED 13u

/* Domain roles, the same index on both sides. */
enum { D_BASE = 0, D_DYN1 = 1, NDYN = 3, D_S2 = 4, D_S2ONLY = 5, MAXD = 6 };

/* The address windows (relative to a half's base): NPAGES single pages, NBLOCKS block slots (whose
 * first NBPAGES pages may be mapped as pages instead), two 1 GiB slots (4 KiB granule: 1 GiB blocks, or
 * blocks inside). Stage 1 uses W_LO (and W_HI on a split bank); stage 2 maps IPAs in W_IPA. */
#define W_LO 0ull
#define W_HI 0xffffff8000000000ull
#define W_IPA 0x100000000ull
#define PAGES_OFF 0x10000000ull
#define BLOCKS_OFF 0x40000000ull
#define GIANT_OFF 0x80000000ull
#define NPAGES 24
#define NBPAGES 8                     /* pages of a block slot that may be mapped as pages */
#define NBLOCKS 8
#define NGIANT 2
#define POOL_BASE 0x40000000ull       /* the default table pool (64 MiB) */
#define POOL_BYTES (64 * MIB)
#define PA_S1 0x2000000000ull         /* stage-1 outputs (not nested) */
#define PA_S2 0x5000000000ull         /* stage-2 outputs */

#define RECENT 32                     /* recently translated IOVAs (the handlers translate them too) */
#define GOOD 64                       /* IOVAs that translated lately, to come back to (TLB hits) */
#define LOG_MAX 256                   /* handler records kept per operation */
#define REBUILD_EVERY 50000           /* the pair is destroyed and re-created this often */
#define MAX_PRINTED 6                 /* mismatches printed per configuration, the first of each check
                                         (all are counted) */

struct config {
    const char *name;
    uint32_t tlb_entries, tlb_ways;   /* 0: the defaults */
    uint32_t flags;                   /* SMMU_CFG_* */
    uint32_t granule;                 /* of the stage-1 domains */
    int split, nested, s2only;
    long ops;
};

/* What a fault handler saw and did, with domain handles replaced by their roles. */
struct frec {
    int smmu_ok;                      /* the handler got its side's instance */
    int base;                         /* role of base_domain */
    int active;                       /* role of fault->active_domain */
    smmu_fault f;
    int32_t action;                   /* what it returned */
    int32_t map_rc;                   /* its smmu_map, when it fixed the tables */
    int32_t xl_rc;                    /* its translation from inside the handler */
    uint64_t xl_pa;
    int32_t st_rc;                    /* its smmu_get_stats */
    smmu_stats st;
    int32_t reset_rc;                 /* its smmu_reset_stats */
};

/* What a sanitizer handler saw and did. */
struct srec {
    int smmu_ok, domain;
    smmu_stale_report r;
    int32_t xl_rc;
    uint64_t xl_pa;
    int32_t st_rc;                    /* its smmu_get_stats */
    smmu_stats st;
};

struct side {
    const char *name;
    int inl;                          /* 1: A, translates through the macros */
    smmu_t s;
    smmu_domain_t d[MAXD];
    smmu_gather g[MAXD];
    int fn, sn;                       /* handler records this operation */
    long fcalls, scalls;              /* handler calls since the side was made (drive the choices) */
    struct frec f[LOG_MAX];
    struct srec r[LOG_MAX];
};

static struct side A = { .name = "A", .inl = 1 }, B = { .name = "B", .inl = 0 };

/* The driver's state, the same for both sides. */
static struct {
    const struct config *c;
    uint64_t rng;
    uint64_t pg, blk;                 /* stage-1 page and block sizes */
    unsigned pg_shift;
    uint64_t recent[RECENT];
    unsigned recent_next;
    struct {
        uint32_t sid, access;
        int active;                   /* the role active on the bank then */
        uint64_t iova;
    } good[GOOD];
    int active;                       /* the role active on the main bank (as A's registers say) */
    unsigned good_next;
    int attached[MAXD];               /* dynamic domain attached to SID_MAIN */
    int second;                       /* the base attached to SID_SECOND */
    int fault_handler, s2_handler;    /* installed */
    uint32_t cb_main, cb_s2;          /* the banks in use */
    int poked[32];                    /* nested: pool pages stage 2 no longer maps */
    long op;
    const char *what;                 /* the operation running */
    long mismatches;
    int printed, printed_lines[MAX_PRINTED];
    /* what the run did */
    long translations, batches, batch_items, faults_logged, reports_logged, injections, rebuilds, bad_args;
    uint64_t inline_hits;             /* A's view hits over the run */
    uint64_t s2_inline_hits;          /* ... of them on the stage-2-only stream (lookups without an ASID) */
    uint64_t a_hits;                  /* A's stats.tlb_hits over the run */
} G;

/* ---- helpers ------------------------------------------------------------------------------------- */

static uint32_t below(uint32_t n)
{
    return (uint32_t)((xorshift64(&G.rng) >> 11) % n);
}

/* A difference between the two paths: counted; the first of each check printed, with the operation (after
 * a first difference the two instances may drift apart, and every later check would say so too). */
static void mismatch(int line, const char *fmt, ...) CHECK_PRINTF(2, 3);
static void mismatch(int line, const char *fmt, ...)
{
    va_list args;
    int i;
    G.mismatches++;
    for (i = 0; i < G.printed; i++)
        if (G.printed_lines[i] == line)
            return;
    if (G.printed >= MAX_PRINTED)
        return;
    G.printed_lines[G.printed++] = line;
    printf("FAIL fastpath.c:%d: [%s] op %ld (%s): ", line, G.c ? G.c->name : "-", G.op, G.what ? G.what : "-");
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
}

#define AGREE(cond, ...)                                                                                              \
    do {                                                                                                          \
        if (!(cond))                                                                                              \
            mismatch(__LINE__, __VA_ARGS__);                                                                      \
    } while (0)

#define ULL(x) ((unsigned long long)(x))

/* The role of a domain handle on side x: its index, -1 for 0, 99 for a handle the side does not know. */
static int role_of(const struct side *x, smmu_domain_t h)
{
    int i;
    if (h == 0)
        return -1;
    for (i = 0; i < MAXD; i++)
        if (x->d[i] == h)
            return i;
    return 99;
}

static smmu_fast_view *view_of(smmu_t s)
{
    smmu_fast_view *t = smmu_fast_views();
    return t ? &t[s & (SMMU_FAST_VIEW_SLOTS - 1u)] : NULL;
}

/* The side's path: A the macros, B the exports. */
static int32_t side_translate(const struct side *x, uint32_t sid, uint64_t iova, uint32_t access, uint64_t *pa)
{
    if (x->inl)
        return smmu_translate(x->s, sid, iova, access, pa);
    return (smmu_translate)(x->s, sid, iova, access, pa);
}

static int in_pool(uint64_t ipa)
{
    return ipa >= POOL_BASE && ipa < POOL_BASE + POOL_BYTES;
}

/* A stage-1 output for a page or block at page_iova: a PA, or (nested) an IPA in W_IPA. */
static uint64_t stage1_pa_for(uint64_t page_iova)
{
    if (G.c->nested)
        return W_IPA + PAGES_OFF + ((page_iova >> G.pg_shift) % NPAGES) * G.pg;
    return PA_S1 + (page_iova & 0x3ffff000ull & ~(G.pg - 1));
}

/* Adds A's inline hits (its view's count) and TLB hits to the run's, before a reset or a destroy erases them. */
static void account_hits(void)
{
    smmu_fast_view *va = view_of(A.s);
    smmu_stats st;
    st.size = sizeof st;
    G.inline_hits += va ? va->hits : 0;
    G.a_hits += smmu_get_stats(A.s, &st) == SMMU_OK ? st.tlb_hits : 0;
}

/* ---- the handlers: log everything, choose by the call count (the same on both sides) ------------ */

/* Maps the page that faulted (stage 1: in the domain whose tables the IOVA's half uses; stage 2: in the
 * bank's stage-2 domain, the pool IPA = PA). */
static int32_t handler_map(struct side *x, smmu_domain_t base, const smmu_fault *f)
{
    if (f->stage == 2) {
        int s2 = role_of(x, base) == D_S2ONLY ? D_S2ONLY : D_S2;
        uint64_t ipa = (s2 == D_S2ONLY ? f->iova : f->ipa) & ~(4 * KIB - 1);
        uint64_t pa = in_pool(ipa) ? ipa : PA_S2 + (ipa & 0xfffff000ull);
        return smmu_map(x->s, x->d[s2], ipa, pa, 4 * KIB, P_RW);
    } else {
        uint64_t page = f->iova & ~(G.pg - 1);
        int upper = (f->iova >> 63) != 0;
        smmu_domain_t d = G.c->split && upper ? x->d[D_BASE] : f->active_domain;
        return smmu_map(x->s, d, page, stage1_pa_for(page), G.pg, P_RW | (G.c->split && upper ? SMMU_PROT_GLOBAL : 0));
    }
}

static int32_t on_fault(smmu_t smmu, smmu_domain_t base, const smmu_fault *fault, void *cookie)
{
    struct side *x = (struct side *)cookie;
    long call = x->fcalls++;
    struct frec rec;
    memset(&rec, 0, sizeof rec);
    rec.smmu_ok = smmu == x->s;
    rec.base = role_of(x, base);
    rec.active = role_of(x, fault->active_domain);
    rec.f = *fault;
    rec.f.active_domain = 0;
    rec.action = SMMU_FAULT_TERMINATE;
    switch (call % 6) {
    case 0:
    case 3:   /* a translation fault: map the page, retry */
        if (fault->type == SMMU_FAULT_TRANSLATION) {
            rec.map_rc = handler_map(x, base, fault);
            rec.action = SMMU_FAULT_RETRY;
        }
        break;
    case 1:   /* retry without a fix: the retry faults again, is reported, and the transaction fails */
        rec.action = SMMU_FAULT_RETRY;
        break;
    case 2:   /* a translation from inside the handler, through this side's path */
        rec.xl_pa = POISON;
        rec.xl_rc = side_translate(x, SID_MAIN, G.recent[call % RECENT], RD, &rec.xl_pa);
        break;
    case 4:   /* the statistics as the handler sees them */
        rec.st.size = sizeof rec.st;
        rec.st_rc = smmu_get_stats(smmu, &rec.st);
        break;
    default:  /* now and then, the statistics reset from inside the handler */
        if (call % 600 == 5) {
            if (x->inl)
                account_hits();   /* the run's totals keep what the reset erases */
            rec.reset_rc = smmu_reset_stats(smmu);
        }
        break;
    }
    if (x->fn < LOG_MAX)
        x->f[x->fn] = rec;
    x->fn++;
    return rec.action;
}

static void on_report(smmu_t smmu, const smmu_stale_report *report, void *cookie)
{
    struct side *x = (struct side *)cookie;
    long call = x->scalls++;
    struct srec rec;
    memset(&rec, 0, sizeof rec);
    rec.smmu_ok = smmu == x->s;
    rec.domain = role_of(x, report->domain);
    rec.r = *report;
    rec.r.domain = 0;
    if (call % 5 == 2) {   /* a translation from inside the handler (a stale one is counted, not delivered) */
        rec.xl_pa = POISON;
        rec.xl_rc = side_translate(x, SID_MAIN, G.recent[call % RECENT], RD, &rec.xl_pa);
    } else if (call % 5 == 4) {   /* the statistics as the handler sees them */
        rec.st.size = sizeof rec.st;
        rec.st_rc = smmu_get_stats(smmu, &rec.st);
    }
    if (x->sn < LOG_MAX)
        x->r[x->sn] = rec;
    x->sn++;
}

/* ---- comparing the two sides ----------------------------------------------------------------------- */

static const char *const stat_names[] = { "translations", "tlb_hits", "tlb_misses", "walks", "faults",
                                          "tlb_invalidations", "tlb_entries_invalidated", "switches",
                                          "pt_pages_in_use", "pt_pages_free", "stage2_walks", "descriptor_reads",
                                          "vmid_invalidations", "stale_translations", "missed_syncs",
                                          "needless_invalidations" };

/* Every counter of smmu_stats: NULL when they are equal, else the first that differs, with both values. */
static const char *stats_diff(const smmu_stats *a, const smmu_stats *b)
{
    static char text[128];
    uint64_t x[16], y[16];   /* the counters after size and reserved */
    unsigned i;
    memcpy(x, (const char *)a + 8, sizeof x);
    memcpy(y, (const char *)b + 8, sizeof y);
    for (i = 0; i < sizeof stat_names / sizeof stat_names[0]; i++)
        if (x[i] != y[i]) {
            snprintf(text, sizeof text, "%s: A %llu, B %llu", stat_names[i], ULL(x[i]), ULL(y[i]));
            return text;
        }
    return NULL;
}

static void compare_fault_record(const smmu_fault *a, const smmu_fault *b, const char *what, int i)
{
    AGREE(a->size == b->size && a->type == b->type && a->level == b->level && a->stream_id == b->stream_id
              && a->context_bank == b->context_bank && a->asid == b->asid && a->access == b->access,
          "%s[%d]: A size %u type %u level %u sid %u cb %u asid %u access 0x%x / B %u %u %u %u %u %u 0x%x", what, i,
          a->size, a->type, a->level, a->stream_id, a->context_bank, a->asid, a->access, b->size, b->type, b->level,
          b->stream_id, b->context_bank, b->asid, b->access);
    AGREE(a->iova == b->iova && a->fsr == b->fsr && a->fsynr == b->fsynr && a->stage == b->stage
              && a->s1ptw == b->s1ptw && a->ipa == b->ipa,
          "%s[%d]: A iova 0x%llx fsr 0x%x fsynr 0x%x stage %u s1ptw %u ipa 0x%llx / B 0x%llx 0x%x 0x%x %u %u 0x%llx", what,
          i, ULL(a->iova), a->fsr, a->fsynr, a->stage, a->s1ptw, ULL(a->ipa), ULL(b->iova), b->fsr, b->fsynr, b->stage,
          b->s1ptw, ULL(b->ipa));
}

/* The handlers' logs of this operation, record by record and field by field; then empties them. */
static void compare_logs(void)
{
    const char *diff;
    int i;
    AGREE(A.fn == B.fn, "fault handler calls: A %d, B %d", A.fn, B.fn);
    for (i = 0; i < A.fn && i < B.fn && i < LOG_MAX; i++) {
        const struct frec *a = &A.f[i], *b = &B.f[i];
        AGREE(a->smmu_ok && b->smmu_ok && a->base == b->base && a->active == b->active,
              "fault[%d]: instance ok %d/%d, base role %d/%d, active role %d/%d", i, a->smmu_ok, b->smmu_ok, a->base,
              b->base, a->active, b->active);
        compare_fault_record(&a->f, &b->f, "fault", i);
        AGREE(a->action == b->action && a->map_rc == b->map_rc && a->xl_rc == b->xl_rc && a->xl_pa == b->xl_pa
                  && a->reset_rc == b->reset_rc,
              "fault[%d]: handler action %d/%d, its map %d/%d, its translation %d 0x%llx / %d 0x%llx, its reset %d/%d",
              i, a->action, b->action, a->map_rc, b->map_rc, a->xl_rc, ULL(a->xl_pa), b->xl_rc, ULL(b->xl_pa),
              a->reset_rc, b->reset_rc);
        diff = stats_diff(&a->st, &b->st);
        AGREE(a->st_rc == b->st_rc && diff == NULL, "fault[%d]: stats read inside the handler: rc %d/%d, %s", i,
              a->st_rc, b->st_rc, diff ? diff : "equal");
    }
    AGREE(A.sn == B.sn, "sanitizer reports: A %d, B %d", A.sn, B.sn);
    for (i = 0; i < A.sn && i < B.sn && i < LOG_MAX; i++) {
        const struct srec *a = &A.r[i], *b = &B.r[i];
        const smmu_stale_report *x = &a->r, *y = &b->r;
        AGREE(a->smmu_ok && b->smmu_ok && a->domain == b->domain && x->size == y->size && x->kind == y->kind
                  && x->stream_id == y->stream_id && x->context_bank == y->context_bank && x->asid == y->asid
                  && x->vmid == y->vmid && x->access == y->access,
              "report[%d]: A ok %d domain %d size %u kind %u sid %u cb %u asid %u vmid %u access 0x%x / B %d %d %u %u "
              "%u %u %u %u 0x%x", i, a->smmu_ok, a->domain, x->size, x->kind, x->stream_id, x->context_bank, x->asid,
              x->vmid, x->access, b->smmu_ok, b->domain, y->size, y->kind, y->stream_id, y->context_bank, y->asid,
              y->vmid, y->access);
        AGREE(x->iova == y->iova && x->iova_last == y->iova_last && x->stale_pa == y->stale_pa
                  && x->current_pa == y->current_pa && x->stale_granted == y->stale_granted
                  && x->current_fault == y->current_fault && x->table_pages == y->table_pages,
              "report[%d]: A iova 0x%llx..0x%llx stale 0x%llx current 0x%llx granted %u fault %u tables %u / B 0x%llx.."
              "0x%llx 0x%llx 0x%llx %u %u %u", i, ULL(x->iova), ULL(x->iova_last), ULL(x->stale_pa),
              ULL(x->current_pa), x->stale_granted, x->current_fault, x->table_pages, ULL(y->iova), ULL(y->iova_last),
              ULL(y->stale_pa), ULL(y->current_pa), y->stale_granted, y->current_fault, y->table_pages);
        AGREE(a->xl_rc == b->xl_rc && a->xl_pa == b->xl_pa, "report[%d]: translation inside: A %d 0x%llx / B %d 0x%llx",
              i, a->xl_rc, ULL(a->xl_pa), b->xl_rc, ULL(b->xl_pa));
        diff = stats_diff(&a->st, &b->st);
        AGREE(a->st_rc == b->st_rc && diff == NULL, "report[%d]: stats read inside the handler: rc %d/%d, %s", i,
              a->st_rc, b->st_rc, diff ? diff : "equal");
    }
    G.faults_logged += A.fn;
    G.reports_logged += A.sn;
    A.fn = B.fn = A.sn = B.sn = 0;
}

/* Every field of smmu_stats. */
static void compare_stats(void)
{
    smmu_stats a, b;
    const char *diff;
    int32_t ra, rb;
    a.size = b.size = sizeof a;
    ra = smmu_get_stats(A.s, &a);
    rb = smmu_get_stats(B.s, &b);
    AGREE(ra == 0 && rb == 0, "smmu_get_stats: A %d, B %d", ra, rb);
    if (ra != 0 || rb != 0)
        return;
    diff = stats_diff(&a, &b);
    AGREE(diff == NULL, "stats.%s", diff);
}

/* A bank's registers (domains by role) and its fault record. */
static void compare_bank(uint32_t cb)
{
    smmu_cb_state a, b;
    smmu_fault fa, fb;
    int32_t ra, rb;
    a.size = b.size = sizeof a;
    ra = smmu_get_context_bank(A.s, cb, &a);
    rb = smmu_get_context_bank(B.s, cb, &b);
    AGREE(ra == rb, "get_context_bank(%u): A %d, B %d", cb, ra, rb);
    if (ra == 0 && rb == 0) {
        int ba = role_of(&A, a.base_domain), bb = role_of(&B, b.base_domain);
        int aa = role_of(&A, a.active_domain), ab = role_of(&B, b.active_domain);
        a.base_domain = b.base_domain = a.active_domain = b.active_domain = 0;
        AGREE(ba == bb && aa == ab, "cb %u: base role %d/%d, active role %d/%d", cb, ba, bb, aa, ab);
        if (cb == G.cb_main)
            G.active = aa;
        AGREE(memcmp(&a, &b, sizeof a) == 0,
              "cb %u: A in_use %u asid %u ttbr0 0x%llx ttbr1 0x%llx vttbr 0x%llx fsr 0x%x fsynr0 0x%x far 0x%llx "
              "ipafar 0x%llx vmid %u flags 0x%x streams %u dyn %u / B %u %u 0x%llx 0x%llx 0x%llx 0x%x 0x%x 0x%llx "
              "0x%llx %u 0x%x %u %u", cb, a.in_use, a.asid, ULL(a.ttbr0), ULL(a.ttbr1), ULL(a.vttbr), a.fsr, a.fsynr0,
              ULL(a.far), ULL(a.ipafar), a.vmid, a.flags, a.stream_count, a.dynamic_count, b.in_use, b.asid,
              ULL(b.ttbr0), ULL(b.ttbr1), ULL(b.vttbr), b.fsr, b.fsynr0, ULL(b.far), ULL(b.ipafar), b.vmid, b.flags,
              b.stream_count, b.dynamic_count);
    }
    memset(&fa, 0, sizeof fa);
    memset(&fb, 0, sizeof fb);
    fa.size = fb.size = sizeof fa;
    ra = smmu_get_fault(A.s, cb, &fa);
    rb = smmu_get_fault(B.s, cb, &fb);
    AGREE(ra == rb, "get_fault(%u): A %d, B %d", cb, ra, rb);
    if (ra == 0 && rb == 0) {
        AGREE(role_of(&A, fa.active_domain) == role_of(&B, fb.active_domain), "get_fault(%u): active role %d/%d", cb,
              role_of(&A, fa.active_domain), role_of(&B, fb.active_domain));
        compare_fault_record(&fa, &fb, "get_fault", (int)cb);
    }
}

static void compare_gather(int i)
{
    const smmu_gather *a = &A.g[i], *b = &B.g[i];
    AGREE(role_of(&A, a->domain) == role_of(&B, b->domain) && a->start == b->start && a->end == b->end
              && a->pgsize == b->pgsize && a->ticket == b->ticket,
          "gather %d: A domain %d 0x%llx..0x%llx pgsize 0x%llx ticket 0x%llx / B %d 0x%llx..0x%llx 0x%llx 0x%llx", i,
          role_of(&A, a->domain), ULL(a->start), ULL(a->end), ULL(a->pgsize), ULL(a->ticket), role_of(&B, b->domain),
          ULL(b->start), ULL(b->end), ULL(b->pgsize), ULL(b->ticket));
}

/* After every operation: the logs, the statistics, the banks in use (every bank now and then). */
static void compare_all(void)
{
    compare_logs();
    compare_stats();
    if (G.op % 64 == 0) {
        uint32_t cb;
        for (cb = 0; cb < 8; cb++)
            compare_bank(cb);
    } else {
        compare_bank(G.cb_main);
        if (G.c->s2only)
            compare_bank(G.cb_s2);
    }
}

/* A call made on both sides with the same arguments must return the same code; BOTH keeps it in last_rc
 * (A's), to drive the state that follows. */
static int64_t last_rc;

static void both_rc(int line, int64_t ra, int64_t rb, const char *fmt, ...) CHECK_PRINTF(4, 5);
static void both_rc(int line, int64_t ra, int64_t rb, const char *fmt, ...)
{
    char what[256];
    va_list args;
    last_rc = ra;
    if (ra == rb)
        return;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    mismatch(line, "%s: A %lld, B %lld", what, (long long)ra, (long long)rb);
}

#define BOTH(call_a, call_b, ...)                                                                                     \
    do {                                                                                                          \
        int64_t ra_ = (call_a);                                                                                   \
        int64_t rb_ = (call_b);                                                                                   \
        both_rc(__LINE__, ra_, rb_, __VA_ARGS__);                                                                 \
    } while (0)

/* ---- building a side ------------------------------------------------------------------------------- */

static int side_up(struct side *x)
{
    const struct config *c = G.c;
    smmu_config cfg;
    int32_t one = 1;
    uint32_t two = 2, u;
    int i;

    memset(x->d, 0, sizeof x->d);
    x->fn = x->sn = 0;
    x->fcalls = x->scalls = 0;
    for (i = 0; i < MAXD; i++)
        smmu_gather_init(&x->g[i]);
    smmu_config_init(&cfg);
    cfg.num_stream_ids = NUM_SIDS;
    if (c->tlb_entries) {
        cfg.tlb_entries = c->tlb_entries;
        cfg.tlb_ways = c->tlb_ways;
    }
    cfg.flags = c->flags;
    if (c->flags & SMMU_CFG_LAZY_FLUSH)
        cfg.flush_queue_size = 8;
    x->s = make_smmu(&cfg);
    if (!x->s)
        return 0;

    /* nested: the stage-2 domain maps the table pool IPA = PA and a 1 GiB block of W_IPA */
    if (c->nested) {
        x->d[D_S2] = make_domain(x->s);
        if (!CHECK_RC(0, smmu_domain_set_attr(x->s, x->d[D_S2], SMMU_ATTR_STAGE, &two, sizeof two))
            || !CHECK_RC(0, smmu_map(x->s, x->d[D_S2], POOL_BASE, POOL_BASE, POOL_BYTES, P_RW))
            || !CHECK_RC(0, smmu_map(x->s, x->d[D_S2], W_IPA + GIANT_OFF, PA_S2 + GIB, GIB, P_RW)))
            return 0;
    }
    x->d[D_BASE] = make_domain(x->s);
    if (c->granule != 4096
        && !CHECK_RC(0, smmu_domain_set_attr(x->s, x->d[D_BASE], SMMU_ATTR_GRANULE, &c->granule, sizeof c->granule)))
        return 0;
    if (c->split && !CHECK_RC(0, smmu_domain_set_attr(x->s, x->d[D_BASE], SMMU_ATTR_SPLIT_TTBR1, &one, sizeof one)))
        return 0;
    if (c->nested) {
        u = x->d[D_S2];
        if (!CHECK_RC(0, smmu_domain_set_attr(x->s, x->d[D_BASE], SMMU_ATTR_NEST_PARENT, &u, sizeof u)))
            return 0;
    }
    if (!CHECK_RC(0, smmu_attach_device(x->s, x->d[D_BASE], SID_MAIN))
        || !CHECK_RC(0, smmu_attach_device(x->s, x->d[D_BASE], SID_SECOND)))
        return 0;
    u = attr_u32(x->s, x->d[D_BASE], SMMU_ATTR_CONTEXT_BANK);
    for (i = D_DYN1; i < D_DYN1 + NDYN; i++) {
        x->d[i] = make_domain(x->s);
        if (c->granule != 4096
            && !CHECK_RC(0, smmu_domain_set_attr(x->s, x->d[i], SMMU_ATTR_GRANULE, &c->granule, sizeof c->granule)))
            return 0;
        if (!CHECK_RC(0, make_dynamic(x->s, x->d[i], u)) || !CHECK_RC(0, smmu_attach_device(x->s, x->d[i], SID_MAIN)))
            return 0;
    }
    if (c->s2only) {
        x->d[D_S2ONLY] = make_domain(x->s);
        if (!CHECK_RC(0, smmu_domain_set_attr(x->s, x->d[D_S2ONLY], SMMU_ATTR_STAGE, &two, sizeof two))
            || !CHECK_RC(0, smmu_attach_device(x->s, x->d[D_S2ONLY], SID_S2))
            || !CHECK_RC(0, smmu_set_fault_handler(x->s, x->d[D_S2ONLY], on_fault, x)))
            return 0;
    }
    return CHECK_RC(0, smmu_set_fault_handler(x->s, x->d[D_BASE], on_fault, x))
           && CHECK_RC(0, smmu_set_sanitizer_handler(x->s, on_report, x));
}

static int pair_up(void)
{
    int i;
    if (!side_up(&A) || !side_up(&B))
        return 0;
    for (i = 0; i < MAXD; i++)
        G.attached[i] = i >= D_DYN1 && i < D_DYN1 + NDYN;
    G.second = G.fault_handler = G.s2_handler = 1;
    memset(G.poked, 0, sizeof G.poked);
    G.cb_main = attr_u32(A.s, A.d[D_BASE], SMMU_ATTR_CONTEXT_BANK);
    CHECK(attr_u32(B.s, B.d[D_BASE], SMMU_ATTR_CONTEXT_BANK) == G.cb_main, "%s: both bases on bank %u", G.c->name,
          G.cb_main);
    G.cb_s2 = G.c->s2only ? attr_u32(A.s, A.d[D_S2ONLY], SMMU_ATTR_CONTEXT_BANK) : 0;
    return 1;
}

/* ---- picking addresses, rights and accesses --------------------------------------------------------- */

/* An input address in a window of base w (stage-1 sizes, or 4 KiB / 2 MiB for IPAs). */
static uint64_t window_addr(uint64_t w, uint64_t pg, uint64_t blk)
{
    uint32_t k = below(100);
    uint64_t off = (uint64_t)below((uint32_t)(pg / 8)) * 8;
    if (k < 50)
        return w + PAGES_OFF + below(NPAGES) * pg + off;
    if (k < 80)
        return w + BLOCKS_OFF + below(NBLOCKS) * blk + below(NBPAGES) * pg + off;
    return w + GIANT_OFF + below(NGIANT) * GIB + below(8) * blk + below(NBPAGES) * pg + off;
}

/* An address no window holds: beyond ias, between the halves, anywhere. */
static uint64_t garbage_addr(void)
{
    switch (below(4)) {
    case 0: return (1ull << 48) + (uint64_t)below(1u << 20) * 8;
    case 1: return 0xfffe000000000000ull + (uint64_t)below(1u << 20) * 8;
    case 2: return 0xffffffffffff0000ull + (uint64_t)below(0x2000) * 8;
    default: return xorshift64(&G.rng) & ~7ull;
    }
}

/* An IOVA that translated lately through sid (its stream's kind), or 0; *access (if not NULL) becomes
 * the access that succeeded there, most of the time. */
static uint64_t good_iova(uint32_t sid, uint32_t *access)
{
    unsigned t;
    for (t = 0; t < 4; t++) {
        unsigned i = below(GOOD);
        if (G.good[i].iova != 0 && (G.good[i].sid == SID_S2) == (sid == SID_S2)
            && (sid == SID_S2 || G.good[i].active == G.active)) {
            if (access && below(8) != 0)
                *access = G.good[i].access;
            return G.good[i].iova;
        }
    }
    return 0;
}

/* Mostly where translations succeeded lately (hits), else anywhere in the windows (misses, faults). */
static uint64_t pick_iova(uint32_t sid, uint32_t *access)
{
    uint32_t k = below(100);
    uint64_t good = k < 60 ? good_iova(sid, access) : 0;
    if (good)
        return good;
    if (k < 3)
        return garbage_addr();
    if (sid == SID_S2)
        return window_addr(W_IPA, 4 * KIB, 2 * MIB);
    if (k < 12)
        return G.recent[below(RECENT)];
    return window_addr(G.c->split && below(3) == 0 ? W_HI : W_LO, G.pg, G.blk);
}

static void remember(uint64_t iova)
{
    G.recent[G.recent_next++ % RECENT] = iova;
}

static void remember_good(uint32_t sid, uint64_t iova, uint32_t access)
{
    unsigned i = G.good_next++ % GOOD;
    G.good[i].sid = sid;
    G.good[i].iova = iova;
    G.good[i].access = access;
    G.good[i].active = G.active;
}

static uint32_t pick_sid(void)
{
    uint32_t k = below(100);
    if (G.c->s2only && k < 25)
        return SID_S2;
    return k % 16 == 0 ? SID_SECOND : SID_MAIN;
}

static uint32_t pick_access(void)
{
    static const uint32_t kinds[] = { RD, RD, RD, RD, WR, WR, WR, EX, RD | WR, RD | EX, WR | EX };
    return kinds[below(sizeof kinds / sizeof kinds[0])] | (below(4) == 0 ? PRIV : 0);
}

static uint32_t pick_prot(int stage2, int upper)
{
    static const uint32_t prots[] = {
        P_R, P_W, P_RW, P_RW, P_RW, P_R | SMMU_PROT_PRIV, P_RW | SMMU_PROT_PRIV, P_W | SMMU_PROT_PRIV,
        P_R | SMMU_PROT_NOEXEC, P_RW | SMMU_PROT_NOEXEC, P_RW | SMMU_PROT_CACHE, P_R | SMMU_PROT_MMIO | SMMU_PROT_NOEXEC,
    };
    uint32_t prot = prots[below(sizeof prots / sizeof prots[0])];
    if (stage2)
        prot &= ~(uint32_t)SMMU_PROT_PRIV;
    else if (below(100) < (upper ? 60u : 5u))
        prot |= SMMU_PROT_GLOBAL;   /* entries without an ASID: the split base's upper half, now and then elsewhere */
    if (below(2000) == 0)
        prot |= 0x100;              /* an unknown bit: EINVAL */
    return prot;
}

/* A domain to map in or unmap from: the stage-1 ones mostly, the stage-2 ones now and then. */
static int pick_domain(void)
{
    uint32_t k = below(100);
    if (G.c->nested && k < 15)
        return D_S2;
    if (G.c->s2only && k < 25)
        return D_S2ONLY;
    return (int)below(1 + NDYN);
}

struct geometry {
    uint64_t w, pg, blk;
    int stage2, upper;
};

static struct geometry geometry_of(int dom)
{
    struct geometry g;
    g.stage2 = dom == D_S2 || dom == D_S2ONLY;
    g.upper = G.c->split && dom == D_BASE;
    g.w = g.stage2 ? W_IPA : g.upper ? W_HI : W_LO;
    g.pg = g.stage2 ? 4 * KIB : G.pg;
    g.blk = g.stage2 ? 2 * MIB : G.blk;
    return g;
}

/* An output address for a leaf of `size` in domain dom: stage 1 (nested: an IPA that stage 2 may or may
 * not map), or a stage-2 PA. */
static uint64_t pick_output(const struct geometry *g, uint64_t size)
{
    if (g->stage2)
        return PA_S2 + (uint64_t)below(256) * (size > g->blk ? size : g->blk);
    if (G.c->nested) {
        uint32_t k = below(100);
        if (size == GIB)
            return W_IPA + GIANT_OFF + below(NGIANT) * GIB;
        if (size == g->blk)
            return k < 50 ? W_IPA + BLOCKS_OFF + below(NBLOCKS) * size : W_IPA + GIANT_OFF + below(64) * size;
        if (k < 50)
            return W_IPA + PAGES_OFF + below(NPAGES) * size;
        if (k < 80)
            return W_IPA + GIANT_OFF + below(512) * size;
        return W_IPA + BLOCKS_OFF + below(NBLOCKS) * 2 * MIB + below(NBPAGES) * size;
    }
    return PA_S1 + (uint64_t)below(4096) * size;
}

/* ---- the operations ------------------------------------------------------------------------------------ */

static void op_translate(void)
{
    uint32_t sid = pick_sid(), access = pick_access();
    uint64_t iova = pick_iova(sid, &access), pa = POISON, pb = POISON, hits;
    int32_t ra, rb;
    G.what = "translate";
    hits = view_of(A.s)->hits;
    ra = smmu_translate(A.s, sid, iova, access, &pa);
    if (sid == SID_S2 && view_of(A.s)->hits > hits)   /* (not across a reset in a handler) */
        G.s2_inline_hits += view_of(A.s)->hits - hits;
    rb = (smmu_translate)(B.s, sid, iova, access, &pb);
    AGREE(ra == rb && pa == pb, "translate(sid %u, 0x%llx, access 0x%x): A %d pa 0x%llx, B %d pa 0x%llx", sid, ULL(iova),
          access, ra, ULL(pa), rb, ULL(pb));
    remember(iova);
    if (ra == 0 && below(2) == 0)
        remember_good(sid, iova, access);
    G.translations++;
}

/* 0..64 IOVAs: a third of the batches only where translations succeeded lately (long runs of hits), the
 * others mixed with consecutive pages and anywhere in the windows (a miss, a fault, a hit without the
 * rights mid-batch). */
static void op_batch(void)
{
    uint64_t iovas[64], pa[64], pb[64], hits;
    uint32_t sid = pick_sid(), access = pick_access(), n = below(65), i, hot = below(3) == 0;
    size_t da = 777, db = 777;
    int32_t ra, rb;
    uint64_t step = sid == SID_S2 ? 4 * KIB : G.pg;
    G.what = "batch";
    for (i = 0; i < n; i++) {
        uint32_t k = below(100);
        uint64_t good = hot ? good_iova(sid, i == 0 ? &access : NULL) : 0;
        if (good)
            iovas[i] = good;
        else if (i == 0 || k < 55)
            iovas[i] = pick_iova(sid, i == 0 ? &access : NULL);
        else if (k < 85)
            iovas[i] = iovas[i - 1] + step;
        else
            iovas[i] = iovas[i - 1];
    }
    for (i = 0; i < 64; i++)
        pa[i] = pb[i] = POISON;
    hits = view_of(A.s)->hits;
    ra = smmu_translate_batch(A.s, sid, iovas, pa, n, access, &da);
    if (sid == SID_S2 && view_of(A.s)->hits > hits)   /* (not across a reset in a handler) */
        G.s2_inline_hits += view_of(A.s)->hits - hits;
    rb = (smmu_translate_batch)(B.s, sid, iovas, pb, n, access, &db);
    AGREE(ra == rb && da == db, "batch(sid %u, %u iovas from 0x%llx, access 0x%x): A %d done %zu, B %d done %zu", sid, n,
          ULL(n ? iovas[0] : 0), access, ra, da, rb, db);
    for (i = 0; i < 64; i++)
        if (pa[i] != pb[i]) {
            mismatch(__LINE__, "batch(sid %u, %u iovas, access 0x%x): out_pas[%u] (iova 0x%llx): A 0x%llx, B 0x%llx",
                     sid, n, access, i, ULL(i < n ? iovas[i] : 0), ULL(pa[i]), ULL(pb[i]));
            break;
        }
    for (i = 0; i < n; i += 8)
        remember(iovas[i]);
    if (da > 0 && below(2) == 0)
        remember_good(sid, iovas[below((uint32_t)da)], access);
    G.batches++;
    G.batch_items += n;
}

/* A run of pages, a block, a page inside a block slot, a block inside a 1 GiB slot, or a 1 GiB block;
 * with smmu_map or smmu_map_pages. */
static void op_map(void)
{
    int dom = pick_domain();
    struct geometry g = geometry_of(dom);
    uint32_t k = below(100), prot = pick_prot(g.stage2, g.upper);
    uint64_t iova, size, pgsize, count = 1, pa, ma = 1, mb = 2;
    if (k < 45) {
        count = 1 + below(4);
        pgsize = g.pg;
        iova = g.w + PAGES_OFF + below(NPAGES) * g.pg;
    } else if (k < 60) {
        pgsize = g.pg;
        iova = g.w + BLOCKS_OFF + below(NBLOCKS) * g.blk + below(NBPAGES) * g.pg;
    } else if (k < 85) {
        pgsize = g.blk;
        iova = g.w + BLOCKS_OFF + below(NBLOCKS) * g.blk;
    } else if (k < 95 || g.pg != 4 * KIB) {
        pgsize = g.blk;
        iova = g.w + GIANT_OFF + below(NGIANT) * GIB + below(8) * g.blk;
    } else {
        pgsize = GIB;
        iova = g.w + GIANT_OFF + below(NGIANT) * GIB;
    }
    size = pgsize * count;
    pa = pick_output(&g, pgsize);
    if (below(2)) {
        G.what = "map";
        BOTH(smmu_map(A.s, A.d[dom], iova, pa, size, prot), smmu_map(B.s, B.d[dom], iova, pa, size, prot),
             "map(domain %d, 0x%llx -> 0x%llx, 0x%llx, prot 0x%x)", dom, ULL(iova), ULL(pa), ULL(size), prot);
    } else {
        G.what = "map_pages";
        BOTH(smmu_map_pages(A.s, A.d[dom], iova, pa, pgsize, count, prot, &ma),
             smmu_map_pages(B.s, B.d[dom], iova, pa, pgsize, count, prot, &mb),
             "map_pages(domain %d, 0x%llx -> 0x%llx, 0x%llx x %llu, prot 0x%x)", dom, ULL(iova), ULL(pa), ULL(pgsize),
             ULL(count), prot);
        AGREE(ma == mb, "map_pages: mapped A 0x%llx, B 0x%llx", ULL(ma), ULL(mb));
    }
}

/* What to unmap: pages, a page inside a block (a split), a block, a 1 GiB slot. */
static void pick_unmap(const struct geometry *g, uint64_t *iova, uint64_t *pgsize, uint64_t *count)
{
    uint32_t k = below(100);
    *count = 1;
    if (k < 40) {
        *pgsize = g->pg;
        *count = 1 + below(4);
        *iova = g->w + PAGES_OFF + below(NPAGES) * g->pg;
    } else if (k < 60) {
        *pgsize = g->pg;
        *count = 1 + below(2);
        *iova = g->w + BLOCKS_OFF + below(NBLOCKS) * g->blk + below(NBPAGES) * g->pg;
    } else if (k < 80) {
        *pgsize = g->blk;
        *iova = g->w + BLOCKS_OFF + below(NBLOCKS) * g->blk;
    } else if (k < 95 || g->pg != 4 * KIB) {
        *pgsize = g->blk;
        *iova = g->w + GIANT_OFF + below(NGIANT) * GIB + below(8) * g->blk;
    } else {
        *pgsize = GIB;
        *iova = g->w + GIANT_OFF + below(NGIANT) * GIB;
    }
}

static void op_unmap(void)
{
    int dom = pick_domain();
    struct geometry g = geometry_of(dom);
    uint64_t iova, pgsize, count;
    pick_unmap(&g, &iova, &pgsize, &count);
    G.what = "unmap";
    BOTH(smmu_unmap(A.s, A.d[dom], iova, pgsize * count), smmu_unmap(B.s, B.d[dom], iova, pgsize * count),
         "unmap(domain %d, 0x%llx, 0x%llx)", dom, ULL(iova), ULL(pgsize * count));
}

/* Deferred: into the domain's gather; synced by op_sync (or by the gather rules, or at detach). */
static void op_unmap_gather(void)
{
    int dom = pick_domain();
    struct geometry g = geometry_of(dom);
    uint64_t iova, pgsize, count;
    pick_unmap(&g, &iova, &pgsize, &count);
    G.what = "unmap_pages";
    BOTH(smmu_unmap_pages(A.s, A.d[dom], iova, pgsize, count, &A.g[dom]),
         smmu_unmap_pages(B.s, B.d[dom], iova, pgsize, count, &B.g[dom]), "unmap_pages(domain %d, 0x%llx, 0x%llx x %llu)",
         dom, ULL(iova), ULL(pgsize), ULL(count));
    compare_gather(dom);
}

static void op_sync(void)
{
    int dom = pick_domain();
    G.what = "iotlb_sync";
    BOTH(smmu_iotlb_sync(A.s, A.d[dom], &A.g[dom]), smmu_iotlb_sync(B.s, B.d[dom], &B.g[dom]), "iotlb_sync(domain %d)",
         dom);
    compare_gather(dom);
    if (G.c->flags & SMMU_CFG_LAZY_FLUSH && below(4) == 0) {
        G.what = "flush_queue";
        BOTH(smmu_flush_queue(A.s), smmu_flush_queue(B.s), "flush_queue");
    }
}

static void op_switch(void)
{
    int dom = (int)below(1 + NDYN);
    G.what = "switch";
    BOTH(smmu_switch_domain(A.s, A.d[dom]), smmu_switch_domain(B.s, B.d[dom]), "switch_domain(%d)", dom);
}

/* An ASID (or VMID) attribute read on both sides: must agree; a value to use, or `otherwise`. */
static uint32_t both_attr(int dom, uint32_t attr, uint32_t otherwise)
{
    uint32_t va = 0, vb = 0;
    int32_t ra = smmu_domain_get_attr(A.s, A.d[dom], attr, &va, sizeof va);
    int32_t rb = smmu_domain_get_attr(B.s, B.d[dom], attr, &vb, sizeof vb);
    AGREE(ra == rb && (ra != 0 || va == vb), "get_attr(domain %d, %u): A %d %u, B %d %u", dom, attr, ra, va, rb, vb);
    return ra == 0 ? va : otherwise;
}

static void op_invalidate(void)
{
    uint32_t k = below(100), asid = both_attr((int)below(1 + NDYN), SMMU_ATTR_ASID, 1 + below(8));
    uint64_t iova = window_addr(G.c->split && below(2) ? W_HI : W_LO, G.pg, G.blk) & ~(G.pg - 1);
    uint64_t size = below(2) ? G.pg : G.blk;
    G.what = "tlb_inv";
    if (k < 15)
        BOTH(smmu_tlb_inv_all(A.s), smmu_tlb_inv_all(B.s), "tlb_inv_all");
    else if (k < 40)
        BOTH(smmu_tlb_inv_asid(A.s, asid), smmu_tlb_inv_asid(B.s, asid), "tlb_inv_asid(%u)", asid);
    else if (k < 70)
        BOTH(smmu_tlb_inv_va(A.s, asid, iova, size), smmu_tlb_inv_va(B.s, asid, iova, size), "tlb_inv_va(%u, 0x%llx, 0x%llx)",
             asid, ULL(iova), ULL(size));
    else if (k < 90 || !(G.c->nested || G.c->s2only))
        BOTH(smmu_tlb_inv_va_all(A.s, iova, size), smmu_tlb_inv_va_all(B.s, iova, size), "tlb_inv_va_all(0x%llx, 0x%llx)",
             ULL(iova), ULL(size));
    else {
        uint32_t vmid = both_attr(G.c->nested ? D_S2 : D_S2ONLY, SMMU_ATTR_VMID, 1);
        uint64_t ipa = window_addr(W_IPA, 4 * KIB, 2 * MIB) & ~(4 * KIB - 1);
        if (below(2))
            BOTH(smmu_tlb_inv_vmid(A.s, vmid), smmu_tlb_inv_vmid(B.s, vmid), "tlb_inv_vmid(%u)", vmid);
        else
            BOTH(smmu_tlb_inv_ipa(A.s, vmid, ipa, 2 * MIB), smmu_tlb_inv_ipa(B.s, vmid, ipa, 2 * MIB),
                 "tlb_inv_ipa(%u, 0x%llx)", vmid, ULL(ipa));
    }
}

/* The root table of a domain's tables (0 if it has none in use). */
static uint64_t root_of(const struct side *x, int dom)
{
    uint64_t v = 0;
    uint32_t attr = dom == D_S2 || dom == D_S2ONLY ? SMMU_ATTR_VTTBR
                    : G.c->split && dom == D_BASE   ? SMMU_ATTR_TTBR1
                                                    : SMMU_ATTR_TTBR0;
    if (smmu_domain_get_attr(x->s, x->d[dom], attr, &v, sizeof v) != SMMU_OK)
        return 0;
    return v & 0x0000ffffffffffffull;
}

/* A leaf rewritten as a CPU store would, without invalidation: AF cleared, read-only, privileged only,
 * execute-never, or the reverse. The TLB keeps what it cached; walks see the new descriptor. */
static void op_inject(void)
{
    int dom = pick_domain();
    struct geometry g = geometry_of(dom);
    uint64_t iova = window_addr(g.w, g.pg, g.blk), ra = root_of(&A, dom), rb = root_of(&B, dom), desc;
    struct sw_walk wa, wb;
    unsigned shift = g.pg == 16 * KIB ? 14 : 12;
    G.what = "phys_write64";
    AGREE(ra == rb, "root of domain %d: A 0x%llx, B 0x%llx", dom, ULL(ra), ULL(rb));
    if (ra == 0 || ra != rb)
        return;
    wa = sw_walk(A.s, ra, iova, shift, 48);
    wb = sw_walk(B.s, rb, iova, shift, 48);
    AGREE(wa.ok == wb.ok && wa.leaf_level == wb.leaf_level && wa.desc_pa[wa.leaf_level] == wb.desc_pa[wb.leaf_level]
              && wa.desc[wa.leaf_level] == wb.desc[wb.leaf_level],
          "walk of domain %d at 0x%llx: A ok %d level %d desc 0x%llx, B ok %d level %d desc 0x%llx", dom, ULL(iova), wa.ok,
          wa.leaf_level, ULL(wa.desc[wa.leaf_level]), wb.ok, wb.leaf_level, ULL(wb.desc[wb.leaf_level]));
    if (!wa.ok)
        return;
    desc = wa.desc[wa.leaf_level];
    switch (below(6)) {
    case 0: case 1: desc &= ~DESC_AF; break;
    case 2: desc ^= DESC_AP2; break;
    case 3: desc ^= DESC_AP1; break;
    case 4: desc |= DESC_UXN | DESC_PXN; break;
    default: desc |= DESC_AF; desc &= ~(DESC_UXN | DESC_PXN); break;
    }
    BOTH(smmu_phys_write64(A.s, wa.desc_pa[wa.leaf_level], desc), smmu_phys_write64(B.s, wb.desc_pa[wb.leaf_level], desc),
         "phys_write64(domain %d, 0x%llx, 0x%llx)", dom, ULL(wa.desc_pa[wa.leaf_level]), ULL(desc));
    G.injections++;
}

/* Arguments the inline path cannot serve: it must hand them to the library and return its code. */
static void op_bad_args(void)
{
    static const uint32_t bad_access[] = { 0, 0x10, 0x18, RD | 0x20, PRIV, 0x80000001u };
    uint64_t iovas[4], pa = POISON, pb = POISON, pas_a[4] = { POISON, POISON, POISON, POISON }, pas_b[4];
    uint32_t sid = pick_sid(), access = pick_access(), n = 1 + below(4), i;
    size_t da = 777, db = 777, count;
    int32_t ra, rb;
    for (i = 0; i < 4; i++) {
        iovas[i] = G.recent[below(RECENT)];
        pas_b[i] = POISON;
    }
    G.what = "bad args";
    switch (below(11)) {
    case 0:   /* an invalid access on a routed stream, at an IOVA that hits */
        access = bad_access[below(sizeof bad_access / sizeof bad_access[0])];
        break;
    case 1:   /* a stream out of range */
        sid = below(2) ? NUM_SIDS : 0xffffffffu;
        break;
    case 2:   /* a stream never routed */
        sid = SID_UNROUTED;
        break;
    case 3:   /* NULL out_pa */
        ra = smmu_translate(A.s, sid, iovas[0], access, NULL);
        rb = (smmu_translate)(B.s, sid, iovas[0], access, NULL);
        AGREE(ra == rb, "translate(NULL out_pa): A %d, B %d", ra, rb);
        G.bad_args++;
        return;
    case 4:   /* a batch with a NULL array (iovas, out_pas or out_done) */
        switch (below(3)) {
        case 0: ra = smmu_translate_batch(A.s, sid, NULL, pas_a, n, access, &da);
                rb = (smmu_translate_batch)(B.s, sid, NULL, pas_b, n, access, &db); break;
        case 1: ra = smmu_translate_batch(A.s, sid, iovas, NULL, n, access, &da);
                rb = (smmu_translate_batch)(B.s, sid, iovas, NULL, n, access, &db); break;
        default: ra = smmu_translate_batch(A.s, sid, iovas, pas_a, n, access, NULL);
                 rb = (smmu_translate_batch)(B.s, sid, iovas, pas_b, n, access, NULL); break;
        }
        AGREE(ra == rb && da == db && memcmp(pas_a, pas_b, sizeof pas_a) == 0,
              "batch with a NULL array: A %d done %zu, B %d done %zu", ra, da, rb, db);
        G.bad_args++;
        return;
    case 5:   /* count > INT32_MAX (checked before the arrays are read) */
        count = (size_t)0x80000000u;
        ra = smmu_translate_batch(A.s, sid, iovas, pas_a, count, access, &da);
        rb = (smmu_translate_batch)(B.s, sid, iovas, pas_b, count, access, &db);
        AGREE(ra == rb && da == db, "batch of 2^31: A %d done %zu, B %d done %zu", ra, da, rb, db);
        G.bad_args++;
        return;
    case 6:   /* count 0: on the stream picked, an unrouted one, or with an invalid access */
        if (below(2))
            sid = below(2) ? SID_UNROUTED : NUM_SIDS;
        else if (below(2))
            access = bad_access[below(sizeof bad_access / sizeof bad_access[0])];
        ra = smmu_translate_batch(A.s, sid, iovas, pas_a, 0, access, &da);
        rb = (smmu_translate_batch)(B.s, sid, iovas, pas_b, 0, access, &db);
        AGREE(ra == rb && da == db, "batch of 0 (sid %u, access 0x%x): A %d done %zu, B %d done %zu", sid, access, ra, da,
              rb, db);
        G.bad_args++;
        return;
    case 7:   /* the handle 0, and a forged one (another generation of A's / B's slot) */
        ra = smmu_translate(below(2) ? 0 : A.s ^ (1u << 10), sid, iovas[0], access, &pa);
        rb = (smmu_translate)(below(2) ? 0 : B.s ^ (1u << 10), sid, iovas[0], access, &pb);
        AGREE(ra == SMMU_EBADF && rb == SMMU_EBADF && pa == POISON && pb == POISON, "a bad handle: A %d, B %d", ra, rb);
        G.bad_args++;
        return;
    default:  /* a domain handle as the instance */
        ra = smmu_translate(A.d[D_BASE], sid, iovas[0], access, &pa);
        rb = (smmu_translate)(B.d[D_BASE], sid, iovas[0], access, &pb);
        AGREE(ra == SMMU_EBADF && rb == SMMU_EBADF, "a domain handle as the instance: A %d, B %d", ra, rb);
        G.bad_args++;
        return;
    }
    /* cases 0-2: one translation and one batch */
    ra = smmu_translate(A.s, sid, iovas[0], access, &pa);
    rb = (smmu_translate)(B.s, sid, iovas[0], access, &pb);
    AGREE(ra == rb && pa == pb, "translate(sid %u, 0x%llx, access 0x%x): A %d 0x%llx, B %d 0x%llx", sid, ULL(iovas[0]),
          access, ra, ULL(pa), rb, ULL(pb));
    ra = smmu_translate_batch(A.s, sid, iovas, pas_a, n, access, &da);
    rb = (smmu_translate_batch)(B.s, sid, iovas, pas_b, n, access, &db);
    AGREE(ra == rb && da == db && memcmp(pas_a, pas_b, sizeof pas_a) == 0,
          "batch(sid %u, %u, access 0x%x): A %d done %zu, B %d done %zu", sid, n, access, ra, da, rb, db);
    G.bad_args++;
}

/* A dynamic domain detached (a gather it left pending: a missed sync) or attached again. */
static void op_attach(void)
{
    int dom = D_DYN1 + (int)below(NDYN);
    if (G.attached[dom]) {
        G.what = "detach";
        BOTH(smmu_detach_device(A.s, A.d[dom], SID_MAIN), smmu_detach_device(B.s, B.d[dom], SID_MAIN), "detach(%d)", dom);
    } else {
        G.what = "attach";
        BOTH(smmu_attach_device(A.s, A.d[dom], SID_MAIN), smmu_attach_device(B.s, B.d[dom], SID_MAIN), "attach(%d)", dom);
    }
    if (last_rc == 0)
        G.attached[dom] = !G.attached[dom];
}

/* The second stream on the base's bank, routed or not; now and then the base's own detach (EBUSY
 * while dynamic domains are attached; otherwise it is attached again at once). */
static void op_second(void)
{
    if (below(8) == 0) {
        G.what = "detach base";
        BOTH(smmu_detach_device(A.s, A.d[D_BASE], SID_MAIN), smmu_detach_device(B.s, B.d[D_BASE], SID_MAIN),
             "detach(base, SID_MAIN)");
        if (last_rc == 0) {
            BOTH(smmu_attach_device(A.s, A.d[D_BASE], SID_MAIN), smmu_attach_device(B.s, B.d[D_BASE], SID_MAIN),
                 "attach(base, SID_MAIN) again");
            G.cb_main = attr_u32(A.s, A.d[D_BASE], SMMU_ATTR_CONTEXT_BANK);
        }
        return;
    }
    G.what = G.second ? "detach second" : "attach second";
    if (G.second)
        BOTH(smmu_detach_device(A.s, A.d[D_BASE], SID_SECOND), smmu_detach_device(B.s, B.d[D_BASE], SID_SECOND),
             "detach(base, SID_SECOND)");
    else
        BOTH(smmu_attach_device(A.s, A.d[D_BASE], SID_SECOND), smmu_attach_device(B.s, B.d[D_BASE], SID_SECOND),
             "attach(base, SID_SECOND)");
    if (last_rc == 0)
        G.second = !G.second;
}

/* Handlers removed (faults then stay recorded: FSR.MULTI) or installed; a recorded fault cleared. */
static void op_handlers(void)
{
    uint32_t k = below(100);
    if (k < 40) {
        int dom = G.c->s2only && below(2) ? D_S2ONLY : D_BASE;
        int *on = dom == D_BASE ? &G.fault_handler : &G.s2_handler;
        G.what = "fault handler";
        BOTH(smmu_set_fault_handler(A.s, A.d[dom], *on ? NULL : on_fault, &A),
             smmu_set_fault_handler(B.s, B.d[dom], *on ? NULL : on_fault, &B), "set_fault_handler(%d)", dom);
        if (last_rc == 0)
            *on = !*on;
    } else {
        uint32_t cb = G.c->s2only && below(2) ? G.cb_s2 : G.cb_main;
        G.what = "clear_fault";
        BOTH(smmu_clear_fault(A.s, cb), smmu_clear_fault(B.s, cb), "clear_fault(%u)", cb);
    }
}

/* Nested: the hypervisor takes a pool page (a guest table, maybe) away from stage 2, or gives it back;
 * a stage-1 walk through it faults at stage 2 with S1PTW. */
static void op_poke_pool(void)
{
    int p = (int)below(32);
    uint64_t ipa = POOL_BASE + (uint64_t)p * 4 * KIB;
    G.what = "poke pool";
    if (G.poked[p])
        BOTH(smmu_map(A.s, A.d[D_S2], ipa, ipa, 4 * KIB, P_RW), smmu_map(B.s, B.d[D_S2], ipa, ipa, 4 * KIB, P_RW),
             "stage-2 map of pool page %d", p);
    else
        BOTH(smmu_unmap(A.s, A.d[D_S2], ipa, 4 * KIB), smmu_unmap(B.s, B.d[D_S2], ipa, 4 * KIB),
             "stage-2 unmap of pool page %d", p);
    G.poked[p] = !G.poked[p];
}

/* Adds A's inline hits to the run's, and checks B's view served nothing. */
static void account_views(void)
{
    smmu_fast_view *va = view_of(A.s), *vb = view_of(B.s);
    account_hits();
    CHECK(vb && vb->handle == B.s && vb->hits == 0, "%s: B's view (handle 0x%08x, B 0x%08x) served %llu hits inline",
          G.c->name, vb ? vb->handle : 0, B.s, ULL(vb ? vb->hits : 0));
    CHECK(va && va->handle == A.s, "%s: A's view serves A", G.c->name);
}

static void op_reset_stats(void)
{
    account_views();
    G.what = "reset_stats";
    BOTH(smmu_reset_stats(A.s), smmu_reset_stats(B.s), "reset_stats");
}

/* The macros on a stale handle: EBADF, *out untouched, exactly as the exports. */
static void check_stale(smmu_t stale, const char *when)
{
    uint64_t iova = G.recent[0], pa = POISON, pb = POISON, pas_a[2] = { POISON, POISON }, pas_b[2] = { POISON, POISON };
    uint64_t iovas[2] = { G.recent[0], G.recent[1] };
    size_t da = 777, db = 777;
    int32_t ra = smmu_translate(stale, SID_MAIN, iova, RD, &pa), rb = (smmu_translate)(stale, SID_MAIN, iova, RD, &pb);
    CHECK(ra == SMMU_EBADF && rb == SMMU_EBADF && pa == POISON && pb == POISON,
          "%s: stale handle 0x%08x %s: macro %d, export %d", G.c->name, stale, when, ra, rb);
    ra = smmu_translate_batch(stale, SID_MAIN, iovas, pas_a, 2, RD, &da);
    rb = (smmu_translate_batch)(stale, SID_MAIN, iovas, pas_b, 2, RD, &db);
    CHECK(ra == SMMU_EBADF && rb == SMMU_EBADF && da == 777 && db == 777 && pas_a[0] == POISON && pas_b[0] == POISON,
          "%s: stale handle 0x%08x %s, batch: macro %d done %zu, export %d done %zu", G.c->name, stale, when, ra, da, rb,
          db);
}

/* Destroys the pair (and re-creates it unless final); the old handles go stale. */
static int rebuild(int final)
{
    smmu_t oa = A.s, ob = B.s;
    smmu_fast_view *v;
    G.what = "destroy";
    account_views();
    CHECK_RC(0, smmu_destroy(A.s));
    CHECK_RC(0, smmu_destroy(B.s));
    v = view_of(oa);
    CHECK(v && (v->handle & 1023u) != (oa & 1023u), "%s: a destroyed instance's view names no handle of its slot (0x%08x)", G.c->name,
          v ? v->handle : 0);
    check_stale(oa, "after destroy");
    check_stale(ob, "after destroy");
    if (final)
        return 1;
    G.what = "re-create";
    if (!pair_up())
        return 0;
    check_stale(oa, "after re-create");
    check_stale(ob, "after re-create");
    G.rebuilds++;
    return 1;
}

static const char *stage2_note(void)
{
    static char note[64];
    snprintf(note, sizeof note, " (%llu inline hits on the stage-2-only stream)", ULL(G.s2_inline_hits));
    return note;
}

/* ---- the random stream over one configuration ----------------------------------------------------- */

static void run_config(const struct config *c)
{
    struct timespec t0, t1;
    long op, before = check_failed;

    memset(&G, 0, sizeof G);
    G.c = c;
    G.rng = SEED;
    G.pg = c->granule;
    G.pg_shift = c->granule == 16384 ? 14 : 12;
    G.blk = c->granule == 16384 ? 32 * MIB : 2 * MIB;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!pair_up())
        return;
    for (op = 0; op < RECENT; op++)
        G.recent[op] = W_LO + PAGES_OFF + (uint64_t)op * G.pg;

    for (G.op = 1; G.op <= c->ops; G.op++) {
        uint32_t w = below(1000);
        if (G.op % REBUILD_EVERY == 0) {
            if (!rebuild(0))
                return;
        } else if (w < 340)
            op_translate();
        else if (w < 500)
            op_batch();
        else if (w < 640)
            op_map();
        else if (w < 660)
            op_unmap();
        else if (w < 700)
            op_unmap_gather();
        else if (w < 730)
            op_sync();
        else if (w < 775)
            op_switch();
        else if (w < 815)
            op_invalidate();
        else if (w < 835)
            op_inject();
        else if (w < 860)
            op_bad_args();
        else if (w < 872)
            op_attach();
        else if (w < 877)
            op_second();
        else if (w < 891)
            op_handlers();
        else if (w < 899) {
            if (c->nested)
                op_poke_pool();
            else
                op_translate();
        } else if (w < 900)
            op_reset_stats();
        else
            op_translate();
        compare_all();
    }
    G.what = "end";
    compare_all();
    rebuild(1);
    clock_gettime(CLOCK_MONOTONIC, &t1);

    CHECK(G.mismatches == 0, "%s: %ld differences between the inline path (A) and the exports (B)", c->name,
          G.mismatches);
    /* the inline path did serve the hits: a good part of A's TLB hits (the library serves the rest of a
     * batch after its first miss; a 16-entry TLB misses often) */
    CHECK(G.inline_hits > 50000 && G.inline_hits * 4 > G.a_hits,
          "%s: the inline path served %llu of A's %llu TLB hits", c->name, ULL(G.inline_hits), ULL(G.a_hits));
    if (c->s2only)
        CHECK(G.s2_inline_hits > 10000, "%s: the inline path served %llu hits on the stage-2-only stream", c->name,
              ULL(G.s2_inline_hits));
    CHECK(G.faults_logged > 1000 && G.injections > 100 && G.bad_args > 1000,
          "%s: the stream exercised faults (%ld), injections (%ld), bad arguments (%ld)", c->name, G.faults_logged,
          G.injections, G.bad_args);
    printf("%-14s %ld ops in %.2f s: %ld translations, %ld batches (%ld IOVAs), inline hits %llu of %llu TLB hits, "
           "%ld faults, %ld reports, %ld injections, %ld rebuilds%s%s\n",
           c->name, c->ops, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, G.translations,
           G.batches, G.batch_items, ULL(G.inline_hits), ULL(G.a_hits), G.faults_logged, G.reports_logged, G.injections,
           G.rebuilds, c->s2only ? stage2_note() : "", check_failed > before ? "  <- FAILED" : "");
    fflush(stdout);
    G.c = NULL;
}

/* ---- hand-written cases ------------------------------------------------------------------------------ */

static const struct config plain = { "hand", 0, 0, 0, 4096, 0, 0, 0, 0 };

/* The inline path serves exactly the hits: warm pages, then N translations and N batched ones: A's view
 * counts N, both instances count N hits and no walk, and a hit without the rights goes to the library. */
static void test_exact_hits(void)
{
    smmu_stats a0, b0, a1, b1;
    smmu_fast_view *v;
    uint64_t iovas[8], pa, pb, pas[8];
    size_t done;
    uint64_t h0;
    int i, r, bad = 0;

    memset(&G, 0, sizeof G);
    G.c = &plain;
    G.rng = SEED;
    G.pg = 4 * KIB;
    G.blk = 2 * MIB;
    G.pg_shift = 12;
    if (!pair_up())
        return;
    TRY_OK(smmu_map(A.s, A.d[D_BASE], 0x10000000, 0x2000000000, 8 * 4 * KIB, P_RW));
    TRY_OK(smmu_map(B.s, B.d[D_BASE], 0x10000000, 0x2000000000, 8 * 4 * KIB, P_RW));
    TRY_OK(smmu_map(A.s, A.d[D_BASE], 0x10100000, 0x2000100000, 4 * KIB, P_R));
    TRY_OK(smmu_map(B.s, B.d[D_BASE], 0x10100000, 0x2000100000, 4 * KIB, P_R));
    TRY_OK(smmu_switch_domain(A.s, A.d[D_BASE]));
    TRY_OK(smmu_switch_domain(B.s, B.d[D_BASE]));
    for (i = 0; i < 8; i++) {
        iovas[i] = 0x10000000 + (uint64_t)i * 4 * KIB + 0x10;
        TRY_OK((smmu_translate)(A.s, SID_MAIN, iovas[i], RD, &pa));   /* misses: fill the TLB */
        TRY_OK((smmu_translate)(B.s, SID_MAIN, iovas[i], RD, &pb));
    }
    TRY_OK((smmu_translate)(A.s, SID_MAIN, 0x10100000, RD, &pa));
    TRY_OK((smmu_translate)(B.s, SID_MAIN, 0x10100000, RD, &pb));
    v = view_of(A.s);
    h0 = v->hits;
    a0 = stats_of(A.s);
    b0 = stats_of(B.s);
    CHECK(memcmp(&a0, &b0, sizeof a0) == 0 && h0 == 0, "hits: warm-up agrees, no inline hit yet (%llu)", ULL(h0));

    for (r = 0; r < 1000; r++) {
        pa = pb = POISON;
        i = r % 8;
        if (smmu_translate(A.s, SID_MAIN, iovas[i], RD | (r & 1 ? WR : 0), &pa) != 0
            || (smmu_translate)(B.s, SID_MAIN, iovas[i], RD | (r & 1 ? WR : 0), &pb) != 0 || pa != pb
            || pa != 0x2000000000 + (uint64_t)i * 4 * KIB + 0x10)
            bad++;
    }
    for (r = 0; r < 100; r++) {
        if (smmu_translate_batch(A.s, SID_MAIN, iovas, pas, 8, WR, &done) != 0 || done != 8
            || pas[7] != 0x2000007010)
            bad++;
        if ((smmu_translate_batch)(B.s, SID_MAIN, iovas, pas, 8, WR, &done) != 0 || done != 8)
            bad++;
    }
    a1 = stats_of(A.s);
    b1 = stats_of(B.s);
    CHECK(bad == 0, "hits: 1000 translations and 100 batches of 8 agree (%d wrong)", bad);
    CHECK(v->hits - h0 == 1800, "hits: the inline path served exactly the 1800 hits (%llu)", ULL(v->hits - h0));
    CHECK(memcmp(&a1, &b1, sizeof a1) == 0, "hits: A's and B's statistics are equal (translations %llu/%llu, hits "
          "%llu/%llu)", ULL(a1.translations), ULL(b1.translations), ULL(a1.tlb_hits), ULL(b1.tlb_hits));
    CHECK(a1.translations - a0.translations == 1800 && a1.tlb_hits - a0.tlb_hits == 1800 && a1.walks == a0.walks
              && a1.tlb_misses == a0.tlb_misses,
          "hits: 1800 translations, 1800 hits, no miss, no walk (%llu %llu %llu %llu)",
          ULL(a1.translations - a0.translations), ULL(a1.tlb_hits - a0.tlb_hits), ULL(a1.walks - a0.walks),
          ULL(a1.tlb_misses - a0.tlb_misses));

    /* a hit without the rights (a write to the read-only page): the library's, a permission fault */
    h0 = v->hits;
    pa = pb = POISON;
    CHECK(smmu_translate(A.s, SID_MAIN, 0x10100008, WR, &pa) == SMMU_EFAULT
              && (smmu_translate)(B.s, SID_MAIN, 0x10100008, WR, &pb) == SMMU_EFAULT && pa == POISON && pb == POISON,
          "hits: a write to the read-only page faults on both");
    CHECK(v->hits == h0, "hits: the inline path left the hit without the rights to the library");
    CHECK(A.fn == 1 && B.fn == 1 && A.f[0].f.type == SMMU_FAULT_PERMISSION && B.f[0].f.type == SMMU_FAULT_PERMISSION,
          "hits: one permission fault reported on each side (%d, %d)", A.fn, B.fn);
    /* and a batch that stops on it: the first ones served inline, the library from there */
    iovas[2] = 0x10100008;
    h0 = v->hits;
    CHECK(smmu_translate_batch(A.s, SID_MAIN, iovas, pas, 8, WR, &done) == SMMU_EFAULT && done == 2,
          "hits: a batch stops at the read-only page (done %zu)", done);
    CHECK(v->hits - h0 == 2, "hits: the two before it were served inline (%llu)", ULL(v->hits - h0));
    CHECK((smmu_translate_batch)(B.s, SID_MAIN, iovas, pas, 8, WR, &done) == SMMU_EFAULT && done == 2,
          "hits: the export stops there too (done %zu)", done);
    a1 = stats_of(A.s);
    b1 = stats_of(B.s);
    CHECK(memcmp(&a1, &b1, sizeof a1) == 0, "hits: the statistics still agree after the faults");
    A.fn = B.fn = 0;
    CHECK_RC(0, smmu_destroy(A.s));
    CHECK_RC(0, smmu_destroy(B.s));
    G.c = NULL;
}

/* Two size classes (4 KiB and 2 MiB) and entries without an ASID (GLOBAL) in the TLB: the view's
 * general lookup (several classes, the unsalted set after the ASID's) agrees with the library, and
 * serves a dynamic domain's hits on the base's global entries. */
static void test_two_classes_global(void)
{
    struct side *x;
    smmu_fast_view *v;
    smmu_stats sa, sb;
    static const uint64_t iova[] = { 0x10000000, 0x40000000, 0x10004000, 0x40200000, 0x20000000, 0x40400000 };
    uint64_t h0, pas_a[6], pas_b[6];
    size_t da, db;
    int i, side, bad = 0;

    memset(&G, 0, sizeof G);
    G.c = &plain;
    G.rng = SEED;
    G.pg = 4 * KIB;
    G.blk = 2 * MIB;
    G.pg_shift = 12;
    if (!pair_up())
        return;
    for (side = 0; side < 2; side++) {
        x = side ? &B : &A;
        TRY_OK(smmu_set_fault_handler(x->s, x->d[D_BASE], NULL, NULL));   /* faults only recorded here */
        /* the base: a page and a block (nG), a global page and a global block */
        TRY_OK(smmu_map(x->s, x->d[D_BASE], iova[0], 0x2000000000, 4 * KIB, P_RW));
        TRY_OK(smmu_map(x->s, x->d[D_BASE], iova[1], 0x2100000000, 2 * MIB, P_RW));
        TRY_OK(smmu_map(x->s, x->d[D_BASE], iova[2], 0x2000004000, 4 * KIB, P_RW | SMMU_PROT_GLOBAL));
        TRY_OK(smmu_map(x->s, x->d[D_BASE], iova[3], 0x2100200000, 2 * MIB, P_R | SMMU_PROT_GLOBAL));
        /* a dynamic domain: its own page and block */
        TRY_OK(smmu_map(x->s, x->d[D_DYN1], iova[4], 0x3000000000, 4 * KIB, P_RW));
        TRY_OK(smmu_map(x->s, x->d[D_DYN1], iova[5], 0x3100000000, 2 * MIB, P_RW));
        TRY_OK(smmu_switch_domain(x->s, x->d[D_BASE]));
    }
    /* fill from the base (the first four), then from the dynamic domain (its two) */
    for (i = 0; i < 4; i++) {
        uint64_t pa = POISON, pb = POISON;
        int32_t ra = smmu_translate(A.s, SID_MAIN, iova[i] + 0x18, RD, &pa);
        int32_t rb = (smmu_translate)(B.s, SID_MAIN, iova[i] + 0x18, RD, &pb);
        bad += ra != 0 || rb != 0 || pa != pb;
    }
    TRY_OK(smmu_switch_domain(A.s, A.d[D_DYN1]));
    TRY_OK(smmu_switch_domain(B.s, B.d[D_DYN1]));
    for (i = 4; i < 6; i++) {
        uint64_t pa = POISON, pb = POISON;
        bad += smmu_translate(A.s, SID_MAIN, iova[i] + 0x18, RD, &pa) != 0
               || (smmu_translate)(B.s, SID_MAIN, iova[i] + 0x18, RD, &pb) != 0 || pa != pb;
    }
    CHECK(bad == 0, "classes: the fills agree (%d wrong)", bad);
    v = view_of(A.s);
    CHECK(v->size_classes == ((1u << 0) | (1u << 3)) && v->no_asid_classes == ((1u << 0) | (1u << 3)),
          "classes: the view holds classes 0x%x (4K, 2M), without an ASID 0x%x", v->size_classes, v->no_asid_classes);

    /* from the dynamic domain: its own entries hit in its salted set, the globals in the unsalted one; the
     * base's nG entries are not its own (a walk of its tables: a translation fault), the global block is
     * read-only (a write: the library) */
    h0 = v->hits;
    for (i = 0; i < 6; i++) {
        uint32_t access;
        for (access = RD; access <= (RD | WR); access++) {
            uint64_t pa = POISON, pb = POISON;
            int32_t ra = smmu_translate(A.s, SID_MAIN, iova[i] + 0x28, access, &pa);
            int32_t rb = (smmu_translate)(B.s, SID_MAIN, iova[i] + 0x28, access, &pb);
            CHECK(ra == rb && pa == pb, "classes: iova 0x%llx access 0x%x: A %d 0x%llx, B %d 0x%llx", ULL(iova[i]), access,
                  ra, ULL(pa), rb, ULL(pb));
        }
    }
    /* hits: own page and block x 3 accesses, global page x 3, global block read only -> 10 */
    CHECK(v->hits - h0 == 10, "classes: the inline path served the 10 hits (%llu)", ULL(v->hits - h0));
    for (i = 0; i < 6; i++) {
        pas_a[i] = pas_b[i] = POISON;
    }
    {
        const uint64_t batch[6] = { iova[4] + 8, iova[2] + 8, iova[5] + 0x1008, iova[3] + 0x2008, iova[4] + 16,
                                    iova[0] + 8 };
        int32_t ra = smmu_translate_batch(A.s, SID_MAIN, batch, pas_a, 6, RD, &da);
        int32_t rb = (smmu_translate_batch)(B.s, SID_MAIN, batch, pas_b, 6, RD, &db);
        CHECK(ra == rb && da == db && da == 5 && memcmp(pas_a, pas_b, sizeof pas_a) == 0,
              "classes: a batch across both classes and the globals: A %d done %zu, B %d done %zu", ra, da, rb, db);
    }
    compare_logs();
    sa = stats_of(A.s);
    sb = stats_of(B.s);
    CHECK(memcmp(&sa, &sb, sizeof sa) == 0, "classes: the statistics agree (hits %llu/%llu)", ULL(sa.tlb_hits),
          ULL(sb.tlb_hits));
    CHECK(G.mismatches == 0, "classes: the handlers' logs agree");
    CHECK_RC(0, smmu_destroy(A.s));
    CHECK_RC(0, smmu_destroy(B.s));
    G.c = NULL;
}

/* Two entries that cover one IOVA: a global 4 KiB page of the base (filled while the base ran) and the
 * running dynamic domain's own 2 MiB block. Which one a lookup takes is the library's choice (the
 * documented order: class by class, smallest first, the ASID's set and then the unsalted one), but it
 * must be the same whichever way the translation comes: single or batched, inline or exported. */
static void test_overlap_order(void)
{
    const uint64_t iova = 0x10000000;
    uint64_t pa[4];
    size_t done;
    int32_t rc[4];
    int side, i;

    memset(&G, 0, sizeof G);
    G.c = &plain;
    G.rng = SEED;
    G.pg = 4 * KIB;
    G.blk = 2 * MIB;
    G.pg_shift = 12;
    if (!pair_up())
        return;
    for (side = 0; side < 2; side++) {
        struct side *x = side ? &B : &A;
        uint64_t p;
        TRY_OK(smmu_map(x->s, x->d[D_BASE], iova, 0x2000000000, 4 * KIB, P_R | SMMU_PROT_GLOBAL));
        TRY_OK(smmu_map(x->s, x->d[D_DYN1], iova, 0x3000000000, 2 * MIB, P_R));
        TRY_OK((smmu_translate)(x->s, SID_MAIN, iova, RD, &p));            /* the base: the global entry */
        TRY_OK(smmu_switch_domain(x->s, x->d[D_DYN1]));
        TRY_OK((smmu_translate)(x->s, SID_MAIN, iova + 4 * KIB, RD, &p));  /* the dynamic domain: its block */
    }
    for (i = 0; i < 4; i++)
        pa[i] = POISON;
    rc[0] = (smmu_translate)(B.s, SID_MAIN, iova, RD, &pa[0]);
    rc[1] = (smmu_translate_batch)(B.s, SID_MAIN, &iova, &pa[1], 1, RD, &done);
    rc[2] = smmu_translate(A.s, SID_MAIN, iova, RD, &pa[2]);
    rc[3] = smmu_translate_batch(A.s, SID_MAIN, &iova, &pa[3], 1, RD, &done);
    CHECK(rc[0] == 0 && rc[1] == 0 && rc[2] == 0 && rc[3] == 0 && pa[1] == pa[0] && pa[2] == pa[0] && pa[3] == pa[0],
          "overlap: one IOVA, one PA: export single %d 0x%llx, export batch %d 0x%llx, inline single %d 0x%llx, "
          "inline batch %d 0x%llx", rc[0], ULL(pa[0]), rc[1], ULL(pa[1]), rc[2], ULL(pa[2]), rc[3], ULL(pa[3]));
    CHECK(pa[0] == 0x2000000000, "overlap: the documented order takes the 4 KiB class first (the global page), "
          "got 0x%llx", ULL(pa[0]));
    CHECK_RC(0, smmu_destroy(A.s));
    CHECK_RC(0, smmu_destroy(B.s));
    G.c = NULL;
}

/* What a fault handler reads with smmu_get_stats while a batch is under way. */
struct handler_stats {
    int calls;
    smmu_stats st;
};

static int32_t stats_handler(smmu_t smmu, smmu_domain_t base, const smmu_fault *fault, void *cookie)
{
    struct handler_stats *h = (struct handler_stats *)cookie;
    (void)base;
    (void)fault;
    h->calls++;
    h->st.size = sizeof h->st;
    smmu_get_stats(smmu, &h->st);
    return SMMU_FAULT_TERMINATE;
}

/* A batch whose first IOVAs hit and whose last faults: the handler, called mid-batch, reads the same
 * statistics through either path (the inline path served the hits before calling the library). */
static void test_stats_in_handler(void)
{
    struct handler_stats ha, hb;
    const uint64_t iovas[3] = { 0x10000010, 0x10000020, 0x10400000 };   /* hit, hit, not mapped */
    uint64_t pas[3];
    size_t da = 0, db = 0;
    int32_t ra, rb;
    int side;

    memset(&G, 0, sizeof G);
    G.c = &plain;
    G.rng = SEED;
    G.pg = 4 * KIB;
    G.blk = 2 * MIB;
    G.pg_shift = 12;
    if (!pair_up())
        return;
    memset(&ha, 0, sizeof ha);
    memset(&hb, 0, sizeof hb);
    for (side = 0; side < 2; side++) {
        struct side *x = side ? &B : &A;
        uint64_t p;
        TRY_OK(smmu_map(x->s, x->d[D_BASE], 0x10000000, 0x2000000000, 4 * KIB, P_RW));
        TRY_OK((smmu_translate)(x->s, SID_MAIN, 0x10000000, RD, &p));   /* cached */
        TRY_OK(smmu_set_fault_handler(x->s, x->d[D_BASE], stats_handler, side ? &hb : &ha));
    }
    ra = smmu_translate_batch(A.s, SID_MAIN, iovas, pas, 3, RD, &da);
    rb = (smmu_translate_batch)(B.s, SID_MAIN, iovas, pas, 3, RD, &db);
    CHECK(ra == SMMU_EFAULT && rb == SMMU_EFAULT && da == 2 && db == 2 && ha.calls == 1 && hb.calls == 1,
          "stats in handler: both batches fault at the third IOVA (A %d done %zu, B %d done %zu), one handler call each",
          ra, da, rb, db);
    CHECK(ha.st.translations == hb.st.translations && ha.st.tlb_hits == hb.st.tlb_hits,
          "stats in handler: mid-batch, the handler reads translations %llu / tlb_hits %llu through the inline path, "
          "%llu / %llu through the export", ULL(ha.st.translations), ULL(ha.st.tlb_hits), ULL(hb.st.translations),
          ULL(hb.st.tlb_hits));
    CHECK_RC(0, smmu_destroy(A.s));
    CHECK_RC(0, smmu_destroy(B.s));
    G.c = NULL;
}

/* A stale handle whose slot a later instance took: that instance's view is live and holds a hit for the
 * very stream and IOVA, yet the macro on the stale handle is EBADF, as the export. */
static void test_stale_slot_reuse(void)
{
    smmu_config cfg;
    smmu_t old = 0, s = 0;
    smmu_domain_t d = 0;
    uint64_t pa = POISON, pb = POISON, pas[1] = { POISON };
    const uint64_t iova = 0x10000000;
    size_t done = 777;
    int tries;
    int32_t ra, rb, rc;

    smmu_config_init(&cfg);
    cfg.pt_pool_bytes = 1 * MIB;
    old = make_smmu(&cfg);
    if (!old || !CHECK_RC(0, smmu_destroy(old)))
        return;
    /* instances are handed slots in turn: create and destroy until one lands in old's slot */
    for (tries = 0; tries < 4 * (int)SMMU_FAST_VIEW_SLOTS; tries++) {
        if (!CHECK_RC(0, smmu_create(&cfg, &s)))
            return;
        if ((s & (SMMU_FAST_VIEW_SLOTS - 1u)) == (old & (SMMU_FAST_VIEW_SLOTS - 1u)))
            break;
        if (!CHECK_RC(0, smmu_destroy(s)))
            return;
        s = 0;
    }
    if (!CHECK(s != 0 && s != old, "slot reuse: an instance took the slot of 0x%08x after %d tries (0x%08x)", old, tries,
               s))
        return;
    TRY_OK(smmu_domain_alloc(s, &d));
    TRY_OK(smmu_attach_device(s, d, SID_MAIN));
    TRY_OK(smmu_map(s, d, iova, 0x2000000000, 4 * KIB, P_RW));
    TRY_OK(smmu_translate(s, SID_MAIN, iova, RD, &pa));   /* a miss: filled */
    TRY_OK(smmu_translate(s, SID_MAIN, iova, RD, &pa));   /* a hit, inline */
    CHECK(view_of(s)->handle == s && view_of(s)->hits == 1, "slot reuse: the new instance's view is live (hits %llu)",
          ULL(view_of(s)->hits));
    pa = POISON;
    ra = smmu_translate(old, SID_MAIN, iova, RD, &pa);
    rb = (smmu_translate)(old, SID_MAIN, iova, RD, &pb);
    rc = smmu_translate_batch(old, SID_MAIN, &iova, pas, 1, RD, &done);
    CHECK(ra == SMMU_EBADF && rb == SMMU_EBADF && rc == SMMU_EBADF && pa == POISON && pas[0] == POISON && done == 777,
          "slot reuse: the stale handle: macro %d, export %d, batch macro %d (done %zu)", ra, rb, rc, done);
    CHECK(view_of(s)->hits == 1, "slot reuse: the stale handle served nothing from the live view");
    CHECK_RC(0, smmu_destroy(s));
}

/* ---- main ----------------------------------------------------------------------------------------- */

static const struct config configs[] = {
    /* name            entries ways flags                                                granule split nest s2 ops */
    { "default",       0,   0,  0,                                                          4096, 0, 0, 0, 500000 },
    { "tlb16x1",       16,  1,  0,                                                          4096, 0, 0, 0, 500000 },
    { "tlb16x2",       16,  2,  0,                                                          4096, 0, 0, 0, 500000 },
    { "tlb16x4",       16,  4,  0,                                                          4096, 0, 0, 0, 500000 },
    { "tlb16x16",      16,  16, 0,                                                          4096, 0, 0, 0, 500000 },
    { "sanitize",      0,   0,  SMMU_CFG_SANITIZE_TLB,                                      4096, 0, 0, 0, 500000 },
    { "split",         0,   0,  0,                                                          4096, 1, 0, 0, 500000 },
    { "granule16k",    0,   0,  0,                                                         16384, 0, 0, 0, 500000 },
    { "nested",        0,   0,  0,                                                          4096, 0, 1, 0, 500000 },
    { "stage2-only",   0,   0,  0,                                                          4096, 0, 0, 1, 500000 },
    { "lazy-noasid",   64,  4,  SMMU_CFG_LAZY_FLUSH | SMMU_CFG_NO_ASID_TAGGING | SMMU_CFG_SCALAR_TLB
                                | SMMU_CFG_SANITIZE_TLB,                                    4096, 1, 0, 0, 500000 },
};

int main(void)
{
    size_t i;
    if (!CHECK(smmu_fast_views() != NULL, "smmu_fast_views() gives the table of views"))
        return check_summary("fastpath");
    test_exact_hits();
    test_two_classes_global();
    test_overlap_order();
    test_stats_in_handler();
    test_stale_slot_reuse();
    for (i = 0; i < sizeof configs / sizeof configs[0]; i++)
        run_config(&configs[i]);
    return check_summary("fastpath");
}
