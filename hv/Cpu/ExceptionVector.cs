namespace Drk.Hv.Cpu;

/// <summary>The x86 exception vectors the execution core and the hypervisor raise.</summary>
public enum ExceptionVector : byte
{
    DivideError = 0,        // #DE
    Debug = 1,              // #DB
    Nmi = 2,
    Breakpoint = 3,         // #BP (INT3)
    Overflow = 4,           // #OF
    BoundRange = 5,         // #BR
    InvalidOpcode = 6,      // #UD
    DeviceNotAvailable = 7, // #NM
    DoubleFault = 8,        // #DF
    InvalidTss = 10,        // #TS
    SegmentNotPresent = 11, // #NP
    StackFault = 12,        // #SS
    GeneralProtection = 13, // #GP
    PageFault = 14,         // #PF
    X87Fault = 16,          // #MF
    AlignmentCheck = 17,    // #AC
    MachineCheck = 18,      // #MC
    SimdFault = 19,         // #XM
}
