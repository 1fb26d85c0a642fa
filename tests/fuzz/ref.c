/*
 * ref.c - the reference model (see ref.h). Written for obviousness, not speed: linear searches,
 * one node per table, recursion that follows the definition of map and unmap in smmu.h.
 */
#include "ref.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define R_PR 0x01u
#define R_PW 0x02u
#define R_PX 0x04u
#define R_UR 0x08u
#define R_UW 0x10u
#define R_UX 0x20u

ref_compat REF_COMPAT;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        abort();
    return p;
}

static int index_of(uint64_t va, int level)
{
    return (int)((va >> (REF_PAGE_SHIFT + 9 * (REF_LAST_LEVEL - level))) & (REF_ENTRIES - 1));
}

/* ---- instances --------------------------------------------------------------------------------- */

static int is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

int32_t ref_config_check(const smmu_config *c)
{
    uint64_t out_limit;
    /* smmu.h (smmu_create): "cfg->size: this header's sizeof(smmu_config), or ABI 1.0's 56 (the fields
     * after pt_pool_bytes then take their defaults)" */
    if (c->size != sizeof(smmu_config) && c->size != REF_CONFIG_SIZE_1_0)
        return SMMU_EINVAL;
    if (c->num_context_banks < 1 || c->num_context_banks > 128)
        return SMMU_EINVAL;
    if (c->num_stream_ids < 1 || c->num_stream_ids > 65536)
        return SMMU_EINVAL;
    if (c->asid_bits != 8 && c->asid_bits != 16)
        return SMMU_EINVAL;
    if (c->ias < 32 || c->ias > 48 || c->oas < 32 || c->oas > 48)
        return SMMU_EINVAL;
    if (!is_pow2(c->tlb_entries) || c->tlb_entries > 65536 || !is_pow2(c->tlb_ways) || c->tlb_ways > c->tlb_entries)
        return SMMU_EINVAL;
    /* ABI 1.1 added SMMU_CFG_SANITIZE_TLB and SMMU_CFG_LAZY_FLUSH */
    if (c->flags & ~(SMMU_CFG_NO_ASID_TAGGING | SMMU_CFG_SCALAR_TLB | SMMU_CFG_SANITIZE_TLB | SMMU_CFG_LAZY_FLUSH))
        return SMMU_EINVAL;
    if ((c->pt_pool_base & (REF_PAGE - 1)) || (c->pt_pool_bytes & (REF_PAGE - 1)))
        return SMMU_EINVAL;
    if (c->pt_pool_bytes < REF_PAGE || c->pt_pool_bytes > (4ull << 30))
        return SMMU_EINVAL;
    out_limit = 1ull << c->oas;
    if (c->pt_pool_bytes > out_limit || c->pt_pool_base > out_limit - c->pt_pool_bytes)
        return SMMU_EINVAL;
    /* ABI 1.1 fields, read only from a config of this header's size: "vmid_bits 8 or 16",
     * "flush_queue_size 1..65536" */
    if (c->size == sizeof(smmu_config)
        && ((c->vmid_bits != 8 && c->vmid_bits != 16) || c->flush_queue_size < 1 || c->flush_queue_size > 65536))
        return SMMU_EINVAL;
    return SMMU_OK;
}

ref_inst *ref_inst_new(const smmu_config *cfg, uint32_t handle)
{
    ref_inst *ri = xcalloc(1, sizeof *ri);
    uint32_t i;
    ri->handle = handle;
    ri->cfg = *cfg;
    if (cfg->size == REF_CONFIG_SIZE_1_0) {
        /* an ABI 1.0 config: the 1.1 fields take their defaults */
        ri->cfg.vmid_bits = 16;
        ri->cfg.flush_queue_size = 256;
    }
    ri->start_level = REF_LAST_LEVEL - ((int)cfg->ias - REF_PAGE_SHIFT - 1) / 9;
    ri->in_limit = 1ull << cfg->ias;
    ri->out_limit = 1ull << cfg->oas;
    ri->pool_pages = cfg->pt_pool_bytes >> REF_PAGE_SHIFT;
    ri->banks = xcalloc(cfg->num_context_banks, sizeof *ri->banks);
    ri->streams = xcalloc(cfg->num_stream_ids, sizeof *ri->streams);
    for (i = 0; i < cfg->num_stream_ids; i++)
        ri->streams[i] = -1;
    /* smmu.h (asid_bits): "ASID 0 is reserved ..., and with 16 bits 0xFFFF too (entries without an
     * ASID), so 255 or 65534 stage-1 domains (base or dynamic) can be attached at once" */
    ri->asid_cap = cfg->asid_bits == 16 ? 0xFFFEu : 0xFFu;
    ri->asid_limit = 1ull << cfg->asid_bits;
    ri->vmid_limit = 1ull << ri->cfg.vmid_bits;
    ri->asid_used = xcalloc((ri->asid_cap + 1 + 63) / 64, sizeof(uint64_t));
    ri->asid_used[0] = 1;   /* ASID 0 is reserved */
    ri->page_owner = xcalloc((size_t)ri->pool_pages, sizeof *ri->page_owner);
    return ri;
}

/* Freed nodes are kept for reuse (the soak and the fuzzer make and drop millions of tables; fresh
 * memory costs page faults, and under ASan quarantine every free makes fresh memory). */
static ref_node *free_nodes[2];   /* [0] level-3 tables, [1] tables with a child array */

static void free_tree(ref_inst *ri, ref_node *n)
{
    int i;
    if (!n)
        return;
    for (i = 0; i < REF_ENTRIES; i++)
        free_tree(ri, REF_CHILD(n, i));
    if (n->pa_known && ri) {
        ri->page_owner[(n->pa - ri->cfg.pt_pool_base) >> REF_PAGE_SHIFT] = NULL;
        ri->known_pages--;
    }
    /* onto the free list: linked through child[0], or through va for a level-3 table */
    if (n->child) {
        n->child[0] = free_nodes[1];
        free_nodes[1] = n;
    } else {
        n->va = (uint64_t)(uintptr_t)free_nodes[0];
        free_nodes[0] = n;
    }
}

void ref_inst_free(ref_inst *ri)
{
    int i;
    if (!ri)
        return;
    for (i = 0; i < ri->ndoms; i++) {
        free_tree(NULL, ri->doms[i]->root);
        free(ri->doms[i]);
    }
    free(ri->doms);
    free(ri->banks);
    free(ri->streams);
    free(ri->asid_used);
    free(ri->page_owner);
    free(ri);
}

ref_domain *ref_domain_of(const ref_inst *ri, uint32_t handle)
{
    int i;
    if (!ri)
        return NULL;
    for (i = 0; i < ri->ndoms; i++)
        if (ri->doms[i]->handle == handle)
            return ri->doms[i];
    return NULL;
}

int ref_is_dead_domain(const ref_inst *ri, uint32_t handle)
{
    int i;
    for (i = 0; i < ri->ndead; i++)
        if (ri->dead[i] == handle)
            return 1;
    return 0;
}

/* ---- the ASID allocator ---------------------------------------------------------------------------
 * CHOICE: next-fit, as the library's AsidAllocator: the lowest free ASID above the last one handed
 * out, wrapping around to 1. */

static int asid_is_used(const ref_inst *ri, uint32_t a)
{
    return (ri->asid_used[a >> 6] >> (a & 63)) & 1;
}

static int asid_alloc(ref_inst *ri, uint32_t *out)
{
    uint32_t a;
    if (ri->asid_in_use == ri->asid_cap)
        return 0;
    for (a = ri->asid_last + 1; a <= ri->asid_cap; a++)
        if (!asid_is_used(ri, a))
            goto found;
    for (a = 1; a <= ri->asid_last; a++)
        if (!asid_is_used(ri, a))
            goto found;
    abort();   /* asid_in_use < asid_cap: unreachable */
found:
    ri->asid_used[a >> 6] |= 1ull << (a & 63);
    ri->asid_last = a;
    ri->asid_in_use++;
    *out = a;
    return 1;
}

