/*
 * deferred.c - deferred invalidation through the C ABI (smmu.h "Deferred invalidation"). Each driver
 * bug the stale-TLB sanitizer knows is provoked on purpose and must be caught with the right report:
 * a DMA after unmap before the sync, a remap the device still sees with its old PA or rights, a
 * missed sync, a needless invalidation. Then: the sanitizer off, the lazy flush queue, the gather's
 * rules and mirror fields, map_pages / unmap_pages arguments, the handler's rules, and a long random
 * run of a correct driver (dynamic domains on one bank) that must report no stale translation and
 * no missed sync.
 */
#include <string.h>

#include "check.h"

#define PAGE 0x1000ull
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define WR SMMU_ACCESS_WRITE
#define SID 5u
#define SID2 9u
#define GARBAGE 0xA5A5A5A5A5A5A5A5ull

/* ---- the sanitizer handler: records every report ------------------------------------------------ */

#define MAX_REPORTS 16

enum hmode {
    H_RECORD,    /* only record */
    H_DESTROY,   /* also smmu_destroy the instance (EBUSY inside a handler) */
    H_STATS,     /* also read the stats */
    H_TRANSLATE, /* also translate log->iova through SID (a stale one: counted, not delivered) */
};

struct log {
    int n;                            /* reports delivered */
    smmu_stale_report r[MAX_REPORTS]; /* copies of the first MAX_REPORTS */
    int kinds[4];                     /* delivered, per kind */
    smmu_stale_report first[4];       /* the first report of each kind */
    int bad_size;                     /* reports whose size was not sizeof(smmu_stale_report) */
    smmu_t smmu_seen;                 /* the instance the last report came from */
    enum hmode mode;
    int32_t rc;                       /* what the call made inside returned */
    smmu_stats st;                    /* H_STATS */
    uint64_t iova;                    /* H_TRANSLATE */
};

static void on_report(smmu_t smmu, const smmu_stale_report *report, void *cookie)
{
    struct log *log = (struct log *)cookie;
    if (log->n < MAX_REPORTS)
        log->r[log->n] = *report;
    log->n++;
    if (report->kind < 4 && log->kinds[report->kind]++ == 0)
        log->first[report->kind] = *report;
    log->bad_size += report->size != sizeof *report;
    log->smmu_seen = smmu;
    switch (log->mode) {
    case H_RECORD:
        break;
    case H_DESTROY:
        log->rc = smmu_destroy(smmu);
        break;
    case H_STATS:
        log->st.size = sizeof log->st;
        log->rc = smmu_get_stats(smmu, &log->st);
        break;
    case H_TRANSLATE:
        log->rc = smmu_translate(smmu, SID, log->iova, RD, &(uint64_t){ 0 });
        break;
    }
}

static void log_clear(struct log *log)
{
    memset(log, 0, sizeof *log);
}

/* ---- an instance with a base domain attached to SID, the handler installed ---------------------- */

struct env {
    smmu_t smmu;
    smmu_domain_t d;
    uint32_t cb, asid;
    struct log log;
};

static int env_up(struct env *e, uint32_t flags, uint32_t flush_queue_size)
{
    smmu_config cfg;
    memset(e, 0, sizeof *e);
    smmu_config_init(&cfg);
    cfg.flags = flags;
    if (flush_queue_size)
        cfg.flush_queue_size = flush_queue_size;
    e->smmu = make_smmu(&cfg);
    if (!e->smmu)
        return 0;
    e->d = make_domain(e->smmu);
    if (!CHECK_RC(0, smmu_attach_device(e->smmu, e->d, SID)))
        return 0;
    e->cb = attr_u32(e->smmu, e->d, SMMU_ATTR_CONTEXT_BANK);
    e->asid = attr_u32(e->smmu, e->d, SMMU_ATTR_ASID);
    return CHECK_RC(0, smmu_set_sanitizer_handler(e->smmu, on_report, &e->log));
}

static int translates(const struct env *e, uint64_t iova, uint32_t access, uint64_t pa)
{
    int32_t rc;
    uint64_t got = xlate(e->smmu, SID, iova, access, &rc);
    return rc == SMMU_OK && got == pa;
}

/* 1 when the translation faults (EFAULT); the bank's fault record is cleared. */
static int faults(const struct env *e, uint64_t iova, uint32_t access)
{
    int32_t rc = smmu_translate(e->smmu, SID, iova, access, &(uint64_t){ 0 });
    smmu_clear_fault(e->smmu, e->cb);
    return rc == SMMU_EFAULT;
}

static int maps_to(smmu_t s, smmu_domain_t d, uint64_t iova, uint64_t pa)
{
    uint64_t got = ~0ull;
    return smmu_iova_to_phys(s, d, iova, &got) == SMMU_OK && got == pa;
}

static int unmapped(smmu_t s, smmu_domain_t d, uint64_t iova)
{
    uint64_t got;
    return smmu_iova_to_phys(s, d, iova, &got) == SMMU_ENOENT;
}

static uint64_t in_use(smmu_t s)
{
    return stats_of(s).pt_pages_in_use;
}

static int gather_empty(const smmu_gather *g)
{
    return g->size == sizeof *g && g->domain == 0 && g->start == UINT64_MAX && g->end == 0 && g->pgsize == 0
           && g->ticket == 0;
}

static int gather_holds(const smmu_gather *g, smmu_domain_t d, uint64_t start, uint64_t end, uint64_t pgsize)
{
    return g->size == sizeof *g && g->domain == d && g->start == start && g->end == end && g->pgsize == pgsize
           && g->ticket != 0;
}

static int same_gather(const smmu_gather *a, const smmu_gather *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Checks a stale-translation report (current_pa only when the tables translate). */
static void check_stale(const struct env *e, const smmu_stale_report *r, const char *what, uint64_t iova,
                        uint32_t access, uint64_t stale_pa, uint32_t granted, uint32_t current_fault,
                        uint64_t current_pa)
{
    CHECK(r->size == sizeof *r && r->kind == SMMU_STALE_TRANSLATION, "%s: size %u kind %u", what, r->size, r->kind);
    CHECK(r->stream_id == SID && r->context_bank == e->cb && r->asid == e->asid && r->vmid == 0 && r->domain == e->d,
          "%s: sid %u cb %u asid %u vmid %u domain 0x%08x, expected %u %u %u 0 0x%08x", what, r->stream_id,
          r->context_bank, r->asid, r->vmid, r->domain, SID, e->cb, e->asid, e->d);
    CHECK(r->access == access && r->iova == iova && r->iova_last == iova,
          "%s: access 0x%x iova 0x%llx..0x%llx, expected 0x%x 0x%llx", what, r->access, (unsigned long long)r->iova,
          (unsigned long long)r->iova_last, access, (unsigned long long)iova);
    CHECK(r->stale_pa == stale_pa && r->stale_granted == granted && r->current_fault == current_fault,
          "%s: stale_pa 0x%llx granted %u current_fault %u, expected 0x%llx %u %u", what,
          (unsigned long long)r->stale_pa, r->stale_granted, r->current_fault, (unsigned long long)stale_pa, granted,
          current_fault);
    if (current_fault == 0)
        CHECK(r->current_pa == current_pa, "%s: current_pa 0x%llx, expected 0x%llx", what,
              (unsigned long long)r->current_pa, (unsigned long long)current_pa);
    CHECK(r->table_pages == 0, "%s: table_pages %u on a stale translation", what, r->table_pages);
}

/* Checks a missed-sync or needless-invalidation report. */
static void check_range_report(const smmu_stale_report *r, const char *what, uint32_t kind, smmu_domain_t d,
                               uint32_t cb, uint32_t asid, uint64_t iova, uint64_t last, uint32_t table_pages)
{
    CHECK(r->size == sizeof *r && r->kind == kind, "%s: size %u kind %u, expected kind %u", what, r->size, r->kind,
          kind);
    CHECK(r->domain == d && r->context_bank == cb && r->asid == asid && r->stream_id == 0 && r->vmid == 0,
          "%s: domain 0x%08x cb 0x%x asid %u sid %u vmid %u, expected 0x%08x 0x%x %u 0 0", what, r->domain,
          r->context_bank, r->asid, r->stream_id, r->vmid, d, cb, asid);
    CHECK(r->iova == iova && r->iova_last == last, "%s: range 0x%llx..0x%llx, expected 0x%llx..0x%llx", what,
          (unsigned long long)r->iova, (unsigned long long)r->iova_last, (unsigned long long)iova,
          (unsigned long long)last);
    CHECK(r->table_pages == table_pages, "%s: table_pages %u, expected %u", what, r->table_pages, table_pages);
}

/* ---- 1. use after unmap, before the sync -------------------------------------------------------- */

/* A DMA to a page unmapped into a gather and not yet synced: the TLB still gives the old PA, as the
 * hardware would, and the sanitizer reports it once, with everything a driver writer needs. */
static void test_use_after_unmap(void)
{
    struct env e;
    smmu_gather g;
    smmu_stats st0, st;
    uint64_t pa = 0, iovas[2] = { 0x11008, 0x10018 }, pas[2] = { 0, 0 };
    size_t done = 0;
    int32_t rc;

    if (!env_up(&e, SMMU_CFG_SANITIZE_TLB, 0))
        return;
    TRY_OK(smmu_map(e.smmu, e.d, 0x10000, 0x5550000, PAGE, RW));
    TRY_OK(smmu_map(e.smmu, e.d, 0x11000, 0x5551000, PAGE, RW));
    CHECK(translates(&e, 0x10008, RD, 0x5550008), "uau: the page translates (now cached)");
    CHECK(translates(&e, 0x11008, RD, 0x5551008), "uau: its neighbour translates (now cached)");
    smmu_gather_init(&g);
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x10000, PAGE, 1, &g) == (int64_t)PAGE, "uau: unmap_pages into g -> 4 KiB");
    CHECK(e.log.n == 0, "uau: the unmap itself reports nothing (%d reports)", e.log.n);
    CHECK(unmapped(e.smmu, e.d, 0x10000), "uau: the tables no longer map the page");

    st0 = stats_of(e.smmu);
    rc = smmu_translate(e.smmu, SID, 0x10010, RD, &pa);
    CHECK(rc == SMMU_OK && pa == 0x5550010, "uau: the device still gets the old PA: rc %d pa 0x%llx", rc,
          (unsigned long long)pa);
    st = stats_of(e.smmu);
    CHECK(st.tlb_hits == st0.tlb_hits + 1 && st.walks == st0.walks && st.faults == st0.faults,
          "uau: a TLB hit; the sanitizer's walk is not counted (walks %llu -> %llu)", (unsigned long long)st0.walks,
          (unsigned long long)st.walks);
    CHECK(e.log.n == 1, "uau: exactly one report (%d)", e.log.n);
    if (e.log.n >= 1)
        check_stale(&e, &e.log.r[0], "uau report", 0x10010, RD, 0x5550010, 1, SMMU_FAULT_TRANSLATION, 0);
    CHECK(e.log.smmu_seen == e.smmu, "uau: the handler got the instance 0x%08x", e.log.smmu_seen);
    st = stats_of(e.smmu);
    CHECK(st.stale_translations == 1, "uau: stats.stale_translations %llu, expected 1",
          (unsigned long long)st.stale_translations);
    /* the watch is precise: the neighbour's entry is not pending, and agrees anyway */
    CHECK(translates(&e, 0x11010, RD, 0x5551010) && e.log.n == 1, "uau: the neighbour translates, no report (%d)",
          e.log.n);
    /* a batch is served from the same TLB: the stale entry is reported there too */
    rc = smmu_translate_batch(e.smmu, SID, iovas, pas, 2, RD, &done);
    CHECK(rc == SMMU_OK && done == 2 && pas[0] == 0x5551008 && pas[1] == 0x5550018,
          "uau: batch -> rc %d done %zu pas 0x%llx 0x%llx", rc, done, (unsigned long long)pas[0],
          (unsigned long long)pas[1]);
    CHECK(e.log.n == 2, "uau: the batch's stale hit is reported (%d reports)", e.log.n);
    if (e.log.n >= 2)
        check_stale(&e, &e.log.r[1], "uau batch report", 0x10018, RD, 0x5550018, 1, SMMU_FAULT_TRANSLATION, 0);

    /* after the sync the entry is gone: a translation fault, nothing stale any more */
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(gather_empty(&g), "uau: the sync empties g");
    CHECK(faults(&e, 0x10010, RD), "uau: after the sync the page faults");
    st = stats_of(e.smmu);
    CHECK(e.log.n == 2 && st.stale_translations == 2 && st.needless_invalidations == 0,
          "uau: after the sync no new report (%d), stale %llu, needless %llu", e.log.n,
          (unsigned long long)st.stale_translations, (unsigned long long)st.needless_invalidations);
    CHECK(e.log.bad_size == 0, "uau: every report has size sizeof(smmu_stale_report)");
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 2. a remap the device still sees -------------------------------------------------------- */

