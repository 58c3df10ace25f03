/* SPDX-License-Identifier: MIT */
/* The C API (heyes/heyes.h) from C: loopback dials, error codes, cancellation from another thread, many threads. */
/* usage: c_api_test PATH/TO/heyes-test-dns. Contacts loopback only: listeners of its own and a test
 * DNS server it starts; every name is asked of that server (heyes_options.nameservers). */
#define _GNU_SOURCE
#include <heyes/heyes.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static int failures;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

#define CHECK_CODE(actual, expected)                                                          \
  do {                                                                                        \
    int a_ = (actual), e_ = (expected);                                                       \
    if (a_ != e_) {                                                                           \
      fprintf(stderr, "%s:%d: %s is %d (%s), want %d (%s)\n", __FILE__, __LINE__, #actual, a_, \
              heyes_strerror(a_), e_, heyes_strerror(e_));                                   \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)

static void die(const char* what) {
  perror(what);
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- Loopback listeners ------------------------------------------------ */

static int listen_on(unsigned short port, int backlog, unsigned short* bound) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  socklen_t len = sizeof sin;
  if (bind(fd, (struct sockaddr*)&sin, len) != 0 || listen(fd, backlog) != 0 ||
      getsockname(fd, (struct sockaddr*)&sin, &len) != 0)
    die("listen");
  *bound = ntohs(sin.sin_port);
  return fd;
}

/* Accepts and closes connections until the listener is shut down. */
static void* accept_loop(void* arg) {
  int fd = *(int*)arg;
  for (;;) {
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c >= 0) close(c);
    else if (errno != EINTR && errno != ECONNABORTED) return NULL;
  }
}

/* A black hole: listen(fd, 0) with its one queue slot taken by a connection
 * never accepted, so the kernel drops every further SYN and a connect hangs. */
struct black_hole {
  int listener, filler;
  unsigned short port;
};

static struct black_hole black_hole_open(void) {
  struct black_hole b;
  b.listener = listen_on(0, 0, &b.port);
  b.filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(b.port);
  if (b.filler < 0 || connect(b.filler, (struct sockaddr*)&sin, sizeof sin) != 0) die("connect to fill the queue");
  return b;
}

static void black_hole_close(struct black_hole* b) {
  close(b->filler);
  close(b->listener);
}

/* A port with nothing listening on 127.0.0.1: a connect there is refused. */
static unsigned short closed_port(void) {
  unsigned short port;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  if (fd < 0 || bind(fd, (struct sockaddr*)&sin, len) != 0 || getsockname(fd, (struct sockaddr*)&sin, &len) != 0)
    die("bind");
  port = ntohs(sin.sin_port);
  close(fd);
  return port;
}

static int open_fds(void) {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) die("/proc/self/fd");
  for (struct dirent* e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* ---- The test DNS server ------------------------------------------------- */

static pid_t dns_pid;
static char dns_address[64]; /* "127.0.0.1:PORT" */
static const char* dns_servers[1] = {dns_address};

/* heyes-test-dns answering demo.test with A 127.0.0.1 (AAAA ::1 too); other names NXDOMAIN. */
static void dns_start(const char* path) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) die("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  char* argv[] = {(char*)path, "--listen", "127.0.0.1:0", "--lifetime", "300",
                  "--record", "demo.test", "A", "127.0.0.1", "--record", "demo.test", "AAAA", "::1", NULL};
  if (posix_spawn(&dns_pid, path, &actions, NULL, argv, environ) != 0) die("posix_spawn heyes-test-dns");
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[128];
  if (!f || !fgets(line, sizeof line, f) || sscanf(line, "listening %63s", dns_address) != 1) {
    fprintf(stderr, "heyes-test-dns did not start\n");
    exit(1);
  }
  fclose(f);
}

static void dns_stop(void) {
  kill(dns_pid, SIGTERM);
  waitpid(dns_pid, NULL, 0);
}

/* ---- Cases ------------------------------------------------------------------ */

static char port_text[16];
static unsigned short listener_port;

static void options_with_dns(heyes_options* o) {
  heyes_options_init(o);
  o->nameservers = dns_servers;
  o->nameserver_count = 1;
  o->timeout_ms = 10000; /* a safety net: no case here should take long */
}

