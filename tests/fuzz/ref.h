/*
 * ref.h - a small, slow-but-obvious C reference of what libsmmu promises (C99).
 *
 * One ref_inst models one SMMU instance as smmu.h describes it, without any of the library's code:
 *   - domains: live handles, base vs dynamic, attributes, attachment (bank, ASID, streams), handler;
 *   - each domain's tables as a radix tree of 512-slot nodes, leaves exactly as the library builds
 *     them (largest leaf that alignment and size allow; unmap splits a block that is only partly
 *     inside, one table page per split; emptied tables are freed), so the table-page count
 *     (root + every intermediate table) and every descriptor are known exactly;
 *   - context banks (owner, active domain, ASID, CONTEXTIDR, fault registers and record), stream
 *     routing, the ASID allocator, the pool's page accounting and the counters that do not depend on
 *     TLB geometry (translations, faults, switches, invalidations, hits + misses, walks - misses).
 * Every ref_* call returns the code smmu.h documents for those arguments and, when that is success,
 * applies the change. Where the header leaves a choice open, the reference follows the library's
 * present behaviour; each such place is marked "CHOICE:" and listed in docs/reliability.md.
 *
 * The reference does not know physical addresses of tables until the harness learns them from the
 * library (TTBR0, phys_read64 of table descriptors); ref_learn_* records them and reports conflicts.
 */
#ifndef SMMU_REF_H
#define SMMU_REF_H

#include <stddef.h>
#include <stdint.h>

#include "smmu.h"

#define REF_PAGE_SHIFT 12
#define REF_PAGE (1ull << REF_PAGE_SHIFT)
#define REF_ENTRIES 512
#define REF_LAST_LEVEL 3
#define REF_ADDR_MASK 0x0000FFFFFFFFF000ull

/* Descriptor bits (VMSAv8-64 stage 1, as io-pgtable-arm writes them). */
#define REF_PTE_TYPE_MASK 3ull
#define REF_PTE_BLOCK 1ull
#define REF_PTE_TABLE 3ull
#define REF_PTE_PAGE 3ull
#define REF_PTE_ATTRIDX_SHIFT 2
#define REF_PTE_AP_USER (1ull << 6)   /* AP[1] */
#define REF_PTE_AP_RDONLY (1ull << 7) /* AP[2] */
#define REF_PTE_SH_OUTER (2ull << 8)
#define REF_PTE_SH_INNER (3ull << 8)
#define REF_PTE_AF (1ull << 10)
#define REF_PTE_NG (1ull << 11)
#define REF_PTE_PXN (1ull << 53)
#define REF_PTE_UXN (1ull << 54)

#define REF_FSR_FAULT_MASK (SMMU_FSR_TF | SMMU_FSR_AFF | SMMU_FSR_PF | SMMU_FSR_EF | SMMU_FSR_ASF)

/* The next-level table at slot i of n, or NULL. */
#define REF_CHILD(n, i) ((n)->child ? (n)->child[i] : (ref_node *)0)

/* Bytes one descriptor covers at a level: 512 GiB, 1 GiB, 2 MiB, 4 KiB. */
static inline uint64_t ref_level_size(int level)
{
    return 1ull << (REF_PAGE_SHIFT + 9 * (REF_LAST_LEVEL - level));
}

typedef struct ref_node ref_node;
struct ref_node {
    uint64_t desc[REF_ENTRIES];   /* a leaf's descriptor, or 0 (invalid, or a table: see child) */
    ref_node **child;             /* [REF_ENTRIES] next-level tables, NULL entries for none;
                                     NULL for a level-3 table (it has no children) */
    uint64_t va;                  /* first IOVA the table covers */
    uint64_t pa;                  /* its pool page, once learned */
    int pa_known;
    int level;
    int valid;                    /* slots holding a leaf or a table */
};

/* ABI 1.0 sizes of the structs that grew in 1.1 (smmu.h: still accepted, the prefix is read/written). */
#define REF_CONFIG_SIZE_1_0 56u
#define REF_FAULT_SIZE_1_0 48u
#define REF_CB_STATE_SIZE_1_0 56u
#define REF_STATS_SIZE_1_0 88u

/* Library behaviours that contradict smmu.h, found by the soak or the fuzzer: each has a switch
 * (environment SMMU_REF_SKIP_<NAME>=1, see ops.h) that makes the reference accept the library's answer
 * for that case only, so the rest keeps running while the bug is open; each has a reproducer under
 * repro/. Off (0) by default: the reference follows the header. */