/* Unmap into a gather, map the same IOVA again before the sync: the TLB serves the old entry. A new
 * PA is stale (current_fault 0, current_pa the new one); the same PA and rights is not; old rights
 * that deny what the new mapping grants make the device fault, which is stale too (granted 0), and
 * old rights that grant what the new mapping denies let it through (granted 1, a permission fault
 * now). */
static void test_remap_before_sync(void)
{
    struct env e;
    smmu_gather g;
    smmu_fault f;
    smmu_stats st;
    uint64_t pa = 0;
    int32_t rc;

    if (!env_up(&e, SMMU_CFG_SANITIZE_TLB, 0))
        return;
    smmu_gather_init(&g);

    /* a new PA */
    TRY_OK(smmu_map(e.smmu, e.d, 0x20000, 0xA000000, PAGE, RW));
    CHECK(translates(&e, 0x20008, RD, 0xA000008), "remap: the old mapping translates (cached)");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x20000, PAGE, 1, &g) == (int64_t)PAGE, "remap: unmap_pages into g");
    TRY_OK(smmu_map(e.smmu, e.d, 0x20000, 0xB000000, PAGE, RW));
    rc = smmu_translate(e.smmu, SID, 0x20040, RD, &pa);
    CHECK(rc == SMMU_OK && pa == 0xA000040, "remap: the device still gets the old PA (rc %d pa 0x%llx)", rc,
          (unsigned long long)pa);
    CHECK(e.log.n == 1, "remap: one report (%d)", e.log.n);
    if (e.log.n >= 1)
        check_stale(&e, &e.log.r[0], "remap report", 0x20040, RD, 0xA000040, 1, 0, 0xB000040);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(translates(&e, 0x20040, RD, 0xB000040) && e.log.n == 1, "remap: after the sync the new PA, no report (%d)",
          e.log.n);

    /* the same PA and rights: what the entry gives is what the tables give, not stale */
    log_clear(&e.log);
    TRY_OK(smmu_map(e.smmu, e.d, 0x30000, 0xC000000, PAGE, RW));
    CHECK(translates(&e, 0x30008, RD, 0xC000008), "remap same: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x30000, PAGE, 1, &g) == (int64_t)PAGE, "remap same: unmap_pages into g");
    TRY_OK(smmu_map(e.smmu, e.d, 0x30000, 0xC000000, PAGE, RW));
    CHECK(translates(&e, 0x30010, RD, 0xC000010) && translates(&e, 0x30018, WR, 0xC000018),
          "remap same: reads and writes translate");
    st = stats_of(e.smmu);
    CHECK(e.log.n == 0 && st.stale_translations == 1, "remap same: no report (%d), stale_translations still 1 (%llu)",
          e.log.n, (unsigned long long)st.stale_translations);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));

    /* old READ-only entry cached, remapped READ|WRITE: the write faults on the stale entry */
    log_clear(&e.log);
    TRY_OK(smmu_map(e.smmu, e.d, 0x40000, 0xD000000, PAGE, SMMU_PROT_READ));
    CHECK(translates(&e, 0x40008, RD, 0xD000008), "remap perm: the read-only page is cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x40000, PAGE, 1, &g) == (int64_t)PAGE, "remap perm: unmap_pages into g");
    TRY_OK(smmu_map(e.smmu, e.d, 0x40000, 0xD000000, PAGE, RW));
    rc = smmu_translate(e.smmu, SID, 0x40020, WR, &pa);
    CHECK(rc == SMMU_EFAULT, "remap perm: the write is denied by the stale entry: %d (%s)", rc, smmu_strerror(rc));
    f.size = sizeof f;
    if (CHECK_RC(0, smmu_get_fault(e.smmu, e.cb, &f)))
        CHECK(f.type == SMMU_FAULT_PERMISSION && f.iova == 0x40020, "remap perm: a permission fault (type %u iova 0x%llx)",
              f.type, (unsigned long long)f.iova);
    CHECK_RC(0, smmu_clear_fault(e.smmu, e.cb));
    CHECK(e.log.n == 1, "remap perm: one report (%d)", e.log.n);
    if (e.log.n >= 1)
        check_stale(&e, &e.log.r[0], "remap perm report", 0x40020, WR, 0xD000020, 0, 0, 0xD000020);
    CHECK(translates(&e, 0x40028, RD, 0xD000028) && e.log.n == 1,
          "remap perm: a read agrees with the tables: no report (%d)", e.log.n);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(translates(&e, 0x40030, WR, 0xD000030) && e.log.n == 1, "remap perm: after the sync the write works");

    /* the other way: old READ|WRITE entry cached, remapped READ only: the write still goes through */
    log_clear(&e.log);
    TRY_OK(smmu_map(e.smmu, e.d, 0x50000, 0xD100000, PAGE, RW));
    CHECK(translates(&e, 0x50008, WR, 0xD100008), "remap perm2: the writable page is cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x50000, PAGE, 1, &g) == (int64_t)PAGE, "remap perm2: unmap_pages into g");
    TRY_OK(smmu_map(e.smmu, e.d, 0x50000, 0xD100000, PAGE, SMMU_PROT_READ));
    CHECK(translates(&e, 0x50020, WR, 0xD100020), "remap perm2: the write is let through by the stale entry");
    CHECK(e.log.n == 1, "remap perm2: one report (%d)", e.log.n);
    if (e.log.n >= 1)
        check_stale(&e, &e.log.r[0], "remap perm2 report", 0x50020, WR, 0xD100020, 1, SMMU_FAULT_PERMISSION, 0);
    CHECK(translates(&e, 0x50028, RD, 0xD100028) && e.log.n == 1,
          "remap perm2: a read agrees with the tables: no report (%d)", e.log.n);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(faults(&e, 0x50030, WR) && e.log.n == 1, "remap perm2: after the sync the write faults");
    st = stats_of(e.smmu);
    CHECK(st.stale_translations == 3, "remap: stale_translations %llu, expected 3",
          (unsigned long long)st.stale_translations);
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 3. missed sync ---------------------------------------------------------------------------- */

/* A gather still pending when its domain is left unattached, or freed: one report, and the model
 * does the sync then, freeing the tables the unmap emptied. A page alone in its 512 GiB slot
 * (0x8000000000) empties three tables (levels 1, 2, 3). */
static void test_missed_sync(void)
{
    struct env e;
    smmu_gather g, g2;
    smmu_domain_t d2;
    uint64_t p0, p1;

    if (!env_up(&e, SMMU_CFG_SANITIZE_TLB, 0))
        return;
    TRY_OK(smmu_attach_device(e.smmu, e.d, SID2));
    p0 = in_use(e.smmu);
    TRY_OK(smmu_map(e.smmu, e.d, 0x8000000000ull, 0x7000000, PAGE, RW));
    CHECK(in_use(e.smmu) == p0 + 3, "missed: the page took three tables (%llu -> %llu)", (unsigned long long)p0,
          (unsigned long long)in_use(e.smmu));
    CHECK(translates(&e, 0x8000000000ull, RD, 0x7000000), "missed: cached");
    smmu_gather_init(&g);
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x8000000000ull, PAGE, 1, &g) == (int64_t)PAGE, "missed: unmap_pages into g");
    CHECK(in_use(e.smmu) == p0 + 3, "missed: the emptied tables are held until the sync (%llu)",
          (unsigned long long)in_use(e.smmu));

    /* detaching one of two streams leaves the domain attached: not a missed sync */
    CHECK_RC(0, smmu_detach_device(e.smmu, e.d, SID2));
    CHECK(e.log.n == 0 && stats_of(e.smmu).missed_syncs == 0, "missed: a detach that leaves the domain attached "
          "reports nothing (%d)", e.log.n);
    /* the last detach: the gather is still pending */
    CHECK_RC(0, smmu_detach_device(e.smmu, e.d, SID));
    CHECK(e.log.n == 1, "missed: the detach reports once (%d)", e.log.n);
    if (e.log.n >= 1)
        check_range_report(&e.log.r[0], "missed detach", SMMU_MISSED_SYNC, e.d, e.cb, e.asid, 0x8000000000ull,
                           0x8000000fffull, 3);
    CHECK(stats_of(e.smmu).missed_syncs == 1, "missed: stats.missed_syncs %llu",
          (unsigned long long)stats_of(e.smmu).missed_syncs);
    CHECK(in_use(e.smmu) == p0, "missed: the forced sync freed the held tables (%llu, expected %llu)",
          (unsigned long long)in_use(e.smmu), (unsigned long long)p0);
    /* the gather was synced by the model: it reads as empty now */
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(gather_empty(&g) && e.log.n == 1, "missed: syncing g afterwards does nothing more (%d reports)", e.log.n);

    /* freeing a domain that was never attached, with a gather pending */
    log_clear(&e.log);
    p1 = in_use(e.smmu);
    d2 = make_domain(e.smmu);
    TRY_OK(smmu_map(e.smmu, d2, 0x8000000000ull, 0x7000000, PAGE, RW));
    smmu_gather_init(&g2);
    CHECK(smmu_unmap_pages(e.smmu, d2, 0x8000000000ull, PAGE, 1, &g2) == (int64_t)PAGE, "missed: unmap_pages in d2");
    CHECK_RC(0, smmu_domain_free(e.smmu, d2));
    CHECK(e.log.n == 1, "missed: the free reports once (%d)", e.log.n);
    if (e.log.n >= 1)
        check_range_report(&e.log.r[0], "missed free", SMMU_MISSED_SYNC, d2, SMMU_NO_CONTEXT_BANK, 0,
                           0x8000000000ull, 0x8000000fffull, 3);
    CHECK(stats_of(e.smmu).missed_syncs == 2, "missed: stats.missed_syncs %llu, expected 2",
          (unsigned long long)stats_of(e.smmu).missed_syncs);
    CHECK(in_use(e.smmu) == p1, "missed: the free gave back the root and the held tables (%llu, expected %llu)",
          (unsigned long long)in_use(e.smmu), (unsigned long long)p1);
    CHECK_RC(0, smmu_domain_free(e.smmu, e.d));
    CHECK(e.log.n == 1, "missed: freeing the first domain (nothing pending) reports nothing");
    CHECK_RC(0, smmu_destroy(e.smmu));

    /* a dynamic domain detached (the active one) with a gather pending: its bank and its ASID (its only
     * pages go, so the unmap empties its three tables) */
    if (!env_up(&e, SMMU_CFG_SANITIZE_TLB, 0))
        return;
    d2 = make_domain(e.smmu);
    TRY_OK(make_dynamic(e.smmu, d2, e.cb));
    TRY_OK(smmu_attach_device(e.smmu, d2, SID));
    TRY_OK(smmu_switch_domain(e.smmu, d2));
    TRY_OK(smmu_map(e.smmu, d2, 0x10000, 0x7000000, 2 * PAGE, RW));
    {
        uint32_t dyn_asid = attr_u32(e.smmu, d2, SMMU_ATTR_ASID);
        CHECK(translates(&e, 0x10000, RD, 0x7000000), "missed dyn: cached");
        smmu_gather_init(&g);
        CHECK(smmu_unmap_pages(e.smmu, d2, 0x10000, PAGE, 2, &g) == (int64_t)(2 * PAGE), "missed dyn: unmap_pages");
        CHECK_RC(0, smmu_detach_device(e.smmu, d2, SID));
        CHECK(e.log.n == 1, "missed dyn: the detach reports once (%d)", e.log.n);
        if (e.log.n >= 1)
            check_range_report(&e.log.r[0], "missed dyn", SMMU_MISSED_SYNC, d2, e.cb, dyn_asid, 0x10000, 0x11fff, 3);
        CHECK(cb_of(e.smmu, e.cb).active_domain == e.d && faults(&e, 0x10000, RD),
              "missed dyn: the bank is back on the base, which has no such page");
    }
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 4. needless invalidation -------------------------------------------------------------------- */

/* A sync whose invalidation found nothing in the TLB is wasted maintenance: reported (informational),
 * counted. A sync that removes a cached entry is not. */
static void test_needless(void)
{
    struct env e;
    smmu_gather g;

    if (!env_up(&e, SMMU_CFG_SANITIZE_TLB, 0))
        return;
    smmu_gather_init(&g);
    TRY_OK(smmu_map(e.smmu, e.d, 0x50000, 0xE000000, 2 * PAGE, RW));
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x50000, PAGE, 2, &g) == (int64_t)(2 * PAGE), "needless: unmap_pages");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(e.log.n == 1, "needless: a sync of a range never translated reports once (%d)", e.log.n);
    if (e.log.n >= 1)
        check_range_report(&e.log.r[0], "needless", SMMU_NEEDLESS_INVALIDATION, e.d, e.cb, e.asid, 0x50000, 0x51fff,
                           0);
    CHECK(stats_of(e.smmu).needless_invalidations == 1, "needless: stats.needless_invalidations %llu",
          (unsigned long long)stats_of(e.smmu).needless_invalidations);

    TRY_OK(smmu_map(e.smmu, e.d, 0x60000, 0xF000000, PAGE, RW));
    CHECK(translates(&e, 0x60000, RD, 0xF000000), "needless: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x60000, PAGE, 1, &g) == (int64_t)PAGE, "needless: unmap_pages");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(e.log.n == 1 && stats_of(e.smmu).needless_invalidations == 1,
          "needless: a sync that removed a cached entry reports nothing (%d)", e.log.n);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(e.log.n == 1 && stats_of(e.smmu).needless_invalidations == 1,
          "needless: a sync of an empty gather does nothing (%d)", e.log.n);

    /* the sync unmap_pages does itself (a disjoint range) is judged the same, during that call */
    TRY_OK(smmu_map(e.smmu, e.d, 0x70000, 0xE100000, PAGE, RW));
    TRY_OK(smmu_map(e.smmu, e.d, 0x90000, 0xE200000, PAGE, RW));
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x70000, PAGE, 1, &g) == (int64_t)PAGE, "needless: unmap 0x70000");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x90000, PAGE, 1, &g) == (int64_t)PAGE, "needless: unmap 0x90000 (disjoint)");
    CHECK(e.log.n == 2 && stats_of(e.smmu).needless_invalidations == 2,
          "needless: the auto-sync inside unmap_pages reported (%d reports)", e.log.n);
    if (e.log.n >= 2)
        check_range_report(&e.log.r[1], "needless auto-sync", SMMU_NEEDLESS_INVALIDATION, e.d, e.cb, e.asid, 0x70000,
                           0x70fff, 0);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(e.log.n == 3, "needless: and the last sync (%d reports)", e.log.n);
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 5. sanitizer off ------------------------------------------------------------------------------ */

