// libmosquitto (Debian: libmosquitto-dev) for the MQTT binding: the client API and the
// MQTT 5 property and reason-code constants, plus two system calls Swift cannot make
// directly (ioctl is variadic).
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

/// Bytes waiting to be read on `fd`, or -1.
static inline int ce_mosquitto_bytes_available(int fd) {
    int count = 0;
    return ioctl(fd, FIONREAD, &count) == 0 ? count : -1;
}

/// A non-blocking, close-on-exec pipe that wakes the client's network loop.
static inline int ce_mosquitto_wake_pipe(int fds[2]) {
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}
