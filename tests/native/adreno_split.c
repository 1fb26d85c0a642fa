/*
 * adreno_split.c - the upstream Adreno layout through the C ABI: split tables with the kernel's
 * global buffers in TTBR1 and each GPU process's tables in TTBR0 (msm_iommu / adreno_smmu_priv:
 * set_ttbr0_cfg, IO_PGTABLE_QUIRK_ARM_TTBR1), here with each process a dynamic domain with its own
 * ASID on the base domain's context bank.
 *
 *   - the split basics: TTBR1 = the base domain's tables, EPD0 until a process is switched in (a
 *     lower-half access is a level-0 translation fault), an IOVA in neither half faults at level 0,
 *     smmu_switch_domain changes TTBR0/ASID/EPD0 only (TTBR1 and SPLIT stay), SMMU_ATTR_TTBR1 reads
 *     the bank's TTBR1, the global leaf's nG bit read with smmu_phys_read64;
 *   - the workload: 8 processes map their buffers at the same lower-half IOVAs; every job touches
 *     every global page once and the running process's buffers, with a switch every SWITCH_EVERY
 *     translations. Run once with the globals mapped SMMU_PROT_GLOBAL and once without:
 *       with:    the global buffers miss once in all (the first job), 0 per switch after, and
 *                process buffers stay warm across switches (ASID tagging): 0 misses per switch;
 *       without: TCR.A1 = 0 tags the globals' entries with the running process's ASID, so each
 *                process re-misses every global page on its first job, and 8 x (process + globals)
 *                entries overflow the TLB: misses every switch, on both kinds of buffers;
 *   - unmapping a global page invalidates it for every ASID; detach order and the fall-back to EPD0.
 *
 * The C# twin is bench/Seed/AdrenoSplitScenario.cs (same workload and generator: same numbers).
 */
#include "scenario.h"

#define DEV 2u
#define PROCS 8
#define PAGE 0x1000ull
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define RD SMMU_ACCESS_READ
#define WR SMMU_ACCESS_WRITE

/* The kernel's global buffers, in TTBR1 (upper half: from 2^64 - 2^48 with ias 48). */
#define RING_IOVA 0xffffffff00000000ull     /* 4 ringbuffers x 16 pages */
#define RING_PAGES 64
#define SCRATCH_IOVA 0xffffffff00100000ull  /* memstore, scratch, setstate, ... */
#define SCRATCH_PAGES 32
#define GLOBAL_PAGES (RING_PAGES + SCRATCH_PAGES)
#define RING_PA 0x2000001000ull             /* one page off 2 MiB: every leaf a 4 KiB page */
#define SCRATCH_PA 0x2000101000ull

/* Each process's buffers, in TTBR0 (lower half), at the same IOVA in every process. */
#define PROC_IOVA 0x100000000ull
#define PROC_PAGES 64
#define PROC_PA(p) (0x3000001000ull + (uint64_t)(p) * 0x10000000ull)

#define SWITCH_EVERY 1024                   /* translations per job: GLOBAL_PAGES, then the process's */
#define STEADY_ROUNDS 16                    /* rounds of PROCS switches measured after the first */
#define SEED 0x9E3779B97F4A7C15ull

static uint64_t global_iova(int i)
{
    return i < RING_PAGES ? RING_IOVA + (uint64_t)i * PAGE : SCRATCH_IOVA + (uint64_t)(i - RING_PAGES) * PAGE;
}

static uint64_t global_pa(uint64_t iova)
{
    return iova >= SCRATCH_IOVA ? SCRATCH_PA + (iova - SCRATCH_IOVA) : RING_PA + (iova - RING_IOVA);
}

struct gpu {
    smmu_t smmu;
    smmu_domain_t base, proc[PROCS];
    uint32_t cb, base_asid, proc_asid[PROCS];
    uint64_t ttbr1;
    int global;
};

/* ---- set-up -------------------------------------------------------------------------------------- */

/* smmu.h: mapping below 2^64 - 2^ias on a split base domain is ERANGE, and maps nothing. */
static void outside_half(struct gpu *g, uint64_t iova, uint32_t prot)
{
    uint64_t pa;
    CHECK_RC(SMMU_ERANGE, smmu_map(g->smmu, g->base, iova, RING_PA, PAGE, prot));
    CHECK_RC(SMMU_ERANGE, (int32_t)smmu_unmap(g->smmu, g->base, iova, PAGE));
    CHECK_RC(SMMU_ERANGE, smmu_iova_to_phys(g->smmu, g->base, iova, &pa));
}

