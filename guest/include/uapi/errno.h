/*
 * Error numbers, shared by the kernel and user programs. System calls return
 * them negated. The values are Linux's, so the workloads that use no Drk
 * device also run unchanged on a Linux host (docs/guest-abi.md, section 15.4).
 */
#ifndef DRK_UAPI_ERRNO_H
#define DRK_UAPI_ERRNO_H

#define EPERM         1
#define ENOENT        2
#define ESRCH         3
#define EIO           5
#define E2BIG         7
#define ENOEXEC       8
#define EBADF         9
#define ECHILD       10
#define EAGAIN       11
#define ENOMEM       12
#define EACCES       13
#define EFAULT       14
#define EBUSY        16
#define EEXIST       17
#define ENODEV       19
#define ENOTDIR      20
#define EISDIR       21
#define EINVAL       22
#define EMFILE       24
#define ENOTTY       25
#define EFBIG        27
#define ENOSPC       28
#define ESPIPE       29
#define EROFS        30
#define EPIPE        32
#define ERANGE       34
#define ENAMETOOLONG 36
#define ENOSYS       38
#define ENOTEMPTY    39

#endif
