namespace Drk.Hv.Cpu;

/// <summary>Segment registers in Iced's (and the ModRM sreg field's) order, as <see cref="SystemOp.WriteSegment"/> names them.</summary>
public enum SegmentRegister : byte
{
    Es = 0,
    Cs = 1,
    Ss = 2,
    Ds = 3,
    Fs = 4,
    Gs = 5,
}
