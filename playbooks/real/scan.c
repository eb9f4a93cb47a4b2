/*
 * scan: a bandwidth-bound program for the real-program playbooks. It maps SIZE_MIB of anonymous
 * memory and sweeps it sequentially, PASSES times (0: until killed), reading and writing one
 * byte in every 64-byte line, so each pass touches every page. A sweep larger than the memory
 * it may keep resident swaps the whole array in on every pass: its speed is the remote-memory
 * bandwidth it gets, and more cache barely helps until the whole array fits.
 *
 * After every MiB it prints "scanned <MiB so far>" (line-buffered): a cumulative count for a
 * `log` throughput source. Debian's mbw and stress-ng do not offer that: stress-ng --stream
 * reports only at exit, and mbw prints one line per whole-array pass (seconds apart when the
 * array is swapped).
 *
 * Usage: scan SIZE_MIB [PASSES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: scan SIZE_MIB [PASSES]\n");
    return 2;
  }
  size_t mib = (size_t)strtoull(argv[1], NULL, 10);
  long passes = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
  if (mib == 0) {
    fprintf(stderr, "scan: SIZE_MIB must be at least 1\n");
    return 2;
  }
  size_t size = mib << 20;
  volatile unsigned char *memory =
      mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    perror("scan: mmap");
    return 1;
  }
  /* 4 KiB pages: swap-in is then per page, as for most programs. */
  madvise((void *)memory, size, MADV_NOHUGEPAGE);
  setvbuf(stdout, NULL, _IOLBF, 0);
  unsigned long long scanned = 0;
  for (long pass = 0; passes == 0 || pass < passes; pass++) {
    for (size_t offset = 0; offset < size; offset += 1 << 20) {
      for (size_t line = 0; line < 1 << 20; line += 64) memory[offset + line] += 1;
      printf("scanned %llu\n", ++scanned);
    }
  }
  return 0;
}
