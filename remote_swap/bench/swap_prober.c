/*
 * Swap prober for `spirit bench remote-swap` (built from source with gcc; run inside a memory
 * cgroup whose limit is well below SIZE_MIB, so most of its memory lives in swap). Phases:
 *   fill:   write a pattern into every 4 KiB page (swap-out under the cgroup limit);
 *   seq:    read every page in order and check the pattern (sequential swap-in);
 *   random: read RANDOM_PAGES distinct random pages, timing each access that finds its page
 *           swapped out (mincore), at queue depth 1 (4 KiB fault latency, random swap-in).
 * MODE "reclaim" (the default) reads under the limit: every page swapped in makes the kernel
 * reclaim (swap out) another, so seq and random are swap-in under reclaim, reads and writes mixed.
 * MODE "pure" lifts the cgroup's memory limit before seq (the prober finds its own memory cgroup
 * in /proc/self/cgroup and /proc/self/mountinfo and writes memory.limit_in_bytes, or memory.max
 * and memory.high on v2), so seq only reads; before random it puts the limit back (the write
 * reclaims, pushing pages out again: not timed) and lifts it again, so random only reads too;
 * then it times one write to each page of a fresh mapping (touchUs: zero-fill page faults, no
 * I/O, the most pages per second one faulting thread can take on this machine).
 * Swapped bytes come from mincore(): pages not resident when a phase starts (seq, random) or
 * when it ends (fill); seqResidentPagesAfter counts the pages resident when seq ends (all of
 * them in mode "pure": nothing was reclaimed). The CPU time of each phase (user + system,
 * getrusage) is the cost of the faults in the program itself: page-fault handling, reclaim at
 * the cgroup limit, and the check; waiting for the device is not in it. Prints one JSON object
 * on stdout. Exit 3 when a page reads back wrong.
 * Usage: swap_prober SIZE_MIB RANDOM_PAGES SEED [reclaim|pure]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* CPU time of this process so far (user + system), microseconds. */
static double cpu_us(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + usage.ru_utime.tv_usec +
         usage.ru_stime.tv_usec;
}

static uint64_t word(uint64_t page, uint64_t i, uint64_t seed) {
  return (page * 0x9E3779B97F4A7C15ULL) ^ (i * 0xBF58476D1CE4E5B9ULL) ^ seed;
}

/* Pages of [memory, memory + size) that are not resident. */
static size_t swapped_pages(unsigned char *memory, size_t pages, unsigned char *vec) {
  if (mincore(memory, pages * PAGE, vec) != 0) {
    perror("mincore");
    exit(1);
  }
  size_t out = 0;
  for (size_t p = 0; p < pages; p++) out += (vec[p] & 1) == 0;
  return out;
}

static int check(unsigned char *memory, uint64_t page, uint64_t seed) {
  uint64_t *words = (uint64_t *)(memory + page * PAGE);
  /* Every 64th word: touches each cache line once and catches a wrong page. */
  for (uint64_t i = 0; i < PAGE / 8; i += 8) {
    if (words[i] != word(page, i, seed)) return 0;
  }
  return 1;
}

/* ---- the prober's own memory cgroup (MODE "pure") ------------------------------------------- */

/* The limit files of this process's memory cgroup: v1 memory.limit_in_bytes, else v2 memory.max
 * and memory.high. */
static struct {
  int v2;
  char dir[768];
  char max_saved[64], high_saved[64];
} cgroup;

/* The mount point of the v1 memory hierarchy (v2 = 0) or of cgroup2 (v2 = 1). */
static int cgroup_mount(int v2, char *out, size_t size) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[1024];
  int found = 0;
  while (!found && f != NULL && fgets(line, sizeof line, f) != NULL) {
    char mountpoint[512], fstype[64], options[512];
    const char *dash = strstr(line, " - ");
    if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %511s", mountpoint) != 1) continue;
    if (sscanf(dash, " - %63s %*s %511s", fstype, options) != 2) continue;
    if (v2 ? strcmp(fstype, "cgroup2") == 0
           : strcmp(fstype, "cgroup") == 0 && strstr(options, "memory") != NULL) {
      snprintf(out, size, "%s", mountpoint);
      found = 1;
    }
  }
  if (f != NULL) fclose(f);
  return found;
}

