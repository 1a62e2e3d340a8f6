package spool

import (
	"context"
	"testing"

	"github.com/klaxon-agent/klaxon/scanner"
)

// BenchmarkSend measures Send, which writes and syncs one file and syncs
// the folder per alert, with a backend that accepts everything at once.
// The figure depends on the disk's fsync latency.
func BenchmarkSend(b *testing.B) {
	s, err := Open(&recorder{}, Config{MaxAlerts: 1 << 20, MaxBytes: 1 << 40}, Options{Name: "bench", Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	a := testAlert("bench", scanner.SeverityWarning)
	b.ResetTimer()
	for b.Loop() {
		if err := s.Send(context.Background(), a); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	if err := s.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRecovery measures how fast a spool left with 2,000 alerts is
// emptied after Open: listing, reading, decoding and removing the files.
func BenchmarkRecovery(b *testing.B) {
	const alerts = 2000
	a := testAlert("bench", scanner.SeverityWarning)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		st, _, err := openStore(dir)
		if err != nil {
			b.Fatal(err)
		}
		data, err := encodeRecord(a, a.LastSeen)
		if err != nil {
			b.Fatal(err)
		}
		for i := range alerts {
			if err := st.write(uint64(i+1), a.Severity, data); err != nil {
				b.Fatal(err)
			}
		}
		st.close()
		b.StartTimer()

		s, err := Open(&recorder{}, Config{}, Options{Name: "bench", Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		if n := s.Len(); n != 0 {
			b.Fatalf("%d alerts left", n)
		}
	}
	b.ReportMetric(float64(alerts*b.N)/b.Elapsed().Seconds(), "alerts/s")
}
