/* SPDX-License-Identifier: MIT */
/* libnss_heyestest.so.2: an NSS hosts service of the tests' own, loaded by
 * glibc (and by heyes) through LD_LIBRARY_PATH. Its names:
 *   both.nss.test      2001:db8::10 and 192.0.2.10
 *   v4only.nss.test    192.0.2.11 only (IPv6: NOTFOUND, NO_DATA)
 *   loopback.nss.test  ::1 and 127.0.0.1 (to dial a test's listener)
 *   slow6.nss.test     ::1 after 400 ms, 127.0.0.1 at once
 *   never.nss.test     blocks for 20 s, then NOTFOUND
 *   unavail.nss.test   UNAVAIL; tryagain.nss.test: TRYAGAIN
 *   anything else      NOTFOUND (HOST_NOT_FOUND)
 * A name is matched without regard to case and to one trailing dot. Each
 * call appends "NAME FAMILY" to $HEYES_NSS_LOG when it is set. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

static int is(const char* name, const char* want) {
  size_t n = strlen(name), w = strlen(want);
  if (n == w + 1 && name[w] == '.') n = w;
  return n == w && strncasecmp(name, want, w) == 0;
}

static void log_call(const char* name, int af) {
  const char* path = getenv("HEYES_NSS_LOG");
  if (!path) return;
  FILE* f = fopen(path, "a");
  if (!f) return;
  fprintf(f, "%s %s\n", name, af == AF_INET6 ? "ipv6" : "ipv4");
  fclose(f);
}

static void pause_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

/* One address of family af in result, laid out in buffer. */
static enum nss_status fill(const char* name, int af, const char* text, struct hostent* result, char* buffer,
                            size_t buflen, int* errnop, int* h_errnop) {
  size_t len = af == AF_INET6 ? 16 : 4;
  size_t name_len = strlen(name) + 1;
  /* Two pointer arrays (addresses, aliases), the address, the name. */
  size_t need = 4 * sizeof(char*) + len + name_len + sizeof(char*);
  if (buflen < need) {
    *errnop = ERANGE;
    *h_errnop = NETDB_INTERNAL;
    return NSS_STATUS_TRYAGAIN;
  }
  uintptr_t align = (uintptr_t)buffer % sizeof(char*);
  char* p = buffer + (align ? sizeof(char*) - align : 0);
  char** addrs = (char**)p;
  char** aliases = addrs + 2;
  char* addr = (char*)(aliases + 2);
  char* copy = addr + len;
  if (inet_pton(af, text, addr) != 1) {
    *errnop = EINVAL;
    *h_errnop = NO_RECOVERY;
    return NSS_STATUS_UNAVAIL;
  }
  memcpy(copy, name, name_len);
  addrs[0] = addr;
  addrs[1] = NULL;
  aliases[0] = NULL;
  result->h_name = copy;
  result->h_aliases = aliases;
  result->h_addrtype = af;
  result->h_length = (int)len;
  result->h_addr_list = addrs;
  return NSS_STATUS_SUCCESS;
}

static enum nss_status not_found(int* errnop, int* h_errnop, int h) {
  *errnop = ENOENT;
  *h_errnop = h;
  return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_heyestest_gethostbyname2_r(const char* name, int af, struct hostent* result, char* buffer,
                                                size_t buflen, int* errnop, int* h_errnop) {
  log_call(name, af);
  if (af != AF_INET && af != AF_INET6) {
    *errnop = EAFNOSUPPORT;
    *h_errnop = NO_RECOVERY;
    return NSS_STATUS_UNAVAIL;
  }
  const int v6 = af == AF_INET6;
  if (is(name, "both.nss.test"))
    return fill(name, af, v6 ? "2001:db8::10" : "192.0.2.10", result, buffer, buflen, errnop, h_errnop);
  if (is(name, "v4only.nss.test")) {
    if (v6) return not_found(errnop, h_errnop, NO_DATA);
    return fill(name, af, "192.0.2.11", result, buffer, buflen, errnop, h_errnop);
  }
  if (is(name, "loopback.nss.test"))
    return fill(name, af, v6 ? "::1" : "127.0.0.1", result, buffer, buflen, errnop, h_errnop);
  if (is(name, "slow6.nss.test")) {
    if (v6) pause_ms(400);
    return fill(name, af, v6 ? "::1" : "127.0.0.1", result, buffer, buflen, errnop, h_errnop);
  }
  if (is(name, "never.nss.test")) {
    pause_ms(20000);
    return not_found(errnop, h_errnop, HOST_NOT_FOUND);
  }
  if (is(name, "unavail.nss.test")) {
    *errnop = ENOENT;
    *h_errnop = NO_RECOVERY;
    return NSS_STATUS_UNAVAIL;
  }
  if (is(name, "tryagain.nss.test")) {
    *errnop = EAGAIN;
    *h_errnop = TRY_AGAIN;
    return NSS_STATUS_TRYAGAIN;
  }
  return not_found(errnop, h_errnop, HOST_NOT_FOUND);
}

enum nss_status _nss_heyestest_gethostbyname_r(const char* name, struct hostent* result, char* buffer, size_t buflen,
                                               int* errnop, int* h_errnop) {
  return _nss_heyestest_gethostbyname2_r(name, AF_INET, result, buffer, buflen, errnop, h_errnop);
}