/* The base domain (SPLIT_TTBR1, the kernel's globals in it), attached; then the processes. */
static int gpu_up(struct gpu *g, int global)
{
    smmu_config cfg;
    int32_t one = 1, v = -1;
    uint64_t ttbr1 = 0;
    uint32_t prot = RW | (global ? SMMU_PROT_GLOBAL : 0);
    smmu_cb_state cb;
    int p;

    memset(g, 0, sizeof *g);
    g->global = global;
    smmu_config_init(&cfg);
    g->smmu = make_smmu(&cfg);
    if (!g->smmu)
        return 0;
    g->base = make_domain(g->smmu);
    CHECK_RC(0, smmu_domain_get_attr(g->smmu, g->base, SMMU_ATTR_SPLIT_TTBR1, &v, sizeof v));
    CHECK(v == 0, "a new domain is not split (SPLIT_TTBR1 reads %d)", v);
    if (!CHECK_RC(0, smmu_domain_set_attr(g->smmu, g->base, SMMU_ATTR_SPLIT_TTBR1, &one, sizeof one)))
        return 0;
    CHECK_RC(0, smmu_domain_get_attr(g->smmu, g->base, SMMU_ATTR_SPLIT_TTBR1, &v, sizeof v));
    CHECK(v == 1, "SPLIT_TTBR1 reads back 1, got %d", v);
    CHECK_RC(SMMU_ENODEV, smmu_domain_get_attr(g->smmu, g->base, SMMU_ATTR_TTBR1, &ttbr1, sizeof ttbr1));

    /* The split base maps only its half: the upper one. */
    outside_half(g, PROC_IOVA, prot);
    outside_half(g, 0xfffe000000000000ull, prot);
    if (!CHECK_RC(0, smmu_map(g->smmu, g->base, RING_IOVA, RING_PA, RING_PAGES * PAGE, prot))
        || !CHECK_RC(0, smmu_map(g->smmu, g->base, SCRATCH_IOVA, SCRATCH_PA, SCRATCH_PAGES * PAGE, prot)))
        return 0;
    /* The top page of the address space, for the boundary. */
    CHECK_RC(0, smmu_map(g->smmu, g->base, 0xfffffffffffff000ull, 0x2000400000ull, PAGE, prot));

    if (!CHECK_RC(0, smmu_attach_device(g->smmu, g->base, DEV)))
        return 0;
    g->cb = attr_u32(g->smmu, g->base, SMMU_ATTR_CONTEXT_BANK);
    g->base_asid = attr_u32(g->smmu, g->base, SMMU_ATTR_ASID);

    /* The bank: TTBR1 = the base's root | its ASID, TTBR0 disabled (EPD0), stage-1 regime. */
    cb = cb_of(g->smmu, g->cb);
    CHECK(cb.in_use == 1 && cb.base_domain == g->base && cb.active_domain == g->base,
          "attach: the base owns the bank and is active (in_use %u active 0x%08x)", cb.in_use, cb.active_domain);
    CHECK(cb.flags == (SMMU_CB_SPLIT | SMMU_CB_EPD0), "attach: flags 0x%x, expected SPLIT | EPD0 (0x%x), regime 0",
          cb.flags, SMMU_CB_SPLIT | SMMU_CB_EPD0);
    CHECK(cb.ttbr0 == (uint64_t)g->base_asid << 48, "attach: TTBR0 0x%llx: no table (EPD0), the base's ASID %u in 63:48",
          (unsigned long long)cb.ttbr0, g->base_asid);
    CHECK(cb.asid == g->base_asid, "attach: CB asid %u, expected the base's %u", cb.asid, g->base_asid);
    CHECK(cb.ttbr1 >> 48 == g->base_asid, "attach: TTBR1's ASID field %llu, expected the base's %u",
          (unsigned long long)(cb.ttbr1 >> 48), g->base_asid);
    CHECK((cb.ttbr1 & 0xfffull) == 0 && (cb.ttbr1 & 0xffffffffffffull) >= cfg.pt_pool_base
              && (cb.ttbr1 & 0xffffffffffffull) < cfg.pt_pool_base + cfg.pt_pool_bytes,
          "attach: TTBR1's table 0x%llx is a page of the table pool", (unsigned long long)(cb.ttbr1 & 0xffffffffffffull));
    CHECK(cb.vmid == 0 && cb.vttbr == 0 && cb.granule == 4096, "attach: no stage 2 (vmid %u vttbr 0x%llx), 4K granule %u",
          cb.vmid, (unsigned long long)cb.vttbr, cb.granule);
    g->ttbr1 = cb.ttbr1;
    CHECK_RC(0, smmu_domain_get_attr(g->smmu, g->base, SMMU_ATTR_TTBR1, &ttbr1, sizeof ttbr1));
    CHECK(ttbr1 == cb.ttbr1, "SMMU_ATTR_TTBR1 0x%llx reads back the bank's TTBR1 0x%llx", (unsigned long long)ttbr1,
          (unsigned long long)cb.ttbr1);
    CHECK_RC(SMMU_ENOENT, smmu_domain_get_attr(g->smmu, g->base, SMMU_ATTR_TTBR0, &ttbr1, sizeof ttbr1));
    CHECK_RC(SMMU_EPERM, smmu_domain_set_attr(g->smmu, g->base, SMMU_ATTR_TTBR1, &ttbr1, sizeof ttbr1));

    for (p = 0; p < PROCS; p++) {
        smmu_domain_t d = make_domain(g->smmu);
        uint32_t procid = 0x100 + (uint32_t)p;
        g->proc[p] = d;
        CHECK_RC(0, make_dynamic(g->smmu, d, g->cb));
        CHECK_RC(0, smmu_domain_set_attr(g->smmu, d, SMMU_ATTR_PROCID, &procid, sizeof procid));
        /* A process maps only the lower half (TTBR0). */
        CHECK_RC(SMMU_ERANGE, smmu_map(g->smmu, d, RING_IOVA, PROC_PA(p), PAGE, RW));
        if (!CHECK_RC(0, smmu_map(g->smmu, d, PROC_IOVA, PROC_PA(p), PROC_PAGES * PAGE, RW)))
            return 0;
        if (!CHECK_RC(0, smmu_attach_device(g->smmu, d, DEV)))
            return 0;
        g->proc_asid[p] = attr_u32(g->smmu, d, SMMU_ATTR_ASID);
        CHECK(g->proc_asid[p] != 0 && g->proc_asid[p] != g->base_asid, "process %d has its own ASID %u (base %u)", p,
              g->proc_asid[p], g->base_asid);
        CHECK_RC(0, smmu_domain_get_attr(g->smmu, d, SMMU_ATTR_TTBR1, &ttbr1, sizeof ttbr1));
        CHECK(ttbr1 == g->ttbr1, "process %d: SMMU_ATTR_TTBR1 reads its bank's TTBR1 0x%llx, got 0x%llx", p,
              (unsigned long long)g->ttbr1, (unsigned long long)ttbr1);
    }
    cb = cb_of(g->smmu, g->cb);
    CHECK(cb.active_domain == g->base && cb.flags == (SMMU_CB_SPLIT | SMMU_CB_EPD0) && cb.dynamic_count == PROCS,
          "attaching %d processes leaves the bank alone (active 0x%08x flags 0x%x dynamic %u)", PROCS, cb.active_domain,
          cb.flags, cb.dynamic_count);
    return 1;
}

