/*
 * The driver modules' device nodes, ioctl commands and structures, shared
 * by the modules in guest/modules/ and the programs in guest/user/.
 * docs/guest-abi.md (section 14) describes each device.
 */
#ifndef DRK_UAPI_DEVICES_H
#define DRK_UAPI_DEVICES_H

#include <stdint.h>

/*
 * chardev: a loopback "serial port". write() queues bytes for transmission
 * and rings the device, whose interrupt moves them to the receive buffer;
 * read() returns received bytes (waiting for an interrupt still due, never
 * for data nobody wrote). At most CHARDEV_BUFFER_SIZE bytes are in flight.
 */
#define CHARDEV_MODULE          "chardev"
#define CHARDEV_PATH            "/dev/chardev"
#define CHARDEV_BUFFER_SIZE     4096
#define CHARDEV_IOC_RESET       0x4301  /* drop buffered bytes, zero the accumulator */
#define CHARDEV_IOC_ADD         0x4302  /* acc = acc * 6364136223846793005 + arg; returns acc >> 33 */
#define CHARDEV_IOC_STATS       0x4303  /* arg: struct chardev_stats * to fill */

struct chardev_stats {
    uint64_t bytes_written;
    uint64_t bytes_read;
    uint64_t interrupts;
    uint64_t ioctls;
    uint64_t accumulator;
    uint64_t opens;
};

/*
 * ramblk: a RAM disk of RAMBLK_SECTORS sectors. read() and write() take
 * whole sectors at sector-aligned offsets; each becomes requests on a queue
 * served by the driver's kernel thread, which completes them through an
 * interrupt.
 */
#define RAMBLK_MODULE           "ramblk"
#define RAMBLK_PATH             "/dev/ramblk"
#define RAMBLK_SECTOR_SIZE      512
#define RAMBLK_SECTORS          2048    /* 1 MiB */
#define RAMBLK_MAX_REQUEST      16      /* sectors per request; longer transfers are split */
#define RAMBLK_IOC_SECTORS      0x4201  /* returns the sector count */
#define RAMBLK_IOC_STATS        0x4202  /* arg: struct ramblk_stats * to fill */

struct ramblk_stats {
    uint64_t requests;
    uint64_t sectors_read;
    uint64_t sectors_written;
    uint64_t interrupts;
};

/*
 * loopback: a network device. Each open file is an endpoint: bind it to a
 * port, connect it to a destination port, then write() sends one packet and
 * read() receives one (waiting until one arrives). Packets go through the
 * device's transmit queue, its kernel thread (the wire) and its receive
 * interrupt, which hands them to the endpoint bound to their port.
 */
#define LOOPBACK_MODULE         "loopback"
#define LOOPBACK_PATH           "/dev/loopback"
#define LOOPBACK_MTU            1500
#define LOOPBACK_IOC_BIND       0x4c01  /* arg: port, 1-65535 */
#define LOOPBACK_IOC_CONNECT    0x4c02  /* arg: destination port */
#define LOOPBACK_IOC_STATS      0x4c03  /* arg: struct loopback_stats * to fill */

struct loopback_stats {
    uint64_t packets_sent;
    uint64_t packets_delivered;
    uint64_t packets_dropped;           /* no endpoint bound to the destination */
    uint64_t interrupts;
    uint64_t bytes;
};

/* compute: runs the integer compute kernel (guest/common/compute.c) in the kernel. */
#define COMPUTE_MODULE          "compute"
#define COMPUTE_PATH            "/dev/compute"
#define COMPUTE_IOC_RUN         0x4d01  /* arg: struct compute_request *; fills in checksum */

struct compute_request {
    uint64_t iterations;
    uint64_t checksum;
};

#endif
