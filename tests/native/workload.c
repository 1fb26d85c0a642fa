/*
 * workload.c - the child process of the monitor tests (tests/Smmu.Monitor.Tests), through the C ABI.
 * tests/Smmu.Workload/Program.cs is the same workload in C#; both print the same lines.
 *
 *   workload [--faults] [--rounds N]
 *
 * Creates two instances (ids 1 and 2: the library numbers instances in creation order), prints
 * "PID <pid>" and "READY", and waits for a line on stdin, so that a monitor can attach first. Then it
 * runs a fixed workload: N rounds (default 10) of dynamic-domain switches and translations, 0.1 s
 * apart, then an unmap and an explicit invalidation; with --faults, three faults with different
 * fields, each copied by a fault handler. It
 * prints "FAULT ..." for each fault and "STATS ..." for each instance, then "DONE", and waits for
 * stdin to close before it destroys the instances and exits 0. Any failure: "ERROR ..." and exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smmu.h"

#define PAGE 0x1000ull
#define RW (SMMU_PROT_READ | SMMU_PROT_WRITE)
#define SID1 3u
#define SID2 5u
#define MAX_FAULTS 8

static struct {
    int instance;
    smmu_fault fault;
} faults[MAX_FAULTS];
static int fault_count;

static void must(int64_t rc, const char *what)
{
    if (rc < 0) {
        printf("ERROR %s -> %lld (%s)\n", what, (long long)rc, smmu_strerror((int32_t)rc));
        exit(1);
    }
}

/* The cookie is the instance id (1 or 2), so the record can be printed with it. */
static int32_t on_fault(smmu_t smmu, smmu_domain_t base, const smmu_fault *fault, void *cookie)
{
    (void)smmu;
    (void)base;
    if (fault_count < MAX_FAULTS) {
        faults[fault_count].instance = (int)(intptr_t)cookie;
        faults[fault_count].fault = *fault;
        fault_count++;
    }
    return 0; /* not RETRY: the translation fails with EFAULT */
}

static void translate_pages(smmu_t smmu, uint32_t sid, uint64_t iova, int pages, int passes)
{
    uint64_t pa;
    for (int p = 0; p < passes; p++)
        for (int i = 0; i < pages; i++)
            must(smmu_translate(smmu, sid, iova + (uint64_t)i * PAGE, SMMU_ACCESS_READ, &pa), "translate");
}

static void expect_fault(smmu_t smmu, uint32_t sid, uint64_t iova, uint32_t access)
{
    uint64_t pa;
    int32_t rc = smmu_translate(smmu, sid, iova, access, &pa);
    if (rc != SMMU_EFAULT) {
        printf("ERROR translate 0x%llx expected EFAULT, got %d\n", (unsigned long long)iova, rc);
        exit(1);
    }
}

static void print_stats(int instance, smmu_t smmu)
{
    smmu_stats s;
    s.size = sizeof s;
    must(smmu_get_stats(smmu, &s), "get_stats");
    printf("STATS instance=%d translations=%llu tlb_hits=%llu tlb_misses=%llu walks=%llu faults=%llu switches=%llu "
           "tlb_invalidations=%llu tlb_entries_invalidated=%llu pt_pages_in_use=%llu pt_pages_free=%llu "
           "stage2_walks=%llu descriptor_reads=%llu vmid_invalidations=%llu stale_translations=%llu "
           "missed_syncs=%llu needless_invalidations=%llu\n",
           instance, (unsigned long long)s.translations, (unsigned long long)s.tlb_hits,
           (unsigned long long)s.tlb_misses, (unsigned long long)s.walks, (unsigned long long)s.faults,
           (unsigned long long)s.switches, (unsigned long long)s.tlb_invalidations,
           (unsigned long long)s.tlb_entries_invalidated, (unsigned long long)s.pt_pages_in_use,
           (unsigned long long)s.pt_pages_free, (unsigned long long)s.stage2_walks,
           (unsigned long long)s.descriptor_reads, (unsigned long long)s.vmid_invalidations,
           (unsigned long long)s.stale_translations, (unsigned long long)s.missed_syncs,
           (unsigned long long)s.needless_invalidations);
}