/* Without SMMU_CFG_SANITIZE_TLB the device sees exactly the same (the old PA), but nothing is
 * watched: no stale report, no count. Missed syncs are still counted and reported. */
static void test_sanitizer_off(void)
{
    struct env e;
    smmu_gather g;
    smmu_stats st;

    if (!env_up(&e, 0, 0))
        return;
    smmu_gather_init(&g);
    TRY_OK(smmu_map(e.smmu, e.d, 0x10000, 0x5550000, PAGE, RW));
    CHECK(translates(&e, 0x10008, RD, 0x5550008), "off: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x10000, PAGE, 1, &g) == (int64_t)PAGE, "off: unmap_pages into g");
    CHECK(translates(&e, 0x10010, RD, 0x5550010), "off: the device still gets the old PA");
    st = stats_of(e.smmu);
    CHECK(e.log.n == 0 && st.stale_translations == 0, "off: no stale report (%d), stale_translations %llu", e.log.n,
          (unsigned long long)st.stale_translations);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(faults(&e, 0x10010, RD), "off: after the sync the page faults");

    TRY_OK(smmu_map(e.smmu, e.d, 0x8000000000ull, 0x7000000, PAGE, RW));
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x8000000000ull, PAGE, 1, &g) == (int64_t)PAGE, "off: unmap_pages into g");
    CHECK_RC(0, smmu_detach_device(e.smmu, e.d, SID));
    CHECK(e.log.n == 1 && e.log.r[0].kind == SMMU_MISSED_SYNC && stats_of(e.smmu).missed_syncs == 1,
          "off: a missed sync is still reported (%d reports) and counted", e.log.n);
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 6. lazy mode --------------------------------------------------------------------------------- */

/* SMMU_CFG_LAZY_FLUSH, flush_queue_size 4: syncs are queued (cached translations survive them, no
 * maintenance); the 4th does one invalidate-all and frees the queued syncs' tables. smmu_flush_queue
 * does a pending flush now; without the flag it does nothing. */
