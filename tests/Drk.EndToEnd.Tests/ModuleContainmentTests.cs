using System.Globalization;
using Drk.Guest.Tests;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Containment with the real guest kernel: a module whose init makes seeded wild writes (into the
/// live page tables through the direct map, kernel data, anywhere) and then runs random bytes as
/// kernel code. Every run must end as the guest's doing (an oops and status 2, a triple fault, a
/// deadlock, a fault loop, the instruction budget), never as a Drk internal error.
/// </summary>
public sealed class ModuleContainmentTests(ITestOutputHelper output)
{
    private const int Cases = 12;
    private const ulong DirectMap = 0xffff_8000_0000_0000;
    private static readonly int[] GuestOutcomes = [0, 1, 2, 80, 81, 82, 85];

    [SkippableFact]
    public async Task Garbage_modules_end_in_guest_level_outcomes()
    {
        var build = GuestPrerequisites.RequireBuild();
        var (dataStart, dataSize) = KernelData(build.KernelPath);
        var runs = new List<Task<(int Seed, ProcessResult Result)>>();
        for (int seed = 1; seed <= Cases; seed++)
        {
            int s = seed;
            var initrd = TestElf.WriteTemporary(TestModule.Initrd(("garbage", TestModule.Object(Code(new Random(s), dataStart, dataSize)))), $"garbage{s}.cpio");
            runs.Add(Task.Run(async () => (s, await DrkCli.RunAsync(
                ["run", build.KernelPath, "--initrd", initrd, "--append", "modules=garbage", "--max-instructions", "40000000",
                 "--smp", (1 + s % 2).ToString(CultureInfo.InvariantCulture)]))));
        }
        var failures = new List<string>();
        foreach (var (seed, r) in await Task.WhenAll(runs))
        {
            var lines = r.StandardOutput.Split('\n');
            output.WriteLine($"seed {seed}: exit {r.ExitCode} {string.Join(" | ", lines.Where(l => l.StartsWith("OOPS", StringComparison.Ordinal) || l.StartsWith("RIP", StringComparison.Ordinal)))}");
            if (r.TimedOut || Array.IndexOf(GuestOutcomes, r.ExitCode) < 0 || r.StandardError.Contains("   at ", StringComparison.Ordinal))
                failures.Add($"seed {seed}:\n{DrkCli.Describe(r)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>The kernel's writable segment (data and bss): its virtual address and size, from the ELF program headers.</summary>
    private static (ulong Start, ulong Size) KernelData(string kernel)
    {
        var image = File.ReadAllBytes(kernel).AsSpan();
        ulong phoff = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(image[32..]);
        int count = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(image[56..]);
        for (int i = 0; i < count; i++)
        {
            var ph = image.Slice((int)phoff + i * 56, 56);
            uint type = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(ph);
            uint flags = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]);
            ulong vaddr = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(ph[16..]);
            ulong size = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(ph[40..]);
            if (type == 1 && (flags & 2) != 0 && vaddr >= 0xffff_ffff_8000_0000) return (vaddr, size);
        }
        throw new InvalidOperationException($"{kernel} has no writable kernel segment");
    }

    /// <summary>init_module: wild writes, sometimes a CR3 reload, then 2 KiB of random bytes, which execution falls into.</summary>
    private static byte[] Code(Random random, ulong dataStart, ulong dataSize)
    {
        var garbage = new byte[2048];
        random.NextBytes(garbage);
        int writes = random.Next(0, 8);
        var kinds = new int[writes];
        var offsets = new ulong[writes];
        var values = new ulong[writes];
        for (int i = 0; i < writes; i++)
        {
            // Mostly writes that do not fault at once, so the corruption and the garbage get to run.
            kinds[i] = random.Next(10) switch { < 3 => 0, < 7 => 1, < 9 => 2, _ => 3 };
            offsets[i] = kinds[i] switch
            {
                0 => (ulong)random.Next(512) * 8,                                   // an entry of the live PML4
                1 => (ulong)random.NextInt64(256L << 20) & ~7UL,                   // RAM through the direct map
                2 => (ulong)random.NextInt64((long)dataSize) & ~7UL,               // the kernel's data and bss
                _ => (ulong)random.NextInt64() & ~7UL,                             // anywhere, canonical or not
            };
            values[i] = random.Next(3) == 0 ? (ulong)random.Next(256) : (ulong)random.NextInt64();
        }
        bool reload = random.Next(2) == 0;
        var prologue = TestElf.Assemble(a =>
        {
            for (int i = 0; i < writes; i++)
            {
                switch (kinds[i])
                {
                    case 0:
                        a.mov(rax, cr3);
                        a.and(rax, -4096);
                        a.mov(rdx, DirectMap + offsets[i]);
                        a.add(rax, rdx);
                        break;
                    case 1:
                        a.mov(rax, DirectMap + offsets[i]);
                        break;
                    case 2:
                        a.mov(rax, dataStart + offsets[i]);
                        break;
                    default:
                        a.mov(rax, offsets[i]);
                        break;
                }
                a.mov(rcx, values[i]);
                a.mov(__qword_ptr[rax], rcx);
            }
            if (reload)
            {
                a.mov(rax, cr3);
                a.mov(cr3, rax);
            }
        }, 0);
        // The random bytes follow the prologue: execution falls into them.
        return [.. prologue, .. garbage];
    }
}
