/* SPDX-License-Identifier: MIT */
/* The C API: a blocking Happy Eyeballs dial to a connected file descriptor, with stable error codes. */
#ifndef HEYES_HEYES_H
#define HEYES_HEYES_H

/* C11 (and C++): everything here is plain C. docs/c-api.md has the ownership
 * and threading rules and the table of error codes. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stable error codes: a value keeps its meaning in every later version; new
 * codes get new values. Codes 1-14 are the dial's own (heyes::errc), 32-47
 * the C API's, 64-95 system errors (heyes_result.sys_errno has the errno). */
typedef enum heyes_error {
  HEYES_OK = 0,
  HEYES_ERR_NO_ADDRESS = 1,           /* the name resolved, but to no usable address */
  HEYES_ERR_ALL_ATTEMPTS_FAILED = 2,  /* every address failed; heyes_result.cause: the last one's cause */
  HEYES_ERR_TIMED_OUT = 3,            /* heyes_options.timeout_ms passed */
  HEYES_ERR_BAD_HOST_NAME = 4,        /* host is not a valid name or address literal */
  HEYES_ERR_BAD_SERVICE = 5,          /* service is not a port 1-65535 or a name in /etc/services */
  HEYES_ERR_HOST_NOT_FOUND = 6,       /* NXDOMAIN, or not in the hosts file and no DNS answer */
  HEYES_ERR_NO_DATA = 7,              /* the name exists but has no address of the family asked */
  HEYES_ERR_DNS_SERVER_FAILURE = 8,   /* every nameserver failed (SERVFAIL, REFUSED, unreachable) */
  HEYES_ERR_DNS_TIMEOUT = 9,          /* no nameserver answered in time */
  HEYES_ERR_DNS_BAD_RESPONSE = 10,    /* a DNS response was malformed or did not match */
  HEYES_ERR_FAMILY_UNAVAILABLE = 11,  /* the family restriction or local address left no candidate */
  HEYES_ERR_PARSE = 12,               /* a configuration text could not be parsed */
  HEYES_ERR_ATTEMPT_ABANDONED = 13,   /* (a cause) one attempt closed at the in-flight cap */
  HEYES_ERR_ATTEMPT_TIMED_OUT = 14,   /* (a cause) one attempt reached its own timeout */
  HEYES_ERR_NAME_SERVICE = 15,        /* an nsswitch.conf service (mdns, myhostname, ...) failed or timed out */

  HEYES_ERR_CANCELLED = 32,           /* heyes_cancel() on the dial's token */
  HEYES_ERR_INVALID_ARGUMENT = 33,    /* a null host or service, a bad option value or size */
  HEYES_ERR_BAD_NAMESERVER = 34,      /* a nameserver string is not ADDR, ADDR:PORT or [V6]:PORT */
  HEYES_ERR_BAD_LOCAL_ADDRESS = 35,   /* local_address is not an address literal */
  HEYES_ERR_POLICY_FILE = 36,         /* policy_file cannot be read or has a bad line (see detail) */
  HEYES_ERR_OUT_OF_MEMORY = 37,       /* an allocation failed (also ENOMEM) */
  HEYES_ERR_INTERNAL = 38,            /* an unexpected error inside heyes: a bug, please report it */

  HEYES_ERR_CONNECTION_REFUSED = 64,  /* ECONNREFUSED */
  HEYES_ERR_NETWORK_UNREACHABLE = 65, /* ENETUNREACH */
  HEYES_ERR_HOST_UNREACHABLE = 66,    /* EHOSTUNREACH */
  HEYES_ERR_CONNECT_TIMED_OUT = 67,   /* ETIMEDOUT: the kernel gave up on the SYNs */
  HEYES_ERR_ADDRESS_IN_USE = 68,      /* EADDRINUSE */
  HEYES_ERR_ADDRESS_NOT_AVAILABLE = 69, /* EADDRNOTAVAIL: local_address is not this host's */
  HEYES_ERR_PERMISSION_DENIED = 70,   /* EACCES, EPERM (a firewall, a sandbox) */
  HEYES_ERR_TOO_MANY_FILES = 71,      /* EMFILE, ENFILE */
  HEYES_ERR_SYSTEM = 95               /* any other system error: heyes_result.sys_errno */
} heyes_error;

/* Which address families a dial may use. */
typedef enum heyes_family {
  HEYES_FAMILY_ANY = 0,
  HEYES_FAMILY_V4 = 4,
  HEYES_FAMILY_V6 = 6
} heyes_family;

/* Cancels dials from another thread. Made by heyes_cancel_token_new(), freed
 * by heyes_cancel_token_free() after every dial given it has returned. */
