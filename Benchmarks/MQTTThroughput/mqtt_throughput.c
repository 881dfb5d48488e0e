// The raw C side of Scripts/bench-mqtt (issue #5): publish → receive throughput through a
// local broker with bare libmosquitto, beside the Swift MQTTThroughput executable, which
// does the same with MQTTClient and CloudEvents encoding and decoding.
//
// A subscriber client and a publisher client (MQTT 5, clean start, each its own
// `struct mosquitto *` with its own network thread from mosquitto_loop_start), one unique
// topic. The subscriber subscribes at the QoS (with a Subscription Identifier, as
// MQTTClient does); the publisher then publishes MESSAGES copies of the PUBLISH the Swift
// binding writes for the sample event in binary mode (same payload, Content Type and User
// Properties, read from WIRE-FILE, which `MQTTThroughput --wire` prints), keeping at most
// WINDOW of them unacknowledged (on_publish: QoS 0 when written, QoS 1 on PUBACK) and at
// most IN-TRANSIT published but not yet received (mosquitto acknowledges a publish on
// receipt and drops QoS 0 and 1 messages for a subscriber that has 1000 queued, by
// default: without this bound a publisher that outruns the subscriber loses messages).
// The subscriber only counts. Measured from the first publish until the subscriber has
// received them all.
//
// Build: cc -O2 -o mqtt_throughput mqtt_throughput.c -lmosquitto -lpthread
// Usage: mqtt_throughput HOST PORT QOS MESSAGES WINDOW IN-TRANSIT TIMEOUT-SECONDS WIRE-FILE
//   prints one line: `mqtt-throughput client=c qos=Q messages=N window=W in_transit=T
//   seconds=S msgs_per_s=X`; exits 1 when not all arrived within the timeout.
#define _GNU_SOURCE
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;  // CLOCK_MONOTONIC; signalled on every event below
static bool sub_connected, pub_connected, subscribed;
static int connect_refusal = -1;
static long acknowledged;        // on_publish callbacks
static long received;            // on_message callbacks (every one signals `changed`)
static long expected;
static struct timespec last_received;

static void die(const char *what) {
    fprintf(stderr, "mqtt_throughput: %s\n", what);
    exit(1);
}

