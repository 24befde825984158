/*
 * Loopback packet round trip: endpoint A (port 1000) sends 64 bytes to
 * endpoint B (port 2000), which sends them back changed; every packet goes
 * through the loopback module's transmit queue, its kernel thread and its
 * receive interrupt.
 */
#include "ulib.h"

#define PACKET_WORDS 8

static long endpoint(int port, int peer)
{
    long fd = sys_open(LOOPBACK_PATH, O_RDWR);
    if (fd < 0)
        die("loopback: open %s: %ld\n", LOOPBACK_PATH, fd);
    if (sys_ioctl((int)fd, LOOPBACK_IOC_BIND, (unsigned long)port) < 0 ||
        sys_ioctl((int)fd, LOOPBACK_IOC_CONNECT, (unsigned long)peer) < 0)
        die("loopback: bind/connect failed\n");
    return fd;
}

int main(int argc, char **argv)
{
    u64 n = workload_iterations(argc, argv, "loopback");
    bool loaded = workload_insmod(LOOPBACK_MODULE);
    int a = (int)endpoint(1000, 2000), b = (int)endpoint(2000, 1000);
    u64 packet[PACKET_WORDS], got[LOOPBACK_MTU / 8];
    u64 sum = 0;
    u64 start = rdtsc();
    for (u64 i = 0; i < n; i++) {
        for (int k = 0; k < PACKET_WORDS; k++)
            packet[k] = i + (u64)k;
        if (sys_write(a, packet, sizeof(packet)) != sizeof(packet) || sys_read(b, got, sizeof(got)) != sizeof(packet))
            die("loopback: A to B failed at %lu\n", i);
        got[0] = got[0] * 3 + 1;
        if (sys_write(b, got, sizeof(packet)) != sizeof(packet) || sys_read(a, packet, sizeof(packet)) != sizeof(packet))
            die("loopback: B to A failed at %lu\n", i);
        sum = sum * 31 + (packet[0] ^ packet[PACKET_WORDS - 1]);
    }
    u64 cycles = rdtsc() - start;
    sys_close(a);
    sys_close(b);
    workload_rmmod(LOOPBACK_MODULE, loaded);
    workload_result("loopback", n, sum, cycles);
    return 0;
}
