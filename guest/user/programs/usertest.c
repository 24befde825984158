/*
 * The user-mode self-test: every system call, with good and bad arguments,
 * and every driver module, from a user process. The kernel's "selftest"
 * runs it (suite "user"); "run=usertest" runs it alone.
 *
 * Each area prints "usertest: AREA: ok (N checks)" or FAIL lines, and the
 * exit code is the number of failed areas. Bad pointers must give -EFAULT
 * (or the documented error), never an oops. Children that are meant to die
 * of a fault make the kernel print one "process N (usertest) killed" line
 * each; that output is part of the expected, deterministic output.
 */
#include "ulib.h"
#include "compute.h"

#define PAGE 4096

static const char *area;
static unsigned checks, failures;

static void check(bool ok, const char *expr, int line)
{
    checks++;
    if (!ok) {
        failures++;
        printf("usertest: FAIL %s: usertest.c:%d: %s\n", area, line, expr);
    }
}

#define CHECK(cond) check((cond), #cond, __LINE__)
/* A call that must fail with exactly this error. */
#define CHECK_ERR(call, err) check((call) == -(err), #call " == -" #err, __LINE__)

/* Addresses no system call may use. */
#define KERNEL_ADDR      ((void *)0xffffffff80100000ul)    /* the kernel image */
#define UNMAPPED_ADDR    ((void *)0x1000ul)                /* below every program */
#define NONCANONICAL     ((void *)0x0000800000000000ul)    /* just past the user half */
#define USER_TOP_STRADDLE ((void *)0x00007ffffffffff8ul)   /* 8 bytes below the end of the user half */

static int wait_child(long pid)
{
    int status = -1;
    if (sys_wait4((int)pid, &status, 0) != pid)
        return -1;
    return WEXITSTATUS(status);
}

/* Runs fn in a child and returns its exit code. */
static int in_child(void (*fn)(void))
{
    long pid = sys_fork();
    if (pid == 0) {
        fn();
        sys_exit(0);
    }
    return pid < 0 ? -1 : wait_child(pid);
}

/* ---- basic ---- */

static void test_basic(void)
{
    long pid = sys_getpid();
    CHECK(pid > 0);
    CHECK(sys_getpid() == pid);
    CHECK(sys_yield() == 0);
    CHECK(sys_write(1, "", 0) == 0);
    CHECK_ERR(syscall6(400, 0, 0, 0, 0, 0, 0), ENOSYS);
    CHECK_ERR(syscall6(-1, 0, 0, 0, 0, 0, 0), ENOSYS);
    CHECK_ERR(sys_close(OPEN_MAX), EBADF);
    CHECK_ERR(sys_close(-1), EBADF);
    CHECK_ERR(sys_read(9, NULL, 0), EBADF);
}

/* ---- files and directories ---- */

