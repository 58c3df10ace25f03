/* SPDX-License-Identifier: MIT */
/* Example: the C API, in place of a getaddrinfo-and-connect loop. usage: c_dial HOST PORT [NAMESERVER] */
#include <heyes/heyes.h>

#include <stdio.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  heyes_options options;
  heyes_options_init(&options);
  options.timeout_ms = 5000;
  if (argc > 3) {  /* e.g. "127.0.0.1:5353", asked instead of resolv.conf's servers */
    options.nameservers = (const char* const*)&argv[3];
    options.nameserver_count = 1;
  }

  heyes_result result;
  heyes_result_init(&result);
  int fd = heyes_dial(argv[1], argv[2], &options, &result);
  if (fd < 0) {
    /* heyes_strerror(result.error) is the short form; detail adds each address's cause. */
    printf("failed: %s\n", result.detail);
    return 1;
  }
  printf("connected to %s port %u in %lld us\n", result.address, result.port, (long long)result.elapsed_us);
  close(fd);  /* a blocking, close-on-exec socket: the caller's to use and close */
  return 0;
}