typedef struct ref_compat {
    int cb_busy_first;            /* set_attr CONTEXT_BANK: EBUSY before EINVAL (repro/context_bank_order.c) */
    int nest_parent_busy_first;   /* set_attr NEST_PARENT: EBUSY before EBADF/EINVAL (repro/nest_parent_order.c) */
    int batch_writes_failed_pa;   /* translate_batch writes 0 to out_pas[*out_done] when it fails (repro/batch_failed_pa.c) */
    int map_pages_range_first;    /* map_pages: ERANGE (pgsize * pgcount overflows) before smmu_map's EINVAL (prot)
                                     (repro/map_pages_order.c) */
} ref_compat;
extern ref_compat REF_COMPAT;

typedef struct ref_domain {
    uint32_t handle;
    int dynamic;
    int requested_cb;             /* CONTEXT_BANK attribute, -1 while unset */
    uint32_t procid;
    uint32_t nest_parent;         /* NEST_PARENT: always 0 here (the harness sets no stage 2) */
    int cb;                       /* the bank it is attached on, -1 while detached */
    int root_fixed;               /* mapped or attached once: no more reshaping */
    uint32_t asid;                /* 0 while detached */
    int stream_count;             /* base: streams routed to its bank; dynamic: 1 while attached */
    uint32_t dyn_sid;             /* dynamic: the stream it was attached through */
    smmu_fault_handler handler;   /* kept whatever DYNAMIC says (the library does) */
    void *cookie;
    ref_node *root;
    uint64_t tables;              /* table pages, the root included */
} ref_domain;

typedef struct ref_bank {
    int in_use;
    ref_domain *base, *active;
    uint32_t asid, contextidr;
    uint32_t stream_count, dynamic_count;
    uint32_t fsr, fsynr0;
    uint64_t far;
    smmu_fault record;            /* what smmu_get_fault returns (fsr from the register) */
} ref_bank;

/* Counters the reference can predict exactly. hits + misses and walks - misses are the TLB-free
 * combinations: hits + misses = translations + retries, walks - misses = software walks. */
typedef struct ref_counters {
    uint64_t translations, faults, switches, invalidations;
    uint64_t hits_misses, sw_walks;
    uint64_t vmid_invalidations;   /* ABI 1.1: explicit smmu_tlb_inv_vmid (no stage 2 here otherwise) */
} ref_counters;

#define REF_DEAD_RING 32

typedef struct ref_inst {
    uint32_t handle;
    smmu_config cfg;
    int start_level;
    uint64_t in_limit, out_limit;  /* 2^ias, 2^oas */
    uint64_t pool_pages, pages_in_use;
    ref_bank *banks;
    int32_t *streams;              /* stream -> bank, -1 unrouted */
    ref_domain **doms;
    int ndoms, cap_doms;
    uint32_t dead[REF_DEAD_RING];  /* recently freed domain handles: stale forever */
    int ndead, dead_next;
    uint64_t *asid_used;
    uint32_t asid_cap, asid_in_use, asid_last;   /* asid_cap: the highest ASID handed out (255 or 0xFFFE) */
    uint64_t asid_limit, vmid_limit;             /* 2^asid_bits, 2^vmid_bits: the range of tlb_inv's arguments */
    ref_counters c;
    int handler_depth;             /* fault handlers of this instance running */
    int batches_in_flight;         /* batches running (fault handlers nest): they count when they return */
    ref_node **page_owner;         /* pool page -> the table learned to live there */
    uint64_t known_pages;
} ref_inst;

/* ---- instances ---- */
int32_t ref_config_check(const smmu_config *cfg);           /* 0 or SMMU_EINVAL */
ref_inst *ref_inst_new(const smmu_config *cfg, uint32_t handle);
void ref_inst_free(ref_inst *ri);
ref_domain *ref_domain_of(const ref_inst *ri, uint32_t handle);   /* NULL: not a live domain of ri */
int ref_is_dead_domain(const ref_inst *ri, uint32_t handle);

/* ---- domains ---- (ri NULL = not a live instance) */
int32_t ref_domain_alloc(ref_inst *ri, int null_out);
ref_domain *ref_domain_alloc_commit(ref_inst *ri, uint32_t handle);
int32_t ref_domain_free(ref_inst *ri, uint32_t d);
int32_t ref_set_attr(ref_inst *ri, uint32_t d, uint32_t attr, const void *data, size_t size);
/* *value gets the attribute; *root_unknown is set for TTBR0 when the root's address is not known yet. */
int32_t ref_get_attr(ref_inst *ri, uint32_t d, uint32_t attr, int null_data, size_t size, uint64_t *value,
                     int *root_unknown);
int32_t ref_attach(ref_inst *ri, uint32_t d, uint32_t sid);
int32_t ref_detach(ref_inst *ri, uint32_t d, uint32_t sid);
int32_t ref_switch(ref_inst *ri, uint32_t d);
int32_t ref_set_fault_handler(ref_inst *ri, uint32_t d, smmu_fault_handler fn, void *cookie);