static void find_cgroup(void) {
  FILE *f = fopen("/proc/self/cgroup", "r");
  char line[1024], v1_path[512] = "", v2_path[512] = "", mount[512];
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = 0;
    char *controllers = strchr(line, ':'), *path;
    if (controllers == NULL || (path = strchr(controllers + 1, ':')) == NULL) continue;
    *path++ = 0;
    controllers++;
    if (*controllers == 0) snprintf(v2_path, sizeof v2_path, "%s", path);
    for (char *c = strtok(controllers, ","); c != NULL; c = strtok(NULL, ",")) {
      if (strcmp(c, "memory") == 0) snprintf(v1_path, sizeof v1_path, "%s", path);
    }
  }
  if (f != NULL) fclose(f);
  if (*v1_path && cgroup_mount(0, mount, sizeof mount)) {
    cgroup.v2 = 0;
    snprintf(cgroup.dir, sizeof cgroup.dir, "%s%s", mount, v1_path);
  } else if (*v2_path && cgroup_mount(1, mount, sizeof mount)) {
    cgroup.v2 = 1;
    snprintf(cgroup.dir, sizeof cgroup.dir, "%s%s", mount, v2_path);
  } else {
    fprintf(stderr, "swap_prober: cannot find this process's memory cgroup\n");
    exit(1);
  }
}