int main(int argc, char **argv)
{
    int with_faults = 0, rounds = 10;
    smmu_config cfg1, cfg2;
    smmu_t s1, s2;
    smmu_domain_t base1, base2, dyn[2];
    uint32_t cb, asid0;
    int32_t one = 1;
    char line[64];
    struct timespec pause = {0, 100 * 1000 * 1000};

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--faults") == 0)
            with_faults = 1;
        else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
            rounds = atoi(argv[++a]);
    }

    smmu_config_init(&cfg1);
    smmu_config_init(&cfg2);
    cfg2.tlb_entries = 256;
    cfg2.tlb_ways = 4;
    must(smmu_create(&cfg1, &s1), "create 1");
    must(smmu_create(&cfg2, &s2), "create 2");

    must(smmu_domain_alloc(s1, &base1), "alloc base1");
    must(smmu_attach_device(s1, base1, SID1), "attach base1");
    must(smmu_domain_get_attr(s1, base1, SMMU_ATTR_CONTEXT_BANK, &cb, sizeof cb), "get CONTEXT_BANK");
    must(smmu_map(s1, base1, 0x10000000ull, 0x70000000ull, 16 * PAGE, RW), "map base1");
    for (int i = 0; i < 2; i++) {
        must(smmu_domain_alloc(s1, &dyn[i]), "alloc dyn");
        must(smmu_domain_set_attr(s1, dyn[i], SMMU_ATTR_DYNAMIC, &one, sizeof one), "set DYNAMIC");
        must(smmu_domain_set_attr(s1, dyn[i], SMMU_ATTR_CONTEXT_BANK, &cb, sizeof cb), "set CONTEXT_BANK");
        must(smmu_attach_device(s1, dyn[i], SID1), "attach dyn");
        must(smmu_map(s1, dyn[i], 0x10000000ull, 0x80000000ull + (uint64_t)i * 0x1000000ull, 64 * PAGE, RW), "map dyn");
    }
    must(smmu_domain_get_attr(s1, dyn[0], SMMU_ATTR_ASID, &asid0, sizeof asid0), "get ASID");
    must(smmu_domain_alloc(s2, &base2), "alloc base2");
    must(smmu_attach_device(s2, base2, SID2), "attach base2");
    must(smmu_map(s2, base2, 0x20000000ull, 0x90000000ull, 32 * PAGE, RW), "map base2");

    printf("PID %d\nREADY\n", (int)getpid());
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return 1;

    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < 2; i++) {
            must(smmu_switch_domain(s1, dyn[i]), "switch");
            translate_pages(s1, SID1, 0x10000000ull, 64, 4);
        }
        translate_pages(s2, SID2, 0x20000000ull, 32, 2);
        nanosleep(&pause, NULL);
    }
    must(smmu_unmap(s1, dyn[1], 0x10000000ull + 32 * PAGE, 32 * PAGE), "unmap");
    must(smmu_tlb_inv_asid(s1, asid0), "tlb_inv_asid");

    if (with_faults) {
        must(smmu_set_fault_handler(s1, base1, on_fault, (void *)(intptr_t)1), "set handler 1");
        must(smmu_set_fault_handler(s2, base2, on_fault, (void *)(intptr_t)2), "set handler 2");
        /* 1: translation fault, dynamic domain 0 active, read */
        must(smmu_switch_domain(s1, dyn[0]), "switch");
        expect_fault(s1, SID1, 0x30000000ull, SMMU_ACCESS_READ);
        /* 2: permission fault, dynamic domain 1 active, write to a read-only page */
        must(smmu_map(s1, dyn[1], 0x40000000ull, 0xA0000000ull, PAGE, SMMU_PROT_READ), "map read-only");
        must(smmu_switch_domain(s1, dyn[1]), "switch");
        expect_fault(s1, SID1, 0x40000000ull, SMMU_ACCESS_WRITE);
        /* 3: translation fault on the second instance, privileged instruction fetch */
        expect_fault(s2, SID2, 0x50000000ull, SMMU_ACCESS_READ | SMMU_ACCESS_EXEC | SMMU_ACCESS_PRIV);
    }

    for (int i = 0; i < fault_count; i++) {
        const smmu_fault *f = &faults[i].fault;
        printf("FAULT instance=%d stream_id=%u context_bank=%u asid=%u active_domain=%u iova=%llu access=%u type=%u "
               "level=%u fsr=%u fsynr0=%u\n",
               faults[i].instance, f->stream_id, f->context_bank, f->asid, f->active_domain,
               (unsigned long long)f->iova, f->access, f->type, f->level, f->fsr, f->fsynr);
    }
    print_stats(1, s1);
    print_stats(2, s2);
    printf("DONE\n");
    fflush(stdout);

    while (fgets(line, sizeof line, stdin)) {
        /* wait for stdin to close */
    }
    must(smmu_destroy(s1), "destroy 1");
    must(smmu_destroy(s2), "destroy 2");
    return 0;
}
