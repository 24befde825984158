/*
 * A stand-in guest for testing the QEMU engine before the real guest has workloads: a PVH kernel that
 * prints its command line and one result line on COM1, spins for a while, and powers off through
 * isa-debug-exit with status 0 (QEMU exits 1). Built by the tests with gcc and ld.
 */
        .section .note.pvh, "a", @note
        .p2align 2
        .long 4                 /* name size: "Xen\0" */
        .long 8                 /* descriptor size: an 8-byte entry address */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .p2align 2
        .quad _start

        .text
        .code32
        .globl _start
_start:
        mov     %ebx, %esi              /* hvm_start_info */
        mov     $stack_top, %esp
        mov     $banner, %edi
        call    puts
        mov     $cmdline_prefix, %edi
        call    puts
        mov     24(%esi), %edi          /* hvm_start_info.cmdline_paddr (low half) */
        test    %edi, %edi
        jz      1f
        call    puts
1:      mov     $newline, %edi
        call    puts

        rdtsc
        mov     %eax, %ebp
        mov     $20000000, %ecx
2:      dec     %ecx
        jnz     2b
        rdtsc
        sub     %ebp, %eax
        mov     %eax, %ebx

        mov     $result, %edi
        call    puts
        mov     %ebx, %eax
        call    puthex
        mov     $newline, %edi
        call    puts

        xor     %eax, %eax
        out     %al, $0xf4              /* status 0: QEMU exits with 2*0+1 */
3:      hlt
        jmp     3b

/* Writes the NUL-terminated string at %edi to COM1. */
puts:
        movzbl  (%edi), %eax
        test    %al, %al
        jz      9f
        call    putc
        inc     %edi
        jmp     puts
9:      ret

/* Writes %al to COM1 once the transmitter is empty. */
putc:
        push    %eax
        mov     $0x3fd, %dx
8:      in      %dx, %al
        test    $0x20, %al
        jz      8b
        pop     %eax
        mov     $0x3f8, %dx
        out     %al, %dx
        ret

/* Writes %eax as 8 hex digits. */
puthex:
        mov     %eax, %edx
        mov     $8, %ecx
7:      rol     $4, %edx
        mov     %edx, %eax
        and     $0xf, %eax
        movzbl  hexdigits(%eax), %eax
        push    %edx
        push    %ecx
        call    putc
        pop     %ecx
        pop     %edx
        dec     %ecx
        jnz     7b
        ret

        .section .rodata
banner:         .asciz "stub kernel\n"
cmdline_prefix: .asciz "cmdline: "
newline:        .asciz "\n"
result:         .asciz "result workload=stub iterations=20000000 checksum=0x2a cycles=0x"
hexdigits:      .ascii "0123456789abcdef"

        .bss
        .p2align 4
        .skip 4096
stack_top:
