namespace Smmu.Core.Translation;

/// <summary>The leaf a walk found: its output address (aligned to its size), its level, and what it grants.</summary>
internal readonly record struct WalkLeaf(ulong OutputBase, int Level, AccessRights Rights);