/* ---- the split basics ---------------------------------------------------------------------------- */

static void split_basics(struct gpu *g)
{
    struct expected_fault e;
    struct sw_walk w;
    smmu_cb_state cb, before;
    int32_t rc;
    uint64_t pa, leaf_ng;
    const char *mode = g->global ? "globals" : "no globals";
    static const uint64_t neither[] = { 0x0001000000000000ull, 0x8000000000000000ull, 0xfffe000000000000ull,
                                        0x7fffffffffffffffull };
    unsigned i;

    /* Before any process is switched in: TTBR0 walks are disabled. */
    memset(&e, 0, sizeof e);
    e.stream_id = DEV;
    e.context_bank = g->cb;
    e.iova = PROC_IOVA + 0x40;
    e.access = RD;
    e.type = SMMU_FAULT_TRANSLATION;
    e.level = 0;
    e.stage = 1;
    e.asid = g->base_asid;
    e.active_domain = g->base;
    expect_fault(g->smmu, &e, "EPD0: a lower-half access with no process switched in");
    e.iova = 0;
    expect_fault(g->smmu, &e, "EPD0: IOVA 0");
    /* In neither half: bits [63:48] neither all 0 nor all 1. */
    for (i = 0; i < sizeof neither / sizeof neither[0]; i++) {
        e.iova = neither[i] & ~7ull;
        e.access = i & 1 ? WR : RD;
        expect_fault(g->smmu, &e, "an IOVA in neither half: a level-0 translation fault");
    }
    /* The upper half works already: the kernel's globals need no process. */
    pa = xlate(g->smmu, DEV, RING_IOVA + 0x123 * 8, RD, &rc);
    CHECK(rc == 0 && pa == RING_PA + 0x123 * 8, "%s: a ringbuffer read with only the base active -> rc %d pa 0x%llx", mode,
          rc, (unsigned long long)pa);
    pa = xlate(g->smmu, DEV, 0xfffffffffffffff8ull, WR, &rc);
    CHECK(rc == 0 && pa == 0x2000400ff8ull, "%s: the last 8 bytes of the address space -> rc %d pa 0x%llx", mode, rc,
          (unsigned long long)pa);
    /* The software walk knows each domain's half too. */
    CHECK_RC(0, smmu_iova_to_phys(g->smmu, g->base, SCRATCH_IOVA + 0x1ff8, &pa));
    CHECK(pa == SCRATCH_PA + 0x1ff8, "iova_to_phys of the split base in TTBR1 -> 0x%llx", (unsigned long long)pa);
    CHECK_RC(0, smmu_iova_to_phys(g->smmu, g->proc[2], PROC_IOVA + 0x3008, &pa));
    CHECK(pa == PROC_PA(2) + 0x3008, "iova_to_phys of a process in TTBR0 -> 0x%llx", (unsigned long long)pa);
    CHECK_RC(SMMU_ERANGE, smmu_iova_to_phys(g->smmu, g->proc[2], RING_IOVA, &pa));
    /* A hole in TTBR1 is an ordinary walk fault, at the level where the walk stopped. */
    e.iova = RING_IOVA + RING_PAGES * PAGE;    /* after the ring, same level-3 table */
    e.access = RD;
    e.level = 3;
    expect_fault(g->smmu, &e, "a hole next to the ringbuffers");
    e.iova = 0xffff000000000000ull;           /* the upper half's first page: root entry 0 is empty */
    e.level = 0;
    expect_fault(g->smmu, &e, "the upper half's first page, unmapped");

    /* The global leaf, read bit by bit from TTBR1's tables. */
    w = sw_walk(g->smmu, g->ttbr1 & 0xffffffffffffull, RING_IOVA, 12, 48);
    CHECK(w.ok && w.leaf_level == 3, "%s: the ring's first page is a level-3 page in TTBR1's tables (ok %d level %d)",
          mode, w.ok, w.leaf_level);
    CHECK(w.desc_pa[0] == (g->ttbr1 & 0xffffffffffffull) + 511 * 8,
          "0xffffffff00000000 uses root entry 511 (bits 47:39 all 1)");
    CHECK(desc_address(w.desc[3], 12) == RING_PA, "%s: the leaf's output 0x%llx", mode,
          (unsigned long long)desc_address(w.desc[3], 12));
    leaf_ng = w.desc[3] & DESC_NG;
    CHECK(g->global ? leaf_ng == 0 : leaf_ng != 0, "%s: the leaf's nG bit (11) is %d", mode, leaf_ng != 0);
    CHECK((w.desc[3] & DESC_AF) && (w.desc[3] & DESC_AP1) && !(w.desc[3] & DESC_AP2),
          "%s: AF set, AP[2:1] = 01 (read/write at EL0): 0x%llx", mode, (unsigned long long)w.desc[3]);

    /* smmu_switch_domain: TTBR0, the ASID, CONTEXTIDR and EPD0 change; TTBR1 and SPLIT stay. */
    before = cb_of(g->smmu, g->cb);
    for (i = 0; i < PROCS; i++) {
        CHECK_RC(0, smmu_switch_domain(g->smmu, g->proc[i]));
        cb = cb_of(g->smmu, g->cb);
        CHECK(cb.ttbr1 == before.ttbr1, "switch to process %u: TTBR1 0x%llx unchanged (0x%llx)", i,
              (unsigned long long)cb.ttbr1, (unsigned long long)before.ttbr1);
        CHECK(cb.flags == SMMU_CB_SPLIT, "switch to process %u: flags 0x%x = SPLIT (EPD0 cleared)", i, cb.flags);
        CHECK(cb.ttbr0 == attr_ttbr0(g->smmu, g->proc[i]) && cb.ttbr0 >> 48 == g->proc_asid[i]
                  && cb.asid == g->proc_asid[i],
              "switch to process %u: TTBR0 0x%llx, ASID %u are the process's", i, (unsigned long long)cb.ttbr0, cb.asid);
        CHECK(cb.active_domain == g->proc[i] && cb.contextidr == 0x100 + i && cb.base_domain == g->base,
              "switch to process %u: active 0x%08x contextidr 0x%x", i, cb.active_domain, cb.contextidr);
        CHECK(cb.vttbr == before.vttbr && cb.vmid == before.vmid && cb.granule == before.granule
                  && cb.dynamic_count == before.dynamic_count && cb.stream_count == before.stream_count,
              "switch to process %u: nothing else of the bank changes", i);
    }
    /* Back to the base: EPD0 again, its ASID. */
    CHECK_RC(0, smmu_switch_domain(g->smmu, g->base));
    cb = cb_of(g->smmu, g->cb);
    CHECK(cb.flags == (SMMU_CB_SPLIT | SMMU_CB_EPD0) && cb.ttbr0 == (uint64_t)g->base_asid << 48
              && cb.ttbr1 == before.ttbr1 && cb.active_domain == g->base,
          "switch to the base: EPD0 and the base's ASID again (flags 0x%x ttbr0 0x%llx)", cb.flags,
          (unsigned long long)cb.ttbr0);
    e.iova = PROC_IOVA;
    e.level = 0;
    expect_fault(g->smmu, &e, "after switching back to the base, TTBR0 is disabled again");

    /* A process active: its own tables in the lower half, faults name it. */
    CHECK_RC(0, smmu_switch_domain(g->smmu, g->proc[3]));
    pa = xlate(g->smmu, DEV, PROC_IOVA + 5 * PAGE + 0x18, WR, &rc);
    CHECK(rc == 0 && pa == PROC_PA(3) + 5 * PAGE + 0x18, "process 3: its buffer -> rc %d pa 0x%llx", rc,
          (unsigned long long)pa);
    e.iova = PROC_IOVA + PROC_PAGES * PAGE;
    e.level = 3;
    e.asid = g->proc_asid[3];
    e.active_domain = g->proc[3];
    expect_fault(g->smmu, &e, "process 3: past its buffers (its own level-3 table)");
    e.iova = 0x0000200000000000ull;            /* root entry 64: empty in the process's tables */
    e.level = 0;
    expect_fault(g->smmu, &e, "process 3: an empty root entry of TTBR0");
    e.iova = 0x0001000000000000ull;
    expect_fault(g->smmu, &e, "process 3: in neither half, with TTBR0 enabled too");
    CHECK_RC(0, smmu_switch_domain(g->smmu, g->base));
    CHECK_RC(0, smmu_tlb_inv_all(g->smmu));
}

