package loki

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkHostCounts measures one read of the client's counters from the
// default registry, which a session does every pollInterval while entries
// are outstanding, and once per batch the client gives up on.
func BenchmarkHostCounts(b *testing.B) {
	f := newFakeLoki(b)
	cfg := Config{Name: "bench", URL: f.url()}.withDefaults()
	lc, err := clientConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	p := newPusher(cfg, lc, b.TempDir(), newTextLogger(discard{}), func(err error) error { return err })
	sess, _, err := startSession(p.host, p.newSession)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		sess.shutdown()
		<-sess.done
	}()
	read := hostCounts(prometheus.DefaultGatherer, p.host)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := read(); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
