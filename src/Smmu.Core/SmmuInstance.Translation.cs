using Smmu.Core.Translation;

namespace Smmu.Core;

/// <summary>
/// smmu.h "Translation": switching a context bank between domains, and translating transactions.
/// The way a translation travels is in <see cref="KernelTranslator{TKernel}"/>.
/// </summary>
public sealed partial class SmmuInstance
{
    /// <summary>
    /// Points the domain's context bank at the domain's tables and ASID (the seed's use_domain; on
    /// hardware, a TTBR0 write). With ASID tagging the TLB is untouched; with
    /// <see cref="SmmuConfigFlags.NoAsidTagging"/> the outgoing ASID's entries are invalidated.
    /// Errors: BadHandle; NoDevice (not attached).
    /// </summary>
    public int SwitchDomain(DomainHandle domain)
    {
        ThrowIfDisposed();
        if (!_domains.TryResolve(domain, out int index))
            return SmmuError.BadHandle;
        return _attachments.Switch(index, domain);
    }

    /// <summary>
    /// Translates one transaction from a device. Errors: Invalid (stream ID out of range, no access kind
    /// or unknown access bits); NoDevice (stream not attached); Fault (the translation faulted: the
    /// record is on the context bank, see <see cref="GetFault"/>, and went to the base domain's handler).
    /// </summary>
    public int Translate(uint streamId, ulong iova, SmmuAccess access, out ulong pa)
    {
        ThrowIfDisposed();
        return _translator.Translate(streamId, iova, access, out pa);
    }

    /// <summary>
    /// Translates <paramref name="iovas"/> in order into <paramref name="pas"/>, stopping at the first that
    /// fails. <paramref name="done"/> is how many were translated; the return code is that of the one at
    /// index <paramref name="done"/> (Ok when all were). Errors as <see cref="Translate"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="pas"/> is shorter than <paramref name="iovas"/>.</exception>
    public int TranslateBatch(uint streamId, ReadOnlySpan<ulong> iovas, Span<ulong> pas, SmmuAccess access, out int done)
    {
        ThrowIfDisposed();
        if (pas.Length < iovas.Length)
            throw new ArgumentException("the output span is shorter than the input span", nameof(pas));
        return _translator.TranslateBatch(streamId, iovas, pas, access, out done);
    }
}
