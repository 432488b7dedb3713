/*
 * gw_reseed: the microVM guest agent's helper for snapshot restores. Clones restored from
 * one snapshot share the kernel CRNG state; writing to /dev/urandom only mixes bytes into
 * the input pool (kernel 6.1 reseeds the CRNG on a timer). For each request this credits the
 * host's fresh bytes with RNDADDENTROPY and forces an immediate reseed with RNDRESEEDCRNG,
 * so every clone's getrandom() diverges at once, and sets the clock, which a restore leaves
 * at the moment the snapshot was taken (TLS certificate checks need the real date).
 *
 * The agent starts it once, before the snapshot is taken, and talks to it over pipes: a
 * process started after a restore would cost a fork of the whole Node.js process (about
 * 170 ms under emulation). One request per line, one answer per line:
 *
 *   <now_ms> <64..512 hex digits>\n   ->   ok\n  |  err <reason>\n
 *
 * Needs root (the agent is PID 1). Built static by the image build.
 */
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_BYTES 256

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Returns NULL on success, else the reason. */
static const char *reseed(const char *line) {
  /* rand_pool_info ends in a flexible array: the bytes are stored straight behind it. */
  struct {
    struct rand_pool_info info;
    unsigned char buf[MAX_BYTES];
  } req;
  char *end = NULL;
  long long ms = strtoll(line, &end, 10);
  if (!end || *end != ' ' || ms <= 0) return "bad time";
  const char *hex = end + 1;
  size_t n = 0;
  while (hex[2 * n] && hex[2 * n] != '\n') {
    int hi = hexval(hex[2 * n]), lo = hexval(hex[2 * n + 1]);
    if (hi < 0 || lo < 0 || n >= MAX_BYTES) return "bad bytes";
    req.buf[n++] = (unsigned char)(hi << 4 | lo);
  }
  if (n < 32) return "need at least 32 bytes";
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "cannot open /dev/urandom";
  req.info.entropy_count = (int)(n * 8);
  req.info.buf_size = (int)n;
  const char *why = NULL;
  if (ioctl(fd, RNDADDENTROPY, &req.info) != 0) why = "RNDADDENTROPY failed";
  else if (ioctl(fd, RNDRESEEDCRNG) != 0) why = "RNDRESEEDCRNG failed";
  explicit_bzero(&req, sizeof req);
  close(fd);
  if (why) return why;
  struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };
  if (clock_settime(CLOCK_REALTIME, &ts) != 0) return "clock_settime failed";
  return NULL;
}

int main(void) {
  char line[2 * MAX_BYTES + 64];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    const char *why = reseed(line);
    explicit_bzero(line, sizeof line);
    if (why) printf("err %s\n", why);
    else puts("ok");
  }
  return 0;
}
