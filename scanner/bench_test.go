package scanner

import (
	"fmt"
	"testing"
	"time"
)

// benchLines are typical system-component lines: klog, JSON, logfmt, an
// access log and CoreDNS, none of which the benchmark rules match.
var benchLines = []string{
	`2026-10-03T02:00:14.123456789Z stderr F I1003 02:00:14.123456       1 reflector.go:255] Watch close - *v1.Secret total 7 items received`,
	`2026-10-03T02:00:14.223456789Z stdout F {"level":"info","ts":1759456814.22,"logger":"controller","msg":"Reconciling","namespace":"web","name":"shop"}`,
	`2026-10-03T02:00:14.323456789Z stderr F time="2026-10-03T02:00:14Z" level=info msg="All records are already up to date"`,
	`2026-10-03T02:00:14.423456789Z stdout F 192.0.2.10 - - [03/Oct/2026:02:00:14 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.33" 112 0.001 [default-web-80] []`,
	`2026-10-03T02:00:14.523456789Z stdout F [INFO] 10.0.0.12:51234 - 4242 "A IN api.example.com. udp 33 false 512" NOERROR qr,rd,ra 64 0.000112s`,
}

const benchRules = `
[[rule]]
name = "expired"
severity = "critical"
match = 'x509: certificate has expired or is not yet valid'
[[rule]]
name = "unknown-authority"
severity = "critical"
match = 'x509: certificate signed by unknown authority'
[[rule]]
name = "propagation"
severity = "warning"
match = 'propagation check failed'
[[rule]]
name = "conflict"
severity = "warning"
match = 'conflicting RRSet of type (?P<type>\w+)'
[[rule]]
name = "lease"
severity = "warning"
match = '(?:failed to renew lease|leader election lost)'
[[rule]]
name = "loop"
severity = "critical"
match = 'plugin/loop: Loop \(.*\) detected'
[[rule]]
name = "panic"
severity = "critical"
match = '^panic: '
[[rule]]
name = "errors"
severity = "warning"
levels = ["error", "fatal"]
threshold = 20
`

// BenchmarkDecode measures CRI unwrapping per line.
func BenchmarkDecode(b *testing.B) {
	d := NewDecoder(&Source{}, time.Time{})
	raws := make([][]byte, len(benchLines))
	for i, l := range benchLines {
		raws[i] = []byte(l)
	}
	emit := func(*Line) {}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Decode(raws[i%len(raws)], emit)
	}
}

// BenchmarkDecodeAndMatch measures a line through the decoder and the engine
// with rules that do not match it, the common case on a node.
func BenchmarkDecodeAndMatch(b *testing.B) {
	e, src, raws := benchEngine(b)
	d := NewDecoder(src, time.Time{})
	process := e.Process
	b.ReportAllocs()
	var bytes int64
	for i := 0; b.Loop(); i++ {
		raw := raws[i%len(raws)]
		bytes += int64(len(raw))
		d.Decode(raw, process)
	}
	b.ReportMetric(float64(bytes)/1e6/b.Elapsed().Seconds(), "MB/s")
	if e.Stats.Matches != 0 {
		b.Fatal(fmt.Sprintf("benchmark lines matched %d times", e.Stats.Matches))
	}
}

// BenchmarkPassBy measures a line on the path most lines take: the decoder
// hands it over whole and the engine finds no rule literal in it.
func BenchmarkPassBy(b *testing.B) {
	d, pass, process, raws, e := passByBench(b)
	b.ReportAllocs()
	var bytes int64
	for i := 0; b.Loop(); i++ {
		raw := raws[i%len(raws)]
		bytes += int64(len(raw))
		if !d.Pass(raw, pass) {
			d.Decode(raw, process)
		}
	}
	b.ReportMetric(float64(bytes)/1e6/b.Elapsed().Seconds(), "MB/s")
	if e.Stats.Matches != 0 {
		b.Fatal(fmt.Sprintf("benchmark lines matched %d times", e.Stats.Matches))
	}
}

// passByBench returns a decoder and engine for the benchmark rules, started
// by a first line so that lines can pass the engine by.
func passByBench(tb testing.TB) (*Decoder, func(time.Time, []byte) bool, func(*Line), [][]byte, *Engine) {
	e, src, raws := benchEngine(tb)
	d := NewDecoder(src, time.Time{})
	d.SetMultiline(&DefaultMultiline)
	pass := func(t time.Time, text []byte) bool { return e.PassBy(src, t, text) }
	d.Decode(raws[0], e.Process)
	return d, pass, e.Process, raws, e
}

func TestPassByDoesNotAllocate(t *testing.T) {
	d, pass, _, raws, _ := passByBench(t)
	for i, raw := range raws {
		if !d.Pass(raw, pass) {
			t.Fatalf("line %d did not pass the engine by: %s", i, raw)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		d.Pass(raws[i%len(raws)], pass)
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per line", allocs)
	}
}

// benchEngine returns an engine for the benchmark rules, a source they all
// apply to, and the benchmark lines.
func benchEngine(tb testing.TB) (*Engine, *Source, [][]byte) {
	rs, err := ParseRules("bench.toml", []byte(benchRules))
	if err != nil {
		tb.Fatal(err)
	}
	raws := make([][]byte, len(benchLines))
	for i, l := range benchLines {
		raws[i] = []byte(l)
	}
	return NewEngine(rs, EngineOptions{}), &Source{Namespace: "kube-system", Pod: "p", Container: "c"}, raws
}
