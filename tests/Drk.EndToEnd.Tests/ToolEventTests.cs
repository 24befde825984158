using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Symbols;
using Drk.Dispatcher.Tools;
using Drk.Hv;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// The tool API's events on the real guest's <c>selftest</c> (which loads, refuses and unloads
/// modules, makes system calls and takes interrupts and exceptions): module events describe
/// each module as the initrd holds it, kernel entries come with the right kinds, the scope
/// decides which blocks passes see, a wrapped kernel function sees every call return, and the
/// events are the same on every tier and scope.
/// </summary>
public sealed class ToolEventTests(RecordedSelftestRuns fixture) : IClassFixture<RecordedSelftestRuns>
{
    /// <summary>The kernel's module area (docs/guest-abi.md, the memory map).</summary>
    private static readonly AddressRange ModuleArea = new(0xffff_ffff_c000_0000, 0x3000_0000);

    private const ulong UserTop = 0x0000_8000_0000_0000;

    private const ulong KernelHalf = 0xffff_8000_0000_0000;

    [SkippableFact]
    public void The_runs_pass_their_selftest()
    {
        foreach (var (run, _) in fixture.Get().All)
            Assert.True(run.Result.Reason == MachineStopReason.DebugExit && run.Result.ExitStatus == 0, run.Describe());
    }

    [SkippableFact]
    public void Module_loads_describe_each_module_as_the_initrd_holds_it()
    {
        var runs = fixture.Get();
        var (run, tool) = runs.Both;
        var initrd = InitrdArchive.Files(runs.Images.Initrd);
        var loads = tool.ModuleEvents.Where(e => e.Load).ToList();
        Assert.Superset(new HashSet<string> { "good", "bad_init", "chardev", "ramblk", "loopback", "compute" }, loads.Select(e => e.Module.Name).ToHashSet());
        foreach (var (_, m, registered, _) in loads)
        {
            Assert.True(registered, $"{m.Name}: not in the registry when its load event came");
            Assert.Equal($"modules/{m.Name}.o", m.Path);
            Assert.True(initrd.TryGetValue(m.Path, out var file), $"{m.Path} is not in the initrd");
            Assert.True(m.Image is not null && m.Image.AsSpan().SequenceEqual(file),
                $"{m.Name}: the image read at the load event ({m.Image?.Length} bytes) is not {m.Path} of the initrd ({file.Length} bytes): first difference at byte {m.Image?.AsSpan().CommonPrefixLength(file)}");
            var ranges = new[] { m.Text, m.Rodata, m.Data, m.Bss }.Where(r => r.Length > 0).ToList();
            Assert.True(m.Text.Length > 0, $"{m.Name}: no text");
            foreach (var r in ranges)
                Assert.True(ModuleArea.Contains(r.Start) && ModuleArea.Contains(r.End - 1), $"{m.Name}: {r} is outside the module area {ModuleArea}");
            for (int i = 0; i < ranges.Count; i++)
                for (int j = i + 1; j < ranges.Count; j++)
                    Assert.True(ranges[i].End <= ranges[j].Start || ranges[j].End <= ranges[i].Start, $"{m.Name}: {ranges[i]} overlaps {ranges[j]}");
            // Every executable section of the object was placed inside the text range, and only there.
            var elf = ElfImage.Parse(file);
            Assert.Equal(elf.Sections.Count, m.SectionAddresses.Length);
            foreach (var section in elf.Sections)
            {
                if (!section.IsAllocated || section.Size == 0) continue;
                ulong at = m.SectionAddresses[section.Index];
                Assert.True(at != 0, $"{m.Name}: allocated section {section.Name} was not loaded");
                Assert.True(section.IsExecutable == m.Text.Contains(at), $"{m.Name}: section {section.Name} (executable: {section.IsExecutable}) at 0x{at:x}, text {m.Text}");
                if (section.IsExecutable) Assert.True(at + section.Size <= m.Text.End, $"{m.Name}: {section.Name} runs past the text {m.Text}");
            }
        }
    }

    [SkippableFact]
    public void A_module_s_symbols_are_there_for_its_load_and_unload_handlers()
    {
        // The host adds a module's symbols before the tools' load handlers run and drops them
        // after their unload handlers, so a tool can name addresses of the module in both.
        var (_, tool) = fixture.Get().Both;
        Assert.NotEmpty(tool.ModuleEvents);
        foreach (var e in tool.ModuleEvents)
            Assert.True(e.SymbolModuleDuringEvent == e.Module.Name,
                $"{(e.Load ? "load" : "unload")} of {e.Module.Name}: its text start symbolised as module '{e.SymbolModuleDuringEvent}'");
    }

