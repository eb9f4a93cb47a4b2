/**
 * The libc functions spirit calls through FFI, as plain data. Variadic C functions (`syscall`,
 * `prctl`, `ioctl`) are declared with the fixed argument list each use needs; on the Linux ABIs
 * spirit supports (x86_64, aarch64) integer and pointer arguments of variadic calls travel in the
 * same registers as fixed ones.
 * @module
 */

/** Symbol table of libc.so.6: the one table for every libc call in ffi/ (opened by ffi/libc.ts). */
export const LIBC_SYMBOLS = {
  /** int *__errno_location(void); the calling thread's errno. */
  __errno_location: { parameters: [], result: "pointer" },
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32" /* int errnum */], result: "pointer" },
  /** long syscall(long number, ...) with six integer arguments. */
  syscall6: {
    name: "syscall",
    parameters: [
      "i64", // long number
      "i64", // arg1
      "i64", // arg2
      "i64", // arg3
      "i64", // arg4
      "i64", // arg5
      "i64", // arg6
    ],
    result: "i64",
  },
  /** long syscall(SYS_perf_event_open, struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd, unsigned long flags) */
  syscall_perf_event_open: {
    name: "syscall",
    parameters: [
      "i64", // long number (SYS_perf_event_open)
      "buffer", // struct perf_event_attr *attr
      "i32", // pid_t pid
      "i32", // int cpu
      "i32", // int group_fd
      "u64", // unsigned long flags
    ],
    result: "i64",
  },
  /** int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5); */
  prctl: {
    parameters: [
      "i32", // int option
      "u64", // unsigned long arg2
      "u64", // unsigned long arg3
      "u64", // unsigned long arg4
      "u64", // unsigned long arg5
    ],
    result: "i32",
  },
  /** pid_t getpid(void); */
  getpid: { parameters: [], result: "i32" },
  /** ssize_t read(int fd, void *buf, size_t count); */
  read: {
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
    ],
    result: "isize",
  },
  /** ssize_t write(int fd, const void *buf, size_t count); */
  write: {
    parameters: [
      "i32", // int fd
      "buffer", // const void *buf
      "usize", // size_t count
    ],
    result: "isize",
  },
  /** int open(const char *pathname, int flags, mode_t mode); */
  open: {
    parameters: [
      "buffer", // const char *pathname (NUL-terminated)
      "i32", // int flags
      "u32", // mode_t mode
    ],
    result: "i32",
  },
  /** int mount(const char *source, const char *target, const char *filesystemtype, unsigned long mountflags, const void *data); */
  mount: {
    parameters: [
      "buffer", // const char *source
      "buffer", // const char *target
      "buffer", // const char *filesystemtype
      "u64", // unsigned long mountflags
      "buffer", // const void *data (NUL-terminated option string)
    ],
    result: "i32",
  },
  /** int umount2(const char *target, int flags); */
  umount2: {
    parameters: [
      "buffer", // const char *target
      "i32", // int flags
    ],
    result: "i32",
  },
  /** int socket(int domain, int type, int protocol); */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen); */
  connect: {
    parameters: [
      "i32", // int sockfd
      "buffer", // const struct sockaddr *addr
      "u32", // socklen_t addrlen
    ],
    result: "i32",
  },
  /** int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen); */
  setsockopt: {
    parameters: [
      "i32", // int sockfd
      "i32", // int level
      "i32", // int optname
      "buffer", // const void *optval
      "u32", // socklen_t optlen
    ],
    result: "i32",
  },
  /** ssize_t send(int sockfd, const void *buf, size_t len, int flags); */
  send: {
    parameters: [
      "i32", // int sockfd
      "buffer", // const void *buf
      "usize", // size_t len
      "i32", // int flags
    ],
    result: "isize",
  },
  /** ssize_t recv(int sockfd, void *buf, size_t len, int flags); */
  recv: {
    parameters: [
      "i32", // int sockfd
      "buffer", // void *buf
      "usize", // size_t len
      "i32", // int flags
    ],
    result: "isize",
  },
  /** int dup2(int oldfd, int newfd); */
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  /** int mlockall(int flags); */
  mlockall: { parameters: ["i32" /* int flags */], result: "i32" },
  /** int close(int fd); */
  close: { parameters: ["i32" /* int fd */], result: "i32" },
  /** int ioctl(int fd, unsigned long request, unsigned long arg); */
  ioctl: {
    parameters: [
      "i32", // int fd
      "u64", // unsigned long request
      "u64", // unsigned long arg
    ],
    result: "i32",
  },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); */
  mmap: {
    parameters: [
      "pointer", // void *addr
      "usize", // size_t length
      "i32", // int prot
      "i32", // int flags
      "i32", // int fd
      "i64", // off_t offset
    ],
    result: "pointer",
  },
  /** int munmap(void *addr, size_t length); */
  munmap: {
    parameters: [
      "pointer", // void *addr
      "usize", // size_t length
    ],
    result: "i32",
  },
  /** long sysconf(int name); */
  sysconf: { parameters: ["i32" /* int name */], result: "i64" },
  /** int madvise(void *addr, size_t length, int advice); */
  madvise: {
    parameters: [
      "pointer", // void *addr
      "usize", // size_t length
      "i32", // int advice
    ],
    result: "i32",
  },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout); runs in Deno's blocking pool. */
  poll: {
    parameters: [
      "buffer", // struct pollfd *fds
      "u64", // nfds_t nfds
      "i32", // int timeout
    ],
    result: "i32",
    nonblocking: true,
  },
  /** int eventfd(unsigned int initval, int flags); */
  eventfd: {
    parameters: [
      "u32", // unsigned int initval
      "i32", // int flags
    ],
    result: "i32",
  },
  /** int memcmp(const void *s1, const void *s2, size_t n); (`spirit bench ffi`'s direct call) */
  memcmp: {
    parameters: [
      "pointer", // const void *s1
      "pointer", // const void *s2
      "usize", // size_t n
    ],
    result: "i32",
  },
  /** void *dlsym(void *handle, const char *symbol); (RTLD_DEFAULT = NULL) */
  dlsym: {
    parameters: [
      "pointer", // void *handle
      "buffer", // const char *symbol
    ],
    result: "pointer",
  },
} as const satisfies Deno.ForeignLibraryInterface;