/* ---- the workload --------------------------------------------------------------------------------- */

struct misses {
    uint64_t global, process, invalidations;
};

/* One job on process p: every global page once, then the process's buffers (every page once, then
 * random reads), SWITCH_EVERY translations in all. Every PA checked; misses counted by kind. */
static struct misses job(struct gpu *g, int p, uint64_t *rng, int *bad)
{
    static uint64_t iovas[SWITCH_EVERY], pas[SWITCH_EVERY];
    const int n_proc = SWITCH_EVERY - GLOBAL_PAGES;
    struct misses m;
    smmu_stats s0, s1, s2;
    size_t done = 0;
    int i;

    CHECK_RC(0, smmu_switch_domain(g->smmu, g->proc[p]));
    s0 = stats_of(g->smmu);
    for (i = 0; i < GLOBAL_PAGES; i++)
        iovas[i] = global_iova(i) + ((xorshift64(rng) & 0xfff) & ~7ull);
    CHECK_RC(0, smmu_translate_batch(g->smmu, DEV, iovas, pas, GLOBAL_PAGES, RD, &done));
    for (i = 0; i < GLOBAL_PAGES; i++)
        if (pas[i] != global_pa(iovas[i]) && (*bad)++ < 3)
            CHECK(0, "process %d: global 0x%llx -> 0x%llx, expected 0x%llx", p, (unsigned long long)iovas[i],
                  (unsigned long long)pas[i], (unsigned long long)global_pa(iovas[i]));
    s1 = stats_of(g->smmu);
    for (i = 0; i < n_proc; i++) {
        uint64_t r = xorshift64(rng);
        uint64_t page = i < PROC_PAGES ? (uint64_t)i : (r >> 12) % PROC_PAGES;
        iovas[i] = PROC_IOVA + page * PAGE + ((r & 0xfff) & ~7ull);
    }
    CHECK_RC(0, smmu_translate_batch(g->smmu, DEV, iovas, pas, (size_t)n_proc, RD | WR, &done));
    for (i = 0; i < n_proc; i++)
        if (pas[i] != PROC_PA(p) + (iovas[i] - PROC_IOVA) && (*bad)++ < 3)
            CHECK(0, "process %d: 0x%llx -> 0x%llx, expected its own PA 0x%llx", p, (unsigned long long)iovas[i],
                  (unsigned long long)pas[i], (unsigned long long)(PROC_PA(p) + (iovas[i] - PROC_IOVA)));
    s2 = stats_of(g->smmu);
    m.global = s1.tlb_misses - s0.tlb_misses;
    m.process = s2.tlb_misses - s1.tlb_misses;
    m.invalidations = s2.tlb_invalidations - s0.tlb_invalidations;
    return m;
}