    [SkippableFact]
    public void Every_unload_follows_the_load_of_the_same_module_and_the_registry_follows_them()
    {
        var (_, tool) = fixture.Get().Both;
        var loaded = new List<ModuleInfo>();
        foreach (var (load, m, _, _) in tool.ModuleEvents)
        {
            if (load)
            {
                Assert.DoesNotContain(loaded, l => l.Text.Start == m.Text.Start);
                loaded.Add(m);
                continue;
            }
            var earlier = loaded.FirstOrDefault(l => l.Name == m.Name && l.Text == m.Text);
            Assert.True(earlier is not null, $"unload of {m} without its load");
            Assert.Same(earlier, m);   // the tool gets the object it got at the load
            Assert.False(m.IsLoaded);
            loaded.Remove(earlier);
        }
        var unloaded = tool.ModuleEvents.Where(e => !e.Load).Select(e => e.Module.Name).ToList();
        Assert.Contains("bad_init", unloaded);   // its init fails: unloaded at once
        Assert.Contains("good", unloaded);
        Assert.Equal(loaded.Select(m => m.Name), tool.LoadedAtStop);
    }

    [SkippableFact]
    public void Kernel_entries_are_syscalls_from_user_mode_exceptions_and_interrupts()
    {
        var (_, tool) = fixture.Get().Both;
        var syscalls = tool.KernelEntries.Where(e => e.Kind == KernelEntryKind.Syscall).ToList();
        Assert.NotEmpty(syscalls);
        Assert.All(syscalls, e => Assert.True(e.FromCpl == 3 && e.InterruptedRip < UserTop, $"{e}"));
        Assert.Contains(syscalls, e => e.Vector == 1);     // write(2): usertest prints through it
        Assert.Contains(syscalls, e => e.Vector == 512);   // insmod: usertest's modules area
        var exceptions = tool.KernelEntries.Where(e => e.Kind == KernelEntryKind.Exception).ToList();
        Assert.Contains(exceptions, e => e.Vector == 14 && e.FromCpl == 3);   // demand paging, a child killed by a page fault
        Assert.Contains(exceptions, e => e.Vector == 6 && e.FromCpl == 3);    // a child killed by UD2
        Assert.Contains(exceptions, e => e.Vector == 0 && e.FromCpl == 3);    // and one by a division by zero
        Assert.Contains(exceptions, e => e.Vector == 14 && e.FromCpl == 0);   // uaccess: copies that fault and recover
        var interrupts = tool.KernelEntries.Where(e => e.Kind == KernelEntryKind.Interrupt).ToList();
        Assert.NotEmpty(interrupts);
        Assert.All(interrupts, e => Assert.InRange(e.Vector, 32, 255));
    }