/* ---- mappings ---- */
int32_t ref_map(ref_inst *ri, uint32_t d, uint64_t iova, uint64_t pa, uint64_t size, uint32_t prot);
int64_t ref_unmap(ref_inst *ri, uint32_t d, uint64_t iova, uint64_t size);
/* smmu_map_pages (out_mapped not NULL: the harness checks that case itself) and smmu_unmap_pages with g NULL. */
int32_t ref_map_pages(ref_inst *ri, uint32_t d, uint64_t iova, uint64_t pa, uint64_t pgsize, uint64_t pgcount, uint32_t prot);
int64_t ref_unmap_pages(ref_inst *ri, uint32_t d, uint64_t iova, uint64_t pgsize, uint64_t pgcount);
int32_t ref_iova_to_phys(ref_inst *ri, uint32_t d, uint64_t iova, int null_out, uint64_t *pa);
/* *known: 1 when the reference knows the word's value (*value). */
int32_t ref_phys_read64(ref_inst *ri, uint64_t pa, int null_out, uint64_t *value, int *known);
/* *known: 0 when the reference cannot tell the outcome (the harness never writes there). */
int32_t ref_phys_write64(ref_inst *ri, uint64_t pa, uint64_t value, int *known);
uint64_t ref_pte_attributes(uint32_t prot);
unsigned ref_rights(uint64_t pte);
unsigned ref_required(uint32_t access);

/* ---- TLB maintenance, faults, banks, stats ---- */
int32_t ref_tlb_inv_all(ref_inst *ri);
int32_t ref_tlb_inv_asid(ref_inst *ri, uint32_t asid);
int32_t ref_tlb_inv_va(ref_inst *ri, uint32_t asid, uint64_t iova, uint64_t size);
int32_t ref_tlb_inv_va_all(ref_inst *ri, uint64_t iova, uint64_t size);
int32_t ref_tlb_inv_vmid(ref_inst *ri, uint32_t vmid);
int32_t ref_tlb_inv_ipa(ref_inst *ri, uint32_t vmid, uint64_t ipa, uint64_t size);
int32_t ref_get_fault(ref_inst *ri, uint32_t cb, int null_out, uint32_t size, smmu_fault *out);
int32_t ref_clear_fault(ref_inst *ri, uint32_t cb);
/* *root_unknown: the active domain's root address is not known, ttbr0's address bits are unset. */
int32_t ref_get_context_bank(ref_inst *ri, uint32_t cb, int null_out, uint32_t size, smmu_cb_state *out,
                             int *root_unknown);
int32_t ref_get_stats(ref_inst *ri, int null_out, uint32_t size);
int32_t ref_reset_stats(ref_inst *ri);

/* ---- translation, step by step around fault handlers ----
 * The library calls a fault handler from inside smmu_translate; the reference cannot know what the
 * handler will do. So a translation is simulated up to the point where a handler is due (the
 * harness's handler then checks that it was called, with this record), and resumed when the handler
 * returns. */
typedef struct ref_xlate {
    ref_inst *inst;
    uint32_t sid, access;
    const uint64_t *iovas;
    uint64_t *pas;                 /* expected outputs */
    size_t count, index, slow;    /* slow: IOVAs that faulted */
    size_t counted;                /* a batch: translations [0, counted) are counted in the statistics */
    int batch, attempt, finished;
    int32_t rc;
    int expect_handler;            /* the library must now call the handler below */
    uint32_t handler_bank;
    smmu_fault fault;
    uint32_t base_handle;
    smmu_fault_handler fn;
    void *cookie;
} ref_xlate;

/* Argument checks (handle, stream, access) and the first steps. Returns 0 when the translation
 * started (see x->finished, x->expect_handler), else the code the call ends with. */
int32_t ref_xlate_begin(ref_xlate *x, ref_inst *ri, uint32_t sid, const uint64_t *iovas, uint64_t *pas,
                        size_t count, uint32_t access, int batch);
void ref_xlate_handler_returned(ref_xlate *x, int32_t verdict);

/* ---- what the harness learns from the library ----
 * Each returns 0, or a negative code with *why set to a static explanation. */
int ref_learn_root(ref_inst *ri, ref_domain *dom, uint64_t pa, const char **why);
int ref_learn_child(ref_inst *ri, ref_node *parent, int index, uint64_t pa, const char **why);
/* A leaf, chosen with r, of a domain's tables: its IOVA and level; 0 when there is none. */
int ref_sample_leaf(const ref_domain *dom, uint32_t r, uint64_t *iova, int *level, ref_node **node, int *index);
/* A table of a domain whose address is known, chosen with r; NULL when there is none. */
ref_node *ref_sample_known_table(const ref_domain *dom, uint32_t r);
/* Table pages of every domain, and how many of them have a known address. */
uint64_t ref_count_tables(const ref_domain *dom, uint64_t *known);

#endif /* SMMU_REF_H */