static void connects_to_a_listener_with_a_blocking_close_on_exec_descriptor(void) {
  heyes_result r;
  heyes_result_init(&r);
  int fd = heyes_dial("127.0.0.1", port_text, NULL, &r);
  CHECK(fd >= 0);
  CHECK_CODE(r.error, HEYES_OK);
  CHECK(strcmp(r.address, "127.0.0.1") == 0);
  CHECK(r.port == listener_port);
  CHECK(r.sockaddr.ss_family == AF_INET);
  CHECK(r.sockaddr_len == sizeof(struct sockaddr_in));
  CHECK(ntohs(((struct sockaddr_in*)&r.sockaddr)->sin_port) == listener_port);
  CHECK(r.elapsed_us >= 0 && r.elapsed_us < 5000000);
  CHECK(r.detail[0] == '\0');
  if (fd < 0) return;
  CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  struct sockaddr_in peer;
  socklen_t len = sizeof peer;
  CHECK(getpeername(fd, (struct sockaddr*)&peer, &len) == 0 && ntohs(peer.sin_port) == listener_port);
  close(fd);
}

static void resolves_a_name_through_the_given_nameserver(void) {
  heyes_options o;
  options_with_dns(&o);
  o.family = HEYES_FAMILY_V4;
  heyes_result r;
  heyes_result_init(&r);
  int fd = heyes_dial("demo.test", port_text, &o, &r);
  CHECK(fd >= 0);
  CHECK_CODE(r.error, HEYES_OK);
  CHECK(strcmp(r.address, "127.0.0.1") == 0);
  if (fd >= 0) close(fd);

  int gone = heyes_dial("nowhere.demo.test", port_text, &o, &r);
  CHECK(gone == -1);
  CHECK_CODE(r.error, HEYES_ERR_HOST_NOT_FOUND);
}

