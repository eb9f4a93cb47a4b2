/*
 * Block device prober for `spirit bench remote-swap`: the data path of a swap device without the
 * kernel's swap code, with direct I/O (O_DIRECT, no page cache) on the device itself. Phases:
 *   write:  SIZE_MIB in 1 MiB writes, in order (what swap-out's large writes cost);
 *   seq:    the same range in 1 MiB reads, in order (sequential swap-in, readahead at its best);
 *   random: RANDOM_READS reads of one 4 KiB page at random offsets, one at a time (depth 1: the
 *           latency of one swap-in fault's I/O, without the fault).
 * Every page read back is checked. Prints one JSON object on stdout; exit 3 on a wrong page.
 * Usage: device_prober DEVICE SIZE_MIB RANDOM_READS SEED
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define CHUNK (1024UL * 1024UL)

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void fill(unsigned char *page, uint64_t index, uint64_t seed) {
  uint64_t *words = (uint64_t *)page;
  for (uint64_t i = 0; i < PAGE / 8; i++) words[i] = (index * 0x9E3779B97F4A7C15ULL) ^ i ^ seed;
}

static int check(const unsigned char *page, uint64_t index, uint64_t seed) {
  const uint64_t *words = (const uint64_t *)page;
  for (uint64_t i = 0; i < PAGE / 8; i += 64) {
    if (words[i] != ((index * 0x9E3779B97F4A7C15ULL) ^ i ^ seed)) return 0;
  }
  return 1;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void io(ssize_t (*op)(int, void *, size_t, off_t), int fd, void *buffer, size_t length,
               off_t offset) {
  ssize_t n = op(fd, buffer, length, offset);
  if (n != (ssize_t)length) {
    perror("device I/O");
    exit(1);
  }
}

static ssize_t write_at(int fd, void *buffer, size_t length, off_t offset) {
  return pwrite(fd, buffer, length, offset);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: device_prober DEVICE SIZE_MIB RANDOM_READS SEED\n");
    return 2;
  }
  uint64_t chunks = strtoull(argv[2], NULL, 10);
  size_t reads = (size_t)strtoull(argv[3], NULL, 10);
  uint64_t seed = strtoull(argv[4], NULL, 10);
  int fd = open(argv[1], O_RDWR | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  unsigned char *buffer;
  double *latency = malloc(sizeof(double) * (reads + 1));
  if (posix_memalign((void **)&buffer, PAGE, CHUNK) != 0 || latency == NULL) {
    perror("allocation");
    return 1;
  }
  double start = now_us();
  for (uint64_t c = 0; c < chunks; c++) {
    for (uint64_t p = 0; p < CHUNK / PAGE; p++) fill(buffer + p * PAGE, c * (CHUNK / PAGE) + p, seed);
    io(write_at, fd, buffer, CHUNK, (off_t)(c * CHUNK));
  }
  double write_us = now_us() - start;
  long bad = 0;
  start = now_us();
  for (uint64_t c = 0; c < chunks; c++) {
    io(pread, fd, buffer, CHUNK, (off_t)(c * CHUNK));
    for (uint64_t p = 0; p < CHUNK / PAGE; p++) bad += !check(buffer + p * PAGE, c * (CHUNK / PAGE) + p, seed);
  }
  double seq_us = now_us() - start;
  srand48((long)seed);
  uint64_t pages = chunks * (CHUNK / PAGE);
  start = now_us();
  for (size_t i = 0; i < reads; i++) {
    uint64_t page = (uint64_t)(drand48() * (double)pages);
    double t0 = now_us();
    io(pread, fd, buffer, PAGE, (off_t)(page * PAGE));
    latency[i] = now_us() - t0;
    bad += !check(buffer, page, seed);
  }
  double random_us = now_us() - start;
  qsort(latency, reads, sizeof(double), compare);
  double p50 = reads ? latency[reads / 2] : 0;
  double p99 = reads ? latency[(size_t)((double)(reads - 1) * 0.99)] : 0;
  printf("{\"bytes\":%llu,\"writeUs\":%.0f,\"seqReadUs\":%.0f,\"randomReads\":%zu,"
         "\"randomUs\":%.0f,\"readP50Us\":%.1f,\"readP99Us\":%.1f,\"badPages\":%ld}\n",
         (unsigned long long)(chunks * CHUNK), write_us, seq_us, reads, random_us, p50, p99, bad);
  close(fd);
  return bad == 0 ? 0 : 3;
}
