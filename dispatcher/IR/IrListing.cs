using System.Text;
using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Optimization;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.IR;

/// <summary>
/// Prints the IR of a piece of machine code: decoded into blocks as the dispatcher would, each
/// block shown as lowered, optimised, or both. Behind <c>drk ir</c> and the listings of docs/ir.md.
/// </summary>
public static class IrListing
{
    /// <summary>
    /// The listing of <paramref name="code"/> placed at <paramref name="rip"/>, lowered for
    /// privilege level <paramref name="cpl"/>. Blocks stop where the code does. Every block is
    /// verified; a fetch fault ends the listing with the fault.
    /// </summary>
    public static string Format(ReadOnlySpan<byte> code, ulong rip, int cpl = 0, IrListingForms forms = IrListingForms.Both)
    {
        ulong start = rip & ~0xfffUL;
        ulong end = rip + (ulong)code.Length;
        var image = new byte[(int)(((end + 0xfff) & ~0xfffUL) - start)];
        code.CopyTo(image.AsSpan((int)(rip - start)));
        var memory = new FlatMemory();
        memory.Map(start, image, writable: false);
        var decoder = new BlockDecoder(memory);
        var lowerer = new Lowerer();
        var optimizer = new Optimizer();
        var text = new StringBuilder();
        for (ulong at = rip; at < end;)
        {
            if (!decoder.TryDecode(at, out var insns, out var fault, BlockDecoder.MaxInstructions, end))
            {
                text.Append($"block {at:x}: {fault}\n");
                break;
            }
            if (forms.HasFlag(IrListingForms.Lowered))
            {
                var block = lowerer.Lower(insns, cpl);
                IrVerifier.ThrowIfInvalid(block, "lowering");
                if (forms == IrListingForms.Both) text.Append("-- as lowered\n");
                text.Append(IrPrinter.Format(block));
            }
            if (forms.HasFlag(IrListingForms.Optimised))
            {
                var block = lowerer.Lower(insns, cpl);
                optimizer.Optimize(block);
                IrVerifier.ThrowIfInvalid(block, "optimisation");
                if (forms == IrListingForms.Both) text.Append("-- optimised\n");
                text.Append(IrPrinter.Format(block));
            }
            at = insns[^1].NextRip;
            if (at < end) text.Append('\n');
        }
        return text.ToString();
    }
}
