// Package scanner turns node log files into alerts. It owns the log formats
// (CRI, Docker json-file, plain text, and the klog, JSON and logfmt messages
// inside them), the metadata that the kubelet's paths carry, the TOML rules,
// matching, and the alert state of each rule group.
//
// The pipeline is Decoder (one per file) → Engine (one per process) → Alert.
// A Decoder and an Engine are each used by one goroutine at a time; Replay
// drives both for saved files, and the agent drives them for live ones.
package scanner
