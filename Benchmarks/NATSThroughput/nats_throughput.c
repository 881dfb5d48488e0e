// The raw C side of Scripts/bench-nats (issue #15): publish and publish → receive throughput
// through nats-server with pre-encoded NATS protocol bytes on plain sockets, beside the Swift
// NATSThroughput executable, which does the same with the CloudEvents NATS binding and encodes
// and decodes the event for every message.
//
// One process per role, so that each role's CPU time is its own (the script runs the
// subscriber and the publisher as two processes on both sides):
//   sub  connects, reads INFO, sends CONNECT, `SUB SUBJECT 1` and PING; at the PONG the
//        subscription is in place and it prints `ready`; then it reads and counts the MSG and
//        HMSG frames of SUBJECT (parsing the control line's last field, the frame's total
//        size, to find the next frame; the frame itself is not looked at) until MESSAGES,
//        answering the server's PINGs.
//   pub  connects, reads INFO, sends CONNECT and PING and waits for the PONG (as the Swift
//        client's connect does); then writes MESSAGES copies of the HPUB frame the Swift
//        binding writes for the ~500-byte sample event in binary mode (its header block and
//        payload read from WIRE-FILE, which `NATSThroughput --wire` prints) in writes of
//        about 64 KiB, all encoded before the clock starts; then PING, and it ends at the PONG
//        (everything published has reached the server).
// Times are CLOCK_MONOTONIC nanoseconds, comparable between the two processes: the script
// takes publish → receive as from the publisher's start to the subscriber's last message.
// CPU is getrusage(RUSAGE_SELF) user + system between `ready`/the start and the end.
//
// CONNECT is {"verbose":false,"pedantic":false,"headers":true,"name":"ce-bench-c-ROLE"}: no
// +OK per command; echo stays on (the publisher has no subscription of its own).
//
// Build: cc -O2 -o nats_throughput nats_throughput.c
// Usage: nats_throughput sub HOST PORT SUBJECT MESSAGES TIMEOUT-SECONDS
//          prints `ready`, then `nats-throughput role=sub client=c messages=N first_ns=F
//          last_ns=L cpu_us=C`
//        nats_throughput pub HOST PORT SUBJECT MESSAGES TIMEOUT-SECONDS WIRE-FILE
//          prints `nats-throughput role=pub client=c messages=N frame_bytes=B start_ns=S
//          end_ns=E cpu_us=C`
//        Either exits 1 on any failure or when not done within the timeout.
//        nats_throughput --sample
//          prints a wire file for the sample event built here as REFERENCE 3.4 maps it
//          (binary mode: `ce-` headers, percent-encoding needing nothing), for a C-only run.
//        nats_throughput --describe WIRE-FILE
//          prints what the wire file's frame holds (one line), for the script's log.
// The wire file: `headers\t<the header block in hex>` and `payload\t<the payload in hex>`.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "nats_throughput: %s\n", what);
    exit(1);
}

static void die_errno(const char *what) {
    fprintf(stderr, "nats_throughput: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t cpu_us(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (int64_t)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000 + usage.ru_utime.tv_usec +
           usage.ru_stime.tv_usec;
}

// Progress for the timeout report (written by the one thread, read by the signal handler).
static volatile sig_atomic_t progress;
static volatile sig_atomic_t expected;
static const char *role_name = "?";

static void on_alarm(int signal) {
    (void)signal;
    char text[160];
    int length = snprintf(text, sizeof text, "nats_throughput: %s timed out: %ld of %ld messages\n", role_name,
                          (long)progress, (long)expected);
    if (length > 0) (void)!write(2, text, (size_t)length);
    _exit(1);
}

// MARK: The wire file

static unsigned char *headers, *payload;
static size_t headers_length, payload_length;

static int hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned char *from_hex(const char *text, size_t *length) {
    size_t count = strlen(text);
    if (count % 2 != 0) die("a wire-file value has an odd number of hex digits");
    unsigned char *bytes = malloc(count / 2 + 1);
    if (!bytes) die("out of memory");
    for (size_t i = 0; i < count / 2; i++) {
        int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
        if (high < 0 || low < 0) die("a wire-file value is not hex");
        bytes[i] = (unsigned char)(high << 4 | low);
    }
    *length = count / 2;
    return bytes;
}

static void read_wire(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) die("cannot open the wire file");
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, file)) > 0) {
        if (line[length - 1] == '\n') line[--length] = 0;
        char *tab = strchr(line, '\t');
        if (!tab) die("a wire-file line without a tab");
        *tab = 0;
        if (strcmp(line, "headers") == 0) {
            headers = from_hex(tab + 1, &headers_length);
        } else if (strcmp(line, "payload") == 0) {
            payload = from_hex(tab + 1, &payload_length);
        } else {
            die("an unknown wire-file line");
        }
    }
    free(line);
    fclose(file);
    if (!headers || !payload) die("the wire file needs a headers and a payload line");
    if (headers_length < 12 || memcmp(headers, "NATS/1.0", 8) != 0 ||
        memcmp(headers + headers_length - 4, "\r\n\r\n", 4) != 0)
        die("the wire file's header block does not start with NATS/1.0 and end with an empty line");
}