static void test_lazy(void)
{
    struct env e;
    smmu_gather g;
    smmu_stats st0, st;
    uint64_t p0;
    int k, ok;

    if (!env_up(&e, SMMU_CFG_LAZY_FLUSH, 4))
        return;
    smmu_gather_init(&g);
    TRY_OK(smmu_map(e.smmu, e.d, 0, 0x9000000, PAGE, RW));   /* keeps the level 1 and 2 tables */
    p0 = in_use(e.smmu);
    for (k = 1; k <= 4; k++) {   /* one page per 2 MiB: each unmap empties one level 3 table */
        TRY_OK(smmu_map(e.smmu, e.d, k * 2 * MIB, 0x9100000 + k * PAGE, PAGE, RW));
        CHECK(translates(&e, k * 2 * MIB, RD, 0x9100000 + k * PAGE), "lazy: page %d cached", k);
    }
    st0 = stats_of(e.smmu);
    for (k = 1; k <= 3; k++) {
        CHECK(smmu_unmap_pages(e.smmu, e.d, k * 2 * MIB, PAGE, 1, &g) == (int64_t)PAGE, "lazy: unmap page %d", k);
        CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
        CHECK(gather_empty(&g), "lazy: a queued sync empties g too");
        st = stats_of(e.smmu);
        CHECK(st.tlb_invalidations == st0.tlb_invalidations, "lazy: sync %d queued, no invalidation (%llu -> %llu)", k,
              (unsigned long long)st0.tlb_invalidations, (unsigned long long)st.tlb_invalidations);
        CHECK(translates(&e, k * 2 * MIB + 8, RD, 0x9100000 + k * PAGE + 8),
              "lazy: page %d's cached translation survives its queued sync", k);
        CHECK(st.pt_pages_in_use == p0 + 4, "lazy: the queued syncs' tables are held (%llu, expected %llu)",
              (unsigned long long)st.pt_pages_in_use, (unsigned long long)(p0 + 4));
    }
    CHECK(smmu_unmap_pages(e.smmu, e.d, 4 * 2 * MIB, PAGE, 1, &g) == (int64_t)PAGE, "lazy: unmap page 4");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    st = stats_of(e.smmu);
    CHECK(st.tlb_invalidations == st0.tlb_invalidations + 1, "lazy: the 4th sync flushes once (%llu -> %llu)",
          (unsigned long long)st0.tlb_invalidations, (unsigned long long)st.tlb_invalidations);
    for (ok = 0, k = 1; k <= 4; k++)
        ok += faults(&e, k * 2 * MIB, RD);
    CHECK(ok == 4, "lazy: after the flush the 4 unmapped pages fault (%d)", ok);
    CHECK(in_use(e.smmu) == p0, "lazy: the flush freed the held tables (%llu, expected %llu)",
          (unsigned long long)in_use(e.smmu), (unsigned long long)p0);
    CHECK(translates(&e, 0, RD, 0x9000000), "lazy: the page still mapped translates after the flush");

    /* smmu_flush_queue: the pending flush now */
    for (k = 1; k <= 2; k++) {
        TRY_OK(smmu_map(e.smmu, e.d, k * 2 * MIB, 0x9200000 + k * PAGE, PAGE, RW));
        CHECK(translates(&e, k * 2 * MIB, RD, 0x9200000 + k * PAGE), "lazy fq: page %d cached", k);
        CHECK(smmu_unmap_pages(e.smmu, e.d, k * 2 * MIB, PAGE, 1, &g) == (int64_t)PAGE, "lazy fq: unmap page %d", k);
        CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    }
    st0 = stats_of(e.smmu);
    CHECK(translates(&e, 2 * MIB, RD, 0x9200000 + PAGE) && st0.pt_pages_in_use == p0 + 2,
          "lazy fq: two syncs queued (cached, %llu tables in use)", (unsigned long long)st0.pt_pages_in_use);
    CHECK_RC(0, smmu_flush_queue(e.smmu));
    st = stats_of(e.smmu);
    CHECK(st.tlb_invalidations == st0.tlb_invalidations + 1, "lazy fq: smmu_flush_queue invalidates once (%llu -> %llu)",
          (unsigned long long)st0.tlb_invalidations, (unsigned long long)st.tlb_invalidations);
    CHECK(faults(&e, 2 * MIB, RD) && faults(&e, 4 * MIB, RD), "lazy fq: after smmu_flush_queue the pages fault");
    CHECK(st.pt_pages_in_use == p0, "lazy fq: smmu_flush_queue freed the held tables (%llu, expected %llu)",
          (unsigned long long)st.pt_pages_in_use, (unsigned long long)p0);
    CHECK_RC(0, smmu_flush_queue(e.smmu));
    CHECK(stats_of(e.smmu).tlb_invalidations == st.tlb_invalidations, "lazy fq: nothing queued: no flush");
    CHECK(e.log.n == 0, "lazy: no report so far (%d)", e.log.n);

    /* a flush that found nothing cached is needless; it belongs to no domain */
    TRY_OK(smmu_tlb_inv_all(e.smmu));
    TRY_OK(smmu_map(e.smmu, e.d, 2 * MIB, 0x9300000, PAGE, RW));
    CHECK(smmu_unmap_pages(e.smmu, e.d, 2 * MIB, PAGE, 1, &g) == (int64_t)PAGE, "lazy needless: unmap");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(e.log.n == 0, "lazy needless: the queued sync itself reports nothing (%d)", e.log.n);
    CHECK_RC(0, smmu_flush_queue(e.smmu));
    CHECK(e.log.n == 1, "lazy needless: the empty flush reports once (%d)", e.log.n);
    if (e.log.n >= 1)   /* no range to check: the flush covers everything */
        CHECK(e.log.r[0].kind == SMMU_NEEDLESS_INVALIDATION && e.log.r[0].domain == 0
                  && e.log.r[0].context_bank == SMMU_NO_CONTEXT_BANK && e.log.r[0].asid == 0,
              "lazy needless: kind %u domain 0x%x cb 0x%x asid %u, expected %u, 0 (a lazy flush), none, 0",
              e.log.r[0].kind, e.log.r[0].domain, e.log.r[0].context_bank, e.log.r[0].asid, SMMU_NEEDLESS_INVALIDATION);
    CHECK(stats_of(e.smmu).needless_invalidations == 1, "lazy needless: counted");
    CHECK_RC(SMMU_EBADF, smmu_flush_queue(0));
    CHECK_RC(0, smmu_destroy(e.smmu));

    /* lazy + sanitizer: a queued invalidation is still pending, its entries still watched */
    if (!env_up(&e, SMMU_CFG_LAZY_FLUSH | SMMU_CFG_SANITIZE_TLB, 4))
        return;
    TRY_OK(smmu_map(e.smmu, e.d, 0x10000, 0x5550000, PAGE, RW));
    CHECK(translates(&e, 0x10000, RD, 0x5550000), "lazy sanitize: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x10000, PAGE, 1, &g) == (int64_t)PAGE, "lazy sanitize: unmap");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(translates(&e, 0x10008, RD, 0x5550008), "lazy sanitize: the queued page still translates");
    CHECK(e.log.n == 1 && e.log.r[0].kind == SMMU_STALE_TRANSLATION && stats_of(e.smmu).stale_translations == 1,
          "lazy sanitize: a DMA to a queued page is stale (%d reports)", e.log.n);
    CHECK_RC(0, smmu_flush_queue(e.smmu));
    CHECK(faults(&e, 0x10008, RD) && e.log.n == 1, "lazy sanitize: after the flush it faults, no report");
    CHECK_RC(0, smmu_destroy(e.smmu));

    /* a domain freed while its sync is queued: not a missed sync; its tables wait for the flush */
    if (!env_up(&e, SMMU_CFG_LAZY_FLUSH, 4))
        return;
    {
        smmu_domain_t d2;
        uint64_t p1 = in_use(e.smmu);
        d2 = make_domain(e.smmu);
        TRY_OK(smmu_map(e.smmu, d2, 0x8000000000ull, 0x7000000, PAGE, RW));
        CHECK(smmu_unmap_pages(e.smmu, d2, 0x8000000000ull, PAGE, 1, &g) == (int64_t)PAGE, "lazy free: unmap");
        CHECK_RC(0, smmu_iotlb_sync(e.smmu, d2, &g));
        CHECK_RC(0, smmu_domain_free(e.smmu, d2));
        CHECK(e.log.n == 0 && stats_of(e.smmu).missed_syncs == 0, "lazy free: a queued sync is not missed (%d)",
              e.log.n);
        CHECK(in_use(e.smmu) == p1 + 3, "lazy free: the root is freed, the 3 queued tables held (%llu, expected %llu)",
              (unsigned long long)in_use(e.smmu), (unsigned long long)(p1 + 3));
        CHECK_RC(0, smmu_flush_queue(e.smmu));
        CHECK(in_use(e.smmu) == p1, "lazy free: the flush freed them (%llu, expected %llu)",
              (unsigned long long)in_use(e.smmu), (unsigned long long)p1);
    }
    CHECK_RC(0, smmu_destroy(e.smmu));

    /* flush_queue_size is 1..65536, flag or not */
    {
        smmu_config cfg;
        smmu_t s = 0;
        smmu_config_init(&cfg);
        CHECK(cfg.flush_queue_size == 256, "lazy: default flush_queue_size %u", cfg.flush_queue_size);
        cfg.flush_queue_size = 0;
        CHECK_RC(SMMU_EINVAL, smmu_create(&cfg, &s));
        cfg.flush_queue_size = 65537;
        cfg.flags = SMMU_CFG_LAZY_FLUSH;
        CHECK_RC(SMMU_EINVAL, smmu_create(&cfg, &s));
        cfg.flush_queue_size = 65536;
        if (CHECK_RC(0, smmu_create(&cfg, &s)))
            CHECK_RC(0, smmu_destroy(s));
    }

    /* without the flag nothing is ever queued: smmu_flush_queue does nothing */
    if (!env_up(&e, 0, 0))
        return;
    TRY_OK(smmu_map(e.smmu, e.d, 0x10000, 0x5550000, PAGE, RW));
    CHECK(translates(&e, 0x10000, RD, 0x5550000), "not lazy: cached");
    st0 = stats_of(e.smmu);
    CHECK_RC(0, smmu_flush_queue(e.smmu));
    st = stats_of(e.smmu);
    CHECK(st.tlb_invalidations == st0.tlb_invalidations && st.needless_invalidations == 0 && e.log.n == 0,
          "not lazy: smmu_flush_queue invalidates nothing");
    CHECK(translates(&e, 0x10008, RD, 0x5550008) && stats_of(e.smmu).tlb_hits == st0.tlb_hits + 1,
          "not lazy: the cached entry is still there (a hit)");
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 7. the gather's rules and mirror fields ------------------------------------------------------ */

/* iommu_iotlb_gather_add_page's rules: adjacent or overlapping ranges merge; a disjoint range, another
 * page size or another domain syncs the gathered range first (its cached translation then faults).
 * The mirror fields show what is gathered; a synced gather, or a copy of one, is empty. */
static void test_gather_rules(void)
{
    struct env e;
    smmu_gather g, g2, before;
    smmu_domain_t d2;
    int i, ok;

    smmu_gather_init(NULL);   /* does nothing, does not crash */
    memset(&g, 0x5A, sizeof g);
    smmu_gather_init(&g);
    CHECK(gather_empty(&g), "gather: init -> size %u domain 0x%x start 0x%llx end 0x%llx pgsize 0x%llx ticket 0x%llx",
          g.size, g.domain, (unsigned long long)g.start, (unsigned long long)g.end, (unsigned long long)g.pgsize,
          (unsigned long long)g.ticket);
    if (!env_up(&e, 0, 0))
        return;
    TRY_OK(smmu_map(e.smmu, e.d, 0x100000, 0x2000000, 16 * PAGE, RW));
    for (ok = 0, i = 0; i < 16; i++)
        ok += translates(&e, 0x100000 + i * PAGE, RD, 0x2000000 + i * PAGE);
    CHECK(ok == 16, "gather: 16 pages cached (%d)", ok);

    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x104000, PAGE, 1, &g) == (int64_t)PAGE, "gather: first unmap");
    CHECK(gather_holds(&g, e.d, 0x104000, 0x104fff, PAGE), "gather: holds 0x%llx..0x%llx pgsize 0x%llx domain 0x%x",
          (unsigned long long)g.start, (unsigned long long)g.end, (unsigned long long)g.pgsize, g.domain);
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x105000, PAGE, 1, &g) == (int64_t)PAGE, "gather: adjacent above");
    CHECK(gather_holds(&g, e.d, 0x104000, 0x105fff, PAGE), "gather: merged above: 0x%llx..0x%llx",
          (unsigned long long)g.start, (unsigned long long)g.end);
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x103000, PAGE, 1, &g) == (int64_t)PAGE, "gather: adjacent below");
    CHECK(gather_holds(&g, e.d, 0x103000, 0x105fff, PAGE), "gather: merged below: 0x%llx..0x%llx",
          (unsigned long long)g.start, (unsigned long long)g.end);
    CHECK(translates(&e, 0x104000, RD, 0x2004000), "gather: merging did not sync (still cached)");
    before = g;
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x104000, PAGE, 2, &g) == 0, "gather: unmapping nothing returns 0");
    CHECK(same_gather(&g, &before), "gather: an unmap that removed nothing leaves g as it was");

    /* disjoint: the gathered range is synced first */
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x108000, PAGE, 1, &g) == (int64_t)PAGE, "gather: disjoint unmap");
    CHECK(gather_holds(&g, e.d, 0x108000, 0x108fff, PAGE), "gather: a disjoint range replaces the old one: 0x%llx..0x%llx",
          (unsigned long long)g.start, (unsigned long long)g.end);
    CHECK(g.ticket != before.ticket, "gather: a new record, a new ticket");
    for (ok = 0, i = 3; i <= 5; i++)
        ok += faults(&e, 0x100000 + i * PAGE, RD);
    CHECK(ok == 3, "gather: the old range was synced: its 3 pages fault (%d)", ok);
    CHECK(translates(&e, 0x108000, RD, 0x2008000), "gather: the new range is pending (still cached)");

    /* another page size, adjacent: synced first as well */
    TRY_OK(smmu_map(e.smmu, e.d, 0x3ff000, 0x3000000, PAGE, RW));
    TRY_OK(smmu_map(e.smmu, e.d, 0x400000, 0x4000000, 2 * MIB, RW));
    CHECK(translates(&e, 0x3ff000, RD, 0x3000000) && translates(&e, 0x400000, RD, 0x4000000), "gather: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x3ff000, PAGE, 1, &g) == (int64_t)PAGE, "gather: unmap 0x3ff000");
    CHECK(faults(&e, 0x108000, RD), "gather: (0x108000 was synced: disjoint)");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x400000, 2 * MIB, 1, &g) == (int64_t)(2 * MIB), "gather: unmap the block");
    CHECK(gather_holds(&g, e.d, 0x400000, 0x5fffff, 2 * MIB), "gather: another pgsize replaces the range: 0x%llx..0x%llx "
          "pgsize 0x%llx", (unsigned long long)g.start, (unsigned long long)g.end, (unsigned long long)g.pgsize);
    CHECK(faults(&e, 0x3ff000, RD), "gather: the adjacent 4 KiB range of another pgsize was synced first");
    CHECK(translates(&e, 0x500000, RD, 0x4100000), "gather: the block is pending (still cached)");

    /* another domain: synced first; then the gather is that domain's */
    d2 = make_domain(e.smmu);
    TRY_OK(smmu_map(e.smmu, d2, 0x400000, 0x8000000, PAGE, RW));
    CHECK(smmu_unmap_pages(e.smmu, d2, 0x400000, PAGE, 1, &g) == (int64_t)PAGE, "gather: unmap in d2");
    CHECK(gather_holds(&g, d2, 0x400000, 0x400fff, PAGE), "gather: now d2's (domain 0x%x, 0x%llx..0x%llx)", g.domain,
          (unsigned long long)g.start, (unsigned long long)g.end);
    CHECK(faults(&e, 0x500000, RD), "gather: the first domain's block was synced first");

    /* sync with the wrong domain: EINVAL, nothing changes */
    before = g;
    CHECK_RC(SMMU_EINVAL, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(same_gather(&g, &before), "gather: a refused sync leaves g as it was");
    CHECK_RC(SMMU_EBADF, smmu_iotlb_sync(e.smmu, 0, &g));
    CHECK_RC(SMMU_EINVAL, smmu_iotlb_sync(e.smmu, d2, NULL));

    /* a copy of a gather that was synced reads as empty */
    g2 = g;
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, d2, &g));
    CHECK(gather_empty(&g), "gather: empty after the sync");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, d2, &g2));
    CHECK(gather_empty(&g2), "gather: syncing the stale copy returns 0 and empties it");
    g2 = before;
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g2));   /* empty: no domain to disagree with */
    TRY_OK(smmu_map(e.smmu, e.d, 0x600000, 0x6000000, PAGE, RW));
    g2 = before;
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x600000, PAGE, 1, &g2) == (int64_t)PAGE
              && gather_holds(&g2, e.d, 0x600000, 0x600fff, PAGE),
          "gather: a stale copy gathers like an empty gather (0x%llx..0x%llx)", (unsigned long long)g2.start,
          (unsigned long long)g2.end);
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g2));

    /* wrong sizes: EINVAL, nothing changes */
    TRY_OK(smmu_map(e.smmu, e.d, 0x700000, 0x7000000, 2 * PAGE, RW));
    CHECK(translates(&e, 0x700000, RD, 0x7000000), "gather size: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x700000, PAGE, 1, &g) == (int64_t)PAGE, "gather size: pending");
    before = g;
    g.size = sizeof g - 8;
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x701000, PAGE, 1, &g));
    CHECK_RC(SMMU_EINVAL, smmu_iotlb_sync(e.smmu, e.d, &g));
    g.size = 0;
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x701000, PAGE, 1, &g));
    CHECK_RC(SMMU_EINVAL, smmu_iotlb_sync(e.smmu, e.d, &g));
    g.size = before.size;
    CHECK(same_gather(&g, &before), "gather size: refused calls leave g as it was");
    CHECK(maps_to(e.smmu, e.d, 0x701000, 0x7001000), "gather size: the refused unmap unmapped nothing");
    CHECK(translates(&e, 0x700000, RD, 0x7000000), "gather size: the refused sync invalidated nothing");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(faults(&e, 0x700000, RD), "gather size: the real sync does");
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* A ticket the instance never issued is EINVAL, for unmap_pages and sync alike, and changes nothing.
 * (A fresh instance: the first record's ticket has generation 1, so ^ 5 << 32 is generation 4, never
 * issued. An older ticket the instance did issue reads as empty instead, as the header says.) */
