package scanner

import (
	"context"
	"os"
	"testing"
)

// BenchmarkReplayFile replays the file named by KLAXON_BENCH_FILE with the
// rules named by KLAXON_BENCH_RULES (default ../rules.toml), for profiling
// replay on a large generated corpus (see bench/gencorpus).
func BenchmarkReplayFile(b *testing.B) {
	file := os.Getenv("KLAXON_BENCH_FILE")
	if file == "" {
		b.Skip("set KLAXON_BENCH_FILE to a log file, for example one written by go run ./bench/gencorpus")
	}
	rulesPath := os.Getenv("KLAXON_BENCH_RULES")
	if rulesPath == "" {
		rulesPath = "../rules.toml"
	}
	rs, err := LoadRules(rulesPath)
	if err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Replay(context.Background(), rs, []string{file}, ReplayOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