static void print_hex(const char *name, const char *bytes, size_t length) {
    printf("%s\t", name);
    for (size_t i = 0; i < length; i++) printf("%02x", (unsigned char)bytes[i]);
    printf("\n");
}

// The sample event (Benchmarks/Benchmarks/BenchmarkSample) in binary mode: every attribute,
// datacontenttype included, as a lowercase `ce-` header (no value has a byte to percent-encode).
static void print_sample(void) {
    static const char block[] =
        "NATS/1.0\r\n"
        "ce-specversion: 1.0\r\n"
        "ce-id: 9b3c6d4e-2f7a-4e1b-8c5d-0a1b2c3d4e5f\r\n"
        "ce-source: https://sensors.example.com/buildings/north/floor-3\r\n"
        "ce-type: com.example.sensor.reading.v1\r\n"
        "ce-datacontenttype: application/json\r\n"
        "ce-subject: thermostat-42/temperature\r\n"
        "ce-time: 2026-11-22T10:15:30.123456789Z\r\n"
        "ce-traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
        "\r\n";
    static const char data[] =
        "{\"deviceId\":\"thermostat-42\",\"reading\":{\"celsius\":21.5,\"humidity\":48,\"battery\":0.87},"
        "\"location\":{\"building\":\"north\",\"floor\":3,\"room\":\"3.14\"},\"tags\":[\"hvac\",\"eu-west\","
        "\"calibrated\"],\"seq\":1234567}";
    print_hex("headers", block, sizeof block - 1);
    print_hex("payload", data, sizeof data - 1);
}

static void describe(const char *path) {
    read_wire(path);
    int fields = 0;
    for (size_t i = 10; i + 1 < headers_length - 2; i++) fields += headers[i] == '\r' && headers[i + 1] == '\n';
    printf("HPUB with a %zu-byte header block (%d fields) and a %zu-byte payload\n", headers_length, fields,
           payload_length);
}

// MARK: The connection

static int connect_to(const char *host, const char *port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *found;
    if (getaddrinfo(host, port, &hints, &found) != 0) die("cannot resolve the server's host");
    int fd = -1;
    for (struct addrinfo *address = found; address && fd < 0; address = address->ai_next) {
        fd = socket(address->ai_family, address->ai_socktype, address->ai_protocol);
        if (fd >= 0 && connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    if (fd < 0) die_errno("cannot connect to the server");
    int on = 1;  // as SwiftNIO's client bootstrap does
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
}

static void write_all(int fd, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t written = write(fd, bytes, length);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) die_errno("write");
        bytes += written;
        length -= (size_t)written;
    }
}

// What the reader has received and not yet parsed.
static char *input;
static size_t input_length, input_capacity = 1 << 20;

static void fill(int fd) {
    if (input_length == input_capacity) die("a frame larger than the read buffer");
    ssize_t count = read(fd, input + input_length, input_capacity - input_length);
    if (count < 0 && errno == EINTR) return;
    if (count < 0) die_errno("read");
    if (count == 0) die("the server closed the connection");
    input_length += (size_t)count;
}

// Parses the frames in `input` and drops them; counts MSG and HMSG frames in *messages, PONGs
// in *pongs; answers PINGs; fails on -ERR. Returns when the rest is an incomplete frame.
static void parse(int fd, long *messages, long *pongs) {
    size_t position = 0;
    for (;;) {
        char *start = input + position;
        char *end = memchr(start, '\n', input_length - position);
        if (!end) {
            if (input_length - position > 4096) die("a control line longer than 4096 bytes");
            break;
        }
        size_t line = (size_t)(end - start) + 1;
        if (line < 2 || end[-1] != '\r') die("a control line not ended by CR LF");
        if (start[0] == 'M' || start[0] == 'H') {
            // MSG subject sid [reply] size / HMSG subject sid [reply] header-size total-size
            const char *digit = end - 2;
            size_t size = 0, scale = 1;
            while (digit >= start && *digit >= '0' && *digit <= '9') {
                size += (size_t)(*digit - '0') * scale;
                scale *= 10;
                digit--;
            }
            if (scale == 1) die("a MSG or HMSG control line without a size");
            if (position + line + size + 2 > input_length) break;
            position += line + size + 2;
            ++*messages;
            continue;
        }
        if (line >= 6 && memcmp(start, "PING\r\n", 6) == 0) {
            write_all(fd, "PONG\r\n", 6);
        } else if (line >= 6 && memcmp(start, "PONG\r\n", 6) == 0) {
            ++*pongs;
        } else if (line >= 4 && memcmp(start, "-ERR", 4) == 0) {
            fprintf(stderr, "nats_throughput: the server said %.*s\n", (int)line - 2, start);
            exit(1);
        } else if (!(line >= 5 && (memcmp(start, "INFO ", 5) == 0 || memcmp(start, "+OK", 3) == 0))) {
            fprintf(stderr, "nats_throughput: unexpected from the server: %.*s\n", (int)line - 2, start);
            exit(1);
        }
        position += line;
    }
    memmove(input, input + position, input_length - position);
    input_length -= position;
}

