/*
 * smmu.h - the C ABI of libsmmu.so, a software model of an ARM SMMU (v2-style context banks and
 * stream matching) with the Linux driver half (arm-smmu.c + io-pgtable-arm.c) and Qualcomm-style
 * dynamic domains: per-process page tables, each with its own ASID, sharing one context bank with
 * a base domain, switched without TLB invalidation because the TLB is ASID-tagged. Banks may be
 * split (TTBR1 holds the driver's global buffers, TTBR0 the running process), use 4, 16 or 64 KiB
 * granules, and translate through stage 2 (IPA -> PA) alone or nested under stage 1.
 *
 * Conventions
 *   - Every function returns int32_t: 0, or a negative SMMU_E* code (errno numbers), except
 *     smmu_config_init and smmu_gather_init (void), smmu_strerror (string), smmu_unmap and
 *     smmu_unmap_pages (int64_t bytes or code), smmu_abi_version and smmu_simd_width (plain values).
 *   - A failed call leaves the model exactly as it was.
 *   - Handles (smmu_t, smmu_domain_t) are integers with a kind, a slot and a generation:
 *       smmu_t:        [31:30] 1 | [29:10] generation | [9:0] instance slot
 *       smmu_domain_t: [31:30] 2 | [29:20] instance slot | [19:8] domain slot | [7:0] generation
 *     At most 1024 instances live at once in a process (smmu_create: SMMU_ENOMEM beyond) and 4096
 *     domains at once per instance. What a handle value can and cannot do:
 *       - a freed handle never names a live object of its instance again: a slot whose generations
 *         are used up is retired (so an instance runs out of domain handles, SMMU_ENOMEM, after
 *         about 4096 x 255 domain allocations, and a process after about 10^9 instances);
 *       - a live instance rejects every domain handle of every other live instance, always: the
 *         instance slot is part of the handle and no two live instances share one;
 *       - 0, a handle of the wrong kind, or an instance handle whose instance was destroyed gives
 *         SMMU_EBADF;
 *       - a forged value (any other 32-bit number) is checked like any handle and names a live
 *         domain only if it equals that domain's handle exactly — the library cannot tell it from
 *         the real one; the same holds for a domain handle of a destroyed instance, whose slot a
 *         later instance may have taken. Nothing a handle value can do reads or writes outside the
 *         model, or crashes.
 *   - Arguments are checked in this order, and the first check that fails decides the code:
 *     NULL pointers and struct sizes (EINVAL), handles (EBADF), malformed values (EINVAL: unknown
 *     bits, misalignment, size 0, a value out of its set), addresses out of range (ERANGE), then
 *     the model's state (EBUSY, ENODEV, EEXIST, ENOMEM, ENOSPC, in the order each function lists).
 *     All of them are checked whatever the count of a batch: a batch of 0 translations on a stream
 *     that is not attached is ENODEV.
 *   - A NULL pointer, in or out, gives SMMU_EINVAL. Out-parameters are written only on success
 *     (two exceptions, each documented: smmu_translate_batch's out_done, smmu_map_pages's out_mapped).
 *   - Structs that may grow carry their size as their first field: set it to sizeof(the struct).
 *   - The library never hands memory to the caller to free; strings are static.
 *   - Threading: an instance is used by one thread at a time; distinct instances are independent
 *     and may run on different threads at once.
 *   - No .NET runtime is needed: the library is compiled ahead of time (NativeAOT).
 *
 * Build: cc -I native-headers app.c -L <dir of libsmmu.so> -lsmmu -Wl,-rpath,<dir>
 */
#ifndef SMMU_H
#define SMMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions and capabilities ------------------------------------------------------------- */

#define SMMU_ABI_VERSION_MAJOR 1
#define SMMU_ABI_VERSION_MINOR 1   /* 1.1: split tables, globals, granules, stage 2, nesting, VMIDs,
                                       deferred invalidation; structs grew at their end (their 1.0
                                       sizes are still accepted) */
#define SMMU_ABI_VERSION ((SMMU_ABI_VERSION_MAJOR << 16) | SMMU_ABI_VERSION_MINOR)

/* The ABI version of the loaded library: (major << 16) | minor. A program built against this
 * header works with any library of the same major version and a minor version >= its own. */
int32_t smmu_abi_version(void);

/* The vector width, in bits, the library's TLB matches sets with: 512 (AVX-512), 256 (AVX2),
 * 128 (SSE2/NEON), or 0 (way by way). Fixed when the library was compiled (see README).
 * An instance created with SMMU_CFG_SCALAR_TLB always matches way by way. */
int32_t smmu_simd_width(void);

/* ---- Errors ------------------------------------------------------------------------------------ */

#define SMMU_OK       0
#define SMMU_EPERM   (-1)   /* not allowed: a read-only attribute, a protected descriptor */
#define SMMU_ENOENT  (-2)   /* nothing there: no mapping at an IOVA, no fault recorded */
#define SMMU_EIO     (-5)   /* internal error: a bug in the library, reported instead of a crash */
#define SMMU_EBADF   (-9)   /* bad, stale, zero or wrong-kind handle */
#define SMMU_ENOMEM  (-12)  /* the page-table pool (or the host) is out of memory */
#define SMMU_EFAULT  (-14)  /* the translation faulted (see smmu_get_fault) */
#define SMMU_EBUSY   (-16)  /* in use: attached, has dynamic domains, inside a fault handler */
#define SMMU_EEXIST  (-17)  /* the range overlaps an existing mapping */
#define SMMU_ENODEV  (-19)  /* not attached, or no base domain / context bank to attach to */
#define SMMU_EINVAL  (-22)  /* malformed argument: NULL, misaligned, out of range, wrong size */
#define SMMU_ENOSPC  (-28)  /* no free ASID or context bank */
#define SMMU_ERANGE  (-34)  /* address beyond the input (ias) or output (oas) address size */

/* A short static description of a code ("unknown error" for anything else). Never NULL. */
const char *smmu_strerror(int32_t code);

/* ---- Instances --------------------------------------------------------------------------------- */

typedef uint32_t smmu_t;          /* an SMMU instance */
typedef uint32_t smmu_domain_t;   /* a domain; 0 is never valid */

typedef struct smmu_config {
    uint32_t size;              /* sizeof(smmu_config) */
    uint32_t num_context_banks; /* 1..128, default 8 */
    uint32_t num_stream_ids;    /* stream IDs are 0..num_stream_ids-1; 1..65536, default 128 */
    uint32_t asid_bits;         /* 8 or 16, default 16; ASID 0 is reserved (it marks an empty TLB way),
                                   and with 16 bits 0xFFFF too (entries without an ASID), so 255 or
                                   65534 stage-1 domains (base or dynamic) can be attached at once */
    uint32_t ias, oas;          /* input / output address bits, 32..48, default 48, 48; ias picks a
                                   table's start level with its granule (4K: 48..40 -> 0, 39..32 -> 1);
                                   stage 2: ias is the IPA size, oas the PA size */
    uint32_t tlb_entries;       /* power of two, 1..65536, default 1024 */
    uint32_t tlb_ways;          /* power of two <= tlb_entries, default 8 */
    uint32_t flags;             /* SMMU_CFG_* */
    uint64_t pt_pool_base;      /* physical address of the table pool, 4 KiB aligned, default 0x40000000 */
    uint64_t pt_pool_bytes;     /* multiple of 4 KiB, 4 KiB..4 GiB, default 64 MiB;
                                   pt_pool_base + pt_pool_bytes <= 2^oas. Tables of 16 and 64 KiB
                                   granules are 16/64 KiB blocks aligned to their size in physical
                                   address (a buddy allocator); page counts stay in 4 KiB units */
    /* ---- ABI 1.1 (a config with the 1.0 size, 56, gets these fields' defaults) ---- */
    uint32_t vmid_bits;         /* 8 or 16, default 16; VMID 0 is reserved and 16-bit VMIDs stop at
                                   0x7FFF (the TLB tag), so 255 or 32767 stage-2 domains in use at once */
    uint32_t flush_queue_size;  /* SMMU_CFG_LAZY_FLUSH: deferred invalidations queued before one
                                   invalidate-all, 1..65536, default 256 (Linux's flush queue) */
} smmu_config;

