// The raw C side of Scripts/bench-amqp (issue #14): send → receive throughput, settled, with
// bare qpid-proton, beside the Swift AMQPThroughput executable, which does the same with the
// CloudEvents AMQP binding (AMQPEventSender, AMQPEventReceiver, AMQPListener) and encodes and
// decodes the event for every message.
//
// One proactor driven by two threads (proton serialises the events of one connection, so the
// sender's and the receiver's connections can run on both cores at once, as the Swift side's
// one proactor thread per connection can). Two modes:
//   broker  a receiver connection attaches to the queue ADDRESS of the broker (RabbitMQ:
//           `/queue/NAME` declares it); once attached, a sender connection attaches to the same
//           address and sends; the receiver takes the messages off the queue at the same time.
//   peer    the receiver listens on 127.0.0.1 (an ephemeral port) and accepts one connection;
//           the sender connects to it and attaches a sender link to ADDRESS.
// The sender sends MESSAGES copies of the message in WIRE-FILE (the bytes the Swift binding
// writes for the ~500-byte sample event in binary mode, from `AMQPThroughput --wire`): decoded
// once into a pn_message and encoded again for every send (pn_message_send), unsettled, with
// at most WINDOW sent but not yet accepted and at most IN-TRANSIT sent but not yet received
// (as Scripts/bench-mqtt; keeps the broker's queue short). The receiver grants CREDIT, tops it
// up as it settles, decodes every delivery into a pn_message (a typical proton receiver does;
// the Swift side decodes the event as well) and accepts and settles it. The sender counts the
// accepted dispositions; any other outcome fails the run. Measured from the first send until
// every message is both received and accepted.
//
// Build: cc -O2 -o amqp_throughput amqp_throughput.c -lqpid-proton -lpthread
// Usage: amqp_throughput broker HOST PORT USER PASSWORD ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS WIRE-FILE
//        amqp_throughput peer ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT TIMEOUT-SECONDS WIRE-FILE
//          prints one line: `amqp-throughput client=c mode=M messages=N window=W in_transit=T
//          credit=C seconds=S msgs_per_s=X`; exits 1 on any failure or when the run has not
//          finished within the timeout. USER may be `-` (SASL ANONYMOUS).
//        amqp_throughput --sample
//          prints a wire file for the sample event built here as the spec maps it (binary
//          mode, `cloudEvents_` properties), for a C-only run without the Swift side.
//        amqp_throughput --describe WIRE-FILE
//          prints what the wire file's message holds (one line), for the script's log.
// The wire file is one line: `amqp\t<the encoded message in hex>`.
#define _GNU_SOURCE
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/listener.h>
#include <proton/message.h>
#include <proton/netaddr.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/transport.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "amqp_throughput: %s\n", what);
    exit(1);
}

