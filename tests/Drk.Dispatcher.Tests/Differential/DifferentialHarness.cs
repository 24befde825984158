using System.Globalization;
using System.Text;
using Drk.Dispatcher.Tests.Native;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// Runs instruction forms case by case on the host CPU and through decode -> lower -> interpret,
/// and compares all 16 GPRs, the end RIP, the defined RFLAGS bits (CF PF AF ZF SF OF DF minus
/// what the instructions leave undefined) and the whole scratch area.
/// </summary>
/// <remarks>
/// <para>One harness serves the whole test process (<see cref="HostCpu.Shared"/>, one interpreter
/// memory); test classes run in parallel, so runs are serialised by the host's gate.</para>
/// <para>Seeding: the run seed is <c>DRK_DIFF_SEED</c> (hex or decimal, default
/// <see cref="DefaultSeed"/>); each form derives its own seed from the run seed and its name,
/// and each case from the form seed and its number, so a failure reproduces with the same seed
/// whatever else runs. <c>DRK_DIFF_CASES</c> overrides the number of cases per form.</para>
/// </remarks>
public sealed class DifferentialHarness
{
    public const ulong DefaultSeed = 0xD1FF_5EED;
    public const int DefaultCases = 200;

    private static readonly Lazy<DifferentialHarness> SharedInstance = new(() => new DifferentialHarness());

    private readonly HostCpu _host;
    private readonly InterpretedCpu _interpreter;
    private readonly CaseBuilder _builder;
    private readonly byte[] _baseScratch = new byte[TestMachineLayout.ScratchSize];
    private readonly CpuRegisters _native = new();
    private readonly CpuRegisters _interpreted = new();

    private DifferentialHarness()
    {
        _host = HostCpu.Shared;
        _interpreter = new InterpretedCpu(_host.Layout);
        _builder = new CaseBuilder(_host.Layout);
    }

    /// <summary>The process-wide harness (created on first use; needs an x86-64 Linux host).</summary>
    public static DifferentialHarness Shared => SharedInstance.Value;

    public TestMachineLayout Layout => _host.Layout;

    /// <summary>The run seed: <c>DRK_DIFF_SEED</c> or <see cref="DefaultSeed"/>.</summary>
    public static ulong Seed { get; } = ParseEnvironment("DRK_DIFF_SEED", DefaultSeed);

    /// <summary>Cases per form: <c>DRK_DIFF_CASES</c> or <see cref="DefaultCases"/>.</summary>
    public static int Cases { get; } = (int)ParseEnvironment("DRK_DIFF_CASES", DefaultCases);

    private static ulong ParseEnvironment(string name, ulong fallback)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return ulong.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>Skips the calling test visibly unless the host can run the form natively.</summary>
    public static void SkipUnlessRunnable(InstructionForm form)
    {
        Skip.IfNot(HostPlatform.IsX64Linux, HostPlatform.SkipReason);
        Skip.IfNot(HostPlatform.Supports(form.Requires), $"host CPU lacks {form.Requires} needed by {form.Name}");
    }

    /// <summary>Runs <paramref name="cases"/> random cases of <paramref name="form"/> and asserts that none differs.</summary>
    public static void Check(InstructionForm form, int cases = -1)
    {
        SkipUnlessRunnable(form);
        var result = Shared.Run(form, cases < 0 ? Cases * form.CaseMultiplier : cases, Seed);
        if (result.Failures > 0) Assert.Fail(result.Message);
    }

    /// <summary>Runs the cases of a form; never throws for a differing case (it is counted and the first one reported).</summary>
    public FormResult Run(InstructionForm form, int cases, ulong seed)
    {
        lock (_host.Gate)
        {
            ulong formSeed = Mix(seed ^ Fnv1a(form.Name));
            new Random((int)formSeed).NextBytes(_baseScratch);
            int failures = 0;
            string? first = null;
            for (int c = 0; c < cases; c++)
            {
                var rng = new Random((int)Mix(formSeed + (ulong)c));
                // Only the first differing case is reported in full; the others are counted.
                if (RunCase(form, c, cases, seed, rng, first == null, out string? report)) continue;
                failures++;
                first ??= report;
            }
            return new FormResult(form.Name, seed, cases, failures, first);
        }
    }

