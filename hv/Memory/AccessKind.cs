namespace Drk.Hv.Memory;

/// <summary>Why memory is being accessed; decides which permission bits a translation checks.</summary>
public enum AccessKind : byte
{
    Read = 0,
    Write = 1,
    Execute = 2,
}