#define SMMU_CFG_NO_ASID_TAGGING 0x1u   /* every switch invalidates the CB's TLB entries */
#define SMMU_CFG_SCALAR_TLB      0x2u   /* match TLB sets way by way (for comparison and tests) */
#define SMMU_CFG_SANITIZE_TLB    0x4u   /* the stale-TLB sanitizer (see "Deferred invalidation") */
#define SMMU_CFG_LAZY_FLUSH      0x8u   /* deferred invalidations become a flush queue (idem) */

/* Fills cfg with the defaults above (cfg->size included). Does nothing when cfg is NULL. */
void smmu_config_init(smmu_config *cfg);

/* Creates an instance. cfg->size: this header's sizeof(smmu_config), or ABI 1.0's 56 (the fields
 * after pt_pool_bytes then take their defaults). Errors: EINVAL (NULL, a field out of its range, wrong size),
 * ENOMEM (too many instances, or no host memory for the pool). */
int32_t smmu_create(const smmu_config *cfg, smmu_t *out);

/* Destroys an instance and everything in it; its handle and its domains' handles go stale.
 * Errors: EBADF; EBUSY when called from inside one of its own fault or sanitizer handlers. */
int32_t smmu_destroy(smmu_t smmu);

/* ---- Domains ----------------------------------------------------------------------------------- */

/* Allocates a domain with an empty root table (iommu_domain_alloc).
 * Errors: EBADF, EINVAL (NULL out), ENOMEM (no pool page for the root). */
int32_t smmu_domain_alloc(smmu_t smmu, smmu_domain_t *out);

/* Frees a domain and all its tables; its global TLB entries are invalidated (its other entries went
 * with its ASID at detach). Errors: EBADF, EBUSY (still attached; a stage-2 domain that stage-1
 * domains still name as SMMU_ATTR_NEST_PARENT). */
int32_t smmu_domain_free(smmu_t smmu, smmu_domain_t d);

/* Domain attributes, after the Qualcomm driver's DOMAIN_ATTR_*. `size` must be the attribute's
 * size exactly. Every settable attribute is set before attach (EBUSY after); GRANULE, SPLIT_TTBR1
 * and STAGE shape the tables, so they are also refused with EBUSY once the domain has been mapped
 * or attached, even if it is empty and detached again: setting one gives the domain a new, empty
 * root table, and the root's address is fixed from the first map or attach on. As everywhere, a
 * malformed value (EINVAL) or a handle that names nothing (EBADF) is reported before EBUSY. */
enum { SMMU_ATTR_DYNAMIC = 1,      /* int32, 0 or 1 (anything else is EINVAL): set before attach */
       SMMU_ATTR_CONTEXT_BANK = 2, /* uint32: read from base, set on dynamic */
       SMMU_ATTR_ASID = 3,         /* uint32, read-only, valid once attached (0 for a stage-2 domain) */
       SMMU_ATTR_TTBR0 = 4,        /* uint64, read-only: TTBR0 image, table PA in 47:0, ASID in 63:48;
                                      ENOENT for a split base domain (its tables are in TTBR1) */
       SMMU_ATTR_PROCID = 5,       /* uint32, free for the client (CONTEXTIDR) */
       SMMU_ATTR_GRANULE = 6,      /* uint32: 4096 (default), 16384 or 65536; set before attach. A
                                      dynamic domain must use its bank's granule (attach: EINVAL) */
       SMMU_ATTR_SPLIT_TTBR1 = 7,  /* int32 0/1, on a base domain before attach: its tables are the
                                      bank's TTBR1 half; TTBR0 comes from dynamic domains */
       SMMU_ATTR_TTBR1 = 8,        /* uint64, read-only: the bank's TTBR1 image (table PA | ASID),
                                      0 for a bank that is not split; ENODEV before attach */
       SMMU_ATTR_STAGE = 9,        /* uint32: 1 (default) or 2; set before attach. Stage 2 is EINVAL on
                                      a dynamic, split or nested domain, and where ias/oas have no
                                      valid stage-2 table (e.g. 4K, ias 48, oas 40: 512 concatenated
                                      roots; Linux refuses it too) */
       SMMU_ATTR_NEST_PARENT = 10, /* uint32 smmu_domain_t of a stage-2 domain (0: none), on a
                                      stage-1 domain before attach: its bank translates IOVA -> IPA
                                      -> PA. EBADF for a value that names no domain, EINVAL for one
                                      that is not stage 2. A dynamic domain may leave it 0 (it runs
                                      under its base's stage 2) or name the base's; another is EINVAL */
       SMMU_ATTR_VMID = 11,        /* uint32, read-only, once the stage-2 domain is in use (attached,
                                      or the parent of an attached domain); a domain on a nested bank
                                      reads its bank's; ENODEV otherwise */
       SMMU_ATTR_VTTBR = 12 };     /* uint64, read-only: the stage-2 table PA | VMID << 48, as VMID */

/* Sets an attribute (iommu_domain_set_attr). Errors: EBADF (the domain, or a NEST_PARENT value);
 * EINVAL (NULL data, unknown attribute, wrong size, a value out of its set, CONTEXT_BANK on a
 * domain that is not dynamic or beyond the banks, an attribute that does not fit the domain as
 * listed above); EPERM (ASID, TTBR0, TTBR1, VMID, VTTBR are read-only); EBUSY (any attribute on an
 * attached domain; GRANULE, SPLIT_TTBR1, STAGE once the domain was mapped or attached); ENOMEM (no pool
 * block for the new root). */
int32_t smmu_domain_set_attr(smmu_t smmu, smmu_domain_t d, uint32_t attr, const void *data, size_t size);

/* Reads an attribute (iommu_domain_get_attr). Errors: EBADF; EINVAL (NULL data, unknown attribute,
 * wrong size); ENODEV (CONTEXT_BANK, ASID, TTBR0, TTBR1 before attach; VMID, VTTBR without a stage
 * 2 in use); ENOENT (TTBR0 of a split base domain). */
int32_t smmu_domain_get_attr(smmu_t smmu, smmu_domain_t d, uint32_t attr, void *data, size_t size);

/* Attaches a domain to a stream ID (iommu_attach_device).
 *   Base domain (not DYNAMIC): the first attach claims a free context bank, takes an ASID, routes
 *   the stream to the bank and points TTBR0/ASID at the domain; attaching it to further streams
 *   routes them to the same bank (one bank per base domain). SPLIT_TTBR1: the domain's tables
 *   become TTBR1, TTBR0 walks stay disabled (EPD0: a lower-half access is a level-0 translation
 *   fault) until a dynamic domain is switched in; T0SZ = T1SZ = 64 - ias; TCR.A1 = 0, so the ASID
 *   comes with TTBR0 and tags TTBR1's non-global entries too. NEST_PARENT: the bank is nested,
 *   VTTBR = the stage-2 domain's root with its VMID. A STAGE 2 domain attached on its own claims a
 *   bank that translates the stream's addresses as IPAs (no ASID; a VMID).
 *   Dynamic domain (DYNAMIC = 1, CONTEXT_BANK copied from the base): takes its own ASID on that
 *   bank; the bank is not reprogrammed until smmu_switch_domain.
 *   Stage 2 under nesting: the stage-1 table addresses (TTBR0/TTBR1, table descriptors) are IPAs.
 *   The model keeps them equal to the table pool's PAs, so the stage-2 domain must map the table
 *   pool (IPA = PA), as a hypervisor maps the guest memory that holds the guest's tables; a
 *   stage-1 walk whose table IPA stage 2 cannot translate faults at stage 2 with S1PTW.
 *   A stage-2 domain's VMID is given when its first user attaches and, when its last user
 *   detaches, invalidated (every entry of it) before it is freed.
 * Errors: EBADF; EINVAL (stream out of range; a dynamic domain whose granule or stage-2 parent
 * differs from its bank's, or on a stage-2-only bank); EBUSY (stream already attached to a base
 * domain, dynamic domain already attached); ENODEV (dynamic domain without CONTEXT_BANK, or no
 * base domain holds that bank for the stream); ENOSPC (no free context bank, ASID or VMID). */
