/*
 * Swap prober for `spirit bench remote-swap` (built from source with gcc; run inside a memory
 * cgroup whose limit is well below SIZE_MIB, so most of its memory lives in swap). Phases:
 *   fill:   write a pattern into every 4 KiB page (swap-out under the cgroup limit);
 *   seq:    read every page in order and check the pattern (sequential swap-in);
 *   random: read RANDOM_PAGES distinct random pages, timing each access that finds its page
 *           swapped out (mincore), at queue depth 1 (4 KiB fault latency, random swap-in).
 * Swapped bytes come from mincore(): pages not resident when a phase starts (seq, random) or
 * when it ends (fill). The CPU time of each phase (user + system, getrusage) is the cost of the
 * faults in the program itself: page-fault handling, reclaim at the cgroup limit, and waiting
 * for the device is not in it. Prints one JSON object on stdout. Exit 3 when a page reads back
 * wrong.
 * Usage: swap_prober SIZE_MIB RANDOM_PAGES SEED
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

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

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: swap_prober SIZE_MIB RANDOM_PAGES SEED\n");
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

  size_t seq_out = swapped_pages(memory, pages, vec);
  long bad = 0;
  start = now_us();
  cpu = cpu_us();
  for (uint64_t p = 0; p < pages; p++) bad += !check(memory, p, seed);
  double seq_us = now_us() - start, seq_cpu_us = cpu_us() - cpu;

  /* A random permutation prefix: distinct pages. */
  srand48((long)seed);
  for (size_t p = 0; p < pages; p++) order[p] = (uint32_t)p;
  for (size_t i = 0; i < random_pages; i++) {
    size_t j = i + (size_t)(drand48() * (double)(pages - i));
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
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
  qsort(latency, faults, sizeof(double), compare);
  double p50 = faults ? latency[faults / 2] : 0;
  double p99 = faults ? latency[(size_t)((double)(faults - 1) * 0.99)] : 0;

  printf(
      "{\"pages\":%zu,\"fillUs\":%.0f,\"fillSwappedPages\":%zu,\"seqUs\":%.0f,"
      "\"seqSwappedPages\":%zu,\"randomPages\":%zu,\"randomUs\":%.0f,\"randomSwappedPages\":%zu,"
      "\"randomFaults\":%zu,\"faultP50Us\":%.1f,\"faultP99Us\":%.1f,\"badPages\":%ld,"
      "\"fillCpuUs\":%.0f,\"seqCpuUs\":%.0f,\"randomCpuUs\":%.0f}\n",
      pages, fill_us, fill_out, seq_us, seq_out, random_pages, random_us, random_out, faults, p50,
      p99, bad, fill_cpu_us, seq_cpu_us, random_cpu_us);
  return bad == 0 ? 0 : 3;
}
