/*
 * check.h - a tiny test helper for the C drivers of libsmmu (C99, header only).
 *
 *   CHECK(cond, fmt, ...)   counts a check; on failure prints file:line, the condition and the
 *                           formatted message (name each check so the message says what broke).
 *   CHECK_RC(expected, call) evaluates call once (int32_t or int64_t), counts a check, and on a
 *                           mismatch prints both codes with smmu_strerror. Evaluates to 1 if equal.
 *   check_summary(driver)   prints exactly one final line "N passed, M failed" and returns the
 *                           exit code: 0 iff M == 0.
 *
 * Counters are plain ints: use the macros from one thread (threads.c counts per thread itself).
 */
#ifndef SMMU_CHECK_H
#define SMMU_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "smmu.h"

#if defined(__GNUC__)
#define CHECK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CHECK_UNUSED __attribute__((unused))
#else
#define CHECK_PRINTF(f, a)
#define CHECK_UNUSED
#endif

static int check_passed CHECK_UNUSED;
static int check_failed CHECK_UNUSED;

static inline int check_result(int ok, const char *file, int line, const char *cond, const char *fmt, ...)
    CHECK_PRINTF(5, 6);

static inline int check_result(int ok, const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list args;
    if (ok) {
        check_passed++;
        return 1;
    }
    check_failed++;
    fprintf(stdout, "FAIL %s:%d: ", file, line);
    va_start(args, fmt);
    vfprintf(stdout, fmt, args);
    va_end(args);
    fprintf(stdout, "  [%s]\n", cond);
    fflush(stdout);
    return 0;
}

static inline int check_rc(int64_t expected, int64_t got, const char *call, const char *file, int line)
{
    if (expected == got) {
        check_passed++;
        return 1;
    }
    check_failed++;
    fprintf(stdout, "FAIL %s:%d: %s: expected %lld (%s), got %lld (%s)\n", file, line, call,
            (long long)expected, smmu_strerror((int32_t)expected),
            (long long)got, got < INT32_MIN || got > INT32_MAX ? "out of int32 range" : smmu_strerror((int32_t)got));
    fflush(stdout);
    return 0;
}

#define CHECK(cond, ...) check_result(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_RC(expected, call) check_rc((int64_t)(expected), (int64_t)(call), #call, __FILE__, __LINE__)

/* Prints the one final line and returns the exit code. */
static inline int check_summary(const char *driver)
{
    if (check_failed > 0)
        fprintf(stdout, "%s: %d check(s) failed\n", driver, check_failed);
    fprintf(stdout, "%d passed, %d failed\n", check_passed, check_failed);
    fflush(stdout);
    return check_failed == 0 ? 0 : 1;
}

/* ---- small helpers shared by the drivers -------------------------------------------------- */

/* In a void test function: a setup step that must succeed, or the test stops there. */
#define TRY_OK(call)                                                                                  \
    do {                                                                                              \
        if (!CHECK_RC(0, (call)))                                                                     \
            return;                                                                                   \
    } while (0)

static inline smmu_stats stats_of(smmu_t smmu)
{
    smmu_stats s;
    s.size = sizeof s;
    if (smmu_get_stats(smmu, &s) != SMMU_OK) {
        check_result(0, __FILE__, __LINE__, "smmu_get_stats", "stats_of(0x%08x): smmu_get_stats failed", smmu);
        s.translations = s.tlb_hits = s.tlb_misses = s.walks = s.faults = 0;
        s.tlb_invalidations = s.tlb_entries_invalidated = s.switches = 0;
        s.pt_pages_in_use = s.pt_pages_free = UINT64_MAX;
    }
    return s;
}

static inline smmu_cb_state cb_of(smmu_t smmu, uint32_t cb)
{
    smmu_cb_state s;
    s.size = sizeof s;
    if (smmu_get_context_bank(smmu, cb, &s) != SMMU_OK) {
        check_result(0, __FILE__, __LINE__, "smmu_get_context_bank", "cb_of(0x%08x, %u) failed", smmu, cb);
        s.in_use = UINT32_MAX;
    }
    return s;
}

static inline smmu_t make_smmu(const smmu_config *cfg)
{
    smmu_t s = 0;
    int32_t rc = smmu_create(cfg, &s);
    if (rc != SMMU_OK)
        check_result(0, __FILE__, __LINE__, "smmu_create", "make_smmu: smmu_create -> %d (%s)", rc, smmu_strerror(rc));
    return s;
}

static inline smmu_domain_t make_domain(smmu_t smmu)
{
    smmu_domain_t d = 0;
    int32_t rc = smmu_domain_alloc(smmu, &d);
    if (rc != SMMU_OK)
        check_result(0, __FILE__, __LINE__, "smmu_domain_alloc", "make_domain: -> %d (%s)", rc, smmu_strerror(rc));
    return d;
}

static inline uint32_t attr_u32(smmu_t smmu, smmu_domain_t d, uint32_t attr)
{
    uint32_t v = UINT32_MAX;
    int32_t rc = smmu_domain_get_attr(smmu, d, attr, &v, sizeof v);
    if (rc != SMMU_OK)
        check_result(0, __FILE__, __LINE__, "smmu_domain_get_attr", "attr_u32(attr %u) -> %d (%s)", attr, rc,
                     smmu_strerror(rc));
    return v;
}

static inline uint64_t attr_ttbr0(smmu_t smmu, smmu_domain_t d)
{
    uint64_t v = UINT64_MAX;
    int32_t rc = smmu_domain_get_attr(smmu, d, SMMU_ATTR_TTBR0, &v, sizeof v);
    if (rc != SMMU_OK)
        check_result(0, __FILE__, __LINE__, "smmu_domain_get_attr", "attr_ttbr0 -> %d (%s)", rc, smmu_strerror(rc));
    return v;
}

/* Makes d a dynamic domain on context bank cb (DYNAMIC = 1, CONTEXT_BANK = cb); returns the rc. */
static inline int32_t make_dynamic(smmu_t smmu, smmu_domain_t d, uint32_t cb)
{
    int32_t one = 1;
    int32_t rc = smmu_domain_set_attr(smmu, d, SMMU_ATTR_DYNAMIC, &one, sizeof one);
    if (rc != SMMU_OK)
        return rc;
    return smmu_domain_set_attr(smmu, d, SMMU_ATTR_CONTEXT_BANK, &cb, sizeof cb);
}

/* smmu_translate returning the PA, or ~0 with *rc set on failure. */
static inline uint64_t xlate(smmu_t smmu, uint32_t sid, uint64_t iova, uint32_t access, int32_t *rc)
{
    uint64_t pa = ~(uint64_t)0;
    int32_t r = smmu_translate(smmu, sid, iova, access, &pa);
    if (rc)
        *rc = r;
    return r == SMMU_OK ? pa : ~(uint64_t)0;
}

#endif /* SMMU_CHECK_H */