static void test_gather_forged(void)
{
    struct env e;
    smmu_gather g, bad, before;

    if (!env_up(&e, 0, 0))
        return;
    smmu_gather_init(&g);
    TRY_OK(smmu_map(e.smmu, e.d, 0x700000, 0x7000000, 2 * PAGE, RW));
    CHECK(translates(&e, 0x700000, RD, 0x7000000), "forged: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x700000, PAGE, 1, &g) == (int64_t)PAGE, "forged: pending");
    bad = g;
    bad.ticket ^= 5ull << 32;
    before = bad;
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x701000, PAGE, 1, &bad));
    CHECK_RC(SMMU_EINVAL, smmu_iotlb_sync(e.smmu, e.d, &bad));
    CHECK(same_gather(&bad, &before), "forged: refused calls leave the gather as it was");
    bad = g;
    bad.ticket = (g.ticket & ~0xffffffffull) | 0x7fff;   /* a slot never used */
    CHECK_RC(SMMU_EINVAL, smmu_iotlb_sync(e.smmu, e.d, &bad));
    bad.ticket = 0xffffffffull;   /* generation 0 */
    CHECK_RC(SMMU_EINVAL, smmu_iotlb_sync(e.smmu, e.d, &bad));
    CHECK(maps_to(e.smmu, e.d, 0x701000, 0x7001000), "forged: the refused unmap unmapped nothing");
    CHECK(translates(&e, 0x700000, RD, 0x7000000), "forged: the refused sync invalidated nothing");
    CHECK(stats_of(e.smmu).needless_invalidations == 0, "forged: nothing was synced");
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(faults(&e, 0x700000, RD), "forged: the real gather syncs");
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 8. map_pages / unmap_pages arguments ---------------------------------------------------------- */

