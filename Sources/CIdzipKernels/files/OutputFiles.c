// Output files: unnamed temporary files (O_TMPFILE + linkat) and the signal-safe list of
// named temporaries that SIGINT, SIGTERM and SIGHUP remove before the process dies.
// Not a kernel, but C for two reasons Swift cannot meet: O_TMPFILE is a macro whose value
// differs between architectures, and a signal handler may only touch lock-free state.

#define _GNU_SOURCE
#include "CIdzipKernels.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int idz_open_unnamed_temporary(const char *directory, unsigned mode) {
#if defined(__linux__) && defined(O_TMPFILE)
    return open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, (mode_t)mode);
#else
    (void)directory;
    (void)mode;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int idz_link_unnamed_temporary(int fd, const char *path) {
#if defined(__linux__)
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd works for everyone with /proc.
    if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0) return 0;
    if (errno == EEXIST) return -1;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, link, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
#else
    (void)fd;
    (void)path;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int idz_can_link_unnamed_temporaries(void) {
#if defined(__linux__)
    return access("/proc/self/fd", X_OK) == 0;
#else
    return 0;
#endif
}

// MARK: Named temporaries removed on SIGINT, SIGTERM and SIGHUP

enum { IDZ_TEMPORARY_SLOTS = 64, IDZ_TEMPORARY_PATH = 4096 };
// 0: free, 1: being filled or emptied, 2: holds a path the handler removes.
static _Atomic int slot_state[IDZ_TEMPORARY_SLOTS];
static char slot_path[IDZ_TEMPORARY_SLOTS][IDZ_TEMPORARY_PATH];
static const char *interrupt_message;
static _Atomic int handlers_installed;

int idz_temporary_register(const char *path) {
    size_t length = strlen(path);
    if (length >= IDZ_TEMPORARY_PATH) return -1;
    for (int slot = 0; slot < IDZ_TEMPORARY_SLOTS; slot++) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&slot_state[slot], &expected, 1)) {
            memcpy(slot_path[slot], path, length + 1);
            atomic_store(&slot_state[slot], 2);
            return slot;
        }
    }
    return -1;
}

void idz_temporary_unregister(int slot) {
    if (slot >= 0 && slot < IDZ_TEMPORARY_SLOTS) atomic_store(&slot_state[slot], 0);
}

static void remove_temporaries_and_die(int signal_number) {
    int saved = errno;
    for (int slot = 0; slot < IDZ_TEMPORARY_SLOTS; slot++) {
        if (atomic_load(&slot_state[slot]) == 2) unlink(slot_path[slot]);
    }
    if (signal_number == SIGINT && interrupt_message != NULL) {
        ssize_t ignored = write(STDERR_FILENO, interrupt_message, strlen(interrupt_message));
        (void)ignored;
    }
    errno = saved;
    // SA_RESETHAND restored the default action; die of the same signal.
    raise(signal_number);
}

void idz_temporary_install_handlers(const char *message) {
    interrupt_message = message;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&handlers_installed, &expected, 1)) return;
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction current;
        // A signal the parent made the process ignore (nohup, a shell's background job) stays ignored.
        if (sigaction(signals[i], NULL, &current) == 0 && current.sa_handler == SIG_IGN) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = remove_temporaries_and_die;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigaction(signals[i], &action, NULL);
        // A parent that spawned idzip from a thread blocking signals (libdispatch's workers
        // block them) passes the mask on: the handled signals must get through.
        sigset_t handled;
        sigemptyset(&handled);
        sigaddset(&handled, signals[i]);
        pthread_sigmask(SIG_UNBLOCK, &handled, NULL);
    }
}

// MARK: Standard streams (Swift 6 cannot name C's stdout and stderr)

int idz_standard_output_flush(void) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    return errno != 0 ? errno : EIO;
}

void idz_standard_stream_write(int to_error, const char *text) {
    FILE *stream = to_error ? stderr : stdout;
    fputs(text, stream);
    fflush(stream);
}