typedef struct heyes_cancel_token heyes_cancel_token;

/* The options of one dial. All zero (or a null pointer for the whole struct)
 * is the defaults; heyes_options_init() also sets size. Strings and arrays
 * are read during heyes_dial() only: the caller keeps ownership. */
typedef struct heyes_options {
  /* sizeof(heyes_options) as the caller was compiled, for ABI growth; 0
   * means this first layout. Bytes past the size heyes knows must be zero. */
  size_t size;
  /* The whole dial, DNS included, in ms; 0 = no limit. */
  uint32_t timeout_ms;
  /* HEYES_FAMILY_ANY, _V4 or _V6: only that family is queried and tried. */
  int family;
  /* RFC 8305 Connection Attempt Delay in ms (clamped to 10-2000) when the
   * connection history has no RTT for the path; 0 = 250 ms. */
  uint32_t attempt_delay_ms;
  /* A gai.conf(5) file ordering the addresses, read strictly at each dial;
   * NULL = /etc/gai.conf, else RFC 6724's table. */
  const char* policy_file;
  /* nameserver_count strings "ADDR", "ADDR:PORT" or "[V6]:PORT" (port 53
   * when absent) asked instead of resolv.conf's; NULL/0 = resolv.conf's. */
  const char* const* nameservers;
  size_t nameserver_count;
  /* Bind every attempt to this address literal (port 0); only destinations
   * of its family are tried. NULL = the kernel's choice. */
  const char* local_address;
  /* heyes_cancel() on it ends the dial with HEYES_ERR_CANCELLED; NULL = none. */
  heyes_cancel_token* cancel;
} heyes_options;

/* Room for an address as text: "2001:db8::1", "fe80::1%eth0", "192.0.2.1". */
#define HEYES_ADDRSTRLEN 64
/* Room for heyes_result.detail. */
#define HEYES_DETAILLEN 256

/* What one dial found out. heyes writes it (up to size) on every return. */
typedef struct heyes_result {
  /* sizeof(heyes_result) as the caller was compiled; 0 means this first
   * layout. heyes_result_init() sets it. */
  size_t size;
  /* HEYES_OK, or why the dial failed (a heyes_error). */
  int error;
  /* For HEYES_ERR_ALL_ATTEMPTS_FAILED and HEYES_ERR_TIMED_OUT: the cause of
   * the last address that failed (e.g. HEYES_ERR_CONNECTION_REFUSED), 0 when
   * none had failed; else equal to error. */
  int cause;
  /* The errno behind error, or else behind cause, when it is a system error; else 0. */
  int sys_errno;
  /* How many addresses were tried and failed. */
  unsigned failed_attempts;
  /* The winner (empty and zero on failure). */
  char address[HEYES_ADDRSTRLEN];
  uint16_t port;
  struct sockaddr_storage sockaddr;
  socklen_t sockaddr_len;
  /* From the start of the dial to its end. */
  int64_t elapsed_us;
  /* A line for humans: the failure with each address's cause, or the bad
   * input ("prefer.conf:3: unknown keyword 'lable'"); "" on success. */
  char detail[HEYES_DETAILLEN];
} heyes_result;

/* Zero *options and set its size. */
void heyes_options_init(heyes_options* options);
/* Zero *result and set its size. */
void heyes_result_init(heyes_result* result);

/* Connects a TCP socket to host:service with Happy Eyeballs v2 (RFC 8305),
 * blocking the calling thread. host: a name or an address literal; service:
 * a port number or a name from /etc/services. options: NULL = defaults.
 * result: NULL, or filled in on every return.
 *
 * Returns the connected socket: blocking mode, FD_CLOEXEC set; the caller
 * owns it and closes it. On failure returns -1 and result->error says why
 * (errno is unspecified). Thread-safe; never throws. */
int heyes_dial(const char* host, const char* service, const heyes_options* options, heyes_result* result);

/* A static string describing a heyes_error value ("Connection refused");
 * never NULL, never to be freed; an unknown code gives "unknown heyes error". */
const char* heyes_strerror(int code);

/* A new token, not cancelled; NULL when out of memory. */
heyes_cancel_token* heyes_cancel_token_new(void);
/* Cancels every dial given token, now and later: they return -1 with
 * HEYES_ERR_CANCELLED promptly. Any thread; idempotent; not async-signal-safe. */
void heyes_cancel(heyes_cancel_token* token);
/* Frees token (NULL is fine). No dial may be using it any more. */
void heyes_cancel_token_free(heyes_cancel_token* token);

#ifdef __cplusplus
}
#endif

#endif /* HEYES_HEYES_H */