static void workload(struct gpu *g, double *out_global, double *out_process)
{
    const char *mode = g->global ? "globals" : "no globals";
    uint64_t rng = SEED;
    struct misses m, sum = { 0, 0, 0 };
    int p, round, bad = 0;
    uint64_t first_global = 0;

    CHECK_RC(0, smmu_tlb_inv_all(g->smmu));
    /* Round 0: every process's first job. */
    for (p = 0; p < PROCS; p++) {
        m = job(g, p, &rng, &bad);
        first_global += m.global;
        CHECK(m.process == PROC_PAGES, "%s, first job of process %d: %llu misses on its buffers, expected %d (one per page)",
              mode, p, (unsigned long long)m.process, PROC_PAGES);
        if (g->global)
            CHECK(m.global == (p == 0 ? GLOBAL_PAGES : 0),
                  "globals, first job of process %d: %llu misses on the global buffers, expected %d", p,
                  (unsigned long long)m.global, p == 0 ? GLOBAL_PAGES : 0);
        else
            CHECK(m.global == GLOBAL_PAGES,
                  "no globals, first job of process %d: %llu misses on the global buffers, expected %d (its ASID's copies)",
                  p, (unsigned long long)m.global, GLOBAL_PAGES);
        CHECK(m.invalidations == 0, "%s: a switch invalidates nothing (%llu invalidations)", mode,
              (unsigned long long)m.invalidations);
    }
    /* Steady state. */
    for (round = 0; round < STEADY_ROUNDS; round++)
        for (p = 0; p < PROCS; p++) {
            m = job(g, p, &rng, &bad);
            sum.global += m.global;
            sum.process += m.process;
            sum.invalidations += m.invalidations;
        }
    *out_global = (double)sum.global / (STEADY_ROUNDS * PROCS);
    *out_process = (double)sum.process / (STEADY_ROUNDS * PROCS);
    printf("%-10s first round: %3llu misses on globals in %d switches; steady: %6.2f global + %6.2f process misses per switch\n",
           mode, (unsigned long long)first_global, PROCS, *out_global, *out_process);
    CHECK(bad == 0, "%s: %d translations returned a wrong PA", mode, bad);
    CHECK(sum.invalidations == 0, "%s: %llu invalidations in %d switches, expected 0", mode,
          (unsigned long long)sum.invalidations, STEADY_ROUNDS * PROCS);
    if (g->global) {
        CHECK(sum.global == 0, "globals: %llu misses on global buffers in %d switches, expected 0", (unsigned long long)sum.global,
              STEADY_ROUNDS * PROCS);
        CHECK(sum.process == 0, "globals: %llu misses on process buffers in %d switches, expected 0 (ASID tagging)",
              (unsigned long long)sum.process, STEADY_ROUNDS * PROCS);
    } else {
        /* 8 x (64 + 96) = 1280 entries tagged per process > 1024: the working set no longer fits. */
        CHECK(sum.global > (uint64_t)STEADY_ROUNDS * PROCS * 8, "no globals: the globals re-miss (%.2f per switch)",
              *out_global);
        CHECK(sum.process > 0, "no globals: per-process copies of the globals push process buffers out too");
    }
}