static double seconds_between(struct timespec a, struct timespec b) {
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void on_connect(struct mosquitto *mosq, void *role, int reason, int flags, const mosquitto_property *props) {
    (void)mosq; (void)flags; (void)props;
    pthread_mutex_lock(&lock);
    if (reason != 0) {
        connect_refusal = reason;
    } else if (*(const char *)role == 's') {
        sub_connected = true;
    } else {
        pub_connected = true;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_subscribe(struct mosquitto *mosq, void *role, int mid, int count, const int *granted,
                         const mosquitto_property *props) {
    (void)mosq; (void)role; (void)mid; (void)props;
    pthread_mutex_lock(&lock);
    subscribed = count > 0 && granted[0] < 0x80;
    if (!subscribed) connect_refusal = count > 0 ? granted[0] : 0x80;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_publish(struct mosquitto *mosq, void *role, int mid, int reason, const mosquitto_property *props) {
    (void)mosq; (void)role; (void)mid; (void)props;
    if (reason >= 0x80) {
        fprintf(stderr, "mqtt_throughput: the broker refused a publish: reason code %d\n", reason);
        exit(1);
    }
    pthread_mutex_lock(&lock);
    acknowledged++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_message(struct mosquitto *mosq, void *role, const struct mosquitto_message *message,
                       const mosquitto_property *props) {
    (void)mosq; (void)role; (void)message; (void)props;
    pthread_mutex_lock(&lock);
    received++;
    if (received == expected) clock_gettime(CLOCK_MONOTONIC, &last_received);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

// Waits (lock held) until *flag or the deadline; false on timeout.
static bool wait_for(bool *flag, const struct timespec *deadline) {
    while (!*flag && connect_refusal < 0) {
        if (pthread_cond_timedwait(&changed, &lock, deadline) == ETIMEDOUT) return *flag;
    }
    return *flag;
}

// The wire file: `content-type\t<v>`, `user-property\t<name>\t<value>` lines, `payload\t<bytes>`.
static mosquitto_property *properties;
static char *payload;
static int payload_length;

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
        char *value = tab + 1;
        if (strcmp(line, "content-type") == 0) {
            if (mosquitto_property_add_string(&properties, MQTT_PROP_CONTENT_TYPE, value) != MOSQ_ERR_SUCCESS)
                die("cannot add the Content Type");
        } else if (strcmp(line, "user-property") == 0) {
            char *second = strchr(value, '\t');
            if (!second) die("a user-property line without a value");
            *second = 0;
            if (mosquitto_property_add_string_pair(&properties, MQTT_PROP_USER_PROPERTY, value, second + 1) != MOSQ_ERR_SUCCESS)
                die("cannot add a User Property");
        } else if (strcmp(line, "payload") == 0) {
            payload = strdup(value);
            payload_length = (int)strlen(value);
        } else {
            die("an unknown wire-file line");
        }
    }
    free(line);
    fclose(file);
    if (!payload) die("the wire file has no payload");
}

static struct mosquitto *connect_client(const char *role, const char *host, int port, const struct timespec *deadline) {
    char id[64];
    snprintf(id, sizeof id, "ce-bench-c%s-%d", role, (int)getpid());
    struct mosquitto *mosq = mosquitto_new(id, true, (void *)role);
    if (!mosq) die("mosquitto_new failed");
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(mosq, on_connect);
    mosquitto_subscribe_v5_callback_set(mosq, on_subscribe);
    mosquitto_publish_v5_callback_set(mosq, on_publish);
    mosquitto_message_v5_callback_set(mosq, on_message);
    if (mosquitto_connect_bind_v5(mosq, host, port, 30, NULL, NULL) != MOSQ_ERR_SUCCESS) die("cannot connect to the broker");
    if (mosquitto_loop_start(mosq) != MOSQ_ERR_SUCCESS) die("mosquitto_loop_start failed");
    pthread_mutex_lock(&lock);
    bool connected = wait_for(role[0] == 's' ? &sub_connected : &pub_connected, deadline);
    pthread_mutex_unlock(&lock);
    if (!connected) die("no CONNACK from the broker (or it refused the connection)");
    return mosq;
}

int main(int argc, char **argv) {
    if (argc != 9) die("usage: mqtt_throughput HOST PORT QOS MESSAGES WINDOW IN-TRANSIT TIMEOUT-SECONDS WIRE-FILE");
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int qos = atoi(argv[3]);
    long messages = atol(argv[4]);
    long window = atol(argv[5]);
    long in_transit = atol(argv[6]);
    int timeout = atoi(argv[7]);
    if (port <= 0 || qos < 0 || qos > 2 || messages <= 0 || window <= 0 || in_transit <= 0 || timeout <= 0)
        die("invalid arguments");
    expected = messages;
    read_wire(argv[8]);

    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&changed, &attributes);

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout;

    mosquitto_lib_init();
    char topic[128];
    snprintf(topic, sizeof topic, "ce-bench/mqtt-throughput/c-%d-%ld-%d", (int)getpid(), (long)time(NULL), rand());

    struct mosquitto *sub = connect_client("sub", host, port, &deadline);
    struct mosquitto *pub = connect_client("pub", host, port, &deadline);
    mosquitto_property *subscribe_properties = NULL;
    mosquitto_property_add_varint(&subscribe_properties, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, 1);
    if (mosquitto_subscribe_v5(sub, NULL, topic, qos, 0, subscribe_properties) != MOSQ_ERR_SUCCESS) die("cannot subscribe");
    mosquitto_property_free_all(&subscribe_properties);
    pthread_mutex_lock(&lock);
    bool granted = wait_for(&subscribed, &deadline);
    pthread_mutex_unlock(&lock);
    if (!granted) die("no SUBACK (or the broker refused the subscription)");

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long sent = 0; sent < messages; sent++) {
        pthread_mutex_lock(&lock);
        while (sent - acknowledged >= window || sent - received >= in_transit) {
            if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT) {
                fprintf(stderr, "mqtt_throughput: timed out after %d s: %ld of %ld publishes acknowledged, %ld received\n",
                        timeout, acknowledged, messages, received);
                exit(1);
            }
        }
        pthread_mutex_unlock(&lock);
        int rc = mosquitto_publish_v5(pub, NULL, topic, payload_length, payload, qos, false, properties);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "mqtt_throughput: mosquitto_publish_v5: %s\n", mosquitto_strerror(rc));
            exit(1);
        }
    }
    pthread_mutex_lock(&lock);
    while (received < messages || acknowledged < messages) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT) {
            fprintf(stderr, "mqtt_throughput: timed out after %d s: %ld of %ld publishes acknowledged, %ld received\n",
                    timeout, acknowledged, messages, received);
            exit(1);
        }
    }
    struct timespec end = last_received;
    pthread_mutex_unlock(&lock);

    double seconds = seconds_between(start, end);
    printf("mqtt-throughput client=c qos=%d messages=%ld window=%ld in_transit=%ld seconds=%.4f msgs_per_s=%.0f\n", qos,
           messages, window, in_transit, seconds, (double)messages / seconds);
    fflush(stdout);

    mosquitto_disconnect_v5(pub, 0, NULL);
    mosquitto_disconnect_v5(sub, 0, NULL);
    mosquitto_loop_stop(pub, false);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    mosquitto_property_free_all(&properties);
    free(payload);
    mosquitto_lib_cleanup();
    return 0;
}
