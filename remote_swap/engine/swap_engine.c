/*
 * spirit swap engine: the data path of a remote swap device, in C because it must lock its
 * memory (mlockall) and a Deno process cannot: V8 discards heap pages with madvise(DONTNEED),
 * which fails on locked pages, and V8 aborts (see docs/remote_swap.md).
 *
 * It mounts a one-file FUSE filesystem (the file backs a loop device that is swap) and serves
 * every read, write and discard of that file from a spirit memory server over TCP, protocol
 * version 2 (HELLO, SWAP_OPEN, READ, WRITE, DISCARD, FREE; memserver/PROTOCOL.md), with one
 * connection per I/O thread. A lost connection is retried with backoff while I/O waits; the
 * region is re-attached by its key; a region the server no longer has turns every page stored
 * there into a lost page (reads of it fail with EIO). Writes pass a node-level token bucket.
 *
 * Its parent (the swap daemon, TypeScript) talks to it over stdin/stdout, JSON lines:
 *   stdout, first line: {"event":"ready","ioFlusher":true|"<error>"} or
 *                       {"event":"error","reason":"auth|unreachable|protocol|setup","message":"..."}
 *   stdin "stats"      -> {"event":"stats",...counters...}
 *   stdin "cap <B/s>"  -> {"event":"write-cap","bytesPerSec":N} (0: no cap)
 *   events any time:      {"event":"connection-lost"|"reconnected"|"remote-lost"|"unavailable",...}
 *   last line:            {"event":"ended"} once the mount is gone and every thread has stopped.
 * Neither the end of stdin nor SIGTERM/SIGINT/SIGHUP stops the engine: swapped pages depend on
 * it until the mount goes away.
 *
 * Usage: swap_engine MOUNTPOINT FSNAME SIZE_BYTES IP PORT TOKEN_FILE WORKERS WRITE_CAP_BPS
 *        TIMEOUT_MS RETRY_INITIAL_MS RETRY_MAX_MS RETRY_BUDGET_MS RETRY_EVERY_MS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif

#define PAGE 4096ULL
#define MAX_TRANSFER (1024 * 1024)
#define REQUEST_BYTES (MAX_TRANSFER + 4096)
#define MAX_WORKERS 16
#define SWAP_NODE 2
#define OUR_MINOR 38

/* Memory-server protocol (memserver/protocol.ts). */
#define HDR 24
#define OP_HELLO 1
#define OP_FREE 3
#define OP_READ 4
#define OP_WRITE 5
#define OP_SWAP_OPEN 10
#define OP_DISCARD 11
#define ST_OK 0
#define ST_AUTH_FAILED 3
#define ST_NO_SPACE 8
#define HELLO_MAGIC 0x534d5053u
#define SWAP_VERSION 2

/* Page states (remote_swap/shared_state.ts). */
#define EMPTY 0
#define STORED 1
#define LOST 2

/* Link states. */
#define CONNECTED 0
#define RECONNECTING 1
#define UNAVAILABLE 2

/* ---- configuration and shared state --------------------------------------------------------- */

static struct {
  const char *mountpoint, *fsname;
  uint64_t size, pages;
  char ip[64];
  int port, workers;
  uint8_t token[512];
  size_t token_len;
  uint8_t key[32];
  int timeout_ms, retry_initial_ms, retry_max_ms, retry_budget_ms, retry_every_ms;
  int fuse_fd;
  time_t start_time;
} cfg;

static uint8_t *page_state; /* one byte per page, atomic */

