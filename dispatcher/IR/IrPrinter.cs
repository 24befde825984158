using System.Text;
using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.IR;

/// <summary>
/// Renders IR as text, one op per line, with each guest instruction shown as a comment above
/// the ops it became (like VEX's ppIRSB). Used by <c>drk run --dump-ir</c> and test failures.
/// </summary>
public static class IrPrinter
{
    /// <summary>The whole block.</summary>
    public static string Format(IrBlock block)
    {
        var sb = new StringBuilder();
        var formatter = new IntelFormatter();
        var output = new StringOutput();
        sb.Append($"block {block.StartRip:x} ({block.Instructions.Length} instructions, {block.Count} ops, {block.TempCount} temps)\n");
        int lastGuest = -1;
        foreach (ref readonly var op in block.Ops)
        {
            if (op.Guest != lastGuest && op.Guest < block.Instructions.Length)
            {
                lastGuest = op.Guest;
                var insn = block.Instructions[op.Guest].Instruction;
                formatter.Format(insn, output);
                sb.Append($"  ; {insn.IP:x}  {output.ToStringAndReset()}\n");
            }
            sb.Append("    ").Append(op.IsMeta ? "meta " : "").Append(FormatOp(op)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>One op, e.g. <c>t3:i32 = Add t1, t2</c>.</summary>
    public static string FormatOp(in IrOp op)
    {
        string dst = op.Dst == IrOp.None ? "" : $"t{op.Dst}:{IrTypes.Name(op.Type)} = ";
        string args = Operands(op);
        string detail = op.Code switch
        {
            IrOpcode.Const => $"0x{op.Imm:x}",
            IrOpcode.GetReg => GuestReg.Name(op.Aux),
            IrOpcode.PutReg => $"{GuestReg.Name(op.Aux)}, {args}",
            IrOpcode.Store => $"{IrTypes.Name(op.Type)} [{T(op.A)}], {T(op.B)}",
            IrOpcode.Load => $"[{args}]",
            IrOpcode.CondFromFlags => $"{(Condition)op.Aux}, {args}",
            IrOpcode.ExitIf => $"{args} -> 0x{op.Imm:x}",
            IrOpcode.Exit => $"0x{op.Imm:x}",
            IrOpcode.ExitIndirect => $"{(IndirectKind)op.Aux} {args}",
            IrOpcode.Raise => $"{(ExceptionVector)op.Aux}" + ((op.Imm >> 32) != 0 ? $" err=0x{(uint)op.Imm:x}" : ""),
            IrOpcode.RaiseIf => $"{args} -> {(ExceptionVector)op.Aux}" + ((op.Imm >> 32) != 0 ? $" err=0x{(uint)op.Imm:x}" : ""),
            IrOpcode.SoftInt => $"0x{op.Aux:x} next=0x{op.Imm:x}",
            IrOpcode.System => $"{(SystemOp)op.Aux}" + (args.Length > 0 ? ", " + args : ""),
            IrOpcode.CounterAdd => $"counter#{op.Imm}, {args}",
            IrOpcode.CleanCall => $"#{op.Imm}" + (args.Length > 0 ? ", " + args : ""),
            IrOpcode.Meta => $"#{op.Aux}" + (args.Length > 0 ? ", " + args : "") + $" imm=0x{op.Imm:x}",
            _ => args,
        };
        return detail.Length == 0 ? dst + op.Code : $"{dst}{op.Code} {detail}";
    }

    private static string Operands(in IrOp op)
    {
        var sb = new StringBuilder();
        foreach (var t in new[] { op.A, op.B, op.C, op.D })
        {
            if (t == IrOp.None) continue;
            if (sb.Length > 0) sb.Append(", ");
            sb.Append(T(t));
        }
        return sb.ToString();
    }

    private static string T(ushort t) => t == IrOp.None ? "_" : $"t{t}";
}
