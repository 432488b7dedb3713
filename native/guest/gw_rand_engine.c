/*
 * gw_rand_engine: an OpenSSL RAND engine for the microVM guest whose every byte comes from
 * the kernel's getrandom(). A guest restored from a snapshot shares the OpenSSL DRBG state
 * of every other clone (Node seeded it before the snapshot was taken); with this engine as
 * the default RAND method (crypto.setEngine(path, ENGINE_METHOD_RAND)) crypto.randomBytes
 * and TLS inside the guest draw from the kernel CRNG, which the host reseeds after a restore.
 * Built as a shared object with no -lcrypto: the symbols come from the node binary.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* the ENGINE API is deprecated in 3.0, still in Node 20 */
#include <errno.h>
#include <string.h>
#include <openssl/engine.h>
#include <openssl/rand.h>
#include <sys/random.h>

static const char *ENGINE_ID = "gw_getrandom";

static int gw_bytes(unsigned char *buf, int num) {
  size_t done = 0;
  while (num > 0 && done < (size_t)num) {
    ssize_t n = getrandom(buf + done, (size_t)num - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    done += (size_t)n;
  }
  return 1;
}

static int gw_status(void) { return 1; }

static RAND_METHOD gw_method = {
  NULL,     /* seed: the kernel pool is fed by the host, not by callers */
  gw_bytes, /* bytes */
  NULL,     /* cleanup */
  NULL,     /* add */
  gw_bytes, /* pseudorand */
  gw_status,
};

static int bind(ENGINE *e, const char *id) {
  if (id && strcmp(id, ENGINE_ID) != 0) return 0;
  if (!ENGINE_set_id(e, ENGINE_ID) || !ENGINE_set_name(e, "getrandom() RAND for gw guests") ||
      !ENGINE_set_RAND(e, &gw_method)) {
    return 0;
  }
  /*
   * OpenSSL 3 caches the RAND method on first use (Node used it at start-up), so registering
   * the engine as the default is not enough: make its method the process-wide one here.
   */
  return RAND_set_rand_method(&gw_method);
}

IMPLEMENT_DYNAMIC_BIND_FN(bind)
IMPLEMENT_DYNAMIC_CHECK_FN()