    [SkippableFact]
    public void A_tool_that_wants_kernel_entries_sees_every_system_call_of_a_hot_loop_on_the_jit_tier()
    {
        // Traces that end in SYSCALL go on by themselves into the kernel's trace (and back after
        // SYSRET); with a tool that wants kernel entries they report the SYSCALL first, which the
        // dispatch loop would report otherwise: each one once.
        const int calls = 5_000;
        var images = GuestImages.Require();
        var counts = new List<int>();
        foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Jit })
        {
            var tool = new RecordingTool();
            var run = InProcessRun.Run(images, $"run=null-syscall iterations={calls}", 1, tier, [tool], InstrumentationScope.Kernel, $"null-syscall, {tier}");
            Assert.True(run.Result.Reason == MachineStopReason.DebugExit, run.Description);
            counts.Add(tool.KernelEntries.Count(e => e.Kind == KernelEntryKind.Syscall));
        }
        Assert.True(counts[0] >= calls, $"{counts[0]} system calls seen by the interpreter's tool");
        Assert.Equal(counts[0], counts[1]);
    }

    [SkippableFact]
    public void Events_are_the_same_on_every_tier_and_scope()
    {
        var all = fixture.Get().All;
        var (reference, first) = all[0];
        foreach (var (run, tool) in all)
        {
            Assert.Equal(Modules(first), Modules(tool));
            Assert.True(first.KernelEntries.SequenceEqual(tool.KernelEntries),
                $"{run.Description}: {tool.KernelEntries.Count} kernel entries, {reference.Description}: {first.KernelEntries.Count}");
            Assert.Equal(first.KmallocCalls, tool.KmallocCalls);
            Assert.True(first.ContextSwitches.SequenceEqual(tool.ContextSwitches),
                $"{run.Description}: {tool.ContextSwitches.Count} context switches, {reference.Description}: {first.ContextSwitches.Count}");
        }

        static List<string> Modules(RecordingTool t) => t.ModuleEvents.Select(e => $"{(e.Load ? "load" : "unload")} {e.Module.Name} {e.Module.Text}").ToList();
    }

    [SkippableFact]
    public void Context_switches_leave_and_resume_kernel_stacks_and_change_address_spaces()
    {
        // The guest's switch_stacks pushes six callee-saved registers below the return address and
        // saves RSP there, so a thread switched out at FromRsp is later switched in with ToRsp =
        // FromRsp - 48; a thread that never ran is switched in on the frame thread_create built.
        var (_, tool) = fixture.Get().Both;
        var switches = tool.ContextSwitches;
        Assert.True(switches.Count > 20, $"{switches.Count} context switches");
        var saved = new List<ulong>();
        int resumed = 0;
        foreach (var s in switches)
        {
            Assert.True(s.FromRsp >= KernelHalf && s.ToRsp >= KernelHalf && s.FromRsp != s.ToRsp, $"{s}");
            saved.Add(s.FromRsp - 48);
            if (saved.Remove(s.ToRsp)) resumed++;
        }
        // Most switches go back to a thread switched out before; the rest start new threads.
        Assert.True(resumed * 2 > switches.Count, $"{resumed} of {switches.Count} switches resumed a saved stack");
        Assert.True(resumed < switches.Count, "no switch started a new thread");
        // Kernel threads and user processes: more than one address space.
        Assert.True(switches.Select(s => s.AddressSpace).Distinct().Count() > 1, "one address space in every switch");
    }

    [SkippableFact]
    public void Passes_see_kernel_code_in_scope_only_and_never_user_code()
    {
        var runs = fixture.Get();
        var both = runs.Both.Tool.Blocks;
        var modules = runs.ModulesOnly.Tool.Blocks;
        var kernel = runs.KernelOnly.Tool.Blocks;
        Assert.All(both.Concat(modules).Concat(kernel), b => Assert.True(b.Cpl == 0, $"{b}"));
        Assert.NotEmpty(modules);
        Assert.All(modules, b => Assert.True(b.Region == CodeRegion.Module && b.Module is not null && b.InModuleText, $"modules scope saw {b}"));
        Assert.NotEmpty(kernel);
        Assert.All(kernel, b => Assert.True(b.Region == CodeRegion.Kernel && b.Module is null && !ModuleArea.Contains(b.StartRip), $"kernel scope saw {b}"));
        // kernel+modules sees both kinds, and exactly the union of what the two partial scopes saw.
        Assert.Equal(both.Count, modules.Count + kernel.Count);
        Assert.Equal(modules.Count, both.Count(b => b.Region == CodeRegion.Module));
    }

    [SkippableFact]
    public void A_wrapped_kernel_function_sees_each_call_s_argument_and_return()
    {
        var (_, tool) = fixture.Get().Both;
        Assert.True(tool.KmallocWrapped, "kmalloc is not a symbol of the kernel");
        Assert.True(tool.KmallocCalls.Count > 100, $"{tool.KmallocCalls.Count} kmalloc calls returned");
        Assert.Equal(tool.KmallocEntries, tool.KmallocCalls.Count);
        var sizes = tool.KmallocCalls.Select(c => c.Size).ToHashSet();
        Assert.Contains(1UL, sizes);       // the slab suite's smallest and largest
        Assert.Contains(20000UL, sizes);
        Assert.All(tool.KmallocCalls, c => Assert.True(c.Result == 0 || (c.Result >= UserTop && c.Result % 8 == 0), $"kmalloc({c.Size}) = 0x{c.Result:x}"));
        Assert.True(tool.KmallocCalls.Count(c => c.Result == 0) < tool.KmallocCalls.Count / 100, "most kmalloc calls failed");
    }
}
