package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a Backend whose behaviour each test scripts through deliver.
// It records every alert it reports as delivered.
type recorder struct {
	mu        sync.Mutex
	deliver   func(ctx context.Context, pending []*Entry) Result
	delivered []*scanner.Alert
	calls     int
}

func (r *recorder) Deliver(ctx context.Context, pending []*Entry) Result {
	r.mu.Lock()
	r.calls++
	fn := r.deliver
	r.mu.Unlock()
	res := Result{Delivered: pending}
	if fn != nil {
		res = fn(ctx, pending)
	}
	r.mu.Lock()
	for _, e := range res.Delivered {
		r.delivered = append(r.delivered, e.Alert)
	}
	r.mu.Unlock()
	return res
}

func (r *recorder) rules() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for _, a := range r.delivered {
		names = append(names, a.Rule)
	}
	return names
}

func testAlert(rule string, sev scanner.Severity) *scanner.Alert {
	t0 := time.Date(2026, 3, 1, 14, 5, 0, 0, time.UTC)
	return &scanner.Alert{
		Rule:       rule,
		Severity:   sev,
		Summary:    "summary of " + rule,
		Namespace:  "kube-system",
		Pod:        "coredns-1",
		Container:  "coredns",
		Node:       "node-a",
		FirstSeen:  t0,
		LastSeen:   t0.Add(time.Minute),
		Count:      3,
		Lines:      []scanner.Sample{{Time: t0, Text: "line of " + rule}},
		GroupKey:   "group/" + rule,
		Reminder:   true,
		New:        2,
		PreviousAt: t0.Add(-time.Hour),
		Resolved:   true,
	}
}