// Connects, reads INFO, sends CONNECT and `extra` (ending in PING) and waits for the PONG.
static int open_connection(const char *host, const char *port, const char *role, const char *extra) {
    int fd = connect_to(host, port);
    while (!memchr(input, '\n', input_length)) fill(fd);
    if (input_length < 5 || memcmp(input, "INFO ", 5) != 0) die("the server did not start with INFO");
    char connect[256];
    int length = snprintf(connect, sizeof connect,
                          "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"name\":\"ce-bench-c-%s\"}\r\n%s",
                          role, extra);
    if (length < 0 || (size_t)length >= sizeof connect) die("the subject is too long");
    write_all(fd, connect, (size_t)length);
    long messages = 0, pongs = 0;
    for (;;) {
        parse(fd, &messages, &pongs);
        if (pongs > 0) break;
        fill(fd);
    }
    return fd;
}

static void run_sub(const char *host, const char *port, const char *subject, long count) {
    char extra[200];
    if (snprintf(extra, sizeof extra, "SUB %s 1\r\nPING\r\n", subject) >= (int)sizeof extra) die("the subject is too long");
    int fd = open_connection(host, port, "sub", extra);
    printf("ready\n");
    fflush(stdout);
    int64_t cpu_start = cpu_us(), first = 0;
    long messages = 0, pongs = 0;
    while (messages < count) {
        fill(fd);
        parse(fd, &messages, &pongs);
        if (first == 0 && messages > 0) first = now_ns();
        progress = messages;
    }
    int64_t last = now_ns(), cpu = cpu_us() - cpu_start;
    if (messages != count) die("more messages than published");
    printf("nats-throughput role=sub client=c messages=%ld first_ns=%lld last_ns=%lld cpu_us=%lld\n", count,
           (long long)first, (long long)last, (long long)cpu);
    close(fd);
}

static void run_pub(const char *host, const char *port, const char *subject, long count) {
    int fd = open_connection(host, port, "pub", "PING\r\n");
    char control[256];
    int control_length = snprintf(control, sizeof control, "HPUB %s %zu %zu\r\n", subject, headers_length,
                                  headers_length + payload_length);
    if (control_length < 0 || (size_t)control_length >= sizeof control) die("the subject is too long");
    size_t frame = (size_t)control_length + headers_length + payload_length + 2;
    size_t per_chunk = frame >= 65536 ? 1 : 65536 / frame;
    char *chunk = malloc(per_chunk * frame);
    if (!chunk) die("out of memory");
    for (size_t i = 0; i < per_chunk; i++) {
        char *at = chunk + i * frame;
        memcpy(at, control, (size_t)control_length);
        memcpy(at + control_length, headers, headers_length);
        memcpy(at + control_length + headers_length, payload, payload_length);
        memcpy(at + frame - 2, "\r\n", 2);
    }
    int64_t cpu_start = cpu_us(), start = now_ns();
    for (long sent = 0; sent < count;) {
        long now = count - sent < (long)per_chunk ? count - sent : (long)per_chunk;
        write_all(fd, chunk, (size_t)now * frame);
        sent += now;
        progress = sent;
    }
    write_all(fd, "PING\r\n", 6);
    long messages = 0, pongs = 0;
    while (pongs == 0) {
        fill(fd);
        parse(fd, &messages, &pongs);
    }
    int64_t end = now_ns(), cpu = cpu_us() - cpu_start;
    printf("nats-throughput role=pub client=c messages=%ld frame_bytes=%zu start_ns=%lld end_ns=%lld cpu_us=%lld\n",
           count, frame, (long long)start, (long long)end, (long long)cpu);
    free(chunk);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--sample") == 0) {
        print_sample();
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--describe") == 0) {
        describe(argv[2]);
        return 0;
    }
    bool sub = argc == 7 && strcmp(argv[1], "sub") == 0, pub = argc == 8 && strcmp(argv[1], "pub") == 0;
    if (!sub && !pub)
        die("usage: nats_throughput sub HOST PORT SUBJECT MESSAGES TIMEOUT-SECONDS | "
            "nats_throughput pub HOST PORT SUBJECT MESSAGES TIMEOUT-SECONDS WIRE-FILE | --sample | --describe WIRE-FILE");
    long count = atol(argv[5]);
    int timeout = atoi(argv[6]);
    if (count <= 0 || timeout <= 0 || strlen(argv[4]) == 0 || strpbrk(argv[4], " \t\r\n")) die("invalid arguments");
    role_name = argv[1];
    expected = count;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)timeout);  // bounded whatever happens, connecting included
    input = malloc(input_capacity);
    if (!input) die("out of memory");
    if (pub) {
        read_wire(argv[7]);
        run_pub(argv[2], argv[3], argv[4], count);
    } else {
        run_sub(argv[2], argv[3], argv[4], count);
    }
    return 0;
}