static void asid_free(ref_inst *ri, uint32_t a)
{
    ri->asid_used[a >> 6] &= ~(1ull << (a & 63));
    ri->asid_in_use--;
}

/* ---- tables ---------------------------------------------------------------------------------------- */

static ref_node *node_new(ref_inst *ri, int level, uint64_t va)
{
    int kind = level < REF_LAST_LEVEL;
    ref_node *n = free_nodes[kind];
    (void)ri;
    if (n) {
        ref_node **child = n->child;
        free_nodes[kind] = child ? (ref_node *)(void *)child[0] : (ref_node *)(uintptr_t)n->va;
        memset(n, 0, sizeof *n);
        if (child)
            memset(child, 0, REF_ENTRIES * sizeof *child);
        n->child = child;
    } else {
        n = xcalloc(1, sizeof *n);
        if (kind)
            n->child = xcalloc(REF_ENTRIES, sizeof *n->child);
    }
    n->level = level;
    n->va = va;
    return n;
}

/* Frees an empty node (or a whole subtree) and returns its pages to the modelled pool. */
static uint64_t count_nodes(const ref_node *n)
{
    uint64_t c = 1;
    int i;
    for (i = 0; i < REF_ENTRIES; i++)
        if (REF_CHILD(n, i))
            c += count_nodes(REF_CHILD(n, i));
    return c;
}

static void release_subtree(ref_inst *ri, ref_domain *dom, ref_node *n)
{
    uint64_t c = count_nodes(n);
    ri->pages_in_use -= c;
    dom->tables -= c;
    free_tree(ri, n);
}

uint64_t ref_pte_attributes(uint32_t prot)
{
    /* smmu.h (smmu_map, stage-1 bits): "AF always; nG unless GLOBAL" */
    uint64_t pte = (prot & SMMU_PROT_GLOBAL) ? REF_PTE_AF : REF_PTE_NG | REF_PTE_AF;
    if (!(prot & SMMU_PROT_WRITE))
        pte |= REF_PTE_AP_RDONLY;
    if (!(prot & SMMU_PROT_PRIV))
        pte |= REF_PTE_AP_USER;
    /* smmu.h (smmu_map): "AttrIndx 0 plain, 1 CACHE, 2 MMIO (MMIO wins); SH inner shareable (0b11) for
     * CACHE, outer shareable (0b10) otherwise" (was a CHOICE) */
    if (prot & SMMU_PROT_MMIO)
        pte |= 2ull << REF_PTE_ATTRIDX_SHIFT;
    else if (prot & SMMU_PROT_CACHE)
        pte |= 1ull << REF_PTE_ATTRIDX_SHIFT;
    pte |= (prot & SMMU_PROT_CACHE) ? REF_PTE_SH_INNER : REF_PTE_SH_OUTER;
    if (prot & SMMU_PROT_NOEXEC)
        pte |= REF_PTE_UXN | REF_PTE_PXN;
    return pte;
}

static uint64_t leaf_desc(uint64_t pa, uint64_t attrs, int level)
{
    return pa | attrs | (level == REF_LAST_LEVEL ? REF_PTE_PAGE : REF_PTE_BLOCK);
}

/* VMSAv8-64 stage-1 permissions, EL0 = unprivileged, EL1 = privileged; implicit PXN on memory
 * writable at EL0. */
unsigned ref_rights(uint64_t pte)
{
    int ro = (pte & REF_PTE_AP_RDONLY) != 0, user = (pte & REF_PTE_AP_USER) != 0;
    unsigned r = R_PR;
    if (!ro)
        r |= R_PW;
    if (!(pte & REF_PTE_PXN) && !(user && !ro))
        r |= R_PX;
    if (user)
        r |= ro ? R_UR : (R_UR | R_UW);
    if (!(pte & REF_PTE_UXN))
        r |= R_UX;
    return r;
}

unsigned ref_required(uint32_t access)
{
    unsigned kinds = access & (SMMU_ACCESS_READ | SMMU_ACCESS_WRITE | SMMU_ACCESS_EXEC);
    return (access & SMMU_ACCESS_PRIV) ? kinds : kinds << 3;
}

/* The largest leaf level that alignment and the remaining size allow. */
static int leaf_level_for(uint64_t va, uint64_t pa, uint64_t remaining)
{
    int level;
    for (level = 1; level < REF_LAST_LEVEL; level++) {
        uint64_t sz = ref_level_size(level);
        if (((va | pa) & (sz - 1)) == 0 && remaining >= sz)
            return level;
    }
    return REF_LAST_LEVEL;
}

/* ---- domains ------------------------------------------------------------------------------------ */

int32_t ref_domain_alloc(ref_inst *ri, int null_out)
{
    if (null_out)
        return SMMU_EINVAL;
    if (!ri)
        return SMMU_EBADF;
    if (ri->pages_in_use == ri->pool_pages)
        return SMMU_ENOMEM;
    return SMMU_OK;
}

ref_domain *ref_domain_alloc_commit(ref_inst *ri, uint32_t handle)
{
    ref_domain *d = xcalloc(1, sizeof *d);
    d->handle = handle;
    d->requested_cb = -1;
    d->cb = -1;
    d->root = node_new(ri, ri->start_level, 0);
    d->tables = 1;
    ri->pages_in_use++;
    if (ri->ndoms == ri->cap_doms) {
        ri->cap_doms = ri->cap_doms ? ri->cap_doms * 2 : 16;
        ri->doms = realloc(ri->doms, (size_t)ri->cap_doms * sizeof *ri->doms);
        if (!ri->doms)
            abort();
    }
    ri->doms[ri->ndoms++] = d;
    return d;
}