int32_t smmu_attach_device(smmu_t smmu, smmu_domain_t d, uint32_t stream_id);

/* Detaches a domain from a stream ID (iommu_detach_device).
 *   Dynamic domain: invalidates its ASID in the TLB (the bank's programming intact) and frees the
 *   ASID. It never resets the bank; if it was the active domain, TTBR0/ASID/CONTEXTIDR fall back to
 *   the base domain's (on a split bank: EPD0 and the base's ASID).
 *   Base domain: unroutes the stream; its last detach invalidates its ASID, lets go of its stage 2
 *   (see attach: the last user's detach invalidates and frees the VMID) and resets the bank.
 *   Invalidating an ASID spares its global entries (TLBIASID): they match every ASID and go when
 *   their mapping is unmapped or its domain freed.
 * Errors: EBADF; EINVAL (stream out of range); ENODEV (not attached through that stream);
 * EBUSY (a base domain while dynamic domains are attached on its bank; nothing changes). */
int32_t smmu_detach_device(smmu_t smmu, smmu_domain_t d, uint32_t stream_id);

/* ---- Mappings ---------------------------------------------------------------------------------- */

#define SMMU_PROT_READ 0x1u
#define SMMU_PROT_WRITE 0x2u
#define SMMU_PROT_CACHE 0x4u    /* cacheable, inner shareable (AttrIndx 1); otherwise outer shareable */
#define SMMU_PROT_NOEXEC 0x8u   /* UXN and PXN (bits 54, 53), as io-pgtable-arm sets them */
#define SMMU_PROT_MMIO 0x10u    /* device memory (AttrIndx 2); plain mappings use AttrIndx 0 */
#define SMMU_PROT_PRIV 0x20u    /* privileged only: AP[1] clear */
#define SMMU_PROT_GLOBAL 0x40u  /* nG = 0: the TLB entry matches every ASID, so it survives process
                                   switches (stage 1 only: EINVAL on a stage-2 domain). Every ASID of
                                   its VMID: stage-1 banks all have VMID 0 (as arm-smmu programs them),
                                   so a cached global entry serves every stage-1 bank's lookups of
                                   that address */

/* Maps [iova, iova+size) to [paddr, paddr+size) with AArch64 long descriptors of the domain's stage
 * and granule, using the largest leaf that alignment and size allow: 4K granule 1 GiB, 2 MiB,
 * 4 KiB; 16K 32 MiB, 16 KiB; 64K 512 MiB, 64 KiB (no level-1 blocks without LPA/LPA2). The domain
 * need not be attached. A split base domain maps its TTBR1 half at the upper, sign-extended IOVAs:
 * from 2^64 - 2^ias up (e.g. 0xffffffff00000000 with ias 48). A stage-2 domain maps IPAs.
 * Errors: EBADF; EINVAL (not aligned to the granule, size 0, neither READ nor WRITE, unknown bits,
 * GLOBAL on a stage-2 domain); ERANGE (iova range outside the domain's half: beyond 2^ias, or below
 * 2^64 - 2^ias for a TTBR1 half; paddr range beyond 2^oas); EEXIST (overlaps a mapping);
 * ENOMEM (pool exhausted). A range that overlaps a mapping and also needs more table pages than
 * are free is EEXIST, wherever the overlap lies. On error nothing changed: table pages in use are
 * as before.
 * Stage-2 descriptor bits (ARM_64_LPAE_S2): AF; S2AP[0] (bit 6) read, S2AP[1] (bit 7) write;
 * MemAttr (5:2) 0b1111 CACHE, 0b0101 plain, 0b0001 MMIO; SH as stage 1; NOEXEC writes XN as bits
 * 54:53 = 0b11, and the walker, like an MMU-500 without FEAT_XNX, reads bit 54.
 * Stage-1 descriptor bits (io-pgtable-arm's stage-1 format): AF always; nG unless GLOBAL; AP[2] (read-only) when
 * WRITE is absent; AP[1] (EL0 access) unless PRIV; AttrIndx 0 plain, 1 CACHE, 2 MMIO (MMIO wins);
 * SH inner shareable (0b11) for CACHE, outer shareable (0b10) otherwise, non-cacheable included,
 * as Linux writes them (for Device and Normal non-cacheable memory the architecture treats the SH
 * field as outer shareable anyway).
 * Permissions (VMSAv8-64 stage 1, as the walker and the TLB check them), for an access with
 * SMMU_ACCESS_PRIV (privileged) or without (unprivileged):
 *   read/write: AP[2:1] = 00 priv RW, unpriv none | 01 both RW | 10 priv RO, unpriv none | 11 both RO
 *   unprivileged execute: allowed iff UXN = 0, whatever AP (AP[1] = 0 and UXN = 0 is execute-only
 *     for unprivileged accesses, as Linux's PAGE_EXECONLY);
 *   privileged execute: allowed iff PXN = 0 and the memory is not writable unprivileged (AP[2:1] =
 *     01 implies PXN: the architecture never lets privileged code run from EL0-writable memory).
 *   So: NOEXEC executes nowhere; READ|WRITE executes unprivileged only; READ executes both;
 *   PRIV|READ|WRITE executes privileged, and unprivileged as execute-only. */
int32_t smmu_map(smmu_t smmu, smmu_domain_t d, uint64_t iova, uint64_t paddr, uint64_t size, uint32_t prot);

/* Removes every mapping inside [iova, iova+size), holes or not, and invalidates what the TLB may
 * hold of it, as Linux's TLB ops would: an attached stage-1 domain's range for its ASID and the
 * global entries in it (TLBIVA); a split base domain's range for every ASID (TLBIVAA: TCR.A1 = 0
 * tags its non-global entries with whichever process ran); a removed global leaf's range for every
 * ASID in every VMID; a stage-2 domain's IPA range (TLBIIPAS2) and every entry of its VMID that
 * combined it with stage 1 (TLBIVMALL: the architecture's rule for a TLB that caches stage 1+2
 * together). A block only partly inside is split into the next level (one table per split).
 * Emptied tables go back to the pool. Returns the bytes unmapped (0 if nothing was mapped), or
 * EBADF, EINVAL (not aligned to the granule, size 0), ERANGE, ENOMEM (no table for a split). */
int64_t smmu_unmap(smmu_t smmu, smmu_domain_t d, uint64_t iova, uint64_t size); /* bytes, or <0 */

/* A software walk (iommu_iova_to_phys) of the domain's own tables: the output address of any valid
 * leaf, ignoring permissions and AF (for a stage-2 domain, an IPA's PA). Errors: EBADF, EINVAL
 * (NULL), ERANGE (iova outside the domain's half), ENOENT (not mapped). */
int32_t smmu_iova_to_phys(smmu_t smmu, smmu_domain_t d, uint64_t iova, uint64_t *out_pa);

/* Reads 8 bytes of simulated physical memory: any descriptor of any table, bit for bit.
 * Errors: EBADF, EINVAL (NULL, pa not 8-byte aligned), ERANGE (outside the table pool). */
int32_t smmu_phys_read64(smmu_t smmu, uint64_t pa, uint64_t *out);

/* Overwrites a valid leaf descriptor, as a CPU store to a PTE would, e.g. to clear AF, change
 * AP/XN or point the output beyond oas for fault testing. The value must keep the descriptor a
 * valid leaf of the same type (bits 1:0); tables and invalid descriptors belong to map/unmap.
 * No TLB maintenance happens: invalidate as a driver would. Errors: EBADF, EINVAL (alignment),
 * ERANGE (outside the pool), EPERM (not a leaf, or the value changes bits 1:0). */
int32_t smmu_phys_write64(smmu_t smmu, uint64_t pa, uint64_t value);

/* ---- Translation --------------------------------------------------------------------------------- */