/* Leaf sizes, counts, alignment, overflow, out_mapped (written on failure too, 0), full rollback of
 * a map_pages that fails in the middle, and map_pages mapping at pgsize's level (no block). */
static void test_pages_args(void)
{
    struct env e;
    smmu_gather g, before;
    smmu_domain_t d2, d3;
    uint64_t m, p0, p1, pa = 0;
    int i, ok;

    if (!env_up(&e, 0, 0))
        return;
    p0 = in_use(e.smmu);
#define MAP_FAILS(code, iova, paddr, pgsize, count, prot, what)                                                     \
    do {                                                                                                          \
        m = GARBAGE;                                                                                              \
        CHECK_RC(code, smmu_map_pages(e.smmu, e.d, iova, paddr, pgsize, count, prot, &m));                        \
        CHECK(m == 0, "map_pages %s: *out_mapped 0x%llx, expected 0 (written on failure)", what,                 \
              (unsigned long long)m);                                                                             \
    } while (0)
    MAP_FAILS(SMMU_EINVAL, 0x200000, 0x200000, 0x3000, 1, RW, "pgsize 0x3000");
    MAP_FAILS(SMMU_EINVAL, 0x200000, 0x200000, 0x10000, 1, RW, "pgsize 64K on a 4K domain");
    MAP_FAILS(SMMU_EINVAL, 0x200000, 0x200000, 0, 1, RW, "pgsize 0");
    MAP_FAILS(SMMU_EINVAL, 0x200000, 0x200000, 512 * GIB, 1, RW, "pgsize 512G (no level 0 blocks)");
    MAP_FAILS(SMMU_EINVAL, 0x200000, 0x200000, PAGE, 0, RW, "pgcount 0");
    MAP_FAILS(SMMU_EINVAL, 0x201000, 0x200000, 2 * MIB, 1, RW, "iova not aligned to pgsize");
    MAP_FAILS(SMMU_EINVAL, 0x200000, 0x201000, 2 * MIB, 1, RW, "paddr not aligned to pgsize");
    MAP_FAILS(SMMU_EINVAL, 0x200000, 0x200000, PAGE, 1, 0, "prot without READ or WRITE (smmu_map's)");
    MAP_FAILS(SMMU_ERANGE, 0x200000, 0x200000, PAGE, 1ull << 52, RW, "pgsize * pgcount = 2^64");
    MAP_FAILS(SMMU_ERANGE, 0x200000, 0x200000, 2 * MIB, UINT64_MAX, RW, "pgcount UINT64_MAX");
    MAP_FAILS(SMMU_ERANGE, (1ull << 48) - PAGE, 0x200000, PAGE, 2, RW, "beyond ias (smmu_map's)");
    m = GARBAGE;
    CHECK_RC(SMMU_EBADF, smmu_map_pages(e.smmu, 0, 0x200000, 0x200000, PAGE, 1, RW, &m));
    CHECK(m == 0, "map_pages EBADF: *out_mapped 0x%llx, expected 0", (unsigned long long)m);
    CHECK_RC(SMMU_EINVAL, smmu_map_pages(e.smmu, e.d, 0x200000, 0x200000, PAGE, 1, RW, NULL));
    CHECK(unmapped(e.smmu, e.d, 0x200000) && in_use(e.smmu) == p0, "map_pages: the refused calls mapped nothing");

    /* EEXIST at the 9th of 16 pages, the first 8 in a 2 MiB with no table yet: rolled back */
    TRY_OK(smmu_map(e.smmu, e.d, 0x400000, 0x4000000, PAGE, RW));
    p1 = in_use(e.smmu);
    MAP_FAILS(SMMU_EEXIST, 0x400000 - 8 * PAGE, 0x5000000, PAGE, 16, RW, "EEXIST at the 9th page");
    CHECK(in_use(e.smmu) == p1, "map_pages EEXIST: table pages in use %llu, expected %llu",
          (unsigned long long)in_use(e.smmu), (unsigned long long)p1);
    for (ok = 0, i = 0; i < 8; i++)
        ok += unmapped(e.smmu, e.d, 0x400000 - 8 * PAGE + i * PAGE);
    CHECK(ok == 8, "map_pages EEXIST: none of the first 8 pages stayed mapped (%d)", ok);
    CHECK(maps_to(e.smmu, e.d, 0x400000, 0x4000000), "map_pages EEXIST: the existing page is intact");
    m = GARBAGE;
    CHECK_RC(0, smmu_map_pages(e.smmu, e.d, 0x400000 - 8 * PAGE, 0x5000000, PAGE, 8, RW, &m));
    CHECK(m == 8 * PAGE, "map_pages: *out_mapped 0x%llx, expected 0x8000", (unsigned long long)m);
    CHECK(maps_to(e.smmu, e.d, 0x3f8000, 0x5000000) && maps_to(e.smmu, e.d, 0x3ff000, 0x5007000),
          "map_pages: the 8 pages map");
    m = GARBAGE;
    CHECK_RC(0, smmu_map_pages(e.smmu, e.d, 2 * GIB, 4 * GIB, 2 * MIB, 2, RW, &m));
    CHECK(m == 4 * MIB && maps_to(e.smmu, e.d, 2 * GIB + 3 * MIB, 4 * GIB + 3 * MIB), "map_pages: two 2 MiB blocks");
    m = GARBAGE;
    CHECK_RC(0, smmu_map_pages(e.smmu, e.d, 8 * GIB, 8 * GIB, GIB, 1, RW, &m));
    CHECK(m == GIB && translates(&e, 8 * GIB + 0x12345008, RD, 8 * GIB + 0x12345008), "map_pages: a 1 GiB block");

    /* 512 x 4K at a 2 MiB-aligned IOVA: leaves at level 3, one table more than smmu_map's block */
    d2 = make_domain(e.smmu);
    d3 = make_domain(e.smmu);
    p1 = in_use(e.smmu);
    TRY_OK(smmu_map(e.smmu, d2, 0x200000, 0x10000000, 2 * MIB, RW));
    p1 = in_use(e.smmu) - p1;
    p0 = in_use(e.smmu);
    m = 0;
    TRY_OK(smmu_map_pages(e.smmu, d3, 0x200000, 0x10000000, PAGE, 512, RW, &m));
    p0 = in_use(e.smmu) - p0;
    CHECK(m == 2 * MIB && p0 == p1 + 1, "map_pages: 512 x 4K took %llu tables, smmu_map's block %llu (expected one more)",
          (unsigned long long)p0, (unsigned long long)p1);
    CHECK(smmu_iova_to_phys(e.smmu, d3, 0x3ff008, &pa) == SMMU_OK && pa == 0x101ff008, "map_pages: last page maps");

    /* unmap_pages arguments, with g NULL and with a pending g (left as it was) */
    smmu_gather_init(&g);
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x3f8000, PAGE, 1, &g) == (int64_t)PAGE, "unmap_pages: pending");
    before = g;
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x3f9000, 0x3000, 1, &g));
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x3f9000, 0x10000, 1, NULL));
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x3f9000, PAGE, 0, &g));
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x3f9000, 2 * MIB, 1, &g));   /* iova not 2 MiB aligned */
    CHECK_RC(SMMU_EINVAL, smmu_unmap_pages(e.smmu, e.d, 0x3f9800, PAGE, 1, NULL));
    CHECK_RC(SMMU_ERANGE, smmu_unmap_pages(e.smmu, e.d, 0x3f9000, PAGE, 1ull << 52, &g));
    CHECK_RC(SMMU_ERANGE, smmu_unmap_pages(e.smmu, e.d, 1ull << 48, PAGE, 1, &g));
    CHECK_RC(SMMU_EBADF, smmu_unmap_pages(e.smmu, 0, 0x3f9000, PAGE, 1, &g));
    CHECK_RC(SMMU_EBADF, smmu_unmap_pages(0, e.d, 0x3f9000, PAGE, 1, &g));
    CHECK(same_gather(&g, &before), "unmap_pages: refused calls leave g as it was");
    CHECK(maps_to(e.smmu, e.d, 0x3f9000, 0x5001000), "unmap_pages: refused calls unmapped nothing");
    /* a larger pgsize over small pages removes them all; g NULL frees the tables now */
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK(smmu_unmap_pages(e.smmu, d3, 0x200000, 2 * MIB, 1, NULL) == (int64_t)(2 * MIB),
          "unmap_pages: one 2 MiB page over 512 small ones");
    CHECK(unmapped(e.smmu, d3, 0x3ff000), "unmap_pages: they are gone");
    /* g NULL is smmu_unmap: the cached entry and the emptied tables go now */
    p0 = in_use(e.smmu);
    TRY_OK(smmu_map(e.smmu, e.d, 0x8000000000ull, 0x7000000, PAGE, RW));
    CHECK(translates(&e, 0x8000000000ull, RD, 0x7000000), "unmap_pages NULL: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x8000000000ull, PAGE, 1, NULL) == (int64_t)PAGE, "unmap_pages NULL: unmapped");
    CHECK(faults(&e, 0x8000000000ull, RD) && in_use(e.smmu) == p0,
          "unmap_pages NULL: invalidated and the tables freed at once (%llu in use, expected %llu)",
          (unsigned long long)in_use(e.smmu), (unsigned long long)p0);
    CHECK_RC(0, smmu_destroy(e.smmu));
#undef MAP_FAILS
}

/* ---- 9. the handler's rules -------------------------------------------------------------------------- */

/* Inside the sanitizer handler: smmu_destroy is EBUSY, the stats are readable (the report already
 * counted), a report the handler's own call causes is counted, not delivered. Removed: no delivery,
 * the counts go on. */