int32_t ref_domain_free(ref_inst *ri, uint32_t h)
{
    ref_domain *d;
    int i;
    if (!ri)
        return SMMU_EBADF;
    if (!(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    if (d->cb >= 0)
        return SMMU_EBUSY;
    release_subtree(ri, d, d->root);
    for (i = 0; i < ri->ndoms; i++)
        if (ri->doms[i] == d) {
            ri->doms[i] = ri->doms[--ri->ndoms];
            break;
        }
    ri->dead[ri->dead_next] = h;
    ri->dead_next = (ri->dead_next + 1) % REF_DEAD_RING;
    if (ri->ndead < REF_DEAD_RING)
        ri->ndead++;
    free(d);
    return SMMU_OK;
}

/* A new, empty root for GRANULE, SPLIT_TTBR1 or STAGE set to the domain's present shape (the harness
 * sets no other: 4 KiB, not split, stage 1). smmu.h: "setting one gives the domain a new, empty root
 * table"; ENOMEM "no pool block for the new root" (taken before the old one is given back). */
static int32_t reshape(ref_inst *ri, ref_domain *d, int modelled)
{
    /* smmu.h: "refused with EBUSY once the domain has been mapped or attached, even if it is empty and
     * detached again ... the root's address is fixed from the first map or attach on"
     * (repro/reshape_after_unmap.c) */
    if (d->cb >= 0 || d->root_fixed)
        return SMMU_EBUSY;
    if (ri->pages_in_use == ri->pool_pages)
        return SMMU_ENOMEM;
    if (!modelled)
        abort();   /* another granule, a split or stage-2 domain: the harness never asks (ops.c's op_set_attr) */
    /* the root moves: its address is learned again */
    if (d->root->pa_known) {
        ri->page_owner[(d->root->pa - ri->cfg.pt_pool_base) >> REF_PAGE_SHIFT] = NULL;
        ri->known_pages--;
        d->root->pa_known = 0;
        d->root->pa = 0;
    }
    return SMMU_OK;
}

int32_t ref_set_attr(ref_inst *ri, uint32_t h, uint32_t attr, const void *data, size_t size)
{
    ref_domain *d;
    uint32_t value;
    if (!data || size > INT_MAX)
        return SMMU_EINVAL;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    /* CHOICE: the read-only attributes answer EPERM before their size is looked at. */
    if (attr == SMMU_ATTR_ASID || attr == SMMU_ATTR_TTBR0 || attr == SMMU_ATTR_TTBR1 || attr == SMMU_ATTR_VMID
        || attr == SMMU_ATTR_VTTBR)
        return SMMU_EPERM;
    if (attr != SMMU_ATTR_DYNAMIC && attr != SMMU_ATTR_CONTEXT_BANK && attr != SMMU_ATTR_PROCID
        && attr != SMMU_ATTR_GRANULE && attr != SMMU_ATTR_SPLIT_TTBR1 && attr != SMMU_ATTR_STAGE
        && attr != SMMU_ATTR_NEST_PARENT)
        return SMMU_EINVAL;
    if (size != 4)
        return SMMU_EINVAL;
    memcpy(&value, data, 4);
    /* smmu.h conventions: handles (EBADF), then malformed values (EINVAL: "a value out of its set"), then
     * the model's state (EBUSY): every value check below comes before "attached" */
    switch (attr) {
    case SMMU_ATTR_DYNAMIC:
        /* smmu.h: "int32, 0 or 1 (anything else is EINVAL)" (was: any non-zero value taken as 1) */
        if (value > 1)
            return SMMU_EINVAL;
        if (d->cb >= 0)
            return SMMU_EBUSY;
        d->dynamic = (int)value;
        /* CHOICE: clearing DYNAMIC forgets CONTEXT_BANK. */
        if (!d->dynamic)
            d->requested_cb = -1;
        return SMMU_OK;
    case SMMU_ATTR_CONTEXT_BANK:
        /* smmu.h: EINVAL for "CONTEXT_BANK on a domain that is not dynamic or beyond the banks", a
         * malformed value, so before EBUSY (the conventions' order; was the CHOICE "EBUSY before the
         * value"). The library answers EBUSY first on an attached domain: repro/context_bank_order.c. */
        if (REF_COMPAT.cb_busy_first && d->cb >= 0)
            return SMMU_EBUSY;
        if (!d->dynamic || value >= ri->cfg.num_context_banks)
            return SMMU_EINVAL;
        if (d->cb >= 0)
            return SMMU_EBUSY;
        d->requested_cb = (int)value;
        return SMMU_OK;
    case SMMU_ATTR_PROCID:
        if (d->cb >= 0)
            return SMMU_EBUSY;
        d->procid = value;
        return SMMU_OK;
    case SMMU_ATTR_GRANULE:
        /* smmu.h: "4096 (default), 16384 or 65536" (the harness sets only 4096: the reference models
         * the 4 KiB granule) */
        if (value != 4096 && value != 16384 && value != 65536)
            return SMMU_EINVAL;
        return reshape(ri, d, value == 4096);
    case SMMU_ATTR_SPLIT_TTBR1:
        /* smmu.h: "int32 0/1, on a base domain before attach" */
        if (value > 1 || (value == 1 && d->dynamic))
            return SMMU_EINVAL;
        return reshape(ri, d, value == 0);
    case SMMU_ATTR_STAGE:
        /* smmu.h: "1 (default) or 2 ... Stage 2 is EINVAL on a dynamic, split or nested domain" */
        if ((value != 1 && value != 2) || (value == 2 && d->dynamic))
            return SMMU_EINVAL;
        if (value == 2)
            abort();   /* the harness never asks (no stage 2 here; see ops.c's op_set_attr) */
        return reshape(ri, d, 1);
    default: {
        /* NEST_PARENT: smmu.h: "EBADF for a value that names no domain, EINVAL for one that is not
         * stage 2" (the harness's domains are all stage 1, the domain itself included); the conventions
         * order handles and malformed values before EBUSY. The library answers EBUSY first on an
         * attached domain: repro/nest_parent_order.c. */
        if (REF_COMPAT.nest_parent_busy_first && d->cb >= 0)
            return SMMU_EBUSY;
        if (value != 0)
            return ref_domain_of(ri, value) ? SMMU_EINVAL : SMMU_EBADF;
        if (d->cb >= 0)
            return SMMU_EBUSY;
        d->nest_parent = 0;
        return SMMU_OK;
    }
    }
}

int32_t ref_get_attr(ref_inst *ri, uint32_t h, uint32_t attr, int null_data, size_t size, uint64_t *value,
                     int *root_unknown)
{
    ref_domain *d;
    size_t want;
    *root_unknown = 0;
    if (null_data || size > INT_MAX)
        return SMMU_EINVAL;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    switch (attr) {
    case SMMU_ATTR_DYNAMIC:
    case SMMU_ATTR_CONTEXT_BANK:
    case SMMU_ATTR_ASID:
    case SMMU_ATTR_PROCID:
    case SMMU_ATTR_GRANULE:
    case SMMU_ATTR_SPLIT_TTBR1:
    case SMMU_ATTR_STAGE:
    case SMMU_ATTR_NEST_PARENT:
    case SMMU_ATTR_VMID:
        want = 4;
        break;
    case SMMU_ATTR_TTBR0:
    case SMMU_ATTR_TTBR1:
    case SMMU_ATTR_VTTBR:
        want = 8;
        break;
    default:
        return SMMU_EINVAL;
    }
    if (size != want)
        return SMMU_EINVAL;
    /* smmu.h (get_attr): "ENODEV (CONTEXT_BANK, ASID, TTBR0, TTBR1 before attach; VMID, VTTBR without a
     * stage 2 in use)": no domain here has a stage 2 */
    if ((attr == SMMU_ATTR_CONTEXT_BANK || attr == SMMU_ATTR_ASID || attr == SMMU_ATTR_TTBR0 || attr == SMMU_ATTR_TTBR1)
        && d->cb < 0)
        return SMMU_ENODEV;
    if (attr == SMMU_ATTR_VMID || attr == SMMU_ATTR_VTTBR)
        return SMMU_ENODEV;
    switch (attr) {
    case SMMU_ATTR_DYNAMIC:
        *value = d->dynamic ? 1 : 0;
        break;
    case SMMU_ATTR_CONTEXT_BANK:
        *value = (uint32_t)d->cb;
        break;
    case SMMU_ATTR_ASID:
        *value = d->asid;
        break;
    case SMMU_ATTR_PROCID:
        *value = d->procid;
        break;
    case SMMU_ATTR_GRANULE:
        *value = 4096;
        break;
    case SMMU_ATTR_SPLIT_TTBR1:
        *value = 0;
        break;
    case SMMU_ATTR_STAGE:
        *value = 1;
        break;
    case SMMU_ATTR_NEST_PARENT:
        *value = d->nest_parent;
        break;
    case SMMU_ATTR_TTBR1:
        *value = 0;   /* "0 for a bank that is not split" */
        break;
    default:
        *root_unknown = !d->root->pa_known;
        *value = (d->root->pa_known ? d->root->pa : 0) | (uint64_t)d->asid << 48;
        break;
    }
    return SMMU_OK;
}

static void point_bank_at(ref_bank *b, ref_domain *d)
{
    b->active = d;
    b->asid = d->asid;
    b->contextidr = d->procid;
}

static void release_asid(ref_inst *ri, ref_domain *d)
{
    ri->c.invalidations++;   /* the ASID's TLB entries go before the ASID is reused */
    asid_free(ri, d->asid);
    d->asid = 0;
    d->cb = -1;
}

static int32_t attach(ref_inst *ri, uint32_t h, uint32_t sid);

/* smmu.h (domain attributes): "the root's address is fixed from the first map or attach on". */
int32_t ref_attach(ref_inst *ri, uint32_t h, uint32_t sid)
{
    int32_t rc = attach(ri, h, sid);
    if (rc == SMMU_OK)
        ref_domain_of(ri, h)->root_fixed = 1;
    return rc;
}

static int32_t attach(ref_inst *ri, uint32_t h, uint32_t sid)
{
    ref_domain *d;
    uint32_t i, asid;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    if (sid >= ri->cfg.num_stream_ids)
        return SMMU_EINVAL;
    if (d->dynamic) {
        int cb = d->requested_cb;
        if (d->cb >= 0)
            return SMMU_EBUSY;
        if (cb < 0 || !ri->banks[cb].in_use || ri->streams[sid] != cb)
            return SMMU_ENODEV;
        if (!asid_alloc(ri, &asid))
            return SMMU_ENOSPC;
        d->cb = cb;
        d->asid = asid;
        d->stream_count = 1;
        d->dyn_sid = sid;
        ri->banks[cb].dynamic_count++;
        return SMMU_OK;
    }
    /* smmu.h (attach): "EBUSY (stream already attached to a base domain, ...)": a stream routed anywhere,
     * even to this domain's own bank, before the domain's own state (was a CHOICE) */
    if (ri->streams[sid] >= 0)
        return SMMU_EBUSY;
    if (d->cb >= 0) {
        ri->streams[sid] = d->cb;
        ri->banks[d->cb].stream_count++;
        d->stream_count++;
        return SMMU_OK;
    }
    /* CHOICE: the lowest free bank; no bank is checked before no ASID (both ENOSPC). */
    for (i = 0; i < ri->cfg.num_context_banks; i++)
        if (!ri->banks[i].in_use)
            break;
    if (i == ri->cfg.num_context_banks || !asid_alloc(ri, &asid))
        return SMMU_ENOSPC;
    memset(&ri->banks[i], 0, sizeof ri->banks[i]);
    ri->banks[i].in_use = 1;
    ri->banks[i].base = d;
    ri->banks[i].stream_count = 1;
    d->cb = (int)i;
    d->asid = asid;
    d->stream_count = 1;
    point_bank_at(&ri->banks[i], d);
    ri->streams[sid] = (int32_t)i;
    return SMMU_OK;
}

int32_t ref_detach(ref_inst *ri, uint32_t h, uint32_t sid)
{
    ref_domain *d;
    ref_bank *b;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    if (sid >= ri->cfg.num_stream_ids)
        return SMMU_EINVAL;
    if (d->cb < 0)
        return SMMU_ENODEV;
    b = &ri->banks[d->cb];
    if (d->dynamic) {
        if (d->dyn_sid != sid)
            return SMMU_ENODEV;
        /* smmu.h (detach): "if it was the active domain, TTBR0/ASID/CONTEXTIDR fall back to the base
         * domain's" (was a CHOICE) */
        if (b->asid == d->asid)
            point_bank_at(b, b->base);
        release_asid(ri, d);
        b->dynamic_count--;
        d->stream_count = 0;
        return SMMU_OK;
    }
    /* smmu.h: state errors "in the order each function lists", detach: "ENODEV (not attached through
     * that stream); EBUSY (a base domain while dynamic domains are attached ...)" (was a CHOICE) */
    if (ri->streams[sid] != d->cb)
        return SMMU_ENODEV;
    if (b->dynamic_count > 0)
        return SMMU_EBUSY;
    ri->streams[sid] = -1;
    b->stream_count--;
    if (--d->stream_count > 0)
        return SMMU_OK;
    release_asid(ri, d);
    memset(b, 0, sizeof *b);   /* the base domain's last detach resets the bank, fault registers too */
    return SMMU_OK;
}

int32_t ref_switch(ref_inst *ri, uint32_t h)
{
    ref_domain *d;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    if (d->cb < 0)
        return SMMU_ENODEV;
    if (ri->cfg.flags & SMMU_CFG_NO_ASID_TAGGING)
        ri->c.invalidations++;
    point_bank_at(&ri->banks[d->cb], d);
    ri->c.switches++;
    return SMMU_OK;
}

int32_t ref_set_fault_handler(ref_inst *ri, uint32_t h, smmu_fault_handler fn, void *cookie)
{
    ref_domain *d;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    if (d->dynamic)
        return SMMU_EINVAL;
    d->handler = fn;
    d->cookie = fn ? cookie : NULL;
    return SMMU_OK;
}

/* ---- map ------------------------------------------------------------------------------------------ */

typedef struct undo_entry {
    ref_node *node;
    int index;
    int is_table;
} undo_entry;

typedef struct undo_log {
    undo_entry *e;
    size_t n, cap;
} undo_log;

static undo_log undo;   /* reused by every map: grows, never shrinks */

static void undo_push(undo_log *u, ref_node *node, int index, int is_table)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 1024;
        u->e = realloc(u->e, u->cap * sizeof *u->e);
        if (!u->e)
            abort();
    }
    u->e[u->n].node = node;
    u->e[u->n].index = index;
    u->e[u->n].is_table = is_table;
    u->n++;
}

