// Preloaded into the nbd-server that export-manager supervises
// (LD_PRELOAD). nbd-server 3.24 only logs to syslog and daemonizes itself;
// on a host without /dev/log its errors ("address already in use") vanish
// and a daemonized server cannot be waited for. This library keeps it in
// the foreground as export-manager's child (daemon() does nothing) and
// writes each syslog message as one line on stderr, which export-manager
// reads and logs as "nbd-server: ..." lines.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int daemon(int nochdir, int noclose) {
  (void)nochdir;
  (void)noclose;
  return 0;
}

void openlog(const char* ident, int option, int facility) {
  (void)ident;
  (void)option;
  (void)facility;
}

void closelog(void) {}

void vsyslog(int priority, const char* format, va_list args) {
  char line[1024];
  int prefix = snprintf(line, sizeof(line), "<%d> ", priority & 7);
  int length = vsnprintf(line + prefix, sizeof(line) - prefix - 1, format,
                         args);
  if (length < 0) return;
  size_t total = prefix + (size_t)length;
  if (total > sizeof(line) - 2) total = sizeof(line) - 2;
  while (total > 0 && line[total - 1] == '\n') total--;
  line[total++] = '\n';

  // One write per message, so that lines of forked children do not mix.
  ssize_t ignored = write(STDERR_FILENO, line, total);
  (void)ignored;
}

void syslog(int priority, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsyslog(priority, format, args);
  va_end(args);
}

void __vsyslog_chk(int priority, int flag, const char* format, va_list args) {
  (void)flag;
  vsyslog(priority, format, args);
}

void __syslog_chk(int priority, int flag, const char* format, ...) {
  (void)flag;
  va_list args;
  va_start(args, format);
  vsyslog(priority, format, args);
  va_end(args);
}