/* Points the domain's context bank at the domain's tables: TTBR0/ASID/CONTEXTIDR := the domain's
 * (the seed's use_domain). TTBR1 and the stage-2 registers stay. On a split bank, switching to the
 * base domain disables TTBR0 (EPD0) and sets the base's ASID. ASID-tagged (default): the TLB is
 * untouched, so each domain's entries survive and hit again when it comes back; global entries are
 * shared by all. SMMU_CFG_NO_ASID_TAGGING: the outgoing ASID's (non-global) entries are invalidated.
 * Errors: EBADF; ENODEV (not attached). */
int32_t smmu_switch_domain(smmu_t smmu, smmu_domain_t d);  /* CB TTBR0/ASID := d's */

#define SMMU_ACCESS_READ 0x1u
#define SMMU_ACCESS_WRITE 0x2u
#define SMMU_ACCESS_EXEC 0x4u
#define SMMU_ACCESS_PRIV 0x8u

/* Translates one transaction from a device: stream -> context bank -> TLB (tagged with the ASID,
 * or global, and the VMID) -> on a miss, a walk of the bank's tables (TTBR0 or TTBR1 by the IOVA's
 * top bits: [63:ias] all 0 or all 1, anything else a level-0 translation fault; nested: every
 * stage-1 table address and the output translated by stage 2, up to 24 descriptor reads), which
 * fills the TLB with the combined translation and rights. Errors: EBADF; EINVAL (NULL,
 * stream out of range, access without READ/WRITE/EXEC or with unknown bits); ENODEV (stream not
 * attached); EFAULT (a fault: recorded on the context bank and reported to its base domain's
 * handler, see smmu_set_fault_handler). */
int32_t smmu_translate(smmu_t smmu, uint32_t stream_id, uint64_t iova, uint32_t access, uint64_t *out_pa);

/* Translates iovas[0..count) in order into out_pas, stopping at the first that fails;
 * *out_done = how many were translated, and the return code is that of iovas[*out_done]
 * (0 when all were). count 0 is fine, and checks the stream and access like any other count.
 * *out_done is written on every return except EINVAL for NULL pointers or count and EBADF (an
 * exception to the out-parameter rule: a failed batch still says how far it got, 0 included).
 * Errors as smmu_translate; EINVAL also for NULL arrays (with count > 0) or count > INT32_MAX. */
int32_t smmu_translate_batch(smmu_t smmu, uint32_t stream_id, const uint64_t *iovas, uint64_t *out_pas,
                             size_t count, uint32_t access, size_t *out_done); /* stops at first fault */

/* ---- The inline fast path ------------------------------------------------------------------------ */
/* A C simulator translating one transaction at a time (a QEMU IOMMU translate callback, a SystemC
 * b_transport) pays for every library call: 6-9 ns of NativeAOT transition before any work. So, as
 * QEMU's softmmu TLB does, hits are served in the caller's code: with GCC or Clang, smmu_translate
 * and smmu_translate_batch below are macros for static inline functions that probe a read-only view
 * of the instance's TLB and call the library only for what a hit cannot answer (a miss, a hit
 * without the rights, a bad argument, a destroyed instance). Results, faults, handler calls and
 * statistics are exactly the library's: a view hit is a translation and a TLB hit in smmu_stats
 * (the library adds the view's `hits`), a lookup probes what the library's lookup probes in the
 * same order, and every other outcome is the library's own. Taking the functions' addresses gives
 * the exported functions. Define SMMU_NO_INLINE before including this header to call the library
 * for everything. The helpers below are static (smmuinl_*, not in the smmu_* namespace): nothing of
 * this section is exported, and every smmu_* function the header declares is.
 *
 * The view of an instance is valid for the life of the process (a destroyed instance's view has a
 * handle no smmu_t that selects it can equal, so every call goes to the library: EBADF), is written by the library only during
 * calls on that instance, and follows the instance's threading rule: one thread at a time.
 * smmu_fast_views() returns the table of views, one per instance slot (an smmu_t's bits 9:0); the
 * inline functions cache its address per translation unit. Layout version 1; tags, ASIDs, the
 * size classes and the set index are smmu's TLB's, described in docs/design.md ("The TLB"). */

#define SMMU_FAST_VIEW_VERSION 1
#define SMMU_FAST_VIEW_SLOTS   1024u

typedef struct smmu_fast_stream {
    int32_t bank;               /* the stream's context bank, -1: not routed */
    uint16_t asid;              /* the ASID its lookups match (0xffff: entries without an ASID only) */
    uint16_t reserved;
    uint64_t salt;              /* XORed onto the block number to pick the set */
    uint64_t tag_base;          /* XORed onto the aligned input: VMID << 48 | stage-2-input flag (bit 4) */
} smmu_fast_stream;             /* its bank's TLB context, copied to each of the bank's streams */

typedef struct smmu_fast_view {
    uint32_t handle;            /* the smmu_t served; with no instance, a value whose bits 9:0 name
                                   another slot, so that no smmu_t selecting this view equals it */
    uint32_t num_stream_ids;
    uint32_t size_classes;      /* bit c: the TLB holds entries of size class c */
    uint32_t no_asid_classes;   /* bit c: ... entries without an ASID (global, stage-2-only) of class c */
    uint64_t set_mask;          /* sets - 1 */
    uint32_t ways_log2;
    uint32_t group_mask;        /* ways of an 8-way group that belong to one set */
    const smmu_fast_stream *streams; /* per stream ID */
    const uint64_t *tags;       /* per TLB entry (set * ways + way): tag */
    const uint16_t *asids;      /* ASID: 0 empty way, 0xffff none */
    const uint64_t *outputs;    /* the page's or block's output address */
    const uint8_t *info;        /* [7:6] leaf level, [5:0] rights: priv R W X, unpriv R W X */
    uint64_t hits;              /* translations served inline: the only field callers write */
    uint32_t one_probe_class;   /* the size class a lookup needs probe alone (the only class cached, 8-way
                                   sets, no entry without an ASID), or 0xff: probe as described above */
    uint32_t reserved0;
    uint64_t reserved[5];
} smmu_fast_view;               /* 128 bytes */

/* The table of SMMU_FAST_VIEW_SLOTS views (NULL if the library could not make it). */
smmu_fast_view *smmu_fast_views(void);

#if defined(__GNUC__) && !defined(SMMU_NO_INLINE)
/* The probe compares 8 tags with AVX2 (or AVX-512 when the caller is compiled for it). libsmmu.so is
 * built for x86-64-v3 and so needs AVX2 itself: on x86-64 the lookup helpers are compiled for AVX2
 * whatever the caller's flags (GCC/Clang target attribute; a caller built without AVX2 calls them
 * instead of inlining them). Elsewhere they compare way by way. */
#if defined(__AVX2__)
#define SMMU_INL_AVX2 1
#define SMMU_INL_VECTOR
#elif defined(__x86_64__)
#define SMMU_INL_AVX2 1
#define SMMU_INL_VECTOR __attribute__((target("avx2")))
#else
#define SMMU_INL_VECTOR
#endif
#if defined(SMMU_INL_AVX2)
#include <immintrin.h>
#endif

/* The per-translation-unit cache of smmu_fast_views(): every caller stores the same value. */
static smmu_fast_view *smmuinl_view_table __attribute__((unused));
/* Served when there is no table: no stream is below its num_stream_ids (0), so it serves nothing. */
static smmu_fast_view smmuinl_no_view __attribute__((unused));

static inline smmu_fast_view *smmuinl_view(smmu_t smmu)
{
    smmu_fast_view *table = __atomic_load_n(&smmuinl_view_table, __ATOMIC_RELAXED);
    if (__builtin_expect(table == NULL, 0)) {
        table = smmu_fast_views();
        if (table == NULL)
            return &smmuinl_no_view;
        __atomic_store_n(&smmuinl_view_table, table, __ATOMIC_RELAXED);
    }
    return table + (smmu & (SMMU_FAST_VIEW_SLOTS - 1u));
}

/* log2 of the bytes an entry of each size class covers: 4K, 16K, 64K, 2M, 32M, 512M, 1G. */
SMMU_INL_VECTOR static inline unsigned smmuinl_class_shift(unsigned size_class)
{
    return (unsigned)((0x001e1d1915100e0cull >> (size_class * 8u)) & 0xffu);
}

