namespace Smmu.Core;

/// <summary>
/// Result codes shared by the managed API and the C ABI: 0 for success, otherwise a negative
/// errno number (<c>SMMU_E*</c> in <c>smmu.h</c>). Every call that fails leaves the model unchanged.
/// </summary>
public static class SmmuError
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>EPERM: the operation is not allowed (a read-only attribute, a protected descriptor bit).</summary>
    public const int NotPermitted = -1;
    /// <summary>ENOENT: nothing there (no mapping at an IOVA, no fault recorded).</summary>
    public const int NoEntry = -2;
    /// <summary>EIO: an internal error; never expected, reported instead of crashing the host.</summary>
    public const int Internal = -5;
    /// <summary>EBADF: a freed, forged, zero or wrong-kind handle.</summary>
    public const int BadHandle = -9;
    /// <summary>ENOMEM: the page-table pool (or the host) is out of memory.</summary>
    public const int NoMemory = -12;
    /// <summary>EFAULT: the translation faulted (see the context bank's fault record).</summary>
    public const int Fault = -14;
    /// <summary>EBUSY: the object is in use (attached, has dynamic domains, inside a fault handler).</summary>
    public const int Busy = -16;
    /// <summary>EEXIST: the range overlaps an existing mapping.</summary>
    public const int Exists = -17;
    /// <summary>ENODEV: not attached, or no context bank / base domain to attach to.</summary>
    public const int NoDevice = -19;
    /// <summary>EINVAL: an argument is malformed (misaligned, out of its range, wrong size, NULL).</summary>
    public const int Invalid = -22;
    /// <summary>ENOSPC: no free ASID or context bank is left.</summary>
    public const int NoSpace = -28;
    /// <summary>ERANGE: an address range lies beyond the input (ias) or output (oas) address size.</summary>
    public const int Range = -34;

    /// <summary>A short, static description of a result code.</summary>
    public static string Describe(int code) => System.Text.Encoding.UTF8.GetString(DescribeUtf8(code));

    /// <summary>
    /// The same description as NUL-terminated UTF-8 in the image's read-only data (C# u8 literals are
    /// stored with a trailing NUL), so the C ABI can hand out the pointer as a static string.
    /// </summary>
    public static ReadOnlySpan<byte> DescribeUtf8(int code) => code switch
    {
        Ok => "success"u8,
        NotPermitted => "operation not permitted"u8,
        NoEntry => "no such entry"u8,
        Internal => "internal error"u8,
        BadHandle => "bad or stale handle"u8,
        NoMemory => "out of page-table memory"u8,
        Fault => "translation fault"u8,
        Busy => "resource busy"u8,
        Exists => "mapping exists"u8,
        NoDevice => "not attached"u8,
        Invalid => "invalid argument"u8,
        NoSpace => "no free ASID or context bank"u8,
        Range => "address out of range"u8,
        _ => "unknown error"u8,
    };
}
