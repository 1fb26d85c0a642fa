using System.Runtime.CompilerServices;

namespace Smmu.Core.Translation;

/// <summary>
/// What a leaf descriptor grants, decoded once at walk time and cached in the TLB, so that a
/// permission check is one AND: privileged rights in bits [2:0], unprivileged in [5:3], each
/// ordered read, write, execute like <see cref="SmmuAccess"/>.
/// </summary>
[Flags]
internal enum AccessRights : byte
{
    None = 0,
    PrivRead = 1 << 0,
    PrivWrite = 1 << 1,
    PrivExec = 1 << 2,
    UserRead = 1 << 3,
    UserWrite = 1 << 4,
    UserExec = 1 << 5,
}

internal static class AccessRightsExtensions
{
    private const int UserShift = 3;
    private const uint KindMask = (uint)(SmmuAccess.Read | SmmuAccess.Write | SmmuAccess.Exec);

    /// <summary>The rights an access needs: its read/write/exec bits, in the privileged or unprivileged group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AccessRights Required(SmmuAccess access)
    {
        uint kinds = (uint)access & KindMask;
        return (AccessRights)((access & SmmuAccess.Priv) != 0 ? kinds : kinds << UserShift);
    }

    /// <summary>True when <paramref name="access"/> names at least one kind and no unknown bit.</summary>
    public static bool IsValid(SmmuAccess access) =>
        (access & ~SmmuAccess.All) == 0 && ((uint)access & KindMask) != 0;
}