static void test_handler_rules(void)
{
    struct env e;
    smmu_gather g;
    smmu_stats st;

    if (!env_up(&e, SMMU_CFG_SANITIZE_TLB, 0))
        return;
    smmu_gather_init(&g);
    TRY_OK(smmu_map(e.smmu, e.d, 0x10000, 0x5550000, 2 * PAGE, RW));
    CHECK(translates(&e, 0x10000, RD, 0x5550000) && translates(&e, 0x11000, RD, 0x5551000), "handler: cached");
    CHECK(smmu_unmap_pages(e.smmu, e.d, 0x10000, PAGE, 2, &g) == (int64_t)(2 * PAGE), "handler: pending");

    e.log.mode = H_DESTROY;
    e.log.rc = 0;
    CHECK(translates(&e, 0x10008, RD, 0x5550008), "handler destroy: the stale translation still returns the old PA");
    CHECK(e.log.n == 1 && e.log.rc == SMMU_EBUSY, "handler destroy: smmu_destroy inside -> %d (%s), expected EBUSY",
          e.log.rc, smmu_strerror(e.log.rc));

    e.log.mode = H_STATS;
    e.log.rc = -999;
    CHECK(translates(&e, 0x10010, RD, 0x5550010), "handler stats: stale translation");
    CHECK(e.log.n == 2 && e.log.rc == SMMU_OK && e.log.st.stale_translations == 2,
          "handler stats: get_stats inside -> %d, stale_translations %llu (expected 2: this one counted already)",
          e.log.rc, (unsigned long long)e.log.st.stale_translations);

    e.log.mode = H_TRANSLATE;
    e.log.iova = 0x11008;
    e.log.rc = -999;
    CHECK(translates(&e, 0x10018, RD, 0x5550018), "handler nested: stale translation");
    st = stats_of(e.smmu);
    CHECK(e.log.n == 3 && e.log.rc == SMMU_OK && st.stale_translations == 4,
          "handler nested: the handler's own stale translation (rc %d) is counted (%llu, expected 4), "
          "not delivered (%d reports, expected 3)", e.log.rc, (unsigned long long)st.stale_translations, e.log.n);

    e.log.mode = H_RECORD;
    CHECK_RC(0, smmu_set_sanitizer_handler(e.smmu, NULL, NULL));
    CHECK(translates(&e, 0x10020, RD, 0x5550020), "handler removed: stale translation");
    st = stats_of(e.smmu);
    CHECK(e.log.n == 3 && st.stale_translations == 5, "handler removed: not delivered (%d), still counted (%llu)",
          e.log.n, (unsigned long long)st.stale_translations);
    CHECK_RC(SMMU_EBADF, smmu_set_sanitizer_handler(0, on_report, &e.log));
    CHECK_RC(0, smmu_iotlb_sync(e.smmu, e.d, &g));
    CHECK_RC(0, smmu_destroy(e.smmu));
}

/* ---- 10. a correct driver over a long random run ------------------------------------------------- */

/* A base domain and three dynamic domains on one bank, each with its own gather. The driver maps
 * (4 KiB runs, 2 MiB blocks), unmaps into the domain's gather (whole blocks, single pages, pages
 * inside a block), syncs, switches, and lets the device translate only IOVAs that are mapped: never
 * one between its unmap and its sync, and it reuses an IOVA only after the sync. Every PA is checked
 * against a reference kept here; no stale translation and no missed sync may be reported. */

#define R_DOMS 4
#define R_REGS 16   /* 2 MiB regions per domain, 4 per GiB */
#define R_PAGES 512
#define R_OPS 300000
#define R_FREE 0ull      /* reference page states; any other value is the mapped PA (never 0 or 1) */
#define R_PENDING 1ull   /* unmapped into the gather, not yet synced */
#define R_BASE (4 * GIB)

struct rnd {
    struct env e;
    smmu_domain_t d[R_DOMS]; /* [0] the base, the others dynamic on its bank */
    smmu_gather g[R_DOMS];
    struct {
        int pending;
        uint64_t start, end, pgsize;
    } want[R_DOMS];          /* what each gather must hold */
    uint64_t pa[R_DOMS][R_REGS][R_PAGES];
    uint8_t block[R_DOMS][R_REGS];   /* the region is one intact 2 MiB block */
    int active;
    int last_reg;            /* the region translated last */
    uint64_t x;              /* xorshift64 state */
    int fails;
    long translations, partial, partial_watched, auto_syncs, syncs;
};

static struct rnd R;

/* A failed check inside the loop: the first few are printed and counted, the rest only counted. */
#define RCHECK(cond, ...)                                                                                             \
    do {                                                                                                          \
        if (!(cond) && R.fails++ < 8)                                                                             \
            CHECK(cond, __VA_ARGS__);                                                                             \
    } while (0)

static uint32_t below(uint32_t n)
{
    R.x ^= R.x << 13;
    R.x ^= R.x >> 7;
    R.x ^= R.x << 17;
    return (uint32_t)((R.x >> 11) % n);
}

static uint64_t region_iova(int reg)
{
    return R_BASE + (uint64_t)(reg / 4) * GIB + (uint64_t)(reg % 4) * 2 * MIB;
}

static int is_mapped(uint64_t v)
{
    return v > R_PENDING;
}

/* The domain's gather was synced: its pending pages may be reused. */
static void ref_synced(int dom)
{
    int reg, p;
    for (reg = 0; reg < R_REGS; reg++) {
        uint64_t lo = region_iova(reg), hi = lo + 2 * MIB - 1;
        if (!R.want[dom].pending || hi < R.want[dom].start || lo > R.want[dom].end)
            continue;
        for (p = 0; p < R_PAGES; p++)
            if (R.pa[dom][reg][p] == R_PENDING)
                R.pa[dom][reg][p] = R_FREE;
    }
    R.want[dom].pending = 0;
}

static void r_translate_page(int reg, int p)
{
    uint32_t access = below(2) ? RD : WR;
    uint64_t off = (uint64_t)below(512) * 8, iova = region_iova(reg) + (uint64_t)p * PAGE + off, pa;
    int32_t rc;
    pa = xlate(R.e.smmu, SID, iova, access, &rc);
    RCHECK(rc == SMMU_OK && pa == R.pa[R.active][reg][p] + off,
           "random: domain %d translate 0x%llx -> rc %d pa 0x%llx, expected 0x%llx", R.active,
           (unsigned long long)iova, rc, (unsigned long long)pa, (unsigned long long)(R.pa[R.active][reg][p] + off));
    R.translations++;
}

/* Picks a mapped page of dom (a few random tries); 0 if none found. */
static int pick_mapped(int dom, int *reg, int *p)
{
    int t;
    for (t = 0; t < 16; t++) {
        *reg = (int)below(R_REGS);
        *p = (int)below(R_PAGES);
        if (is_mapped(R.pa[dom][*reg][*p]))
            return 1;
    }
    return 0;
}

/* Half of the translations go back to the region translated last, so that the TLB hits often. */
static void r_translate(void)
{
    int reg = R.last_reg, p = (int)below(R_PAGES);
    if ((below(2) && is_mapped(R.pa[R.active][reg][p])) || pick_mapped(R.active, &reg, &p)) {
        r_translate_page(reg, p);
        R.last_reg = reg;
    }
}

static void r_batch(void)
{
    uint64_t iovas[8], want[8], pas[8];
    size_t n = 0, done = 0, i;
    int reg, p, good = 0;
    int32_t rc;
    while (n < 8 && pick_mapped(R.active, &reg, &p)) {
        iovas[n] = region_iova(reg) + (uint64_t)p * PAGE + 0x40;
        want[n++] = R.pa[R.active][reg][p] + 0x40;
    }
    if (n == 0)
        return;
    rc = smmu_translate_batch(R.e.smmu, SID, iovas, pas, n, RD, &done);
    for (i = 0; i < n && rc == SMMU_OK; i++)
        good += pas[i] == want[i];
    RCHECK(rc == SMMU_OK && done == n && good == (int)n, "random: batch of %zu -> rc %d done %zu right %d", n, rc, done,
           good);
    R.translations += (long)n;
}

static void r_map_pages(void)
{
    int dom = (int)below(R_DOMS), reg = (int)below(R_REGS), p = (int)below(R_PAGES), n = 1 + (int)below(8), i;
    uint64_t iova, pa = 0x100000000ull + (uint64_t)below(1u << 24) * PAGE, m = 0;
    int32_t rc;
    if (p + n > R_PAGES)
        n = R_PAGES - p;
    for (i = 0; i < n; i++)
        if (R.pa[dom][reg][p + i] != R_FREE)
            return;
    iova = region_iova(reg) + (uint64_t)p * PAGE;
    if (below(4) == 0) {
        rc = smmu_map(R.e.smmu, R.d[dom], iova, pa, (uint64_t)n * PAGE, RW);
        m = (uint64_t)n * PAGE;
    } else {
        rc = smmu_map_pages(R.e.smmu, R.d[dom], iova, pa, PAGE, (uint64_t)n, RW, &m);
    }
    RCHECK(rc == SMMU_OK && m == (uint64_t)n * PAGE, "random: map %d pages at 0x%llx -> rc %d mapped 0x%llx", n,
           (unsigned long long)iova, rc, (unsigned long long)m);
    for (i = 0; i < n; i++)
        R.pa[dom][reg][p + i] = pa + (uint64_t)i * PAGE;
}

static void r_map_block(void)
{
    int dom = (int)below(R_DOMS), reg = (int)below(R_REGS), i;
    uint64_t pa = 0x200000000ull + (uint64_t)below(1u << 16) * 2 * MIB, m = 0;
    int32_t rc;
    for (i = 0; i < R_PAGES; i++)
        if (R.pa[dom][reg][i] != R_FREE)
            return;
    if (below(2)) {
        rc = smmu_map(R.e.smmu, R.d[dom], region_iova(reg), pa, 2 * MIB, RW);
        m = 2 * MIB;
    } else {
        rc = smmu_map_pages(R.e.smmu, R.d[dom], region_iova(reg), pa, 2 * MIB, 1, RW, &m);
    }
    RCHECK(rc == SMMU_OK && m == 2 * MIB, "random: map a block at 0x%llx -> rc %d", (unsigned long long)region_iova(reg),
           rc);
    for (i = 0; i < R_PAGES; i++)
        R.pa[dom][reg][i] = pa + (uint64_t)i * PAGE;
    R.block[dom][reg] = 1;
}

