#!/usr/bin/env bash
# Apache Kafka for Agentsuite's second CI lane: the broker's jars from Maven
# Central (deploy/apache-kafka/pom.xml), run with the machine's Java (17+) as a
# single-node KRaft broker+controller on 127.0.0.1. No Docker, no tarball.
#
#   kafka.sh fetch    copy the jars into the cache (skipped when already there)
#   kafka.sh start    fetch if needed, format storage once, start in the background,
#                     wait until the broker serves; prints KAFKA_BOOTSTRAP_SERVERS=...
#   kafka.sh stop     stop the broker started by `start` (a no-op when none runs)
#   kafka.sh status   exit 0 and print the bootstrap address when running, else exit 3
#   kafka.sh clean    stop, then delete this port's data folder (topics, offsets)
#   kafka.sh logs     print the tail of the broker's log
#
# Only the KAFKA_BOOTSTRAP_SERVERS=... line goes to stdout; progress goes to stderr,
# so `export "$(bash deploy/apache-kafka/kafka.sh start)"` works from any folder.
#
# Environment (all optional):
#   KAFKA_PORT               client port on 127.0.0.1 (default 19092)
#   KAFKA_CONTROLLER_PORT    KRaft controller port (default KAFKA_PORT + 1)
#   AGENTSUITE_KAFKA_CACHE   cache root (default <repo>/.cache/apache-kafka);
#                            jars go to <cache>/<version>/libs
#   KAFKA_DATA_DIR           data folder for this broker
#                            (default <cache>/<version>/data/<KAFKA_PORT>)
#   KAFKA_HEAP_OPTS          JVM heap (default "-Xms256m -Xmx512m")
#   KAFKA_JVM_OPTS           extra JVM options
#   KAFKA_START_TIMEOUT      seconds to wait for the broker (default 90)
#   KAFKA_AUTO_CREATE_TOPICS auto.create.topics.enable (default false: the platform
#                            creates its topics, and their .dlq twins, explicitly)
#   KAFKA_EXTRA_PROPERTIES   extra server.properties lines, newline-separated
#   JAVA_HOME                Java to use (default: `java` on PATH)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
POM="$SCRIPT_DIR/pom.xml"
LOG4J_CONFIG="$SCRIPT_DIR/log4j2.xml"

KAFKA_VERSION="$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM" | head -n 1)"
if [[ -z "$KAFKA_VERSION" ]]; then
    echo "kafka.sh: no <kafka.version> in $POM" >&2
    exit 1
fi

CACHE_ROOT="${AGENTSUITE_KAFKA_CACHE:-$REPO/.cache/apache-kafka}"
CACHE="$CACHE_ROOT/$KAFKA_VERSION"
LIBS="$CACHE/libs"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
DATA="${KAFKA_DATA_DIR:-$CACHE/data/$PORT}"
PID_FILE="$DATA/kafka.pid"
PROPS="$DATA/server.properties"
LOG_DIR="$DATA/logs"
KRAFT_DIR="$DATA/kraft-combined-logs"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
BOOTSTRAP="127.0.0.1:$PORT"

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

java_bin() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        echo "$JAVA_HOME/bin/java"
    elif command -v java >/dev/null 2>&1; then
        command -v java
    else
        die "no java found (set JAVA_HOME or put Java 17+ on PATH)"
    fi
}

check_java() {
    local java version major
    java="$(java_bin)"
    version="$("$java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
    major="${version%%.*}"
    if [[ "$major" == "1" ]]; then major=8; fi
    if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
        die "Apache Kafka $KAFKA_VERSION needs Java 17+, found '${version:-unknown}' at $java"
    fi
}

pom_digest() { sha256sum "$POM" | cut -d ' ' -f 1; }

libs_ready() { [[ -f "$LIBS/.complete" && "$(cat "$LIBS/.complete")" == "$(pom_digest)" ]]; }