static void refused_port_is_all_attempts_failed_with_connection_refused(void) {
  char port[16];
  snprintf(port, sizeof port, "%u", closed_port());
  heyes_result r;
  heyes_result_init(&r);
  CHECK(heyes_dial("127.0.0.1", port, NULL, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_ALL_ATTEMPTS_FAILED);
  CHECK_CODE(r.cause, HEYES_ERR_CONNECTION_REFUSED);
  CHECK(r.sys_errno == ECONNREFUSED);
  CHECK(r.failed_attempts == 1);
  CHECK(strcmp(heyes_strerror(r.cause), strerror(ECONNREFUSED)) == 0);
  CHECK(strcmp(heyes_strerror(r.error), "every connection attempt failed") == 0);
  CHECK(strstr(r.detail, "127.0.0.1: ") != NULL);
  if (r.cause != HEYES_ERR_CONNECTION_REFUSED) fprintf(stderr, "detail: %s\n", r.detail);
  CHECK(r.address[0] == '\0' && r.sockaddr_len == 0);
}

static void bad_host_name_and_bad_service(void) {
  heyes_result r;
  heyes_result_init(&r);
  CHECK(heyes_dial("bad..name", port_text, NULL, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_BAD_HOST_NAME);
  CHECK(strcmp(heyes_strerror(r.error), "invalid host name") == 0);
  const char* services[] = {"no-such-service-heyes", "0", "70000", ""};
  for (size_t i = 0; i < sizeof services / sizeof *services; ++i) {
    CHECK(heyes_dial("127.0.0.1", services[i], NULL, &r) == -1);
    CHECK_CODE(r.error, HEYES_ERR_BAD_SERVICE);
  }
  CHECK(heyes_dial(NULL, port_text, NULL, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_INVALID_ARGUMENT);
}

static void options_are_checked(void) {
  heyes_options o;
  heyes_result r;
  heyes_result_init(&r);

  heyes_options_init(&o);
  o.family = 5;
  CHECK(heyes_dial("127.0.0.1", port_text, &o, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_INVALID_ARGUMENT);

  heyes_options_init(&o);
  const char* bad_ns[] = {"nope"};
  o.nameservers = bad_ns;
  o.nameserver_count = 1;
  CHECK(heyes_dial("demo.test", port_text, &o, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_BAD_NAMESERVER);
  CHECK(strstr(r.detail, "'nope'") != NULL);

  heyes_options_init(&o);
  o.local_address = "not-an-address";
  CHECK(heyes_dial("127.0.0.1", port_text, &o, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_BAD_LOCAL_ADDRESS);

  heyes_options_init(&o);
  o.policy_file = "/nonexistent/heyes-gai.conf";
  CHECK(heyes_dial("127.0.0.1", port_text, &o, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_POLICY_FILE);
  CHECK(strstr(r.detail, "/nonexistent/heyes-gai.conf") != NULL);

  heyes_options_init(&o);
  o.family = HEYES_FAMILY_V6;
  CHECK(heyes_dial("127.0.0.1", port_text, &o, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_FAMILY_UNAVAILABLE);

  /* A local address of the destination's family; all zero (size 0) is the defaults. */
  heyes_options zero;
  memset(&zero, 0, sizeof zero);
  zero.local_address = "127.0.0.1";
  int fd = heyes_dial("127.0.0.1", port_text, &zero, &r);
  CHECK(fd >= 0);
  CHECK_CODE(r.error, HEYES_OK);
  if (fd >= 0) close(fd);

  /* A caller built against a newer header: unknown fields must be zero. */
  struct {
    heyes_options known;
    unsigned long later_field;
  } newer;
  memset(&newer, 0, sizeof newer);
  newer.known.size = sizeof newer;
  fd = heyes_dial("127.0.0.1", port_text, &newer.known, &r);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
  newer.later_field = 1;
  CHECK(heyes_dial("127.0.0.1", port_text, &newer.known, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_INVALID_ARGUMENT);
}

static void error_texts_are_static_and_never_null(void) {
  for (int code = -1; code < 200; ++code) {
    const char* text = heyes_strerror(code);
    CHECK(text != NULL && text[0] != '\0');
    CHECK(heyes_strerror(code) == text);
  }
  CHECK(strcmp(heyes_strerror(HEYES_OK), "success") == 0);
  CHECK(strcmp(heyes_strerror(HEYES_ERR_CANCELLED), "dial cancelled") == 0);
  CHECK(strcmp(heyes_strerror(HEYES_ERR_TIMED_OUT), "connection timed out") == 0);
  CHECK(strcmp(heyes_strerror(12345), "unknown heyes error") == 0);
}

static void black_hole_times_out_at_the_overall_timeout(void) {
  struct black_hole b = black_hole_open();
  char port[16];
  snprintf(port, sizeof port, "%u", b.port);
  heyes_options o;
  heyes_options_init(&o);
  o.timeout_ms = 300;
  heyes_result r;
  heyes_result_init(&r);
  double start = now_ms();
  CHECK(heyes_dial("127.0.0.1", port, &o, &r) == -1);
  double took = now_ms() - start;
  CHECK_CODE(r.error, HEYES_ERR_TIMED_OUT);
  CHECK(took >= 250 && took < 3000);
  CHECK(r.elapsed_us >= 250000);
  black_hole_close(&b);
}

struct cancel_later {
  heyes_cancel_token* token;
  long after_ms;
};

static void* cancel_after(void* arg) {
  struct cancel_later* c = arg;
  sleep_ms(c->after_ms);
  heyes_cancel(c->token);
  return NULL;
}

static void cancel_from_another_thread_ends_a_black_holed_dial(void) {
  struct black_hole b = black_hole_open();
  char port[16];
  snprintf(port, sizeof port, "%u", b.port);
  heyes_options o;
  heyes_options_init(&o);
  o.timeout_ms = 20000; /* far beyond the bound below: only the cancel can end it in time */
  o.cancel = heyes_cancel_token_new();
  CHECK(o.cancel != NULL);
  struct cancel_later c = {o.cancel, 100};
  pthread_t t;
  pthread_create(&t, NULL, cancel_after, &c);
  heyes_result r;
  heyes_result_init(&r);
  double start = now_ms();
  CHECK(heyes_dial("127.0.0.1", port, &o, &r) == -1);
  double took = now_ms() - start;
  pthread_join(t, NULL);
  CHECK_CODE(r.error, HEYES_ERR_CANCELLED);
  CHECK(took >= 90 && took < 2000);

  /* Cancelled stays cancelled: a later dial with the token ends at once. */
  start = now_ms();
  CHECK(heyes_dial("127.0.0.1", port_text, &o, &r) == -1);
  CHECK_CODE(r.error, HEYES_ERR_CANCELLED);
  CHECK(now_ms() - start < 500);
  heyes_cancel_token_free(o.cancel);
  heyes_cancel_token_free(NULL);
  black_hole_close(&b);
}

/* ---- Many threads at once -------------------------------------------------- */

enum { kThreads = 6, kDialsPerThread = 20 };

struct worker {
  struct black_hole* hole;
  heyes_cancel_token* shared;
  int connected, cancelled, other;
};

static void* dial_many(void* arg) {
  struct worker* w = arg;
  char hole_port[16];
  snprintf(hole_port, sizeof hole_port, "%u", w->hole->port);
  for (int i = 0; i < kDialsPerThread; ++i) {
    heyes_options o;
    options_with_dns(&o);
    heyes_result r;
    heyes_result_init(&r);
    int fd;
    switch (i % 4) {
      case 0: fd = heyes_dial("demo.test", port_text, &o, &r); break;  /* by name, both families */
      case 1: fd = heyes_dial("127.0.0.1", port_text, NULL, &r); break;  /* the default Dialer */
      case 2:  /* a token of its own, never cancelled */
        o.cancel = heyes_cancel_token_new();
        fd = heyes_dial("127.0.0.1", port_text, &o, &r);
        heyes_cancel_token_free(o.cancel);
        break;
      default:  /* the black hole, until the main thread cancels the shared token */
        o.cancel = w->shared;
        o.timeout_ms = 20000;
        fd = heyes_dial("127.0.0.1", hole_port, &o, &r);
        break;
    }
    if (fd >= 0) {
      ++w->connected;
      close(fd);
    } else if (r.error == HEYES_ERR_CANCELLED) {
      ++w->cancelled;
    } else {
      fprintf(stderr, "dial %d: %s (%s)\n", i, heyes_strerror(r.error), r.detail);
      ++w->other;
    }
  }
  return NULL;
}

static void many_dials_from_several_threads_leak_no_descriptor(void) {
  /* Warm up both Dialers (their first use may open what they keep). */
  heyes_options o;
  options_with_dns(&o);
  heyes_result r;
  int fd = heyes_dial("demo.test", port_text, &o, &r);
  if (fd >= 0) close(fd);
  fd = heyes_dial("127.0.0.1", port_text, NULL, &r);
  if (fd >= 0) close(fd);
  int before = open_fds();

  struct black_hole b = black_hole_open();
  heyes_cancel_token* shared = heyes_cancel_token_new();
  struct worker w[kThreads];
  pthread_t t[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    w[i] = (struct worker){&b, shared, 0, 0, 0};
    pthread_create(&t[i], NULL, dial_many, &w[i]);
  }
  sleep_ms(300);
  heyes_cancel(shared); /* ends the black-holed dials in flight, and every later one at once */
  double start = now_ms();
  for (int i = 0; i < kThreads; ++i) pthread_join(t[i], NULL);
  CHECK(now_ms() - start < 10000);
  heyes_cancel_token_free(shared);

  int connected = 0, cancelled = 0, other = 0;
  for (int i = 0; i < kThreads; ++i) {
    connected += w[i].connected;
    cancelled += w[i].cancelled;
    other += w[i].other;
  }
  CHECK(connected == kThreads * kDialsPerThread * 3 / 4);
  CHECK(cancelled == kThreads * kDialsPerThread / 4);
  CHECK(other == 0);
  black_hole_close(&b);
  int after = open_fds();
  if (after != before) fprintf(stderr, "descriptors: %d before, %d after\n", before, after);
  CHECK(after == before);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH/TO/heyes-test-dns\n", argv[0]);
    return 2;
  }
  dns_start(argv[1]);
  int listener = listen_on(0, SOMAXCONN, &listener_port);
  snprintf(port_text, sizeof port_text, "%u", listener_port);
  pthread_t acceptor;
  pthread_create(&acceptor, NULL, accept_loop, &listener);

  struct {
    const char* name;
    void (*run)(void);
  } cases[] = {
#define CASE(f) {#f, f}
      CASE(connects_to_a_listener_with_a_blocking_close_on_exec_descriptor),
      CASE(resolves_a_name_through_the_given_nameserver),
      CASE(refused_port_is_all_attempts_failed_with_connection_refused),
      CASE(bad_host_name_and_bad_service),
      CASE(options_are_checked),
      CASE(error_texts_are_static_and_never_null),
      CASE(black_hole_times_out_at_the_overall_timeout),
      CASE(cancel_from_another_thread_ends_a_black_holed_dial),
      CASE(many_dials_from_several_threads_leak_no_descriptor),
#undef CASE
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    int before = failures;
    double start = now_ms();
    cases[i].run();
    printf("%s %s (%.0f ms)\n", failures == before ? "ok  " : "FAIL", cases[i].name, now_ms() - start);
  }

  shutdown(listener, SHUT_RDWR); /* wakes the acceptor */
  pthread_join(acceptor, NULL);
  close(listener);
  dns_stop();
  printf("%d failed check(s)\n", failures);
  return failures ? 1 : 0;
}