/* Unmaps [first page p, p + n) of a region (pgsize 4K) or the whole region (pgsize 2M) into dom's
 * gather, following the gather rules in the reference, and checks the gather's mirror fields. */
static void r_unmap_range(int dom, int reg, int p, int n, uint64_t pgsize)
{
    uint64_t first = region_iova(reg) + (uint64_t)p * PAGE, last = first + (uint64_t)n * PAGE - 1, bytes = 0;
    int64_t got;
    int i;
    for (i = 0; i < n; i++)
        bytes += is_mapped(R.pa[dom][reg][p + i]) ? PAGE : 0;
    if (bytes > 0) {
        if (R.want[dom].pending
            && (pgsize != R.want[dom].pgsize || last + 1 < R.want[dom].start || first > R.want[dom].end + 1)) {
            ref_synced(dom);   /* the library syncs the old range first */
            R.auto_syncs++;
        }
        if (!R.want[dom].pending) {
            R.want[dom].pending = 1;
            R.want[dom].start = first;
            R.want[dom].end = last;
            R.want[dom].pgsize = pgsize;
        } else {
            R.want[dom].start = first < R.want[dom].start ? first : R.want[dom].start;
            R.want[dom].end = last > R.want[dom].end ? last : R.want[dom].end;
        }
    }
    got = smmu_unmap_pages(R.e.smmu, R.d[dom], first, pgsize, pgsize == PAGE ? (uint64_t)n : 1, &R.g[dom]);
    RCHECK(got == (int64_t)bytes, "random: unmap 0x%llx..0x%llx (pgsize 0x%llx) -> %lld, expected %llu",
           (unsigned long long)first, (unsigned long long)last, (unsigned long long)pgsize, (long long)got,
           (unsigned long long)bytes);
    if (R.want[dom].pending)
        RCHECK(gather_holds(&R.g[dom], R.d[dom], R.want[dom].start, R.want[dom].end, R.want[dom].pgsize),
               "random: gather of domain %d holds 0x%llx..0x%llx pgsize 0x%llx, expected 0x%llx..0x%llx 0x%llx", dom,
               (unsigned long long)R.g[dom].start, (unsigned long long)R.g[dom].end,
               (unsigned long long)R.g[dom].pgsize, (unsigned long long)R.want[dom].start,
               (unsigned long long)R.want[dom].end, (unsigned long long)R.want[dom].pgsize);
    else
        RCHECK(gather_empty(&R.g[dom]), "random: gather of domain %d should be empty", dom);
    for (i = 0; i < n; i++)
        if (is_mapped(R.pa[dom][reg][p + i]))
            R.pa[dom][reg][p + i] = R_PENDING;
    R.block[dom][reg] = 0;
}

static void r_unmap(void)
{
    int dom = (int)below(R_DOMS), reg, p, n;
    if (!pick_mapped(dom, &reg, &p))
        return;
    if (below(4) == 0) {
        r_unmap_range(dom, reg, 0, R_PAGES, 2 * MIB);
        return;
    }
    n = 1 + (int)below(4);
    if (p + n > R_PAGES)
        n = R_PAGES - p;
    r_unmap_range(dom, reg, p, n, PAGE);
}

/* A page inside a cached block of the active domain is unmapped: the block's entry is now watched,
 * while the rest of the block stays mapped and is translated through it. That is not stale. */
static void r_partial(void)
{
    int start = (int)below(R_REGS), k, reg = -1, q, i, p, n = 0;
    smmu_stats before, after;
    for (k = 0; k < R_REGS && reg < 0; k++)
        if (R.block[R.active][(start + k) % R_REGS])
            reg = (start + k) % R_REGS;
    if (reg < 0)
        return;
    r_translate_page(reg, (int)below(R_PAGES));   /* the block entry is cached */
    q = (int)below(R_PAGES);
    r_unmap_range(R.active, reg, q, 1, PAGE);
    before = stats_of(R.e.smmu);
    for (i = 0; i < 4; i++) {
        p = (int)below(R_PAGES);
        if (is_mapped(R.pa[R.active][reg][p])) {
            r_translate_page(reg, p);
            n++;
        }
    }
    after = stats_of(R.e.smmu);
    /* served by the watched block entry: hits, no walk (the sanitizer's own walk is not counted) */
    R.partial_watched += n > 0 && after.tlb_hits - before.tlb_hits == (uint64_t)n && after.walks == before.walks;
    R.partial++;
}

static void r_sync(int dom)
{
    int32_t rc = smmu_iotlb_sync(R.e.smmu, R.d[dom], &R.g[dom]);
    RCHECK(rc == SMMU_OK && gather_empty(&R.g[dom]), "random: sync of domain %d -> %d", dom, rc);
    ref_synced(dom);
    R.syncs++;
}

static void r_switch(void)
{
    int dom = (int)below(R_DOMS);
    int32_t rc = smmu_switch_domain(R.e.smmu, R.d[dom]);
    RCHECK(rc == SMMU_OK, "random: switch to domain %d -> %d", dom, rc);
    R.active = dom;
}

static void test_random_driver(void)
{
    struct env *e = &R.e;
    smmu_stats st;
    uint64_t p0;
    long op;
    int dom, reg, p, wrong = 0;

    memset(&R, 0, sizeof R);
    R.x = 0x9E3779B97F4A7C15ull;
    if (!env_up(e, SMMU_CFG_SANITIZE_TLB, 0))
        return;
    R.d[0] = e->d;
    for (dom = 1; dom < R_DOMS; dom++) {
        R.d[dom] = make_domain(e->smmu);
        TRY_OK(make_dynamic(e->smmu, R.d[dom], e->cb));
        TRY_OK(smmu_attach_device(e->smmu, R.d[dom], SID));
    }
    for (dom = 0; dom < R_DOMS; dom++)
        smmu_gather_init(&R.g[dom]);
    p0 = in_use(e->smmu);

    for (op = 0; op < R_OPS; op++) {
        uint32_t w = below(100);
        if (w < 40)
            r_translate();
        else if (w < 45)
            r_batch();
        else if (w < 57)
            r_map_pages();
        else if (w < 62)
            r_map_block();
        else if (w < 76)
            r_unmap();
        else if (w < 82)
            r_partial();
        else if (w < 92)
            r_sync((int)below(R_DOMS));
        else
            r_switch();
    }

    /* the end: sync everything, compare the tables with the reference, unmap everything */
    for (dom = 0; dom < R_DOMS; dom++)
        r_sync(dom);
    for (dom = 0; dom < R_DOMS; dom++)
        for (reg = 0; reg < R_REGS; reg++)
            for (p = 0; p < R_PAGES; p++) {
                uint64_t iova = region_iova(reg) + (uint64_t)p * PAGE, v = R.pa[dom][reg][p];
                wrong += is_mapped(v) ? !maps_to(e->smmu, R.d[dom], iova, v) : !unmapped(e->smmu, R.d[dom], iova);
            }
    CHECK(wrong == 0, "random: %d pages differ between the tables and the reference", wrong);
    for (dom = 0; dom < R_DOMS; dom++)
        for (reg = 0; reg < R_REGS; reg++)
            if (smmu_unmap_pages(e->smmu, R.d[dom], region_iova(reg), 2 * MIB, 1, NULL) < 0)
                wrong++;
    CHECK(wrong == 0 && in_use(e->smmu) == p0, "random: all unmapped, table pages in use %llu, expected %llu",
          (unsigned long long)in_use(e->smmu), (unsigned long long)p0);
    for (dom = 1; dom < R_DOMS; dom++)
        CHECK_RC(0, smmu_detach_device(e->smmu, R.d[dom], SID));

    st = stats_of(e->smmu);
    CHECK(R.fails == 0, "random: %d checks failed inside the run", R.fails);
    CHECK(st.stale_translations == 0 && e->log.kinds[SMMU_STALE_TRANSLATION] == 0,
          "random: a correct driver has no stale translation (counted %llu, reported %d)",
          (unsigned long long)st.stale_translations, e->log.kinds[SMMU_STALE_TRANSLATION]);
    CHECK(st.missed_syncs == 0 && e->log.kinds[SMMU_MISSED_SYNC] == 0,
          "random: a correct driver has no missed sync (counted %llu, reported %d)", (unsigned long long)st.missed_syncs,
          e->log.kinds[SMMU_MISSED_SYNC]);
    if (e->log.kinds[SMMU_STALE_TRANSLATION] > 0) {
        const smmu_stale_report *r = &e->log.first[SMMU_STALE_TRANSLATION];
        printf("random: first stale report: domain 0x%08x iova 0x%llx access 0x%x stale_pa 0x%llx current_pa 0x%llx "
               "current_fault %u granted %u\n", r->domain, (unsigned long long)r->iova, r->access,
               (unsigned long long)r->stale_pa, (unsigned long long)r->current_pa, r->current_fault, r->stale_granted);
    }
    /* the run did what it claims */
    CHECK(R.translations > 50000 && R.partial > 500 && R.partial_watched > R.partial / 2 && R.auto_syncs > 100
              && st.tlb_hits > 10000,
          "random: %ld translations, %ld partial block unmaps (%ld translated through the watched block entry), "
          "%ld gather auto-syncs, %llu TLB hits", R.translations, R.partial, R.partial_watched, R.auto_syncs,
          (unsigned long long)st.tlb_hits);
    printf("random: %d ops: %ld translations (%llu TLB hits), %ld syncs, %ld auto-syncs, %ld partial block unmaps, "
           "%d needless reports\n", R_OPS, R.translations, (unsigned long long)st.tlb_hits, R.syncs, R.auto_syncs,
           R.partial, e->log.kinds[SMMU_NEEDLESS_INVALIDATION]);
    CHECK_RC(0, smmu_destroy(e->smmu));
}

int main(void)
{
    test_use_after_unmap();
    test_remap_before_sync();
    test_missed_sync();
    test_needless();
    test_sanitizer_off();
    test_lazy();
    test_gather_rules();
    test_gather_forged();
    test_pages_args();
    test_handler_rules();
    test_random_driver();
    return check_summary("deferred");
}