static void test_files(void)
{
    char buf[64];
    CHECK(sys_mkdir("/tmp/ut", 0755) == 0);
    CHECK_ERR(sys_mkdir("/tmp/ut", 0755), EEXIST);
    CHECK(sys_mkdir("/tmp/ut/sub", 0755) == 0);
    long fd = sys_open("/tmp/ut/sub/f", O_CREAT | O_RDWR);
    CHECK(fd >= 3);
    CHECK(sys_write((int)fd, "hello, world", 12) == 12);
    CHECK(sys_lseek((int)fd, 0, SEEK_CUR) == 12);
    CHECK(sys_lseek((int)fd, 7, SEEK_SET) == 7);
    CHECK(sys_read((int)fd, buf, sizeof(buf)) == 5 && memcmp(buf, "world", 5) == 0);
    CHECK(sys_read((int)fd, buf, sizeof(buf)) == 0);
    CHECK(sys_lseek((int)fd, -5, SEEK_END) == 7);
    CHECK_ERR(sys_lseek((int)fd, -100, SEEK_CUR), EINVAL);
    CHECK_ERR(sys_lseek((int)fd, 0, 9), EINVAL);
    /* A hole reads as zeroes. */
    CHECK(sys_lseek((int)fd, 10000, SEEK_SET) == 10000 && sys_write((int)fd, "x", 1) == 1);
    CHECK(sys_lseek((int)fd, 5000, SEEK_SET) == 5000 && sys_read((int)fd, buf, 4) == 4 &&
          buf[0] == 0 && buf[3] == 0);
    CHECK(sys_close((int)fd) == 0);
    CHECK_ERR(sys_close((int)fd), EBADF);

    CHECK_ERR(sys_open("/tmp/ut/sub/f", O_CREAT | O_EXCL | O_RDWR), EEXIST);
    fd = sys_open("/tmp/ut/sub/f", O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && sys_lseek((int)fd, 0, SEEK_END) == 0);
    CHECK_ERR(sys_read((int)fd, buf, 1), EBADF);
    sys_close((int)fd);
    fd = sys_open("/tmp/ut/sub/f", O_WRONLY | O_APPEND);
    CHECK(sys_write((int)fd, "ab", 2) == 2 && sys_write((int)fd, "cd", 2) == 2);
    sys_close((int)fd);
    fd = sys_open("/tmp/ut/sub/f", O_RDONLY);
    CHECK(sys_read((int)fd, buf, sizeof(buf)) == 4 && memcmp(buf, "abcd", 4) == 0);
    CHECK_ERR(sys_write((int)fd, "x", 1), EBADF);
    sys_close((int)fd);

    CHECK_ERR(sys_open("/tmp/ut/nothing", O_RDONLY), ENOENT);
    CHECK_ERR(sys_open("/tmp/ut/sub/f/x", O_RDONLY), ENOTDIR);
    CHECK_ERR(sys_open("/tmp/ut", O_RDWR), EISDIR);
    fd = sys_open("/tmp/ut", O_RDONLY);
    CHECK(fd >= 0 && sys_read((int)fd, buf, 1) == -EISDIR);
    sys_close((int)fd);
    CHECK_ERR(sys_open("/tmp/abcdefghijabcdefghijabcdefghij012", O_CREAT | O_RDWR), ENAMETOOLONG);
    CHECK_ERR(sys_open("", O_RDONLY), ENOENT);
    fd = sys_open("/tmp/./ut/../ut/sub/f", O_RDONLY);             /* "." and ".." */
    CHECK(fd >= 0);
    sys_close((int)fd);
    CHECK_ERR(sys_open("/tmp/ut/sub/f", O_ACCMODE), EINVAL);

    CHECK_ERR(sys_rmdir("/tmp/ut/sub"), ENOTEMPTY);
    CHECK_ERR(sys_unlink("/tmp/ut/sub"), EISDIR);
    CHECK_ERR(sys_rmdir("/tmp/ut/sub/f"), ENOTDIR);
    CHECK(sys_unlink("/tmp/ut/sub/f") == 0);
    CHECK_ERR(sys_unlink("/tmp/ut/sub/f"), ENOENT);
    CHECK(sys_rmdir("/tmp/ut/sub") == 0);
    CHECK(sys_rmdir("/tmp/ut") == 0);

    /* An unlinked file lives on while open. */
    fd = sys_open("/tmp/ut-open", O_CREAT | O_RDWR);
    CHECK(sys_write((int)fd, "kept", 4) == 4 && sys_unlink("/tmp/ut-open") == 0);
    CHECK(sys_lseek((int)fd, 0, SEEK_SET) == 0 && sys_read((int)fd, buf, 8) == 4);
    CHECK_ERR(sys_open("/tmp/ut-open", O_RDONLY), ENOENT);
    sys_close((int)fd);

    /* The initrd's files are read-only; device nodes belong to their drivers. */
    fd = sys_open("/bin/hello", O_RDONLY);
    CHECK(fd >= 0 && sys_read((int)fd, buf, 4) == 4 && memcmp(buf, "\177ELF", 4) == 0);
    sys_close((int)fd);
    CHECK_ERR(sys_open("/bin/hello", O_RDWR), EROFS);
    CHECK_ERR(sys_unlink("/bin/hello"), EROFS);
    CHECK_ERR(sys_unlink("/dev/null"), EPERM);

    fd = sys_open("/dev/null", O_RDWR);
    CHECK(sys_write((int)fd, "gone", 4) == 4 && sys_read((int)fd, buf, 4) == 0);
    CHECK_ERR(sys_lseek((int)fd, 0, SEEK_SET), ESPIPE);
    CHECK_ERR(sys_ioctl((int)fd, 1, 0), ENOTTY);
    sys_close((int)fd);
    fd = sys_open("/dev/zero", O_RDONLY);
    memset(buf, 0x55, sizeof(buf));
    CHECK(sys_read((int)fd, buf, 16) == 16 && buf[0] == 0 && buf[15] == 0 && buf[16] == 0x55);
    sys_close((int)fd);

    /* The descriptor table is OPEN_MAX entries. */
    long fds[OPEN_MAX];
    int opened = 0;
    for (int i = 0; i < OPEN_MAX; i++) {
        fds[i] = sys_open("/dev/null", O_RDONLY);
        if (fds[i] >= 0)
            opened++;
    }
    CHECK(opened == OPEN_MAX - 3);
    for (int i = 0; i < OPEN_MAX; i++)
        if (fds[i] >= 0)
            sys_close((int)fds[i]);
}