/* The ways among 8 consecutive entries whose tag and ASID match, as a bit mask (the columns are
 * padded: 8 entries can always be read). With AVX2 or AVX-512 enabled at compile time, one or two
 * vector compares, as the library's own kernels do. */
SMMU_INL_VECTOR static inline uint32_t smmuinl_match8(const uint64_t *tags, const uint16_t *asids, uint64_t tag,
                                                       uint16_t asid)
{
#if defined(SMMU_INL_AVX2)
#if defined(__AVX512F__)
    uint32_t match = (uint32_t)_mm512_cmpeq_epi64_mask(_mm512_loadu_si512((const void *)tags),
                                                       _mm512_set1_epi64((long long)tag));
#else
    __m256i wanted = _mm256_set1_epi64x((long long)tag);
    __m256i low = _mm256_cmpeq_epi64(_mm256_loadu_si256((const __m256i *)tags), wanted);
    __m256i high = _mm256_cmpeq_epi64(_mm256_loadu_si256((const __m256i *)(tags + 4)), wanted);
    uint32_t match = (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(low))
                     | (uint32_t)_mm256_movemask_pd(_mm256_castsi256_pd(high)) << 4;
#endif
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    return match & (uint32_t)_mm_cmpeq_epi16_mask(_mm_loadu_si128((const __m128i *)asids), _mm_set1_epi16((short)asid));
#else
    __m128i same = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)asids), _mm_set1_epi16((short)asid));
    return match & (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(same, _mm_setzero_si128()));
#endif
#else
    unsigned w;
    for (w = 0; w < 8; w++) {
        if (tags[w] == tag && asids[w] == asid)
            return 1u << w;
    }
    return 0;
#endif
}

/* What a lookup reads, copied out of the view and the bank once per call so that a batch keeps it in
 * registers (stores to out_pas could otherwise alias the view). */
typedef struct smmuinl_tlb {
    const uint64_t *tags;
    const uint16_t *asids;
    const uint64_t *outputs;
    const uint8_t *info;
    uint64_t set_mask, salt, tag_base;
    uint32_t classes, no_asid, ways_log2, group_mask;
    uint16_t asid;
} smmuinl_tlb;

SMMU_INL_VECTOR static inline smmuinl_tlb smmuinl_tlb_of(const smmu_fast_view *v, const smmu_fast_stream *b)
{
    smmuinl_tlb t;
    t.tags = v->tags;
    t.asids = v->asids;
    t.outputs = v->outputs;
    t.info = v->info;
    t.set_mask = v->set_mask;
    t.salt = b->salt;
    t.tag_base = b->tag_base;
    t.classes = v->size_classes;
    t.no_asid = b->asid == 0xffffu ? 0u : v->no_asid_classes;   /* a bank without an ASID probed them already */
    t.ways_log2 = v->ways_log2;
    t.group_mask = v->group_mask;
    t.asid = b->asid;
    return t;
}

/* The entry of one set whose tag and ASID match, or -1. */
SMMU_INL_VECTOR static inline int32_t smmuinl_probe(const smmuinl_tlb *t, uint64_t set, uint64_t tag, uint16_t asid)
{
    size_t base = (size_t)set << t->ways_log2, ways = (size_t)1 << t->ways_log2, group = 0;
    do {
        uint32_t match = smmuinl_match8(t->tags + base + group, t->asids + base + group, tag, asid) & t->group_mask;
        if (match != 0)
            return (int32_t)(base + group + (size_t)__builtin_ctz(match));
        group += 8;
    } while (group < ways);
    return -1;
}

/* The library's lookup: each size class present, smallest first: the ASID's salted set, then (if the
 * class holds entries without an ASID) the unsalted set. On a hit whose rights cover `need`, the
 * output address; 0 for a miss or a hit without the rights (the library decides those). */
SMMU_INL_VECTOR static inline int smmuinl_hit(const smmuinl_tlb *t, uint64_t input, uint32_t need, uint64_t *out)
{
    uint32_t classes = t->classes;
    while (classes != 0) {
        unsigned c = (unsigned)__builtin_ctz(classes), shift = smmuinl_class_shift(c);
        uint64_t block = input >> shift;
        uint64_t tag = ((block << shift) ^ t->tag_base) | c;
        int32_t e = smmuinl_probe(t, (block ^ t->salt) & t->set_mask, tag, t->asid);
        if (e < 0 && ((t->no_asid >> c) & 1u))
            e = smmuinl_probe(t, block & t->set_mask, tag, 0xffffu);
        if (e >= 0) {
            if ((need & ~(uint32_t)t->info[e] & 0x3fu) != 0)
                return 0;
            *out = t->outputs[e] | (input & ((1ull << shift) - 1u));
            return 1;
        }
        classes &= classes - 1u;
    }
    return 0;
}

/* The common case, as the library's hit loop specializes it: one size class cached and 8-way sets, so
 * one probe of the ASID's set per translation. Translates iovas[0..count) while each hits there with
 * the rights; returns how many did. Everything else (a miss there, an entry without an ASID, a hit
 * without the rights) stops it, and the caller falls back. Its inputs are plain values, so a loop
 * keeps them in registers whatever out_pas aliases. */
SMMU_INL_VECTOR static inline size_t smmuinl_run8(const uint64_t *tags, const uint16_t *asids, const uint64_t *outputs,
                                   const uint8_t *info, uint64_t set_mask, uint64_t salt, uint64_t tag_base,
                                   uint16_t asid, unsigned size_class, uint32_t need, const uint64_t *iovas,
                                   uint64_t *out_pas, size_t count)
{
    unsigned shift = smmuinl_class_shift(size_class);
    size_t i;
    for (i = 0; i < count; i++) {
        uint64_t input = iovas[i], block = input >> shift;
        uint64_t tag = ((block << shift) ^ tag_base) | size_class;
        size_t base = (size_t)((block ^ salt) & set_mask) << 3, e;
        uint32_t match = smmuinl_match8(tags + base, asids + base, tag, asid);
        if (match == 0)
            break;
        e = base + (size_t)__builtin_ctz(match);
        if ((need & ~(uint32_t)info[e] & 0x3fu) != 0)
            break;
        out_pas[i] = outputs[e] | (input & ((1ull << shift) - 1u));
    }
    return i;
}

/* The general lookup over iovas[0..count) while they hit: any size classes, entries without an ASID,
 * any number of ways. Out of line: it is the rare case, and inlined it would make every caller of
 * smmu_translate save registers it does not need. */
SMMU_INL_VECTOR static __attribute__((noinline, unused)) size_t smmuinl_serve_any(const smmu_fast_view *v,
        const smmu_fast_stream *b, uint32_t need, const uint64_t *iovas, uint64_t *out_pas, size_t count)
{
    size_t i = 0;
    smmuinl_tlb t = smmuinl_tlb_of(v, b);
    while (i < count && smmuinl_hit(&t, iovas[i], need, &out_pas[i]))
        i++;
    return i;
}

/* Serves iovas[0..count) from the view while they hit: the common case's loop, else the general lookup.
 * Returns how many it translated. */
SMMU_INL_VECTOR static inline size_t smmuinl_serve(const smmu_fast_view *v, const smmu_fast_stream *b, uint32_t need,
                                    const uint64_t *iovas, uint64_t *out_pas, size_t count)
{
    if (__builtin_expect(v->one_probe_class < 8u, 1))   /* the general lookup would probe that set alone too */
        return smmuinl_run8(v->tags, v->asids, v->outputs, v->info, v->set_mask, b->salt, b->tag_base, b->asid,
                             v->one_probe_class, need, iovas, out_pas, count);
    return smmuinl_serve_any(v, b, need, iovas, out_pas, count);
}

/* The rights an access needs (the info byte's layout); 0 for an invalid access. */
static inline uint32_t smmuinl_need(uint32_t access)
{
    uint32_t kinds = access & 7u;
    if ((access & ~0xfu) != 0)
        return 0;
    return (access & 8u) ? kinds : kinds << 3;
}