struct counters {
  double bytes_read, bytes_written, bytes_discarded, read_ops, write_ops, discard_ops, io_errors,
      stored_pages, lost_pages, reconnects, cap_wait_ms, readahead_hits, readahead_bytes;
};
static struct counters counters[MAX_WORKERS];
static int link_state[MAX_WORKERS];

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static double cap_rate, cap_burst, cap_tokens, cap_last_ms;
static int threads_left;
static const char *io_flusher_error = NULL;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* One JSON line on stdout (a parent gone away is ignored: SIGPIPE is ignored). */
static void emit(const char *format, ...) {
  char line[1024];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line - 1, format, args);
  va_end(args);
  if (n < 0) return;
  if (n > (int)sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  pthread_mutex_lock(&out_lock);
  ssize_t at = 0;
  while (at < n) {
    ssize_t w = write(1, line + at, n - at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    at += w;
  }
  pthread_mutex_unlock(&out_lock);
}

/* A JSON string body: quotes, backslashes and control characters escaped. */
static void json_text(char *out, size_t size, const char *text) {
  size_t o = 0;
  for (; *text && o + 7 < size; text++) {
    unsigned char c = (unsigned char)*text;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = 0;
}

static void fail_start(const char *reason, const char *format, ...) {
  char message[512], escaped[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  json_text(escaped, sizeof escaped, message);
  emit("{\"event\":\"error\",\"reason\":\"%s\",\"message\":\"%s\"}", reason, escaped);
  exit(1);
}

/* ---- page states --------------------------------------------------------------------------- */

static void mark(int worker, uint64_t first, uint64_t count, uint8_t state) {
  long stored = 0, lost = 0;
  for (uint64_t p = first; p < first + count; p++) {
    uint8_t before = __atomic_exchange_n(&page_state[p], state, __ATOMIC_SEQ_CST);
    if (before == state) continue;
    if (before == STORED) stored--;
    if (before == LOST) lost--;
    if (state == STORED) stored++;
    if (state == LOST) lost++;
  }
  counters[worker].stored_pages += stored;
  counters[worker].lost_pages += lost;
}

static uint64_t mark_all_lost(int worker) {
  uint64_t lost = 0;
  for (uint64_t p = 0; p < cfg.pages; p++) {
    uint8_t expected = STORED;
    if (__atomic_compare_exchange_n(&page_state[p], &expected, LOST, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
      lost++;
  }
  counters[worker].stored_pages -= (double)lost;
  counters[worker].lost_pages += (double)lost;
  return lost;
}

static double stored_pages_total(void) {
  double total = 0;
  for (int w = 0; w < cfg.workers; w++) total += counters[w].stored_pages;
  return total;
}

/* ---- write cap ------------------------------------------------------------------------------ */

static void set_cap(double rate) {
  pthread_mutex_lock(&cap_lock);
  cap_rate = rate;
  cap_burst = rate / 100 > 1048576 ? rate / 100 : 1048576;
  cap_tokens = cap_burst;
  cap_last_ms = now_ms();
  pthread_mutex_unlock(&cap_lock);
}

/* Takes bytes from the bucket; sleeps while in debt. Returns the milliseconds waited. */
static double take_write(double bytes) {
  pthread_mutex_lock(&cap_lock);
  if (cap_rate <= 0) {
    pthread_mutex_unlock(&cap_lock);
    return 0;
  }
  double now = now_ms();
  double tokens = cap_tokens + (now - cap_last_ms) * cap_rate / 1000;
  if (tokens > cap_burst) tokens = cap_burst;
  cap_last_ms = now;
  cap_tokens = tokens - bytes;
  double wait = cap_tokens >= 0 ? 0 : -cap_tokens / cap_rate * 1000;
  pthread_mutex_unlock(&cap_lock);
  sleep_ms(wait);
  return wait;
}

/* ---- memory-server link --------------------------------------------------------------------- */

struct link {
  int fd;
  uint32_t region, request_id;
  int reattached;
  uint64_t stored_bytes;
};

/* Outcome of a link call. */
#define LINK_OK 0
#define LINK_LOST -1   /* connection broken: reconnect and retry */
#define LINK_REFUSED -2 /* the server answered with an error status (in link_status) */

static __thread int link_status;
static __thread char link_message[201];

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t get64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* Sends the parts as one stream with as few sendmsg calls as the socket allows (one, usually). */
static int send_parts(int fd, struct iovec *iov, int count) {
  while (count > 0) {
    struct msghdr message = {.msg_iov = iov, .msg_iovlen = (size_t)count};
    ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    while (count > 0 && (size_t)n >= iov->iov_len) {
      n -= (ssize_t)iov->iov_len;
      iov++;
      count--;
    }
    if (count > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + n;
      iov->iov_len -= (size_t)n;
    }
  }
  return 0;
}

static int recv_all(int fd, void *data, size_t length) {
  uint8_t *p = data;
  while (length > 0) {
    ssize_t n = recv(fd, p, length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ECONNRESET; /* the server closed the connection */
    if (n <= 0) return -1;
    p += n;
    length -= (size_t)n;
  }
  return 0;
}

/* Receives at least `min` bytes of the stream into `a` (a_len bytes) and then `b` (b_len), in
 * one recvmsg when they have arrived. Only one reply is ever outstanding on a link, so nothing
 * past it is read. Returns the bytes received, or -1. */
static long recv_parts(int fd, uint8_t *a, size_t a_len, uint8_t *b, size_t b_len, size_t min) {
  size_t got = 0;
  while (got < min) {
    struct iovec iov[2];
    int count = 0;
    if (got < a_len) iov[count++] = (struct iovec){a + got, a_len - got};
    size_t in_b = got > a_len ? got - a_len : 0;
    if (b_len > in_b) iov[count++] = (struct iovec){b + in_b, b_len - in_b};
    struct msghdr message = {.msg_iov = iov, .msg_iovlen = (size_t)count};
    ssize_t n = recvmsg(fd, &message, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ECONNRESET; /* the server closed the connection */
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return (long)got;
}

/* Sends one request (header + up to two body parts) and receives the reply; the reply body goes
 * to `out` (at most out_len bytes). A request is one sendmsg, a reply usually one recvmsg.
 * Returns the body length, LINK_LOST or LINK_REFUSED. */
static long call(struct link *l, uint8_t op, uint32_t region, uint64_t offset, const void *a,
                 size_t a_len, const void *b, size_t b_len, void *out, size_t out_len) {
  uint8_t h[HDR];
  memset(h, 0, HDR);
  put32(h, (uint32_t)(a_len + b_len));
  h[4] = op;
  put32(h + 8, ++l->request_id);
  put32(h + 12, region);
  put64(h + 16, offset);
  struct iovec iov[3] = {{h, HDR}, {(void *)a, a_len}, {(void *)b, b_len}};
  if (send_parts(l->fd, iov, b_len ? 3 : a_len ? 2 : 1) != 0) return LINK_LOST;
  uint8_t r[HDR];
  long got = recv_parts(l->fd, r, HDR, out, out != NULL ? out_len : 0, HDR);
  if (got < 0) return LINK_LOST;
  size_t have = (size_t)got - HDR; /* body bytes already in `out` */
  uint32_t body = get32(r);
  uint16_t status;
  memcpy(&status, r + 6, 2);
  if (get32(r + 8) != l->request_id || body > MAX_TRANSFER + 8192 || have > body) return LINK_LOST;
  if (op == OP_SWAP_OPEN) l->region = get32(r + 12);
  if (status != ST_OK) {
    /* The message: what came with the header (in `out`), then the rest. */
    size_t keep = body < sizeof link_message - 1 ? body : sizeof link_message - 1;
    size_t copied = have < keep ? have : keep;
    if (copied) memcpy(link_message, out, copied);
    if (copied < keep && recv_all(l->fd, link_message + copied, keep - copied) != 0) return LINK_LOST;
    link_message[keep] = 0;
    for (size_t left = body - (have > keep ? have : keep); left > 0;) {
      char sink[256];
      size_t chunk = left < sizeof sink ? left : sizeof sink;
      if (recv_all(l->fd, sink, chunk) != 0) return LINK_LOST;
      left -= chunk;
    }
    link_status = status;
    return LINK_REFUSED;
  }
  if (body > out_len) return LINK_LOST;
  if (body > have && recv_all(l->fd, (uint8_t *)out + have, body - have) != 0) return LINK_LOST;
  return (long)body;
}

static void link_close(struct link *l) {
  if (l->fd >= 0) close(l->fd);
  l->fd = -1;
}

/* Connects, authenticates and opens the region. LINK_OK, LINK_LOST or LINK_REFUSED. */
static int link_open(struct link *l) {
  l->fd = -1;
  l->request_id = 0;
  struct sockaddr_storage address;
  socklen_t address_len;
  memset(&address, 0, sizeof address);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
  if (inet_pton(AF_INET, cfg.ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)cfg.port);
    address_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, cfg.ip, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)cfg.port);
    address_len = sizeof *v6;
  } else {
    snprintf(link_message, sizeof link_message, "bad address %s", cfg.ip);
    return LINK_LOST;
  }
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LINK_LOST;
  struct timeval tv = {cfg.timeout_ms / 1000, (cfg.timeout_ms % 1000) * 1000};
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&address, address_len) != 0) {
    snprintf(link_message, sizeof link_message, "connect to %s:%d: %s", cfg.ip, cfg.port,
             strerror(errno));
    close(fd);
    return LINK_LOST;
  }
  l->fd = fd;
  uint8_t hello[12 + 512];
  put32(hello, HELLO_MAGIC);
  uint16_t v = SWAP_VERSION;
  memcpy(hello + 4, &v, 2);
  memcpy(hello + 6, &v, 2);
  uint16_t token_len = (uint16_t)cfg.token_len;
  memcpy(hello + 8, &token_len, 2);
  memset(hello + 10, 0, 2);
  memcpy(hello + 12, cfg.token, cfg.token_len);
  uint8_t reply[64];
  long n = call(l, OP_HELLO, 0, 0, hello, 12 + cfg.token_len, NULL, 0, reply, sizeof reply);
  if (n < 0) {
    link_close(l);
    return (int)n;
  }
  n = call(l, OP_SWAP_OPEN, 0, cfg.size, cfg.key, sizeof cfg.key, NULL, 0, reply, sizeof reply);
  if (n < 0) {
    link_close(l);
    return (int)n;
  }
  if (n != 16) {
    snprintf(link_message, sizeof link_message, "SWAP_OPEN reply of %ld bytes", n);
    link_close(l);
    return LINK_LOST;
  }
  l->stored_bytes = get64(reply);
  l->reattached = (get32(reply + 8) & 1) != 0;
  return LINK_OK;
}

/* ---- a reconnecting backend per worker ------------------------------------------------------ */

struct backend {
  int worker;
  struct link link;
  int connected;
  int unavailable;
  double last_attempt_ms, lost_at_ms;
};

/* One connection attempt; 1 on success. */
static int attempt(struct backend *b) {
  b->last_attempt_ms = now_ms();
  if (link_open(&b->link) != LINK_OK) return 0;
  b->connected = 1;
  b->unavailable = 0;
  __atomic_store_n(&link_state[b->worker], CONNECTED, __ATOMIC_SEQ_CST);
  counters[b->worker].reconnects++;
  if (!b->link.reattached) {
    uint64_t lost = mark_all_lost(b->worker);
    if (lost > 0) {
      emit("{\"event\":\"remote-lost\",\"worker\":%d,\"lostPages\":%llu,\"message\":\"the memory "
           "server no longer has this device's region: %llu stored pages are lost; programs "
           "that touch them get SIGBUS\"}",
           b->worker, (unsigned long long)lost, (unsigned long long)lost);
    }
  }
  emit("{\"event\":\"reconnected\",\"worker\":%d,\"reattached\":%s,\"afterMs\":%.0f}", b->worker,
       b->link.reattached ? "true" : "false", now_ms() - b->lost_at_ms);
  return 1;
}

/* Makes sure the link is up: waits with backoff up to the budget; 0 when unavailable (EIO). */
static int ensure(struct backend *b) {
  if (b->connected) return 1;
  if (b->unavailable) {
    if (now_ms() - b->last_attempt_ms < cfg.retry_every_ms) return 0;
    return attempt(b);
  }
  __atomic_store_n(&link_state[b->worker], RECONNECTING, __ATOMIC_SEQ_CST);
  double started = now_ms(), delay = cfg.retry_initial_ms;
  for (;;) {
    if (attempt(b)) return 1;
    if (now_ms() - started >= cfg.retry_budget_ms) break;
    sleep_ms(delay);
    delay = delay * 2 < cfg.retry_max_ms ? delay * 2 : cfg.retry_max_ms;
  }
  b->unavailable = 1;
  __atomic_store_n(&link_state[b->worker], UNAVAILABLE, __ATOMIC_SEQ_CST);
  emit("{\"event\":\"unavailable\",\"worker\":%d,\"message\":\"no connection to the memory server "
       "for %d ms; swap I/O now fails with EIO (programs touching swapped pages get SIGBUS); "
       "retrying every %d ms\"}",
       b->worker, cfg.retry_budget_ms, cfg.retry_every_ms);
  return 0;
}

/* Runs one request, reconnecting and repeating it when the link breaks. 0 or a negative errno. */
static int remote(struct backend *b, uint8_t op, uint64_t offset, const void *body, size_t body_len,
                  void *out, size_t out_len) {
  uint8_t number[8];
  for (;;) {
    if (!ensure(b)) return -EIO;
    const void *a = body;
    size_t a_len = body_len;
    if (op == OP_READ) {
      put32(number, (uint32_t)out_len);
      a = number;
      a_len = 4;
    } else if (op == OP_DISCARD) {
      put64(number, body_len);
      a = number;
      a_len = 8;
    }
    long n = call(&b->link, op, b->link.region, offset, a, a_len, NULL, 0, out, out_len);
    if (n >= 0) return 0;
    if (n == LINK_REFUSED) return link_status == ST_NO_SPACE ? -ENOSPC : -EIO;
    const char *why = errno == EAGAIN ? "no answer within the I/O timeout" : strerror(errno);
    link_close(&b->link);
    b->connected = 0;
    b->lost_at_ms = now_ms();
    char escaped[512];
    json_text(escaped, sizeof escaped, why);
    emit("{\"event\":\"connection-lost\",\"worker\":%d,\"message\":\"memory server connection "
         "lost: %s\"}",
         b->worker, escaped);
  }
}

/* ---- sequential read-ahead from the memory server -------------------------------------------- */

/* A swap-in is synchronous: a faulting thread waits for one readahead window (vm.page-cluster
 * pages) at a time, and in sequential swap-in the memory-server round trip is most of the
 * device's time per window. So after answering a read that continues the previous one, a worker
 * tops up one shared buffer to the next `readahead_bytes` (when it holds less than half of that
 * ahead, fetching only what it lacks); reads inside it are answered without a round trip. A
 * write or discard that overlaps the buffer empties it, and one that overlaps a fetch in flight
 * spoils the fetch; both are checked again when the server has acknowledged the write, so a
 * fetch the server answered before the write lands cannot be kept. Page states are checked as
 * for any read (a lost page still fails with EIO; an empty one reads as zeros). */
#define READAHEAD_MAX (1024 * 1024)

static struct {
  pthread_mutex_t lock;
  uint8_t *data;                       /* READAHEAD_MAX bytes, allocated at start */
  uint64_t offset, length;             /* the buffer holds [offset, offset + length) */
  uint64_t fetch_offset, fetch_length; /* a fetch in flight (length 0: none) */
  int fetch_spoiled;
  uint64_t last_end; /* where the last read ended */
  uint64_t run_bytes; /* bytes read in order up to last_end */
} ra = {.lock = PTHREAD_MUTEX_INITIALIZER};
static uint64_t readahead_bytes; /* 0: no read-ahead (SPIRIT_SWAP_READAHEAD_KIB=0) */

static int overlaps(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len) {
  return a_len > 0 && b_len > 0 && a < b + b_len && b < a + a_len;
}

/* A read-ahead starts only once this many bytes were read in order: a random fault's readahead
 * window comes as two adjacent reads (the faulting page, then the rest of its cluster), and a
 * fetch after those would hold the worker from the next random fault for a 256 KiB round trip
 * (random 4 KiB swap-in fell from 31 to 25 MiB/s when every continuation started one). */
#define READAHEAD_RUN_MIN (128 * 1024)

/* Copies [offset, offset + size) into `out` when the buffer holds it (1), else 0; sets
 * `*sequential` when this read continues a run of at least READAHEAD_RUN_MIN bytes read in
 * order. */
static int readahead_take(uint64_t offset, uint64_t size, uint8_t *out, int *sequential) {
  pthread_mutex_lock(&ra.lock);
  ra.run_bytes = offset == ra.last_end ? ra.run_bytes + size : size;
  ra.last_end = offset + size;
  *sequential = ra.run_bytes >= READAHEAD_RUN_MIN;
  int hit = ra.length > 0 && offset >= ra.offset && offset + size <= ra.offset + ra.length;
  if (hit) memcpy(out, ra.data + (offset - ra.offset), size);
  pthread_mutex_unlock(&ra.lock);
  return hit;
}

/* A write or discard of [offset, offset + size): nothing read before it may be served after. */
static void readahead_drop(uint64_t offset, uint64_t size) {
  pthread_mutex_lock(&ra.lock);
  if (overlaps(offset, size, ra.offset, ra.length)) ra.length = 0;
  if (overlaps(offset, size, ra.fetch_offset, ra.fetch_length)) ra.fetch_spoiled = 1;
  pthread_mutex_unlock(&ra.lock);
}

/* After a sequential read ending at `end`: fetches what follows into the buffer, through
 * `staging` (at least READAHEAD_MAX bytes, free now). */
static void readahead_fetch(struct backend *b, uint64_t end, uint8_t *staging);

/* ---- FUSE ----------------------------------------------------------------------------------- */

static void fill_attr(struct fuse_attr *a, uint64_t node) {
  memset(a, 0, sizeof *a);
  int file = node == SWAP_NODE;
  a->ino = node;
  a->size = file ? cfg.size : 0;
  a->blocks = (a->size + 511) / 512;
  a->atime = a->mtime = a->ctime = (uint64_t)cfg.start_time;
  a->mode = file ? (S_IFREG | 0600) : (S_IFDIR | 0700);
  a->nlink = file ? 1 : 2;
  a->blksize = 4096;
}

static void reply(uint64_t unique, int error, const void *payload, size_t length, uint8_t *buffer) {
  struct fuse_out_header *h = (struct fuse_out_header *)buffer;
  h->len = (uint32_t)(sizeof *h + length);
  h->error = error;
  h->unique = unique;
  if (payload && length && (const uint8_t *)payload != buffer + sizeof *h)
    memcpy(buffer + sizeof *h, payload, length);
  while (write(cfg.fuse_fd, buffer, h->len) < 0 && errno == EINTR) {
  }
}

static void handle_io(struct backend *b, struct fuse_in_header *in, uint8_t *args, uint8_t *out) {
  int w = b->worker;
  uint8_t *data = out + sizeof(struct fuse_out_header);
  if (in->opcode == FUSE_READ) {
    struct fuse_read_in *r = (struct fuse_read_in *)args;
    uint64_t size = r->size;
    if (r->offset >= cfg.size) return reply(in->unique, 0, NULL, 0, out);
    if (r->offset + size > cfg.size) size = cfg.size - r->offset;
    if (r->offset % PAGE || size % PAGE || size > MAX_TRANSFER) {
      counters[w].io_errors++;
      return reply(in->unique, -EINVAL, NULL, 0, out);
    }
    uint64_t first = r->offset / PAGE, count = size / PAGE;
    int lost = 0, empty = 1;
    for (uint64_t p = first; p < first + count; p++) {
      uint8_t s = __atomic_load_n(&page_state[p], __ATOMIC_SEQ_CST);
      if (s == LOST) lost = 1;
      if (s != EMPTY) empty = 0;
    }
    if (lost) {
      counters[w].io_errors++;
      return reply(in->unique, -EIO, NULL, 0, out);
    }
    int sequential = 0;
    if (readahead_bytes > 0 && readahead_take(r->offset, size, data, &sequential)) {
      counters[w].readahead_hits++;
    } else if (!empty) {
      int error = remote(b, OP_READ, r->offset, NULL, 0, data, size);
      if (error) {
        counters[w].io_errors++;
        return reply(in->unique, error, NULL, 0, out);
      }
    }
    for (uint64_t i = 0; i < count; i++) {
      uint8_t s = __atomic_load_n(&page_state[first + i], __ATOMIC_SEQ_CST);
      /* A reconnect during this read may have found the region gone: never return its zeros. */
      if (s == LOST) {
        counters[w].io_errors++;
        return reply(in->unique, -EIO, NULL, 0, out);
      }
      if (s == EMPTY) memset(data + i * PAGE, 0, PAGE);
    }
    counters[w].read_ops++;
    counters[w].bytes_read += (double)size;
    reply(in->unique, 0, data, size, out);
    if (sequential) readahead_fetch(b, r->offset + size, data);
    return;
  }
  if (in->opcode == FUSE_WRITE) {
    struct fuse_write_in *r = (struct fuse_write_in *)args;
    uint8_t *source = args + sizeof *r;
    if (r->offset + r->size > cfg.size) return reply(in->unique, -EFBIG, NULL, 0, out);
    if (r->offset % PAGE || r->size % PAGE) {
      counters[w].io_errors++;
      return reply(in->unique, -EINVAL, NULL, 0, out);
    }
    counters[w].cap_wait_ms += take_write(r->size);
    readahead_drop(r->offset, r->size);
    int error = remote(b, OP_WRITE, r->offset, source, r->size, NULL, 0);
    readahead_drop(r->offset, r->size);
    if (error) {
      counters[w].io_errors++;
      return reply(in->unique, error, NULL, 0, out);
    }
    mark(w, r->offset / PAGE, r->size / PAGE, STORED);
    counters[w].write_ops++;
    counters[w].bytes_written += r->size;
    struct fuse_write_out wo = {.size = r->size, .padding = 0};
    return reply(in->unique, 0, &wo, sizeof wo, out);
  }
  /* FUSE_FALLOCATE with PUNCH_HOLE | KEEP_SIZE: the swap discard. */
  struct fuse_fallocate_in *f = (struct fuse_fallocate_in *)args;
  if (f->mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
    if (f->mode == 0 || f->mode == FALLOC_FL_KEEP_SIZE)
      return reply(in->unique, f->offset + f->length <= cfg.size ? 0 : -ENOSPC, NULL, 0, out);
    return reply(in->unique, -EOPNOTSUPP, NULL, 0, out);
  }
  uint64_t end = f->offset + f->length < cfg.size ? f->offset + f->length : cfg.size;
  uint64_t first = (f->offset + PAGE - 1) / PAGE, last = end / PAGE;
  if (last > first) {
    readahead_drop(first * PAGE, (last - first) * PAGE);
    int error = remote(b, OP_DISCARD, first * PAGE, NULL, (last - first) * PAGE, NULL, 0);
    readahead_drop(first * PAGE, (last - first) * PAGE);
    if (error) {
      counters[w].io_errors++;
      return reply(in->unique, error, NULL, 0, out);
    }
    mark(w, first, last - first, EMPTY);
    counters[w].bytes_discarded += (double)((last - first) * PAGE);
  }
  counters[w].discard_ops++;
  return reply(in->unique, 0, NULL, 0, out);
}

static void readahead_fetch(struct backend *b, uint64_t end, uint8_t *staging) {
  pthread_mutex_lock(&ra.lock);
  uint64_t buffer_end = ra.offset + ra.length;
  uint64_t ahead = ra.length > 0 && ra.offset <= end && end <= buffer_end ? buffer_end - end : 0;
  uint64_t limit = cfg.size - end > readahead_bytes ? end + readahead_bytes : cfg.size;
  /* Only what the buffer does not hold yet is fetched. */
  uint64_t from = end + ahead, length = limit > from ? limit - from : 0;
  int start = ra.fetch_length == 0 && ahead < readahead_bytes / 2 && length > 0;
  if (start) {
    ra.fetch_offset = from;
    ra.fetch_length = length;
    ra.fetch_spoiled = 0;
  }
  pthread_mutex_unlock(&ra.lock);
  if (!start) return;
  int stored = 0;
  for (uint64_t p = from / PAGE; p < (from + length) / PAGE && !stored; p++)
    stored = __atomic_load_n(&page_state[p], __ATOMIC_SEQ_CST) == STORED;
  /* Nothing stored there (empty pages read as zeros without a round trip): no fetch. */
  int error = stored ? remote(b, OP_READ, from, NULL, 0, staging, length) : -1;
  pthread_mutex_lock(&ra.lock);
  if (error == 0 && !ra.fetch_spoiled) {
    if (ra.length > 0 && ra.offset <= end && ra.offset + ra.length == from) {
      /* The buffer still ends where the fetch begins: keep its unread part, then append. */
      memmove(ra.data, ra.data + (end - ra.offset), from - end);
      memcpy(ra.data + (from - end), staging, length);
      ra.offset = end;
      ra.length = from - end + length;
    } else {
      memcpy(ra.data, staging, length);
      ra.offset = from;
      ra.length = length;
    }
    counters[b->worker].readahead_bytes += (double)length;
  }
  ra.fetch_length = 0;
  pthread_mutex_unlock(&ra.lock);
}

static void handle_init(struct fuse_in_header *in, uint8_t *args, uint8_t *out) {
  struct fuse_init_in *i = (struct fuse_init_in *)args;
  struct fuse_init_out o;
  memset(&o, 0, sizeof o);
  o.major = FUSE_KERNEL_VERSION;
  if (i->major > FUSE_KERNEL_VERSION) return reply(in->unique, 0, &o, sizeof o, out);
  if (i->major < FUSE_KERNEL_VERSION || i->minor < 23) return reply(in->unique, -EPROTO, NULL, 0, out);
  uint32_t wanted = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ASYNC_DIO | FUSE_MAX_PAGES;
  o.minor = i->minor < OUR_MINOR ? i->minor : OUR_MINOR;
  o.max_readahead = i->max_readahead;
  o.flags = i->flags & wanted;
  o.max_background = 64;
  o.congestion_threshold = 48;
  o.max_write = (o.flags & FUSE_MAX_PAGES) ? MAX_TRANSFER : 128 * 1024;
  o.time_gran = 1;
  o.max_pages = (uint16_t)(o.max_write / PAGE);
  reply(in->unique, 0, &o, sizeof o, out);
}

/* Metadata requests and the dispatch of I/O. Returns 0 on DESTROY. */
static int handle(struct backend *b, uint8_t *request, size_t length, uint8_t *out) {
  struct fuse_in_header *in = (struct fuse_in_header *)request;
  uint8_t *args = request + sizeof *in;
  if (length < sizeof *in) return 1;
  uint64_t node = in->nodeid;
  int known = node == FUSE_ROOT_ID || node == SWAP_NODE;
  switch (in->opcode) {
    case FUSE_INIT:
      handle_init(in, args, out);
      return 1;
    case FUSE_DESTROY:
      reply(in->unique, 0, NULL, 0, out);
      return 0;
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
      return 1;
    case FUSE_LOOKUP: {
      if (node != FUSE_ROOT_ID || strcmp((char *)args, "swap") != 0) {
        reply(in->unique, -ENOENT, NULL, 0, out);
        return 1;
      }
      struct fuse_entry_out e;
      memset(&e, 0, sizeof e);
      e.nodeid = SWAP_NODE;
      e.generation = 1;
      e.entry_valid = e.attr_valid = 3600;
      fill_attr(&e.attr, SWAP_NODE);
      reply(in->unique, 0, &e, sizeof e, out);
      return 1;
    }
    case FUSE_GETATTR:
    case FUSE_SETATTR: {
      if (!known) {
        reply(in->unique, -ENOENT, NULL, 0, out);
        return 1;
      }
      if (in->opcode == FUSE_SETATTR) {
        struct fuse_setattr_in *s = (struct fuse_setattr_in *)args;
        if ((s->valid & FATTR_SIZE) && s->size != cfg.size) {
          reply(in->unique, -EACCES, NULL, 0, out);
          return 1;
        }
      }
      struct fuse_attr_out a;
      memset(&a, 0, sizeof a);
      a.attr_valid = 3600;
      fill_attr(&a.attr, node);
      reply(in->unique, 0, &a, sizeof a, out);
      return 1;
    }
    case FUSE_OPEN:
    case FUSE_OPENDIR: {
      int dir = in->opcode == FUSE_OPENDIR;
      if ((dir && node != FUSE_ROOT_ID) || (!dir && node != SWAP_NODE)) {
        reply(in->unique, node == FUSE_ROOT_ID ? -EISDIR : -ENOENT, NULL, 0, out);
        return 1;
      }
      struct fuse_open_out o;
      memset(&o, 0, sizeof o);
      o.fh = dir ? 0 : 1;
      o.open_flags = dir ? 0 : FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES;
      reply(in->unique, 0, &o, sizeof o, out);
      return 1;
    }
    case FUSE_READDIR: {
      struct fuse_read_in *r = (struct fuse_read_in *)args;
      const char *names[] = {".", "..", "swap"};
      uint64_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, SWAP_NODE};
      uint32_t types[] = {4, 4, 8};
      size_t at = 0;
      uint8_t *data = out + sizeof(struct fuse_out_header);
      for (uint64_t i = r->offset; i < 3; i++) {
        size_t name_len = strlen(names[i]);
        size_t record = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + name_len);
        if (at + record > r->size) break;
        struct fuse_dirent *d = (struct fuse_dirent *)(data + at);
        memset(d, 0, record);
        d->ino = inos[i];
        d->off = i + 1;
        d->namelen = (uint32_t)name_len;
        d->type = types[i];
        memcpy(d->name, names[i], name_len);
        at += record;
      }
      reply(in->unique, 0, data, at, out);
      return 1;
    }
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
    case FUSE_FLUSH:
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
    case FUSE_ACCESS:
      reply(in->unique, 0, NULL, 0, out);
      return 1;
    case FUSE_STATFS: {
      struct fuse_statfs_out s;
      memset(&s, 0, sizeof s);
      s.st.blocks = cfg.size / PAGE;
      s.st.files = 1;
      s.st.bsize = s.st.frsize = 4096;
      s.st.namelen = 255;
      reply(in->unique, 0, &s, sizeof s, out);
      return 1;
    }
    case FUSE_READ:
    case FUSE_WRITE:
    case FUSE_FALLOCATE:
      if (node != SWAP_NODE) {
        reply(in->unique, -EBADF, NULL, 0, out);
        return 1;
      }
      handle_io(b, in, args, out);
      return 1;
    default:
      reply(in->unique, -ENOSYS, NULL, 0, out);
      return 1;
  }
}

/* ---- threads -------------------------------------------------------------------------------- */

static struct backend backends[MAX_WORKERS];

static void *io_thread(void *arg) {
  struct backend *b = arg;
  prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0); /* the main thread reported whether this is allowed */
  uint8_t *request = malloc(REQUEST_BYTES);
  uint8_t *out = malloc(MAX_TRANSFER + 4096);
  if (request == NULL || out == NULL) abort();
  memset(request, 0, REQUEST_BYTES);
  memset(out, 0, MAX_TRANSFER + 4096);
  for (;;) {
    ssize_t n = read(cfg.fuse_fd, request, REQUEST_BYTES);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break; /* ENODEV: unmounted; ECONNABORTED: aborted */
    }
    if (!handle(b, request, (size_t)n, out)) break;
  }
  /* The last thread out frees the region on the server: the device is gone. */
  if (__atomic_sub_fetch(&threads_left, 1, __ATOMIC_SEQ_CST) == 0 && b->connected)
    call(&b->link, OP_FREE, b->link.region, 0, NULL, 0, NULL, 0, NULL, 0);
  link_close(&b->link);
  return NULL;
}

