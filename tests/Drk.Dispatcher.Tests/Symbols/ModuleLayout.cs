using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>Section load addresses for a module object, chosen by the tests the way the kernel's loader fills section_addrs.</summary>
internal static class ModuleLayout
{
    /// <summary>
    /// Places every non-empty allocated section, last section first (so the order in memory differs
    /// from the order in the file), 256-byte aligned with a 256-byte gap, from <paramref name="start"/>; 0 for the rest.
    /// </summary>
    public static ulong[] Place(ElfImage image, ulong start)
    {
        var addresses = new ulong[image.Sections.Count];
        var next = start;
        for (var i = image.Sections.Count - 1; i > 0; i--)
        {
            var section = image.Sections[i];
            if (!section.IsAllocated || section.Size == 0)
                continue;
            addresses[i] = next;
            next = (next + section.Size + 0x1ff) & ~0xffUL;
        }
        return addresses;
    }

    /// <summary>The first section called <paramref name="name"/>.</summary>
    public static int SectionIndex(ElfImage image, string name) =>
        image.FindSection(name)?.Index ?? throw new InvalidOperationException($"no section {name}");
}