cmd_fetch() {
    if libs_ready; then
        log "Apache Kafka $KAFKA_VERSION jars already in $LIBS"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (Maven 3 is needed to fetch the jars)"
    mkdir -p "$CACHE"
    local tmp
    tmp="$(mktemp -d "$CACHE/libs.tmp.XXXXXX")"
    log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
    # Maven 3.8's jansi prints bare colour resets even in batch mode: strip them.
    if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
        rm -rf "$tmp"
        die "mvn dependency:copy-dependencies failed"
    fi
    [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"; }
    pom_digest >"$tmp/.complete"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    log "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars"
}

# The pid in the pid file, if that process is alive and is our broker.
running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid args
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    if [[ -r "/proc/$pid/cmdline" ]]; then
        args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    else
        args="$(ps -ww -o args= -p "$pid" 2>/dev/null || true)"
    fi
    [[ "$args" == *"kafka.Kafka"*"$PROPS"* ]] || return 1
    echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_properties() {
    mkdir -p "$DATA" "$LOG_DIR"
    cat >"$PROPS" <<EOF
# Written by deploy/apache-kafka/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
log.dirs=$KRAFT_DIR
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=${KAFKA_AUTO_CREATE_TOPICS:-false}
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
log.retention.hours=24
${KAFKA_EXTRA_PROPERTIES:-}
EOF
}

format_storage() {
    local java cluster_id
    java="$(java_bin)"
    if [[ -f "$KRAFT_DIR/meta.properties" ]]; then
        return 0
    fi
    cluster_id="$("$java" -cp "$LIBS/*" -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
        -Dkafka.logs.dir="$LOG_DIR" kafka.tools.StorageTool random-uuid)"
    log "formatting KRaft storage in $KRAFT_DIR (cluster id $cluster_id)"
    "$java" -cp "$LIBS/*" -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$LOG_DIR" \
        kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$PROPS" >>"$LOG_DIR/format.log" 2>&1 \
        || { cat "$LOG_DIR/format.log" >&2; die "kafka-storage format failed"; }
}

cmd_start() {
    local pid
    if pid="$(running_pid)"; then
        log "already running (pid $pid) on $BOOTSTRAP"
        echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
        return 0
    fi
    rm -f "$PID_FILE"
    check_java
    cmd_fetch
    local p
    for p in "$PORT" "$CONTROLLER_PORT"; do
        if port_open "$p"; then
            die "port $p on 127.0.0.1 is already in use (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
        fi
    done
    write_properties
    format_storage

    local java started
    java="$(java_bin)"
    : >"$LOG_DIR/server.log"
    : >"$LOG_DIR/stdout.log"
    # shellcheck disable=SC2086  # the *_OPTS variables are word lists by design
    nohup "$java" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} \
        -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$LOG_DIR" \
        ${KAFKA_JVM_OPTS:-} \
        -cp "$LIBS/*" kafka.Kafka "$PROPS" \
        >"$LOG_DIR/stdout.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "started Apache Kafka $KAFKA_VERSION (pid $pid), waiting for $BOOTSTRAP"

    started=$SECONDS
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE"
            log "the broker exited during startup; last log lines:"
            tail -n 30 "$LOG_DIR/server.log" "$LOG_DIR/stdout.log" >&2 || true
            exit 1
        fi
        if port_open "$PORT" && grep -q "Kafka Server started" "$LOG_DIR/server.log" 2>/dev/null; then
            break
        fi
        if ((SECONDS - started >= START_TIMEOUT)); then
            log "the broker did not become ready within ${START_TIMEOUT}s; stopping it"
            tail -n 30 "$LOG_DIR/server.log" "$LOG_DIR/stdout.log" >&2 || true
            cmd_stop
            exit 1
        fi
        sleep 0.2
    done
    log "ready after $((SECONDS - started))s"
    echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
}

cmd_stop() {
    local pid i
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        log "not running on port $PORT"
        return 0
    fi
    log "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid still alive after 30s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        log "running (pid $pid), Apache Kafka $KAFKA_VERSION, data in $DATA"
        echo "KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP"
        return 0
    fi
    log "not running on port $PORT"
    return 3
}

cmd_clean() {
    cmd_stop
    if [[ -d "$DATA" ]]; then
        rm -rf "$DATA"
        log "removed $DATA"
    fi
}

cmd_logs() { tail -n "${1:-100}" "$LOG_DIR/server.log"; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

main() {
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
        fetch) cmd_fetch ;;
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        clean) cmd_clean ;;
        logs) cmd_logs "$@" ;;
        -h | --help | help) usage ;;
        *) usage; exit 2 ;;
    esac
}

main "$@"