static void print_stats(void) {
  struct counters t;
  memset(&t, 0, sizeof t);
  char links[128];
  size_t at = 0;
  for (int w = 0; w < cfg.workers; w++) {
    struct counters *c = &counters[w];
    t.bytes_read += c->bytes_read;
    t.bytes_written += c->bytes_written;
    t.bytes_discarded += c->bytes_discarded;
    t.read_ops += c->read_ops;
    t.write_ops += c->write_ops;
    t.discard_ops += c->discard_ops;
    t.io_errors += c->io_errors;
    t.stored_pages += c->stored_pages;
    t.lost_pages += c->lost_pages;
    t.reconnects += c->reconnects;
    t.cap_wait_ms += c->cap_wait_ms;
    t.readahead_hits += c->readahead_hits;
    t.readahead_bytes += c->readahead_bytes;
    at += (size_t)snprintf(links + at, sizeof links - at, "%s%d", w ? "," : "",
                           __atomic_load_n(&link_state[w], __ATOMIC_SEQ_CST));
  }
  pthread_mutex_lock(&cap_lock);
  double rate = cap_rate;
  pthread_mutex_unlock(&cap_lock);
  emit("{\"event\":\"stats\",\"bytesRead\":%.0f,\"bytesWritten\":%.0f,\"bytesDiscarded\":%.0f,"
       "\"readOps\":%.0f,\"writeOps\":%.0f,\"discardOps\":%.0f,\"ioErrors\":%.0f,"
       "\"storedPages\":%.0f,\"lostPages\":%.0f,\"reconnects\":%.0f,\"writeCapWaitMs\":%.0f,"
       "\"writeCapBytesPerSec\":%.0f,\"readaheadHits\":%.0f,\"readaheadBytes\":%.0f,"
       "\"links\":[%s]}",
       t.bytes_read, t.bytes_written, t.bytes_discarded, t.read_ops, t.write_ops, t.discard_ops,
       t.io_errors, t.stored_pages, t.lost_pages, t.reconnects, t.cap_wait_ms, rate,
       t.readahead_hits, t.readahead_bytes, links);
}

