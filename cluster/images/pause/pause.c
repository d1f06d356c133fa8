// CRI sandbox ("pause") process: holds the pod's namespaces, reaps orphans, exits 0 on TERM/INT.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
  struct sigaction term = { .sa_handler = stop }, chld = { .sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART };
  sigaction(SIGTERM, &term, 0);
  sigaction(SIGINT, &term, 0);
  sigaction(SIGCHLD, &chld, 0);
  for (;;) pause();
}