/* Whether a leaf of n's subtree (a table of `level`) overlaps [va, end): visits only the slots and
 * tables that exist in the range. */
static int any_leaf_in(const ref_node *n, int level, uint64_t va, uint64_t end)
{
    uint64_t size = ref_level_size(level);
    while (va < end) {
        uint64_t start = va & ~(size - 1), slot_end = start + size < end ? start + size : end;
        int idx = index_of(va, level);
        if (REF_CHILD(n, idx) ? any_leaf_in(REF_CHILD(n, idx), level + 1, va, slot_end) : n->desc[idx] != 0)
            return 1;
        va = slot_end;
    }
    return 0;
}

/* Maps [iova, iova + size) once the arguments are checked: leaf_level 0 picks the largest leaf that
 * alignment and size allow (smmu_map), else every leaf is at that level (smmu_map_pages). */
static int32_t map_checked(ref_inst *ri, ref_domain *d, uint64_t iova, uint64_t pa, uint64_t size, uint32_t prot,
                           int forced_level)
{
    uint64_t attrs, va, end;
    undo_log *u = &undo;
    int32_t rc = SMMU_OK;

    /* The range is mapped from its start, leaf by leaf; the first overlap (EEXIST) or missing table
     * page (ENOMEM) stops it, and everything is undone. smmu.h: "A range that overlaps a mapping and
     * also needs more table pages than are free is EEXIST, wherever the overlap lies" (was the CHOICE
     * "the first problem met on the way decides"): out of pages, the rest of the range is searched for
     * a mapping. */
    attrs = ref_pte_attributes(prot);
    va = iova;
    end = iova + size;
    while (va < end && rc == SMMU_OK) {
        int leaf_level = forced_level ? forced_level : leaf_level_for(va, pa, end - va), level, idx;
        uint64_t leaf_size = ref_level_size(leaf_level);
        ref_node *n = d->root;
        for (level = ri->start_level; level < leaf_level; level++) {
            idx = index_of(va, level);
            if (REF_CHILD(n, idx)) {
                n = REF_CHILD(n, idx);
                continue;
            }
            if (n->desc[idx]) {
                rc = SMMU_EEXIST;   /* a block covers va */
                break;
            }
            if (ri->pages_in_use == ri->pool_pages) {
                rc = any_leaf_in(d->root, ri->start_level, va, end) ? SMMU_EEXIST : SMMU_ENOMEM;
                break;
            }
            n->child[idx] = node_new(ri, level + 1, va & ~(ref_level_size(level) - 1));
            n->valid++;
            ri->pages_in_use++;
            d->tables++;
            undo_push(u, n, idx, 1);
            n = REF_CHILD(n, idx);
        }
        if (rc != SMMU_OK)
            break;
        for (idx = index_of(va, leaf_level);; idx++) {
            if (REF_CHILD(n, idx) || n->desc[idx]) {
                rc = SMMU_EEXIST;
                break;
            }
            n->desc[idx] = leaf_desc(pa, attrs, leaf_level);
            n->valid++;
            undo_push(u, n, idx, 0);
            va += leaf_size;
            pa += leaf_size;
            if (idx == REF_ENTRIES - 1 || end - va < leaf_size)
                break;
        }
    }
    if (rc != SMMU_OK) {
        while (u->n > 0) {
            undo_entry *e = &u->e[--u->n];
            if (e->is_table) {
                ref_node *c = REF_CHILD(e->node, e->index);
                e->node->child[e->index] = NULL;
                e->node->valid--;
                release_subtree(ri, d, c);   /* empty by now: its leaves were undone first */
            } else {
                e->node->desc[e->index] = 0;
                e->node->valid--;
            }
        }
    }
    u->n = 0;
    return rc;
}