func openSpool(t *testing.T, dir string, b Backend, cfg Config, reg prometheus.Registerer) *Spool {
	t.Helper()
	s, err := Open(b, cfg, Options{Name: "test", Dir: dir, Registerer: reg})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func closeSpool(t *testing.T, s *Spool) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func alertFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), fileSuffix) {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestSpoolDeliversInOrder(t *testing.T) {
	b := &recorder{}
	dir := t.TempDir()
	s := openSpool(t, dir, b, Config{}, nil)
	for i := range 20 {
		if err := s.Send(context.Background(), testAlert(fmt.Sprintf("r%02d", i), scanner.SeverityWarning)); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	closeSpool(t, s)

	got := b.rules()
	if len(got) != 20 {
		t.Fatalf("delivered %d alerts, want 20: %v", len(got), got)
	}
	if !slices.IsSorted(got) {
		t.Errorf("delivery order = %v, want the order of Send", got)
	}
	if files := alertFiles(t, dir); len(files) != 0 {
		t.Errorf("spool files left after delivery: %v", files)
	}
}

func TestSpoolKeepsSinkFields(t *testing.T) {
	b := &recorder{}
	s := openSpool(t, t.TempDir(), b, Config{}, nil)
	want := testAlert("r", scanner.SeverityCritical)
	want.Escalated, want.Ended, want.Final = true, true, true
	if err := s.Send(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	closeSpool(t, s)

	if len(b.delivered) != 1 {
		t.Fatalf("delivered %d alerts, want 1", len(b.delivered))
	}
	got := b.delivered[0]
	if got == want {
		t.Fatal("backend got the caller's pointer, want a copy read from the spool")
	}
	if got.GroupKey != want.GroupKey || !got.Reminder || got.New != want.New ||
		!got.PreviousAt.Equal(want.PreviousAt) || !got.Resolved || !got.Escalated || !got.Ended || !got.Final {
		t.Errorf("sink fields after the spool = %+v, want those of %+v", got, want)
	}
	if got.Severity != want.Severity || got.Summary != want.Summary || got.Lines[0].Text != want.Lines[0].Text {
		t.Errorf("alert after the spool = %+v, want %+v", got, want)
	}
}

func TestSpoolRetriesUntilDelivered(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	b := &recorder{}
	failuresLeft := 3
	b.deliver = func(_ context.Context, pending []*Entry) Result {
		if failuresLeft > 0 {
			failuresLeft--
			return Result{Err: errors.New("server returned 503")}
		}
		return Result{Delivered: pending}
	}
	cfg := Config{RetryMin: sinks.Duration(time.Millisecond), RetryMax: sinks.Duration(5 * time.Millisecond)}
	s := openSpool(t, t.TempDir(), b, cfg, reg)
	if err := s.Send(context.Background(), testAlert("r", scanner.SeverityInfo)); err != nil {
		t.Fatal(err)
	}
	closeSpool(t, s)

	if got := b.rules(); !slices.Equal(got, []string{"r"}) {
		t.Errorf("delivered %v, want [r] once", got)
	}
	if b.calls != 4 {
		t.Errorf("Deliver calls = %d, want 4 (3 failures and a success)", b.calls)
	}
	want := `
# HELP klaxon_sink_delivery_failures_total Delivery attempts that failed and will be retried.
# TYPE klaxon_sink_delivery_failures_total counter
klaxon_sink_delivery_failures_total{sink="test"} 3
# HELP klaxon_sink_alerts_delivered_total Alerts the sink's backend accepted.
# TYPE klaxon_sink_alerts_delivered_total counter
klaxon_sink_alerts_delivered_total{sink="test"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"klaxon_sink_delivery_failures_total", "klaxon_sink_alerts_delivered_total"); err != nil {
		t.Error(err)
	}
}

func TestSpoolDropsRejected(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	b := &recorder{}
	b.deliver = func(_ context.Context, pending []*Entry) Result {
		var res Result
		for _, e := range pending {
			if e.Alert.Rule == "bad" {
				res.Rejected = append(res.Rejected, e)
			} else {
				res.Delivered = append(res.Delivered, e)
			}
		}
		res.RejectErr = errors.New("server returned 400")
		return res
	}
	dir := t.TempDir()
	s := openSpool(t, dir, b, Config{}, reg)
	for _, rule := range []string{"good", "bad"} {
		if err := s.Send(context.Background(), testAlert(rule, scanner.SeverityInfo)); err != nil {
			t.Fatal(err)
		}
	}
	closeSpool(t, s)

	if got := b.rules(); !slices.Equal(got, []string{"good"}) {
		t.Errorf("delivered %v, want [good]", got)
	}
	if got := testutil.ToFloat64(s.metrics.dropped[reasonRejected]); got != 1 {
		t.Errorf("rejected drops = %v, want 1", got)
	}
	if files := alertFiles(t, dir); len(files) != 0 {
		t.Errorf("spool files left: %v", files)
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	down := &recorder{deliver: func(context.Context, []*Entry) Result {
		return Result{Err: errors.New("connection refused")}
	}}
	// A long RetryMin keeps the loop asleep after the first failure.
	cfg := Config{RetryMin: sinks.Duration(time.Hour), RetryMax: sinks.Duration(time.Hour)}
	s := openSpool(t, dir, down, cfg, nil)
	for i := range 5 {
		if err := s.Send(context.Background(), testAlert(fmt.Sprintf("r%d", i), scanner.SeverityWarning)); err != nil {
			t.Fatal(err)
		}
	}
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(expired); err != nil {
		t.Fatalf("Close with an expired context: %v", err)
	}
	if err := s.Send(context.Background(), testAlert("late", scanner.SeverityWarning)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if files := alertFiles(t, dir); len(files) != 5 {
		t.Fatalf("spool files after Close = %v, want 5", files)
	}

	up := &recorder{}
	s = openSpool(t, dir, up, Config{}, nil)
	if err := s.Send(context.Background(), testAlert("r5", scanner.SeverityWarning)); err != nil {
		t.Fatal(err)
	}
	closeSpool(t, s)
	want := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	if got := up.rules(); !slices.Equal(got, want) {
		t.Errorf("delivered after restart %v, want %v", got, want)
	}
}

func TestSpoolFullDropsLowestSeverity(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	started := make(chan struct{})
	release := make(chan struct{})
	b := &recorder{}
	first := true
	b.deliver = func(ctx context.Context, pending []*Entry) Result {
		if first {
			// Hold the first alert in flight while the test fills the spool.
			first = false
			close(started)
			<-release
		}
		return Result{Delivered: pending}
	}
	dir := t.TempDir()
	s := openSpool(t, dir, b, Config{MaxAlerts: 3}, reg)
	send := func(rule string, sev scanner.Severity) {
		t.Helper()
		if err := s.Send(context.Background(), testAlert(rule, sev)); err != nil {
			t.Fatalf("Send %s: %v", rule, err)
		}
	}

	send("a1-info", scanner.SeverityInfo)
	<-started
	send("a2-info", scanner.SeverityInfo)
	send("a3-warning", scanner.SeverityWarning)
	send("a4-critical", scanner.SeverityCritical) // drops a2: oldest info not in flight
	send("a5-info", scanner.SeverityInfo)         // dropped itself: lowest severity
	send("a6-warning", scanner.SeverityWarning)   // drops a3: oldest of the lowest
	if got := len(alertFiles(t, dir)); got != 3 {
		t.Errorf("spool files = %d, want 3", got)
	}
	close(release)
	closeSpool(t, s)

	want := []string{"a1-info", "a4-critical", "a6-warning"}
	if got := b.rules(); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if got := testutil.ToFloat64(s.metrics.dropped[reasonSpoolFull]); got != 3 {
		t.Errorf("spool_full drops = %v, want 3", got)
	}
}

func TestSpoolRejectsAlertLargerThanSpool(t *testing.T) {
	b := &recorder{}
	s := openSpool(t, t.TempDir(), b, Config{MaxBytes: 100}, nil)
	if err := s.Send(context.Background(), testAlert("big", scanner.SeverityCritical)); err != nil {
		t.Fatalf("Send = %v, want nil with the drop counted", err)
	}
	closeSpool(t, s)
	if got := b.rules(); len(got) != 0 {
		t.Errorf("delivered %v, want nothing", got)
	}
	if got := testutil.ToFloat64(s.metrics.dropped[reasonSpoolFull]); got != 1 {
		t.Errorf("spool_full drops = %v, want 1", got)
	}
}

func TestSpoolOpenCleansFolder(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"tmp-123":                             "half written",
		fileName(7, scanner.SeverityCritical): "{not json",
		fileName(9, scanner.SeverityWarning):  mustRecord(t, testAlert("kept", scanner.SeverityWarning)),
		"notes.txt":                           "left alone",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	b := &recorder{}
	s := openSpool(t, dir, b, Config{}, reg)
	if err := s.Send(context.Background(), testAlert("new", scanner.SeverityInfo)); err != nil {
		t.Fatal(err)
	}
	closeSpool(t, s)

	if got := b.rules(); !slices.Equal(got, []string{"kept", "new"}) {
		t.Errorf("delivered %v, want [kept new]", got)
	}
	if got := testutil.ToFloat64(s.metrics.dropped[reasonUnreadable]); got != 1 {
		t.Errorf("unreadable drops = %v, want 1", got)
	}
	for _, name := range []string{"tmp-123", fileName(7, scanner.SeverityCritical)} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists (err %v), want it removed", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
}

func mustRecord(t *testing.T, a *scanner.Alert) string {
	t.Helper()
	data, err := encodeRecord(a, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSpoolLocksFolder(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, &recorder{}, Config{}, nil)
	if _, err := Open(&recorder{}, Config{}, Options{Name: "second", Dir: dir}); err == nil {
		t.Error("second Open of the same folder succeeded, want an error")
	}
	closeSpool(t, s)
	again := openSpool(t, dir, &recorder{}, Config{}, nil)
	closeSpool(t, again)
}

func TestSpoolCloseCancelsStuckDelivery(t *testing.T) {
	entered := make(chan struct{})
	b := &recorder{deliver: func(ctx context.Context, _ []*Entry) Result {
		close(entered)
		<-ctx.Done()
		return Result{Err: ctx.Err()}
	}}
	dir := t.TempDir()
	s := openSpool(t, dir, b, Config{}, nil)
	if err := s.Send(context.Background(), testAlert("stuck", scanner.SeverityCritical)); err != nil {
		t.Fatal(err)
	}
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := len(alertFiles(t, dir)); got != 1 {
		t.Errorf("spool files after a cancelled drain = %d, want 1", got)
	}
}

func TestSpoolSharesMetricsBetweenSinks(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	for _, name := range []string{"one", "two"} {
		s, err := Open(&recorder{}, Config{}, Options{Name: name, Dir: t.TempDir(), Registerer: reg})
		if err != nil {
			t.Fatalf("Open %s: %v", name, err)
		}
		if err := s.Send(context.Background(), testAlert("r", scanner.SeverityInfo)); err != nil {
			t.Fatal(err)
		}
		closeSpool(t, s)
	}
	want := `
# HELP klaxon_sink_alerts_queued_total Alerts written to the sink's spool by Send.
# TYPE klaxon_sink_alerts_queued_total counter
klaxon_sink_alerts_queued_total{sink="one"} 1
klaxon_sink_alerts_queued_total{sink="two"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "klaxon_sink_alerts_queued_total"); err != nil {
		t.Error(err)
	}
}

func TestBackoff(t *testing.T) {
	s := &Spool{cfg: Config{RetryMin: sinks.Duration(time.Second), RetryMax: sinks.Duration(time.Minute)}}
	tests := []struct {
		failures int
		after    time.Duration
		lo, hi   time.Duration
	}{
		{failures: 1, lo: 500 * time.Millisecond, hi: time.Second},
		{failures: 3, lo: 2 * time.Second, hi: 4 * time.Second},
		{failures: 7, lo: 30 * time.Second, hi: time.Minute},
		{failures: 500, lo: 30 * time.Second, hi: time.Minute},
		{failures: 1, after: 30 * time.Second, lo: 30 * time.Second, hi: 30 * time.Second},
		{failures: 7, after: 2 * time.Minute, lo: 2 * time.Minute, hi: 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("failures=%d/after=%s", tt.failures, tt.after), func(t *testing.T) {
			for range 100 {
				d := s.backoff(tt.failures, tt.after)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("backoff = %s, want within [%s, %s]", d, tt.lo, tt.hi)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "zero is valid", cfg: Config{}},
		{name: "negative alerts", cfg: Config{MaxAlerts: -1}, want: "spool_max_alerts"},
		{name: "negative bytes", cfg: Config{MaxBytes: -1}, want: "spool_max_bytes"},
		{name: "min above max", cfg: Config{RetryMin: sinks.Duration(time.Hour)}, want: "retry_min"},
		{name: "negative max", cfg: Config{RetryMax: sinks.Duration(-time.Second)}, want: "retry_max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