    /// <summary>Runs one case; true when both sides agree. <paramref name="report"/> is filled for a differing case when <paramref name="wantReport"/>.</summary>
    private bool RunCase(InstructionForm form, int number, int cases, ulong seed, Random rng, bool wantReport, out string? report)
    {
        report = null;
        var b = _builder;
        b.Start(rng, _baseScratch);
        try
        {
            form.Build(b);
            if (b.Bytes.Length == 0) b.Finish();
        }
        catch (Exception ex)
        {
            report = $"form '{form.Name}', case {number}: the case generator failed (a test bug): {ex}";
            return false;
        }

        var code = b.Bytes;
        var listing = CodeListing.Decode(code, Layout.CodeAddress);

        _native.CopyFrom(b.Regs);
        b.Scratch.AsSpan().CopyTo(_host.Scratch);
        var nativeFault = _host.Run(code, _native);
        if (!nativeFault.None)
        {
            report = $"form '{form.Name}', case {number} of {cases}, seed 0x{seed:x}: the case faulted on the host CPU: {nativeFault}.\n" +
                "Generators must not make cases that fault natively (test those through the interpreter only). Code:\n" +
                CodeListing.Format(listing, code, Layout.CodeAddress) + "initial state:\n" + Indent(b.Regs.ToString());
            return false;
        }

        _interpreted.CopyFrom(b.Regs);
        b.Scratch.AsSpan().CopyTo(_interpreter.Scratch);
        var outcome = _interpreter.Run(code, _interpreted, b.FsBase, b.GsBase);

        ulong undefined = CodeListing.UndefinedFlags(listing) | b.UndefinedFlags;
        ulong compared = CpuRegisters.ComparableFlags & ~undefined;
        if (!wantReport) return Agree(outcome, compared, b.GprDontCare);

        var diff = new StringBuilder();
        if (!outcome.Completed)
            diff.Append($"  the interpreter did not reach the end of the code ({Layout.EpilogueAddress:x}): {outcome}\n");
        if (outcome.HostException != null)
            diff.Append($"  {outcome.HostException}\n");
        if (outcome.FlagsException != null)
            diff.Append($"  computing RFLAGS from the final thunk threw {outcome.FlagsException.GetType().Name}: {outcome.FlagsException.Message}\n");
        for (int i = 0; i < 16; i++)
        {
            ulong care = ~b.GprDontCare[i];
            if (((_native.Gpr[i] ^ _interpreted.Gpr[i]) & care) != 0)
                diff.Append($"  {CpuRegisters.Name(i)}: expected 0x{_native.Gpr[i]:x16}, actual 0x{_interpreted.Gpr[i]:x16}" +
                    (care != ulong.MaxValue ? $" (compared bits 0x{care:x})" : "") + "\n");
        }
        foreach (var (bit, name) in CpuRegisters.FlagBits)
        {
            if ((compared & bit) == 0) continue;
            if (((_native.Rflags ^ _interpreted.Rflags) & bit) != 0)
                diff.Append($"  {name}: expected {((_native.Rflags & bit) != 0 ? 1 : 0)}, actual {((_interpreted.Rflags & bit) != 0 ? 1 : 0)}\n");
        }
        AppendMemoryDifferences(diff, _host.Scratch, _interpreter.Scratch);
        if (diff.Length == 0) return true;

        var sb = new StringBuilder();
        sb.Append($"form '{form.Name}', case {number} of {cases}, seed 0x{seed:x}\n");
        if (b.Note != null) sb.Append($"note: {b.Note}\n");
        sb.Append($"code at {Layout.CodeAddress:x} (scratch at {Layout.ScratchAddress:x}, {TestMachineLayout.ScratchSize / 1024} KiB):\n");
        sb.Append(CodeListing.Format(listing, code, Layout.CodeAddress));
        sb.Append("initial state:\n");
        sb.Append(Indent(b.Regs.ToString()));
        if (listing.Count > 0)
        {
            var memory = CodeListing.MemoryOperands(listing[0], b.Regs, b);
            if (memory.Length > 0) sb.Append("memory operands of the first instruction:\n").Append(memory);
        }
        sb.Append($"compared flags: {CpuRegisters.FlagNames(compared)}; undefined: {CpuRegisters.FlagNames(undefined & CpuRegisters.ComparableFlags)}\n");
        sb.Append($"interpreter: {outcome}\n");
        sb.Append("differences (expected = host CPU, actual = interpreter):\n");
        sb.Append(diff);
        sb.Append("final state on the host CPU:\n").Append(Indent(_native.ToString()));
        sb.Append("IR:\n").Append(_interpreter.IrReport(Layout.CodeAddress, Layout.CodeAddress + (ulong)code.Length));
        report = sb.ToString();
        return false;
    }

    /// <summary>The comparison of <see cref="RunCase"/> without building any text.</summary>
    private bool Agree(InterpretedOutcome outcome, ulong comparedFlags, ulong[] dontCare)
    {
        if (!outcome.Completed || outcome.FlagsException != null) return false;
        for (int i = 0; i < 16; i++)
            if (((_native.Gpr[i] ^ _interpreted.Gpr[i]) & ~dontCare[i]) != 0) return false;
        if (((_native.Rflags ^ _interpreted.Rflags) & comparedFlags) != 0) return false;
        return _host.Scratch.SequenceEqual(_interpreter.Scratch);
    }

    private void AppendMemoryDifferences(StringBuilder diff, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        if (expected.SequenceEqual(actual)) return;
        int shown = 0, differing = 0;
        for (int o = 0; o < expected.Length; o += 8)
        {
            var e = expected.Slice(o, 8);
            var a = actual.Slice(o, 8);
            if (e.SequenceEqual(a)) continue;
            differing++;
            if (shown++ >= 12) continue;
            diff.Append($"  memory {Layout.ScratchAddress + (ulong)o:x} (scratch+0x{o:x}): expected {Convert.ToHexString(e).ToLowerInvariant()}, actual {Convert.ToHexString(a).ToLowerInvariant()} (bytes in address order)\n");
        }
        if (differing > 12) diff.Append($"  ... {differing - 12} more differing 8-byte chunks\n");
    }

    private static string Indent(string text)
    {
        var sb = new StringBuilder();
        foreach (var line in text.Split('\n')) sb.Append("  ").Append(line).Append('\n');
        return sb.ToString();
    }

    /// <summary>FNV-1a: a stable hash of a form name (string.GetHashCode is randomised per process).</summary>
    public static ulong Fnv1a(string text)
    {
        ulong h = 0xcbf29ce484222325;
        foreach (char ch in text)
        {
            h ^= ch;
            h *= 0x100000001b3;
        }
        return h;
    }

    /// <summary>SplitMix64's finaliser: spreads seeds so neighbouring case numbers give unrelated streams.</summary>
    public static ulong Mix(ulong x)
    {
        x ^= x >> 30; x *= 0xbf58476d1ce4e5b9;
        x ^= x >> 27; x *= 0x94d049bb133111eb;
        return x ^ (x >> 31);
    }
}
