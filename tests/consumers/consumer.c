/* SPDX-License-Identifier: MIT */
/* A C program outside the heyes tree, built against heyes as a user builds it (pkg-config, meson, CMake). */
/* It includes only the installed C header and dials a listener of its own on 127.0.0.1 (an address
 * literal: no DNS, loopback only). */
#include <heyes/heyes.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  /* The kernel completes the handshake on a listening socket: no accept needed. */
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  if (listener < 0 || bind(listener, (struct sockaddr*)&sin, len) != 0 || listen(listener, 4) != 0 ||
      getsockname(listener, (struct sockaddr*)&sin, &len) != 0) {
    perror("listen");
    return 1;
  }
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)ntohs(sin.sin_port));

  heyes_options options;
  heyes_options_init(&options);
  options.timeout_ms = 5000;
  heyes_result result;
  heyes_result_init(&result);
  int fd = heyes_dial("127.0.0.1", port, &options, &result);
  if (fd < 0) {
    printf("failed: %s\n", result.detail);
    return 1;
  }
  printf("%s heyes-c\n", result.address);
  close(fd);
  close(listener);
  return 0;
}
