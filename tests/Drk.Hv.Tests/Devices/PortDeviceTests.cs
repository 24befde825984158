using System.Text;
using Drk.Hv.Devices;

namespace Drk.Hv.Tests.Devices;

public sealed class PortDeviceTests
{
    [Fact]
    public void UartTransmitsToTheOutputAndReportsAnEmptyTransmitter()
    {
        var output = new MemoryStream();
        var bus = new IoPortBus();
        new Uart16550(output).Attach(bus);
        foreach (var c in "hi\n") bus.Write(0x3F8, 1, c);
        Assert.Equal("hi\n", Encoding.ASCII.GetString(output.ToArray()));
        Assert.Equal(0x60u, bus.Read(0x3FD, 1) & 0x61); // THRE | TEMT, no data
    }

    [Fact]
    public void UartReceivesFromItsInput()
    {
        var bus = new IoPortBus();
        var uart = new Uart16550(null, new MemoryStream(Encoding.ASCII.GetBytes("ok")));
        uart.Attach(bus);
        uart.QueueInput("!"u8);
        var got = new StringBuilder();
        while ((bus.Read(0x3FD, 1) & 1) != 0) got.Append((char)bus.Read(0x3F8, 1));
        Assert.Equal("!ok", got.ToString());
    }

    [Fact]
    public void UartDivisorLatchAndLoopbackBehaveForProbes()
    {
        var output = new MemoryStream();
        var bus = new IoPortBus();
        new Uart16550(output).Attach(bus);
        bus.Write(0x3FB, 1, 0x80);             // DLAB
        bus.Write(0x3F8, 1, 0x03);
        bus.Write(0x3F9, 1, 0x00);
        Assert.Equal(3u, bus.Read(0x3F8, 1));
        bus.Write(0x3FB, 1, 0x03);             // 8N1
        bus.Write(0x3FC, 1, 0x1E);             // loopback, RTS, OUT1, OUT2
        bus.Write(0x3F8, 1, 0xAE);
        Assert.Equal(0xAEu, bus.Read(0x3F8, 1));
        Assert.Equal(0xD0u, bus.Read(0x3FE, 1) & 0xF0); // CTS, RI, DCD mirror RTS, OUT1, OUT2
        Assert.Empty(output.ToArray());
        bus.Write(0x3FF, 1, 0x5A);
        Assert.Equal(0x5Au, bus.Read(0x3FF, 1));
    }

    [Fact]
    public void PicAcceptsTheInitialisationSequenceAndMask()
    {
        var bus = new IoPortBus();
        var pic = new LegacyPic();
        pic.Attach(bus);
        bus.Write(0x20, 1, 0x11); bus.Write(0x21, 1, 0x20); bus.Write(0x21, 1, 0x04); bus.Write(0x21, 1, 0x01);
        bus.Write(0xA0, 1, 0x11); bus.Write(0xA1, 1, 0x28); bus.Write(0xA1, 1, 0x02); bus.Write(0xA1, 1, 0x01);
        bus.Write(0x21, 1, 0xFB);
        bus.Write(0xA1, 1, 0xFF);
        Assert.Equal(0x20, pic.MasterVectorBase);
        Assert.Equal(0x28, pic.SlaveVectorBase);
        Assert.Equal(0xFBu, bus.Read(0x21, 1));
        Assert.Equal(0xFFu, bus.Read(0xA1, 1));
        Assert.Equal(0u, bus.Read(0x20, 1));
    }

    [Fact]
    public void UnknownPortsReadAllOnesAndAreLoggedOnce()
    {
        var log = new UnhandledAccessLog();
        var bus = new IoPortBus(log);
        Assert.Equal(0xFFu, bus.Read(0x70, 1));
        Assert.Equal(0xFFFF_FFFFu, bus.Read(0x70, 4));
        bus.Write(0x71, 1, 0);
        bus.Write(0x71, 1, 0);
        Assert.Equal(2, log.Entries.Count);
        Assert.Contains("port read at 70", log.Entries[0]);
    }

    [Fact]
    public void DebugExitRecordsTheFirstStatus()
    {
        var stop = new MachineStop();
        var device = new IsaDebugExit(stop);
        device.Write(0xF4, 1, 3);
        device.Write(0xF4, 1, 4);
        Assert.True(stop.IsRequested);
        Assert.Equal(3, stop.ExitStatus);
    }
}