#define REF_PROT_ALL (SMMU_PROT_READ | SMMU_PROT_WRITE | SMMU_PROT_CACHE | SMMU_PROT_NOEXEC | SMMU_PROT_MMIO \
                      | SMMU_PROT_PRIV | SMMU_PROT_GLOBAL)

/* smmu_map's malformed values: EINVAL "not aligned to the granule, size 0, neither READ nor WRITE,
 * unknown bits" (GLOBAL is known since ABI 1.1; these domains are all stage 1). */
static int map_args_invalid(uint64_t iova, uint64_t pa, uint64_t size, uint32_t prot)
{
    return size == 0 || ((iova | pa | size) & (REF_PAGE - 1)) || (prot & ~(uint32_t)REF_PROT_ALL)
           || !(prot & (SMMU_PROT_READ | SMMU_PROT_WRITE));
}

static int map_range_out(const ref_inst *ri, uint64_t iova, uint64_t pa, uint64_t size)
{
    return iova >= ri->in_limit || size > ri->in_limit - iova || pa >= ri->out_limit || size > ri->out_limit - pa;
}

/* A successful map fixes the domain's root: GRANULE, SPLIT_TTBR1 and STAGE are EBUSY from then on. */
static int32_t fix_root(ref_domain *d, int32_t rc)
{
    if (rc == SMMU_OK)
        d->root_fixed = 1;
    return rc;
}

int32_t ref_map(ref_inst *ri, uint32_t h, uint64_t iova, uint64_t pa, uint64_t size, uint32_t prot)
{
    ref_domain *d;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    /* smmu.h conventions: every malformed argument (EINVAL) before any range (ERANGE). */
    if (map_args_invalid(iova, pa, size, prot))
        return SMMU_EINVAL;
    if (map_range_out(ri, iova, pa, size))
        return SMMU_ERANGE;
    return fix_root(d, map_checked(ri, d, iova, pa, size, prot, 0));
}

/* The level whose leaves are pgsize bytes (4K granule, stage 1: 4 KiB, 2 MiB, 1 GiB), or 0. */
static int level_of_pgsize(uint64_t pgsize)
{
    int level;
    for (level = 1; level <= REF_LAST_LEVEL; level++)
        if (pgsize == ref_level_size(level))
            return level;
    return 0;
}

int32_t ref_map_pages(ref_inst *ri, uint32_t h, uint64_t iova, uint64_t pa, uint64_t pgsize, uint64_t pgcount, uint32_t prot)
{
    ref_domain *d;
    int level;
    uint64_t size;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    /* smmu.h (smmu_map_pages): "EINVAL (pgsize not a leaf size of the domain's granule and stage,
     * pgcount 0, iova or paddr not aligned to pgsize, and smmu_map's); ERANGE (pgsize * pgcount
     * overflows, and smmu_map's); EEXIST; ENOMEM" */
    level = level_of_pgsize(pgsize);
    if (!level || pgcount == 0 || ((iova | pa) & (pgsize - 1)))
        return SMMU_EINVAL;
    if (pgcount > UINT64_MAX / pgsize) {
        /* The library answers ERANGE before smmu_map's EINVAL (prot): repro/map_pages_order.c */
        if (REF_COMPAT.map_pages_range_first || !map_args_invalid(iova, pa, pgsize, prot))
            return SMMU_ERANGE;
        return SMMU_EINVAL;
    }
    size = pgsize * pgcount;
    if (map_args_invalid(iova, pa, size, prot))
        return SMMU_EINVAL;
    if (map_range_out(ri, iova, pa, size))
        return SMMU_ERANGE;
    return fix_root(d, map_checked(ri, d, iova, pa, size, prot, level));
}

/* ---- unmap ------------------------------------------------------------------------------------------ */

/* Splits needed to unmap [va, end) inside a block of `level` that starts at block_start. */
static int block_splits(int level, uint64_t block_start, uint64_t va, uint64_t end)
{
    uint64_t bsize = ref_level_size(level), psize;
    int splits = 0;
    uint64_t s, e;
    if (va <= block_start && end >= block_start + bsize)
        return 0;   /* wholly inside: removed, not split */
    splits = 1;
    if (level + 1 == REF_LAST_LEVEL)
        return splits;   /* pages are never cut: the range is page aligned */
    psize = ref_level_size(level + 1);
    s = va > block_start ? va : block_start;
    e = end < block_start + bsize ? end : block_start + bsize;
    /* only the pieces at the two ends can be partly inside */
    splits += block_splits(level + 1, s & ~(psize - 1), s, e);
    if ((s & ~(psize - 1)) != ((e - 1) & ~(psize - 1)))
        splits += block_splits(level + 1, (e - 1) & ~(psize - 1), s, e);
    return splits;
}

static int count_splits(const ref_node *n, int level, uint64_t va, uint64_t end)
{
    uint64_t size = ref_level_size(level);
    int splits = 0;
    while (va < end) {
        uint64_t start = va & ~(size - 1), slot_end = start + size < end ? start + size : end;
        int idx = index_of(va, level);
        if (REF_CHILD(n, idx))
            splits += count_splits(REF_CHILD(n, idx), level + 1, va, slot_end);
        else if (n->desc[idx])
            splits += block_splits(level, start, va, slot_end);
        va = slot_end;
        if (va == 0)
            break;   /* wrapped at 2^64: cannot happen below 2^48, kept for safety */
    }
    return splits;
}

static uint64_t unmap_level(ref_inst *ri, ref_domain *d, ref_node *n, int level, uint64_t va, uint64_t end)
{
    uint64_t size = ref_level_size(level), unmapped = 0;
    while (va < end) {
        uint64_t start = va & ~(size - 1), slot_end = start + size < end ? start + size : end;
        int idx = index_of(va, level);
        if (REF_CHILD(n, idx)) {
            ref_node *c = REF_CHILD(n, idx);
            unmapped += unmap_level(ri, d, c, level + 1, va, slot_end);
            if (c->valid == 0) {
                n->child[idx] = NULL;
                n->valid--;
                release_subtree(ri, d, c);
            }
        } else if (n->desc[idx]) {
            uint64_t blk = n->desc[idx];
            if (va == start && slot_end - va == size) {
                unmapped += size;
                n->desc[idx] = 0;
                n->valid--;
            } else {
                /* split: the block becomes a table of next-level leaves with the same output and
                 * attributes (address bits below the block size are dropped) */
                uint64_t out = blk & REF_ADDR_MASK & ~(size - 1), step = ref_level_size(level + 1);
                uint64_t attrs = blk & ~(REF_ADDR_MASK | REF_PTE_TYPE_MASK);
                ref_node *c = node_new(ri, level + 1, start);
                int i;
                for (i = 0; i < REF_ENTRIES; i++)
                    c->desc[i] = leaf_desc(out + (uint64_t)i * step, attrs, level + 1);
                c->valid = REF_ENTRIES;
                ri->pages_in_use++;
                d->tables++;
                n->desc[idx] = 0;
                n->child[idx] = c;   /* the slot stays valid */
                unmapped += unmap_level(ri, d, c, level + 1, va, slot_end);
            }
        }
        va = slot_end;
    }
    return unmapped;
}