/* The stream record of a call the view can serve, or NULL (then the library decides). */
static inline const smmu_fast_stream *smmuinl_stream(const smmu_fast_view *v, smmu_t smmu, uint32_t stream_id)
{
    const smmu_fast_stream *s;
    if (v->handle != smmu || stream_id >= v->num_stream_ids)
        return NULL;
    s = &v->streams[stream_id];
    return s->bank < 0 ? NULL : s;
}

__attribute__((unused)) static inline int32_t smmuinl_translate(smmu_t smmu, uint32_t stream_id, uint64_t iova, uint32_t access,
                                         uint64_t *out_pa)
{
    smmu_fast_view *v = smmuinl_view(smmu);
    const smmu_fast_stream *b = smmuinl_stream(v, smmu, stream_id);
    uint32_t need = smmuinl_need(access);
    if (b != NULL && need != 0 && out_pa != NULL && smmuinl_serve(v, b, need, &iova, out_pa, 1) == 1) {
        v->hits++;
        return 0;
    }
    return (smmu_translate)(smmu, stream_id, iova, access, out_pa);
}

/* Out of line: a batch's call costs nothing next to its translations, and inlined it would make every
 * function that also translates one at a time save the registers a batch loop needs. */
__attribute__((unused, noinline)) static int32_t smmuinl_translate_batch(smmu_t smmu, uint32_t stream_id, const uint64_t *iovas,
                                               uint64_t *out_pas, size_t count, uint32_t access, size_t *out_done)
{
    smmu_fast_view *v = smmuinl_view(smmu);
    const smmu_fast_stream *b = smmuinl_stream(v, smmu, stream_id);
    uint32_t need = smmuinl_need(access);
    size_t i = 0, done = 0;
    int32_t rc;
    if (b == NULL || need == 0 || iovas == NULL || out_pas == NULL || out_done == NULL || count > 0x7fffffffu)
        return (smmu_translate_batch)(smmu, stream_id, iovas, out_pas, count, access, out_done);
    i = smmuinl_serve(v, b, need, iovas, out_pas, count);
    v->hits += i;   /* before the library's part: a handler it calls sees every translation so far */
    if (i == count) {
        *out_done = count;
        return 0;
    }
    rc = (smmu_translate_batch)(smmu, stream_id, iovas + i, out_pas + i, count - i, access, &done);
    *out_done = i + done;
    return rc;
}

#define smmu_translate(smmu, stream_id, iova, access, out_pa) \
    smmuinl_translate((smmu), (stream_id), (iova), (access), (out_pa))
#define smmu_translate_batch(smmu, stream_id, iovas, out_pas, count, access, out_done) \
    smmuinl_translate_batch((smmu), (stream_id), (iovas), (out_pas), (count), (access), (out_done))

#endif /* __GNUC__ && !SMMU_NO_INLINE */

/* ---- TLB maintenance ----------------------------------------------------------------------------- */
/* The architecture's rules for global (nG = 0) entries (ARM ARM, TLB maintenance): by ASID spares
 * them; by VA, by VA for all ASIDs, by VMID and all remove them. The stage-1 operations below take
 * no VMID and act in every VMID. */

/* Invalidates every entry. Errors: EBADF. */
int32_t smmu_tlb_inv_all(smmu_t smmu);
/* Invalidates one ASID's non-global entries, in one vector sweep (an ASID never handed out removes
 * nothing). Errors: EBADF, EINVAL (asid >= 2^asid_bits). */
int32_t smmu_tlb_inv_asid(smmu_t smmu, uint32_t asid);
/* Invalidates one ASID's entries, and the global ones, that overlap [iova, iova+size) (TLBIVA; any
 * page or block that overlaps).
 * A range may end exactly at 2^64 (iova + size == 0 in 64-bit arithmetic); one that goes past it
 * wraps and is EINVAL. Errors: EBADF, EINVAL (asid >= 2^asid_bits, size 0, range wraps). */
int32_t smmu_tlb_inv_va(smmu_t smmu, uint32_t asid, uint64_t iova, uint64_t size);
/* As smmu_tlb_inv_va, for every ASID (TLBIVAA). Errors: EBADF, EINVAL (size 0, wraps). */
int32_t smmu_tlb_inv_va_all(smmu_t smmu, uint64_t iova, uint64_t size);
/* Invalidates every entry of a VMID (TLBIVMALL): stage-2-only and combined stage 1+2 entries.
 * Errors: EBADF, EINVAL (vmid 0 or >= 2^vmid_bits). */
int32_t smmu_tlb_inv_vmid(smmu_t smmu, uint32_t vmid);
/* Invalidates a VMID's stage-2-only entries for the IPAs [ipa, ipa+size) (TLBIIPAS2). As on
 * hardware it does not reach combined stage 1+2 entries: follow it with smmu_tlb_inv_vmid, as
 * every stage-2 unmap does. Errors: EBADF, EINVAL (vmid as above, size 0, range wraps). */
int32_t smmu_tlb_inv_ipa(smmu_t smmu, uint32_t vmid, uint64_t ipa, uint64_t size);

/* ---- Deferred invalidation ------------------------------------------------------------------------ */
/* What Linux drivers do: an unmap records what must be invalidated in a caller-owned gather
 * (iommu_iotlb_gather) and the sync does it, empties the gather, and only then frees the tables the
 * unmaps emptied. Until the sync, the TLB keeps what it had cached: the device still sees the old
 * translations, exactly as on hardware; a TLB miss walks the tables as they now are (a cleared
 * descriptor: a translation fault); the emptied tables are held (counted in pt_pages_in_use), not
 * reused. What the sync invalidates is decided when it runs, from the domain's state then (as
 * smmu_unmap lists: its ASID's range, a split base's range for every ASID, a removed global's range
 * everywhere, a stage-2 domain's IPAs and its VMID's combined entries), as arm-smmu's tlb_sync does.
 *
 * Lazy mode (SMMU_CFG_LAZY_FLUSH, Linux's flush queue): a sync is queued instead of done, and one
 * invalidate-all replaces every queued sync when flush_queue_size of them are queued, or on
 * smmu_flush_queue; the queued syncs' tables are freed after it. (Linux's queue is per domain and
 * its flush is the domain's TLBIASID/TLBIVMALL; this one is per instance and invalidates
 * everything, a superset.)
 *
 * The stale-TLB sanitizer (SMMU_CFG_SANITIZE_TLB) finds the driver bugs that live here:
 *   SMMU_STALE_TRANSLATION  a translation served from a TLB entry whose invalidation is pending
 *                           (gathered, not yet synced, or queued) that differs from the tables now:
 *                           a DMA after unmap but before the sync, or a remap the device still sees
 *                           with its old PA. The translation still returns what the hardware would
 *                           (the stale PA, or a permission fault if the stale entry denies it).
 *   SMMU_MISSED_SYNC        a gather still pending when its domain is detached (left unattached)
 *                           or freed: the model does the sync then (invalidation, tables freed).
 *   SMMU_NEEDLESS_INVALIDATION  a sync (or lazy flush) whose invalidation removed no TLB entry:
 *                           wasted maintenance; informational, not an error.
 * Stale translations need the flag: each deferred invalidation has the TLB watch the entries it
 * will remove, and a hit on one is compared with a fresh walk (not counted in walks, fills
 * nothing). Without the flag a hit costs exactly what it did. Missed syncs and needless
 * invalidations are counted always and reported to the handler whenever one is installed. The
 * model has no walk cache, so a walk always reads the tables as they are: a stale translation can
 * only come from the TLB. */

typedef struct smmu_gather {
    uint32_t size;              /* sizeof(smmu_gather), set by smmu_gather_init */
    smmu_domain_t domain;       /* read-only from here on: the domain of the gathered unmaps, 0 when empty */
    uint64_t start;             /* first gathered IOVA, UINT64_MAX when empty */
    uint64_t end;               /* last gathered IOVA (inclusive), 0 when empty */
    uint64_t pgsize;            /* page size of the gathered unmaps, 0 when empty */
    uint64_t ticket;            /* the instance's record of this gather (range, emptied tables); 0 when
                                   empty. A copy of a gather that was synced since reads as empty; a
                                   value the instance never issued is EINVAL. */
} smmu_gather;