/* Reads commands from stdin until it closes; the engine keeps serving either way. */
static void *control_thread(void *arg) {
  (void)arg;
  char line[256];
  size_t used = 0;
  for (;;) {
    ssize_t n = read(0, line + used, sizeof line - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    used += (size_t)n;
    line[used] = 0;
    char *newline;
    while ((newline = strchr(line, '\n')) != NULL) {
      *newline = 0;
      if (strcmp(line, "stats") == 0) {
        print_stats();
      } else if (strncmp(line, "cap ", 4) == 0) {
        double rate = strtod(line + 4, NULL);
        set_cap(rate > 0 ? rate : 0);
        emit("{\"event\":\"write-cap\",\"bytesPerSec\":%.0f}", rate > 0 ? rate : 0);
      }
      size_t rest = used - (size_t)(newline + 1 - line);
      memmove(line, newline + 1, rest);
      used = rest;
      line[used] = 0;
    }
    if (used >= sizeof line - 1) used = 0; /* an overlong line is dropped */
  }
}

static int arg_int(const char *text, int min, int max, const char *what) {
  char *end;
  long v = strtol(text, &end, 10);
  if (*end || v < min || v > max) fail_start("setup", "%s %s must be in %d..%d", what, text, min, max);
  return (int)v;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  /* Swapped pages depend on this process: only the end of the mount (or SIGKILL) ends it, so a
   * `pkill -TERM` aimed at a run's processes, or a terminal's signals, cannot lose them. */
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  if (argc != 14) {
    fprintf(stderr,
            "usage: swap_engine MOUNTPOINT FSNAME SIZE_BYTES IP PORT TOKEN_FILE WORKERS "
            "WRITE_CAP_BPS TIMEOUT_MS RETRY_INITIAL_MS RETRY_MAX_MS RETRY_BUDGET_MS "
            "RETRY_EVERY_MS\n");
    return 2;
  }
  cfg.mountpoint = argv[1];
  cfg.fsname = argv[2];
  cfg.size = strtoull(argv[3], NULL, 10);
  cfg.pages = cfg.size / PAGE;
  if (cfg.size == 0 || cfg.size % PAGE) fail_start("setup", "size %s is not whole pages", argv[3]);
  snprintf(cfg.ip, sizeof cfg.ip, "%s", argv[4]);
  cfg.port = arg_int(argv[5], 1, 65535, "port");
  cfg.workers = arg_int(argv[7], 1, MAX_WORKERS, "workers");
  double cap = strtod(argv[8], NULL);
  cfg.timeout_ms = arg_int(argv[9], 1, 3600000, "timeout");
  cfg.retry_initial_ms = arg_int(argv[10], 1, 3600000, "retry initial");
  cfg.retry_max_ms = arg_int(argv[11], 1, 3600000, "retry max");
  cfg.retry_budget_ms = arg_int(argv[12], 0, 86400000, "retry budget");
  cfg.retry_every_ms = arg_int(argv[13], 1, 3600000, "retry every");
  cfg.start_time = time(NULL);

  FILE *token = fopen(argv[6], "r");
  if (token == NULL) fail_start("setup", "cannot read the token file %s: %s", argv[6], strerror(errno));
  cfg.token_len = fread(cfg.token, 1, sizeof cfg.token, token);
  fclose(token);
  while (cfg.token_len > 0 && (cfg.token[cfg.token_len - 1] == '\n' || cfg.token[cfg.token_len - 1] == '\r'))
    cfg.token_len--;

  /* Every page of this process stays in memory: it serves the swap its own pages would use. */
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
    fail_start("setup", "mlockall failed: %s", strerror(errno));
  page_state = calloc(cfg.pages, 1);
  if (page_state == NULL) fail_start("setup", "cannot allocate the page states");
  const char *readahead_kib = getenv("SPIRIT_SWAP_READAHEAD_KIB");
  readahead_bytes = (uint64_t)(readahead_kib != NULL
                                   ? arg_int(readahead_kib, 0, READAHEAD_MAX / 1024,
                                             "SPIRIT_SWAP_READAHEAD_KIB")
                                   : 256) *
                    1024 / PAGE * PAGE;
  ra.last_end = UINT64_MAX;
  ra.data = malloc(READAHEAD_MAX);
  if (ra.data == NULL) fail_start("setup", "cannot allocate the read-ahead buffer");
  memset(ra.data, 0, READAHEAD_MAX);
  if (getrandom(cfg.key, sizeof cfg.key, 0) != (ssize_t)sizeof cfg.key)
    fail_start("setup", "getrandom failed: %s", strerror(errno));
  set_cap(cap > 0 ? cap : 0);

  for (int w = 0; w < cfg.workers; w++) {
    backends[w].worker = w;
    int result = link_open(&backends[w].link);
    if (result == LINK_REFUSED) {
      char escaped[512];
      json_text(escaped, sizeof escaped, link_message);
      fail_start(link_status == ST_AUTH_FAILED ? "auth" : "protocol",
                 "the memory server at %s:%d refused: %s", cfg.ip, cfg.port, escaped);
    }
    if (result != LINK_OK) {
      char escaped[512];
      json_text(escaped, sizeof escaped, link_message[0] ? link_message : strerror(errno));
      fail_start("unreachable", "the memory server at %s:%d is unreachable: %s", cfg.ip, cfg.port,
                 escaped);
    }
    backends[w].connected = 1;
  }

  cfg.fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (cfg.fuse_fd < 0) fail_start("setup", "open(/dev/fuse): %s", strerror(errno));
  char options[256];
  snprintf(options, sizeof options,
           "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", cfg.fuse_fd);
  if (mount(cfg.fsname, cfg.mountpoint, "fuse.spirit-swap", MS_NOSUID | MS_NODEV, options) != 0)
    fail_start("setup", "mount(%s): %s", cfg.mountpoint, strerror(errno));

  /* New threads inherit the I/O flusher flags; each thread sets them again all the same. */
  if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0) io_flusher_error = strerror(errno);
  threads_left = cfg.workers;
  pthread_t threads[MAX_WORKERS];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* locked and populated at creation */
  for (int w = 0; w < cfg.workers; w++) {
    if (pthread_create(&threads[w], &attr, io_thread, &backends[w]) != 0) {
      umount2(cfg.mountpoint, MNT_DETACH);
      fail_start("setup", "cannot start I/O thread %d", w);
    }
  }
  if (io_flusher_error != NULL) {
    char escaped[256];
    json_text(escaped, sizeof escaped, io_flusher_error);
    emit("{\"event\":\"ready\",\"ioFlusher\":\"prctl(PR_SET_IO_FLUSHER) failed: %s\"}", escaped);
  } else {
    emit("{\"event\":\"ready\",\"ioFlusher\":true}");
  }
  pthread_t control;
  pthread_create(&control, &attr, control_thread, NULL);
  pthread_detach(control);
  for (int w = 0; w < cfg.workers; w++) pthread_join(threads[w], NULL);
  close(cfg.fuse_fd);
  emit("{\"event\":\"ended\",\"storedPages\":%.0f}", stored_pages_total());
  return 0;
}