int64_t ref_unmap(ref_inst *ri, uint32_t h, uint64_t iova, uint64_t size)
{
    ref_domain *d;
    uint64_t end, unmapped;
    int splits;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    if (size == 0 || ((iova | size) & (REF_PAGE - 1)))
        return SMMU_EINVAL;
    if (iova >= ri->in_limit || size > ri->in_limit - iova)
        return SMMU_ERANGE;
    end = iova + size;
    splits = count_splits(d->root, ri->start_level, iova, end);
    /* CHOICE: the pages for the splits must be free before anything is removed (tables the unmap
     * would free do not count). */
    if ((uint64_t)splits > ri->pool_pages - ri->pages_in_use)
        return SMMU_ENOMEM;
    unmapped = unmap_level(ri, d, d->root, ri->start_level, iova, end);
    if (unmapped > 0 && d->asid != 0)
        ri->c.invalidations++;
    return (int64_t)unmapped;
}

int64_t ref_unmap_pages(ref_inst *ri, uint32_t h, uint64_t iova, uint64_t pgsize, uint64_t pgcount)
{
    int level;
    if (!ri || !ref_domain_of(ri, h))
        return SMMU_EBADF;
    /* smmu.h (smmu_unmap_pages, g NULL: "exactly as smmu_unmap"): "EINVAL (... pgsize not a leaf size,
     * pgcount 0, iova not aligned to pgsize); ERANGE (overflow, outside the domain's half); ENOMEM" */
    level = level_of_pgsize(pgsize);
    if (!level || pgcount == 0 || (iova & (pgsize - 1)))
        return SMMU_EINVAL;
    if (pgcount > UINT64_MAX / pgsize)
        return SMMU_ERANGE;
    return ref_unmap(ri, h, iova, pgsize * pgcount);
}

/* The leaf that maps iova in d's tables: its descriptor and level; 0 and the level where the walk
 * stopped when there is none. */
static uint64_t find_leaf(const ref_inst *ri, const ref_domain *d, uint64_t iova, int *level)
{
    const ref_node *n = d->root;
    int l;
    for (l = ri->start_level;; l++) {
        int idx = index_of(iova, l);
        if (REF_CHILD(n, idx)) {
            n = REF_CHILD(n, idx);
            continue;
        }
        *level = l;
        return n->desc[idx];
    }
}

int32_t ref_iova_to_phys(ref_inst *ri, uint32_t h, uint64_t iova, int null_out, uint64_t *pa)
{
    ref_domain *d;
    uint64_t leaf;
    int level;
    if (null_out)
        return SMMU_EINVAL;
    if (!ri || !(d = ref_domain_of(ri, h)))
        return SMMU_EBADF;
    if (iova >= ri->in_limit)
        return SMMU_ERANGE;
    ri->c.sw_walks++;
    leaf = find_leaf(ri, d, iova, &level);
    if (!leaf)
        return SMMU_ENOENT;
    /* any valid leaf, whatever its AF or output size (a software walk) */
    *pa = (leaf & REF_ADDR_MASK & ~(ref_level_size(level) - 1)) | (iova & (ref_level_size(level) - 1));
    return SMMU_OK;
}

/* ---- simulated physical memory --------------------------------------------------------------------------- */

static int pool_contains(const ref_inst *ri, uint64_t pa)
{
    return pa - ri->cfg.pt_pool_base <= ri->cfg.pt_pool_bytes - 8;
}

/* The value of word `index` of table n, when known. */
static int table_word(const ref_node *n, int index, uint64_t *value)
{
    if (REF_CHILD(n, index)) {
        if (!REF_CHILD(n, index)->pa_known)
            return 0;
        *value = REF_CHILD(n, index)->pa | REF_PTE_TABLE;
        return 1;
    }
    *value = n->desc[index];
    return 1;
}

int32_t ref_phys_read64(ref_inst *ri, uint64_t pa, int null_out, uint64_t *value, int *known)
{
    ref_node *n;
    *known = 0;
    if (null_out)
        return SMMU_EINVAL;
    if (!ri)
        return SMMU_EBADF;
    if (pa & 7)
        return SMMU_EINVAL;
    if (!pool_contains(ri, pa))
        return SMMU_ERANGE;
    n = ri->page_owner[(pa - ri->cfg.pt_pool_base) >> REF_PAGE_SHIFT];
    if (n) {
        *known = table_word(n, (int)((pa & (REF_PAGE - 1)) >> 3), value);
    } else if (ri->known_pages == ri->pages_in_use) {
        *value = 0;   /* every table is known, so this page is free: free pages are zero */
        *known = 1;
    }
    return SMMU_OK;
}

int32_t ref_phys_write64(ref_inst *ri, uint64_t pa, uint64_t value, int *known)
{
    ref_node *n;
    int idx;
    *known = 1;
    if (!ri)
        return SMMU_EBADF;
    if (pa & 7)
        return SMMU_EINVAL;
    if (!pool_contains(ri, pa))
        return SMMU_ERANGE;
    n = ri->page_owner[(pa - ri->cfg.pt_pool_base) >> REF_PAGE_SHIFT];
    if (!n) {
        /* a free page, or a table not learned yet: a value whose type bits no leaf has is refused
         * either way; anything else cannot be predicted */
        if (ri->known_pages == ri->pages_in_use || (value & REF_PTE_TYPE_MASK) == 0 || (value & REF_PTE_TYPE_MASK) == 2)
            return SMMU_EPERM;
        *known = 0;
        return SMMU_OK;
    }
    idx = (int)((pa & (REF_PAGE - 1)) >> 3);
    /* only a valid leaf, rewritten with the same type bits */
    if (REF_CHILD(n, idx) || !n->desc[idx] || (value & REF_PTE_TYPE_MASK) != (n->desc[idx] & REF_PTE_TYPE_MASK))
        return SMMU_EPERM;
    n->desc[idx] = value;
    return SMMU_OK;
}

/* ---- TLB maintenance, faults, banks, stats ---------------------------------------------------------------- */

int32_t ref_tlb_inv_all(ref_inst *ri)
{
    if (!ri)
        return SMMU_EBADF;
    ri->c.invalidations++;
    return SMMU_OK;
}

int32_t ref_tlb_inv_asid(ref_inst *ri, uint32_t asid)
{
    if (!ri)
        return SMMU_EBADF;
    if (asid >= ri->asid_limit)   /* smmu.h: "EINVAL (asid >= 2^asid_bits)" */
        return SMMU_EINVAL;
    ri->c.invalidations++;
    return SMMU_OK;
}

int32_t ref_tlb_inv_va(ref_inst *ri, uint32_t asid, uint64_t iova, uint64_t size)
{
    if (!ri)
        return SMMU_EBADF;
    if (asid >= ri->asid_limit || size == 0 || iova + size - 1 < iova)
        return SMMU_EINVAL;
    ri->c.invalidations++;
    return SMMU_OK;
}

int32_t ref_tlb_inv_va_all(ref_inst *ri, uint64_t iova, uint64_t size)
{
    if (!ri)
        return SMMU_EBADF;
    if (size == 0 || iova + size - 1 < iova)
        return SMMU_EINVAL;
    ri->c.invalidations++;
    return SMMU_OK;
}

