// Package loadgen is llmgw's load generator for the benchmark harness
// (bench/run): an open-loop generator for latency (requests start on a
// fixed schedule whatever the target's speed, and latency counts from the
// scheduled start, so a stalled target cannot hide its queue: no
// coordinated omission), a closed-loop generator for capacity (N workers
// back to back), an SSE timer measuring time to first content event, gaps
// between content events and event-count fidelity, and a sampler of a
// process's CPU time, RSS, threads and open files from /proc.
//
// Every run is bounded by a duration and a request cap, and is meant for
// loopback targets only.
package loadgen