/* Makes g an empty gather (iommu_iotlb_gather_init). Does nothing when g is NULL. */
void smmu_gather_init(smmu_gather *g);

/* Maps pgcount pages of pgsize bytes from iova to paddr (map_pages): every leaf at the level of
 * pgsize, as io-pgtable-arm does (4K granule: 4 KiB, 2 MiB, 1 GiB; 16K: 16 KiB, 32 MiB; 64K:
 * 64 KiB, 512 MiB). Full rollback, not Linux's partial count: Linux returns in *mapped what it
 * mapped before failing and leaves the caller (iommu_map) to unmap it; this library's rule is that
 * a failed call changes nothing, so on failure nothing is mapped and *out_mapped is 0 — written on
 * failure too, the one exception to the out-parameter rule besides smmu_translate_batch's (except
 * when out_mapped is NULL: EINVAL). On success *out_mapped = pgsize * pgcount.
 * Errors: EINVAL (NULL); EBADF; EINVAL (pgsize not a leaf size of the domain's granule and stage,
 * pgcount 0, iova or paddr not aligned to pgsize, and smmu_map's); ERANGE (pgsize * pgcount
 * overflows, and smmu_map's); EEXIST; ENOMEM. */
int32_t smmu_map_pages(smmu_t smmu, smmu_domain_t d, uint64_t iova, uint64_t paddr,
                       uint64_t pgsize, uint64_t pgcount, uint32_t prot, uint64_t *out_mapped);

/* Unmaps [iova, iova + pgsize * pgcount) as smmu_unmap does (holes allowed; a block only partly
 * inside is split). g NULL: invalidates now and frees the emptied tables, exactly as smmu_unmap.
 * g non-NULL: defers both to smmu_iotlb_sync(g). The range is added to g with the kernel's
 * iommu_iotlb_gather_add_page rules: if g already holds a range that is disjoint from this one
 * (neither overlapping nor adjacent), or another pgsize, it is synced first; so is a g holding
 * another domain's unmaps. An unmap that removed nothing leaves g as it was.
 * Returns the bytes unmapped, or EINVAL (g with a wrong size); EBADF; EINVAL (g with a ticket the
 * instance never issued; pgsize not a leaf size, pgcount 0, iova not aligned to pgsize); ERANGE
 * (overflow, outside the domain's half); ENOMEM (no table for a split). On error g and the model
 * are unchanged. */
int64_t smmu_unmap_pages(smmu_t smmu, smmu_domain_t d, uint64_t iova, uint64_t pgsize,
                         uint64_t pgcount, smmu_gather *g);   /* g NULL: invalidate now */

/* Performs g's invalidation (lazy mode: queues it), then frees the tables its unmaps emptied, and
 * empties g (iotlb_sync). An empty g does nothing. Errors: EINVAL (NULL, wrong size); EBADF; EINVAL
 * (a ticket the instance never issued, or g holds another domain's unmaps). */
int32_t smmu_iotlb_sync(smmu_t smmu, smmu_domain_t d, smmu_gather *g);

/* Lazy mode: the pending flush-all now (an invalidate-all, then the queued syncs' tables freed).
 * Without SMMU_CFG_LAZY_FLUSH nothing is ever queued and this does nothing. Errors: EBADF. */
int32_t smmu_flush_queue(smmu_t smmu);            /* lazy mode: the pending flush-all now */

#define SMMU_STALE_TRANSLATION     1u
#define SMMU_MISSED_SYNC           2u
#define SMMU_NEEDLESS_INVALIDATION 3u
#define SMMU_NO_CONTEXT_BANK       0xffffffffu

typedef struct smmu_stale_report {
    uint32_t size;              /* sizeof(smmu_stale_report) */
    uint32_t kind;              /* SMMU_STALE_TRANSLATION / _MISSED_SYNC / _NEEDLESS_INVALIDATION */
    uint32_t stream_id;         /* stale translation: the stream (else 0) */
    uint32_t context_bank;      /* the bank translating, or the domain's; SMMU_NO_CONTEXT_BANK if none */
    uint32_t asid;              /* the bank's ASID (stale translation), the domain's (others); 0 if none */
    uint32_t vmid;              /* the bank's VMID, 0 without stage 2 */
    smmu_domain_t domain;       /* stale translation: the domain whose tables give the truth (TTBR1
                                   half: the base); others: the gather's domain (0: a lazy flush) */
    uint32_t access;            /* stale translation: the SMMU_ACCESS_* of the transaction */
    uint64_t iova;              /* stale translation: the IOVA; others: first IOVA of the range */
    uint64_t iova_last;         /* last IOVA of the range, inclusive (stale translation: = iova) */
    uint64_t stale_pa;          /* stale translation: the PA the stale TLB entry gives */
    uint64_t current_pa;        /* stale translation: the PA the tables give now (if current_fault 0) */
    uint32_t stale_granted;     /* stale translation: 1 when the entry let the access through to
                                   stale_pa (what the call returned), 0 when it denied it (EFAULT) */
    uint32_t current_fault;     /* stale translation: the SMMU_FAULT_* a walk of the tables gives now
                                   for this access (1: the IOVA is unmapped), 0 none */
    uint32_t table_pages;       /* missed sync: table pages (4 KiB units) held until the forced sync */
    uint32_t reserved;
} smmu_stale_report;

/* Called for every sanitizer report, during the call that found it (smmu_translate, a batch,
 * smmu_detach_device, smmu_domain_free, smmu_unmap_pages, smmu_iotlb_sync, smmu_flush_queue),
 * after that call's work is done (a stale translation: before its result is returned), with the
 * report valid for the call only. The handler may call back into the library, but smmu_destroy of
 * this instance fails with EBUSY there, and reports its own calls cause are counted, not delivered. */
typedef void (*smmu_sanitizer_handler)(smmu_t smmu, const smmu_stale_report *report, void *cookie);

/* Installs (fn != NULL) or removes (fn == NULL) the instance's sanitizer handler. Errors: EBADF. */
int32_t smmu_set_sanitizer_handler(smmu_t smmu, smmu_sanitizer_handler fn, void *cookie);

/* ---- Faults ----------------------------------------------------------------------------------------- */

#define SMMU_FAULT_TRANSLATION 1u   /* invalid or reserved descriptor, or iova >= 2^ias (level 0) */
#define SMMU_FAULT_PERMISSION 2u    /* the leaf does not grant the access (AP, UXN/PXN) */
#define SMMU_FAULT_ACCESS_FLAG 3u   /* the leaf's AF (bit 10) is clear */
#define SMMU_FAULT_ADDR_SIZE 4u     /* output address beyond 2^oas */
#define SMMU_FAULT_EXTERNAL 5u      /* a walk read outside simulated memory (FSR.EF) */
/* Priority, where one access fails several checks (the ARM ARM's order of the checks on a walk):
 * translation (invalid descriptor, or iova >= 2^ias), then address size (a table or output
 * address >= 2^oas), then access flag, then permission. A leaf beyond oas without AF and without
 * the rights is an address size fault. */

/* Context-bank fault registers (ARM SMMUv2 layout, as Linux's arm-smmu.h names the bits).
 *   FSR:    [31] MULTI | [7] ASF | [4] EF | [3] PF | [2] AFF | [1] TF
 *   FSYNR0: [10] PTWF (S1PTW: stage 2 faulted on a stage-1 table fetch) | [6] IND (instruction) |
 *           [5] PNU (privileged) | [4] WNR (write) | [1:0] PLVL (level, in the stage that faulted)
 *   FAR:    the faulting input address (IOVA; the IPA for a stage-2-only bank)
 *   IPAFAR: the IPA stage 2 was translating (CB_IPAFAR), for a stage-2 fault
 * On SMMUv2 hardware, nesting takes two banks and stage-2 faults land on the stage-2 bank; the
 * model reports both stages on the stream's bank, with the record's `stage` saying which. */