static void read_control(const char *name, char *out, size_t size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", cgroup.dir, name);
  FILE *f = fopen(path, "r");
  if (f == NULL || fgets(out, (int)size, f) == NULL) {
    fprintf(stderr, "swap_prober: cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  out[strcspn(out, "\n")] = 0;
}

static void write_control(const char *name, const char *value) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", cgroup.dir, name);
  int fd = open(path, O_WRONLY);
  if (fd < 0 || write(fd, value, strlen(value)) < 0) {
    fprintf(stderr, "swap_prober: cannot write %s to %s: ", value, path);
    perror(NULL);
    exit(1);
  }
  close(fd);
}

/* Lifts the memory limit (remembering it, the first time). */
static void lift_limit(void) {
  if (!*cgroup.dir) {
    find_cgroup();
    read_control(cgroup.v2 ? "memory.max" : "memory.limit_in_bytes", cgroup.max_saved,
                 sizeof cgroup.max_saved);
    if (cgroup.v2) read_control("memory.high", cgroup.high_saved, sizeof cgroup.high_saved);
  }
  if (cgroup.v2) {
    write_control("memory.max", "max");
    write_control("memory.high", "max");
  } else {
    write_control("memory.limit_in_bytes", "-1");
  }
}

/* Puts the remembered limit back: the write reclaims down to it (pages go to swap). */
static void restore_limit(void) {
  if (cgroup.v2) {
    write_control("memory.high", cgroup.high_saved);
    write_control("memory.max", cgroup.max_saved);
  } else {
    write_control("memory.limit_in_bytes", cgroup.max_saved);
  }
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: swap_prober SIZE_MIB RANDOM_PAGES SEED [reclaim|pure]\n");
    return 2;
  }
  const char *mode = argc == 5 ? argv[4] : "reclaim";
  int pure = strcmp(mode, "pure") == 0;
  if (!pure && strcmp(mode, "reclaim") != 0) {
    fprintf(stderr, "swap_prober: MODE %s: expected reclaim or pure\n", mode);
    return 2;
  }
  size_t pages = (size_t)strtoull(argv[1], NULL, 10) * 256;
  size_t random_pages = (size_t)strtoull(argv[2], NULL, 10);
  uint64_t seed = strtoull(argv[3], NULL, 10);
  if (random_pages > pages) random_pages = pages;
  unsigned char *memory =
      mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *vec = malloc(pages);
  double *latency = malloc(sizeof(double) * (random_pages + 1));
  uint32_t *order = malloc(sizeof(uint32_t) * pages);
  if (memory == MAP_FAILED || vec == NULL || latency == NULL || order == NULL) {
    perror("allocation");
    return 1;
  }
  madvise(memory, pages * PAGE, MADV_NOHUGEPAGE);

  double start = now_us(), cpu = cpu_us();
  for (uint64_t p = 0; p < pages; p++) {
    uint64_t *words = (uint64_t *)(memory + p * PAGE);
    for (uint64_t i = 0; i < PAGE / 8; i++) words[i] = word(p, i, seed);
  }
  double fill_us = now_us() - start, fill_cpu_us = cpu_us() - cpu;
  size_t fill_out = swapped_pages(memory, pages, vec);

  if (pure) lift_limit();
  size_t seq_out = swapped_pages(memory, pages, vec);
  long bad = 0;
  start = now_us();
  cpu = cpu_us();
  for (uint64_t p = 0; p < pages; p++) bad += !check(memory, p, seed);
  double seq_us = now_us() - start, seq_cpu_us = cpu_us() - cpu;
  size_t seq_resident_after = pages - swapped_pages(memory, pages, vec);

  /* A random permutation prefix: distinct pages. */
  srand48((long)seed);
  for (size_t p = 0; p < pages; p++) order[p] = (uint32_t)p;
  for (size_t i = 0; i < random_pages; i++) {
    size_t j = i + (size_t)(drand48() * (double)(pages - i));
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  if (pure) {
    restore_limit();
    lift_limit();
  }
  size_t faults = 0;
  size_t random_out = swapped_pages(memory, pages, vec);
  start = now_us();
  cpu = cpu_us();
  for (size_t i = 0; i < random_pages; i++) {
    uint64_t page = order[i];
    unsigned char resident = 0;
    mincore(memory + page * PAGE, PAGE, &resident);
    double t0 = now_us();
    bad += !check(memory, page, seed);
    double t1 = now_us();
    if ((resident & 1) == 0) latency[faults++] = t1 - t0;
  }
  double random_us = now_us() - start, random_cpu_us = cpu_us() - cpu;

  /* Mode "pure", limit lifted: one write to each page of a fresh mapping, so every access is a
   * zero-fill page fault with no I/O: the most pages per second one faulting thread gets here. */
  double touch_us = 0;
  if (pure) {
    unsigned char *fresh =
        mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fresh == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    madvise(fresh, pages * PAGE, MADV_NOHUGEPAGE);
    start = now_us();
    for (uint64_t p = 0; p < pages; p++) fresh[p * PAGE] = 1;
    touch_us = now_us() - start;
    munmap(fresh, pages * PAGE);
  }
  qsort(latency, faults, sizeof(double), compare);
  double p50 = faults ? latency[faults / 2] : 0;
  double p99 = faults ? latency[(size_t)((double)(faults - 1) * 0.99)] : 0;

  printf(
      "{\"pages\":%zu,\"fillUs\":%.0f,\"fillSwappedPages\":%zu,\"seqUs\":%.0f,"
      "\"seqSwappedPages\":%zu,\"seqResidentPagesAfter\":%zu,\"randomPages\":%zu,"
      "\"randomUs\":%.0f,\"randomSwappedPages\":%zu,"
      "\"randomFaults\":%zu,\"faultP50Us\":%.1f,\"faultP99Us\":%.1f,\"badPages\":%ld,"
      "\"fillCpuUs\":%.0f,\"seqCpuUs\":%.0f,\"randomCpuUs\":%.0f,\"touchUs\":%.0f,"
      "\"mode\":\"%s\"}\n",
      pages, fill_us, fill_out, seq_us, seq_out, seq_resident_after, random_pages, random_us,
      random_out, faults, p50, p99, bad, fill_cpu_us, seq_cpu_us, random_cpu_us, touch_us, mode);
  return bad == 0 ? 0 : 3;
}