/* ---- pipes ---- */

static void test_pipes(void)
{
    int p[2];
    char buf[64];
    CHECK(sys_pipe(p) == 0 && p[0] >= 3 && p[1] > p[0]);
    CHECK(sys_write(p[1], "abc", 3) == 3);
    CHECK(sys_read(p[0], buf, sizeof(buf)) == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK_ERR(sys_write(p[0], "x", 1), EBADF);
    CHECK_ERR(sys_read(p[1], buf, 1), EBADF);
    CHECK_ERR(sys_lseek(p[0], 0, SEEK_SET), ESPIPE);
    sys_close(p[1]);
    CHECK(sys_read(p[0], buf, 1) == 0);             /* no writer left: end of file */
    sys_close(p[0]);

    CHECK(sys_pipe(p) == 0);
    sys_close(p[0]);
    CHECK_ERR(sys_write(p[1], "x", 1), EPIPE);      /* no reader left */
    sys_close(p[1]);

    /* More than the buffer holds: the writer waits for the reader, in another process. */
    CHECK(sys_pipe(p) == 0);
    long pid = sys_fork();
    if (pid == 0) {
        sys_close(p[0]);
        static u8 big[3 * PIPE_BUF_SIZE];
        for (u32 i = 0; i < sizeof(big); i++)
            big[i] = (u8)(i * 7);
        sys_exit(sys_write(p[1], big, sizeof(big)) == sizeof(big) ? 0 : 1);
    }
    sys_close(p[1]);
    u64 total = 0, sum = 0, expected = 0;
    for (;;) {
        long n = sys_read(p[0], buf, sizeof(buf));
        if (n <= 0)
            break;
        for (long i = 0; i < n; i++)
            sum += (u8)buf[i];
        total += (u64)n;
    }
    for (u32 i = 0; i < 3 * PIPE_BUF_SIZE; i++)
        expected += (u8)(i * 7);
    CHECK(total == 3 * PIPE_BUF_SIZE && sum == expected);
    CHECK(wait_child(pid) == 0);
    sys_close(p[0]);
}

/* ---- processes ---- */

static void fault_null(void)
{
    volatile int *p = (volatile int *)UNMAPPED_ADDR;
    *p = 1;
}

static void fault_ud2(void)
{
    __asm__ __volatile__("ud2");
}

static volatile int zero;

static void fault_divide(void)
{
    volatile int x = 7 / zero;
    (void)x;
}

/* The direct map of the kernel image: present, but supervisor-only (error code 5). */
static void fault_kernel_read(void)
{
    volatile int x = *(volatile int *)0xffff800000100000ul;
    (void)x;
}

static void test_processes(void)
{
    int status;
    CHECK_ERR(sys_wait4(-1, &status, 0), ECHILD);
    CHECK_ERR(sys_wait4(0, &status, 0), EINVAL);

    long pid = sys_fork();
    if (pid == 0)
        sys_exit(42);
    CHECK(pid > sys_getpid());
    CHECK(wait_child(pid) == 42);
    CHECK_ERR(sys_wait4((int)pid, &status, 0), ECHILD);

    /* WNOHANG while the child still runs: it waits for our pipe. */
    int p[2];
    sys_pipe(p);
    pid = sys_fork();
    if (pid == 0) {
        char c;
        sys_close(p[1]);
        sys_exit(sys_read(p[0], &c, 1) == 1 ? c : 99);
    }
    sys_close(p[0]);
    CHECK(sys_wait4((int)pid, &status, WNOHANG) == 0);
    sys_write(p[1], "\x07", 1);
    sys_close(p[1]);
    CHECK(wait_child(pid) == 7);

    /* Memory after fork is a copy. */
    static volatile int shared_looking = 1;
    pid = sys_fork();
    if (pid == 0) {
        shared_looking = 2;
        sys_exit(shared_looking);
    }
    CHECK(wait_child(pid) == 2 && shared_looking == 1);

    /* exec: arguments arrive, descriptors survive, errors leave the caller intact. */
    pid = sys_fork();
    if (pid == 0) {
        char *argv[] = { "hello", "one", "three", NULL };
        sys_execve("/bin/hello", argv, NULL);
        sys_exit(99);
    }
    CHECK(wait_child(pid) == 3 * 16 + 5);
    char *no_args[] = { "x", NULL };
    CHECK_ERR(sys_execve("/bin/no-such-program", no_args, NULL), ENOENT);
    CHECK_ERR(sys_execve("/modules/good.o", no_args, NULL), ENOEXEC);
    CHECK_ERR(sys_execve("/bin", no_args, NULL), EISDIR);
    CHECK_ERR(sys_execve("/dev/null", no_args, NULL), EACCES);
    char *many[ARGC_MAX + 2];
    for (int i = 0; i < ARGC_MAX + 1; i++)
        many[i] = "a";
    many[ARGC_MAX + 1] = NULL;
    CHECK_ERR(sys_execve("/bin/hello", many, NULL), E2BIG);

    /* Orphans: the grandchild outlives its parent and frees itself. */
    sys_pipe(p);
    pid = sys_fork();
    if (pid == 0) {
        if (sys_fork() == 0) {
            char c;
            sys_close(p[1]);
            sys_read(p[0], &c, 1);  /* until the grandparent closes its end */
            sys_exit(0);
        }
        sys_exit(5);
    }
    CHECK(wait_child(pid) == 5);
    sys_close(p[0]);
    sys_close(p[1]);
    sys_yield();                /* let the orphan run to its end */

    /* Faults in user mode kill the process, not the kernel. */
    CHECK(in_child(fault_null) == EXIT_KILLED_SEGV);
    CHECK(in_child(fault_kernel_read) == EXIT_KILLED_SEGV);
    CHECK(in_child(fault_ud2) == EXIT_KILLED_ILL);
    CHECK(in_child(fault_divide) == EXIT_KILLED_FPE);
}

/* ---- memory ---- */

static u8 *mapped;

static void touch_mapped(void)
{
    mapped[0] = 1;
}

static void test_memory(void)
{
    u8 *p = sys_mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(!mmap_failed(p) && ((u64)p & (PAGE - 1)) == 0);
    if (mmap_failed(p))
        return;
    bool zero = true;
    for (int i = 0; i < 5 * PAGE; i += 512)
        zero &= p[i] == 0;
    CHECK(zero);
    for (int i = 0; i < 5; i++)
        p[i * PAGE] = (u8)(i + 1);
    /* Unmapping the middle page splits the region; both sides keep their data. */
    CHECK(sys_munmap(p + 2 * PAGE, PAGE) == 0);
    CHECK(p[PAGE] == 2 && p[3 * PAGE] == 4);
    mapped = p + 2 * PAGE;
    CHECK(in_child(touch_mapped) == EXIT_KILLED_SEGV);
    CHECK(sys_munmap(p, 5 * PAGE) == 0);
    mapped = p;
    CHECK(in_child(touch_mapped) == EXIT_KILLED_SEGV);

    /* A second mapping reuses the freed range. */
    u8 *q = sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(q == p);
    CHECK(sys_munmap(q, PAGE) == 0);

    u8 *ro = sys_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(!mmap_failed(ro) && ro[100] == 0);
    mapped = ro;
    CHECK(in_child(touch_mapped) == EXIT_KILLED_SEGV);
    sys_munmap(ro, PAGE);

    CHECK((long)sys_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -EINVAL);
    CHECK((long)sys_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 3, 0) == -EINVAL);
    CHECK((long)sys_mmap((void *)0x10000000, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -EINVAL);
    CHECK((long)sys_mmap(NULL, 1ul << 47, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -ENOMEM);
    CHECK_ERR(sys_munmap((void *)(PAGE + 1), PAGE), EINVAL);
    CHECK_ERR(sys_munmap((void *)PAGE, 0), EINVAL);
    CHECK_ERR(sys_munmap(KERNEL_ADDR, PAGE), EINVAL);

    /* The stack grows on demand, 1 MiB deep. */
    volatile u8 deep[200000];
    deep[0] = 1;
    deep[sizeof(deep) - 1] = 2;
    CHECK(deep[0] + deep[sizeof(deep) - 1] == 3);
}

/* ---- bad pointers: an error code, never an oops ---- */

static void test_bad_pointers(void)
{
    static const void *const bad[] = { NULL, UNMAPPED_ADDR, KERNEL_ADDR, NONCANONICAL, USER_TOP_STRADDLE };
    char buf[64];
    int p[2];
    sys_pipe(p);
    long file = sys_open("/tmp/ut-bad", O_CREAT | O_RDWR);
    sys_write((int)file, "0123456789", 10);
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        void *b = (void *)bad[i];
        CHECK_ERR(sys_write(1, b, 16), EFAULT);
        CHECK_ERR(sys_write(p[1], b, 16), EFAULT);
        CHECK_ERR(sys_write((int)file, b, 16), EFAULT);
        sys_lseek((int)file, 0, SEEK_SET);
        CHECK_ERR(sys_read((int)file, b, 10), EFAULT);
        CHECK_ERR(sys_open(b, O_RDONLY), EFAULT);
        CHECK_ERR(sys_mkdir(b, 0), EFAULT);
        CHECK_ERR(sys_rmdir(b), EFAULT);
        CHECK_ERR(sys_unlink(b), EFAULT);
        CHECK_ERR(sys_pipe(b), EFAULT);
        CHECK_ERR(sys_execve(b, NULL, NULL), EFAULT);
        CHECK_ERR(sys_execve("/bin/hello", b, NULL), EFAULT);
        if (b) {                /* NULL would just end the list */
            char *argv[] = { "hello", b, NULL };
            CHECK_ERR(sys_execve("/bin/hello", argv, NULL), EFAULT);
        }
        CHECK_ERR(sys_insmod(b), EFAULT);
        CHECK_ERR(sys_rmmod(b), EFAULT);
    }
    /* The pipe end is still usable after all that. */
    CHECK(sys_write(p[1], "ok", 2) == 2 && sys_read(p[0], buf, 2) == 2);
    sys_close(p[0]);
    sys_close(p[1]);

    /* Reading into program text: the kernel's write to a read-only page faults and is caught. */
    sys_lseek((int)file, 0, SEEK_SET);
    CHECK_ERR(sys_read((int)file, (void *)test_bad_pointers, 4), EFAULT);
    /* A buffer whose end is unmapped: the part that fits is transferred. */
    u8 *m = sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    sys_lseek((int)file, 0, SEEK_SET);
    CHECK(sys_read((int)file, m + PAGE - 4, 10) == 4 && m[PAGE - 1] == '3');
    sys_munmap(m, PAGE);
    sys_close((int)file);
    sys_unlink("/tmp/ut-bad");

    /* wait4 with a bad status pointer leaves the child to be waited for. */
    long pid = sys_fork();
    if (pid == 0)
        sys_exit(3);
    CHECK_ERR(sys_wait4((int)pid, KERNEL_ADDR, 0), EFAULT);
    CHECK(wait_child(pid) == 3);

    /* A path with no NUL within PATH_MAX. */
    static char long_path[PATH_MAX + 8];
    memset(long_path, 'a', sizeof(long_path));
    CHECK_ERR(sys_open(long_path, O_RDONLY), ENAMETOOLONG);
}

/* ---- drivers ---- */

static void test_chardev(void)
{
    char buf[256], out[100];
    struct chardev_stats st;
    CHECK(sys_insmod(CHARDEV_MODULE) == 0);
    CHECK_ERR(sys_insmod(CHARDEV_MODULE), EEXIST);
    long fd = sys_open(CHARDEV_PATH, O_RDWR);
    CHECK(fd >= 0);
    CHECK_ERR(sys_rmmod(CHARDEV_MODULE), EBUSY);
    CHECK(sys_read((int)fd, buf, sizeof(buf)) == 0);        /* nothing sent yet */
    for (int i = 0; i < 100; i++)
        out[i] = (char)(i * 3);
    CHECK(sys_write((int)fd, out, 100) == 100);
    CHECK(sys_read((int)fd, buf, 40) == 40 && memcmp(buf, out, 40) == 0);
    CHECK(sys_read((int)fd, buf, sizeof(buf)) == 60 && memcmp(buf, out + 40, 60) == 0);
    /* The buffer holds CHARDEV_BUFFER_SIZE bytes in flight. */
    static char big[CHARDEV_BUFFER_SIZE + 100];
    CHECK(sys_write((int)fd, big, sizeof(big)) == CHARDEV_BUFFER_SIZE);
    CHECK_ERR(sys_write((int)fd, big, 1), EAGAIN);
    CHECK(sys_ioctl((int)fd, CHARDEV_IOC_RESET, 0) == 0 && sys_read((int)fd, buf, 1) == 0);
    CHECK(sys_ioctl((int)fd, CHARDEV_IOC_ADD, 5) == 0);     /* 5 >> 33 */
    long r = sys_ioctl((int)fd, CHARDEV_IOC_ADD, 1);
    CHECK(r == (long)((5 * 6364136223846793005ull + 1) >> 33));
    CHECK(sys_ioctl((int)fd, CHARDEV_IOC_STATS, (unsigned long)&st) == 0);
    CHECK(st.bytes_written == 100 + CHARDEV_BUFFER_SIZE && st.bytes_read == 100 && st.interrupts >= 1 &&
          st.accumulator == 5 * 6364136223846793005ull + 1 && st.opens == 1);
    CHECK_ERR(sys_ioctl((int)fd, 0x9999, 0), ENOTTY);
    CHECK_ERR(sys_ioctl((int)fd, CHARDEV_IOC_STATS, (unsigned long)KERNEL_ADDR), EFAULT);
    CHECK_ERR(sys_write((int)fd, KERNEL_ADDR, 8), EFAULT);
    CHECK(sys_read((int)fd, NULL, 8) == 0);     /* nothing to read: no copy is made */
    CHECK(sys_write((int)fd, "xy", 2) == 2);
    CHECK_ERR(sys_read((int)fd, NULL, 8), EFAULT);
    sys_close((int)fd);
    CHECK(sys_rmmod(CHARDEV_MODULE) == 0);
    CHECK_ERR(sys_open(CHARDEV_PATH, O_RDWR), ENOENT);
    CHECK_ERR(sys_rmmod(CHARDEV_MODULE), ENOENT);
}

static void test_ramblk(void)
{
    static u8 out[20 * RAMBLK_SECTOR_SIZE], in[20 * RAMBLK_SECTOR_SIZE];
    struct ramblk_stats st;
    CHECK(sys_insmod(RAMBLK_MODULE) == 0);
    long fd = sys_open(RAMBLK_PATH, O_RDWR);
    CHECK(fd >= 0);
    CHECK(sys_ioctl((int)fd, RAMBLK_IOC_SECTORS, 0) == RAMBLK_SECTORS);
    for (u32 i = 0; i < sizeof(out); i++)
        out[i] = (u8)(i * 13 + 1);
    /* 20 sectors: two requests. */
    CHECK(sys_lseek((int)fd, 5 * RAMBLK_SECTOR_SIZE, SEEK_SET) == 5 * RAMBLK_SECTOR_SIZE);
    CHECK(sys_write((int)fd, out, sizeof(out)) == sizeof(out));
    CHECK(sys_lseek((int)fd, 5 * RAMBLK_SECTOR_SIZE, SEEK_SET) >= 0);
    CHECK(sys_read((int)fd, in, sizeof(in)) == sizeof(in) && memcmp(in, out, sizeof(in)) == 0);
    CHECK(sys_lseek((int)fd, 0, SEEK_SET) == 0 && sys_read((int)fd, in, RAMBLK_SECTOR_SIZE) == RAMBLK_SECTOR_SIZE &&
          in[0] == 0 && in[RAMBLK_SECTOR_SIZE - 1] == 0);
    CHECK_ERR(sys_read((int)fd, in, 100), EINVAL);         /* not whole sectors */
    CHECK(sys_lseek((int)fd, 1, SEEK_SET) == 1);
    CHECK_ERR(sys_read((int)fd, in, RAMBLK_SECTOR_SIZE), EINVAL);
    CHECK(sys_lseek((int)fd, (RAMBLK_SECTORS - 1) * RAMBLK_SECTOR_SIZE, SEEK_SET) >= 0);
    CHECK(sys_write((int)fd, out, 2 * RAMBLK_SECTOR_SIZE) == RAMBLK_SECTOR_SIZE);   /* stops at the end */
    CHECK(sys_read((int)fd, in, RAMBLK_SECTOR_SIZE) == 0);
    CHECK(sys_lseek((int)fd, 0, SEEK_SET) == 0);
    CHECK_ERR(sys_read((int)fd, KERNEL_ADDR, RAMBLK_SECTOR_SIZE), EFAULT);
    CHECK_ERR(sys_write((int)fd, NULL, RAMBLK_SECTOR_SIZE), EFAULT);
    CHECK(sys_ioctl((int)fd, RAMBLK_IOC_STATS, (unsigned long)&st) == 0);
    /* The read into the kernel address was served; the copy to the caller failed. */
    CHECK(st.requests == 7 && st.sectors_written == 21 && st.sectors_read == 22 && st.interrupts >= 1);
    CHECK_ERR(sys_rmmod(RAMBLK_MODULE), EBUSY);
    sys_close((int)fd);
    CHECK(sys_rmmod(RAMBLK_MODULE) == 0);
}

static void test_loopback(void)
{
    char buf[LOOPBACK_MTU + 1];
    struct loopback_stats st;
    CHECK(sys_insmod(LOOPBACK_MODULE) == 0);
    long a = sys_open(LOOPBACK_PATH, O_RDWR), b = sys_open(LOOPBACK_PATH, O_RDWR);
    CHECK(a >= 0 && b >= 0);
    CHECK_ERR(sys_write((int)a, "x", 1), EINVAL);            /* not connected */
    CHECK(sys_ioctl((int)a, LOOPBACK_IOC_BIND, 7) == 0 && sys_ioctl((int)b, LOOPBACK_IOC_BIND, 9) == 0);
    CHECK_ERR(sys_ioctl((int)b, LOOPBACK_IOC_BIND, 7), EBUSY);
    CHECK_ERR(sys_ioctl((int)b, LOOPBACK_IOC_BIND, 70000), EINVAL);
    CHECK(sys_ioctl((int)a, LOOPBACK_IOC_CONNECT, 9) == 0 && sys_ioctl((int)b, LOOPBACK_IOC_CONNECT, 7) == 0);
    CHECK(sys_write((int)a, "ping", 4) == 4);
    CHECK(sys_read((int)b, buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK(sys_write((int)b, "pong!", 5) == 5);
    CHECK(sys_read((int)a, buf, 2) == 2 && memcmp(buf, "po", 2) == 0);   /* a datagram: the rest is dropped */
    CHECK_ERR(sys_write((int)a, buf, LOOPBACK_MTU + 1), EINVAL);
    CHECK_ERR(sys_write((int)a, KERNEL_ADDR, 10), EFAULT);
    /* A packet for a port nobody bound is dropped. */
    CHECK(sys_ioctl((int)a, LOOPBACK_IOC_CONNECT, 11) == 0 && sys_write((int)a, "lost", 4) == 4);
    CHECK(sys_ioctl((int)a, LOOPBACK_IOC_CONNECT, 9) == 0 && sys_write((int)a, "last", 4) == 4);
    CHECK_ERR(sys_read((int)b, KERNEL_ADDR, 4), EFAULT);    /* that packet is consumed */
    CHECK(sys_ioctl((int)a, LOOPBACK_IOC_STATS, (unsigned long)&st) == 0);
    CHECK(st.packets_sent == 4 && st.packets_delivered == 3 && st.packets_dropped == 1 && st.bytes == 17);
    CHECK_ERR(sys_rmmod(LOOPBACK_MODULE), EBUSY);
    sys_close((int)a);
    sys_close((int)b);
    CHECK(sys_rmmod(LOOPBACK_MODULE) == 0);
}

static u64 compute_state[COMPUTE_STATE_SIZE / 8];

static void test_compute(void)
{
    struct compute_request req = { 25, 0 };
    CHECK(sys_insmod(COMPUTE_MODULE) == 0);
    long fd = sys_open(COMPUTE_PATH, O_RDONLY);
    CHECK(fd >= 0 && sys_ioctl((int)fd, COMPUTE_IOC_RUN, (unsigned long)&req) == 0);
    compute_init((struct compute_state *)compute_state);
    CHECK(req.checksum == compute_run((struct compute_state *)compute_state, 25));
    CHECK_ERR(sys_ioctl((int)fd, COMPUTE_IOC_RUN, (unsigned long)NONCANONICAL), EFAULT);
    sys_close((int)fd);
    CHECK(sys_rmmod(COMPUTE_MODULE) == 0);
}

static void test_modules(void)
{
    CHECK_ERR(sys_insmod("no_such_module"), ENOENT);
    CHECK_ERR(sys_insmod("bad_reloc"), ENOEXEC);
    CHECK_ERR(sys_insmod("../bin/hello"), EINVAL);
    CHECK_ERR(sys_rmmod("no_such_module"), ENOENT);
}

/* ---- runner ---- */

static int failed_areas;

static void run(const char *name, void (*fn)(void))
{
    area = name;
    checks = failures = 0;
    fn();
    if (failures)
        failed_areas++;
    printf("usertest: %s: %s (%u checks)\n", name, failures ? "FAILED" : "ok", checks);
}

int main(int argc, char **argv)
{
    run("basic", test_basic);
    run("files", test_files);
    run("pipes", test_pipes);
    run("processes", test_processes);
    run("memory", test_memory);
    run("bad pointers", test_bad_pointers);
    run("chardev", test_chardev);
    run("ramblk", test_ramblk);
    run("loopback", test_loopback);
    run("compute", test_compute);
    run("modules", test_modules);
    return failed_areas;
}