/* ---- unmapping a global buffer, teardown ------------------------------------------------------------ */

static void unmap_and_teardown(struct gpu *g)
{
    struct expected_fault e;
    smmu_cb_state cb;
    smmu_stats s;
    int32_t rc;
    uint64_t pa, victim = RING_IOVA + 7 * PAGE;
    int p;

    /* Every process has the page cached (with globals: one entry for all). */
    for (p = 0; p < PROCS; p++) {
        CHECK_RC(0, smmu_switch_domain(g->smmu, g->proc[p]));
        pa = xlate(g->smmu, DEV, victim, RD, &rc);
        CHECK(rc == 0 && pa == RING_PA + 7 * PAGE, "process %d reads ring page 7 -> 0x%llx", p, (unsigned long long)pa);
    }
    CHECK(smmu_unmap(g->smmu, g->base, victim, PAGE) == (int64_t)PAGE, "unmap one ringbuffer page of the split base");
    memset(&e, 0, sizeof e);
    e.stream_id = DEV;
    e.context_bank = g->cb;
    e.iova = victim + 0x10;
    e.access = RD;
    e.type = SMMU_FAULT_TRANSLATION;
    e.level = 3;
    e.stage = 1;
    for (p = 0; p < PROCS; p++) {
        CHECK_RC(0, smmu_switch_domain(g->smmu, g->proc[p]));
        e.asid = g->proc_asid[p];
        e.active_domain = g->proc[p];
        expect_fault(g->smmu, &e, "after unmapping a global page no process hits a stale entry (TLBIVAA)");
    }
    CHECK_RC(0, smmu_map(g->smmu, g->base, victim, RING_PA + 7 * PAGE, PAGE, RW | (g->global ? SMMU_PROT_GLOBAL : 0)));
    pa = xlate(g->smmu, DEV, victim, RD, &rc);
    CHECK(rc == 0 && pa == RING_PA + 7 * PAGE, "remapped -> rc %d", rc);

    /* Teardown in the seed's order: the base's detach is EBUSY while processes are attached. */
    CHECK_RC(SMMU_EBUSY, smmu_detach_device(g->smmu, g->base, DEV));
    CHECK_RC(0, smmu_switch_domain(g->smmu, g->proc[PROCS - 1]));
    for (p = PROCS - 1; p >= 0; p--) {
        CHECK_RC(0, smmu_detach_device(g->smmu, g->proc[p], DEV));
        if (p == PROCS - 1) {
            cb = cb_of(g->smmu, g->cb);
            CHECK(cb.active_domain == g->base && cb.flags == (SMMU_CB_SPLIT | SMMU_CB_EPD0)
                      && cb.ttbr0 == (uint64_t)g->base_asid << 48 && cb.ttbr1 == g->ttbr1,
                  "detaching the active process falls back to the base: EPD0, the base's ASID, TTBR1 kept (flags 0x%x)",
                  cb.flags);
        }
        CHECK_RC(0, smmu_domain_free(g->smmu, g->proc[p]));
    }
    pa = xlate(g->smmu, DEV, RING_IOVA, RD, &rc);
    CHECK(rc == 0 && pa == RING_PA, "with every process gone the globals still translate");
    CHECK_RC(0, smmu_detach_device(g->smmu, g->base, DEV));
    cb = cb_of(g->smmu, g->cb);
    CHECK(cb.in_use == 0 && cb.ttbr0 == 0 && cb.ttbr1 == 0 && cb.flags == 0, "the base's detach resets the bank");
    CHECK_RC(0, smmu_domain_free(g->smmu, g->base));
    s = stats_of(g->smmu);
    CHECK(s.pt_pages_in_use == 0, "every table page back in the pool, %llu in use", (unsigned long long)s.pt_pages_in_use);
    CHECK_RC(0, smmu_destroy(g->smmu));
}

int main(void)
{
    struct gpu g;
    double global_with = -1, process_with = -1, global_without = -1, process_without = -1;
    int mode;

    for (mode = 1; mode >= 0; mode--) {
        if (!gpu_up(&g, mode))
            return check_summary("adreno_split");
        split_basics(&g);
        if (mode)
            workload(&g, &global_with, &process_with);
        else
            workload(&g, &global_without, &process_without);
        unmap_and_teardown(&g);
    }
    CHECK(global_with + process_with < global_without + process_without,
          "switching costs less with global mappings (%.2f) than without (%.2f)", global_with + process_with,
          global_without + process_without);
    return check_summary("adreno_split");
}