static double seconds_between(struct timespec a, struct timespec b) {
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

// ---------------------------------------------------------------------------------------------
// The wire file

static char *read_wire(const char *path, size_t *size) {
    FILE *file = fopen(path, "r");
    if (!file) die("cannot open the wire file");
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length = getline(&line, &capacity, file);
    fclose(file);
    if (length <= 0) die("the wire file is empty");
    if (line[length - 1] == '\n') line[--length] = 0;
    if (strncmp(line, "amqp\t", 5) != 0) die("the wire file does not start with `amqp<tab>`");
    const char *hex = line + 5;
    size_t digits = strlen(hex);
    if (digits == 0 || digits % 2 != 0) die("the wire file's hex has an odd or zero length");
    char *bytes = malloc(digits / 2);
    if (!bytes) die("out of memory");
    for (size_t i = 0; i < digits / 2; i++) {
        unsigned value;
        if (sscanf(hex + 2 * i, "%2x", &value) != 1) die("the wire file's hex has a non-hex digit");
        bytes[i] = (char)value;
    }
    free(line);
    *size = digits / 2;
    return bytes;
}

static pn_message_t *decode_wire(const char *path) {
    size_t size;
    char *bytes = read_wire(path, &size);
    pn_message_t *message = pn_message();
    if (pn_message_decode(message, bytes, size) != 0) {
        fprintf(stderr, "amqp_throughput: the wire file's message does not decode: %s\n",
                pn_error_text(pn_message_error(message)));
        exit(1);
    }
    free(bytes);
    return message;
}

static void put_property(pn_data_t *map, const char *name) {
    pn_data_put_string(map, pn_bytes(strlen(name), name));
}

// The sample event (Benchmarks/Benchmarks/BenchmarkSample) as REFERENCE 3.3 maps it in binary
// mode with the default `cloudEvents_` prefix.
static void print_sample(void) {
    static const char data[] =
        "{\"deviceId\":\"thermostat-42\",\"reading\":{\"celsius\":21.5,\"humidity\":48,\"battery\":0.87},"
        "\"location\":{\"building\":\"north\",\"floor\":3,\"room\":\"3.14\"},\"tags\":[\"hvac\",\"eu-west\","
        "\"calibrated\"],\"seq\":1234567}";
    static const char *strings[][2] = {
        {"cloudEvents_specversion", "1.0"},
        {"cloudEvents_id", "9b3c6d4e-2f7a-4e1b-8c5d-0a1b2c3d4e5f"},
        {"cloudEvents_source", "https://sensors.example.com/buildings/north/floor-3"},
        {"cloudEvents_type", "com.example.sensor.reading.v1"},
        {"cloudEvents_subject", "thermostat-42/temperature"},
        {"cloudEvents_traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    };
    pn_message_t *message = pn_message();
    pn_message_set_inferred(message, true);
    pn_message_set_durable(message, true);
    pn_message_set_content_type(message, "application/json");
    pn_data_t *properties = pn_message_properties(message);
    pn_data_put_map(properties);
    pn_data_enter(properties);
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        put_property(properties, strings[i][0]);
        put_property(properties, strings[i][1]);
    }
    put_property(properties, "cloudEvents_time");
    pn_data_put_timestamp(properties, 1795342530123);  // 2026-11-22T10:15:30.123Z
    pn_data_exit(properties);
    pn_data_put_binary(pn_message_body(message), pn_bytes(strlen(data), data));
    char buffer[4096];
    size_t size = sizeof buffer;
    if (pn_message_encode(message, buffer, &size) != 0) die("cannot encode the sample message");
    printf("amqp\t");
    for (size_t i = 0; i < size; i++) printf("%02x", (unsigned char)buffer[i]);
    printf("\n");
    pn_message_free(message);
}

static void describe(const char *path) {
    size_t size;
    char *bytes = read_wire(path, &size);
    pn_message_t *message = pn_message();
    if (pn_message_decode(message, bytes, size) != 0) die("the wire file's message does not decode");
    pn_data_t *properties = pn_message_properties(message);
    pn_data_rewind(properties);
    size_t count = pn_data_next(properties) && pn_data_type(properties) == PN_MAP ? pn_data_get_map(properties) / 2 : 0;
    pn_data_t *body = pn_message_body(message);
    pn_data_rewind(body);
    const char *body_kind = "no body";
    size_t body_size = 0;
    if (pn_data_next(body)) {
        if (pn_data_type(body) == PN_BINARY && pn_message_is_inferred(message)) {
            body_kind = "Data section";
            body_size = pn_data_get_binary(body).size;
        } else {
            body_kind = "AmqpValue/AmqpSequence body";
        }
    }
    const char *content_type = pn_message_get_content_type(message);
    printf("%zu-byte message: content-type %s, %zu application properties, %s of %zu bytes, durable %s\n", size,
           content_type ? content_type : "(none)", count, body_kind, body_size,
           pn_message_is_durable(message) ? "true" : "false");
    pn_message_free(message);
    free(bytes);
}

// ---------------------------------------------------------------------------------------------
// The run

static pn_proactor_t *proactor;
static bool peer_mode;
static const char *host, *port, *user, *password, *address;
static long messages, window, in_transit, credit;

static pn_message_t *outgoing;   // sender connection only
static pn_rwbytes_t send_buffer;  // sender connection only
static pn_message_t *incoming;   // receiver connection only
static pn_rwbytes_t receive_buffer;  // receiver connection only

static pn_connection_t *sender_connection, *receiver_connection;
static _Atomic long sent, accepted, received;
static atomic_bool sender_waits_for_receiver;  // the sender stopped on IN-TRANSIT: wake it
static atomic_int sides_done;                 // 2 once all are received and all accepted
static atomic_bool finished, stopping;
static struct timespec start, end;

static void fail_condition(const char *where, pn_condition_t *condition) {
    fprintf(stderr, "amqp_throughput: %s: %s: %s (sent %ld, accepted %ld, received %ld)\n", where,
            pn_condition_get_name(condition), pn_condition_get_description(condition), atomic_load(&sent),
            atomic_load(&accepted), atomic_load(&received));
    exit(1);
}

// Called by the side that completes; the second one ends the measurement and closes both
// connections (each from its own events: proton objects are not thread-safe, the wake is).
static void side_done(void) {
    if (atomic_fetch_add(&sides_done, 1) != 1) return;
    clock_gettime(CLOCK_MONOTONIC, &end);
    atomic_store(&finished, true);
    pn_proactor_cancel_timeout(proactor);  // else the proactor does not go inactive
    pn_connection_wake(sender_connection);
    pn_connection_wake(receiver_connection);
}

static void open_links(pn_connection_t *connection);

// Opens the connection and its link and connects it (SASL PLAIN with a user, else ANONYMOUS).
static void start_connection(pn_connection_t *connection) {
    pn_connection_open(connection);
    open_links(connection);
    pn_transport_t *transport = pn_transport();
    pn_sasl_set_allow_insecure_mechs(pn_sasl(transport), true);  // PLAIN on loopback
    char target[PN_MAX_ADDR];
    pn_proactor_addr(target, sizeof target, host, port);
    pn_proactor_connect2(proactor, connection, transport, target);
}

static void connect_sender(void) {
    sender_connection = pn_connection();
    pn_connection_set_container(sender_connection, "ce-bench-c-sender");
    if (!peer_mode && strcmp(user, "-") != 0) {
        pn_connection_set_user(sender_connection, user);
        pn_connection_set_password(sender_connection, password);
    }
    start_connection(sender_connection);
}

static void pump(pn_link_t *link) {
    while (pn_link_credit(link) > 0) {
        long count = atomic_load(&sent);
        if (count >= messages || count - atomic_load(&accepted) >= window) return;
        if (count - atomic_load(&received) >= in_transit) {
            // Ask for a wake, then look again: a receipt in between would otherwise be missed.
            atomic_store(&sender_waits_for_receiver, true);
            if (count - atomic_load(&received) >= in_transit) return;
        }
        if (count == 0) clock_gettime(CLOCK_MONOTONIC, &start);
        pn_delivery(link, pn_dtag((const char *)&count, sizeof count));
        if (pn_message_send(outgoing, link, &send_buffer) < 0) {
            fprintf(stderr, "amqp_throughput: pn_message_send: %s\n", pn_error_text(pn_message_error(outgoing)));
            exit(1);
        }
        atomic_store(&sent, count + 1);
    }
}

static void on_sender_delivery(pn_delivery_t *delivery) {
    if (!pn_delivery_updated(delivery)) return;
    uint64_t state = pn_delivery_remote_state(delivery);
    if (state == 0) return;  // a disposition without an outcome yet
    if (state != PN_ACCEPTED) {
        pn_condition_t *condition = pn_disposition_condition(pn_delivery_remote(delivery));
        fprintf(stderr, "amqp_throughput: a send was not accepted: %s (%s: %s)\n", pn_disposition_type_name(state),
                pn_condition_get_name(condition) ? pn_condition_get_name(condition) : "-",
                pn_condition_get_description(condition) ? pn_condition_get_description(condition) : "-");
        exit(1);
    }
    pn_delivery_settle(delivery);
    if (atomic_fetch_add(&accepted, 1) + 1 == messages) side_done();
    pump(pn_delivery_link(delivery));
}

static void on_receiver_delivery(pn_delivery_t *delivery) {
    if (!pn_delivery_readable(delivery) || pn_delivery_partial(delivery)) return;
    pn_link_t *link = pn_delivery_link(delivery);
    size_t size = pn_delivery_pending(delivery);
    if (size > receive_buffer.size) {
        receive_buffer.start = realloc(receive_buffer.start, size);
        if (!receive_buffer.start) die("out of memory");
        receive_buffer.size = size;
    }
    ssize_t read = pn_link_recv(link, receive_buffer.start, size);
    if (read < 0) die("pn_link_recv failed (an aborted delivery?)");
    pn_link_advance(link);
    if (pn_message_decode(incoming, receive_buffer.start, (size_t)read) != 0) {
        fprintf(stderr, "amqp_throughput: a received message does not decode: %s\n",
                pn_error_text(pn_message_error(incoming)));
        exit(1);
    }
    pn_delivery_update(delivery, PN_ACCEPTED);
    pn_delivery_settle(delivery);
    if (pn_link_credit(link) < credit / 2) pn_link_flow(link, (int)(credit - pn_link_credit(link)));
    long count = atomic_fetch_add(&received, 1) + 1;
    if (atomic_exchange(&sender_waits_for_receiver, false)) pn_connection_wake(sender_connection);
    if (count == messages) side_done();
}

static void open_links(pn_connection_t *connection) {
    pn_session_t *session = pn_session(connection);
    pn_session_open(session);
    if (connection == sender_connection) {
        pn_link_t *link = pn_sender(session, "ce-bench-c-sender");
        pn_terminus_set_address(pn_link_target(link), address);
        /* Durable termini, as the Swift binding attaches by default (a durable RabbitMQ queue). */
        pn_terminus_set_durability(pn_link_target(link), PN_CONFIGURATION);
        pn_link_open(link);
    } else {
        pn_link_t *link = pn_receiver(session, "ce-bench-c-receiver");
        pn_terminus_set_address(pn_link_source(link), address);
        pn_terminus_set_durability(pn_link_source(link), PN_CONFIGURATION);
        pn_link_open(link);
        pn_link_flow(link, (int)credit);
    }
}

// Returns false once this thread should stop.
static bool handle(pn_event_t *event) {
    switch (pn_event_type(event)) {
        case PN_LISTENER_OPEN: {
            static char listening[32];
            pn_netaddr_host_port(pn_listener_addr(pn_event_listener(event)), NULL, 0, listening, sizeof listening);
            port = listening;
            connect_sender();
            break;
        }
        case PN_LISTENER_ACCEPT: {
            receiver_connection = pn_connection();
            pn_connection_set_container(receiver_connection, "ce-bench-c-listener");
            pn_transport_t *transport = pn_transport();
            pn_transport_set_server(transport);
            pn_transport_require_auth(transport, false);
            pn_sasl_allowed_mechs(pn_sasl(transport), "ANONYMOUS");
            pn_listener_accept2(pn_event_listener(event), receiver_connection, transport);
            pn_listener_close(pn_event_listener(event));  // one peer only
            break;
        }
        case PN_LISTENER_CLOSE: {
            pn_condition_t *condition = pn_listener_condition(pn_event_listener(event));
            if (pn_condition_is_set(condition)) fail_condition("listener", condition);
            break;
        }
        case PN_CONNECTION_REMOTE_OPEN:
            if (peer_mode && pn_event_connection(event) == receiver_connection) pn_connection_open(pn_event_connection(event));
            break;
        case PN_SESSION_REMOTE_OPEN:
            if (pn_session_state(pn_event_session(event)) & PN_LOCAL_UNINIT) pn_session_open(pn_event_session(event));
            break;
        case PN_LINK_REMOTE_OPEN: {
            pn_link_t *link = pn_event_link(event);
            if (pn_link_state(link) & PN_LOCAL_UNINIT) {  // the listener's side of the peer's sender link
                pn_terminus_copy(pn_link_source(link), pn_link_remote_source(link));
                pn_terminus_copy(pn_link_target(link), pn_link_remote_target(link));
                pn_link_open(link);
                pn_link_flow(link, (int)credit);
            } else if (!peer_mode && pn_link_is_receiver(link)) {
                connect_sender();  // the queue exists and has a consumer: start sending
            }
            break;
        }
        case PN_LINK_FLOW:
            if (pn_link_is_sender(pn_event_link(event))) pump(pn_event_link(event));
            break;
        case PN_DELIVERY: {
            pn_delivery_t *delivery = pn_event_delivery(event);
            if (pn_link_is_sender(pn_delivery_link(delivery))) {
                on_sender_delivery(delivery);
            } else {
                on_receiver_delivery(delivery);
            }
            break;
        }
        case PN_CONNECTION_WAKE: {
            pn_connection_t *connection = pn_event_connection(event);
            if (atomic_load(&finished)) {
                if (!(pn_connection_state(connection) & PN_LOCAL_CLOSED)) pn_connection_close(connection);
            } else if (connection == sender_connection) {
                for (pn_link_t *link = pn_link_head(connection, 0); link; link = pn_link_next(link, 0)) {
                    if (pn_link_is_sender(link)) pump(link);
                }
            }
            break;
        }
        case PN_LINK_REMOTE_CLOSE:
        case PN_LINK_REMOTE_DETACH:
            if (!atomic_load(&finished)) fail_condition("link closed by the peer", pn_link_remote_condition(pn_event_link(event)));
            break;
        case PN_CONNECTION_REMOTE_CLOSE:
            if (!atomic_load(&finished)) {
                fail_condition("connection closed by the peer", pn_connection_remote_condition(pn_event_connection(event)));
            }
            if (!(pn_connection_state(pn_event_connection(event)) & PN_LOCAL_CLOSED)) pn_connection_close(pn_event_connection(event));
            break;
        case PN_TRANSPORT_CLOSED:
            if (!atomic_load(&finished)) fail_condition("transport closed", pn_transport_condition(pn_event_transport(event)));
            break;
        case PN_PROACTOR_TIMEOUT:
            fprintf(stderr, "amqp_throughput: timed out: sent %ld, accepted %ld, received %ld of %ld\n", atomic_load(&sent),
                    atomic_load(&accepted), atomic_load(&received), messages);
            exit(1);
        case PN_PROACTOR_INACTIVE:
            atomic_store(&stopping, true);
            pn_proactor_interrupt(proactor);  // the other thread
            return false;
        case PN_PROACTOR_INTERRUPT:
            return !atomic_load(&stopping);
        default:
            break;
    }
    return true;
}

static void *run(void *unused) {
    (void)unused;
    bool going = true;
    while (going) {
        pn_event_batch_t *events = pn_proactor_wait(proactor);
        for (pn_event_t *event = pn_event_batch_next(events); event; event = pn_event_batch_next(events)) {
            if (!handle(event)) going = false;
        }
        pn_proactor_done(proactor, events);
        if (atomic_load(&stopping)) going = false;
    }
    return NULL;
}

static long positive(const char *text) {
    char *rest;
    long value = strtol(text, &rest, 10);
    if (*rest || value <= 0) die("the numbers must be positive integers");
    return value;
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
    char **numbers;
    const char *wire;
    if (argc == 13 && strcmp(argv[1], "broker") == 0) {
        host = argv[2], port = argv[3], user = argv[4], password = argv[5], address = argv[6];
        numbers = argv + 7;
        wire = argv[12];
    } else if (argc == 9 && strcmp(argv[1], "peer") == 0) {
        peer_mode = true;
        host = "127.0.0.1", address = argv[2];
        numbers = argv + 3;
        wire = argv[8];
    } else {
        die("usage: amqp_throughput broker HOST PORT USER PASSWORD ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT "
            "TIMEOUT-SECONDS WIRE-FILE | amqp_throughput peer ADDRESS MESSAGES WINDOW IN-TRANSIT CREDIT "
            "TIMEOUT-SECONDS WIRE-FILE | amqp_throughput --sample | amqp_throughput --describe WIRE-FILE");
    }
    messages = positive(numbers[0]), window = positive(numbers[1]), in_transit = positive(numbers[2]);
    credit = positive(numbers[3]);
    long timeout = positive(numbers[4]);
    outgoing = decode_wire(wire);
    incoming = pn_message();

    proactor = pn_proactor();
    pn_proactor_set_timeout(proactor, (pn_millis_t)(timeout * 1000));
    if (peer_mode) {
        pn_proactor_listen(proactor, pn_listener(), "127.0.0.1:0", 16);
    } else {
        receiver_connection = pn_connection();
        pn_connection_set_container(receiver_connection, "ce-bench-c-receiver");
        if (strcmp(user, "-") != 0) {
            pn_connection_set_user(receiver_connection, user);
            pn_connection_set_password(receiver_connection, password);
        }
        start_connection(receiver_connection);
    }
    pthread_t second;
    if (pthread_create(&second, NULL, run, NULL) != 0) die("pthread_create failed");
    run(NULL);
    pthread_join(second, NULL);
    if (!atomic_load(&finished)) die("the proactor went idle before the run finished");

    double seconds = seconds_between(start, end);
    printf("amqp-throughput client=c mode=%s messages=%ld window=%ld in_transit=%ld credit=%ld seconds=%.4f msgs_per_s=%.0f\n",
           peer_mode ? "peer" : "broker", messages, window, in_transit, credit, seconds, (double)messages / seconds);
    fflush(stdout);
    pn_proactor_free(proactor);
    pn_message_free(outgoing);
    pn_message_free(incoming);
    free(send_buffer.start);
    free(receive_buffer.start);
    return 0;
}