/* smmu.h: "EINVAL (vmid 0 or >= 2^vmid_bits)"; a VMID not in use removes nothing (no stage 2 here),
 * but the operation counts (tlb_invalidations, vmid_invalidations for TLBIVMALL). */
int32_t ref_tlb_inv_vmid(ref_inst *ri, uint32_t vmid)
{
    if (!ri)
        return SMMU_EBADF;
    if (vmid == 0 || vmid >= ri->vmid_limit)
        return SMMU_EINVAL;
    ri->c.invalidations++;
    ri->c.vmid_invalidations++;
    return SMMU_OK;
}

/* smmu.h: "EINVAL (vmid as above, size 0, range wraps)" */
int32_t ref_tlb_inv_ipa(ref_inst *ri, uint32_t vmid, uint64_t ipa, uint64_t size)
{
    if (!ri)
        return SMMU_EBADF;
    if (vmid == 0 || vmid >= ri->vmid_limit || size == 0 || ipa + size - 1 < ipa)
        return SMMU_EINVAL;
    ri->c.invalidations++;
    return SMMU_OK;
}

int32_t ref_get_fault(ref_inst *ri, uint32_t cb, int null_out, uint32_t size, smmu_fault *out)
{
    /* smmu.h: "out->size: this header's sizeof(smmu_fault) or ABI 1.0's 48 (that prefix is written)";
     * *out is the whole record, the caller compares the prefix (out->size = the caller's size) */
    if (null_out || (size != sizeof(smmu_fault) && size != REF_FAULT_SIZE_1_0))
        return SMMU_EINVAL;
    if (!ri)
        return SMMU_EBADF;
    if (cb >= ri->cfg.num_context_banks)
        return SMMU_EINVAL;
    if (ri->banks[cb].fsr == 0)
        return SMMU_ENOENT;
    *out = ri->banks[cb].record;
    out->size = size;
    out->fsr = ri->banks[cb].fsr;
    return SMMU_OK;
}

static void clear_fault_regs(ref_bank *b)
{
    b->fsr = 0;
    b->far = 0;
    b->fsynr0 = 0;
    memset(&b->record, 0, sizeof b->record);
}

int32_t ref_clear_fault(ref_inst *ri, uint32_t cb)
{
    if (!ri)
        return SMMU_EBADF;
    if (cb >= ri->cfg.num_context_banks)
        return SMMU_EINVAL;
    clear_fault_regs(&ri->banks[cb]);
    return SMMU_OK;
}

int32_t ref_get_context_bank(ref_inst *ri, uint32_t cb, int null_out, uint32_t size, smmu_cb_state *out,
                             int *root_unknown)
{
    const ref_bank *b;
    *root_unknown = 0;
    /* smmu.h: "out->size: this header's sizeof(smmu_cb_state) or ABI 1.0's 56 (that prefix is written)" */
    if (null_out || (size != sizeof(smmu_cb_state) && size != REF_CB_STATE_SIZE_1_0))
        return SMMU_EINVAL;
    if (!ri)
        return SMMU_EBADF;
    if (cb >= ri->cfg.num_context_banks)
        return SMMU_EINVAL;
    b = &ri->banks[cb];
    memset(out, 0, sizeof *out);
    out->size = size;
    out->in_use = b->in_use ? 1 : 0;
    out->base_domain = b->base ? b->base->handle : 0;
    out->active_domain = b->active ? b->active->handle : 0;
    out->asid = b->asid;
    out->contextidr = b->contextidr;
    out->stream_count = b->stream_count;
    out->dynamic_count = b->dynamic_count;
    if (b->in_use) {
        *root_unknown = !b->active->root->pa_known;
        out->ttbr0 = (b->active->root->pa_known ? b->active->root->pa : 0) | (uint64_t)b->asid << 48;
    }
    out->fsr = b->fsr;
    out->fsynr0 = b->fsynr0;
    out->far = b->far;
    /* ABI 1.1 fields of a stage-1 bank that is not split: ttbr1, vttbr, ipafar, vmid, flags 0 (regime
     * 0, no EPD0, not split); "granule: stage-1 granule in bytes ...; 0 free" */
    out->granule = b->in_use ? 4096 : 0;
    return SMMU_OK;
}

int32_t ref_get_stats(ref_inst *ri, int null_out, uint32_t size)
{
    /* smmu.h: "out->size must be sizeof(smmu_stats) or ABI 1.0's 88 (then the first 88 bytes are written)" */
    if (null_out || (size != sizeof(smmu_stats) && size != REF_STATS_SIZE_1_0))
        return SMMU_EINVAL;
    if (!ri)
        return SMMU_EBADF;
    return SMMU_OK;
}

int32_t ref_reset_stats(ref_inst *ri)
{
    if (!ri)
        return SMMU_EBADF;
    memset(&ri->c, 0, sizeof ri->c);
    return SMMU_OK;
}

/* ---- translation ------------------------------------------------------------------------------------------- */

/* One attempt at iova through the bank's active domain: 0 and *pa, or the fault type and level. */
static uint32_t walk(const ref_inst *ri, const ref_domain *d, uint64_t iova, uint32_t access, uint64_t *pa, int *level)
{
    uint64_t leaf, lsize;
    if (iova >= ri->in_limit) {
        *level = 0;   /* AArch64: an input address out of range is a level 0 translation fault */
        return SMMU_FAULT_TRANSLATION;
    }
    leaf = find_leaf(ri, d, iova, level);
    if (!leaf)
        return SMMU_FAULT_TRANSLATION;
    /* ARM ARM order: translation, address size, access flag, permission */
    if ((leaf & REF_ADDR_MASK) >= ri->out_limit)
        return SMMU_FAULT_ADDR_SIZE;
    if (!(leaf & REF_PTE_AF))
        return SMMU_FAULT_ACCESS_FLAG;
    if (ref_required(access) & ~ref_rights(leaf))
        return SMMU_FAULT_PERMISSION;
    lsize = ref_level_size(*level);
    *pa = (leaf & REF_ADDR_MASK & ~(lsize - 1)) | (iova & (lsize - 1));
    return 0;
}

static uint32_t fsr_for(uint32_t type)
{
    switch (type) {
    case SMMU_FAULT_TRANSLATION: return SMMU_FSR_TF;
    case SMMU_FAULT_PERMISSION: return SMMU_FSR_PF;
    case SMMU_FAULT_ACCESS_FLAG: return SMMU_FSR_AFF;
    case SMMU_FAULT_ADDR_SIZE: return SMMU_FSR_ASF;
    default: return SMMU_FSR_EF;
    }
}

static void xlate_finish(ref_xlate *x, int32_t rc)
{
    ref_inst *ri = x->inst;
    x->rc = rc;
    x->finished = 1;
    if (x->batch) {
        /* smmu.h (smmu_stats): "tlb_hits + tlb_misses = translations + retries after fault handlers", and a
         * batch counts each run of translations, and the translation that faults, before a handler runs (so
         * a handler sees every translation so far; see xlate_advance). What is left uncounted here: the
         * clean translations since the last fault, up to where the batch ended (a failed one was counted at
         * its fault, also when a handler detached the stream and asked for a retry: ENODEV). */
        size_t end = rc == SMMU_OK ? x->count : x->index;
        if (end > x->counted) {
            ri->c.translations += end - x->counted;
            ri->c.hits_misses += end - x->counted;
            x->counted = end;
        }
        ri->batches_in_flight--;
        /* smmu.h: "Out-parameters are written only on success (two exceptions, each documented:
         * smmu_translate_batch's out_done, smmu_map_pages's out_mapped)": out_pas[*out_done] of a failed
         * batch stays as it was (was the CHOICE "the batch writes 0 there"). The library writes 0 there:
         * repro/batch_failed_pa.c. */
        if (rc != SMMU_OK && REF_COMPAT.batch_writes_failed_pa)
            x->pas[x->index] = 0;
    }
}