#define SMMU_FSR_TF     (1u << 1)
#define SMMU_FSR_AFF    (1u << 2)
#define SMMU_FSR_PF     (1u << 3)
#define SMMU_FSR_EF     (1u << 4)
#define SMMU_FSR_ASF    (1u << 7)
#define SMMU_FSR_MULTI  (1u << 31)
#define SMMU_FSYNR0_PLVL_MASK 0x3u
#define SMMU_FSYNR0_WNR (1u << 4)
#define SMMU_FSYNR0_PNU (1u << 5)
#define SMMU_FSYNR0_IND (1u << 6)
#define SMMU_FSYNR0_PTWF (1u << 10)

typedef struct smmu_fault {
    uint32_t size;              /* sizeof(smmu_fault) */
    uint32_t type;              /* SMMU_FAULT_TRANSLATION / _PERMISSION / _ACCESS_FLAG / _ADDR_SIZE */
    uint32_t level;             /* walk level that faulted */
    uint32_t stream_id, context_bank, asid, access;
    smmu_domain_t active_domain;/* the tables that faulted (base or dynamic) */
    uint64_t iova;
    uint32_t fsr, fsynr;        /* CB register images */
    /* ---- ABI 1.1 (48 bytes in 1.0: a caller passing that size gets the prefix) ---- */
    uint32_t stage;             /* 1, or 2: a stage-2-only bank, or nesting */
    uint32_t s1ptw;             /* 1: stage 2 faulted while fetching a stage-1 table descriptor */
    uint64_t ipa;               /* the IPA stage 2 was translating (0 for a stage-1 fault) */
} smmu_fault;

/* What a fault handler returns. */
#define SMMU_FAULT_TERMINATE 0   /* the transaction fails with SMMU_EFAULT */
#define SMMU_FAULT_RETRY     1   /* the handler fixed the tables: retry once. If the retry faults
                                    too, that fault is recorded and reported to the handler like any
                                    other, and the transaction fails whatever the handler returns. */

/* Called for every fault on a base domain's context bank, whichever domain (base or dynamic) is
 * active, with `fault` valid for the call only and the cookie given at installation. The handler
 * may call back into the library (read stats, map, unmap, switch, invalidate) but smmu_destroy of
 * this instance fails with EBUSY there, and a fault raised by its own calls is recorded on the
 * bank without calling it again. After it returns, the bank's FSR is cleared (as arm-smmu's
 * interrupt handler does). */
typedef int32_t (*smmu_fault_handler)(smmu_t smmu, smmu_domain_t base_domain,
                                      const smmu_fault *fault, void *cookie);

/* Installs (fn != NULL) or removes (fn == NULL) a domain's fault handler. Faults reach the base
 * domain only (seed constraint 2). Errors: EBADF; EINVAL (a dynamic domain). */
int32_t smmu_set_fault_handler(smmu_t smmu, smmu_domain_t base, smmu_fault_handler fn, void *cookie);

/* The fault recorded on a context bank: without a handler, a fault stays recorded until
 * smmu_clear_fault; later faults only set FSR.MULTI, keeping the first record. out->size: this
 * header's sizeof(smmu_fault) or ABI 1.0's 48 (that prefix is written).
 * Errors: EBADF; EINVAL (NULL, wrong size, no such bank); ENOENT (no fault recorded). */
int32_t smmu_get_fault(smmu_t smmu, uint32_t context_bank, smmu_fault *out);

/* Clears a context bank's FSR/FAR/FSYNR0 (FSR is write-1-to-clear on hardware).
 * Errors: EBADF; EINVAL (no such bank). */
int32_t smmu_clear_fault(smmu_t smmu, uint32_t context_bank);

/* ---- Context banks ---------------------------------------------------------------------------------- */

typedef struct smmu_cb_state {
    uint32_t size;              /* sizeof(smmu_cb_state) */
    uint32_t in_use;            /* 1 while a base domain holds the bank */
    smmu_domain_t base_domain;  /* the owner */
    smmu_domain_t active_domain;/* whose tables TTBR0 points at */
    uint32_t asid;              /* the ASID in TTBR0 */
    uint32_t contextidr;        /* the active domain's SMMU_ATTR_PROCID */
    uint32_t stream_count;      /* stream IDs routed to the bank */
    uint32_t dynamic_count;     /* dynamic domains attached on the bank */
    uint64_t ttbr0;             /* TTBR0 image: table PA in 47:0 (0 while EPD0), ASID in 63:48 (0 when
                                   free or stage-2-only) */
    uint32_t fsr, fsynr0;       /* fault registers */
    uint64_t far;               /* faulting input address */
    /* ---- ABI 1.1 (56 bytes in 1.0: a caller passing that size gets the prefix) ---- */
    uint64_t ttbr1;             /* TTBR1 image of a split bank (the base domain's root and ASID), else 0 */
    uint64_t vttbr;             /* VTTBR image (stage-2 root | VMID << 48) of a stage-2 or nested bank */
    uint64_t ipafar;            /* IPA of a recorded stage-2 fault */
    uint32_t vmid;              /* the bank's VMID, 0 without stage 2 */
    uint32_t flags;             /* SMMU_CB_EPD0 | SMMU_CB_SPLIT | regime << SMMU_CB_REGIME_SHIFT */
    uint32_t granule;           /* stage-1 granule in bytes (stage 2's for a stage-2-only bank); 0 free */
    uint32_t reserved;
} smmu_cb_state;
#define SMMU_CB_EPD0 0x1u        /* TTBR0 walks disabled (a split bank with no process active) */
#define SMMU_CB_SPLIT 0x2u       /* TTBR1 holds the base domain's tables */
#define SMMU_CB_REGIME_SHIFT 4   /* 0 stage 1, 1 stage 2 only, 2 nested */

/* A snapshot of a context bank's registers. out->size: this header's sizeof(smmu_cb_state) or ABI
 * 1.0's 56 (that prefix is written). Errors: EBADF; EINVAL (NULL, wrong size, no such bank). */
int32_t smmu_get_context_bank(smmu_t smmu, uint32_t context_bank, smmu_cb_state *out);

/* ---- Statistics ---------------------------------------------------------------------------------------- */

typedef struct smmu_stats {
    uint32_t size;              /* sizeof(smmu_stats) */
    uint32_t reserved;
    uint64_t translations, tlb_hits, tlb_misses, walks, faults;
    uint64_t tlb_invalidations, tlb_entries_invalidated, switches;
    uint64_t pt_pages_in_use, pt_pages_free;
    /* ---- ABI 1.1 (88 bytes in 1.0: a caller passing that size gets the prefix) ---- */
    uint64_t stage2_walks;      /* walks through stage 2 (a stage-2-only bank's, or nested) */
    uint64_t descriptor_reads;  /* descriptors read by all walks (nested: up to 24 per walk) */
    uint64_t vmid_invalidations;/* VMID-wide invalidations (explicit, stage-2 unmap, VMID freed) */
    uint64_t stale_translations;/* translations the sanitizer reported stale (SMMU_CFG_SANITIZE_TLB) */
    uint64_t missed_syncs;      /* gathers never synced: domain detached or freed with one pending */
    uint64_t needless_invalidations; /* syncs and lazy flushes that found nothing cached (informational) */
} smmu_stats;
/* translations: requested through a stream, faulted ones included. tlb_hits + tlb_misses =
 *   translations + retries after fault handlers, at every moment: a batch counts each run of
 *   translations, and the one that faults, before a handler runs, so a handler sees every translation
 *   so far (the inline path's hits included). walks: one per TLB miss and per iova_to_phys.
 * tlb_invalidations: maintenance operations, explicit or done by unmap, detach and flush-on-switch;
 *   tlb_entries_invalidated: the valid entries they removed.
 * pt_pages_in_use + pt_pages_free = the pool's pages (4 KiB units), always. */

/* Reads the counters; out->size must be sizeof(smmu_stats) or ABI 1.0's 88 (then the first 88 bytes
 * are written). Errors: EBADF, EINVAL (NULL, size). */
int32_t smmu_get_stats(smmu_t smmu, smmu_stats *out);
/* Zeroes the counters (the page counts are state and stay). Errors: EBADF. */
int32_t smmu_reset_stats(smmu_t smmu);

#ifdef __cplusplus
}
#endif

#endif /* SMMU_H */