static void xlate_advance(ref_xlate *x)
{
    ref_inst *ri = x->inst;
    while (x->index < x->count) {
        uint64_t iova = x->iovas[x->index], pa = 0;
        int32_t bank = ri->streams[x->sid];
        ref_bank *b;
        uint32_t type;
        int level = 0;
        smmu_fault f;
        if (bank < 0) {
            /* a handler detached the stream, then asked for a retry */
            xlate_finish(x, SMMU_ENODEV);
            return;
        }
        b = &ri->banks[bank];
        type = walk(ri, b->active, iova, x->access, &pa, &level);
        if (!x->batch || x->attempt > 0) {
            ri->c.hits_misses++;   /* a single translation's lookup, or a retry's: counted at once */
        } else if (type != 0) {
            /* a batch's translation that faults: the run before it and itself are counted before the handler */
            ri->c.translations += x->index + 1 - x->counted;
            ri->c.hits_misses += x->index + 1 - x->counted;
            x->counted = x->index + 1;
        }
        if (type == 0) {
            x->pas[x->index++] = pa;
            x->attempt = 0;
            continue;
        }
        ri->c.faults++;
        memset(&f, 0, sizeof f);
        f.size = sizeof f;
        f.type = type;
        f.level = (uint32_t)level;
        f.stream_id = x->sid;
        f.context_bank = (uint32_t)bank;
        f.asid = b->asid;
        f.access = x->access;
        f.active_domain = b->active->handle;
        f.iova = iova;
        f.stage = 1;   /* ABI 1.1: a stage-1 fault (s1ptw 0, ipa 0) */
        f.fsr = fsr_for(type);
        f.fsynr = ((uint32_t)level & SMMU_FSYNR0_PLVL_MASK) | ((x->access & SMMU_ACCESS_WRITE) ? SMMU_FSYNR0_WNR : 0)
                  | ((x->access & SMMU_ACCESS_PRIV) ? SMMU_FSYNR0_PNU : 0)
                  | ((x->access & SMMU_ACCESS_EXEC) ? SMMU_FSYNR0_IND : 0);
        if (b->fsr & REF_FSR_FAULT_MASK) {
            b->fsr |= SMMU_FSR_MULTI;   /* FAR and FSYNR0 keep the first fault */
        } else {
            b->fsr = f.fsr;
            b->far = iova;
            b->fsynr0 = f.fsynr;
            b->record = f;
        }
        if (b->base->handler && ri->handler_depth == 0) {
            x->expect_handler = 1;
            x->handler_bank = (uint32_t)bank;
            x->fault = f;
            x->base_handle = b->base->handle;
            x->fn = b->base->handler;
            x->cookie = b->base->cookie;
            return;
        }
        xlate_finish(x, SMMU_EFAULT);   /* no handler, or a fault raised by a handler's own call */
        return;
    }
    xlate_finish(x, SMMU_OK);
}

int32_t ref_xlate_begin(ref_xlate *x, ref_inst *ri, uint32_t sid, const uint64_t *iovas, uint64_t *pas,
                        size_t count, uint32_t access, int batch)
{
    memset(x, 0, sizeof *x);
    if (!ri)
        return SMMU_EBADF;
    if (sid >= ri->cfg.num_stream_ids || (access & ~0xFu) || !(access & 7u))
        return SMMU_EINVAL;
    if (ri->streams[sid] < 0)
        return SMMU_ENODEV;
    x->inst = ri;
    x->sid = sid;
    x->access = access;
    x->iovas = iovas;
    x->pas = pas;
    x->count = count;
    x->batch = batch;
    if (batch)
        ri->batches_in_flight++;
    else
        ri->c.translations++;
    xlate_advance(x);
    return SMMU_OK;
}

void ref_xlate_handler_returned(ref_xlate *x, int32_t verdict)
{
    /* as arm-smmu's context-fault handler: the bank's fault registers are cleared once reported */
    clear_fault_regs(&x->inst->banks[x->handler_bank]);
    x->expect_handler = 0;
    if (verdict == SMMU_FAULT_RETRY && x->attempt == 0) {
        x->attempt = 1;
        xlate_advance(x);
        return;
    }
    xlate_finish(x, SMMU_EFAULT);
}

/* ---- learning addresses -------------------------------------------------------------------------------- */

static int learn(ref_inst *ri, ref_node *n, uint64_t pa, const char **why)
{
    uint64_t page;
    if (n->pa_known) {
        if (n->pa != pa) {
            *why = "the table moved (its address differs from the one seen before)";
            return -1;
        }
        return 0;
    }
    if ((pa & (REF_PAGE - 1)) || !pool_contains(ri, pa)) {
        *why = "table address not a page of the pool";
        return -1;
    }
    page = (pa - ri->cfg.pt_pool_base) >> REF_PAGE_SHIFT;
    if (ri->page_owner[page]) {
        *why = "two live tables at the same pool page";
        return -1;
    }
    if (ri->known_pages >= ri->pages_in_use) {
        *why = "more distinct table pages than pages in use";
        return -1;
    }
    ri->page_owner[page] = n;
    ri->known_pages++;
    n->pa = pa;
    n->pa_known = 1;
    return 0;
}

int ref_learn_root(ref_inst *ri, ref_domain *dom, uint64_t pa, const char **why)
{
    return learn(ri, dom->root, pa, why);
}

int ref_learn_child(ref_inst *ri, ref_node *parent, int index, uint64_t pa, const char **why)
{
    return learn(ri, REF_CHILD(parent, index), pa, why);
}

int ref_sample_leaf(const ref_domain *dom, uint32_t r, uint64_t *iova, int *level, ref_node **node, int *index)
{
    ref_node *n = dom->root;
    for (;;) {
        int start = (int)(r % REF_ENTRIES), i, found = -1;
        r = r * 1103515245u + 12345u;
        if (n->valid == 0)
            return 0;
        for (i = 0; i < REF_ENTRIES; i++) {
            int k = (start + i) % REF_ENTRIES;
            if (REF_CHILD(n, k) || n->desc[k]) {
                found = k;
                break;
            }
        }
        if (found < 0)
            return 0;
        if (REF_CHILD(n, found)) {
            n = REF_CHILD(n, found);
            continue;
        }
        *iova = n->va + (uint64_t)found * ref_level_size(n->level);
        *level = n->level;
        *node = n;
        *index = found;
        return 1;
    }
}

ref_node *ref_sample_known_table(const ref_domain *dom, uint32_t r)
{
    ref_node *n = dom->root, *best = NULL;
    if (!n->pa_known)
        return NULL;
    for (;;) {
        int start = (int)(r % REF_ENTRIES), i, found = -1;
        best = n;
        r = r * 1103515245u + 12345u;
        if ((r >> 28) < 4)
            return best;
        for (i = 0; i < REF_ENTRIES; i++) {
            int k = (start + i) % REF_ENTRIES;
            if (REF_CHILD(n, k) && REF_CHILD(n, k)->pa_known) {
                found = k;
                break;
            }
        }
        if (found < 0)
            return best;
        n = REF_CHILD(n, found);
    }
}

static void count_known(const ref_node *n, uint64_t *tables, uint64_t *known)
{
    int i;
    (*tables)++;
    *known += n->pa_known ? 1 : 0;
    for (i = 0; i < REF_ENTRIES; i++)
        if (REF_CHILD(n, i))
            count_known(REF_CHILD(n, i), tables, known);
}

uint64_t ref_count_tables(const ref_domain *dom, uint64_t *known)
{
    uint64_t tables = 0, k = 0;
    count_known(dom->root, &tables, &k);
    if (known)
        *known = k;
    return tables;
}
